"""Baselines for the convolution benchmark: NumPy im2col and scipy.signal loops.

These are what a user would write without numbacnn.  They are checked against
numbacnn in ``bench_conv.py`` before being timed.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import signal


def _padded(x, padding):
    return np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))


def _cols(xp, kh, kw, stride):
    """im2col: (N, Ho, Wo, C*kh*kw) copy of every (strided) window of ``xp``."""
    win = sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    N, C, Ho, Wo = win.shape[:4]
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(N, Ho, Wo, C * kh * kw)


def im2col_conv2d(x, w, b, stride, padding):
    """Forward pass: windows to a matrix, one GEMM with the flattened filters."""
    F, C, kh, kw = w.shape
    cols = _cols(_padded(x, padding), kh, kw, stride)
    y = cols @ w.reshape(F, -1).T  # (N, Ho, Wo, F)
    y += b
    return np.ascontiguousarray(y.transpose(0, 3, 1, 2))


def im2col_conv2d_backward(g, x, w, stride, padding):
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


def scipy_conv2d(x, w, b, stride, padding):
    """Forward pass as N*F*C calls of ``scipy.signal.correlate2d`` on single images."""
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
