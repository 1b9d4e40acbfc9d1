"""Max and average pooling: forward against a sliding-window NumPy oracle, backward against
autograd and finite differences, PyTorch's tie rule, overlapping windows, padding, errors."""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from numbacnn import gradcheck
from numbacnn.functional import avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_backward
from numbacnn.kernels import pool as kp

FORWARD = {"max": max_pool2d, "avg": avg_pool2d}
BACKWARD = {"max": max_pool2d_backward, "avg": avg_pool2d_backward}


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def oracle_forward(x, kind, kernel_size, stride, padding):
    """Pad, view every window with sliding_window_view, keep every stride-th, reduce."""
    kh, kw = _pair(kernel_size)
    sh, sw = (kh, kw) if stride is None else _pair(stride)
    ph, pw = _pair(padding)
    fill = -np.inf if kind == "max" else 0.0
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    windows = sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    return windows.max(axis=(4, 5)) if kind == "max" else windows.mean(axis=(4, 5))


def autograd_forward(x, kind, kh, kw, sh, sw, ph, pw):
    """The same pooling written with differentiable autograd primitives (slices + stack)."""
    fill = -np.inf if kind == "max" else 0.0
    xp = anp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), mode="constant", constant_values=fill)
    Ho = (xp.shape[2] - kh) // sh + 1
    Wo = (xp.shape[3] - kw) // sw + 1
    taps = anp.stack(
        [
            xp[:, :, a:a + (Ho - 1) * sh + 1:sh, b:b + (Wo - 1) * sw + 1:sw]
            for a in range(kh)
            for b in range(kw)
        ]
    )
    return anp.max(taps, axis=0) if kind == "max" else anp.sum(taps, axis=0) / (kh * kw)


@st.composite
def pooling_problems(draw, max_hw=7, max_nc=(2, 3)):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    padding = draw(st.sampled_from([(ph, pw), min(ph, pw)]))
    ph, pw = _pair(padding)
    H = draw(st.integers(max(1, kh - 2 * ph), max_hw))
    W = draw(st.integers(max(1, kw - 2 * pw), max_hw))
    N, C = draw(st.integers(1, max_nc[0])), draw(st.integers(1, max_nc[1]))
    kernel_size = draw(st.sampled_from([(kh, kw), kh])) if kh == kw else (kh, kw)
    stride = draw(st.one_of(st.none(), st.integers(1, 3),
                            st.tuples(st.integers(1, 3), st.integers(1, 3))))
    seed = draw(st.integers(0, 2**32 - 1))
    return (N, C, H, W), kernel_size, stride, padding, seed


def unique_values(shape, seed, dtype=np.float64):
    """Distinct values 0.1 apart, shuffled: no ties, and no finite-difference step crosses one."""
    rng = np.random.default_rng(seed)
    return (rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1 - 1.0).astype(dtype)


def _geometry(kernel_size, stride, padding):
    kh, kw = _pair(kernel_size)
    sh, sw = (kh, kw) if stride is None else _pair(stride)
    ph, pw = _pair(padding)
    return kh, kw, sh, sw, ph, pw


# ---------------------------------------------------------------- forward


@pytest.mark.parametrize("reference", [True, False])
@pytest.mark.parametrize("kind", ["max", "avg"])
@given(problem=pooling_problems(), dtype=st.sampled_from([np.float64, np.float32, np.int64]),
       ties=st.booleans())
def test_forward_matches_sliding_window_oracle(reference, kind, problem, dtype, ties):
    shape, kernel_size, stride, padding, seed = problem
    rng = np.random.default_rng(seed)
    x = (rng.integers(-2, 3, shape) if ties else rng.standard_normal(shape) * 10).astype(dtype)
    before = x.copy()
    out = FORWARD[kind](x, kernel_size, stride, padding, reference=reference)
    expected = oracle_forward(x, kind, kernel_size, stride, padding)
    assert out.dtype == (np.float32 if dtype == np.float32 else np.float64)
    assert out.shape == expected.shape
    rtol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(out, expected, rtol=rtol, atol=rtol)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("kind", ["max", "avg"])
