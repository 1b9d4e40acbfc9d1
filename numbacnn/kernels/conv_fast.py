"""The wide-row forward kernel of the 2-D convolution, for float32 with few input channels.

It computes exactly the sums of the reference loop in
:mod:`numbacnn.kernels.conv` (the tests hold it to that) with the loops
turned inside out for speed; the comment block below explains how.  With
few input channels the patch matrix of :mod:`numbacnn.kernels.conv_gemm`
has few rows and BLAS runs short products; this kernel reads each padded
input plane once per tap instead.  Inputs are unpadded: each work item pads
its chunk of images into thread-local scratch (:func:`conv2d_pack_chunk`).
The kernel writes into an output array the caller allocates and returns
nothing; only the small helper :func:`conv2d_tap_table` returns values.
Nothing here validates anything; :func:`numbacnn.functional.conv2d` does.
"""

import numpy as np

from ._jit import jit, pjit, prange

__all__ = [
    "CHUNK",
    "conv2d_tap_table",
    "conv2d_pack_chunk",
    "conv2d_forward_fast",
]

# ---------------------------------------------------------------------------
# The wide-row kernel
#
# The reference loop (numbacnn.kernels.conv) reads x_pad at (i*sh + p*dh, j*sw + q*dw): a gather
# whose innermost loop (over q) is 1 to 5 iterations long.  This kernel
# computes exactly the same sums with the loops turned inside out, so that the
# innermost loop runs over hundreds of output pixels in contiguous memory,
# where numba/LLVM emit SIMD code:
#
# 1. Stride phases.  With stride (sh, sw), the padded input splits into sh*sw
#    sub-images ("phases") x_pad[a::sh, b::sw].  Output pixel (i, j) with tap
#    (p, q) reads phase ((p*dh) % sh, (q*dw) % sw) at row i + (p*dh) // sh and
#    column j + (q*dw) // sw: a stride-1 correlation on the phase.  For stride
#    1 there is a single phase (the padded input itself).
# 2. Wide rows.  Every phase is Hq x Wq; flattened, pixel (u, v) sits at
#    u*Wq + v, so a tap becomes one constant offset  off = du*Wq + dv  and
#    output pixel (i, j) is computed at position t = i*Wq + j of a "wide"
#    output row of length Wq (the columns j >= Wo are computed and dropped).
#    Images are stacked channel-major, image n starting at n*Hq*Wq, so one
#    contiguous loop over t covers several images at once.
# 3. Register blocking.  The innermost body updates 8 filters' output rows
#    from 3 taps at once, so every value loaded from memory is used several
#    times.
# 4. prange over chunks of images: every thread owns its chunk of the output,
#    so no two threads ever write the same element.

# Wide output positions per chunk (callers pass it in, so tests can force many
# small chunks): long loops, with 8 accumulator rows plus the rows being read
# still inside the per-core L2 cache (docs/experiments.rst, "Measurement
# notes", records how the size was chosen).
CHUNK = 4096


@jit
def _mac8x3(a0, a1, a2, a3, a4, a5, a6, a7, x0, x1, x2, w):
    """a_r[t] += sum_k w[r, k] * x_k[t] for 8 rows r and 3 taps k (``w`` is 8x3)."""
    w00, w01, w02 = w[0, 0], w[0, 1], w[0, 2]
    w10, w11, w12 = w[1, 0], w[1, 1], w[1, 2]
    w20, w21, w22 = w[2, 0], w[2, 1], w[2, 2]
    w30, w31, w32 = w[3, 0], w[3, 1], w[3, 2]
    w40, w41, w42 = w[4, 0], w[4, 1], w[4, 2]
    w50, w51, w52 = w[5, 0], w[5, 1], w[5, 2]
    w60, w61, w62 = w[6, 0], w[6, 1], w[6, 2]
    w70, w71, w72 = w[7, 0], w[7, 1], w[7, 2]
    # every view is indexed by the bare loop variable: contiguous SIMD loads
    for t in range(a0.shape[0]):
        u0 = x0[t]
        u1 = x1[t]
        u2 = x2[t]
        a0[t] += w00 * u0 + w01 * u1 + w02 * u2
        a1[t] += w10 * u0 + w11 * u1 + w12 * u2
        a2[t] += w20 * u0 + w21 * u1 + w22 * u2
        a3[t] += w30 * u0 + w31 * u1 + w32 * u2
        a4[t] += w40 * u0 + w41 * u1 + w42 * u2
        a5[t] += w50 * u0 + w51 * u1 + w52 * u2
        a6[t] += w60 * u0 + w61 * u1 + w62 * u2
        a7[t] += w70 * u0 + w71 * u1 + w72 * u2


