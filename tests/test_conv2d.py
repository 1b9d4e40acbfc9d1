"""Tests for numbacnn.functional.conv2d / conv2d_backward and their kernels.

Oracles, all independent of the code under test:

* forward: ``sliding_window_view`` + ``einsum`` (a strided view of windows,
  contracted with the filters) -- no loops shared with the kernels;
* backward: ``autograd`` differentiating a convolution built from shifted
  slices (one ``einsum`` per kernel tap), and central finite differences of
  our own forward pass in float64;
* fast kernels: the reference kernels, which transcribe the equations.
"""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from _numerics import central_difference
from hypothesis import given
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from numbacnn.functional import conv2d, conv2d_backward
from numbacnn.functional._geometry import ConvGeometry
from numbacnn.functional.conv import GEMM_BUDGET, _conv2d_backward, _conv2d_forward
from numbacnn.kernels import conv as kconv

# ----------------------------------------------------------------------------
# geometry strategy and independent helpers


def _pads(padding, kh, kw, dh, dw):
    """(top, bottom, left, right) for a padding argument, written out independently."""
    if padding == "valid":
        return 0, 0, 0, 0
    if padding == "same":
        th, tw = dh * (kh - 1), dw * (kw - 1)
        return th // 2, th - th // 2, tw // 2, tw - tw // 2
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    return ph, ph, pw, pw


@st.composite
def geometries(draw, max_batch=2, max_chan=3, max_k=4, max_extra=4):
    """Shapes, stride, padding and dilation for which the convolution is defined."""
    N = draw(st.integers(1, max_batch))
    C = draw(st.integers(1, max_chan))
    F = draw(st.integers(1, max_chan))
    kh = draw(st.integers(1, max_k))
    kw = draw(st.integers(1, max_k))
    dilation = draw(st.one_of(st.integers(1, 2), st.tuples(st.integers(1, 2), st.integers(1, 2))))
    padding = draw(
        st.one_of(
            st.integers(0, 2),
            st.tuples(st.integers(0, 2), st.integers(0, 2)),
            st.sampled_from(["valid", "same"]),
        )
    )
    if padding == "same":
        stride = 1
    else:
        stride = draw(st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    top, bottom, left, right = _pads(padding, kh, kw, dh, dw)
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    H = max(1, span_h - top - bottom) + draw(st.integers(0, max_extra))
    W = max(1, span_w - left - right) + draw(st.integers(0, max_extra))
    return dict(
        x_shape=(N, C, H, W),
        w_shape=(F, C, kh, kw),
        stride=stride,
        padding=padding,
        dilation=dilation,
    )


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _out_size(geom):
    _, _, H, W = geom["x_shape"]
    _, _, kh, kw = geom["w_shape"]
    sh, sw = _pair(geom["stride"])
    dh, dw = _pair(geom["dilation"])
    top, bottom, left, right = _pads(geom["padding"], kh, kw, dh, dw)
    Ho = (H + top + bottom - dh * (kh - 1) - 1) // sh + 1
    Wo = (W + left + right - dw * (kw - 1) - 1) // sw + 1
    return Ho, Wo


def _operands(geom, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(geom["x_shape"]).astype(dtype)
    w = rng.standard_normal(geom["w_shape"]).astype(dtype)
    b = rng.standard_normal(geom["w_shape"][0]).astype(dtype)
    return x, w, b


def _kwargs(geom):
    return dict(stride=geom["stride"], padding=geom["padding"], dilation=geom["dilation"])


def conv_windows_oracle(x, w, b, stride, padding, dilation):
    """Forward pass as an einsum over a strided view of all kernel windows."""
    _, _, kh, kw = w.shape
    sh, sw = _pair(stride)
    dh, dw = _pair(dilation)
    top, bottom, left, right = _pads(padding, kh, kw, dh, dw)
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    win = sliding_window_view(xp, span, axis=(2, 3))  # (N, C, Hp-.., Wp-.., span_h, span_w)
    win = win[:, :, ::sh, ::sw, ::dh, ::dw]  # (N, C, Ho, Wo, kh, kw)
    y = np.einsum("ncijpq,fcpq->nfij", win, w)
    return y + b[None, :, None, None]


def conv_autograd(x, w, b, geom):
    """A differentiable convolution from shifted slices: one einsum per kernel tap."""
    _, _, kh, kw = w.shape
    sh, sw = _pair(geom["stride"])
    dh, dw = _pair(geom["dilation"])
    top, bottom, left, right = _pads(geom["padding"], kh, kw, dh, dw)
    Ho, Wo = _out_size(geom)
    xp = anp.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), mode="constant")
    y = 0.0
    for p in range(kh):
        for q in range(kw):
            rows = slice(p * dh, p * dh + sh * (Ho - 1) + 1, sh)
            cols = slice(q * dw, q * dw + sw * (Wo - 1) + 1, sw)
            y = y + anp.einsum("ncij,fc->nfij", xp[:, :, rows, cols], w[:, :, p, q])
    return y + anp.reshape(b, (1, -1, 1, 1))


