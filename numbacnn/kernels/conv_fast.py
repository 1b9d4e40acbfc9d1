"""The fast batched 2-D convolution kernels: forward, input gradient, weight gradient.

They compute exactly the sums of the reference loops in
:mod:`numbacnn.kernels.conv` (the tests hold them to those) with the loops
turned inside out for speed; the comment block below explains how.  Inputs
are unpadded: each kernel pads chunks of images into thread-local scratch
itself (:func:`conv2d_pack_chunk`, :func:`conv2d_pack_grad`).  Every kernel
writes into output arrays the caller allocates and returns nothing; only the
small helpers (:func:`conv2d_tap_table`) return values.  None validates
anything; :func:`numbacnn.functional.conv2d` does.
"""

import numpy as np

from ._jit import jit, pjit, prange

__all__ = [
    "CHUNK",
    "PATCH_BUDGET",
    "conv2d_tap_table",
    "conv2d_pack_chunk",
    "conv2d_pack_grad",
    "conv2d_forward_fast",
    "conv2d_grad_x_fast",
    "conv2d_grad_weight_fast",
]

# ---------------------------------------------------------------------------
# Fast kernels
#
# The reference loops (numbacnn.kernels.conv) read x_pad at (i*sh + p*dh, j*sw + q*dw): a gather
# whose innermost loop (over q) is 1 to 5 iterations long.  The fast kernels
# compute exactly the same sums with the loops turned inside out, so that the
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
# 3. Register blocking.  The innermost body updates 8 output rows (filters in
#    the forward pass, channels in the input gradient) from 3 taps at once, so
#    every value loaded from memory is used several times.
# 4. prange over chunks of images: every thread owns its chunk of the output,
#    so no two threads ever write the same element.
#
# The input gradient is the same computation run backwards: a correlation of
# the (zero-separated, zero-bordered) upstream gradient with the weights, tap
# offsets mirrored.  The weight gradient is the same engine once more, run
# over the rows of the im2col patch matrix, with per-thread partial sums; for few
# input channels, numbacnn.kernels.conv_grad_weight runs it on the wide grid instead.

# Default work sizes (callers pass them in, so tests can force many small chunks).
# Wide output positions per chunk: long loops, with 8 accumulator rows plus the
# rows being read still inside the per-core L2 cache (docs/experiments.rst,
# "Measurement notes", records how the size was chosen).
CHUNK = 4096
# Patch elements per weight-gradient work item (1 MiB in float32: L2-resident).
PATCH_BUDGET = 1 << 18


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

    The common engine of the fast forward and input-gradient kernels, for
    ``t`` in ``range(L)``: ``acc`` holds R rows of wide pixels, ``src`` is
    ``(P, S, Ls)`` (S input rows per phase), tap ``k`` reads phase
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
def conv2d_pack_grad(g, M, Hq, Wq, gw):
    """Place ``g`` (N, F, Ho, Wo) on the wide grid: ``gw[f, M + n*Hq*Wq + i*Wq + j]``.

    ``gw`` (F, M + N*Hq*Wq + 16) must be zeros on entry; the zeros at the dropped
    columns and rows make the wide-grid sums exact, and the ``M`` leading
    zeros let every mirrored tap offset stay non-negative.
    """
    N, F, Ho, Wo = g.shape
    S = Hq * Wq
    for n in prange(N):  # image n owns columns M + n*S .. M + (n+1)*S - 1: no race
        for f in range(F):
            for i in range(Ho):
                dst = gw[f, M + n * S + i * Wq :]
                src = g[n, f, i]
                for j in range(Wo):
                    dst[j] = src[j]


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