@jit
def _mac8x1(a0, a1, a2, a3, a4, a5, a6, a7, x0, w):
    """a_r[t] += w[r] * x0[t] for 8 rows r and one tap."""
    w0, w1, w2, w3, w4, w5, w6, w7 = w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]
    for t in range(a0.shape[0]):
        u0 = x0[t]
        a0[t] += w0 * u0
        a1[t] += w1 * u0
        a2[t] += w2 * u0
        a3[t] += w3 * u0
        a4[t] += w4 * u0
        a5[t] += w5 * u0
        a6[t] += w6 * u0
        a7[t] += w7 * u0


@jit
def _mac1x3(a0, x0, x1, x2, w0, w1, w2):
    """a0[t] += w0 x0[t] + w1 x1[t] + w2 x2[t]."""
    for t in range(a0.shape[0]):
        a0[t] += w0 * x0[t] + w1 * x1[t] + w2 * x2[t]


@jit
def _mac1x1(a0, x0, w0):
    """a0[t] += w0 x0[t]."""
    for t in range(a0.shape[0]):
        a0[t] += w0 * x0[t]


@jit
def _correlate_rows(acc, abase, L, src, sbase, plane, off, wt):
    """acc[r, abase + t] += sum_{s, k} wt[r, s, k] * src[plane[k], s, sbase + off[k] + t].

    The engine of :func:`conv2d_forward_fast`, for ``t`` in ``range(L)``:
    ``acc`` holds R rows of wide pixels, ``src`` is ``(P, S, Ls)`` (S input
    rows per phase), tap ``k`` reads phase
    ``plane[k]`` shifted by ``off[k]``, ``wt`` is ``(R, S, K)``.  ``acc`` and
    ``src`` must be C-contiguous: the row slices taken here are then known to
    be contiguous and the loops in the ``_mac`` bodies vectorize.
    """
    R = acc.shape[0]
    S = src.shape[1]
    K = plane.shape[0]
    lo, hi = abase, abase + L
    r = 0
    while r + 8 <= R:
        a0, a1, a2, a3 = acc[r, lo:hi], acc[r + 1, lo:hi], acc[r + 2, lo:hi], acc[r + 3, lo:hi]
        a4, a5, a6, a7 = acc[r + 4, lo:hi], acc[r + 5, lo:hi], acc[r + 6, lo:hi], acc[r + 7, lo:hi]
        for s in range(S):
            k = 0
            while k + 3 <= K:
                o0, o1, o2 = sbase + off[k], sbase + off[k + 1], sbase + off[k + 2]
                x0 = src[plane[k], s, o0 : o0 + L]
                x1 = src[plane[k + 1], s, o1 : o1 + L]
                x2 = src[plane[k + 2], s, o2 : o2 + L]
                _mac8x3(a0, a1, a2, a3, a4, a5, a6, a7, x0, x1, x2, wt[r : r + 8, s, k : k + 3])
                k += 3
            while k < K:
                o0 = sbase + off[k]
                x0 = src[plane[k], s, o0 : o0 + L]
                _mac8x1(a0, a1, a2, a3, a4, a5, a6, a7, x0, wt[r : r + 8, s, k])
                k += 1
        r += 8
    while r < R:
        a0 = acc[r, lo:hi]
        for s in range(S):
            k = 0
            while k + 3 <= K:
                o0, o1, o2 = sbase + off[k], sbase + off[k + 1], sbase + off[k + 2]
                x0 = src[plane[k], s, o0 : o0 + L]
                x1 = src[plane[k + 1], s, o1 : o1 + L]
                x2 = src[plane[k + 2], s, o2 : o2 + L]
                _mac1x3(a0, x0, x1, x2, wt[r, s, k], wt[r, s, k + 1], wt[r, s, k + 2])
                k += 3
            while k < K:
                o0 = sbase + off[k]
                _mac1x1(a0, src[plane[k], s, o0 : o0 + L], wt[r, s, k])
                k += 1
        r += 1


