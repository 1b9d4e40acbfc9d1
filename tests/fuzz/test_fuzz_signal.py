"""numbacnn.signal under valid and hostile input, against scipy.signal where it applies."""

import math

import numpy as np
import scipy.signal
from _harness import (
    Raised,
    as_f64,
    assert_close,
    check_call,
    float_dtypes,
    hostile_size,
    maybe_mutated,
    sum_bound,
)
from hypothesis import given
from hypothesis import strategies as st

from numbacnn import signal

MODES = st.sampled_from(["full", "same", "valid"])


def _real(a, name):
    """``a`` as float64 for an oracle; the oracle refuses what is not a real array."""
    if isinstance(a, np.ndarray) and a.dtype.kind not in "biuf":
        raise TypeError(f"{name}: oracle needs real numbers, got {a.dtype}")
    return as_f64(a)


def _oracle_or_fail(name, compute):
    try:
        return compute()
    except Exception as exc:  # noqa: BLE001 -- any refusal of the oracle is the finding
        raise AssertionError(f"{name} accepted input that the oracle rejects: {exc!r}") from exc


@st.composite
def images_and_kernels(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(float_dtypes())
    H, W = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    return {"in1": rng.standard_normal((H, W)).astype(dtype),
            "in2": rng.standard_normal((kh, kw)).astype(dtype)}


def _stride_pair(stride):
    return (stride, stride) if isinstance(stride, int) else stride


@given(data=st.data(), which=st.sampled_from(["correlate2d", "convolve2d"]),
       case=images_and_kernels(), mode=MODES,
       boundary=st.sampled_from(["fill", "wrap", "symm"]))
def test_correlate_convolve(data, which, case, mode, boundary):
    arrays, key, kind = data.draw(maybe_mutated(case))
    stride = data.draw(st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3)),
                                 hostile_size()) if key is None or data.draw(st.booleans())
                       else st.just(1))
    fill = data.draw(st.one_of(st.just(0), st.floats(-3, 3),
                               st.sampled_from([np.nan, np.inf, 1e300, 2 + 1j, "0", None])))
    fn = getattr(signal, which)
    out = check_call(f"signal.{which}", fn, (arrays["in1"], arrays["in2"]),
                     dict(mode=mode, boundary=boundary, fillvalue=fill, stride=stride),
                     argnames=["in1", "in2", "mode", "boundary", "fillvalue", "stride"],
                     arrays=[arrays["in1"], arrays["in2"]])
    if isinstance(out, Raised):
        return
    oracle = getattr(scipy.signal, which)

    def expected():
        a, b = _real(arrays["in1"], "in1"), _real(arrays["in2"], "in2")
        sh, sw = _stride_pair(stride)
        return oracle(a, b, mode, boundary, float(fill))[::sh, ::sw], a, b

    exp, a, b = _oracle_or_fail(which, expected)
    finite = np.isfinite(a).all() and np.isfinite(b).all() and math.isfinite(fill)
    big = max(np.abs(a).max(initial=0), abs(fill)) if finite else 0.0
    atol = sum_bound(b.size, out.dtype, big, np.abs(b).sum())
    assert_close(out, exp, rtol=0 if finite else 1e-12, atol=atol, what=which)


@given(data=st.data(), case=images_and_kernels(), mode=MODES)
def test_fftconvolve2d(data, case, mode):
    arrays, key, kind = data.draw(maybe_mutated(case))
    out = check_call("signal.fftconvolve2d", signal.fftconvolve2d,
                     (arrays["in1"], arrays["in2"], mode), argnames=["in1", "in2", "mode"],
                     arrays=[arrays["in1"], arrays["in2"]])
    if isinstance(out, Raised):
        return
    a, b, exp = _oracle_or_fail("fftconvolve2d", lambda: (
        _real(arrays["in1"], "in1"), _real(arrays["in2"], "in2"),
        scipy.signal.fftconvolve(_real(arrays["in1"], "in1"), _real(arrays["in2"], "in2"), mode)))
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return  # an FFT spreads a non-finite sample over the whole result by design
    eps = np.finfo(out.dtype).eps
    atol = 50 * eps * np.abs(a).max() * np.abs(b).sum() * np.log2(a.size + b.size + 2)
    assert_close(out, exp, rtol=0, atol=atol, what="fftconvolve2d")


@st.composite
def separable_cases(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(float_dtypes())
    H, W = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    return {"image": rng.standard_normal((H, W)).astype(dtype),
            "column": rng.standard_normal(draw(st.integers(1, 5))).astype(dtype),
            "row": rng.standard_normal(draw(st.integers(1, 5))).astype(dtype)}


@given(data=st.data(), case=separable_cases(), mode=MODES)
def test_separable_convolve2d(data, case, mode):
    arrays, key, kind = data.draw(maybe_mutated(case))
    out = check_call("signal.separable_convolve2d", signal.separable_convolve2d,
                     (arrays["image"], arrays["column"], arrays["row"], mode),
                     argnames=["image", "column", "row", "mode"],
                     arrays=[arrays["image"], arrays["column"], arrays["row"]])
    if isinstance(out, Raised):
        return

    def expected():
        img = _real(arrays["image"], "image")
        col, row = _real(arrays["column"], "column"), _real(arrays["row"], "row")
        if col.ndim != 1 or row.ndim != 1:
            raise ValueError(f"column and row must be 1-D; got {col.shape}, {row.shape}")
        return img, np.outer(col, row), scipy.signal.convolve2d(img, np.outer(col, row), mode)

    img, ker, exp = _oracle_or_fail("separable_convolve2d", expected)
    finite = np.isfinite(img).all() and np.isfinite(ker).all()
    atol = sum_bound(ker.size, out.dtype, np.abs(img).max(), np.abs(ker).sum()) if finite else 0
    assert_close(out, exp, rtol=0 if finite else 1e-12, atol=atol, what="separable_convolve2d")


def _gaussian_oracle(sigma, size):
    """The normalised Gaussian, in log space so that neither tiny nor huge sigma over/underflows."""
    t = np.arange(size, dtype=np.float64) - (size - 1) / 2
    excess = t * t - (t * t).min()  # exact: t holds integers or half-integers
    with np.errstate(over="ignore", under="ignore"):
        w = np.exp(-0.5 * ((excess / sigma) / sigma))
    w /= w.sum()
    return np.outer(w, w)


SIGMAS = st.one_of(
    st.floats(1e-3, 20),
    st.floats(1e-300, 1e-3),
    st.sampled_from([1e200, 1e300, 1e5, 5e-324, 0.01, 0.0, -1.0, np.nan, np.inf, True, "1",
                     np.float32(0.5), np.float64(2.0), 2, 2 + 0j, None]),
)


@given(sigma=SIGMAS, size=st.one_of(st.none(), st.integers(1, 9), hostile_size()))
def test_gaussian_kernel(sigma, size):
    out = check_call("signal.gaussian_kernel", signal.gaussian_kernel, (sigma,), dict(size=size),
                     argnames=["sigma", "size"])
    if isinstance(out, Raised):
        return
    n = 2 * math.ceil(3 * sigma) + 1 if size is None else int(size)
    exp = _gaussian_oracle(float(sigma), n)
    assert out.dtype == np.float64
    assert_close(out, exp, rtol=1e-12, atol=1e-300, what=f"gaussian_kernel({sigma!r}, {size!r})")


def test_sobel_kernels():
    gx, gy = check_call("signal.sobel_kernels", signal.sobel_kernels, argnames=[])
    expected = np.outer([1.0, 2.0, 1.0], [-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(gx, expected)
    np.testing.assert_array_equal(gy, expected.T)