# ----------------------------------------------------------------------------
# forward


@pytest.mark.parametrize("reference", [True, False])
@given(geom=geometries(), seed=st.integers(0, 2**16))
def test_forward_matches_window_einsum_oracle(reference, geom, seed):
    x, w, b = _operands(geom, seed)
    y = conv2d(x, w, b, **_kwargs(geom), reference=reference)
    assert y.shape == (geom["x_shape"][0], geom["w_shape"][0], *_out_size(geom))
    np.testing.assert_allclose(
        y, conv_windows_oracle(x, w, b, **_kwargs(geom)), rtol=1e-12, atol=1e-12
    )


@given(geom=geometries(), seed=st.integers(0, 2**16))
def test_forward_without_bias_is_bias_zero(geom, seed):
    x, w, b = _operands(geom, seed)
    y = conv2d(x, w, **_kwargs(geom))
    np.testing.assert_allclose(
        y, conv_windows_oracle(x, w, np.zeros_like(b), **_kwargs(geom)), rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize("reference", [True, False])
def test_lecture_worked_example(reference):
    # the lecture's 6x6 image and 3x3 averaging kernel; its 4x4 table is printed to 2 decimals
    f = np.array(
        [
            [4, 1, 2, 9, 8, 6],
            [9, 5, 9, 5, 8, 5],
            [1, 5, 9, 7, 6, 4],
            [2, 9, 8, 3, 7, 1],
            [8, 1, 6, 4, 2, 2],
            [1, 0, 5, 7, 8, 2],
        ]
    )
    table = np.array(
        [
            [5, 5.78, 7, 6.44],
            [6.33, 6.67, 6.89, 5.11],
            [5.44, 5.78, 5.78, 4],
            [4.44, 4.78, 5.56, 4],
        ]
    )
    y = conv2d(f[None, None], np.ones((1, 1, 3, 3)) / 9, reference=reference)
    assert y.dtype == np.float64  # integer image -> float64
    np.testing.assert_allclose(y[0, 0], table, atol=0.005)


# ----------------------------------------------------------------------------
# backward


@pytest.mark.parametrize("reference", [True, False])
@given(geom=geometries(), seed=st.integers(0, 2**16))
def test_backward_matches_autograd(reference, geom, seed):
    x, w, b = _operands(geom, seed)
    Ho, Wo = _out_size(geom)
    G = np.random.default_rng(seed + 1).standard_normal((x.shape[0], w.shape[0], Ho, Wo))

    def loss(x, w, b):
        return anp.sum(conv_autograd(x, w, b, geom) * G)

    # the autograd model must itself be the convolution we think it is
    np.testing.assert_allclose(
        conv_autograd(x, w, b, geom), conv_windows_oracle(x, w, b, **_kwargs(geom)), atol=1e-12
    )
    gx_ref, gw_ref, gb_ref = autograd.grad(loss, argnum=(0, 1, 2))(x, w, b)
    gx, gw, gb = conv2d_backward(G, x, w, **_kwargs(geom), reference=reference)
    np.testing.assert_allclose(gx, gx_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gw, gw_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gb, gb_ref, rtol=1e-10, atol=1e-12)


@given(geom=geometries(max_batch=2, max_chan=2, max_k=3, max_extra=2), seed=st.integers(0, 2**16))
def test_backward_matches_finite_differences(geom, seed):
    x, w, b = _operands(geom, seed)
    Ho, Wo = _out_size(geom)
    G = np.random.default_rng(seed + 1).standard_normal((x.shape[0], w.shape[0], Ho, Wo))
    kw = _kwargs(geom)

    def loss():
        return float(np.sum(conv2d(x, w, b, **kw) * G))

    h = 1e-4
    gx, gw, gb = conv2d_backward(G, x, w, **kw)
    for analytic, arr in ((gx, x), (gw, w), (gb, b)):
        numeric = central_difference(loss, arr, eps=h)
        scale = max(1.0, np.abs(numeric).max())
        # the loss is linear in each argument, so central differences are exact
        # up to rounding: error ~ eps * |loss| / h
        np.testing.assert_allclose(analytic, numeric, rtol=0, atol=1e-8 * scale)


@pytest.mark.parametrize("reference", [True, False])
def test_backward_by_hand(reference):
    # L = sum(y): each input pixel's gradient counts the windows covering it
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    w = np.ones((1, 1, 3, 3))
    gx, gw, gb = conv2d_backward(np.ones((1, 1, 2, 2)), x, w, reference=reference)
    cover = np.array([1.0, 2, 2, 1])
    np.testing.assert_array_equal(gx[0, 0], np.outer(cover, cover))
    np.testing.assert_array_equal(gw[0, 0], sliding_window_view(x[0, 0], (2, 2)).sum(axis=(2, 3)))
    np.testing.assert_array_equal(gb, [4.0])


# ----------------------------------------------------------------------------
# dtypes, views, no writes into inputs


@pytest.mark.parametrize(
    "dx, dw, expected",
    [
        (np.float32, np.float32, np.float32),
        (np.float64, np.float64, np.float64),
        (np.float32, np.float64, np.float64),
        (np.float64, np.float32, np.float64),
        (np.int64, np.int64, np.float64),
        (np.int32, np.float32, np.float64),
    ],
)
def test_dtypes(dx, dw, expected):
    geom = dict(x_shape=(2, 3, 7, 6), w_shape=(4, 3, 3, 2), stride=1, padding=1, dilation=1)
    rng = np.random.default_rng(0)
    x64 = rng.integers(-3, 4, geom["x_shape"]).astype(np.float64)
    w64 = rng.integers(-3, 4, geom["w_shape"]).astype(np.float64)
    x, w = x64.astype(dx), w64.astype(dw)
    y = conv2d(x, w, padding=1)
    assert y.dtype == expected
    # small integers: exact in float32 as well
    np.testing.assert_array_equal(y, conv_windows_oracle(x64, w64, np.zeros(4), 1, 1, 1))
    g = np.ones(y.shape, dtype=dx)
    grads = conv2d_backward(g, x, w, padding=1)
    assert all(gr.dtype == expected for gr in grads)
    ref = conv2d_backward(np.ones(y.shape), x64, w64, padding=1)
    for gr, gr_ref in zip(grads, ref, strict=True):
        np.testing.assert_array_equal(gr, gr_ref)


def test_bias_dtype_promotes():
    x = np.ones((1, 1, 3, 3), np.float32)
    w = np.ones((1, 1, 2, 2), np.float32)
    assert conv2d(x, w, np.zeros(1, np.float32)).dtype == np.float32
    assert conv2d(x, w, np.zeros(1, np.float64)).dtype == np.float64


@given(geom=geometries(), seed=st.integers(0, 2**16))
def test_float32_close_to_float64(geom, seed):
    x, w, b = _operands(geom, seed)
    kw = _kwargs(geom)
    y32 = conv2d(x.astype(np.float32), w.astype(np.float32), b.astype(np.float32), **kw)
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, conv2d(x, w, b, **kw), rtol=1e-4, atol=1e-4)
    G = np.random.default_rng(seed).standard_normal(y32.shape)
    g32 = conv2d_backward(G.astype(np.float32), x.astype(np.float32), w.astype(np.float32), **kw)
    g64 = conv2d_backward(G, x, w, **kw)
    for a, r in zip(g32, g64, strict=True):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, r, rtol=1e-4, atol=1e-3)


