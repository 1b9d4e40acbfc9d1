r"""2-D convolution as one matrix product per image: im2col, BLAS, col2im.

The lecture's optimized layer (``Convolution2DLayerOPT``) turns the
convolution into a matrix product.  With the patch matrix :math:`X_n` of
image ``n`` (:func:`numbacnn.kernels.im2col.im2col`: one row per kernel tap
``(c, p, q)``, one column per output pixel ``(i, j)``) and the filters as a
matrix :math:`\mathbf W` = ``weight.reshape(F, C * kh * kw)``:

.. math::

    Y_n = \mathbf W X_n + b\,\mathbf 1^T, \qquad
    \nabla_{\mathbf W} = \sum_n G_n X_n^T, \qquad
    \nabla_b = \sum_n G_n \mathbf 1, \qquad
    \nabla_{X_n} = \mathbf W^T G_n ,

where :math:`G_n` is ``grad_out[n]`` as an ``(F, Ho * Wo)`` matrix; the input
gradient is :math:`\nabla_{X_n}` sent back through
:func:`numbacnn.kernels.im2col.col2im`.  See :doc:`/theory/im2col`.

These are separate functions rather than a ``method=`` option of
:func:`~numbacnn.functional.conv2d` because they cost something the loop
kernels do not: the patch matrices hold :math:`N C k_h k_w H_o W_o` numbers,
about :math:`k_h k_w / (s_h s_w)` times the input, and a caller should choose
that by name.  Their arguments, checks, dtypes and results are those of
:func:`~numbacnn.functional.conv2d` and
:func:`~numbacnn.functional.conv2d_backward` (to round-off), and
``conv2d``'s own switch stays the plain choice between the reference loops and
the fast kernels.
"""

import numpy as np

from .._validation import allocate
from ..kernels import im2col as _k
from .conv import _backward_operands, _forward_operands, _padded_copy

__all__ = ["conv2d_im2col", "conv2d_im2col_backward"]


def _patches(x, geom):
    """The patch matrices ``(N, C kh kw, Ho Wo)`` of the checked batch ``x``."""
    (kh, kw), (sh, sw), (dh, dw) = geom.kernel, geom.kernel_stride, geom.dilation
    Ho, Wo = geom.out_size
    N, C = x.shape[:2]
    cols = allocate((N, C * kh * kw, Ho * Wo), x.dtype, "the patch matrices of conv2d_im2col")
    _k.im2col(_padded_copy(x, geom), kh, kw, sh, sw, dh, dw, Wo, cols)
    return cols


def conv2d_im2col(x, weight, bias=None, stride=1, padding=0, dilation=1):
    r""":func:`~numbacnn.functional.conv2d` computed as :math:`Y_n = \mathbf W X_n + b`.

    Builds the patch matrix :math:`X_n` of every image, multiplies it by the
    filter matrix ``weight.reshape(F, -1)`` (one BLAS call for the batch) and
    adds the bias.

    Parameters
    ----------
    x, weight, bias, stride, padding, dilation
        As in :func:`~numbacnn.functional.conv2d`.

    Returns
    -------
    y : ndarray, shape (N, F, Ho, Wo)
        Equal to ``conv2d(x, weight, bias, stride, padding, dilation)`` to
        round-off, in the same dtype.

    Raises
    ------
    ValueError, TypeError
        As in :func:`~numbacnn.functional.conv2d`.
    MemoryError
        When the padded copy of ``x``, the patch matrices
        (:math:`N \cdot C k_h k_w \cdot H_o W_o` elements) or the output
        cannot be allocated; the message names the array.

    See Also
    --------
    conv2d_im2col_backward : its gradients.

    Examples
    --------
    >>> import numpy as np
    >>> from numbacnn.functional import conv2d, conv2d_im2col
    >>> rng = np.random.default_rng(0)
    >>> x, w = rng.normal(size=(2, 3, 6, 5)), rng.normal(size=(4, 3, 3, 3))
    >>> bool(np.allclose(conv2d_im2col(x, w, stride=2, padding=1),
    ...                  conv2d(x, w, stride=2, padding=1)))
    True
    """
    x, w, b, geom = _forward_operands(x, weight, bias, stride, padding, dilation)
    cols = _patches(x, geom)
    N, F = x.shape[0], w.shape[0]
    out = allocate((N, F) + geom.out_size, x.dtype, "the output of conv2d_im2col")
    y = out.reshape(N, F, -1)
    np.matmul(w.reshape(F, -1), cols, out=y)  # Y_n = W X_n for every n
    y += b[:, None]
    return out


def conv2d_im2col_backward(grad_out, x, weight, stride=1, padding=0, dilation=1):
    r""":func:`~numbacnn.functional.conv2d_backward` from the patch matrices.

    :math:`\nabla_{\mathbf W} = \sum_n G_n X_n^T`, :math:`\nabla_b = \sum_n G_n
    \mathbf 1` and the input gradient by :func:`~numbacnn.kernels.im2col.col2im`
    of :math:`\mathbf W^T G_n`, the padding cropped off.

    Parameters
    ----------
    grad_out, x, weight, stride, padding, dilation
        As in :func:`~numbacnn.functional.conv2d_backward`.

    Returns
    -------
    grad_x : ndarray, shape (N, C, H, W)
    grad_weight : ndarray, shape (F, C, kh, kw)
    grad_bias : ndarray, shape (F,)
        Equal to :func:`~numbacnn.functional.conv2d_backward` to round-off, in
        its dtype; the bias gradient is summed in float64, as there.

    Raises
    ------
    ValueError, TypeError, MemoryError
        As in :func:`~numbacnn.functional.conv2d_backward` and
        :func:`conv2d_im2col`.

    Examples
    --------
    >>> import numpy as np
    >>> from numbacnn.functional import conv2d_backward, conv2d_im2col_backward
    >>> rng = np.random.default_rng(0)
    >>> x, w = rng.normal(size=(2, 3, 6, 5)), rng.normal(size=(4, 3, 3, 3))
    >>> g = rng.normal(size=(2, 4, 4, 3))
    >>> all(np.allclose(a, b) for a, b in zip(conv2d_im2col_backward(g, x, w),
    ...                                        conv2d_backward(g, x, w)))
    True
    """
    g, x, w, geom = _backward_operands(grad_out, x, weight, stride, padding, dilation)
    cols = _patches(x, geom)
    N, F = x.shape[0], w.shape[0]
    G = g.reshape(N, F, -1)
    W = w.reshape(F, -1)
    grad_w = np.zeros_like(W)
    for n in range(N):  # per image, so no transposed copy of all the patch matrices
        grad_w += G[n] @ cols[n].T
    grad_b = G.sum(axis=(0, 2), dtype=np.float64).astype(x.dtype)
    np.matmul(W.T, G, out=cols)  # nabla X_n = W^T G_n, written over X_n
    (kh, kw), (sh, sw), (dh, dw) = geom.kernel, geom.kernel_stride, geom.dilation
    top, bottom, left, right = geom.pads
    H, Wd = x.shape[2:]
    grad_xp = np.empty((N, x.shape[1], H + top + bottom, Wd + left + right), dtype=x.dtype)
    _k.col2im(cols, kh, kw, sh, sw, dh, dw, geom.out_size[1], grad_xp)
    grad_x = np.ascontiguousarray(grad_xp[:, :, top:top + H, left:left + Wd])
    return grad_x, grad_w.reshape(w.shape), grad_b
