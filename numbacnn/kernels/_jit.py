"""The one place where numbacnn's jit options live.

Every kernel in :mod:`numbacnn.kernels` is decorated with :func:`jit` (serial)
or :func:`pjit` (``parallel=True``, for loops over ``prange``).  Both use
``cache=True`` so a second process loads machine code from disk instead of
compiling again, and neither uses ``fastmath``: the kernels are a reference,
and IEEE semantics keep them comparable with the oracles in the tests.

With ``NUMBA_DISABLE_JIT=1`` numba hands back the plain Python function and
``prange`` is ``range``, so the same source runs (slowly) as ordinary Python.
"""

import numba
from numba import prange

__all__ = ["jit", "pjit", "prange"]


def jit(fn):
    """Compile ``fn`` lazily with ``numba.njit(cache=True)``."""
    return numba.njit(cache=True, nogil=True)(fn)


def pjit(fn):
    """Compile ``fn`` lazily with ``numba.njit(cache=True, parallel=True)``."""
    return numba.njit(cache=True, nogil=True, parallel=True)(fn)
