"""Tests for the im2col convolution: numbacnn.kernels.im2col and functional.conv2d_im2col.

Oracles: ``scipy.signal.correlate2d`` per channel (forward), autograd through
the shifted-slice convolution of tests/test_conv2d.py (backward), and the loop
kernels, reference and fast, through ``conv2d``/``conv2d_backward``.
"""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.signal import correlate2d
from test_conv2d import _kwargs, _operands, _out_size, _pads, _pair, conv_autograd, geometries

from numbacnn.functional import (
    conv2d,
    conv2d_backward,
    conv2d_im2col,
    conv2d_im2col_backward,
)
from numbacnn.kernels import im2col as k


def scipy_conv2d(x, w, b, stride, padding, dilation):
    """Cross-correlation per (image, filter, channel) with scipy, then stride by slicing."""
    F, C, kh, kw = w.shape
    sh, sw = _pair(stride)
    dh, dw = _pair(dilation)
    top, bottom, left, right = _pads(padding, kh, kw, dh, dw)
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    wd = np.zeros((F, C, dh * (kh - 1) + 1, dw * (kw - 1) + 1))
    wd[:, :, ::dh, ::dw] = w  # dilation: zeros between the taps
    y = np.array([[sum(correlate2d(xp[n, c], wd[f, c], mode="valid") for c in range(C))
                   for f in range(F)] for n in range(x.shape[0])])
    return y[:, :, ::sh, ::sw] + b[None, :, None, None]


def test_patch_matrix_by_hand():
    # one 3x3 image, a 2x2 kernel, stride 1: four windows, one per column
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    cols = np.empty((4, 4))
    k.im2col(x, 2, 2, 1, 1, 1, 1, 2, 2, cols)
    windows = [[0, 1, 3, 4], [1, 2, 4, 5], [3, 4, 6, 7], [4, 5, 7, 8]]  # row-major (i, j)
    np.testing.assert_array_equal(cols, np.array(windows).T)
    # the input gradient of sum(y): each pixel counts the windows that read it
    grad_xp = np.full_like(x, np.nan)
    k.col2im(np.ones((4, 4)), 2, 2, 1, 1, 1, 1, 2, 2, grad_xp)
    np.testing.assert_array_equal(grad_xp[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


@given(geom=geometries(), seed=st.integers(0, 2**16))
def test_col2im_is_the_adjoint_of_im2col(geom, seed):
    # <im2col(x), Y> = <x, col2im(Y)> for every x and Y: col2im sends gradients back exactly
    x, w, _ = _operands(geom, seed)
    (kh, kw), (sh, sw), (dh, dw) = w.shape[2:], _pair(geom["stride"]), _pair(geom["dilation"])
    top, bottom, left, right = _pads(geom["padding"], kh, kw, dh, dw)
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    Ho, Wo = _out_size(geom)
    cols = np.empty((x.shape[1] * kh * kw, x.shape[0] * Ho * Wo))
    k.im2col(xp, kh, kw, sh, sw, dh, dw, Ho, Wo, cols)
    Y = np.random.default_rng(seed + 3).standard_normal(cols.shape)
    back = np.empty_like(xp)
    k.col2im(Y, kh, kw, sh, sw, dh, dw, Ho, Wo, back)
    assert np.vdot(cols, Y) == pytest.approx(np.vdot(xp, back), rel=1e-12, abs=1e-12)


@given(geom=geometries(), seed=st.integers(0, 2**16))
def test_forward_matches_scipy_and_the_loop_kernels(geom, seed):
    x, w, b = _operands(geom, seed)
    y = conv2d_im2col(x, w, b, **_kwargs(geom))
    np.testing.assert_allclose(y, scipy_conv2d(x, w, b, **_kwargs(geom)), rtol=1e-12, atol=1e-12)
    for reference in (True, False):
        np.testing.assert_allclose(y, conv2d(x, w, b, **_kwargs(geom), reference=reference),
                                   rtol=1e-12, atol=1e-12)


@given(geom=geometries(), seed=st.integers(0, 2**16))
def test_backward_matches_autograd_and_the_loop_kernels(geom, seed):
    x, w, b = _operands(geom, seed)
    G = np.random.default_rng(seed + 1).standard_normal(
        (x.shape[0], w.shape[0], *_out_size(geom)))
    expected = autograd.grad(
        lambda x, w, b: anp.sum(conv_autograd(x, w, b, geom) * G), argnum=(0, 1, 2))(x, w, b)
    got = conv2d_im2col_backward(G, x, w, **_kwargs(geom))
    loops = conv2d_backward(G, x, w, **_kwargs(geom), reference=True)
    for name, g, e, r in zip(("x", "weight", "bias"), got, expected, loops, strict=True):
        assert g.shape == e.shape
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtypes_follow_conv2d(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 2, 9, 8)).astype(dtype)
    w = rng.standard_normal((4, 2, 3, 3)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    y = conv2d_im2col(x, w, b, stride=2, padding=1)
    assert y.dtype == dtype and y.flags.c_contiguous
    g = rng.standard_normal(y.shape).astype(dtype)
    grads = conv2d_im2col_backward(g, x, w, stride=2, padding=1)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y, conv2d(x, w, b, stride=2, padding=1), rtol=tol, atol=tol)
    for got, ref in zip(grads, conv2d_backward(g, x, w, stride=2, padding=1), strict=True):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)
    # integers become float64, as in conv2d
    assert conv2d_im2col(np.ones((1, 1, 3, 3), int), np.ones((1, 1, 2, 2), int)).dtype == np.float64


def test_inputs_untouched_and_views_accepted():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 8, 10))[:, :, :, ::2]  # a non-contiguous view
    w = rng.standard_normal((2, 3, 2, 2))
    g = rng.standard_normal((2, 2, 7, 4))
    before = (x.copy(), w.copy(), g.copy())
    conv2d_im2col(x, w)
    conv2d_im2col_backward(g, x, w)
    for a, b in zip((x, w, g), before, strict=True):
        np.testing.assert_array_equal(a, b)


def test_validation_is_conv2d_s():
    with pytest.raises(ValueError, match="channel"):
        conv2d_im2col(np.zeros((1, 2, 4, 4)), np.zeros((1, 3, 2, 2)))
    with pytest.raises(ValueError, match="grad_out must have the forward output shape"):
        conv2d_im2col_backward(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 4, 4)),
                               np.zeros((1, 1, 2, 2)))
    with pytest.raises(ValueError, match="padding='same' needs stride=1"):
        conv2d_im2col(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 2, 2)), stride=2, padding="same")
