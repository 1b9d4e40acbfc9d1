"""Finite-difference oracle shared by the kernel tests (code unlike the kernels)."""

import numpy as np


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
