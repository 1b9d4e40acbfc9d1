"""Grid searches beyond one process: joblib's loky workers and a Dask cluster.

The scores must not depend on where a fit runs (numbacnn's training is
bit-identical for any number of numba threads), and a worker must run numba
on its share of the cores only.
"""

import logging
import os

import joblib
import numba
import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from numbacnn.datasets import load_digits_images
from numbacnn.sklearn import CNNClassifier
from numbacnn.sklearn._threads import numba_threads_for_worker, worker_thread_limit

GRID = {"eta": [0.01, 0.1], "l2": [0.0, 1e-3]}


def small_digits(n=80):
    X, y = load_digits_images()
    return X[:n] / 16.0, y[:n]


def tiny_cnn():
    return CNNClassifier(n_filters=2, n_hidden=8, epochs=2, batch_size=20, random_state=0)


def scores(search):
    keys = sorted(k for k in search.cv_results_ if k.startswith("split") and "test" in k)
    return np.array([search.cv_results_[k] for k in keys])


def _threads_seen_by_fit():
    """In a worker: numba's thread count while ``fit`` trains, and after it returns."""
    from numbacnn.models import Sequential

    seen = []
    fit = Sequential.fit

    def spy(self, *args, **kwargs):
        seen.append(numba.get_num_threads())
        return fit(self, *args, **kwargs)

    Sequential.fit = spy
    try:
        tiny_cnn().set_params(epochs=1).fit(*small_digits(20))
    finally:
        Sequential.fit = fit
    return seen[0], numba.get_num_threads()


def test_a_loky_worker_fits_on_its_share_of_the_cores(monkeypatch):
    cores = joblib.cpu_count()
    share = max(cores // 2, 1)
    # a NUMBA_NUM_THREADS exported for one process reaches every worker unchanged (joblib
    # passes variables the parent sets); without the limit each worker would use all cores
    monkeypatch.setenv("NUMBA_NUM_THREADS", str(cores))
    out = joblib.Parallel(n_jobs=2, backend="loky")(
        joblib.delayed(_threads_seen_by_fit)() for _ in range(2))
    assert [during for during, _ in out] == [share, share]
    assert [after for _, after in out] == [cores, cores]  # restored after fit
    assert worker_thread_limit() is None  # the test process is no joblib worker


def test_the_worker_limit_is_the_smallest_count_joblib_hands_out(monkeypatch):
    from joblib.externals.loky import process_executor

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("NUMBA_NUM_THREADS", "2")
    assert worker_thread_limit() is None  # not a worker: the variables mean nothing here
    monkeypatch.setattr(process_executor, "_CURRENT_DEPTH", 1)  # as in a loky worker
    assert worker_thread_limit() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "")  # unset or unreadable: the other one counts
    assert worker_thread_limit() == 2
    monkeypatch.delenv("NUMBA_NUM_THREADS")
    assert worker_thread_limit() is None
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    before = numba.get_num_threads()
    with numba_threads_for_worker():
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before


def test_outside_a_worker_fit_keeps_numba_s_threads():
    before = numba.get_num_threads()
    assert _threads_seen_by_fit() == (before, before)


def test_grid_search_n_jobs_2_scores_equal_n_jobs_1():
    X, y = small_digits()
    one = GridSearchCV(tiny_cnn(), GRID, cv=2, n_jobs=1).fit(X, y)
    two = GridSearchCV(tiny_cnn(), GRID, cv=2, n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(scores(two), scores(one))
    assert two.best_params_ == one.best_params_


def test_grid_search_on_a_local_dask_cluster_scores_equal_n_jobs_1():
    if os.environ.get("NUMBACNN_REQUIRE_EXTRAS") == "1":
        import distributed  # the env that installs the distributed extra must not skip
    else:
        distributed = pytest.importorskip("distributed")
    X, y = small_digits()
    one = GridSearchCV(tiny_cnn(), GRID, cv=2, n_jobs=1).fit(X, y)
    # loopback only, no dashboard: two worker processes of one thread each
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  host="127.0.0.1", dashboard_address=None,
                                  silence_logs=logging.ERROR) as cluster, \
            distributed.Client(cluster) as client:
        with joblib.parallel_backend("dask"), distributed.get_task_stream(client) as tasks:
            on_dask = GridSearchCV(tiny_cnn(), GRID, cv=2).fit(X, y)
        workers = client.run(os.getpid)
    assert len(workers) == 2 and os.getpid() not in workers.values()
    # the fits ran as tasks on the cluster's workers (joblib may batch the 8 fits)
    assert tasks.data and {t["worker"] for t in tasks.data} <= set(workers)
    np.testing.assert_array_equal(scores(on_dask), scores(one))
    assert on_dask.best_params_ == one.best_params_
