"""Batched 2-D convolution (cross-correlation, PyTorch semantics): the reference loops.

Shapes: input ``x`` is ``(N, C, H, W)``, weights ``w`` are ``(F, C, kh, kw)``,
output ``(N, F, Ho, Wo)``.  The reference kernels work on an input that the
caller has already zero-padded (``xp``, shape ``(N, C, Hp, Wp)``); the fast
kernels pad chunks of images into thread-local scratch themselves.  Either way
no inner loop tests a bound: the padding is data, not logic.  With stride
``(sh, sw)`` and dilation ``(dh, dw)`` the forward pass is the cross-correlation

.. math::

    y_{n,f,i,j} = b_f + \\sum_{c=0}^{C-1} \\sum_{p=0}^{k_h-1} \\sum_{q=0}^{k_w-1}
        w_{f,c,p,q}\\, x^{\\mathrm{pad}}_{n,c,\\,i s_h + p d_h,\\, j s_w + q d_w}

and the backward pass, for an upstream gradient :math:`g = \\partial L / \\partial y`,

.. math::

    \\frac{\\partial L}{\\partial b_f} = \\sum_{n,i,j} g_{n,f,i,j},\\qquad
    \\frac{\\partial L}{\\partial w_{f,c,p,q}} = \\sum_{n,i,j} g_{n,f,i,j}\\,
        x^{\\mathrm{pad}}_{n,c,\\,i s_h + p d_h,\\, j s_w + q d_w},

    \\frac{\\partial L}{\\partial x^{\\mathrm{pad}}_{n,c,u,v}} =
        \\sum_{f,p,q} \\; \\sum_{\\substack{i:\\, i s_h + p d_h = u \\\\ j:\\, j s_w + q d_w = v}}
        g_{n,f,i,j}\\, w_{f,c,p,q}.

The last sum is the lecture's "full convolution of the (stride-dilated) delta
with the kernel rotated by 180 degrees", written as the chain rule it comes
from.  See :doc:`/theory/cnn-layers` and :doc:`/theory/conv-backprop`.

This module holds the reference kernels, ``conv2d_forward_reference`` and
``conv2d_backward_reference``: the equations above transcribed index for
index, one loop per index.  They are what the documentation shows and what
the tests hold the fast kernels of :mod:`numbacnn.kernels.conv_gemm` to.

It also holds two *direct* kernels, ``conv2d_forward_direct`` and
``conv2d_grad_x_direct``: the same sums on the unpadded input, a bounds test
per tap instead of a padded copy, parallel over planes and with no scratch
memory at all.  :mod:`numbacnn.functional.conv` runs them where the fast
kernels' scratch would outgrow the input and output (a padding or dilation far
larger than the image), and the input gradient when a weight is NaN or
infinite: the fast kernel multiplies every weight by the zeros between the
upstream gradient's pixels, and ``0 * nan`` would spread a NaN to pixels that
weight never touches.

Non-finite values follow the equations term by term, as in torch.  The
forward sum and the weight gradient include the padding's zeros as factors
(a NaN weight makes its filter's whole output NaN; an infinite ``g`` next to
the padding gives NaN in the weight gradient).  The input gradient sums only
the products ``g * w`` of outputs that read the pixel: a NaN weight reaches
exactly the pixels its tap reads.

None of them validates anything; :func:`numbacnn.functional.conv2d` does.
Like every kernel they write into output arrays the caller allocates and
return nothing.
"""


from ._jit import jit, pjit, prange

__all__ = [
    "conv2d_forward_reference",
    "conv2d_backward_reference",
    "conv2d_forward_direct",
    "conv2d_grad_x_direct",
]


@jit
def conv2d_forward_reference(xp, w, b, sh, sw, dh, dw, out):
    """Cross-correlate the padded batch ``xp`` with ``w``, add ``b``, write ``out``.

    One loop per index of

    .. math::

        y_{n,f,i,j} = b_f + \\sum_{c} \\sum_{p} \\sum_{q}
            w_{f,c,p,q}\\, x^{\\mathrm{pad}}_{n,c,\\,i s_h + p d_h,\\, j s_w + q d_w}.

    Parameters
    ----------
    xp : ndarray, shape (N, C, Hp, Wp)
        Zero-padded input.
    w : ndarray, shape (F, C, kh, kw)
        Filters.
    b : ndarray, shape (F,)
        Bias (zeros for "no bias").
    sh, sw : int
        Vertical and horizontal stride.
    dh, dw : int
        Vertical and horizontal dilation.
    out : ndarray, shape (N, F, Ho, Wo)
        Output, overwritten.  ``Ho = (Hp - dh (kh - 1) - 1) // sh + 1``, same for ``Wo``.
    """
    N, C, Hp, Wp = xp.shape
    F, _, kh, kw = w.shape
    Ho, Wo = out.shape[2], out.shape[3]
    for n in range(N):  # image in the batch
        for f in range(F):  # output feature map (filter)
            for i in range(Ho):  # output row
                for j in range(Wo):  # output column
                    acc = b[f]
                    for c in range(C):  # input channel
                        for p in range(kh):  # kernel row
                            for q in range(kw):  # kernel column
                                acc += w[f, c, p, q] * xp[n, c, i * sh + p * dh, j * sw + q * dw]
                    out[n, f, i, j] = acc


