"""numbacnn.functional._threads: ranges of independent work on several threads."""

import multiprocessing
import threading
import time

import numba
import numpy as np
import pytest
from _numerics import assert_same_on_one_and_two_threads

from numbacnn.functional import avg_pool2d_backward, max_pool2d, max_pool2d_backward
from numbacnn.functional._threads import run_ranges, split
from numbacnn.kernels._jit import SERIAL_KERNELS


def _two_threads():
    """Set numba's thread count to 2 and return the one before (skip where ranges cannot
    run on two threads: one numba thread, plain Python, or serial kernels)."""
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs two numba threads")
    if numba.config.DISABLE_JIT or SERIAL_KERNELS:
        pytest.skip("every range runs on the calling thread")
    before = numba.get_num_threads()
    numba.set_num_threads(2)
    return before


@pytest.mark.parametrize("n", [0, 1, 2, 5, 17])
@pytest.mark.parametrize("parts", [1, 2, 3, 8])
def test_split_covers_the_range_once_in_nearly_equal_pieces(n, parts):
    ranges = split(n, parts)
    assert len(ranges) == parts
    assert [i for lo, hi in ranges for i in range(lo, hi)] == list(range(n))
    sizes = [hi - lo for lo, hi in ranges]
    assert max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("n", [0, 1, 2, 3, 10])
def test_run_ranges_runs_every_unit_once(threads, n):
    if threads > numba.config.NUMBA_NUM_THREADS:
        pytest.skip("needs two numba threads")
    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    seen, callers, lock = [], set(), threading.Lock()

    def run(lo, hi):
        assert lo < hi  # never an empty range
        with lock:
            seen.extend(range(lo, hi))
            callers.add(threading.get_ident())

    try:
        run_ranges(n, run)
    finally:
        numba.set_num_threads(before)
    assert sorted(seen) == list(range(n))
    one_thread = numba.config.DISABLE_JIT or SERIAL_KERNELS
    assert len(callers) == min(n, 1 if one_thread else threads)


@pytest.mark.parametrize("failing", [0, 5], ids=["calling thread", "worker"])
def test_a_failing_range_is_raised_after_every_range_has_finished(failing):
    before = _two_threads()
    finished = []

    def run(lo, hi):
        if lo == failing:
            raise ValueError(f"range {lo}..{hi} failed")
        time.sleep(0.2)  # still running when the other range fails
        finished.append(lo)

    try:
        with pytest.raises(ValueError, match=f"range {failing}..{failing + 5} failed"):
            run_ranges(10, run)
    finally:
        numba.set_num_threads(before)
    # nothing may still write into the caller's arrays once run_ranges has returned
    assert finished == [5 - failing]


def test_a_call_made_while_the_workers_are_busy_runs_on_its_own_thread():
    before = _two_threads()
    inner = []

    def run(lo, hi):
        if lo == 0:  # the calling thread's range calls again: the workers are taken
            run_ranges(4, lambda a, b: inner.append((a, b, threading.get_ident())))

    try:
        run_ranges(2, run)
    finally:
        numba.set_num_threads(before)
    assert inner == [(0, 4, threading.get_ident())]


def _pool_in_child(_):
    x = np.arange(2 * 3 * 6 * 6, dtype=np.float64).reshape(2, 3, 6, 6)
    return float(max_pool2d(x, 2).sum())


def test_a_forked_child_runs_the_threaded_kernels():
    # a forked child inherits the pool object but not its threads; it must make its own
    before = _two_threads()
    try:
        expected = _pool_in_child(None)  # the parent's pool exists now
        with multiprocessing.get_context("fork").Pool(1) as pool:
            got = pool.map_async(_pool_in_child, [0]).get(timeout=120)
    finally:
        numba.set_num_threads(before)
    assert got == [expected]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pooling_is_the_same_on_one_and_two_threads(dtype):
    rng = np.random.default_rng(3)
    x = rng.integers(-2, 3, (3, 5, 9, 8)).astype(dtype)  # ties, odd height
    x[0, 1, 2, 3] = np.nan

    def run():
        out2 = max_pool2d(x, 2)
        out3 = max_pool2d(x, 3, stride=2, padding=1)
        g2 = np.ones_like(out2)
        g3 = np.ones_like(out3)
        return (out2, out3, max_pool2d_backward(g2, x, 2), max_pool2d_backward(g3, x, 3, 2, 1),
                avg_pool2d_backward(g3, x, 3, 2, 1))

    assert_same_on_one_and_two_threads(run)
