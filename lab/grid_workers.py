"""The lecture's 7x7 digits grid search with 1 and 2 joblib (loky) workers: wall time and scores.

Usage (the machine may be shared: hold the benchmark lock)::

    flock /tmp/numbacnn-bench.lock python lab/grid_workers.py [--epochs 100] [--jobs 1,2]

Experiment 1's grid (:func:`numbacnn.experiments.digits_grid_search`): the
lecture's Keras digits CNN, plain SGD, batches of 100, :math:`\\eta` and the
lecture's :math:`\\lambda` each over ``logspace(-5, 1, 7)`` (numbacnn's
``l2 = 2 lambda``), float32, on experiment 1's 80/20 split, here as one
:class:`~sklearn.model_selection.PredefinedSplit` fold of
:class:`~sklearn.model_selection.GridSearchCV` with ``n_jobs`` workers on
joblib's default (loky) backend.  Each worker runs numba on ``cores //
n_jobs`` threads (:mod:`numbacnn.sklearn`).  The time of each search
includes starting the workers and loading the compiled kernels from numba's
cache there (a warm-up fit in this process fills the cache first).  Diverging
cells (large :math:`\\eta`) score NaN.  The script checks that every
``n_jobs`` gives the same scores before it prints the times.
"""

import argparse
import os
import time
import warnings

import joblib
import numba
import numpy as np
from sklearn.model_selection import GridSearchCV, PredefinedSplit

from numbacnn.experiments.images import digits_data
from numbacnn.sklearn import CNNClassifier


def grid_search(X, y, fold, epochs, n_jobs):
    grid = {"eta": list(np.logspace(-5, 1, 7)), "l2": list(2.0 * np.logspace(-5, 1, 7))}
    search = GridSearchCV(
        CNNClassifier(epochs=epochs, batch_size=100, random_state=0), grid,
        cv=PredefinedSplit(fold), n_jobs=n_jobs, refit=False, error_score=np.nan)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # the diverging cells' warnings and FitFailedWarning
        t0 = time.perf_counter()
        search.fit(X, y)
        seconds = time.perf_counter() - t0
    return seconds, search.cv_results_["mean_test_score"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=100, help="epochs per fit (default 100)")
    parser.add_argument("--jobs", default="1,2", help="n_jobs values, comma-separated")
    args = parser.parse_args()

    X_tr, X_te, y_tr, y_te = digits_data(0, None, np.float32)
    X, y = np.concatenate([X_tr, X_te]), np.concatenate([y_tr, y_te])
    fold = np.r_[np.full(len(y_tr), -1), np.zeros(len(y_te), dtype=int)]
    # compile (or load from numba's cache) everything a fit and its scoring run
    CNNClassifier(epochs=1, random_state=0).fit(X_tr[:200], y_tr[:200]).score(X_te, y_te)

    print(f"cores {joblib.cpu_count()}, numba threads {numba.get_num_threads()} "
          f"({numba.threading_layer()}), load average before "
          f"{', '.join(f'{v:.1f}' for v in os.getloadavg())}")
    results = {}
    for n_jobs in (int(j) for j in args.jobs.split(",")):
        seconds, scores = grid_search(X, y, fold, args.epochs, n_jobs)
        results[n_jobs] = (seconds, scores)
        print(f"n_jobs={n_jobs}: {seconds:.1f} s, best test accuracy {np.nanmax(scores):.4f}, "
              f"{int(np.isnan(scores).sum())} diverged cells", flush=True)
    reference = next(iter(results.values()))[1]
    for n_jobs, (_, scores) in results.items():
        np.testing.assert_array_equal(scores, reference, err_msg=f"n_jobs={n_jobs}")
    print("scores identical for every n_jobs")
    base = next(iter(results.values()))[0]
    for n_jobs, (seconds, _) in results.items():
        print(f"n_jobs={n_jobs}: {seconds:.1f} s, speed-up {base / seconds:.2f}x")
    print(f"load average after {', '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
