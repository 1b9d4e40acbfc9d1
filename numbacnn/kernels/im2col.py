"""Convolution as a matrix product: the patch matrix (im2col) and its adjoint (col2im).

For a zero-padded batch ``xp`` ``(N, C, Hp, Wp)``, a kernel ``(kh, kw)`` with
stride ``(sh, sw)`` and dilation ``(dh, dw)``, the patch matrix :math:`X` has
one row per kernel tap ``(c, p, q)`` and one column per output pixel
``(n, i, j)`` of the batch:

.. math::

    X[(c, p, q), (n, i, j)] = x^{\\mathrm{pad}}_{n,c,\\, i s_h + p d_h,\\, j s_w + q d_w},
    \\qquad r = (c k_h + p) k_w + q, \\quad l = (n H_o + i) W_o + j ,

so that ``w.reshape(F, C * kh * kw)`` (the same row order ``r``) times
:math:`X` is the convolution of the whole batch.  :func:`im2col` writes the
patch matrix; :func:`col2im` sends a gradient with respect to it back to the
pixels its entries were copied from, adding where windows overlap.  The matrix
products themselves are left to BLAS (:mod:`numbacnn.functional.im2col`).
See :doc:`/theory/im2col`.

Like every kernel these validate nothing and write into arrays the caller
allocates.
"""

from ._jit import pjit, prange

__all__ = ["im2col", "col2im"]


@pjit
def im2col(xp, kh, kw, sh, sw, dh, dw, Ho, Wo, cols):
    """Copy every window of ``xp`` into its column of the patch matrix.

    Parameters
    ----------
    xp : ndarray, shape (N, C, Hp, Wp)
        Zero-padded input.
    kh, kw, sh, sw, dh, dw : int
        Kernel size, stride and dilation.
    Ho, Wo : int
        Output size.
    cols : ndarray, shape (C * kh * kw, N * Ho * Wo)
        The patch matrix :math:`X`, overwritten.
    """
    N, C = xp.shape[0], xp.shape[1]
    for n in prange(N):  # images fill disjoint blocks of columns
        for c in range(C):
            for p in range(kh):
                for q in range(kw):
                    r = (c * kh + p) * kw + q  # the tap's row, w.reshape(F, -1)'s column
                    for i in range(Ho):
                        for j in range(Wo):
                            col = (n * Ho + i) * Wo + j  # the window's column, l on the page
                            cols[r, col] = xp[n, c, i * sh + p * dh, j * sw + q * dw]


@pjit
def col2im(grad_cols, kh, kw, sh, sw, dh, dw, Ho, Wo, grad_xp):
    """Add each entry of the patch-matrix gradient to the pixel it was copied from.

    The adjoint of :func:`im2col`: ``grad_xp[n, c, i sh + p dh, j sw + q dw]
    += grad_cols[(c kh + p) kw + q, (n Ho + i) Wo + j]``, so a pixel read by
    several windows collects all their terms.

    Parameters
    ----------
    grad_cols : ndarray, shape (C * kh * kw, N * Ho * Wo)
        Gradient with respect to the patch matrix, :math:`\\mathbf W^T G`.
    kh, kw, sh, sw, dh, dw, Ho, Wo : int
        As in :func:`im2col`.
    grad_xp : ndarray, shape (N, C, Hp, Wp)
        Gradient with respect to the padded input, overwritten.
    """
    N, C = grad_xp.shape[0], grad_xp.shape[1]
    for n in prange(N):  # each image owns its plane of grad_xp: no races
        grad_xp[n] = 0
        for c in range(C):
            for p in range(kh):
                for q in range(kw):
                    r = (c * kh + p) * kw + q
                    for i in range(Ho):
                        for j in range(Wo):
                            col = (n * Ho + i) * Wo + j
                            grad_xp[n, c, i * sh + p * dh, j * sw + q * dw] += grad_cols[r, col]
