"""What a user would write without numbacnn: the lecture's NumPy styles, im2col, scipy.

The speed table (``speed_table.py``) and the convolution benchmark
(``bench_conv.py``) time numbacnn against these, and ``tests/`` checks them
against numbacnn.  The lecture's own CNN code comes in two flavours: a
readable layer whose convolution is a Python loop over output pixels with a
NumPy product-and-sum over each patch, and an "optimised" layer that extracts
every window and turns the convolution into one matrix product (im2col).  The
functions here follow the same two ideas, written afresh and *correctly* (the
lecture's versions carry the bugs listed on the errata page), so a timing
compares the styles, not the bugs:

* ``*_loops`` -- Python loops over batch, filter and output position, NumPy
  inside the innermost patch ('valid' padding, stride 1);
* ``im2col_*`` -- windows from :func:`numpy.lib.stride_tricks.sliding_window_view`
  copied into a matrix, one GEMM for the forward pass and for each gradient
  (any stride and zero padding);
* :func:`scipy_conv2d` -- one ``scipy.signal.correlate2d`` call per image,
  filter and channel;
* :func:`max_pool2d_reshape` -- non-overlapping pooling by a reshape;
* ``rnn_*_numpy`` -- the simple RNN, one batched matrix product per step.

All use PyTorch's cross-correlation convention:
``out[n, f, i, j] = b[f] + sum_{c,p,q} w[f, c, p, q] x[n, c, s i + p, s j + q]``
on the zero-padded input.
"""

import time

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "median_time",
    "conv2d_loops",
    "conv2d_backward_loops",
    "im2col_conv2d",
    "im2col_conv2d_backward",
    "scipy_conv2d",
    "max_pool2d_loops",
    "max_pool2d_backward_loops",
    "max_pool2d_reshape",
    "max_pool2d_backward_reshape",
    "rnn_forward_numpy",
    "rnn_backward_numpy",
]


def median_time(fn, repeat=3, warmup=1):
    """Median wall-clock seconds of ``fn()`` over ``repeat`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


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


def _padded(x, padding):
    return np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))


def _cols(xp, kh, kw, stride):
    """im2col: ``(N, Ho, Wo, C*kh*kw)`` copy of every (strided) window of ``xp``."""
    win = sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    N, C, Ho, Wo = win.shape[:4]
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(N, Ho, Wo, C * kh * kw)


def im2col_conv2d(x, w, b, stride=1, padding=0):
    """Forward pass: windows to a matrix, one GEMM with the flattened filters."""
    F, C, kh, kw = w.shape
    cols = _cols(_padded(x, padding), kh, kw, stride)
    y = cols @ w.reshape(F, -1).T  # (N, Ho, Wo, F)
    y += b
    return np.ascontiguousarray(y.transpose(0, 3, 1, 2))


def im2col_conv2d_backward(g, x, w, stride=1, padding=0):
    """Backward pass: GEMMs for the weight and column gradients, col2im by tap-wise adds."""
    F, C, kh, kw = w.shape
    N, _, H, W = x.shape
    xp = _padded(x, padding)
    cols = _cols(xp, kh, kw, stride)  # (N, Ho, Wo, C*kh*kw)
    Ho, Wo = cols.shape[1], cols.shape[2]
    g2 = g.transpose(0, 2, 3, 1).reshape(-1, F)  # (N*Ho*Wo, F)
    grad_w = (g2.T @ cols.reshape(-1, C * kh * kw)).reshape(w.shape)
    grad_b = g.sum(axis=(0, 2, 3))
    dcols = (g2 @ w.reshape(F, -1)).reshape(N, Ho, Wo, C, kh, kw)
    grad_xp = np.zeros_like(xp)
    for p in range(kh):
        for q in range(kw):
            grad_xp[
                :, :, p : p + stride * (Ho - 1) + 1 : stride, q : q + stride * (Wo - 1) + 1 : stride
            ] += dcols[:, :, :, :, p, q].transpose(0, 3, 1, 2)
    grad_x = grad_xp[:, :, padding : padding + H, padding : padding + W]
    return grad_x, grad_w, grad_b


def scipy_conv2d(x, w, b, stride=1, padding=0):
    """Forward pass as ``N*F*C`` calls of ``scipy.signal.correlate2d`` on single images."""
    from scipy import signal

    F, C, kh, kw = w.shape
    xp = _padded(x, padding)
    N = x.shape[0]
    Hv, Wv = xp.shape[2] - kh + 1, xp.shape[3] - kw + 1
    y = np.empty((N, F, (Hv - 1) // stride + 1, (Wv - 1) // stride + 1), dtype=x.dtype)
    for n in range(N):
        for f in range(F):
            acc = np.full((Hv, Wv), b[f], dtype=x.dtype)
            for c in range(C):
                acc += signal.correlate2d(xp[n, c], w[f, c], mode="valid")
            y[n, f] = acc[::stride, ::stride]
    return y


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