def test_non_contiguous_inputs_and_no_writes():
    rng = np.random.default_rng(3)
    big_x = rng.standard_normal((3, 8, 11, 9))
    big_w = rng.standard_normal((4, 6, 3, 5)).transpose(1, 0, 2, 3)  # (6, 4, 3, 5) view
    x = big_x[::2, 1::2, ::-1, 1:8]  # (2, 4, 11, 7), negative and non-unit strides
    w = big_w[::2, :, :, ::2]  # (3, 4, 3, 3)
    b = rng.standard_normal(6)[::2]
    assert not x.flags.c_contiguous and not w.flags.c_contiguous and not b.flags.c_contiguous
    copies = [a.copy() for a in (big_x, big_w, b)]
    kw = dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2))
    y = conv2d(x, w, b, **kw)
    np.testing.assert_allclose(y, conv_windows_oracle(np.array(x), np.array(w), np.array(b), **kw))
    G = rng.standard_normal((4, y.shape[1], y.shape[2], y.shape[3]))[::2]
    G_copy = G.copy()
    grads = conv2d_backward(G, x, w, **kw)
    grads_c = conv2d_backward(G.copy(), x.copy(), w.copy(), **kw)
    for a, r in zip(grads, grads_c, strict=True):
        np.testing.assert_array_equal(a, r)
    for a, c in zip((big_x, big_w, b), copies, strict=True):
        np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(G, G_copy)


