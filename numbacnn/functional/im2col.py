r"""2-D convolution as one matrix product for the batch: im2col, BLAS, col2im.

The lecture's optimized layer (``Convolution2DLayerOPT``) turns the
convolution into a matrix product.  With the patch matrix :math:`X`
(:func:`numbacnn.kernels.im2col.im2col`: one row per kernel tap ``(c, p, q)``,
one column per output pixel ``(n, i, j)`` of the batch) and the filters as a
matrix :math:`\mathbf W` = ``weight.reshape(F, C * kh * kw)``:

.. math::

    Y = \mathbf W X + b\,\mathbf 1^T, \qquad
    \nabla_{\mathbf W} = G X^T, \qquad
    \nabla_b = G \mathbf 1, \qquad
    \nabla_X = \mathbf W^T G ,

where :math:`Y` and :math:`G` are the output and ``grad_out`` as
``(F, N * Ho * Wo)`` matrices; the input gradient is :math:`\nabla_X` sent
back through :func:`numbacnn.kernels.im2col.col2im`.  See :doc:`/theory/im2col`.

These are separate functions rather than a ``method=`` option of
:func:`~numbacnn.functional.conv2d` because they cost something the loop
kernels do not: the patch matrix holds :math:`N C k_h k_w H_o W_o` numbers,
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
    """The patch matrix ``(C kh kw, N Ho Wo)`` of the checked batch ``x``."""
    (kh, kw), (sh, sw), (dh, dw) = geom.kernel, geom.kernel_stride, geom.dilation
    Ho, Wo = geom.out_size
    N, C = x.shape[:2]
    cols = allocate((C * kh * kw, N * Ho * Wo), x.dtype, "the patch matrix of conv2d_im2col")
    _k.im2col(_padded_copy(x, geom), kh, kw, sh, sw, dh, dw, Ho, Wo, cols)
    return cols


def conv2d_im2col(x, weight, bias=None, stride=1, padding=0, dilation=1):
    r""":func:`~numbacnn.functional.conv2d` computed as :math:`Y_n = \mathbf W X_n + b`.

    Builds the patch matrix :math:`X` of the batch, multiplies it by the
    filter matrix ``weight.reshape(F, -1)`` (one BLAS call) and adds the bias
    while reordering the ``(F, N, Ho, Wo)`` product into ``(N, F, Ho, Wo)``.

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
        When the padded copy of ``x``, the patch matrix
        (:math:`C k_h k_w \cdot N H_o W_o` elements) or the output cannot be
        allocated; the message names the array.

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
    Y = w.reshape(F, -1) @ cols  # Y = W X, one column per output pixel (n, i, j)
    out = allocate((N, F) + geom.out_size, x.dtype, "the output of conv2d_im2col")
    np.add(Y.reshape((F, N) + geom.out_size).transpose(1, 0, 2, 3), b[:, None, None], out=out)
    return out


def conv2d_im2col_backward(grad_out, x, weight, stride=1, padding=0, dilation=1):
    r""":func:`~numbacnn.functional.conv2d_backward` from the patch matrices.

    :math:`\nabla_{\mathbf W} = G X^T`, :math:`\nabla_b = G \mathbf 1` and the
    input gradient by :func:`~numbacnn.kernels.im2col.col2im` of
    :math:`\mathbf W^T G`, the padding cropped off; :math:`G` is ``grad_out``
    reordered into an ``(F, N Ho Wo)`` matrix.

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
    N, C, H, W = x.shape
    F, (Ho, Wo) = w.shape[0], geom.out_size
    G = np.ascontiguousarray(g.transpose(1, 0, 2, 3)).reshape(F, N * Ho * Wo)
    # nabla W = G X^T, computed as (X G^T)^T: OpenBLAS splits this orientation of the
    # long reduction well across threads, the other one badly (measured, 2 threads)
    grad_w = np.ascontiguousarray((cols @ G.T).T).reshape(w.shape)
    grad_b = G.sum(axis=1, dtype=np.float64).astype(x.dtype)  # nabla b = G 1
    np.matmul(w.reshape(F, -1).T, G, out=cols)  # nabla X = W^T G, written over X
    (kh, kw), (sh, sw), (dh, dw) = geom.kernel, geom.kernel_stride, geom.dilation
    top, bottom, left, right = geom.pads
    grad_xp = allocate((N, C, H + top + bottom, W + left + right), x.dtype, "grad_x (padded)")
    _k.col2im(cols, kh, kw, sh, sw, dh, dw, Ho, Wo, grad_xp)
    grad_x = np.ascontiguousarray(grad_xp[:, :, top:top + H, left:left + W])
    return grad_x, grad_w, grad_b
