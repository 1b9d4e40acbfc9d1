"""numba's thread count inside a joblib worker process: the share joblib grants the worker.

joblib's process backend (loky) starts each worker with the thread-pool
variables (``OMP_NUM_THREADS``, ``NUMBA_NUM_THREADS``, ...) set to
``cores // n_jobs``, or to ``inner_max_num_threads`` when one is given.  A
variable that the parent process already sets is passed on unchanged, though,
so a ``NUMBA_NUM_THREADS`` exported for a single-process run would let every
worker start all the cores' threads: ``n_jobs`` workers times that many
threads on the same cores.  A fit in a worker therefore runs numba on the
smallest count joblib hands the worker.
"""

import contextlib
import os

__all__ = ["worker_thread_limit", "numba_threads_for_worker"]

#: the variables joblib sets in its workers that bound a compute thread pool
_JOBLIB_THREAD_VARS = ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS")


def _in_joblib_worker():
    try:
        from joblib.externals.loky import process_executor
    except ImportError:  # pragma: no cover - joblib ships loky
        return False
    # loky sets its recursion depth in every worker it starts; the parent stays at 0
    return getattr(process_executor, "_CURRENT_DEPTH", 0) > 0


def worker_thread_limit():
    """Threads joblib grants this process if it is a joblib (loky) worker, else ``None``."""
    if not _in_joblib_worker():
        return None
    counts = []
    for var in _JOBLIB_THREAD_VARS:
        value = os.environ.get(var, "")
        if value.isdigit() and int(value) > 0:
            counts.append(int(value))
    return min(counts) if counts else None


@contextlib.contextmanager
def numba_threads_for_worker():
    """Within the block, numba uses at most :func:`worker_thread_limit` threads.

    Outside a joblib worker nothing changes.  ``numba.set_num_threads`` acts on
    the calling thread only; the previous count is restored on exit.
    """
    limit = worker_thread_limit()
    if limit is None:
        yield
        return
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(limit, before)))
    try:
        yield
    finally:
        numba.set_num_threads(before)
