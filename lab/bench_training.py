"""One training epoch of the small CNN: numbacnn against its PyTorch twin.

Usage::

    python3 lab/bench_training.py --out PATH.md [--rounds 5] [--quick]

The protocol is :mod:`harness`'s.  The model is
:func:`numbacnn.architectures.small_cnn` (Conv2D(32)-MaxPool-Conv2D(64)-
MaxPool-Dense(128)-Dense(10), ReLU) and its twin ``torch_twins.small_cnn``,
trained with Adam (eta 1e-3), batch 64, float32, on

* ``mnist``: the 7,500 training images of experiment 3 (the bundled 10,000
  MNIST images split 75/25);
* ``fashion``: the Fashion-MNIST experiment's epoch (experiment 4), cut to its
  first 200 mini-batches (12,800 of the 60,000 training images) to keep the
  benchmark short; the time per batch is the same as in the full epoch.

Each side first trains two mini-batches on the same model (numba compiles or
loads its kernels, torch warms its allocator and autograd), then the timed
epoch runs; numbacnn's time leaves out ``History.compile_time`` (nothing is
compiled by then).  Both load the images through :mod:`numbacnn.datasets`
(NumPy only; no kernel runs in the torch process).  ``--quick``: 640 images.
"""

import sys
import time

import harness
import numpy as np

TITLE = "A training epoch of the small CNN (Adam, batch 64, float32): numbacnn / torch"
DEFAULT_REPEAT = 1
BATCH = 64
CASES = [
    harness.Case("mnist", "small CNN, MNIST 10k (7,500 training images), 1 epoch", "torch", 1.25),
    harness.Case("fashion", "small CNN, Fashion-MNIST, first 200 batches of an epoch "
                 "(12,800 images)", "torch", 1.25),
]


def data(key, quick):
    """Training images (float32) and labels of one case."""
    if key == "mnist":
        from numbacnn.experiments.images import mnist_data

        X, _, y, _ = mnist_data(0)
    else:
        from numbacnn.datasets import load_fashion_mnist

        X, y = load_fashion_mnist(split="train")
        X, y = X[: 200 * BATCH], y[: 200 * BATCH]
    n = 10 * BATCH if quick else len(X)
    return np.ascontiguousarray(X[:n], dtype=np.float32), np.asarray(y[:n])


def _numbacnn(X, y, repeat):
    from numbacnn import Sequential
    from numbacnn.architectures import small_cnn
    from numbacnn.optimizers import Adam

    model = Sequential(small_cnn(10), optimizer=Adam(eta=1e-3), seed=0)
    model.fit(X[: 2 * BATCH], y[: 2 * BATCH], epochs=1, batch_size=BATCH, verbose=0)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        history = model.fit(X, y, epochs=1, batch_size=BATCH, verbose=0)
        times.append(time.perf_counter() - t0 - history.compile_time)
    return float(np.median(times))


def _torch(X, y, repeat):
    import torch_twins as tr

    model = tr.small_cnn()
    kw = dict(task="classify", optimizer="adam", eta=1e-3, batch_size=BATCH, seed=0,
              dtype=np.float32)
    tr.train(model, X[: 2 * BATCH], y[: 2 * BATCH], epochs=1, **kw)
    times = [tr.train(model, X, y, epochs=1, **kw)["epoch_seconds"][0] for _ in range(repeat)]
    return float(np.median(times))


def measure(library, keys, quick, repeat):
    run = _numbacnn if library == "numbacnn" else _torch
    # the two libraries start from different random weights: nothing to cross-check
    return {key: (run(*data(key, quick), repeat), []) for key in keys}


if __name__ == "__main__":
    sys.exit(harness.main(sys.modules[__name__]))
