"""Batched 2-D convolution with PyTorch semantics: validation, padding, dtypes.

The loops live in :mod:`numbacnn.kernels.conv_gemm` (patch matrices and BLAS
products, chunk by chunk), tested equal to the reference loops of
:mod:`numbacnn.kernels.conv`.  The public functions check their arguments
once, choose the dtype and call the private entries :func:`_conv2d_forward` /
:func:`_conv2d_backward`, which allocate the outputs and run the kernels;
:class:`numbacnn.layers.Conv2D` calls those entries directly with operands it
checked when it was built.  The geometry (padding, output size) comes from
:mod:`numbacnn.functional._geometry`.

Each work item of the fast kernels holds the patch matrix of a chunk of
images in scratch memory.  When even one image's would exceed
:func:`_scratch_limit` (a padding or dilation far larger than the image), the
private entries run the direct kernels of :mod:`numbacnn.kernels.conv`
instead, which need no scratch, so memory stays bounded by the input and
output sizes.  See :doc:`/theory/cnn-layers` for the forward pass,
:doc:`/theory/conv-backprop` for the derivation of the backward pass and
:doc:`/theory/im2col` for the matrix products.

With ``reference=True`` the public functions run the reference loops of
:mod:`numbacnn.kernels.conv` instead (the kernels the documentation shows),
on a zero-padded copy of the input.
"""

import numba
import numpy as np

from .._validation import (
    allocate,
    as_float_array,
    as_rectangular_array,
    check_bool,
    check_conv_operands,
    check_ndim,
    common_float_dtype,
)
from ..kernels import conv as _direct
from ..kernels import conv_gemm as _g
from ..kernels import conv_grad_weight as _kw
from ._blas import one_blas_thread
from ._geometry import conv_geometry
from ._threads import run_ranges

__all__ = ["conv2d", "conv2d_backward"]

#: Output pixels per work item of the matrix-product kernels (rounded up to whole
#: images): the inner dimension of the weight gradient's product.  Fewer starve
#: BLAS; many more push the item's matrices out of the core's L2 cache between the
#: passes that read them.
GEMM_PIXELS = 2048

#: At most this many scratch elements per work item: the item's patch matrix and its
#: ``F`` product rows, ``(C kh kw + F)`` times its pixels (4 MiB in float32), so that
#: layers with many channels take fewer images per item.
GEMM_BUDGET = 1 << 20

#: Where one image's weight-gradient product, ``F * C kh kw * Ho Wo`` multiply-adds, is
#: at most this many, an item's products stay within it too, as long as the item
#: keeps a quarter of :data:`GEMM_PIXELS`.  OpenBLAS (the BLAS behind SciPy, which
#: numba's ``np.dot`` calls) multiplies matrices up to 10**6 multiply-adds with
#: kernels that skip its packing step; larger products with a dimension as small as
#: a first layer's ``C kh kw`` (9 or 27) run at about half the speed.  The quarter
#: keeps layers whose images are a few pixels from being cut into items too small
#: for any BLAS, and the items' partial weight gradients few.
GEMM_SMALL_PRODUCT = 10**6