@pjit
def conv2d_grad_x_fast(gw, w, top, left, sh, sw, dh, dw, Hq, Wq, M, chunk, grad_x):
    r"""Input gradient: the forward engine run on the upstream gradient.

    For tap k with phase ``plane[k]`` and offset ``off[k]``, wide position t
    received ``w[f, c, k] * xq[plane[k], c, t + off[k]]``, so

    .. math::

        \frac{\partial L}{\partial xq[a, c, s]} = \sum_{f}\ \sum_{k:\,\mathrm{plane}[k]=a}
            w_{f,c,k}\; gw[f,\, M + s - \mathrm{off}[k]],

    a correlation of the wide gradient ``gw`` (:func:`conv2d_pack_grad`) with
    mirrored offsets ``M - off[k]`` -- the lecture's "convolve the delta with
    the kernel rotated by 180 degrees", phase by phase.  Each chunk of images
    is computed in thread-local scratch and then gathered into ``grad_x``
    without the padding.

    Parameters
    ----------
    gw : ndarray, shape (F, M + N*Hq*Wq + 16)
        Upstream gradient on the wide grid, ``M = max(off)`` leading zeros
        and 16 trailing ones.
    w : ndarray, shape (F, C, kh, kw), C-contiguous
    top, left, sh, sw, dh, dw, Hq, Wq : int
        As in :func:`conv2d_forward_fast`.
    M : int
        Largest tap offset.
    chunk : int
        As in :func:`conv2d_forward_fast`.
    grad_x : ndarray, shape (N, C, H, W)
        Overwritten with the gradient with respect to the unpadded input.
    """
    F, C, kh, kw = w.shape
    N, H, W = grad_x.shape[0], grad_x.shape[2], grad_x.shape[3]
    P = sh * sw
    S = Hq * Wq
    plane, off = conv2d_tap_table(kh, kw, sh, sw, dh, dw, Wq)
    K = kh * kw
    wk = w.reshape(F, C, K)
    # per phase: its taps' mirrored offsets, and the weights as (C, F, taps)
    ntaps = np.zeros(P, np.int64)
    moff = np.zeros((P, K), np.int64)
    wt = np.zeros((P, C, F, K), w.dtype)
    for k in range(K):
        a = plane[k]
        moff[a, ntaps[a]] = M - off[k]
        for c in range(C):
            for f in range(F):
                wt[a, c, f, ntaps[a]] = wk[f, c, k]
        ntaps[a] += 1
    zero_plane = np.zeros(K, np.int64)
    src = gw.reshape(1, F, gw.shape[1])
    nb = max(1, chunk // S)
    nchunks = (N + nb - 1) // nb
    for ch in prange(nchunks):
        n0 = ch * nb
        m = min(nb, N - n0)
        # whole SIMD vectors, as in the forward pass (gw has 16 spare zero columns)
        L = (m * S + 15) // 16 * 16
        acc = np.zeros((P, C, _row_stride(L)), grad_x.dtype)
        for a in range(P):
            Ka = ntaps[a]
            if Ka > 0:
                # a C-contiguous weight block keeps _correlate_rows at one compiled signature
                wa = np.ascontiguousarray(wt[a, :, :, :Ka])
                _correlate_rows(acc[a], 0, L, src, n0 * S, zero_plane[:Ka], moff[a, :Ka], wa)
        # gather the unpadded pixels (inverse of conv2d_pack_chunk)
        for r in range(m):
            for c in range(C):
                for h in range(H):
                    a = (h + top) % sh
                    base = r * S + ((h + top) // sh) * Wq
                    for bb in range(sw):
                        w0 = (bb - left) % sw
                        if w0 >= W:
                            continue
                        srow = acc[a * sw + bb, c, base + (w0 + left) // sw :]
                        drow = grad_x[n0 + r, c, h, w0:]
                        for v in range((W - w0 + sw - 1) // sw):
                            drow[v * sw] = srow[v]


@pjit
def conv2d_grad_weight_fast(g, x, top, left, sh, sw, dh, dw, budget, grad_w):
    r"""Weight gradient: the correlation engine run over pixels, per-thread partials.

    With the im2col matrix ``X[pix, (c, k)] = x_pad[n, c, i*sh + p*dh, j*sw + q*dw]``
    (one row per output pixel ``pix = (n, i, j)``, tap ``k = p*kw + q``) and
    ``G[f, pix] = g[n, f, i, j]``,

    .. math::

        \frac{\partial L}{\partial w_{f,c,k}} = \sum_{pix} G_{f,pix}\, X_{pix,(c,k)},

    that is, row ``f`` of the weight gradient is a sum of the rows of ``X``
    weighted by ``G[f, :]``.  Grouping the pixels in threes (three "taps" at
    offsets 0, L, 2L of one row of ``X`` reshaped) turns this into exactly the
    sum :func:`_correlate_rows` computes, with the contiguous loop running
    over ``(c, k)``.  Work items are chunks of images; each accumulates into
    its own partial gradient (threads never write the same memory), and the
    partials are added at the end.  No BLAS: BLAS threads and numba's threads
    would compete for the cores.  It pays when ``C * kh * kw`` is long
    (:func:`numbacnn.kernels.conv_grad_weight.conv2d_grad_weight_wide` for short ones).

    Parameters
    ----------
    g : ndarray, shape (N, F, Ho, Wo), C-contiguous
    x : ndarray, shape (N, C, H, W), C-contiguous (unpadded)
    top, left, sh, sw, dh, dw : int
        As in :func:`conv2d_forward_fast`.
    budget : int
        Target number of elements of ``X`` per work item (:data:`PATCH_BUDGET`).
    grad_w : ndarray, shape (F, C, kh, kw), C-contiguous; overwritten.
    """
    N, F, Ho, Wo = g.shape
    C, H, W = x.shape[1], x.shape[2], x.shape[3]
    kh, kw = grad_w.shape[2], grad_w.shape[3]
    K = kh * kw
    T = Ho * Wo
    CK = C * K
    L = (CK + 15) // 16 * 16  # whole SIMD vectors; the spare columns of X stay 0
    nb = max(1, budget // (T * L))  # images per work item
    nitems = (N + nb - 1) // nb
    partial = np.zeros((nitems, F, L), x.dtype)
    taps = np.zeros(3, np.int64)  # three pixels of one row of X: all "phase" 0 ...
    offs = np.empty(3, np.int64)  # ... at offsets 0, L, 2L
    for k in range(3):
        offs[k] = k * L
    for item in prange(nitems):
        n0 = item * nb
        m = min(nb, N - n0)
        P3 = (m * T + 2) // 3 * 3  # pixels, padded to a multiple of 3 with zeros
        X = np.zeros((P3, L), x.dtype)
        Gi = np.zeros((F, P3), x.dtype)
        for r in range(m):
            for c in range(C):
                for p in range(kh):
                    for q in range(kw):
                        ck = c * K + p * kw + q
                        # output columns j whose input column j*sw + q*dw - left lies
                        # inside x; outside them (the zero padding) X stays 0
                        j_lo = min(Wo, max(0, (left - q * dw + sw - 1) // sw))
                        j_hi = max(j_lo, min(Wo, (W - 1 + left - q * dw) // sw + 1))
                        col0 = q * dw - left
                        for i in range(Ho):
                            h = i * sh + p * dh - top
                            if h < 0 or h >= H:
                                continue
                            src = x[n0 + r, c, h]
                            base = r * T + i * Wo
                            for j in range(j_lo, j_hi):
                                X[base + j, ck] = src[j * sw + col0]
            for f in range(F):
                dst = Gi[f, r * T : (r + 1) * T]
                src = g[n0 + r, f].reshape(T)
                for t in range(T):
                    dst[t] = src[t]
        _correlate_rows(
            partial[item],
            0,
            L,
            X.reshape(1, P3 // 3, 3 * L),
            0,
            taps,
            offs,
            Gi.reshape(F, P3 // 3, 3),
        )
    for f in range(F):
        for ck in range(CK):
            total = partial[0, f, ck]
            for item in range(1, nitems):
                total += partial[item, f, ck]
            grad_w[f, ck // K, (ck % K) // kw, ck % kw] = total
