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
each work item builds the patch matrix of its own chunk of images in
scratch, reading the unpadded input and writing zeros where a tap falls on
the padding, so the scratch stays bounded whatever the batch size.  (The
forward pass takes its chunk one image at a time: one image's product is
exactly that image's slice of the output.)

The two pass kernels are serial loops over a range of images or work items
that release the GIL; :func:`numbacnn.functional._threads.run_ranges` runs
disjoint ranges on several threads.  Each thread calls BLAS for its own
items, and the caller keeps BLAS at one thread meanwhile
(:func:`numbacnn.functional._blas.one_blas_thread`), so those threads are the
only ones.  Like every kernel these validate nothing and write into arrays
the caller allocates.
"""

import numpy as np

from ._jit import jit

__all__ = [
    "conv2d_patches",
    "conv2d_add_patches",
    "conv2d_forward_gemm",
    "conv2d_backward_gemm",
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
    ``(C*kh*kw, m*Ho*Wo)``, C-contiguous, overwritten; ``x`` is C-contiguous.
    """
    C, H, W = x.shape[1], x.shape[2], x.shape[3]
    T = Ho * Wo
    L = cols.shape[1]
    zero = cols.dtype.type(0)
    # flat offsets, used as unsigned indices: numba then skips its negative-index
    # wraparound, and LLVM vectorizes the row copies (about 3 times faster packing)
    src = x.reshape(x.size)
    dst = cols.reshape(cols.size)
    for c in range(C):
        for p in range(kh):
            for q in range(kw):
                k = (c * kh + p) * kw + q
                col0 = q * dw - left
                j_lo, j_hi = _inside(Wo, W, col0, sw)
                for r in range(m):
                    plane = ((n0 + r) * C + c) * H
                    for i in range(Ho):
                        d0 = k * L + r * T + i * Wo
                        h = i * sh + p * dh - top
                        if h < 0 or h >= H:
                            for j in range(Wo):
                                dst[np.uint64(d0 + j)] = zero
                            continue
                        s0 = (plane + h) * W + col0
                        for j in range(j_lo):
                            dst[np.uint64(d0 + j)] = zero
                        for j in range(j_lo, j_hi):
                            dst[np.uint64(d0 + j)] = src[np.uint64(s0 + j * sw)]
                        for j in range(j_hi, Wo):
                            dst[np.uint64(d0 + j)] = zero


@jit
def conv2d_add_patches(grad_cols, n0, kh, kw, top, left, sh, sw, dh, dw, Ho, Wo, grad_x):
    """The adjoint of :func:`conv2d_patches`: add each entry back to the pixel it came from.

    ``grad_x[n0 + r, c, i*sh + p*dh - top, j*sw + q*dw - left] +=
    grad_cols[(c*kh + p)*kw + q, (r*Ho + i)*Wo + j]`` for every entry that is
    not padding; images ``n0`` to ``n0 + m - 1`` of ``grad_x`` (``m`` from
    ``grad_cols``' width) are zeroed first.  Both arrays are C-contiguous.
    """
    C, H, W = grad_x.shape[1], grad_x.shape[2], grad_x.shape[3]
    T = Ho * Wo
    L = grad_cols.shape[1]
    m = L // T
    zero = grad_x.dtype.type(0)
    # unsigned flat indices, as in conv2d_patches
    src = grad_cols.reshape(grad_cols.size)
    dst = grad_x.reshape(grad_x.size)
    for t in range(n0 * C * H * W, (n0 + m) * C * H * W):
        dst[np.uint64(t)] = zero
    for c in range(C):
        for p in range(kh):
            for q in range(kw):
                k = (c * kh + p) * kw + q
                col0 = q * dw - left
                j_lo, j_hi = _inside(Wo, W, col0, sw)
                for r in range(m):
                    plane = ((n0 + r) * C + c) * H
                    for i in range(Ho):
                        h = i * sh + p * dh - top
                        if h < 0 or h >= H:
                            continue
                        s0 = k * L + r * T + i * Wo
                        d0 = (plane + h) * W + col0
                        for j in range(j_lo, j_hi):
                            dst[np.uint64(d0 + j * sw)] += src[np.uint64(s0 + j)]


@jit
def _sum64(v):
    """The sum of the 1-D array ``v`` in float64, as 64 interleaved partial sums.

    Partial sum ``l`` adds ``v[l], v[l + 64], ...``; then the upper half of the
    partial sums is added to the lower half, six times over, and the elements
    of a last incomplete block are added one by one.  A single running sum
    would make each addition wait for the one before it; 64 independent sums
    over a view vectorize, and halving them keeps the final reduction short
    too (these rows may hold only a few hundred pixels).  The order depends
    on the length alone.
    """
    B = 64
    lanes = np.zeros(B, np.float64)
    nB = v.size - v.size % B
    for t0 in range(0, nB, B):
        block = v[t0 : t0 + B]
        for lane in range(B):
            lanes[lane] += block[lane]
    half = B // 2
    while half > 0:
        for lane in range(half):
            lanes[lane] += lanes[lane + half]
        half //= 2
    total = lanes[0]
    for t in range(nB, v.size):
        total += v[t]
    return total


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


@jit
def conv2d_forward_gemm(x, w, b, top, left, sh, sw, dh, dw, n0, n1, out):
    """Forward pass of images ``n0`` to ``n1-1``: ``out[n, f] = b[f] + (W X_n)[f, pixels]``.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W), C-contiguous (unpadded)
    w : ndarray, shape (F, C, kh, kw), C-contiguous
    b : ndarray, shape (F,)
    top, left, sh, sw, dh, dw : int
        Zero rows above and columns left of the image, stride and dilation.
    n0, n1 : int
        The images to compute; other images of ``out`` are not touched, so
        threads may run disjoint ranges at once.  The patch matrix of one
        image (``C*kh*kw`` by ``Ho*Wo``) is built at a time, in scratch
        allocated once per call.
    out : ndarray, shape (N, F, Ho, Wo), C-contiguous; images ``n0 .. n1-1``
        overwritten.
    """
    F, Ho, Wo = out.shape[1], out.shape[2], out.shape[3]
    C, kh, kw = w.shape[1], w.shape[2], w.shape[3]
    T = Ho * Wo
    Wm = w.reshape(F, C * kh * kw)
    cols = np.empty((C * kh * kw, T), out.dtype)
    one = np.int64(1)  # not the literal 1: numba would compile a second conv2d_patches
    for n in range(n0, n1):
        # one image at a time: its product (F, Ho*Wo) is its slice of out, so BLAS
        # writes there directly and the bias is added while those rows are in cache
        conv2d_patches(x, n, one, kh, kw, top, left, sh, sw, dh, dw, Ho, Wo, cols)
        Y = out[n].reshape(F, T)
        np.dot(Wm, cols, Y)
        for f in range(F):
            bf = b[f]
            for t in range(T):
                Y[f, t] += bf


@jit
def conv2d_backward_gemm(g, z, relu, x, w, top, left, sh, sw, dh, dw, nb, item0, item1,
                         input_grad, grad_x, partial_w, partial_b):
    """The three gradients' parts of work items ``item0`` to ``item1-1``, ``nb`` images each.

    Item ``k`` holds images ``k*nb`` to ``min((k+1)*nb, N)-1``.  It builds its
    upstream-gradient matrix :math:`G` and its patch matrix :math:`X` once and
    writes :math:`G X^T` ``(F, C*kh*kw)`` to ``partial_w[k]`` and its pixels'
    sum of ``g`` (in float64, whatever the dtype: ``N*Ho*Wo`` terms are too
    many for float32) to ``partial_b[k]``; the caller adds the items in order,
    so the sums do not depend on which thread ran which item.  With
    ``input_grad``, the item then forms :math:`\\mathbf W^T G` in the patch
    matrix's scratch and adds it back to the pixels of its images of
    ``grad_x``.

    Parameters
    ----------
    g : ndarray, shape (N, F, Ho, Wo), C-contiguous
    z : ndarray, shape (N, F, Ho, Wo), C-contiguous
        A ReLU's input when ``relu`` is true (``g`` is then the gradient with
        respect to its output); any array of ``g``'s type otherwise.
    relu : bool
    x : ndarray, shape (N, C, H, W), C-contiguous (unpadded)
    w : ndarray, shape (F, C, kh, kw), C-contiguous
    top, left, sh, sw, dh, dw : int
        As in :func:`conv2d_forward_gemm`.
    nb : int
        Images per work item: its matrices are ``nb*Ho*Wo`` wide.
    item0, item1 : int
        The work items to compute; threads may run disjoint ranges at once.
    input_grad : bool
        Whether to compute ``grad_x``; without it ``grad_x`` is not touched
        (any 4-D array of ``x``'s type).
    grad_x : ndarray, shape (N, C, H, W), C-contiguous; the items' images overwritten.
    partial_w : ndarray, shape (items, F, C*kh*kw), C-contiguous
        Rows ``item0`` to ``item1 - 1`` overwritten.
    partial_b : ndarray, shape (items, F), float64
        Rows ``item0`` to ``item1 - 1`` overwritten.
    """
    N, F, Ho, Wo = g.shape
    C, kh, kw = w.shape[1], w.shape[2], w.shape[3]
    T = Ho * Wo
    CK = C * kh * kw
    Wt = np.ascontiguousarray(w.reshape(F, CK).T)
    for item in range(item0, item1):
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
                partial_w[item, f, ck] = product[f, ck]
            partial_b[item, f] = _sum64(G[f])
        if input_grad:
            np.dot(Wt, G, cols)  # the patch matrix is no longer needed
            # the item owns images n0 .. n0+m-1 of grad_x: no other item adds to them
            conv2d_add_patches(cols, n0, kh, kw, top, left, sh, sw, dh, dw, Ho, Wo, grad_x)
