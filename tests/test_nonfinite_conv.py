"""NaN and inf in convolution and pooling propagate term by term, as in torch.

The oracles below sum, with explicit loops, exactly the terms of each equation:

* forward ``y = b + sum w * x_pad`` and weight gradient ``sum g * x_pad``: the
  padding's zeros are factors (``nan * 0`` is NaN), as in torch's im2col;
* input gradient: only the products ``g * w`` of outputs that read the pixel,
  so a NaN weight reaches exactly the pixels its tap reads (torch's col2im);
* max pooling: a window holding NaN gives NaN and its gradient goes to the
  last NaN in row-major order (torch's ``val > max || isnan(val)`` rule);
* average pooling: the mean of the window, padding counted as zeros.

Which entries are NaN, +inf or -inf must match exactly; the finite ones to
a tolerance that reflects the dtype.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from numbacnn.functional import (
    avg_pool2d,
    avg_pool2d_backward,
    conv2d,
    conv2d_backward,
    max_pool2d,
    max_pool2d_backward,
)

SPECIALS = (np.nan, np.inf, -np.inf)


def assert_same_nonfinite(actual, expected, rtol):
    """Equal NaN, +inf and -inf patterns; finite entries equal to ``rtol``."""
    assert actual.shape == expected.shape
    for test in (np.isnan, np.isposinf, np.isneginf):
        np.testing.assert_array_equal(test(actual), test(expected), err_msg=test.__name__)
    fin = np.isfinite(expected)
    scale = max(1.0, float(np.abs(expected[fin]).max(initial=0.0)))
    np.testing.assert_allclose(actual[fin], expected[fin], rtol=rtol, atol=rtol * scale)


def _padded(x, top, left, Hp, Wp):
    xp = np.zeros(x.shape[:2] + (Hp, Wp), dtype=np.float64)
    xp[:, :, top : top + x.shape[2], left : left + x.shape[3]] = x
    return xp


def conv_oracle(x, w, b, g, stride, pad, dilation):
    """Forward output and the three gradients, each a loop over its terms, in float64."""
    (sh, sw), (ph, pw), (dh, dw) = stride, pad, dilation
    x, w, g = (np.asarray(a, np.float64) for a in (x, w, g))
    N, C, H, W = x.shape
    F, _, kh, kw = w.shape
    Hp, Wp = H + 2 * ph, W + 2 * pw
    Ho, Wo = (Hp - dh * (kh - 1) - 1) // sh + 1, (Wp - dw * (kw - 1) - 1) // sw + 1
    xp = _padded(x, ph, pw, Hp, Wp)
    y = np.broadcast_to(np.asarray(b, np.float64)[None, :, None, None], (N, F, Ho, Wo)).copy()
    gw = np.zeros(w.shape)
    gxp = np.zeros((N, C, Hp, Wp))
    real = np.zeros((Hp, Wp), bool)
    real[ph : ph + H, pw : pw + W] = True
    with np.errstate(invalid="ignore", over="ignore"):
        for i in range(Ho):
            for j in range(Wo):
                for p in range(kh):
                    for q in range(kw):
                        u, v = i * sh + p * dh, j * sw + q * dw
                        # forward and weight gradient: x_pad is a factor, zeros included
                        y[:, :, i, j] += xp[:, :, u, v] @ w[:, :, p, q].T
                        gw[:, :, p, q] += g[:, :, i, j].T @ xp[:, :, u, v]
                        # input gradient: only pixels of the image receive terms
                        if real[u, v]:
                            gxp[:, :, u, v] += g[:, :, i, j] @ w[:, :, p, q]
    gx = gxp[:, :, ph : ph + H, pw : pw + W]
    return y, gx, gw, g.sum(axis=(0, 2, 3))


def _with_specials(rng, a, count):
    a = a.copy()
    flat = a.reshape(-1)
    for _ in range(count):
        flat[rng.integers(flat.size)] = SPECIALS[rng.integers(3)]
    return a


def _check_conv(dtype, x, w, b, g, stride, pad, dilation):
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    # with NUMBA_DISABLE_JIT=1 the kernels run on NumPy scalars, which warn on inf - inf
    with np.errstate(invalid="ignore", over="ignore"):
        y = conv2d(x, w, b, stride=stride, padding=pad, dilation=dilation)
        gx, gw, gb = conv2d_backward(g, x, w, stride=stride, padding=pad, dilation=dilation)
    ey, egx, egw, egb = conv_oracle(x, w, b, g, stride, pad, dilation)
    for out in (y, gx, gw, gb):
        assert out.dtype == dtype
    assert_same_nonfinite(y, ey, rtol)
    assert_same_nonfinite(gx, egx, rtol)
    assert_same_nonfinite(gw, egw, rtol)
    assert_same_nonfinite(gb, egb, rtol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("stride", [(1, 1), (2, 2), (2, 3)])
def test_one_nan_weight_reaches_only_the_pixels_its_tap_reads(dtype, stride):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 9, 10)).astype(dtype)
    w = rng.standard_normal((4, 3, 3, 3)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    w[1, 2, 0, 2] = np.nan
    with np.errstate(invalid="ignore"):
        y = conv2d(x, w, b, stride=stride)
        g = rng.standard_normal(y.shape).astype(dtype)
        gx = conv2d_backward(g, x, w, stride=stride)[0]
    # channel 2 gets NaN only at pixels tap (0, 2) reads; the other channels stay finite
    assert np.isfinite(gx[:, :2]).all()
    assert np.isnan(gx[:, 2]).any() and np.isfinite(gx[:, 2]).any()
    _check_conv(dtype, x, w, b, g, stride, (0, 0), (1, 1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("value", SPECIALS)
@pytest.mark.parametrize("where", ["x", "w", "g"])
def test_single_special_value_with_padding(dtype, value, where):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 2, 7, 7)).astype(dtype)
    w = rng.standard_normal((3, 2, 3, 3)).astype(dtype)
    b = rng.standard_normal(3).astype(dtype)
    g = rng.standard_normal((2, 3, 4, 4)).astype(dtype)
    {"x": x, "w": w, "g": g}[where][0, 1, 2, 1] = value
    _check_conv(dtype, x, w, b, g, (2, 2), (1, 1), (1, 1))


@given(
    seed=st.integers(0, 2**32 - 1),
    dtype=st.sampled_from([np.float32, np.float64]),
    N=st.integers(1, 2),
    C=st.integers(1, 3),
    F=st.integers(1, 9),
    H=st.integers(1, 8),
    W=st.integers(1, 8),
    kh=st.integers(1, 3),
    kw=st.integers(1, 3),
    sh=st.integers(1, 3),
    sw=st.integers(1, 3),
    ph=st.integers(0, 2),
    pw=st.integers(0, 2),
    dh=st.integers(1, 2),
    dw=st.integers(1, 2),
    counts=st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(0, 2)),
)
def test_nonfinite_propagation_matches_the_term_oracle(
    seed, dtype, N, C, F, H, W, kh, kw, sh, sw, ph, pw, dh, dw, counts
):
    Hp, Wp = H + 2 * ph, W + 2 * pw
    if dh * (kh - 1) + 1 > Hp or dw * (kw - 1) + 1 > Wp:
        return
    rng = np.random.default_rng(seed)
    x = _with_specials(rng, rng.standard_normal((N, C, H, W)), counts[0]).astype(dtype)
    w = _with_specials(rng, rng.standard_normal((F, C, kh, kw)), counts[1]).astype(dtype)
    b = rng.standard_normal(F).astype(dtype)
    Ho, Wo = (Hp - dh * (kh - 1) - 1) // sh + 1, (Wp - dw * (kw - 1) - 1) // sw + 1
    g = _with_specials(rng, rng.standard_normal((N, F, Ho, Wo)), counts[2]).astype(dtype)
    _check_conv(dtype, x, w, b, g, (sh, sw), (ph, pw), (dh, dw))


# ------------------------------------------------------------------------- pooling


def pool_oracle(x, g, k, s, p):
    """Max and average pooling and their gradients, window by window, in float64."""
    (kh, kw), (sh, sw), (ph, pw) = k, s, p
    x, g = np.asarray(x, np.float64), np.asarray(g, np.float64)
    N, C, H, W = x.shape
    Ho, Wo = (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1
    mx, av = np.empty((N, C, Ho, Wo)), np.empty((N, C, Ho, Wo))
    gmx, gav = np.zeros_like(x), np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    cells = [(i * sh - ph + a, j * sw - pw + bb)
                             for a in range(kh) for bb in range(kw)]
                    cells = [(r, q) for r, q in cells if 0 <= r < H and 0 <= q < W]
                    arg = cells[0]
                    best = x[n, c][arg]
                    total = 0.0
                    for r, q in cells:
                        v = x[n, c, r, q]
                        if v > best or np.isnan(v):
                            best, arg = v, (r, q)
                        total += v
                    mx[n, c, i, j] = best
                    av[n, c, i, j] = total / (kh * kw)
                    gmx[n, c][arg] += g[n, c, i, j]
                    for r, q in cells:
                        gav[n, c, r, q] += g[n, c, i, j] / (kh * kw)
    return mx, av, gmx, gav


@given(
    seed=st.integers(0, 2**32 - 1),
    dtype=st.sampled_from([np.float32, np.float64]),
    H=st.integers(1, 7),
    W=st.integers(1, 7),
    kh=st.integers(1, 4),
    kw=st.integers(1, 4),
    sh=st.integers(1, 3),
    sw=st.integers(1, 3),
    pad=st.booleans(),
    counts=st.tuples(st.integers(0, 3), st.integers(0, 2)),
)
def test_pooling_nonfinite_propagation_matches_the_window_oracle(
    seed, dtype, H, W, kh, kw, sh, sw, pad, counts
):
    ph, pw = (kh // 2, kw // 2) if pad else (0, 0)
    if kh > H + 2 * ph or kw > W + 2 * pw:
        return
    rng = np.random.default_rng(seed)
    x = _with_specials(rng, rng.standard_normal((2, 2, H, W)), counts[0]).astype(dtype)
    k, s, p = (kh, kw), (sh, sw), (ph, pw)
    y = max_pool2d(x, k, s, p)
    g = _with_specials(rng, rng.standard_normal(y.shape), counts[1]).astype(dtype)
    with np.errstate(invalid="ignore"):
        emx, eav, egmx, egav = pool_oracle(x, g, k, s, p)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert_same_nonfinite(y, emx, rtol)
    with np.errstate(invalid="ignore"):
        assert_same_nonfinite(avg_pool2d(x, k, s, p), eav, rtol)
        assert_same_nonfinite(max_pool2d_backward(g, x, k, s, p), egmx, rtol)
        assert_same_nonfinite(avg_pool2d_backward(g, x, k, s, p), egav, rtol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool_window_with_nan_gives_nan(dtype):
    x = np.array([[[[1.0, np.nan, 5.0, 2.0], [3.0, 4.0, 0.0, 1.0]]]], dtype=dtype)
    y = max_pool2d(x, 2)
    assert np.isnan(y[0, 0, 0, 0]) and y[0, 0, 0, 1] == 5.0
    gx = max_pool2d_backward(np.ones_like(y), x, 2)
    np.testing.assert_array_equal(gx, [[[[0, 1, 1, 0], [0, 0, 0, 0]]]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bias_gradient_keeps_an_infinite_first_gradient_infinite(dtype):
    # the sum of g starts from 0, not from g[0, f, 0, 0] * 0 (which is NaN for inf)
    x = np.ones((1, 1, 1, 3), dtype)
    w = np.ones((1, 1, 1, 1), dtype)
    g = np.array([[[[-np.inf, 1.0, 2.0]]]], dtype)
    gb = conv2d_backward(g, x, w)[2]
    np.testing.assert_array_equal(gb, np.array([-np.inf], dtype))
