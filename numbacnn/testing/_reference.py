"""Thin wrappers that run the *reference* kernels on one checker case.

The checkers compare a learner's function with the loops the documentation
shows (the ``*_reference`` kernels of :mod:`numbacnn.kernels`), not with the
fast ones.  Each wrapper pads or allocates what the kernel expects and
returns fresh arrays; the arguments are the arrays of a case, already of one
float dtype, so nothing here validates.
"""

import numpy as np

from ..functional._geometry import conv_geometry, pool_geometry
from ..kernels import conv as _conv
from ..kernels import lstm as _lstm
from ..kernels import pool as _pool
from ..kernels import rnn as _rnn

__all__ = []


def _pad(x, ph, pw):
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))


def conv_out_size(x_shape, w_shape, stride, padding, dilation):
    """``(Ho, Wo)`` of :func:`numbacnn.functional.conv2d` for int or pair arguments."""
    return conv_geometry(x_shape[2:], w_shape[2:], stride, padding, dilation).out_size


def conv2d(x, w, b, stride, padding, dilation):
    """:func:`numbacnn.kernels.conv.conv2d_forward_reference` on a zero-padded copy of ``x``."""
    geom = conv_geometry(x.shape[2:], w.shape[2:], stride, padding, dilation)
    top, _, left, _ = geom.pads
    (sh, sw), (dh, dw) = geom.stride, geom.dilation
    out = np.empty((x.shape[0], w.shape[0], *geom.out_size), dtype=x.dtype)
    bias = np.zeros(w.shape[0], dtype=x.dtype) if b is None else b
    _conv.conv2d_forward_reference(_pad(x, top, left), w, bias, sh, sw, dh, dw, out)
    return out


def conv2d_backward(g, x, w, stride, padding, dilation):
    """``(grad_x, grad_weight, grad_bias)`` from :func:`~numbacnn.kernels.conv.conv2d_backward_reference`."""  # noqa: E501
    geom = conv_geometry(x.shape[2:], w.shape[2:], stride, padding, dilation)
    top, _, left, _ = geom.pads
    (sh, sw), (dh, dw) = geom.stride, geom.dilation
    xp = _pad(x, top, left)
    grad_xp, grad_w = np.empty_like(xp), np.empty_like(w)
    grad_b = np.empty(w.shape[0], dtype=x.dtype)
    _conv.conv2d_backward_reference(g, xp, w, sh, sw, dh, dw, grad_xp, grad_w, grad_b)
    H, W = x.shape[2:]
    return grad_xp[:, :, top:top + H, left:left + W].copy(), grad_w, grad_b


def pool_out_size(x_shape, kernel_size, stride, padding):
    """``(Ho, Wo)`` of the pooling functions."""
    return pool_geometry(x_shape[2:], kernel_size, stride, padding).out_size


def _pool_args(x_shape, kernel_size, stride, padding):
    geom = pool_geometry(x_shape[2:], kernel_size, stride, padding)
    return geom.out_size, (*geom.kernel, *geom.stride, *geom.padding)


def max_pool2d(x, kernel_size, stride, padding):
    """:func:`numbacnn.kernels.pool.max_pool2d_reference`."""
    size, args = _pool_args(x.shape, kernel_size, stride, padding)
    out = np.empty(x.shape[:2] + size, dtype=x.dtype)
    _pool.max_pool2d_reference(x, *args, out)
    return out


def max_pool2d_backward(g, x, kernel_size, stride, padding):
    """:func:`numbacnn.kernels.pool.max_pool2d_backward_reference`."""
    _, args = _pool_args(x.shape, kernel_size, stride, padding)
    grad_x = np.empty_like(x)
    _pool.max_pool2d_backward_reference(g, x, *args, grad_x)
    return grad_x


def avg_pool2d_backward(g, x, kernel_size, stride, padding):
    """:func:`numbacnn.kernels.pool.avg_pool2d_backward_reference`."""
    _, args = _pool_args(x.shape, kernel_size, stride, padding)
    grad_x = np.empty_like(x)
    _pool.avg_pool2d_backward_reference(g, *args, grad_x)
    return grad_x


def rnn_forward(x, h0, W_ih, W_hh, b, V, c, relu):
    """``(h, y)`` from :func:`numbacnn.kernels.rnn.rnn_forward_reference`."""
    N, T, _ = x.shape
    h = np.empty((N, T, h0.shape[1]), dtype=x.dtype)
    y = np.empty((N, T, V.shape[0]), dtype=x.dtype)
    _rnn.rnn_forward_reference(x, h0, W_ih, W_hh, b, V, c, relu, h, y)
    return h, y


def rnn_backward(grad_y, x, h0, h, W_ih, W_hh, V, grad_h_last, relu):
    """The seven gradients of :func:`numbacnn.kernels.rnn.rnn_backward_reference`."""
    grads = [np.zeros_like(x), np.zeros_like(h0), np.zeros_like(W_ih), np.zeros_like(W_hh),
             np.zeros(W_hh.shape[0], dtype=x.dtype), np.zeros_like(V),
             np.zeros(V.shape[0], dtype=x.dtype)]
    _rnn.rnn_backward_reference(grad_y, x, h0, h, W_ih, W_hh, V, relu, grad_h_last, *grads)
    return grads


def lstm_forward(x, h0, c0, W_ih, W_hh, b):
    """``(h, c, gates)`` from :func:`numbacnn.kernels.lstm.lstm_forward_reference`."""
    N, T, _ = x.shape
    H = h0.shape[1]
    h = np.empty((N, T, H), dtype=x.dtype)
    c = np.empty((N, T, H), dtype=x.dtype)
    gates = np.empty((N, T, 4 * H), dtype=x.dtype)
    _lstm.lstm_forward_reference(x, h0, c0, W_ih, W_hh, b, h, c, gates)
    return h, c, gates


def lstm_backward(grad_h, x, h0, c0, W_ih, W_hh, h, c, gates, grad_c_last):
    """The six gradients of :func:`numbacnn.kernels.lstm.lstm_backward_reference`."""
    grads = [np.zeros_like(x), np.zeros_like(h0), np.zeros_like(c0), np.zeros_like(W_ih),
             np.zeros_like(W_hh), np.zeros(W_ih.shape[0], dtype=x.dtype)]
    _lstm.lstm_backward_reference(grad_h, x, h0, c0, W_ih, W_hh, h, c, gates, grad_c_last,
                                  *grads)
    return grads
