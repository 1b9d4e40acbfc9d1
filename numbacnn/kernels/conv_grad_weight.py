r"""Weight and bias gradients of the 2-D convolution: the wide-grid and direct kernels.

The weight gradient :math:`\partial L/\partial w_{f,c,p,q} = \sum_{n,i,j}
g_{n,f,i,j}\, x^{\mathrm{pad}}_{n,c,\,i s_h + p d_h,\, j s_w + q d_w}` is
a dot product over the pixels for every (filter, channel, tap).
:func:`conv2d_grad_weight_wide` computes it on the wide grid of
:mod:`numbacnn.kernels.conv_fast` (few input channels: the im2col kernel there
would run loops only ``C * kh * kw`` long); :func:`conv2d_grad_weight_direct`
is the definition itself, for inputs with NaN or inf and for geometries whose
scratch the fast kernels would not bound; :func:`conv2d_grad_bias` sums the
bias gradient in float64.  All of them compute the sums of
:func:`numbacnn.kernels.conv.conv2d_backward_reference` (the tests hold them
to it), write into arrays the caller allocates and validate nothing.
"""

import numpy as np

from ._jit import jit, pjit, prange
from .conv_fast import _row_stride, conv2d_pack_chunk, conv2d_tap_table

__all__ = [
    "BLOCK",
    "WEIGHT_CHUNK",
    "conv2d_grad_bias",
    "conv2d_grad_weight_direct",
    "conv2d_grad_weight_wide",
]

# Interleaved partial sums of the weight gradient's dot products (_dot4x2): the
# shortest loop LLVM vectorises (it leaves loops of fewer than 64 iterations scalar).
BLOCK = 64
# Wide positions per work item of conv2d_grad_weight_wide: the 4 gradient rows and
# the input row being read (5 x 8192 values) stay in the L2 cache.
WEIGHT_CHUNK = 8192


@jit
def _dot4x2(acc, g0, g1, g2, g3, x0, x1):
    """acc[2 r + k, s] += sum_u g_r[u*BLOCK + s] * x_k[u*BLOCK + s], 4 rows r, 2 taps k.

    Dot products over ``t = u*BLOCK + s`` kept as BLOCK interleaved partial
    sums, one per ``s``: the iterations of the loop over ``s`` are independent,
    so it runs as SIMD code without reordering any sum (the caller adds the
    partial sums).  ``acc`` is ``(8, BLOCK)``; the other arrays are
    C-contiguous and a multiple of BLOCK long.
    """
    n = g0.shape[0] // BLOCK
    # 2-D views indexed by bare loop variables: no negative-index checks, SIMD loads
    G0, G1 = g0.reshape(n, BLOCK), g1.reshape(n, BLOCK)
    G2, G3 = g2.reshape(n, BLOCK), g3.reshape(n, BLOCK)
    X0, X1 = x0.reshape(n, BLOCK), x1.reshape(n, BLOCK)
    a0, a1, a2, a3, a4, a5, a6, a7 = acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7]
    for u in range(n):
        for s in range(BLOCK):
            a, b = X0[u, s], X1[u, s]
            h = G0[u, s]
            a0[s] += h * a
            a1[s] += h * b
            h = G1[u, s]
            a2[s] += h * a
            a3[s] += h * b
            h = G2[u, s]
            a4[s] += h * a
            a5[s] += h * b
            h = G3[u, s]
            a6[s] += h * a
            a7[s] += h * b


@jit
def _add_partial_sums(acc, out, f0, c, k):
    """``out[f0 + r // 2, c, k + r % 2] = sum_s acc[r, s]`` for the rows ``r`` that exist.

    The 8 sums run side by side (8 independent additions per step) rather than
    one after the other, each in the order s = 0, 1, ..., BLOCK - 1.
    """
    F, K = out.shape[0], out.shape[2]
    t0, t1, t2, t3, t4, t5, t6, t7 = acc[0, 0], acc[1, 0], acc[2, 0], acc[3, 0], \
        acc[4, 0], acc[5, 0], acc[6, 0], acc[7, 0]
    for s in range(1, BLOCK):
        t0 += acc[0, s]
        t1 += acc[1, s]
        t2 += acc[2, s]
        t3 += acc[3, s]
        t4 += acc[4, s]
        t5 += acc[5, s]
        t6 += acc[6, s]
        t7 += acc[7, s]
    sums = (t0, t1, t2, t3, t4, t5, t6, t7)
    for r in range(8):
        f, kk = f0 + r // 2, k + r % 2
        if f < F and kk < K:
            out[f, c, kk] = sums[r]


@pjit
def conv2d_grad_bias(g, grad_b):
    """``grad_b[f] = sum_{n,i,j} g[n, f, i, j]``, summed in float64 whatever the dtype."""
    N, F, Ho, Wo = g.shape
    for f in prange(F):
        # N * Ho * Wo terms are too many for float32 to add without losing digits;
        # the sum starts from 0.0 rather than from the first term times 0, which is NaN
        # when that term is infinite
        total = np.float64(0.0)  # not 0.0: plain Python would add float32 to it as float32
        for n in range(N):
            for i in range(Ho):
                for j in range(Wo):
                    total += g[n, f, i, j]
        grad_b[f] = total