@jit
def conv2d_tap_table(kh, kw, sh, sw, dh, dw, Wq):
    """Phase index and flat offset of every kernel tap ``k = p*kw + q``.

    Tap (p, q) reads phase ``((p*dh) % sh) * sw + (q*dw) % sw`` at flat offset
    ``((p*dh) // sh) * Wq + (q*dw) // sw`` from the output position.
    """
    K = kh * kw
    plane = np.empty(K, np.int64)
    off = np.empty(K, np.int64)
    for p in range(kh):
        for q in range(kw):
            k = p * kw + q
            plane[k] = ((p * dh) % sh) * sw + (q * dw) % sw
            off[k] = ((p * dh) // sh) * Wq + (q * dw) // sw
    return plane, off


@jit
def _row_stride(L):
    """Row length >= L for a scratch array, rounded to 16 elements and never a multiple of 256.

    Rows whose distance is a multiple of 4 KiB share L1 cache sets; 8
    accumulator rows read and written together would then evict each other.
    """
    stride = (L + 15) // 16 * 16
    if stride % 256 == 0:
        stride += 16
    return stride


@jit
def conv2d_pack_chunk(x, n0, m, top, left, sh, sw, Hq, Wq, xq):
    """Zero-pad images ``n0`` to ``n0+m-1`` of ``x`` and split them into stride phases.

    ``xq`` is ``(sh*sw, C, >= m*Hq*Wq)``, overwritten: padded pixel
    ``(h + top, w + left)`` of image ``n0 + r`` lands in phase
    ``((h+top) % sh, (w+left) % sw)`` at flat position
    ``r*Hq*Wq + ((h+top) // sh) * Wq + (w+left) // sw``; everything else is 0.
    """
    C, H, W = x.shape[1], x.shape[2], x.shape[3]
    S = Hq * Wq
    xq[:] = 0
    for r in range(m):
        for c in range(C):
            for h in range(H):
                a = (h + top) % sh
                base = r * S + ((h + top) // sh) * Wq
                for bb in range(sw):
                    # the columns w with (w + left) % sw == bb, every sw-th one
                    w0 = (bb - left) % sw
                    if w0 >= W:
                        continue
                    dst = xq[a * sw + bb, c, base + (w0 + left) // sw :]
                    src = x[n0 + r, c, h, w0:]
                    for v in range((W - w0 + sw - 1) // sw):
                        dst[v] = src[v * sw]


@pjit
def conv2d_forward_fast(x, w, b, top, left, sh, sw, dh, dw, Hq, Wq, chunk, out):
    """Fast forward pass; the same sums as :func:`numbacnn.kernels.conv.conv2d_forward_reference`.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W), C-contiguous
        Unpadded input; each chunk of images is padded and phase-split into
        thread-local scratch (:func:`conv2d_pack_chunk`).
    w : ndarray, shape (F, C, kh, kw), C-contiguous
    b : ndarray, shape (F,)
    top, left : int
        Zero rows above / columns left of the image (bottom/right follow
        from ``out``'s size).
    sh, sw, dh, dw : int
        Stride and dilation.
    Hq, Wq : int
        Phase size, ``ceil(Hp / sh)`` by ``ceil(Wp / sw)`` for the padded
        size ``Hp x Wp``.
    chunk : int
        Target number of wide positions per parallel work item (:data:`CHUNK`).
    out : ndarray, shape (N, F, Ho, Wo)
        Overwritten.
    """
    N, F, Ho, Wo = out.shape
    C, kh, kw = w.shape[1], w.shape[2], w.shape[3]
    S = Hq * Wq
    P = sh * sw
    plane, off = conv2d_tap_table(kh, kw, sh, sw, dh, dw, Wq)
    wk = w.reshape(F, C, kh * kw)
    nb = max(1, chunk // S)  # images per chunk
    nchunks = (N + nb - 1) // nb
    for ch in prange(nchunks):
        n0 = ch * nb
        m = min(nb, N - n0)
        # 16 spare zeros per row: the loops below may run up to 15 positions long
        xq = np.empty((P, C, _row_stride(m * S + 16)), out.dtype)
        conv2d_pack_chunk(x, n0, m, top, left, sh, sw, Hq, Wq, xq)
        # wide positions from the first pixel of image n0 to the last of n0+m-1,
        # rounded up to whole SIMD vectors so that no scalar remainder loop runs
        L = ((m - 1) * S + (Ho - 1) * Wq + Wo + 15) // 16 * 16
        acc = np.empty((F, _row_stride(L)), out.dtype)
        for f in range(F):
            bf = b[f]
            for t in range(L):
                acc[f, t] = bf
        _correlate_rows(acc, 0, L, xq, 0, plane, off, wk)
        for r in range(m):
            for f in range(F):
                for i in range(Ho):
                    src = acc[f, r * S + i * Wq :]
                    dst = out[n0 + r, f, i]
                    for j in range(Wo):
                        dst[j] = src[j]