@given(geom=geometries(), seed=st.integers(0, 2**16))
def test_inputs_not_modified(geom, seed):
    x, w, b = _operands(geom, seed)
    copies = (x.copy(), w.copy(), b.copy())
    y = conv2d(x, w, b, **_kwargs(geom))
    G = np.ones_like(y)
    conv2d_backward(G, x, w, **_kwargs(geom))
    for a, c in zip((x, w, b), copies, strict=True):
        np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(G, np.ones_like(y))


def test_returns_fresh_arrays():
    x = np.ones((1, 1, 3, 3))
    w = np.ones((1, 1, 1, 1))
    y = conv2d(x, w)
    assert not np.shares_memory(y, x)
    gx, gw, gb = conv2d_backward(y, x, w)
    assert not any(np.shares_memory(g, a) for g in (gx, gw, gb) for a in (x, w, y))


# ----------------------------------------------------------------------------
# fast kernels == reference kernels
#
# The fast kernels add the same products in a different order (BLAS products
# of patch matrices, chunk by chunk), so they agree with the reference loops to
# rounding: a few ulps of the largest partial sum.  Tiny ``budget`` values force
# many work items (one image each), so their boundaries are exercised.


@given(
    geom=geometries(max_batch=4, max_chan=9, max_k=3, max_extra=3),
    seed=st.integers(0, 2**16),
    dtype=st.sampled_from([np.float32, np.float64]),
    budget=st.sampled_from([1, 300, GEMM_BUDGET]),
)
def test_fast_kernels_equal_reference(geom, seed, dtype, budget):
    x, w, b = _operands(geom, seed, dtype)
    _, _, kh, kw = w.shape
    sh, sw = _pair(geom["stride"])
    dh, dw = _pair(geom["dilation"])
    pads = _pads(geom["padding"], kh, kw, dh, dw)
    top, bottom, left, right = pads
    Ho, Wo = _out_size(geom)
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-11)

    y_ref = np.empty((x.shape[0], w.shape[0], Ho, Wo), dtype)
    kconv.conv2d_forward_reference(xp, w, b, sh, sw, dh, dw, y_ref)
    # the geometry as the oracle computes it, independently of functional._geometry
    g = ConvGeometry(x.shape[2:], (kh, kw), (sh, sw), (dh, dw), pads, (Ho, Wo))
    y = _conv2d_forward(x, w, b, g, budget=budget)
    assert y.dtype == dtype
    np.testing.assert_allclose(y, y_ref, **tol)

    G = np.random.default_rng(seed + 7).standard_normal(y.shape).astype(dtype)
    gxp_ref, gw_ref, gb_ref = np.empty_like(xp), np.empty_like(w), np.empty_like(b)
    kconv.conv2d_backward_reference(G, xp, w, sh, sw, dh, dw, gxp_ref, gw_ref, gb_ref)
    gx_ref = gxp_ref[:, :, top : top + x.shape[2], left : left + x.shape[3]]
    gx, gw, gb = _conv2d_backward(G, x, w, g, budget=budget)
    for got, ref in ((gx, gx_ref), (gw, gw_ref), (gb, gb_ref)):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, ref, **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_kernels_large_image_and_many_filters(dtype):
    # two images' patch matrices exceed the scratch budget: one work item per image
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 2, 70, 70))
    w = rng.standard_normal((9, 2, 3, 3))
    b = rng.standard_normal(9)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    got = conv2d(x.astype(dtype), w.astype(dtype), b.astype(dtype), padding=1)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, conv_windows_oracle(x, w, b, 1, 1, 1), rtol=tol, atol=tol)