@pjit
def conv2d_grad_weight_direct(g, x, top, left, sh, sw, dh, dw, grad_w):
    r"""Weight gradient by the definition, one filter per thread; no scratch memory.

    :math:`\partial L/\partial w_{f,c,p,q} = \sum_{n,i,j} g_{n,f,i,j}\,
    x^{\mathrm{pad}}_{n,c,\,i s_h + p d_h,\, j s_w + q d_w}`, the padding's zeros
    included as factors (so an infinite ``g`` beside the padding gives NaN, as in
    the reference).  For geometries whose scratch the fast kernel would not bound
    and for inputs holding NaN or inf.
    """
    N, F, Ho, Wo = g.shape
    C, H, W = x.shape[1], x.shape[2], x.shape[3]
    kh, kw = grad_w.shape[2], grad_w.shape[3]
    zero = grad_w.dtype.type(0)
    for f in prange(F):
        for c in range(C):
            for p in range(kh):
                for q in range(kw):
                    total = zero
                    for n in range(N):
                        for i in range(Ho):
                            h = i * sh + p * dh - top
                            for j in range(Wo):
                                v = j * sw + q * dw - left
                                xv = x[n, c, h, v] if 0 <= h < H and 0 <= v < W else zero
                                total += g[n, f, i, j] * xv
                    grad_w[f, c, p, q] = total


@pjit
def conv2d_grad_weight_wide(g, x, top, left, sh, sw, dh, dw, Hq, Wq, chunk, grad_w):
    r"""Weight gradient: the forward's wide grid, with the pixels as the long loop.

    On the wide grid of :func:`conv2d_forward_fast` (padded, phase-split input
    ``xq``; tap ``k`` reads phase ``plane[k]`` at offset ``off[k]``) and with
    the upstream gradient placed on the same grid, ``gq[f, t] = g[n, f, i, j]``
    at ``t = r*Hq*Wq + i*Wq + j`` and 0 at the dropped positions,

    .. math::

        \frac{\partial L}{\partial w_{f,c,k}} = \sum_{t} gq_{f,t}\;
            xq_{\mathrm{plane}[k],\,c,\, t + \mathrm{off}[k]},

    a dot product over hundreds of contiguous positions for every (filter,
    channel, tap).  :func:`_dot4x2` computes 4 filters by 2 taps at once in
    BLOCK interleaved partial sums.  Work items are chunks of images; each
    writes its own partial gradient, and the partials are added at the end.
    The dropped positions multiply ``x`` by 0, so ``x`` must be finite
    (:func:`conv2d_grad_weight_direct` takes the others).

    Parameters
    ----------
    g : ndarray, shape (N, F, Ho, Wo), C-contiguous
    x : ndarray, shape (N, C, H, W), C-contiguous, finite (unpadded)
    top, left, sh, sw, dh, dw, Hq, Wq, chunk : int
        As in :func:`conv2d_forward_fast`.
    grad_w : ndarray, shape (F, C, kh, kw), C-contiguous; overwritten.
    """
    N, F, Ho, Wo = g.shape
    C = x.shape[1]
    kh, kw = grad_w.shape[2], grad_w.shape[3]
    K = kh * kw
    S = Hq * Wq
    plane0, off0 = conv2d_tap_table(kh, kw, sh, sw, dh, dw, Wq)
    # taps padded to a multiple of 2 and filters to a multiple of 4; the extra taps
    # read phase 0 at offset 0, the extra filters are rows of zeros; both are dropped
    K2 = (K + 1) // 2 * 2
    F4 = (F + 3) // 4 * 4
    plane = np.zeros(K2, np.int64)
    off = np.zeros(K2, np.int64)
    plane[:K] = plane0
    off[:K] = off0
    nb = max(1, chunk // S)
    nitems = (N + nb - 1) // nb
    partial = np.empty((nitems, F, C, K), grad_w.dtype)
    for item in prange(nitems):
        n0 = item * nb
        m = min(nb, N - n0)
        # whole blocks from the first pixel of image n0 to the last of n0+m-1; as in
        # the forward pass, the reads stay within the rows of xq (BLOCK spare zeros)
        L = ((m - 1) * S + (Ho - 1) * Wq + Wo + BLOCK - 1) // BLOCK * BLOCK
        xq = np.empty((sh * sw, C, _row_stride(m * S + BLOCK)), grad_w.dtype)
        conv2d_pack_chunk(x, n0, m, top, left, sh, sw, Hq, Wq, xq)
        gq = np.zeros((F4, _row_stride(L)), grad_w.dtype)
        for r in range(m):
            for f in range(F):
                for i in range(Ho):
                    dst = gq[f, r * S + i * Wq :]
                    src = g[n0 + r, f, i]
                    for j in range(Wo):
                        dst[j] = src[j]
        acc = np.empty((8, BLOCK), grad_w.dtype)
        for f0 in range(0, F4, 4):
            g0, g1, g2, g3 = gq[f0, :L], gq[f0 + 1, :L], gq[f0 + 2, :L], gq[f0 + 3, :L]
            for c in range(C):
                for k in range(0, K2, 2):
                    acc[:] = 0
                    x0 = xq[plane[k], c, off[k] : off[k] + L]
                    x1 = xq[plane[k + 1], c, off[k + 1] : off[k + 1] + L]
                    _dot4x2(acc, g0, g1, g2, g3, x0, x1)
                    _add_partial_sums(acc, partial[item], f0, c, k)
    for f in range(F):
        for c in range(C):
            for k in range(K):
                total = partial[0, f, c, k]
                for item in range(1, nitems):
                    total += partial[item, f, c, k]
                grad_w[f, c, k // kw, k % kw] = total
