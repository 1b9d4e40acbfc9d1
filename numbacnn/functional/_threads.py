"""Independent work units on several threads, each thread a contiguous range.

The convolution's matrix-product kernels (:mod:`numbacnn.kernels.conv_gemm`)
and the pooling kernels (:mod:`numbacnn.kernels.pool`) are serial loops over
a range ``lo .. hi-1`` of independent units (images, planes, work items) that
release the GIL while they run.  :func:`run_ranges` cuts ``range(n)`` into one
contiguous range per thread and runs them at the same time: the calling
thread takes the first, worker threads the others.

Why not ``prange``: numba's ``parallel=True`` turns a kernel's loop into a
separately compiled parallel function, which more than doubles the kernel's
compile time (see :doc:`/experiments`, "What a first run compiles").

Why the workers poll: a thread asleep on a lock takes tens of microseconds to
wake on some machines, and a training step calls these kernels every few
hundred microseconds.  So after a range a worker keeps looking for the next
one for :data:`SPIN_SECONDS` (``time.sleep(0)`` between looks, which hands the
GIL to the caller at once) before it sleeps, and the caller, its own range
done, looks for the workers' results the same way.  OpenMP's threads, which
numba's ``prange`` loops use, spin likewise.

The thread count is ``numba.get_num_threads()``, so ``NUMBA_NUM_THREADS``,
``numba.set_num_threads`` and the joblib limit of
:mod:`numbacnn.sklearn._threads` apply as they do to the ``prange`` kernels.
With ``NUMBA_DISABLE_JIT=1`` (plain Python, to step through in a debugger) or
``NUMBACNN_SERIAL_KERNELS=1`` all units run on the calling thread, in order,
and so they do while another thread's call has the workers.  A kernel that
writes each unit's result to its own place gives the same result for any
thread count.
"""

import os
import threading
import time

import numba

from ..kernels._jit import SERIAL_KERNELS

__all__ = ["run_ranges", "split", "SPIN_SECONDS"]

#: How long an idle worker, and a caller waiting for the workers, poll before they
#: sleep on a lock
SPIN_SECONDS = 0.002


class _Worker:
    """A daemon thread that runs one ``run(lo, hi)`` at a time, handed over in ``task``."""

    def __init__(self):
        self.task = None  # (run, lo, hi) while there is work; None when it is done
        self.error = None
        self.posted = threading.Event()  # wakes the thread when it sleeps
        self.finished = threading.Event()  # wakes a caller that sleeps
        threading.Thread(target=self._loop, name="numbacnn-ranges", daemon=True).start()

    def _loop(self):
        while True:
            task = self._next_task()
            try:
                task[0](task[1], task[2])
            except BaseException as error:  # noqa: BLE001 -- handed to the caller
                self.error = error
            self.task = None
            self.finished.set()

    def _next_task(self):
        deadline = time.perf_counter() + SPIN_SECONDS
        while True:
            task = self.task
            if task is not None:
                return task
            if time.perf_counter() < deadline:
                time.sleep(0)
                continue
            # clear before the last look: a task posted after it sets the event again
            self.posted.clear()
            if self.task is None:
                self.posted.wait()
            deadline = time.perf_counter() + SPIN_SECONDS

    def post(self, run, lo, hi):
        # a caller interrupted while it waited (KeyboardInterrupt) may have left a task
        # running: it finishes before the next is handed over
        self.wait()
        self.error = None
        self.finished.clear()
        self.task = (run, lo, hi)
        self.posted.set()

    def wait(self):
        """Return the exception the task raised (or None) once it has finished."""
        deadline = time.perf_counter() + SPIN_SECONDS
        while self.task is not None:
            if time.perf_counter() < deadline:
                time.sleep(0)
            else:
                self.finished.wait()
        return self.error


_WORKERS = []
_LOCK = threading.Lock()  # held by the one call that uses the workers


def _forget_workers():
    # a forked child inherits the worker objects but none of their threads
    global _LOCK
    _WORKERS.clear()
    _LOCK = threading.Lock()


os.register_at_fork(after_in_child=_forget_workers)


def _threads():
    if numba.config.DISABLE_JIT or SERIAL_KERNELS:
        return 1
    return numba.get_num_threads()


def split(n, parts):
    """``parts`` contiguous ranges ``(lo, hi)`` covering ``range(n)``; sizes differ by at most 1."""
    return [(n * k // parts, n * (k + 1) // parts) for k in range(parts)]


def run_ranges(n, run):
    """Call ``run(lo, hi)`` on contiguous ranges that cover ``range(n)``, one per thread.

    ``run`` must be safe to call concurrently on disjoint ranges (a ``nogil``
    kernel writing only its own units' results).  Returns when every range
    has finished; the first exception raised by any range is re-raised then.
    """
    parts = min(n, _threads())
    if parts <= 1 or not _LOCK.acquire(blocking=False):
        if n > 0:
            run(0, n)
        return
    try:
        while len(_WORKERS) < parts - 1:
            _WORKERS.append(_Worker())
        ranges = split(n, parts)
        workers = _WORKERS[: parts - 1]
        for worker, (lo, hi) in zip(workers, ranges[1:], strict=True):
            worker.post(run, lo, hi)
        try:
            run(*ranges[0])
        finally:
            # wait for every worker even if this thread's range failed: none may still
            # be writing into the caller's arrays when this returns
            errors = [worker.wait() for worker in workers]
    finally:
        _LOCK.release()
    for error in errors:
        if error is not None:
            raise error
