"""The cases of scipy's own convolve2d/correlate2d tests, as numbacnn tests.

Inputs and expected outputs are those of ``TestConvolve2d`` and
``TestCorrelate2d`` in scipy's ``signal/tests/test_signaltools.py``; the
expected arrays there were worked out by hand or with ``np.convolve``,
``np.correlate`` and ``scipy.ndimage.convolve``, which serve as the oracles
here too.  Where numbacnn deliberately differs (integer input returns
float64, complex input is refused; see ``docs/conventions.rst``) the test
checks the difference.
"""

import numpy as np
import pytest
import scipy.ndimage as ndi

from numbacnn.signal import convolve2d, correlate2d

A = [[1, 2, 3], [3, 4, 5]]
B = [[2, 3, 4], [4, 5, 6]]
WIDE = [[2, 3, 4, 5, 6, 7, 8], [4, 5, 6, 7, 8, 9, 10]]

# every numeric case runs on the lists as given (integers: float64 result) and on
# float32 and float64 copies (the result keeps the float dtype)
AS = {
    "list": lambda v: v,
    "float32": lambda v: np.asarray(v, dtype=np.float32),
    "float64": lambda v: np.asarray(v, dtype=np.float64),
}
RESULT_DTYPE = {"list": np.float64, "float32": np.float32, "float64": np.float64}


def _check(got, expected, kind):
    assert got.dtype == RESULT_DTYPE[kind]
    np.testing.assert_array_equal(got, np.asarray(expected, dtype=np.float64))


@pytest.fixture(params=sorted(AS))
def kind(request):
    return request.param


def test_full_convolution(kind):
    expected = [[2, 7, 16, 17, 12], [10, 30, 62, 58, 38], [12, 31, 58, 49, 30]]
    _check(convolve2d(AS[kind](A), AS[kind](B)), expected, kind)


def test_valid_either_order(kind):
    # the smaller input may come first: scipy swaps them (gh-5897)
    expected = [[62, 80, 98, 116, 134]]
    _check(convolve2d(AS[kind](WIDE), AS[kind](A), "valid"), expected, kind)
    _check(convolve2d(AS[kind](A), AS[kind](WIDE), "valid"), expected, kind)


def test_fillvalue(kind):
    expected = [[24, 26, 31, 34, 32], [28, 40, 62, 64, 52], [32, 46, 67, 62, 48]]
    _check(convolve2d(AS[kind](A), AS[kind](B), "full", "fill", 1), expected, kind)


def test_wrap_boundary(kind):
    expected = [[80, 80, 74, 80, 80], [68, 68, 62, 68, 68], [80, 80, 74, 80, 80]]
    _check(convolve2d(AS[kind](A), AS[kind](B), "full", "wrap"), expected, kind)


def test_symm_boundary(kind):
    expected = [[34, 30, 44, 62, 66], [52, 48, 62, 80, 84], [82, 78, 92, 110, 114]]
    _check(convolve2d(AS[kind](A), AS[kind](B), "full", "symm"), expected, kind)


def test_same_mode(kind):
    _check(convolve2d(AS[kind](A), AS[kind](WIDE), "same"), [[22, 28, 34], [80, 98, 116]], kind)


@pytest.mark.parametrize("fn", [convolve2d, correlate2d])
@pytest.mark.parametrize(
    "boundary, expected",
    [("symm", [[37.0, 42.0, 44.0, 45.0]]), ("wrap", [[43.0, 44.0, 42.0, 39.0]])],
)
def test_same_with_a_kernel_longer_than_the_image(fn, boundary, expected):
    # the 1x21 kernel of ones reaches past the 1x4 image more than once on each side
    # (scipy gh-8684, gh-8814); all ones, so convolution and correlation agree
    image = np.array([[2.0, -1.0, 3.0, 4.0]])
    got = fn(image, np.ones((1, 21)), mode="same", boundary=boundary)
    np.testing.assert_array_equal(got, expected)