@jit
def conv2d_backward_reference(g, xp, w, sh, sw, dh, dw, grad_xp, grad_w, grad_b):
    """Gradients of the convolution with respect to padded input, weights and bias.

    Transcribes, one loop per index, the three sums

    .. math::

        \\frac{\\partial L}{\\partial b_f} = \\sum_{n,i,j} g_{n,f,i,j},\\quad
        \\frac{\\partial L}{\\partial w_{f,c,p,q}} = \\sum_{n,i,j} g_{n,f,i,j}\\,
            x^{\\mathrm{pad}}_{n,c,\\,i s_h + p d_h,\\, j s_w + q d_w},\\quad
        \\frac{\\partial L}{\\partial x^{\\mathrm{pad}}_{n,c,\\,i s_h + p d_h,\\, j s_w + q d_w}}
            \\mathrel{+}= g_{n,f,i,j}\\, w_{f,c,p,q}.

    Unlike the lecture's code, every index of the weight gradient is bound by
    its own loop (the lecture sums over ``img``, ``h`` and ``w`` left over from
    an earlier loop, so its kernel gradient only sees the last image and the
    last pixel).

    Parameters
    ----------
    g : ndarray, shape (N, F, Ho, Wo)
        Upstream gradient :math:`\\partial L / \\partial y`.
    xp : ndarray, shape (N, C, Hp, Wp)
        The zero-padded input of the forward pass.
    w : ndarray, shape (F, C, kh, kw)
        Filters.
    sh, sw, dh, dw : int
        Stride and dilation, as in the forward pass.
    grad_xp : ndarray, shape (N, C, Hp, Wp)
        Gradient with respect to the padded input, overwritten (crop the
        padding off to get the gradient with respect to ``x``).
    grad_w : ndarray, shape (F, C, kh, kw)
        Weight gradient, overwritten.
    grad_b : ndarray, shape (F,)
        Bias gradient, overwritten.
    """
    N, C, Hp, Wp = xp.shape
    F, _, kh, kw = w.shape
    Ho, Wo = g.shape[2], g.shape[3]
    grad_xp[:] = 0
    grad_w[:] = 0
    grad_b[:] = 0
    for f in range(F):
        for n in range(N):
            for i in range(Ho):
                for j in range(Wo):
                    grad_b[f] += g[n, f, i, j]
    for f in range(F):
        for c in range(C):
            for p in range(kh):
                for q in range(kw):
                    for n in range(N):
                        for i in range(Ho):
                            for j in range(Wo):
                                grad_w[f, c, p, q] += (
                                    g[n, f, i, j] * xp[n, c, i * sh + p * dh, j * sw + q * dw]
                                )
    # Every output y[n, f, i, j] touched x_pad at (i*sh + p*dh, j*sw + q*dw) with
    # weight w[f, c, p, q]; the chain rule sends g[n, f, i, j] * w back along the
    # same edge.  Overlapping windows accumulate.
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    for c in range(C):
                        for p in range(kh):
                            for q in range(kw):
                                grad_xp[n, c, i * sh + p * dh, j * sw + q * dw] += (
                                    g[n, f, i, j] * w[f, c, p, q]
                                )


@pjit
def conv2d_forward_direct(x, w, b, top, left, sh, sw, dh, dw, out):
    """Forward pass on the unpadded ``x``: a padded tap multiplies its weight by 0.

    The sum of :func:`conv2d_forward_reference`, tap for tap in the same order, with
    ``x_pad[u, v]`` read as ``x[u - top, v - left]`` inside the image and 0
    outside it.  No scratch; work ``N F Ho Wo C kh kw``.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    w : ndarray, shape (F, C, kh, kw)
    b : ndarray, shape (F,)
    top, left : int
        Zero rows above / columns left of the image.
    sh, sw, dh, dw : int
        Stride and dilation.
    out : ndarray, shape (N, F, Ho, Wo)
        Overwritten.
    """
    N, C, H, W = x.shape
    F, _, kh, kw = w.shape
    Ho, Wo = out.shape[2], out.shape[3]
    zero = out.dtype.type(0)
    for nf in prange(N * F):
        n = nf // F
        f = nf % F
        for i in range(Ho):
            for j in range(Wo):
                acc = b[f]
                for c in range(C):
                    for p in range(kh):
                        h = i * sh + p * dh - top
                        inside = h >= 0 and h < H
                        for q in range(kw):
                            v = j * sw + q * dw - left
                            u = x[n, c, h, v] if inside and v >= 0 and v < W else zero
                            acc += w[f, c, p, q] * u
                out[n, f, i, j] = acc


@pjit
def conv2d_grad_x_direct(g, w, top, left, sh, sw, dh, dw, grad_x):
    """Input gradient on the unpadded grid: only the products of outputs that read a pixel.

    ``grad_x[n, c, h, v]`` is the sum of ``g[n, f, i, j] * w[f, c, p, q]``
    over the ``(f, i, j, p, q)`` with ``i sh + p dh - top = h`` and
    ``j sw + q dw - left = v`` (the sum of :func:`conv2d_backward_reference`
    with the padding cropped off, term for term in the same order).  No
    scratch; work ``N C F Ho Wo kh kw``.

    Parameters
    ----------
    g : ndarray, shape (N, F, Ho, Wo)
    w : ndarray, shape (F, C, kh, kw)
    top, left, sh, sw, dh, dw : int
        As in :func:`conv2d_forward_direct`.
    grad_x : ndarray, shape (N, C, H, W)
        Overwritten.
    """
    N, C, H, W = grad_x.shape
    F, _, kh, kw = w.shape
    Ho, Wo = g.shape[2], g.shape[3]
    for nc in prange(N * C):
        n = nc // C
        c = nc % C
        gx = grad_x[n, c]
        gx[:] = 0
        # the order of the terms of conv2d_backward_reference: f, i, j, then the taps
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    gij = g[n, f, i, j]
                    for p in range(kh):
                        h = i * sh + p * dh - top
                        if h < 0 or h >= H:
                            continue
                        for q in range(kw):
                            v = j * sw + q * dw - left
                            if v >= 0 and v < W:
                                gx[h, v] += gij * w[f, c, p, q]
