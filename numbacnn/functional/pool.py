"""Max and average pooling with PyTorch semantics: validation, dtypes, allocation.

The loops live in :mod:`numbacnn.kernels.pool`.  The public functions check
their arguments and call the private entries (``_max_pool2d_forward`` ...),
which the pooling layers call directly with a geometry from
:mod:`numbacnn.functional._geometry` they resolved when they were built.
Conventions (those of
``torch.nn.functional.max_pool2d`` / ``avg_pool2d`` with their defaults):

* ``stride=None`` means ``stride = kernel_size`` (non-overlapping windows);
  ``kernel_size``, ``stride`` and ``padding`` are an int or a pair
  ``(along H, along W)``.
* ``padding`` adds ``p`` rows/columns on both sides and may be at most
  ``kernel_size // 2``.  Max pooling pads with :math:`-\\infty` (padding never
  wins); average pooling pads with zeros and still divides by
  ``kh * kw`` (``count_include_pad=True``).
* Output size :math:`H_o = \\lfloor (H + 2 P_h - k_h) / s_h \\rfloor + 1`
  (``ceil_mode=False``), likewise :math:`W_o`.
* Max pooling ties: the whole gradient of a window goes to its *first*
  maximum in row-major order (PyTorch's choice).
* NaN and inf propagate as in torch.  A window holding a NaN has maximum NaN
  and its gradient goes to the window's *last* NaN in row-major order (an
  element replaces the current maximum if it is larger or NaN, torch's rule);
  the average of a window holding NaN is NaN, one holding both ``+inf`` and
  ``-inf`` is NaN, otherwise an infinite element makes the average infinite.
* ``kernel_size``, ``stride`` and ``padding`` may be any ints with the padded
  input and the divisor ``kh * kw`` within int64 (larger is a
  ``ValueError`` naming the argument); the kernels clip every window to the
  input and need no scratch memory.  An output too large to allocate is a
  ``MemoryError`` naming its shape and size in bytes.

With ``reference=True`` the public functions run the ``*_reference`` loops
of :mod:`numbacnn.kernels.pool` (the ones the documentation shows) instead of
the ``*_fast`` kernels (on several threads); the results are identical.

See :doc:`/theory/cnn-layers` for the equations and their derivatives.
"""

import numpy as np

from .._validation import (
    allocate,
    as_float_array,
    as_float_ndarray,
    check_bool,
    common_float_dtype,
)
from ..kernels import pool as _k
from ._geometry import pool_geometry
from ._threads import run_ranges

__all__ = ["max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward"]


def _geometry(x_shape, kernel_size, stride, padding):
    """The checked :class:`~numbacnn.functional._geometry.PoolGeometry` of a call."""
    geom = pool_geometry(x_shape[2:], kernel_size, stride, padding)
    if not geom.fits:
        (kh, kw), (ph, pw), (H, W) = geom.kernel, geom.padding, geom.in_size
        raise ValueError(
            f"kernel_size ({kh}, {kw}) is larger than the padded input "
            f"({H + 2 * ph}, {W + 2 * pw}) (x spatial size ({H}, {W}), padding ({ph}, {pw}))"
        )
    return geom


def _backward_operands(grad_out, x, kernel_size, stride, padding):
    dtype = common_float_dtype(grad_out, x)
    x = as_float_ndarray(x, "x", 4, "(N, C, H, W)", dtype)
    geom = _geometry(x.shape, kernel_size, stride, padding)
    grad_out = as_float_array(grad_out, "grad_out", dtype)
    expected = x.shape[:2] + geom.out_size
    if grad_out.shape != expected:
        raise ValueError(
            f"grad_out must have the pooling output's shape {expected} for x of shape "
            f"{x.shape}; got shape {grad_out.shape}"
        )
    return grad_out, x, geom


def _is_2x2(geom):
    return geom.kernel == (2, 2) and geom.stride == (2, 2) and geom.padding == (0, 0)


def _planes(x_shape):
    return x_shape[0] * x_shape[1]


def _max_pool2d_forward(x, geom):
    """Max pooling of a checked C-contiguous float batch ``x``, no validation."""
    out = allocate(x.shape[:2] + geom.out_size, x.dtype, "the output of max_pool2d")
    if _is_2x2(geom):
        run_ranges(_planes(x.shape), lambda p0, p1: _k.max_pool2d_2x2_fast(x, p0, p1, out))
    else:
        run_ranges(_planes(x.shape), lambda p0, p1: _k.max_pool2d_fast(
            x, *geom.kernel, *geom.stride, *geom.padding, p0, p1, out))
    return out


def _max_pool2d_backward(grad_out, x, geom):
    """Gradient of :func:`_max_pool2d_forward` on checked arrays of one dtype."""
    grad_x = np.empty(x.shape, dtype=x.dtype)
    if _is_2x2(geom):
        run_ranges(_planes(x.shape), lambda p0, p1: _k.max_pool2d_2x2_backward_fast(
            grad_out, x, p0, p1, grad_x))
    else:
        run_ranges(_planes(x.shape), lambda p0, p1: _k.max_pool2d_backward_fast(
            grad_out, x, *geom.kernel, *geom.stride, *geom.padding, p0, p1, grad_x))
    return grad_x


