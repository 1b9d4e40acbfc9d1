"""Checks shared by the kernel tests: a finite-difference oracle (code unlike the
kernels), a relative error, and thread-count independence."""

import numba
import numpy as np
import pytest


def central_difference(f, arr, eps=1e-6):
    """d f / d arr by central differences, one element at a time (float64).

    ``f`` takes no arguments and reads ``arr``, which is perturbed in place and
    restored element by element.
    """
    grad = np.zeros_like(arr)
    for idx in np.ndindex(arr.shape):
        old = arr[idx]
        arr[idx] = old + eps
        fp = f()
        arr[idx] = old - eps
        fm = f()
        arr[idx] = old
        grad[idx] = (fp - fm) / (2 * eps)
    return grad


def assert_rel_close(actual, expected, tol):
    """Relative error in the max norm, CS231n style."""
    scale = max(np.abs(actual).max(), np.abs(expected).max(), 1e-12)
    assert np.abs(actual - expected).max() / scale < tol


def assert_same_on_one_and_two_threads(run):
    """``run()`` returns a sequence of arrays; they must be bit-identical whether
    numba runs one thread or two.  Skips the test where numba has only one."""
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs two numba threads")
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = run()
        numba.set_num_threads(2)
        two = run()
    finally:
        numba.set_num_threads(before)
    assert len(one) == len(two)
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a, b)
