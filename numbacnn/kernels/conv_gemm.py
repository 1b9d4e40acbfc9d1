r"""The 2-D convolution as matrix products, chunk by chunk: forward pass and gradients.

For a chunk of ``m`` images, the patch matrix :math:`X` has one row per
kernel tap ``r = (c kh + p) kw + q`` and one column per output pixel
``(n, i, j)`` of the chunk (:func:`conv2d_patches`), so that, with the
filters as the matrix :math:`\mathbf W` = ``w.reshape(F, C kh kw)`` and the
upstream gradient of the chunk as the matrix :math:`G` ``(F, m Ho Wo)``,

.. math::

    Y = \mathbf W X + b, \qquad
    \nabla_{\mathbf W} = \sum_{\text{chunks}} G X^T, \qquad
    \nabla_b = \sum_{\text{chunks}} G \mathbf 1, \qquad
    \nabla_X = \mathbf W^T G ,

the last sent back to the pixels by :func:`conv2d_add_patches`.  These are
the sums of :func:`numbacnn.kernels.conv.conv2d_forward_reference` and
:func:`numbacnn.kernels.conv.conv2d_backward_reference` (the tests hold them to
those), grouped into matrix products that BLAS runs at close to the machine's
peak; :doc:`/theory/im2col` derives them.  Unlike
:mod:`numbacnn.kernels.im2col` (the whole batch at once, on a padded copy),
each parallel work item builds the patch matrix of its own chunk of images in
scratch, reading the unpadded input and writing zeros where a tap falls on
the padding, so the scratch stays bounded whatever the batch size.

Each work item calls BLAS from its own thread; the caller keeps BLAS at one
thread meanwhile (:func:`numbacnn.functional._blas.one_blas_thread`), so
numba's threads are the only ones.  Like every kernel these validate
nothing and write into arrays the caller allocates.
"""

import numpy as np

from ._jit import jit, pjit, prange

__all__ = [
    "conv2d_patches",
    "conv2d_add_patches",
    "conv2d_forward_gemm",
    "conv2d_grad_x_gemm",
    "conv2d_grad_weight_gemm",
]