def test_wrap_same_matches_ndimage():
    # scipy gh-12686: the kernel is larger than the image along axis 1
    a = np.arange(1, 31, dtype=float).reshape(10, 3)
    b = np.arange(1, 101, dtype=float).reshape(10, 10)
    expected = ndi.convolve(a, b, mode="wrap", origin=(-1, -1))
    np.testing.assert_array_equal(convolve2d(a, b, mode="same", boundary="wrap"), expected)


def test_wrap_full_matches_ndimage():
    a = np.arange(1, 10, dtype=float).reshape(3, 3)
    b = np.arange(1, 37, dtype=float).reshape(6, 6)
    expected = ndi.convolve(np.pad(a, ((3, 3), (3, 3)), "wrap"), b, mode="wrap")[:-1, :-1]
    np.testing.assert_array_equal(convolve2d(a, b, mode="full", boundary="wrap"), expected)


@pytest.mark.parametrize("mode", ["full", "valid", "same"])
def test_one_row_agrees_with_numpy_1d(mode):
    a = np.arange(5)
    b = np.array([3.2, 1.4, 3.0])
    np.testing.assert_allclose(np.squeeze(convolve2d([a], [b], mode=mode)),
                               np.convolve(a, b, mode=mode), rtol=1e-15, atol=0)
    np.testing.assert_allclose(np.squeeze(correlate2d([a], [b], mode=mode)),
                               np.correlate(a, b, mode=mode), rtol=1e-15, atol=0)
    if mode == "valid":  # the shorter input first (gh-5897)
        np.testing.assert_allclose(np.squeeze(correlate2d([b], [a], mode=mode)),
                                   np.correlate(b, a, mode=mode), rtol=1e-15, atol=0)


# ---------------------------------------------------------------- what scipy refuses


@pytest.mark.parametrize("fn", [convolve2d, correlate2d])
def test_valid_with_neither_input_larger(fn):
    a = np.arange(1, 7).reshape((2, 3))
    b = np.arange(-6, 0).reshape((3, 2))
    with pytest.raises(ValueError, match="valid"):
        fn(a, b, mode="valid")
    with pytest.raises(ValueError, match="valid"):
        fn(b, a, mode="valid")


@pytest.mark.parametrize("fn", [convolve2d, correlate2d])
@pytest.mark.parametrize("in1, in2", [(3, 4), ([3], [4]), ([[[3]]], [[[4]]])])
def test_inputs_that_are_not_2d(fn, in1, in2):
    with pytest.raises(ValueError, match="in1 must be 2-D"):
        fn(in1, in2)


@pytest.mark.parametrize("fn", [convolve2d, correlate2d])
@pytest.mark.parametrize("fillvalue", [1j, [1, 2], []])
def test_bad_fillvalue_is_a_value_error(fn, fillvalue):
    with pytest.raises(ValueError, match="fillvalue"):
        fn([[1]], [[1, 2]], fillvalue=fillvalue)


# ---------------------------------------------------------------- deliberate differences


@pytest.mark.parametrize("fn", [convolve2d, correlate2d])
@pytest.mark.parametrize(
    "in1, in2, bad",
    [
        ([[1]], [[2j]], "in2"),
        ([[2j]], [[3j]], "in1"),
        ([[3j]], [[4]], "in1"),
        (WIDE, np.array(A, dtype=complex) + 1j, "in2"),
        ([[1 + 1j, 2 - 3j], [3 + 1j, 4 + 0j]], [[2 - 1j, 3 + 2j, 4 + 0j], [4 - 0j, 5 + 1j, 6 - 3j]],
         "in1"),
    ],
)
def test_complex_input_is_refused_naming_the_argument(fn, in1, in2, bad):
    with pytest.raises(TypeError, match=rf"{bad} must be a real numeric array; got dtype complex"):
        fn(in1, in2)


def test_integer_input_returns_float64_without_wrapping():
    # scipy keeps uint8 and wraps 200 * 2 to 144
    out = convolve2d(np.array([[200]], np.uint8), np.array([[2]], np.uint8))
    assert out.dtype == np.float64 and out[0, 0] == 400.0
