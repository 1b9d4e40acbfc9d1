"""The one place where numbacnn's jit options live.

Every kernel in :mod:`numbacnn.kernels` is decorated with :func:`jit` (serial)
or :func:`pjit` (``parallel=True``, for loops over ``prange``).  Both use
``cache=True`` so a second process loads machine code from disk instead of
compiling again, and neither uses ``fastmath``: the kernels are a reference,
and IEEE semantics keep them comparable with the oracles in the tests.

The convolution's matrix-product kernels and the pooling kernels are
:func:`jit` loops over a range of independent units (``n0, n1``,
``item0, item1``, ``p0, p1``) that release the GIL (``nogil=True``);
:func:`numbacnn.functional._threads.run_ranges` runs disjoint ranges of them on
several threads.  They are the kernels of every CNN's training step, and a
``prange`` loop more than doubles a kernel's compile time.

With ``NUMBA_DISABLE_JIT=1`` numba hands back the plain Python function and
``prange`` is ``range``, so the same source runs (slowly) as ordinary Python.

With ``NUMBACNN_SERIAL_KERNELS=1`` (read once, at import) :func:`pjit`
compiles with ``parallel=False``: every ``prange`` loop runs as a plain loop
on one thread, and so do the range kernels' ranges.  Together with
``NUMBA_BOUNDSCHECK=1`` this makes an out-of-bounds index in any kernel raise
``IndexError`` (inside a parallel region numba cannot raise it reliably).
Serial and parallel builds of the same kernel share a cache key, so a process
with the switch set must use its own ``NUMBA_CACHE_DIR``.
"""

import os

import numba
from numba import prange

__all__ = ["jit", "pjit", "prange", "SERIAL_KERNELS"]

#: True when ``NUMBACNN_SERIAL_KERNELS=1``: :func:`pjit` compiles serial kernels
SERIAL_KERNELS = os.environ.get("NUMBACNN_SERIAL_KERNELS", "0") == "1"


def jit(fn):
    """Compile ``fn`` lazily with ``numba.njit(cache=True)``."""
    return numba.njit(cache=True, nogil=True)(fn)


def pjit(fn):
    """Compile ``fn`` lazily with ``numba.njit(cache=True, parallel=True)``.

    ``parallel=False`` instead when :data:`SERIAL_KERNELS` is set.
    """
    return numba.njit(cache=True, nogil=True, parallel=not SERIAL_KERNELS)(fn)
