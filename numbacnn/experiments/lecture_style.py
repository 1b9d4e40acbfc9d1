"""The lecture's two NumPy coding styles, re-implemented for the speed table.

The lecture's own CNN code comes in two flavours: a readable layer whose
convolution is a Python loop over output pixels with a NumPy product-and-sum
over each patch, and an "optimised" layer that extracts every window and
turns the convolution into one matrix product (im2col).  The functions here
follow the same two ideas, written afresh and *correctly* (the lecture's
versions carry the bugs listed on the errata page), so the speed table
compares the styles, not the bugs:

* ``*_loops`` -- Python loops over batch, filter and output position, NumPy
  inside the innermost patch;
* ``*_im2col`` -- windows from :func:`numpy.lib.stride_tricks.sliding_window_view`,
  one ``tensordot``/``matmul`` for the forward pass and for each gradient.

All use PyTorch's cross-correlation convention with 'valid' padding and
stride 1: ``out[n, f, i, j] = b[f] + sum_{c,p,q} w[f, c, p, q] x[n, c, i+p, j+q]``.
They double as an independent NumPy oracle in the tests.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "conv2d_loops",
    "conv2d_backward_loops",
    "conv2d_im2col",
    "conv2d_backward_im2col",
    "max_pool2d_loops",
    "max_pool2d_backward_loops",
    "max_pool2d_reshape",
    "max_pool2d_backward_reshape",
    "rnn_forward_numpy",
    "rnn_backward_numpy",
]


# --------------------------------------------------------------------------- convolution
def conv2d_loops(x, w, b):
    """Valid cross-correlation by loops over ``(n, f, i, j)``; a patch sum inside."""
    N, C, H, W = x.shape
    F, _, kh, kw = w.shape
    Ho, Wo = H - kh + 1, W - kw + 1
    out = np.empty((N, F, Ho, Wo), dtype=x.dtype)
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    out[n, f, i, j] = np.sum(x[n, :, i:i + kh, j:j + kw] * w[f]) + b[f]
    return out


def conv2d_backward_loops(grad_out, x, w):
    """Gradients of :func:`conv2d_loops`: each output pixel scatters into its patch."""
    N, F, Ho, Wo = grad_out.shape
    kh, kw = w.shape[2:]
    grad_x = np.zeros_like(x)
    grad_w = np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    g = grad_out[n, f, i, j]
                    grad_w[f] += g * x[n, :, i:i + kh, j:j + kw]
                    grad_x[n, :, i:i + kh, j:j + kw] += g * w[f]
    return grad_x, grad_w, grad_out.sum(axis=(0, 2, 3))


def _windows(x, kh, kw):
    """``(N, C, Ho, Wo, kh, kw)`` read-only view of every patch."""
    return sliding_window_view(x, (kh, kw), axis=(2, 3))


def conv2d_im2col(x, w, b):
    """Valid cross-correlation as one contraction over ``(c, p, q)`` of all windows."""
    cols = _windows(x, w.shape[2], w.shape[3])
    out = np.tensordot(cols, w, axes=([1, 4, 5], [1, 2, 3]))  # (N, Ho, Wo, F)
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2)) + b[None, :, None, None]


def conv2d_backward_im2col(grad_out, x, w):
    """Gradients of :func:`conv2d_im2col`; ``grad_x`` correlates with the flipped kernel."""
    F, C, kh, kw = w.shape
    cols = _windows(x, kh, kw)
    grad_w = np.tensordot(grad_out, cols, axes=([0, 2, 3], [0, 2, 3]))  # (F, C, kh, kw)
    padded = np.pad(grad_out, ((0, 0), (0, 0), (kh - 1, kh - 1), (kw - 1, kw - 1)))
    flipped = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)  # (C, F, kh, kw)
    grad_x = np.tensordot(_windows(padded, kh, kw), flipped, axes=([1, 4, 5], [1, 2, 3]))
    return (np.ascontiguousarray(grad_x.transpose(0, 3, 1, 2)), grad_w,
            grad_out.sum(axis=(0, 2, 3)))


# --------------------------------------------------------------------------- max pooling
def max_pool2d_loops(x, k=2):
    """Non-overlapping ``k x k`` max pooling by loops over output pixels."""
    N, C, H, W = x.shape
    Ho, Wo = H // k, W // k
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    out[n, c, i, j] = x[n, c, i * k:(i + 1) * k, j * k:(j + 1) * k].max()
    return out


def max_pool2d_backward_loops(grad_out, x, k=2):
    """Route each output gradient to the (first) maximum of its window."""
    N, C, Ho, Wo = grad_out.shape
    grad_x = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    win = x[n, c, i * k:(i + 1) * k, j * k:(j + 1) * k]
                    p, q = np.unravel_index(np.argmax(win), win.shape)
                    grad_x[n, c, i * k + p, j * k + q] += grad_out[n, c, i, j]
    return grad_x


def _blocks(x, k):
    N, C, H, W = x.shape
    Ho, Wo = H // k, W // k
    return x[:, :, :Ho * k, :Wo * k].reshape(N, C, Ho, k, Wo, k)


def max_pool2d_reshape(x, k=2):
    """Non-overlapping max pooling by a reshape into ``k x k`` blocks."""
    return _blocks(x, k).max(axis=(3, 5))


def max_pool2d_backward_reshape(grad_out, x, k=2):
    """Gradient of :func:`max_pool2d_reshape` (ties: the first maximum, as the loops)."""
    N, C, Ho, Wo = grad_out.shape
    blocks = _blocks(x, k).transpose(0, 1, 2, 4, 3, 5).reshape(N, C, Ho, Wo, k * k)
    first = blocks.argmax(axis=-1)
    onehot = np.arange(k * k) == first[..., None]
    g = (onehot * grad_out[..., None]).reshape(N, C, Ho, Wo, k, k).transpose(0, 1, 2, 4, 3, 5)
    grad_x = np.zeros_like(x)
    grad_x[:, :, :Ho * k, :Wo * k] = g.reshape(N, C, Ho * k, Wo * k)
    return grad_x


# --------------------------------------------------------------------------- simple RNN
def rnn_forward_numpy(x, h0, U, W, b):
    """``h_t = tanh(U x_t + W h_{t-1} + b)`` for ``x (N, T, D)``; returns ``h (N, T, H)``."""
    N, T, _ = x.shape
    h = np.empty((N, T, W.shape[0]), dtype=x.dtype)
    prev = h0
    for t in range(T):
        prev = np.tanh(x[:, t] @ U.T + prev @ W.T + b)
        h[:, t] = prev
    return h


def rnn_backward_numpy(grad_h, x, h0, h, U, W):
    """BPTT for :func:`rnn_forward_numpy` given ``dL/dh_t`` for every step."""
    N, T, _ = x.shape
    grad_x = np.empty_like(x)
    grad_U, grad_W = np.zeros_like(U), np.zeros_like(W)
    grad_b = np.zeros(W.shape[0], dtype=x.dtype)
    carry = np.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        delta = (grad_h[:, t] + carry) * (1 - h[:, t] ** 2)
        prev = h[:, t - 1] if t > 0 else h0
        grad_U += delta.T @ x[:, t]
        grad_W += delta.T @ prev
        grad_b += delta.sum(axis=0)
        grad_x[:, t] = delta @ U
        carry = delta @ W
    return grad_x, grad_U, grad_W, grad_b