def _avg_pool2d_forward(x, geom):
    """Average pooling of a checked C-contiguous float batch ``x``, no validation."""
    out = allocate(x.shape[:2] + geom.out_size, x.dtype, "the output of avg_pool2d")
    run_ranges(_planes(x.shape), lambda p0, p1: _k.avg_pool2d_fast(
        x, *geom.kernel, *geom.stride, *geom.padding, p0, p1, out))
    return out


def _avg_pool2d_backward(grad_out, x, geom):
    """Gradient of :func:`_avg_pool2d_forward` (``x`` gives only shape and dtype)."""
    grad_x = np.empty(x.shape, dtype=x.dtype)
    run_ranges(_planes(x.shape), lambda p0, p1: _k.avg_pool2d_backward_fast(
        grad_out, *geom.kernel, *geom.stride, *geom.padding, p0, p1, grad_x))
    return grad_x


def _pool_reference(kernel, x_or_grad, geom, out_shape, dtype, name, *extra):
    """Allocate ``out_shape`` and run the reference loop ``kernel`` of :mod:`numbacnn.kernels.pool`.

    ``extra`` are the arrays the kernel reads after ``x_or_grad`` (``x`` for
    the max-pool gradient).
    """
    out = allocate(out_shape, dtype, name)
    kernel(x_or_grad, *extra, *geom.kernel, *geom.stride, *geom.padding, out)
    return out


def max_pool2d(x, kernel_size, stride=None, padding=0, *, reference=False):
    r"""2-D max pooling: the largest value of each window.

    .. math::

        y_{n,c,i,j} = \max_{0 \le a < k_h,\; 0 \le b < k_w}
            x_{n,c,\; i s_h - P_h + a,\; j s_w - P_w + b}

    with padded positions excluded (``-inf`` padding).  Equals
    ``torch.nn.functional.max_pool2d(x, kernel_size, stride, padding)``.

    Parameters
    ----------
    x : array_like, shape (N, C, H, W)
    kernel_size : int or (int, int)
        ``(kh, kw)``, each ``>= 1``.
    stride : int or (int, int), optional
        ``(sh, sw)``, each ``>= 1``; default ``kernel_size``.
    padding : int or (int, int)
        ``(ph, pw)``, ``0 <= ph <= kh // 2``, ``0 <= pw <= kw // 2``.
    reference : bool, default False
        Run the reference loop :func:`numbacnn.kernels.pool.max_pool2d_reference`
        (the equation above, one loop per index) instead of the parallel
        kernels; same validation, dtype and values.

    Returns
    -------
    out : ndarray, shape (N, C, Ho, Wo)
        :math:`H_o = \lfloor (H + 2P_h - k_h)/s_h \rfloor + 1`, likewise
        :math:`W_o`.  Same float dtype as ``x`` (integers become float64).

    Raises
    ------
    ValueError
        ``x`` not 4-D or empty; ``kernel_size``/``stride`` < 1; ``padding`` < 0
        or > ``kernel_size // 2``; a kernel larger than the padded input; a
        size beyond int64 (module docstring).
    TypeError
        complex ``x``; non-integer ``kernel_size``/``stride``/``padding``.
    MemoryError
        An output too large to allocate, naming its shape and bytes.

    Notes
    -----
    A window holding a NaN gives NaN, as in torch (the module docstring
    states the rule for NaN and inf in both directions).

    Examples
    --------
    >>> import numpy as np
    >>> from numbacnn.functional import max_pool2d
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> max_pool2d(x, 2)
    array([[[[ 5.,  7.],
             [13., 15.]]]])
    """
    reference = check_bool(reference, "reference")
    x = as_float_ndarray(x, "x", 4, "(N, C, H, W)")
    geom = _geometry(x.shape, kernel_size, stride, padding)
    if reference:
        return _pool_reference(_k.max_pool2d_reference, x, geom, x.shape[:2] + geom.out_size,
                               x.dtype, "the output of max_pool2d")
    return _max_pool2d_forward(x, geom)