@jit
def _inside(n_out, size, start, stride):
    """Outputs ``lo <= j < hi`` whose input index ``j*stride + start`` lies in ``[0, size)``."""
    lo = min(n_out, max(0, (stride - 1 - start) // stride))
    hi = max(lo, min(n_out, (size - 1 - start) // stride + 1))
    return lo, hi


@jit
def conv2d_patches(x, n0, m, kh, kw, top, left, sh, sw, dh, dw, Ho, Wo, cols):
    """Write the patch matrix of images ``n0`` to ``n0+m-1`` of the unpadded ``x``.

    ``cols[(c*kh + p)*kw + q, (r*Ho + i)*Wo + j] = x[n0 + r, c, i*sh + p*dh - top,
    j*sw + q*dw - left]``, and 0 where that pixel is padding.  ``cols`` is
    ``(C*kh*kw, m*Ho*Wo)``, overwritten.
    """
    C, H, W = x.shape[1], x.shape[2], x.shape[3]
    T = Ho * Wo
    zero = cols.dtype.type(0)
    # plain indexing rather than a view per row: rows are short (Wo elements), and
    # making a view for each cost more than copying it
    for c in range(C):
        for p in range(kh):
            for q in range(kw):
                k = (c * kh + p) * kw + q
                col0 = q * dw - left
                j_lo, j_hi = _inside(Wo, W, col0, sw)
                for r in range(m):
                    for i in range(Ho):
                        base = r * T + i * Wo
                        h = i * sh + p * dh - top
                        if h < 0 or h >= H:
                            for j in range(Wo):
                                cols[k, base + j] = zero
                            continue
                        for j in range(j_lo):
                            cols[k, base + j] = zero
                        for j in range(j_lo, j_hi):
                            cols[k, base + j] = x[n0 + r, c, h, j * sw + col0]
                        for j in range(j_hi, Wo):
                            cols[k, base + j] = zero


@jit
def conv2d_add_patches(grad_cols, n0, kh, kw, top, left, sh, sw, dh, dw, Ho, Wo, grad_x):
    """The adjoint of :func:`conv2d_patches`: add each entry back to the pixel it came from.

    ``grad_x[n0 + r, c, i*sh + p*dh - top, j*sw + q*dw - left] +=
    grad_cols[(c*kh + p)*kw + q, (r*Ho + i)*Wo + j]`` for every entry that is
    not padding; images ``n0`` to ``n0 + m - 1`` of ``grad_x`` (``m`` from
    ``grad_cols``' width) are zeroed first.
    """
    C, H, W = grad_x.shape[1], grad_x.shape[2], grad_x.shape[3]
    T = Ho * Wo
    m = grad_cols.shape[1] // T
    for r in range(m):
        grad_x[n0 + r] = 0
    for c in range(C):
        for p in range(kh):
            for q in range(kw):
                k = (c * kh + p) * kw + q
                col0 = q * dw - left
                j_lo, j_hi = _inside(Wo, W, col0, sw)
                for r in range(m):
                    for i in range(Ho):
                        h = i * sh + p * dh - top
                        if h < 0 or h >= H:
                            continue
                        base = r * T + i * Wo
                        for j in range(j_lo, j_hi):
                            grad_x[n0 + r, c, h, j * sw + col0] += grad_cols[k, base + j]


@jit
def _grad_matrix(g, z, relu, n0, m, G):
    """``G[f, r*T + t] = g[n0 + r, f]`` flattened: the chunk's upstream gradient as ``(F, m*T)``.

    With ``relu`` true, ``g`` is the gradient with respect to a ReLU's output
    and ``z`` the ReLU's input: each entry is multiplied by ``[z > 0]`` as
    :class:`numbacnn.activations.ReLU` does (by 1 or 0, so NaN and inf
    behave alike), on the way into ``G``.  Otherwise ``z`` is not read.
    """
    F = g.shape[1]
    T = g.shape[2] * g.shape[3]
    one = G.dtype.type(1)
    zero = G.dtype.type(0)
    for r in range(m):
        for f in range(F):
            src = g[n0 + r, f].reshape(T)
            dst = G[f, r * T : (r + 1) * T]
            if relu:
                mask = z[n0 + r, f].reshape(T)
                for t in range(T):
                    dst[t] = src[t] * (one if mask[t] > zero else zero)
            else:
                for t in range(T):
                    dst[t] = src[t]


@pjit
def conv2d_forward_gemm(x, w, b, top, left, sh, sw, dh, dw, nb, out):
    """Forward pass, ``out[n, f] = b[f] + (W X)[f, pixels of n]``, ``nb`` images per work item.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W), C-contiguous (unpadded)
    w : ndarray, shape (F, C, kh, kw), C-contiguous
    b : ndarray, shape (F,)
    top, left, sh, sw, dh, dw : int
        Zero rows above and columns left of the image, stride and dilation.
    nb : int
        Images per work item (the patch matrix of one item is
        ``C*kh*kw`` by ``nb*Ho*Wo``).
    out : ndarray, shape (N, F, Ho, Wo); overwritten.
    """
    N, F, Ho, Wo = out.shape
    C, kh, kw = w.shape[1], w.shape[2], w.shape[3]
    T = Ho * Wo
    Wm = w.reshape(F, C * kh * kw)
    for item in prange((N + nb - 1) // nb):
        n0 = item * nb
        m = min(nb, N - n0)
        cols = np.empty((C * kh * kw, m * T), out.dtype)
        conv2d_patches(x, n0, m, kh, kw, top, left, sh, sw, dh, dw, Ho, Wo, cols)
        Y = np.dot(Wm, cols)
        for r in range(m):
            for f in range(F):
                bf = b[f]
                src = Y[f, r * T : (r + 1) * T]
                dst = out[n0 + r, f].reshape(T)
                for t in range(T):
                    dst[t] = src[t] + bf


@pjit
def conv2d_grad_x_gemm(g, z, relu, w, top, left, sh, sw, dh, dw, nb, grad_x):
    """Input gradient: :math:`\\mathbf W^T G` per work item, added back to the pixels.

    Parameters
    ----------
    g : ndarray, shape (N, F, Ho, Wo), C-contiguous
    z : ndarray, shape (N, F, Ho, Wo), C-contiguous
        A ReLU's input when ``relu`` is true (``g`` is then the gradient with
        respect to its output); any array of ``g``'s type otherwise.
    relu : bool
    w : ndarray, shape (F, C, kh, kw), C-contiguous
    top, left, sh, sw, dh, dw, nb : int
        As in :func:`conv2d_forward_gemm`.
    grad_x : ndarray, shape (N, C, H, W); overwritten.
    """
    N, F, Ho, Wo = g.shape
    C, kh, kw = w.shape[1], w.shape[2], w.shape[3]
    T = Ho * Wo
    Wt = np.ascontiguousarray(w.reshape(F, C * kh * kw).T)
    for item in prange((N + nb - 1) // nb):
        n0 = item * nb
        m = min(nb, N - n0)
        G = np.empty((F, m * T), g.dtype)
        _grad_matrix(g, z, relu, n0, m, G)
        # each item owns images n0 .. n0+m-1 of grad_x: no two threads add to one pixel
        conv2d_add_patches(np.dot(Wt, G), n0, kh, kw, top, left, sh, sw, dh, dw, Ho, Wo, grad_x)


@pjit
def conv2d_grad_weight_gemm(g, z, relu, x, top, left, sh, sw, dh, dw, nb, grad_w, grad_b):
    """Weight and bias gradients: the sums over work items of :math:`G X^T` and of ``g``.

    Each item writes its product :math:`G X^T` ``(F, C*kh*kw)`` and its
    pixels' sum of ``g`` (in float64, whatever the dtype: ``N*Ho*Wo`` terms
    are too many for float32) into its own slot (threads never write the
    same memory); the slots are added at the end, in item order.

    Parameters
    ----------
    g, z, relu
        As in :func:`conv2d_grad_x_gemm`.
    x : ndarray, shape (N, C, H, W), C-contiguous (unpadded)
    top, left, sh, sw, dh, dw, nb : int
        As in :func:`conv2d_forward_gemm`.
    grad_w : ndarray, shape (F, C, kh, kw), C-contiguous; overwritten.
    grad_b : ndarray, shape (F,); overwritten.
    """
    N, F, Ho, Wo = g.shape
    C, kh, kw = grad_w.shape[1], grad_w.shape[2], grad_w.shape[3]
    T = Ho * Wo
    CK = C * kh * kw
    nitems = (N + nb - 1) // nb
    partial = np.empty((nitems, F, CK), g.dtype)
    partial_b = np.empty((nitems, F), np.float64)
    for item in prange(nitems):
        n0 = item * nb
        m = min(nb, N - n0)
        cols = np.empty((CK, m * T), g.dtype)
        conv2d_patches(x, n0, m, kh, kw, top, left, sh, sw, dh, dw, Ho, Wo, cols)
        G = np.empty((F, m * T), g.dtype)
        _grad_matrix(g, z, relu, n0, m, G)
        # element loops rather than array assignments: those would compile numba's
        # shape-mismatch error messages, seconds of compilation on a first run
        product = np.dot(G, cols.T)
        for f in range(F):
            for ck in range(CK):
                partial[item, f, ck] = product[f, ck]
            # np.float64, not 0.0: plain Python would add float32 terms to 0.0 as float32
            total = np.float64(0.0)
            for t in range(m * T):
                total += G[f, t]
            partial_b[item, f] = total
    total_w = grad_w.reshape(F, CK)
    for f in range(F):
        for ck in range(CK):
            acc = partial[0, f, ck]
            for item in range(1, nitems):
                acc += partial[item, f, ck]
            total_w[f, ck] = acc
        acc_b = partial_b[0, f]
        for item in range(1, nitems):
            acc_b += partial_b[item, f]
        grad_b[f] = acc_b