# ----------------------------------------------------------------------------
# validation

_X = np.zeros((2, 3, 5, 5))
_W = np.zeros((4, 3, 3, 3))


@pytest.mark.parametrize(
    "args, kwargs, exc, match",
    [
        ((np.zeros((3, 5, 5)), _W), {}, ValueError, r"x must be 4-D.*\(3, 5, 5\)"),
        ((_X, np.zeros((4, 3, 3))), {}, ValueError, r"weight must be 4-D.*\(4, 3, 3\)"),
        ((_X, np.zeros((4, 2, 3, 3))), {}, ValueError, r"weight has 2 input channels.*x has 3"),
        ((np.zeros((0, 3, 5, 5)), _W), {}, ValueError, r"x must not be empty.*\(0, 3, 5, 5\)"),
        ((_X, np.zeros((0, 3, 3, 3))), {}, ValueError, r"weight must not be empty"),
        ((_X, _W, np.zeros(3)), {}, ValueError, r"bias must have shape \(F,\) = \(4,\).*\(3,\)"),
        ((_X, _W), {"stride": 0}, ValueError, r"stride must be >= 1"),
        ((_X, _W), {"stride": (1, 0)}, ValueError, r"stride must be >= 1"),
        ((_X, _W), {"stride": 1.5}, TypeError, r"stride must be an int"),
        ((_X, _W), {"dilation": 0}, ValueError, r"dilation must be >= 1"),
        ((_X, _W), {"dilation": (1, 2, 3)}, TypeError, r"dilation must be an int or a pair"),
        ((_X, _W), {"padding": -1}, ValueError, r"padding must be >= 0"),
        ((_X, _W), {"padding": "full"}, ValueError, r"padding must be one of 'valid', 'same'"),
        ((_X, _W), {"padding": "same", "stride": 2}, ValueError, r"padding='same'.*stride"),
        (
            (_X, np.zeros((4, 3, 6, 3))),
            {},
            ValueError,
            r"weight kernel.*\(6, 3\).*padded input.*\(5, 5\)",
        ),
        ((_X, _W), {"dilation": 3}, ValueError, r"weight kernel.*spans \(7, 7\).*\(5, 5\)"),
        ((_X.astype(complex), _W), {}, TypeError, r"x must be a real numeric array"),
    ],
)
def test_conv2d_validation(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        conv2d(*args, **kwargs)


def test_padding_rescues_large_kernel():
    # a kernel larger than x is fine once padding makes room, as in torch
    y = conv2d(np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3)), padding=1)
    np.testing.assert_array_equal(y[0, 0], [[4.0, 4.0], [4.0, 4.0]])