def max_pool2d_backward(grad_out, x, kernel_size, stride=None, padding=0, *, reference=False):
    r"""Gradient of :func:`max_pool2d` with respect to ``x``.

    Only the maximum of a window influences its output, with derivative 1:

    .. math::

        \frac{\partial L}{\partial x_{n,c,r,q}} = \sum_{(i, j):\,
            (r, q) = \operatorname{argmax}(\text{window } (i, j))}
            \frac{\partial L}{\partial y_{n,c,i,j}} .

    Each output's gradient is routed to the argmax of *its own* window
    (rows from ``i * sh - ph``, columns from ``j * sw - pw``); a pixel that is
    the maximum of several overlapping windows collects all their gradients.
    Ties go to the first maximum in row-major window order, as in PyTorch.
    The argmax is recomputed from ``x``, so pass the same ``x`` as to the
    forward pass.

    Parameters
    ----------
    grad_out : array_like, shape (N, C, Ho, Wo)
        :math:`\partial L / \partial y`.
    x : array_like, shape (N, C, H, W)
        The forward input.
    kernel_size, stride, padding
        As in :func:`max_pool2d`.
    reference : bool, default False
        Run :func:`numbacnn.kernels.pool.max_pool2d_backward_reference`
        instead of the parallel kernels; identical values.

    Returns
    -------
    grad_x : ndarray, shape (N, C, H, W)
        float32 if ``grad_out`` and ``x`` are float32, otherwise float64.

    Examples
    --------
    >>> import numpy as np
    >>> from numbacnn.functional import max_pool2d_backward
    >>> x = np.array([[[[1.0, 3.0], [3.0, 2.0]]]])     # a tie: 3 at (0, 1) and (1, 0)
    >>> max_pool2d_backward(np.ones((1, 1, 1, 1)), x, 2)
    array([[[[0., 1.],
             [0., 0.]]]])
    """
    reference = check_bool(reference, "reference")
    grad_out, x, geom = _backward_operands(grad_out, x, kernel_size, stride, padding)
    if reference:
        return _pool_reference(_k.max_pool2d_backward_reference, grad_out, geom, x.shape,
                               x.dtype, "grad_x", x)
    return _max_pool2d_backward(grad_out, x, geom)


def avg_pool2d(x, kernel_size, stride=None, padding=0, *, reference=False):
    r"""2-D average pooling: the mean of each window, padding counted as zeros.

    .. math::

        y_{n,c,i,j} = \frac{1}{k_h k_w} \sum_{a=0}^{k_h-1} \sum_{b=0}^{k_w-1}
            x_{n,c,\; i s_h - P_h + a,\; j s_w - P_w + b}

    where padded positions contribute 0 but still count in :math:`k_h k_w`.
    Equals ``torch.nn.functional.avg_pool2d(x, kernel_size, stride, padding)``
    (``count_include_pad=True``, ``ceil_mode=False``).

    Parameters
    ----------
    x, kernel_size, stride, padding
        As in :func:`max_pool2d`.
    reference : bool, default False
        Run :func:`numbacnn.kernels.pool.avg_pool2d_reference` instead of the
        parallel kernels; identical values.

    Returns
    -------
    out : ndarray, shape (N, C, Ho, Wo)

    Examples
    --------
    >>> import numpy as np
    >>> from numbacnn.functional import avg_pool2d
    >>> avg_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 2)
    array([[[[ 2.5,  4.5],
             [10.5, 12.5]]]])
    """
    reference = check_bool(reference, "reference")
    x = as_float_ndarray(x, "x", 4, "(N, C, H, W)")
    geom = _geometry(x.shape, kernel_size, stride, padding)
    if reference:
        return _pool_reference(_k.avg_pool2d_reference, x, geom, x.shape[:2] + geom.out_size,
                               x.dtype, "the output of avg_pool2d")
    return _avg_pool2d_forward(x, geom)


def avg_pool2d_backward(grad_out, x, kernel_size, stride=None, padding=0, *, reference=False):
    r"""Gradient of :func:`avg_pool2d` with respect to ``x``.

    Every input pixel of a window receives an equal share:

    .. math::

        \frac{\partial L}{\partial x_{n,c,r,q}} = \frac{1}{k_h k_w}
            \sum_{(i, j):\, (r, q) \in \text{window } (i, j)}
            \frac{\partial L}{\partial y_{n,c,i,j}} .

    Overlapping windows add up; the share of the padding is dropped.  ``x`` is
    only used for its shape and dtype (the average is linear), which keeps the
    signature parallel to :func:`max_pool2d_backward`.

    Parameters
    ----------
    grad_out : array_like, shape (N, C, Ho, Wo)
    x : array_like, shape (N, C, H, W)
    kernel_size, stride, padding
        As in :func:`avg_pool2d`.
    reference : bool, default False
        Run :func:`numbacnn.kernels.pool.avg_pool2d_backward_reference`
        instead of the parallel kernels; identical values.

    Returns
    -------
    grad_x : ndarray, shape (N, C, H, W)

    Examples
    --------
    >>> import numpy as np
    >>> from numbacnn.functional import avg_pool2d_backward
    >>> avg_pool2d_backward(np.ones((1, 1, 1, 2)), np.zeros((1, 1, 2, 4)), 2)
    array([[[[0.25, 0.25, 0.25, 0.25],
             [0.25, 0.25, 0.25, 0.25]]]])
    """
    reference = check_bool(reference, "reference")
    grad_out, x, geom = _backward_operands(grad_out, x, kernel_size, stride, padding)
    if reference:
        return _pool_reference(_k.avg_pool2d_backward_reference, grad_out, geom, x.shape,
                               x.dtype, "grad_x")
    return _avg_pool2d_backward(grad_out, x, geom)
