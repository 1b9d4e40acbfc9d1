r"""Weight and bias gradients of the 2-D convolution without scratch memory.

The weight gradient :math:`\partial L/\partial w_{f,c,p,q} = \sum_{n,i,j}
g_{n,f,i,j}\, x^{\mathrm{pad}}_{n,c,\,i s_h + p d_h,\, j s_w + q d_w}` is
a dot product over the pixels for every (filter, channel, tap).
:func:`conv2d_grad_weight_direct` is that definition, for geometries whose
scratch the matrix-product kernels of :mod:`numbacnn.kernels.conv_gemm` would
not bound; :func:`conv2d_grad_bias` sums the bias gradient in float64.  Both
compute the sums of :func:`numbacnn.kernels.conv.conv2d_backward_reference`
(the tests hold them to it), write into arrays the caller allocates and
validate nothing.
"""

import numpy as np

from ._jit import pjit, prange

__all__ = [
    "conv2d_grad_bias",
    "conv2d_grad_weight_direct",
]


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
    the reference, and as in the patch matrices of the fast kernels).  For
    geometries whose scratch the fast kernels would not bound.
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