@given(problem=pooling_problems(), dtype=st.sampled_from([np.float64, np.float32]))
def test_fast_kernels_equal_reference_kernels(kind, problem, dtype):
    shape, kernel_size, stride, padding, seed = problem
    kh, kw, sh, sw, ph, pw = _geometry(kernel_size, stride, padding)
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, shape).astype(dtype)  # many ties: the tie rule must agree too
    out = FORWARD[kind](x, kernel_size, stride, padding)
    g = rng.standard_normal(out.shape).astype(dtype)
    fwd_ref = getattr(kp, f"{kind}_pool2d_reference")
    fwd_fast = getattr(kp, f"{kind}_pool2d_fast")
    ref = np.empty_like(out)
    fast = np.full_like(out, np.nan)
    assert fwd_ref(x, kh, kw, sh, sw, ph, pw, ref) is None  # kernels write, return nothing
    # in two calls on disjoint ranges of planes, as two threads run them
    P = shape[0] * shape[1]
    for p0, p1 in [(0, P // 2), (P // 2, P)]:
        assert fwd_fast(x, kh, kw, sh, sw, ph, pw, p0, p1, fast) is None
    np.testing.assert_array_equal(fast, ref)
    dx_fast = np.full_like(x, np.nan)
    dx_ref = np.full_like(x, np.nan)
    if kind == "max":
        kp.max_pool2d_backward_reference(g, x, kh, kw, sh, sw, ph, pw, dx_ref)
        for p0, p1 in [(0, P // 2), (P // 2, P)]:
            kp.max_pool2d_backward_fast(g, x, kh, kw, sh, sw, ph, pw, p0, p1, dx_fast)
    else:
        kp.avg_pool2d_backward_reference(g, kh, kw, sh, sw, ph, pw, dx_ref)
        for p0, p1 in [(0, P // 2), (P // 2, P)]:
            kp.avg_pool2d_backward_fast(g, kh, kw, sh, sw, ph, pw, p0, p1, dx_fast)
    np.testing.assert_array_equal(dx_fast, dx_ref)


@given(seed=st.integers(0, 2**32 - 1), H=st.integers(2, 7), W=st.integers(2, 7),
       dtype=st.sampled_from([np.float64, np.float32]), nans=st.booleans())
def test_2x2_kernels_equal_reference_kernels(seed, H, W, dtype, nans):
    # the dedicated 2x2/stride-2 kernels (odd sizes leave a row/column out), with ties and NaN
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, (2, 3, H, W)).astype(dtype)
    if nans:
        x[rng.random(x.shape) < 0.2] = np.nan
    Ho, Wo = H // 2, W // 2
    g = rng.standard_normal((2, 3, Ho, Wo)).astype(dtype)
    ref = np.empty((2, 3, Ho, Wo), dtype)
    fast = np.full((2, 3, Ho, Wo), np.nan, dtype)
    kp.max_pool2d_reference(x, 2, 2, 2, 2, 0, 0, ref)
    for p0, p1 in [(0, 2), (2, 6)]:  # disjoint ranges of the 6 planes
        kp.max_pool2d_2x2_fast(x, p0, p1, fast)
    np.testing.assert_array_equal(fast, ref)
    np.testing.assert_array_equal(max_pool2d(x, 2), ref)
    dx_ref = np.empty_like(x)
    dx_fast = np.full_like(x, np.nan)
    kp.max_pool2d_backward_reference(g, x, 2, 2, 2, 2, 0, 0, dx_ref)
    for p0, p1 in [(0, 2), (2, 6)]:
        kp.max_pool2d_2x2_backward_fast(g, x, p0, p1, dx_fast)
    np.testing.assert_array_equal(dx_fast, dx_ref)
    np.testing.assert_array_equal(max_pool2d_backward(g, x, (2, 2), 2, 0), dx_ref)


# ---------------------------------------------------------------- backward


@pytest.mark.parametrize("reference", [True, False])
@pytest.mark.parametrize("kind", ["max", "avg"])
@given(problem=pooling_problems())
def test_backward_matches_autograd(reference, kind, problem):
    shape, kernel_size, stride, padding, seed = problem
    kh, kw, sh, sw, ph, pw = _geometry(kernel_size, stride, padding)
    x = unique_values(shape, seed)
    out = FORWARD[kind](x, kernel_size, stride, padding)
    g = np.random.default_rng(seed + 1).standard_normal(out.shape)
    before = (x.copy(), g.copy())
    vjp = autograd.grad(lambda x: anp.sum(autograd_forward(x, kind, kh, kw, sh, sw, ph, pw) * g))
    expected = vjp(x)
    got = BACKWARD[kind](g, x, kernel_size, stride, padding, reference=reference)
    assert got.shape == x.shape and got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(x, before[0])
    np.testing.assert_array_equal(g, before[1])


@pytest.mark.parametrize("kind", ["max", "avg"])
@given(problem=pooling_problems(max_hw=5, max_nc=(1, 2)))
def test_backward_matches_finite_differences(kind, problem):
    shape, kernel_size, stride, padding, seed = problem
    x = unique_values(shape, seed)
    errors = gradcheck(
        lambda x: FORWARD[kind](x, kernel_size, stride, padding),
        lambda g: BACKWARD[kind](g, x, kernel_size, stride, padding),
        [x],
        seed=seed,
        rtol=1e-7,
    )
    assert errors[0] <= 1e-7


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_backward_float32_stays_float32(kind):
    x = unique_values((2, 3, 6, 6), 0, np.float32)
    g = np.ones((2, 3, 3, 3), np.float32)
    dx = BACKWARD[kind](g, x, 2)
    assert dx.dtype == np.float32
    np.testing.assert_allclose(dx, BACKWARD[kind](g.astype(np.float64), x.astype(np.float64), 2),
                               rtol=1e-6)
    assert BACKWARD[kind](g, x.astype(np.float64), 2).dtype == np.float64


def test_max_ties_go_to_first_maximum_in_row_major_order():
    # every value equal: each window's gradient lands on its top-left in-bounds pixel
    x = np.zeros((1, 1, 4, 6))
    g = np.arange(1.0, 7.0).reshape(1, 1, 2, 3)
    dx = max_pool2d_backward(g, x, 2)
    expected = np.zeros_like(x)
    expected[:, :, ::2, ::2] = g
    np.testing.assert_array_equal(dx, expected)
    # a tie inside one window between (0, 1) and (1, 0): row-major order picks (0, 1)
    x = np.array([[[[0.0, 7.0], [7.0, 7.0]]]])
    np.testing.assert_array_equal(max_pool2d_backward(np.ones((1, 1, 1, 1)), x, 2),
                                  [[[[0.0, 1.0], [0.0, 0.0]]]])
    # with padding the first *in-bounds* pixel comes first (padding is -inf, never a max)
    x = np.zeros((1, 1, 3, 3))
    dx = max_pool2d_backward(np.ones((1, 1, 2, 2)), x, 3, stride=2, padding=1)
    expected = np.zeros_like(x)
    expected[0, 0, 0, 0] = 1.0  # window (0, 0) covers rows/cols -1..1: first real pixel (0, 0)
    expected[0, 0, 0, 1] = 1.0  # window (0, 1) covers cols 1..3
    expected[0, 0, 1, 0] = 1.0  # window (1, 0) covers rows 1..3
    expected[0, 0, 1, 1] = 1.0
    np.testing.assert_array_equal(dx, expected)


def test_max_all_negative_infinity_and_nan():
    x = np.full((1, 1, 2, 2), -np.inf)
    assert max_pool2d(x, 2)[0, 0, 0, 0] == -np.inf
    np.testing.assert_array_equal(max_pool2d_backward(np.ones((1, 1, 1, 1)), x, 2),
                                  [[[[1.0, 0.0], [0.0, 0.0]]]])
    x = np.array([[[[1.0, np.nan], [5.0, np.nan]]]])
    assert np.isnan(max_pool2d(x, 2)[0, 0, 0, 0])
    # like PyTorch, the last NaN of the window takes the gradient
    np.testing.assert_array_equal(max_pool2d_backward(np.ones((1, 1, 1, 1)), x, 2),
                                  [[[[0.0, 0.0], [0.0, 1.0]]]])


@pytest.mark.parametrize("reference", [True, False])
def test_overlapping_windows_accumulate(reference):
    # the global maximum in the centre is the max of all four 2x2 windows of stride 1
    x = np.array([[[[1.0, 2.0, 3.0], [4.0, 9.0, 5.0], [6.0, 7.0, 8.0]]]])
    g = np.array([[[[1.0, 10.0], [100.0, 1000.0]]]])
    dx = max_pool2d_backward(g, x, 2, stride=1, reference=reference)
    expected = np.zeros_like(x)
    expected[0, 0, 1, 1] = 1111.0
    np.testing.assert_array_equal(dx, expected)
    # average: the centre pixel is in four windows, a corner in one
    dx = avg_pool2d_backward(g, x, 2, stride=1, reference=reference)
    assert dx[0, 0, 1, 1] == pytest.approx(1111.0 / 4)
    assert dx[0, 0, 0, 0] == pytest.approx(1.0 / 4)
    assert dx[0, 0, 2, 2] == pytest.approx(1000.0 / 4)


@pytest.mark.parametrize("reference", [True, False])
def test_lecture_backward_bug_is_not_reproduced(reference):
    # The lecture's backward loops over the *output* grid in steps of the stride and
    # reads windows at output coordinates.  For 2x2 windows with stride 2 on a 4x4
    # input, window (0, 1) starts at column 2; ours routes its gradient there.
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 1, 3] = 1.0  # the maximum of window (0, 1) only
    g = np.array([[[[0.0, 5.0], [0.0, 0.0]]]])
    dx = max_pool2d_backward(g, x, 2, reference=reference)
    assert dx[0, 0, 1, 3] == 5.0
    assert dx.sum() == 5.0


def test_average_counts_padding():
    x = np.ones((1, 1, 2, 2))
    out = avg_pool2d(x, 3, stride=1, padding=1)
    np.testing.assert_allclose(out, np.full((1, 1, 2, 2), 4.0 / 9.0))
    dx = avg_pool2d_backward(np.ones_like(out), x, 3, stride=1, padding=1)
    np.testing.assert_allclose(dx, np.full_like(x, 4.0 / 9.0))


def test_non_contiguous_input():
    base = unique_values((2, 6, 8, 10), 5)
    x = base[:, ::2, 1:, ::-2]  # channels skipped, reversed columns
    np.testing.assert_allclose(max_pool2d(x, 2), oracle_forward(x, "max", 2, None, 0))
    np.testing.assert_allclose(avg_pool2d(x, (3, 2), 1, (1, 0)),
                               oracle_forward(x, "avg", (3, 2), 1, (1, 0)))
    g = np.ones((2, 3, 3, 2))[:, :, :, ::-1]
    np.testing.assert_allclose(max_pool2d_backward(g, x, 2),
                               max_pool2d_backward(np.ascontiguousarray(g),
                                                   np.ascontiguousarray(x), 2))


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_errors_name_the_argument(kind):
    fwd, bwd = FORWARD[kind], BACKWARD[kind]
    x = np.ones((2, 3, 6, 6))
    with pytest.raises(ValueError, match=r"x must be 4-D \(N, C, H, W\).*\(6, 6\)"):
        fwd(np.ones((6, 6)), 2)
    with pytest.raises(ValueError, match="x must not be empty"):
        fwd(np.ones((0, 3, 6, 6)), 2)
    with pytest.raises(TypeError, match="x"):
        fwd(x + 0j, 2)
    with pytest.raises(ValueError, match="kernel_size must be >= 1"):
        fwd(x, 0)
    with pytest.raises(TypeError, match="kernel_size"):
        fwd(x, 2.0)
    with pytest.raises(ValueError, match="stride must be >= 1"):
        fwd(x, 2, stride=(1, 0))
    with pytest.raises(ValueError, match="padding must be >= 0"):
        fwd(x, 2, padding=-1)
    with pytest.raises(ValueError, match=r"padding must be at most half.*\(2, 2\)"):
        fwd(x, (4, 2), padding=(2, 2))
    with pytest.raises(ValueError, match=r"kernel_size \(7, 2\) is larger than the padded input"):
        fwd(x, (7, 2))
    fwd(x, (7, 2), padding=(1, 0))  # 6 + 2 >= 7 is fine
    with pytest.raises(ValueError, match=r"grad_out must have.*\(2, 3, 3, 3\).*\(2, 3, 3, 2\)"):
        bwd(np.ones((2, 3, 3, 2)), x, 2)
    with pytest.raises(ValueError, match="x must be 4-D"):
        bwd(np.ones((2, 3, 3, 3)), x[0], 2)
    with pytest.raises(TypeError, match="grad_out"):
        bwd(np.ones((2, 3, 3, 3)) * 1j, x, 2)