@pytest.mark.parametrize(
    "g_shape, kwargs, exc, match",
    [
        ((2, 4, 3, 3), {}, None, None),
        ((2, 4, 3, 4), {}, ValueError, r"grad_out must have .*\(2, 4, 3, 3\).*\(2, 4, 3, 4\)"),
        ((2, 5, 3, 3), {}, ValueError, r"grad_out must have"),
        ((4, 3, 3), {}, ValueError, r"grad_out must be 4-D"),
        ((2, 4, 5, 5), {"padding": "same"}, None, None),
        ((2, 4, 5, 5), {"padding": "same", "stride": 2}, ValueError, r"padding='same'"),
        ((2, 4, 3, 3), {"stride": -1}, ValueError, r"stride must be >= 1"),
        ((2, 4, 3, 3), {"dilation": (0, 1)}, ValueError, r"dilation must be >= 1"),
        ((2, 4, 3, 3), {"padding": (0, -2)}, ValueError, r"padding must be >= 0"),
    ],
)
def test_conv2d_backward_validation(g_shape, kwargs, exc, match):
    g = np.zeros(g_shape)
    if exc is None:
        gx, gw, gb = conv2d_backward(g, _X, _W, **kwargs)
        assert gx.shape == _X.shape and gw.shape == _W.shape and gb.shape == (4,)
    else:
        with pytest.raises(exc, match=match):
            conv2d_backward(g, _X, _W, **kwargs)


@pytest.mark.parametrize(
    "x, w, match",
    [
        (np.zeros((2, 3, 5)), _W, r"x must be 4-D"),
        (_X, np.zeros((4, 2, 3, 3)), r"weight has 2 input channels"),
        (_X, np.zeros((4, 3, 7, 1)), r"weight kernel"),
        (np.zeros((2, 3, 0, 5)), _W, r"x must not be empty"),
    ],
)
def test_conv2d_backward_operand_validation(x, w, match):
    with pytest.raises(ValueError, match=match):
        conv2d_backward(np.zeros((2, 4, 3, 3)), x, w)


@pytest.mark.parametrize("which", ["x", "weight", "bias"])
def test_a_ragged_operand_is_named(which):
    from numbacnn.functional import conv2d

    args = {"x": np.ones((1, 1, 3, 3)), "weight": np.ones((1, 1, 2, 2)), "bias": np.zeros(1)}
    args[which] = [1.0, [2.0, 3.0]]
    with pytest.raises(ValueError, match=f"{which} must be a rectangular array"):
        conv2d(args["x"], args["weight"], args["bias"])


def test_bias_gradient_of_float32_is_summed_in_double_precision():
    # 25,088 terms per filter: a float32 running sum drifts by about 1e-3 here;
    # the fast kernel sums in float64 and rounds once, so it equals the rounded
    # double-precision sum (numpy's pairwise float64 sum is the oracle)
    from numbacnn.functional import conv2d_backward

    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 1, 28, 28)).astype(np.float32)
    w = rng.standard_normal((10, 1, 3, 3)).astype(np.float32)
    g = rng.standard_normal((32, 10, 28, 28)).astype(np.float32)
    grad_b = conv2d_backward(g, x, w, padding="same")[2]
    assert grad_b.dtype == np.float32
    exact = g.astype(np.float64).sum(axis=(0, 2, 3))
    np.testing.assert_array_equal(grad_b, exact.astype(np.float32))