def _gemm_images(x_shape, w_shape, geom, budget):
    """Images per work item of the matrix-product kernels: enough for
    :data:`GEMM_PIXELS` output pixels, but at most ``budget`` scratch elements (and at
    least one image).  Where one image's weight-gradient product is small, no more
    images than keep the item's within :data:`GEMM_SMALL_PRODUCT` multiply-adds or
    than make a quarter of :data:`GEMM_PIXELS`, whichever is more.  Then, where fewer
    images allow it, an even number of items, so that neither of two threads idles
    while the other finishes the last.  The items, and so the order of the weight
    gradient's sums, do not depend on the thread count: results are the same on any
    machine."""
    F, C, kh, kw = w_shape
    Ho, Wo = geom.out_size
    N = x_shape[0]
    CK, T = C * kh * kw, Ho * Wo  # patch-matrix rows, pixels per image
    nb = max(1, min(N, -(-GEMM_PIXELS // T), budget // ((CK + F) * T)))
    product = F * CK * T  # one image's weight-gradient multiply-adds
    if product <= GEMM_SMALL_PRODUCT:
        nb = min(nb, max(GEMM_SMALL_PRODUCT // product, -(-GEMM_PIXELS // (4 * T))))
    while nb > 1 and -(-N // nb) % 2:
        nb -= 1
    return nb


def _gemm_scratch(x_shape, w_shape, geom, budget):
    """Elements of scratch the matrix-product kernels hold at once: one work item per
    thread, plus the weight gradient's partial sums.  Computed with Python integers."""
    F, C, kh, kw = w_shape
    Ho, Wo = geom.out_size
    nb = _gemm_images(x_shape, w_shape, geom, budget)
    items = -(-x_shape[0] // nb)
    threads = min(items, numba.get_num_threads())
    return threads * (C * kh * kw + F) * nb * Ho * Wo + items * F * C * kh * kw


def _scratch_limit(x_shape, w_shape, out_size):
    """Scratch the fast kernels may use: 4 times the input, output and weights, plus 2**20."""
    N, C = x_shape[:2]
    F = w_shape[0]
    sizes = (N * C * x_shape[2] * x_shape[3], N * F * out_size[0] * out_size[1],
             F * C * w_shape[2] * w_shape[3])
    return 4 * sum(sizes) + 2**20


def _use_gemm(x_shape, w_shape, geom, budget):
    """True if the matrix-product kernels' scratch stays within :func:`_scratch_limit`."""
    return _gemm_scratch(x_shape, w_shape, geom, budget) <= _scratch_limit(
        x_shape, w_shape, geom.out_size)


def _geometry(x_shape, w_shape, stride, padding, dilation):
    """The checked :class:`~numbacnn.functional._geometry.ConvGeometry` of a call."""
    geom = conv_geometry(x_shape[2:], w_shape[2:], stride, padding, dilation)
    if not geom.fits:
        (kh, kw), (dh, dw) = geom.kernel, geom.dilation
        raise ValueError(
            f"weight kernel of size ({kh}, {kw}) with dilation ({dh}, {dw}) spans "
            f"{geom.span} pixels, larger than the padded input of size {geom.padded_size} "
            f"(x spatial size {geom.in_size}, padding {padding!r})"
        )
    return geom


def _conv2d_forward(x, w, b, geom, budget=GEMM_BUDGET):
    """Forward pass on checked operands: the fast kernel, no validation.

    ``x`` ``(N, C, H, W)``, ``w`` ``(F, C, kh, kw)`` and ``b`` ``(F,)`` are
    C-contiguous arrays of one float dtype, and ``geom`` is the
    :class:`~numbacnn.functional._geometry.ConvGeometry` of ``x.shape[2:]``.
    The matrix-product kernel takes ``budget`` scratch elements per work item;
    a geometry whose scratch would not bound runs the direct kernel.
    """
    (sh, sw), (dh, dw), (Ho, Wo) = geom.kernel_stride, geom.dilation, geom.out_size
    out = allocate((x.shape[0], w.shape[0], Ho, Wo), x.dtype, "the output of conv2d")
    top, _, left, _ = geom.pads
    if _use_gemm(x.shape, w.shape, geom, budget):
        with one_blas_thread():
            run_ranges(x.shape[0], lambda n0, n1: _g.conv2d_forward_gemm(
                x, w, b, top, left, sh, sw, dh, dw, n0, n1, out))
    else:
        _direct.conv2d_forward_direct(x, w, b, top, left, sh, sw, dh, dw, out)
    return out


def _conv2d_backward(g, x, w, geom, budget=GEMM_BUDGET, input_grad=True, relu_z=None):
    """Backward pass on checked operands (as in :func:`_conv2d_forward`).

    The three gradients come from the matrix-product kernels (``budget``
    scratch elements per work item) or, when their scratch would not bound,
    from the direct kernels; with ``input_grad=False`` the input gradient is
    not computed and ``grad_x`` is ``None`` (a model's first layer: nothing
    needs it).  With ``relu_z`` (an array of ``g``'s shape and dtype), ``g``
    is the gradient with respect to ``relu(relu_z)`` and the convolution's
    output gradient is ``g * (relu_z > 0)``, formed while the kernels copy
    ``g`` rather than in a pass of its own.
    """
    (sh, sw), (dh, dw) = geom.kernel_stride, geom.dilation
    top, _, left, _ = geom.pads
    grad_x = allocate(x.shape, x.dtype, "grad_x") if input_grad else None
    grad_w = np.empty_like(w)
    grad_b = np.empty(w.shape[0], dtype=x.dtype)
    if _use_gemm(x.shape, w.shape, geom, budget):
        nb = _gemm_images(x.shape, w.shape, geom, budget)
        items = -(-x.shape[0] // nb)
        F = w.shape[0]
        relu = relu_z is not None
        z = relu_z if relu else g  # not read without the ReLU: any array of g's type
        # without input_grad, an empty array stands for grad_x: the kernel does not touch it
        gx = grad_x if input_grad else np.empty((0, 0, 0, 0), x.dtype)
        partial_w = np.empty((items, F, w[0].size), x.dtype)
        partial_b = np.empty((items, F), np.float64)
        with one_blas_thread():
            run_ranges(items, lambda i0, i1: _g.conv2d_backward_gemm(
                g, z, relu, x, w, top, left, sh, sw, dh, dw, nb, i0, i1, input_grad, gx,
                partial_w, partial_b))
        # the items' parts added in item order (a reduction over the first axis adds
        # whole rows, one after the other), whichever thread computed them
        np.sum(partial_w, axis=0, out=grad_w.reshape(F, -1))
        grad_b[...] = np.sum(partial_b, axis=0)
    else:
        if relu_z is not None:
            g = g * (relu_z > 0)
        if input_grad:
            _direct.conv2d_grad_x_direct(g, w, top, left, sh, sw, dh, dw, grad_x)
        _kw.conv2d_grad_weight_direct(g, x, top, left, sh, sw, dh, dw, grad_w)
        _kw.conv2d_grad_bias(g, grad_b)
    return grad_x, grad_w, grad_b


def _forward_operands(x, weight, bias, stride, padding, dilation):
    """The checks of :func:`conv2d`: ``x, w, b`` C-contiguous in one float dtype, and the geometry.

    A missing bias becomes zeros.  Shared with :func:`numbacnn.functional.conv2d_im2col`.
    """
    x = as_rectangular_array(x, "x")
    weight = as_rectangular_array(weight, "weight")
    if bias is not None:
        bias = as_rectangular_array(bias, "bias")
    check_conv_operands(x, weight, bias)
    geom = _geometry(x.shape, weight.shape, stride, padding, dilation)
    dtype = common_float_dtype(x, weight, bias)
    w = as_float_array(weight, "weight", dtype)
    if bias is None:
        b = np.zeros(weight.shape[0], dtype=dtype)
    else:
        b = as_float_array(bias, "bias", dtype)
    return as_float_array(x, "x", dtype), w, b, geom


def _backward_operands(grad_out, x, weight, stride, padding, dilation):
    """The checks of :func:`conv2d_backward`: ``g, x, w`` in one float dtype, and the geometry."""
    grad_out = as_rectangular_array(grad_out, "grad_out")
    x = as_rectangular_array(x, "x")
    weight = as_rectangular_array(weight, "weight")
    check_conv_operands(x, weight)
    geom = _geometry(x.shape, weight.shape, stride, padding, dilation)
    N, F, (Ho, Wo) = x.shape[0], weight.shape[0], geom.out_size
    check_ndim(grad_out, "grad_out", 4, "(N, F, Ho, Wo)")
    if grad_out.shape != (N, F, Ho, Wo):
        raise ValueError(
            f"grad_out must have the forward output shape (N, F, Ho, Wo) = "
            f"{(N, F, Ho, Wo)} for x of shape {x.shape} and weight of shape "
            f"{weight.shape}; got shape {grad_out.shape}"
        )
    dtype = common_float_dtype(grad_out, x, weight)
    w = as_float_array(weight, "weight", dtype)
    g = as_float_array(grad_out, "grad_out", dtype)
    return g, as_float_array(x, "x", dtype), w, geom


def _padded_copy(x, geom):
    """``x`` with the zeros of ``geom.pads`` around each plane, as the reference kernels read it."""
    top, bottom, left, right = geom.pads
    N, C, H, W = x.shape
    xp = allocate((N, C, H + top + bottom, W + left + right), x.dtype,
                  "the zero-padded copy of x", fill=0)
    xp[:, :, top:top + H, left:left + W] = x
    return xp


def _conv2d_forward_reference(x, w, b, geom):
    """:func:`_conv2d_forward` through :func:`numbacnn.kernels.conv.conv2d_forward_reference`."""
    (sh, sw), (dh, dw), (Ho, Wo) = geom.kernel_stride, geom.dilation, geom.out_size
    out = allocate((x.shape[0], w.shape[0], Ho, Wo), x.dtype, "the output of conv2d")
    _direct.conv2d_forward_reference(_padded_copy(x, geom), w, b, sh, sw, dh, dw, out)
    return out


def _conv2d_backward_reference(g, x, w, geom):
    """:func:`_conv2d_backward` through :func:`numbacnn.kernels.conv.conv2d_backward_reference`."""
    (sh, sw), (dh, dw) = geom.kernel_stride, geom.dilation
    top, _, left, _ = geom.pads
    xp = _padded_copy(x, geom)
    grad_xp = np.empty_like(xp)
    grad_w = np.empty_like(w)
    grad_b = np.empty(w.shape[0], dtype=x.dtype)
    _direct.conv2d_backward_reference(g, xp, w, sh, sw, dh, dw, grad_xp, grad_w, grad_b)
    H, W = x.shape[2:]
    grad_x = np.ascontiguousarray(grad_xp[:, :, top:top + H, left:left + W])
    return grad_x, grad_w, grad_b


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, *, reference=False):
    r"""Batched 2-D convolution (cross-correlation), equal to ``torch.nn.functional.conv2d``.

    Computes, for every image ``n``, filter ``f`` and output pixel ``(i, j)``,

    .. math::

        y_{n,f,i,j} = b_f + \sum_{c=0}^{C-1} \sum_{p=0}^{k_h-1} \sum_{q=0}^{k_w-1}
            w_{f,c,p,q}\, x^{\mathrm{pad}}_{n,c,\, i s_h + p d_h,\, j s_w + q d_w}

    where :math:`x^{\mathrm{pad}}` is ``x`` surrounded by zeros.  As in every
    CNN library the kernel is not flipped (this is cross-correlation; the
    lecture's "convolution" rotates the kernel by 180 degrees first).  The
    output size is

    .. math::

        H_\mathrm{out} = \left\lfloor \frac{H + p_\mathrm{top} + p_\mathrm{bottom}
            - d_h (k_h - 1) - 1}{s_h} \right\rfloor + 1

    (:math:`H + 2p - d(k-1) - 1` over :math:`s`, floored, plus one, for a
    symmetric padding :math:`p`), and likewise for :math:`W_\mathrm{out}`.

    See :doc:`/theory/cnn-layers`.

    Parameters
    ----------
    x : array_like, shape (N, C, H, W)
        Batch of ``N`` images with ``C`` channels.
    weight : array_like, shape (F, C, kh, kw)
        ``F`` filters of size ``kh x kw`` over ``C`` channels.
    bias : array_like, shape (F,), optional
        One bias per filter; ``None`` means no bias.
    stride : int or (int, int), default 1
        Step ``(sh, sw)`` between neighbouring output pixels, at least 1.
    padding : int or (int, int) or {"valid", "same"}, default 0
        Zeros added on both sides of each spatial axis, ``(ph, pw)``.
        ``"valid"`` means no padding.  ``"same"`` (stride 1 only) pads a
        total of ``d (k - 1)`` per axis so that ``Ho = H`` and ``Wo = W``;
        when that total is odd the extra row/column goes to the bottom/right,
        as in torch.
    dilation : int or (int, int), default 1
        Spacing ``(dh, dw)`` between kernel taps, at least 1.
    reference : bool, default False
        Run the reference loops
        :func:`numbacnn.kernels.conv.conv2d_forward_reference` (the equation
        above, one loop per index, on a zero-padded copy of ``x``) instead of
        the fast kernels.  Same validation, dtype and shape; the values agree
        to round-off.  Slow: for reading, teaching and testing.

    Returns
    -------
    y : ndarray, shape (N, F, Ho, Wo)
        float32 if all of ``x``, ``weight`` and ``bias`` are float32, else float64.

    Raises
    ------
    ValueError
        On wrong numbers of dimensions, empty arrays, a channel mismatch
        between ``x`` and ``weight``, a ``bias`` not of shape ``(F,)``, a
        stride or dilation below 1, negative padding, an unknown padding
        string, ``"same"`` with a stride above 1, a (dilated) kernel larger
        than the padded input, or a size beyond int64: a stride, padding or
        dilation above ``2**63 - 1``, or a padded size or kernel span above
        ``2**62`` (the message names the argument).
    TypeError
        On non-numeric arrays or non-integer stride/padding/dilation.
    MemoryError
        When the output (or, with ``reference=True``, the zero-padded copy of
        ``x``) cannot be allocated; the message names its shape and size in
        bytes.

    Notes
    -----
    Any stride, padding and dilation within those bounds works, with memory
    bounded by the input and output sizes: a stride larger than the image
    gives a one-pixel output.  NaN and inf propagate term by term through the
    sum above, as in torch: the padding's zeros are factors, so a NaN or
    infinite weight makes its filter's whole output NaN (``inf * 0``) or
    infinite.

    See Also
    --------
    conv2d_backward : the gradients of this function.

    Examples
    --------
    >>> import numpy as np
    >>> from numbacnn.functional import conv2d
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> w = np.ones((1, 1, 3, 3))
    >>> conv2d(x, w)
    array([[[[45., 54.],
             [81., 90.]]]])
    >>> conv2d(x, w, padding="same").shape
    (1, 1, 4, 4)
    >>> conv2d(x, w, bias=np.array([1.0]), stride=2, padding=1)[0, 0]
    array([[11., 25.],
           [52., 91.]])
    """
    reference = check_bool(reference, "reference")
    x, w, b, geom = _forward_operands(x, weight, bias, stride, padding, dilation)
    if reference:
        return _conv2d_forward_reference(x, w, b, geom)
    return _conv2d_forward(x, w, b, geom)


def conv2d_backward(grad_out, x, weight, stride=1, padding=0, dilation=1, *, reference=False):
    r"""Gradients of :func:`conv2d` with respect to ``x``, ``weight`` and the bias.

    For an upstream gradient :math:`g = \partial L / \partial y` of shape
    ``(N, F, Ho, Wo)``,

    .. math::

        \frac{\partial L}{\partial b_f} &= \sum_{n,i,j} g_{n,f,i,j}, \\
        \frac{\partial L}{\partial w_{f,c,p,q}} &= \sum_{n,i,j} g_{n,f,i,j}\,
            x^{\mathrm{pad}}_{n,c,\, i s_h + p d_h,\, j s_w + q d_w}, \\
        \frac{\partial L}{\partial x^{\mathrm{pad}}_{n,c,u,v}} &=
            \sum_{f,p,q}\ \sum_{i s_h + p d_h = u,\ j s_w + q d_w = v}
            g_{n,f,i,j}\, w_{f,c,p,q},

    and ``grad_x`` is :math:`\partial L / \partial x^{\mathrm{pad}}` with the
    padding cropped off.  The input gradient is a "full" correlation of the
    stride-dilated ``g`` with the kernel rotated by 180 degrees; the weight
    gradient is a correlation of the input with ``g``.  Derivation:
    :doc:`/theory/conv-backprop`.

    Parameters
    ----------
    grad_out : array_like, shape (N, F, Ho, Wo)
        Gradient of the loss with respect to the output of :func:`conv2d`.
    x : array_like, shape (N, C, H, W)
        The input of the forward pass.
    weight : array_like, shape (F, C, kh, kw)
        The filters of the forward pass.
    stride, padding, dilation
        As in :func:`conv2d` (the bias does not influence any gradient).
    reference : bool, default False
        Run :func:`numbacnn.kernels.conv.conv2d_backward_reference` (the three
        sums above, one loop per index, on a zero-padded copy of ``x``)
        instead of the fast kernels; results agree to round-off.

    Returns
    -------
    grad_x : ndarray, shape (N, C, H, W)
    grad_weight : ndarray, shape (F, C, kh, kw)
    grad_bias : ndarray, shape (F,)
        Always returned, also when the forward pass had no bias.  All three
        are float32 if ``grad_out``, ``x`` and ``weight`` are float32, else
        float64.

    Raises
    ------
    ValueError, TypeError, MemoryError
        As in :func:`conv2d`, and a ``ValueError`` when ``grad_out`` does not
        have the shape ``(N, F, Ho, Wo)`` of the forward output.

    Notes
    -----
    NaN and inf propagate term by term through the three sums above, as in
    torch.  ``grad_x`` at a pixel sums only the products ``g * w`` of the
    outputs that read it, so a NaN weight makes NaN exactly the pixels its
    tap reads; the weight gradient has the padding's zeros as factors, so an
    infinite ``g`` beside the padding gives NaN there.

    Examples
    --------
    >>> import numpy as np
    >>> from numbacnn.functional import conv2d, conv2d_backward
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> w = np.ones((1, 1, 3, 3))
    >>> g = np.ones_like(conv2d(x, w))  # L = sum(y)
    >>> gx, gw, gb = conv2d_backward(g, x, w)
    >>> gx[0, 0]  # how many 3x3 windows cover each pixel
    array([[1., 2., 2., 1.],
           [2., 4., 4., 2.],
           [2., 4., 4., 2.],
           [1., 2., 2., 1.]])
    >>> gw[0, 0]  # sums of the 2x2 block each tap saw
    array([[10., 14., 18.],
           [26., 30., 34.],
           [42., 46., 50.]])
    >>> gb
    array([4.])
    """
    reference = check_bool(reference, "reference")
    g, x, w, geom = _backward_operands(grad_out, x, weight, stride, padding, dilation)
    if reference:
        return _conv2d_backward_reference(g, x, w, geom)
    return _conv2d_backward(g, x, w, geom)
