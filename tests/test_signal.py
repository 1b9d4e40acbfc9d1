"""numbacnn.signal against scipy.signal: every mode, boundary, stride, dtype and corner case."""

import numpy as np
import pytest
import scipy.signal
from hypothesis import given
from hypothesis import strategies as st

from numbacnn import signal
from numbacnn.kernels import correlate as kc

MODES = ("full", "same", "valid")
BOUNDARIES = ("fill", "wrap", "symm")
PAIRS = {
    "correlate2d": (signal.correlate2d, scipy.signal.correlate2d),
    "convolve2d": (signal.convolve2d, scipy.signal.convolve2d),
}


def _data(rng, shape, dtype):
    if np.dtype(dtype).kind == "i":
        return rng.integers(-5, 6, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _tolerance(img, ker, fill, dtype):
    """A bound on the rounding error of a sum of kh*kw products (both sides round)."""
    eps = np.finfo(dtype).eps if np.dtype(dtype).kind == "f" else np.finfo(np.float64).eps
    big = max(np.abs(img).max(), abs(fill))
    return 2 * (ker.size + 1) * eps * big * np.abs(ker).sum() + 1e-300


@st.composite
def problems(draw):
    H, W = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    # kernels from 1x1 to larger than the image: odd, even, rectangular
    kh, kw = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    dtype = draw(st.sampled_from([np.float64, np.float32, np.int64]))
    kdtype = draw(st.sampled_from([dtype, np.float64]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    img, ker = _data(rng, (H, W), dtype), _data(rng, (kh, kw), kdtype)
    mode = draw(st.sampled_from(MODES))
    boundary = draw(st.sampled_from(BOUNDARIES))
    if np.dtype(dtype).kind == "i" and np.dtype(kdtype).kind == "i":
        fill = draw(st.integers(-3, 3))  # scipy would truncate a float fill to the int type
    else:
        fill = draw(st.sampled_from([0.0, 1.5, -2.25]))
    stride = draw(st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    return img, ker, mode, boundary, fill, stride


def _strides(stride):
    return (stride, stride) if isinstance(stride, int) else stride


@pytest.mark.parametrize("name", sorted(PAIRS))
@given(problem=problems())
def test_matches_scipy(name, problem):
    ours, theirs = PAIRS[name]
    img, ker, mode, boundary, fill, stride = problem
    img_before, ker_before = img.copy(), ker.copy()
    sh, sw = _strides(stride)
    try:
        expected = theirs(img, ker, mode, boundary, fill)[::sh, ::sw]
    except ValueError:
        with pytest.raises(ValueError, match="in1"):
            ours(img, ker, mode, boundary, fill, stride)
        return
    got = ours(img, ker, mode=mode, boundary=boundary, fillvalue=fill, stride=stride)
    expected_dtype = np.float32 if img.dtype == ker.dtype == np.float32 else np.float64
    assert got.dtype == expected_dtype
    assert got.shape == expected.shape
    np.testing.assert_allclose(
        got, expected, rtol=0, atol=_tolerance(img, ker, fill, expected_dtype)
    )
    np.testing.assert_array_equal(img, img_before)
    np.testing.assert_array_equal(ker, ker_before)


@pytest.mark.parametrize("name", sorted(PAIRS))
@given(seed=st.integers(0, 2**32 - 1), mode=st.sampled_from(MODES),
       boundary=st.sampled_from(BOUNDARIES))
def test_non_contiguous_views(name, seed, mode, boundary):
    ours, theirs = PAIRS[name]
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((9, 12))
    img = base[1::2, ::-3]  # (4, 4), negative and non-unit strides
    ker = rng.standard_normal((3, 2)).T  # (2, 3) Fortran-ordered
    expected = theirs(img, ker, mode, boundary, 0.5)
    got = ours(img, ker, mode, boundary, 0.5)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_even_and_large_kernels_corner_cases(mode, boundary):
    # 'same' with even kernels is centred differently by the two operations, and
    # wrap/symm with a kernel much larger than the image wraps several times
    rng = np.random.default_rng(1)
    img = rng.standard_normal((3, 2))
    for kshape in [(2, 2), (4, 1), (8, 7), (3, 2)]:
        ker = rng.standard_normal(kshape)
        for name, (ours, theirs) in PAIRS.items():
            try:
                expected = theirs(img, ker, mode, boundary, -1.0)
            except ValueError:
                with pytest.raises(ValueError):
                    ours(img, ker, mode, boundary, -1.0)
                continue
            np.testing.assert_allclose(
                ours(img, ker, mode, boundary, -1.0), expected, rtol=1e-12, atol=1e-12,
                err_msg=f"{name} {kshape}",
            )


def test_valid_mode_swaps_like_scipy():
    rng = np.random.default_rng(2)
    small, large = rng.standard_normal((2, 3)), rng.standard_normal((4, 5))
    for name, (ours, theirs) in PAIRS.items():
        np.testing.assert_allclose(
            ours(small, large, "valid"), theirs(small, large, "valid"), rtol=1e-12,
            err_msg=name,
        )
        with pytest.raises(ValueError, match=r"in1 shape \(2, 5\) and in2 shape \(3, 4\)"):
            ours(np.ones((2, 5)), np.ones((3, 4)), "valid")
        with pytest.raises(ValueError):
            theirs(np.ones((2, 5)), np.ones((3, 4)), "valid")


# ---------------------------------------------------------------- the lecture's worked example

LECTURE_IMAGE = np.array(
    [
        [4, 1, 2, 9, 8, 6],
        [9, 5, 9, 5, 8, 5],
        [1, 5, 9, 7, 6, 4],
        [2, 9, 8, 3, 7, 1],
        [8, 1, 6, 4, 2, 2],
        [1, 0, 5, 7, 8, 2],
    ]
)
# the 4x4 table printed in the lecture (values rounded to two decimals there)
LECTURE_TABLE = np.array(
    [
        [5, 5.78, 7, 6.44],
        [6.33, 6.67, 6.89, 5.11],
        [5.44, 5.78, 5.78, 4],
        [4.44, 4.78, 5.56, 4],
    ]
)


@pytest.mark.parametrize("fn", [signal.convolve2d, signal.correlate2d])
def test_lecture_worked_example(fn):
    g = np.ones((3, 3)) / 9
    out = fn(LECTURE_IMAGE, g, mode="valid")
    np.testing.assert_array_equal(np.round(out, 2), LECTURE_TABLE)
    np.testing.assert_allclose(out, scipy.signal.convolve2d(LECTURE_IMAGE, g, "valid"))
    # the first entry is the hand computation in the lecture: 45 / 9
    assert out[0, 0] == pytest.approx(5.0, abs=1e-14)


# ---------------------------------------------------------------- kernels directly


@given(seed=st.integers(0, 2**32 - 1), M=st.integers(1, 6), N=st.integers(1, 6),
       kh=st.integers(1, 5), kw=st.integers(1, 5))
def test_reference_convolution_is_scipy_full(seed, M, N, kh, kw):
    rng = np.random.default_rng(seed)
    f, g = rng.standard_normal((M, N)), rng.standard_normal((kh, kw))
    out = np.empty((M + kh - 1, N + kw - 1))
    kc.convolve2d_full_reference(f, g, out)
    np.testing.assert_allclose(out, scipy.signal.convolve2d(f, g, "full"), rtol=1e-12, atol=1e-12)


@given(seed=st.integers(0, 2**32 - 1), H=st.integers(1, 9), W=st.integers(1, 9),
       kh=st.integers(1, 4), kw=st.integers(1, 4), sh=st.integers(1, 3), sw=st.integers(1, 3),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_fast_valid_kernel_equals_reference(seed, H, W, kh, kw, sh, sw, dtype):
    rng = np.random.default_rng(seed)
    kh, kw = min(kh, H), min(kw, W)
    img = rng.standard_normal((H, W)).astype(dtype)
    ker = rng.standard_normal((kh, kw)).astype(dtype)
    Ho, Wo = (H - kh) // sh + 1, (W - kw) // sw + 1
    ref = np.empty((Ho, Wo), dtype)
    fast = np.full((Ho, Wo), np.nan, dtype)
    assert kc.correlate2d_valid_reference(img, ker, sh, sw, ref) is None
    assert kc.correlate2d_valid_fast(img, ker, sh, sw, fast) is None
    np.testing.assert_allclose(fast, ref, rtol=0, atol=_tolerance(img, ker, 0, dtype))
    np.testing.assert_allclose(
        ref, scipy.signal.correlate2d(img, ker, "valid")[::sh, ::sw],
        rtol=0, atol=_tolerance(img, ker, 0, dtype),
    )


# ---------------------------------------------------------------- fft and separable


@given(seed=st.integers(0, 2**32 - 1), H=st.integers(1, 8), W=st.integers(1, 8),
       kh=st.integers(1, 9), kw=st.integers(1, 9), mode=st.sampled_from(MODES),
       dtype=st.sampled_from([np.float64, np.float32, np.int32]))
def test_fftconvolve2d_matches_scipy(seed, H, W, kh, kw, mode, dtype):
    rng = np.random.default_rng(seed)
    a, b = _data(rng, (H, W), dtype), _data(rng, (kh, kw), dtype)
    try:
        expected = scipy.signal.fftconvolve(a, b, mode)
    except ValueError:
        with pytest.raises(ValueError, match="mode='valid'"):
            signal.fftconvolve2d(a, b, mode)
        return
    got = signal.fftconvolve2d(a, b, mode)
    assert got.dtype == (np.float32 if a.dtype == np.float32 else np.float64)
    assert got.shape == expected.shape
    # FFT rounding is relative to the largest product, not to each entry
    eps = np.finfo(got.dtype).eps
    atol = 50 * eps * np.abs(a).max() * np.abs(b).sum() * np.log2(a.size + b.size + 2)
    np.testing.assert_allclose(got, expected, rtol=0, atol=atol)
    if mode != "valid" or (H >= kh and W >= kw) or (H <= kh and W <= kw):
        np.testing.assert_allclose(got, scipy.signal.convolve2d(a, b, mode), rtol=0, atol=atol)


def test_fftconvolve2d_length_one_axes_broadcast_like_scipy():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((5, 1)), rng.standard_normal((3, 3))
    for mode in MODES:
        np.testing.assert_allclose(
            signal.fftconvolve2d(a, b, mode), scipy.signal.fftconvolve(a, b, mode), atol=1e-12
        )


@given(seed=st.integers(0, 2**32 - 1), H=st.integers(1, 8), W=st.integers(1, 8),
       kh=st.integers(1, 9), kw=st.integers(1, 9), mode=st.sampled_from(MODES),
       dtype=st.sampled_from([np.float64, np.float32]))
def test_separable_equals_outer_product_kernel(seed, H, W, kh, kw, mode, dtype):
    rng = np.random.default_rng(seed)
    img = rng.standard_normal((H, W)).astype(dtype)
    col, row = rng.standard_normal(kh).astype(dtype), rng.standard_normal(kw).astype(dtype)
    try:
        expected = scipy.signal.convolve2d(img, np.outer(col, row), mode)
    except ValueError:
        with pytest.raises(ValueError, match="image"):
            signal.separable_convolve2d(img, col, row, mode)
        return
    got = signal.separable_convolve2d(img, col, row, mode)
    assert got.dtype == dtype and got.shape == expected.shape
    tol = _tolerance(img, np.outer(col, row), 0, dtype)
    np.testing.assert_allclose(got, expected, rtol=0, atol=tol)
    np.testing.assert_allclose(got, signal.convolve2d(img, np.outer(col, row), mode), atol=tol)


# ---------------------------------------------------------------- filters


@pytest.mark.parametrize("sigma", [0.3, 1.0, 1.7, 4.0])
def test_gaussian_kernel(sigma):
    g = signal.gaussian_kernel(sigma)
    size = 2 * int(np.ceil(3 * sigma)) + 1
    assert g.shape == (size, size) and g.dtype == np.float64
    assert g.sum() == pytest.approx(1.0, abs=1e-14)
    np.testing.assert_array_equal(g, g.T)
    np.testing.assert_array_equal(g, g[::-1, ::-1])
    np.testing.assert_array_equal(g, g[:, ::-1])
    # the peak is the centre, and it equals scipy's window up to normalisation
    assert np.unravel_index(g.argmax(), g.shape) == (size // 2, size // 2)
    w = scipy.signal.windows.gaussian(size, sigma)
    np.testing.assert_allclose(g, np.outer(w, w) / np.outer(w, w).sum(), rtol=1e-12)


def test_gaussian_kernel_explicit_size_and_separability():
    g = signal.gaussian_kernel(1.2, size=4)
    assert g.shape == (4, 4)
    np.testing.assert_array_equal(g, g[::-1, ::-1])
    g1 = g.sum(axis=1)
    np.testing.assert_allclose(np.outer(g1, g1), g, rtol=1e-14)
    # blur a constant image: the interior stays constant (the kernel sums to 1)
    img = np.full((10, 10), 3.0)
    out = signal.separable_convolve2d(img, g1, g1, "valid")
    np.testing.assert_allclose(out, 3.0, rtol=1e-14)


def test_sobel_kernels_orientation():
    gx, gy = signal.sobel_kernels()
    np.testing.assert_array_equal(gx, [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    np.testing.assert_array_equal(gy, gx.T)
    yy, xx = np.mgrid[0:6, 0:7].astype(float)
    image = 2.0 * xx - 3.0 * yy  # slope 2 to the right, -3 downwards
    np.testing.assert_allclose(signal.correlate2d(image, gx, "valid"), 8 * 2.0)
    np.testing.assert_allclose(signal.correlate2d(image, gy, "valid"), 8 * -3.0)
    np.testing.assert_allclose(signal.convolve2d(image, gx, "valid"), -8 * 2.0)
    np.testing.assert_allclose(
        signal.separable_convolve2d(image, [1, 2, 1], [1, 0, -1], "valid"),
        signal.correlate2d(image, gx, "valid"),
    )


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize("fn", [signal.correlate2d, signal.convolve2d])
def test_errors_name_the_argument(fn):
    img, ker = np.ones((4, 4)), np.ones((2, 2))
    with pytest.raises(ValueError, match=r"in1 must be 2-D.*\(4,\)"):
        fn(np.ones(4), ker)
    with pytest.raises(ValueError, match=r"in2 must be 2-D.*\(1, 2, 2\)"):
        fn(img, np.ones((1, 2, 2)))
    with pytest.raises(ValueError, match=r"in1 must not be empty.*\(0, 3\)"):
        fn(np.ones((0, 3)), ker)
    with pytest.raises(ValueError, match="in2 must not be empty"):
        fn(img, np.ones((2, 0)))
    with pytest.raises(TypeError, match="in1"):
        fn(img + 1j, ker)
    with pytest.raises(TypeError, match="in2"):
        fn(img, ker.astype(complex))
    with pytest.raises(ValueError, match="mode.*'full'.*'sideways'"):
        fn(img, ker, mode="sideways")
    with pytest.raises(ValueError, match="boundary.*'reflect'"):
        fn(img, ker, boundary="reflect")
    with pytest.raises(ValueError, match="stride must be >= 1"):
        fn(img, ker, stride=0)
    with pytest.raises(ValueError, match="stride must be >= 1"):
        fn(img, ker, stride=(1, -1))
    with pytest.raises(TypeError, match="stride"):
        fn(img, ker, stride=1.5)
    # scipy's exception type for a bad fillvalue; a one-element array is accepted as there
    for bad in (1 + 2j, [1.0, 2.0], [], "a", True, np.array([1j])):
        with pytest.raises(ValueError, match="fillvalue"):
            fn(img, ker, fillvalue=bad)
    np.testing.assert_array_equal(fn(img, ker, fillvalue=[2.0]), fn(img, ker, fillvalue=2.0))
    np.testing.assert_array_equal(fn(img, ker, fillvalue=np.array([[3]])),
                                  fn(img, ker, fillvalue=3))


def test_fft_and_separable_errors():
    img = np.ones((4, 4))
    with pytest.raises(ValueError, match="mode"):
        signal.fftconvolve2d(img, img, mode="circular")
    with pytest.raises(TypeError, match="in2"):
        signal.fftconvolve2d(img, img * 1j)
    with pytest.raises(ValueError, match="in1 must be 2-D"):
        signal.fftconvolve2d(np.ones((2, 2, 2)), img)
    with pytest.raises(ValueError, match=r"in1 shape \(2, 5\)"):
        signal.fftconvolve2d(np.ones((2, 5)), np.ones((3, 4)), "valid")
    with pytest.raises(ValueError, match="column must be 1-D"):
        signal.separable_convolve2d(img, np.ones((2, 2)), np.ones(3))
    with pytest.raises(ValueError, match="row must not be empty"):
        signal.separable_convolve2d(img, np.ones(2), np.ones(0))
    with pytest.raises(ValueError, match="image must be 2-D"):
        signal.separable_convolve2d(np.ones(3), np.ones(2), np.ones(2))
    with pytest.raises(TypeError, match="row"):
        signal.separable_convolve2d(img, np.ones(2), np.ones(2) * 1j)
    with pytest.raises(ValueError, match="mode"):
        signal.separable_convolve2d(img, np.ones(2), np.ones(2), mode="nope")
    with pytest.raises(ValueError, match="image shape"):
        signal.separable_convolve2d(np.ones((2, 5)), np.ones(3), np.ones(4), "valid")


@pytest.mark.parametrize("arg", ["column", "row"])
def test_separable_refuses_zero_d_taps(arg):
    img = np.arange(20.0).reshape(4, 5)
    taps = dict(column=np.ones(1), row=np.ones(1))
    taps[arg] = 2.0
    with pytest.raises(ValueError, match=rf"{arg} must be 1-D.*0-D array of shape \(\)"):
        signal.separable_convolve2d(img, **taps)
    taps[arg] = np.array([2.0])
    np.testing.assert_array_equal(signal.separable_convolve2d(img, **taps), 2 * img)


@pytest.mark.parametrize("fn", [signal.correlate2d, signal.convolve2d, signal.fftconvolve2d])
def test_ragged_input_names_the_argument(fn):
    with pytest.raises(ValueError, match=r"^in1 must be a rectangular array"):
        fn([[1.0, 2.0], [3.0]], np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"^in2 must be a rectangular array"):
        fn(np.ones((3, 3)), [[1.0], [2.0, 3.0]])


def _scipy_gaussian_2d(size, sigma):
    w = scipy.signal.windows.gaussian(size, sigma)
    w = w / w.sum()
    return np.outer(w, w)


@pytest.mark.parametrize("sigma, size", [(1.0, None), (0.5, 4), (2.5, 9), (0.3, 2), (7.0, 6)])
def test_gaussian_kernel_matches_scipy_window(sigma, size):
    g = signal.gaussian_kernel(sigma, size)
    n = g.shape[0]
    np.testing.assert_allclose(g, _scipy_gaussian_2d(n, sigma), rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 7, 8])
@pytest.mark.parametrize("sigma", [0.01, 1e-5, 1e-160, 1e-300, 5e-324])
def test_gaussian_kernel_tiny_sigma_is_the_centre_limit(sigma, size):
    # all weight on the centre pixel; an even side splits it over the four centre pixels
    g = signal.gaussian_kernel(sigma, size)
    centre = np.zeros(size)
    if size % 2:
        centre[size // 2] = 1.0
    else:
        centre[size // 2 - 1:size // 2 + 1] = 0.5
    np.testing.assert_array_equal(g, np.outer(centre, centre))


@pytest.mark.parametrize("sigma", [1e154, 1e200, 1e300, 1.7e308])
@pytest.mark.parametrize("size", [1, 2, 3, 6])
def test_gaussian_kernel_huge_sigma_is_uniform(sigma, size):
    g = signal.gaussian_kernel(sigma, size)
    np.testing.assert_allclose(g, 1.0 / size**2, rtol=1e-15, atol=0)
    assert g.sum() == pytest.approx(1.0, rel=1e-15)


def test_gaussian_kernel_refuses_an_absurd_default_size():
    for sigma in (1e300, 1.7e308, 1e10):
        with pytest.raises(ValueError, match=r"sigma = .*default size.*pass a smaller sigma"
                           if sigma != 1.7e308 else r"sigma = .*too large for the default size"):
            signal.gaussian_kernel(sigma)
    with pytest.raises(ValueError, match=r"size must be <= \d+"):
        signal.gaussian_kernel(1.0, size=2**40)


def test_filter_argument_errors():
    with pytest.raises(ValueError, match="sigma"):
        signal.gaussian_kernel(0.0)
    with pytest.raises(ValueError, match="sigma"):
        signal.gaussian_kernel(float("nan"))
    with pytest.raises(TypeError, match="sigma"):
        signal.gaussian_kernel("1")
    with pytest.raises(ValueError, match="size"):
        signal.gaussian_kernel(1.0, size=0)
    with pytest.raises(TypeError, match="size"):
        signal.gaussian_kernel(1.0, size=2.5)


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("stride", [2**63, (1, 2**64), 10**30])
def test_a_stride_beyond_the_output_is_one_output(mode, stride):
    # one output along an axis reads one window, whatever the stride; the kernel
    # must not be handed a stride that does not fit its int64 indices
    img, ker = np.array([[0.5]]), np.array([[-2.0]])
    np.testing.assert_array_equal(signal.correlate2d(img, ker, mode=mode, stride=stride),
                                  [[-1.0]])
