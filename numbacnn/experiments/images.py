"""The lecture's image experiments: digits grid search, MNIST, Fashion-MNIST, CIFAR-10.

* :func:`digits_grid_search` -- experiment 1, the Keras digits CNN over an
  :math:`(\\eta, \\lambda)` grid;
* :func:`lecture_cnn_mnist` -- experiment 2, the lecture's own NumPy CNN;
* :func:`small_cnn_mnist` -- experiment 3, a small modern CNN on the same split;
* :func:`fashion_mnist` -- experiment 4, the same CNN at 60,000 images;
* :func:`cifar10` -- experiment 8, the lecture's CIFAR-10 model: shapes and cost.

Every function trains numbacnn models through :class:`numbacnn.Sequential`,
built from :mod:`numbacnn.architectures`.  The data helpers
(:func:`digits_data`, :func:`mnist_data`, :func:`cifar_timing_data`) give the
exact splits the experiments train on.  See :doc:`/experiments`.
"""

import warnings

import numpy as np

from ._common import ExperimentResult, Timer, accuracy, fast_mode, mean_std, new_figure

__all__ = [
    "digits_grid_search",
    "lecture_cnn_mnist",
    "small_cnn_mnist",
    "fashion_mnist",
    "cifar10",
    "digits_data",
    "mnist_data",
    "cifar_timing_data",
]


def _split(X, y, test_size, seed):
    from sklearn.model_selection import train_test_split

    return train_test_split(X, y, test_size=test_size, random_state=seed)


# --------------------------------------------------------------------------- 1: digits
def digits_data(seed=0, n_subset=None, dtype=np.float32):
    """Experiment 1's data: scikit-learn's 8x8 digits, raw 0..16 pixels, an 80/20 split.

    Returns ``X_train, X_test, y_train, y_test`` of the first ``n_subset``
    images (all 1797 by default), split with ``random_state=seed``.
    """
    from ..datasets import load_digits_images

    X, y = load_digits_images()
    X, y = X[:n_subset].astype(dtype), y[:n_subset]
    return _split(X, y, 0.2, seed)


def _digits_model(eta, l2, seed):
    from .. import Sequential
    from ..architectures import lecture_cnn
    from ..optimizers import SGD

    return Sequential(lecture_cnn(10), optimizer=SGD(eta=eta), l2=l2, seed=seed)


def _heatmap(values, eta_vals, keras_vals, title):
    fig, ax = new_figure(figsize=(6.5, 5.5))
    shown = np.where(np.isfinite(values), values, np.nan)
    im = ax.imshow(shown, cmap="viridis", vmin=0.0, vmax=1.0, origin="upper")
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            text = "div." if not np.isfinite(v) else f"{v:.3f}"
            colour = "black" if np.isfinite(v) and v > 0.6 else "white"
            ax.text(j, i, text, ha="center", va="center", fontsize=7, color=colour)
    ax.set_xticks(range(len(keras_vals)), [f"{v:.0e}" for v in keras_vals], rotation=45)
    ax.set_yticks(range(len(eta_vals)), [f"{v:.0e}" for v in eta_vals])
    ax.set_xlabel(r"the lecture's (Keras) $\lambda$ = l2 / 2")
    ax.set_ylabel(r"$\eta$")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label="accuracy")
    return fig


def digits_grid_search(eta_vals=None, l2_vals=None, epochs=None, batch_size=100,
                       seed=0, n_subset=None, fast=None, dtype=np.float32, lmbd_vals=None):
    """Experiment 1: the lecture's Keras digits CNN over a grid of :math:`(\\eta, \\lambda)`.

    :func:`numbacnn.architectures.lecture_cnn` (Conv2D(10, 3x3, 'same', ReLU) -
    MaxPool 2x2 - Dense(50, ReLU) - Dense(10, softmax)), L2 on every weight,
    plain SGD, batch 100, on scikit-learn's 8x8 digits with raw 0..16 pixels
    and an 80/20 split (:func:`digits_data`).  A cell whose loss becomes
    NaN/inf is marked diverged.

    The lecture's grid is over Keras' ``regularizers.l2(lambda)``, which
    penalises :math:`\\lambda \\lVert W\\rVert^2`; numbacnn's ``l2`` penalises
    :math:`\\tfrac{l_2}{2} \\lVert W\\rVert^2`, so the lecture's :math:`\\lambda` is
    ``l2 / 2``.  The grid is given in ``l2``; the table's ``lambda`` column,
    the best cell's ``best lambda`` and the heatmaps' axis show the lecture's
    :math:`\\lambda = l_2/2`.

    Parameters
    ----------
    eta_vals : sequence of float, optional
        Default ``logspace(-5, 1, 7)`` (fast mode: {1e-2, 1e-1}).
    l2_vals : sequence of float, optional
        numbacnn's L2 strengths; default ``2 * logspace(-5, 1, 7)``, the
        lecture's :math:`\\lambda` from 1e-5 to 10 (fast mode: ``2 *`` {1e-4, 1e-2}).
    epochs : int, optional
        Default 100 (fast mode 10).
    n_subset : int, optional
        Use only the first ``n_subset`` of the 1797 images (for quick checks).
    lmbd_vals : sequence of float, optional
        Deprecated: the lecture's :math:`\\lambda` values; pass
        ``l2_vals = 2 * lmbd_vals`` instead.

    Returns
    -------
    ExperimentResult
        ``numbers``: best test accuracy and its cell, the number of cells at
        or above 95 %, grid wall time; ``figures``: train and test heatmaps.
    """
    fast = fast_mode(fast)
    if lmbd_vals is not None:
        if l2_vals is not None:
            raise TypeError("digits_grid_search: pass l2_vals or the deprecated lmbd_vals, "
                            "not both")
        warnings.warn("digits_grid_search(lmbd_vals=...) is deprecated; pass "
                      "l2_vals = 2 * lmbd_vals (numbacnn's l2 is twice Keras' lambda)",
                      DeprecationWarning, stacklevel=2)
        l2_vals = [2.0 * float(v) for v in lmbd_vals]
    if eta_vals is None:
        eta_vals = [1e-2, 1e-1] if fast else np.logspace(-5, 1, 7)
    if l2_vals is None:
        l2_vals = 2.0 * np.asarray([1e-4, 1e-2] if fast else np.logspace(-5, 1, 7))
    # the lecture's lambda: halving is exact, so l2 = 2 lambda gives back these very floats
    keras_vals = [float(v) / 2.0 for v in l2_vals]
    if epochs is None:
        epochs = 10 if fast else 100
    X_tr, X_te, y_tr, y_te = digits_data(seed, n_subset, dtype)
    shape = (len(eta_vals), len(l2_vals))
    train_acc, test_acc = np.full(shape, np.nan), np.full(shape, np.nan)
    total = compiling = 0.0
    for i, eta in enumerate(eta_vals):
        for j, l2 in enumerate(l2_vals):
            model = _digits_model(float(eta), float(l2), seed)
            # large eta diverges on purpose: fit stops at the first non-finite step
            # and says so in the History; silence the warnings on the way
            with Timer() as tm, np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                history = model.fit(X_tr, y_tr, epochs=epochs, batch_size=batch_size, verbose=0)
            diverged = history.nonfinite
            total += tm.seconds - history.compile_time
            compiling += history.compile_time
            if not diverged:
                train_acc[i, j] = accuracy(model.predict(X_tr), y_tr)
                test_acc[i, j] = accuracy(model.predict(X_te), y_te)
    best = np.unravel_index(np.nanargmax(np.where(np.isfinite(test_acc), test_acc, -1)),
                            shape)
    numbers = {
        "best test accuracy": float(test_acc[best]),
        "best eta": float(eta_vals[best[0]]),
        "best lambda": keras_vals[best[1]],
        "cells with test accuracy >= 95%": int(np.sum(test_acc >= 0.95)),
        "cells": int(test_acc.size),
        "diverged cells": int(np.sum(~np.isfinite(test_acc))),
        "grid wall time numbacnn (s)": total,
        "kernel compile seconds (before training, not in the time above)": compiling,
    }
    rows = []
    for i, eta in enumerate(eta_vals):
        for j, lam in enumerate(keras_vals):
            rows.append({"eta": float(eta), "lambda": lam,
                         "train accuracy": float(train_acc[i, j]),
                         "test accuracy": float(test_acc[i, j])})
    figures = {
        "digits_train_accuracy": _heatmap(train_acc, eta_vals, keras_vals, "Training accuracy"),
        "digits_test_accuracy": _heatmap(test_acc, eta_vals, keras_vals, "Test accuracy"),
    }
    notes = [
        f"Best test accuracy {numbers['best test accuracy']:.3f} at eta="
        f"{numbers['best eta']:.0e}, lambda={numbers['best lambda']:.0e}; "
        f"{numbers['cells with test accuracy >= 95%']} of {test_acc.size} cells reach 95%.",
    ]
    if numbers["diverged cells"]:
        notes.append(f"{numbers['diverged cells']} cell(s) diverged (marked 'div.'): large "
                     "learning rates on raw 0..16 pixels blow the loss up.")
    if np.any(test_acc < 0.2):
        notes.append("Cells near chance (10%): a large lambda shrinks every weight towards "
                     "zero, or a tiny eta has not moved them in 100 epochs.")
    return ExperimentResult(
        name="digits_grid_search",
        title="Experiment 1: the lecture's Keras digits CNN, grid over eta and lambda",
        # rounded for display: logspace gives 9.999999999999999e-06 for 1e-5
        settings={"eta_vals": [float(f"{v:.6g}") for v in eta_vals],
                  "l2_vals": [float(f"{v:.6g}") for v in l2_vals], "epochs": epochs,
                  "batch_size": batch_size, "seed": seed, "dtype": np.dtype(dtype).name,
                  "n_train": len(X_tr), "n_test": len(X_te), "fast": fast},
        numbers=numbers, table=rows, figures=figures, notes=notes)


# --------------------------------------------------------------------------- 2: lecture CNN
def mnist_data(seed, n_subset=None):
    """The bundled 10,000 MNIST images (float32 in [0, 1]), split 75/25 as the lecture.

    Returns ``X_train, X_test, y_train, y_test`` of the first ``n_subset``
    images, split with ``random_state=seed`` (scikit-learn's default test size).
    """
    from ..datasets import load_mnist

    X, y = load_mnist()
    if n_subset is not None:
        X, y = X[:n_subset], y[:n_subset]
    return _split(X, y, 0.25, seed)


def _lecture_model(seed, l2=1e-5):
    from .. import Sequential
    from ..architectures import lecture_numpy_cnn
    from ..optimizers import Adam

    # the lecture's lam W on the dense weight gradients is numbacnn's l2 = lam
    return Sequential(lecture_numpy_cnn(10), optimizer=Adam(eta=1e-3), l2=l2, seed=seed)


def lecture_cnn_mnist(seeds=None, epochs=None, batches=10, n_subset=None, fast=None):
    """Experiment 2: the lecture's own CNN on the 10,000 bundled MNIST images.

    :func:`numbacnn.architectures.lecture_numpy_cnn`: one 3x3 'same' feature
    map with leaky ReLU (slope 1e-3), Dense 30 and 20 (leaky ReLU), softmax
    output; Adam(1e-3), L2 1e-5 on the dense weights,
    ``batches`` mini-batches per epoch (batch size ``ceil(n_train/10)``),
    float64 as the lecture; a 75/25 split that changes with the seed.

    Returns
    -------
    ExperimentResult
        ``numbers``: mean and standard deviation over seeds of the test and
        training accuracy.
    """
    fast = fast_mode(fast)
    if seeds is None:
        seeds = (0,) if fast else (0, 1, 2)
    if epochs is None:
        epochs = 10 if fast else 100
    if n_subset is None and fast:
        n_subset = 2000
    tests, trains, times, curves = [], [], [], []
    for seed in seeds:
        X_tr, X_te, y_tr, y_te = mnist_data(seed, n_subset)
        # float64, as the lecture's NumPy code
        X_tr, X_te = X_tr.astype(np.float64), X_te.astype(np.float64)
        batch = -(-len(X_tr) // batches)
        model = _lecture_model(seed)
        seconds, acc_tr, acc_val = 0.0, [], []
        for _ in range(epochs):
            # one epoch at a time, so the accuracy curves are measured outside the timer
            with Timer() as tm:
                hist = model.fit(X_tr, y_tr, epochs=1, batch_size=batch, verbose=0)
            seconds += tm.seconds - hist.compile_time
            acc_tr.append(hist.history["accuracy"][0])
            acc_val.append(model.evaluate(X_te, y_te)["accuracy"])
        times.append(seconds)
        curves.append((acc_tr, acc_val))
        trains.append(accuracy(model.predict(X_tr), y_tr))
        tests.append(accuracy(model.predict(X_te), y_te))
    m, s = mean_std(tests)
    mt, st = mean_std(trains)
    numbers = {"test accuracy mean": m, "test accuracy std": s,
               "train accuracy mean": mt, "train accuracy std": st,
               "seconds per epoch": float(np.sum(times) / (epochs * len(seeds)))}
    fig, ax = new_figure()
    for k, (a_tr, a_val) in enumerate(curves):
        ax.plot(a_tr, color=f"C{k}", lw=1, label=f"training (seed {seeds[k]})")
        ax.plot(a_val, color=f"C{k}", lw=1, ls="--", label=f"validation (seed {seeds[k]})")
    ax.set_ylim(0.8, 1.0)
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.legend(fontsize=7)
    ax.set_title("The lecture's CNN on MNIST")
    notes = [
        f"Test accuracy {m:.3f} +/- {s:.3f} over {len(seeds)} seed(s); training accuracy "
        f"{mt:.3f}. The lecture claims about 99%: that is "
        + ("what the training accuracy reaches, not the accuracy on held-out images."
           if mt >= 0.985 else "reached by neither the training nor the test accuracy."),
        "The model is one 3x3 feature map followed by a 784-30-20-10 perceptron: "
        "essentially a small MLP on a lightly filtered image, trained on 7,500 images "
        "for only 1,000 Adam steps (10 batches per epoch). Such a network lands in the "
        "low 90s; 99% on MNIST needs many feature maps, pooling and more data.",
    ]
    return ExperimentResult(
        name="lecture_cnn_mnist",
        title="Experiment 2: the lecture's own CNN on 10,000 MNIST images",
        settings={"epochs": epochs, "batches per epoch": batches, "seeds": tuple(seeds),
                  "n_train": len(X_tr), "n_test": len(X_te), "fast": fast},
        numbers=numbers, figures={"lecture_cnn_curves": fig}, notes=notes)


# --------------------------------------------------------------------------- 3: small CNN
def _train_small_cnn(X_tr, y_tr, X_te, y_te, epochs, batch_size, seed):
    from .. import Sequential
    from ..architectures import small_cnn
    from ..optimizers import Adam

    model = Sequential(small_cnn(10), optimizer=Adam(eta=1e-3), seed=seed)
    epoch_times = []
    for _ in range(epochs):
        with Timer() as tm:
            hist = model.fit(X_tr, y_tr, epochs=1, batch_size=batch_size, verbose=0)
        epoch_times.append(tm.seconds - hist.compile_time)
    return {"test": accuracy(model.predict(X_te), y_te), "epoch_times": epoch_times}


def epoch_time(times):
    """Median epoch time, leaving out the first epoch when there are more (compilation)."""
    times = list(times)
    return float(np.median(times[1:] if len(times) > 1 else times))


def small_cnn_mnist(seeds=None, epochs=None, batch_size=64, n_subset=None, fast=None):
    """Experiment 3: a small CNN on the same 75/25 split of MNIST, float32.

    :func:`numbacnn.architectures.small_cnn`: Conv(32, 3x3) - pool - Conv(64,
    3x3) - pool - Dense(128) - Dense(10), ReLU, Adam(1e-3), batch 64.  Epoch
    time is the median over epochs after the first (which includes
    compilation when the cache is cold).
    """
    fast = fast_mode(fast)
    if seeds is None:
        seeds = (0,) if fast else (0, 1, 2)
    if epochs is None:
        epochs = 2 if fast else 15
    if n_subset is None and fast:
        n_subset = 2000
    runs = []
    for seed in seeds:
        X_tr, X_te, y_tr, y_te = mnist_data(seed, n_subset)
        runs.append(_train_small_cnn(X_tr, y_tr, X_te, y_te, epochs, batch_size, seed))
    return _small_cnn_result("small_cnn_mnist",
                             "Experiment 3: a small CNN on 10,000 MNIST images (75/25)",
                             runs, seeds, epochs, batch_size, len(X_tr), len(X_te), fast)


def _small_cnn_result(name, title, runs, seeds, epochs, batch_size, n_train, n_test, fast):
    m, s = mean_std([r["test"] for r in runs])
    t = epoch_time([x for r in runs for x in r["epoch_times"][1:]] or runs[0]["epoch_times"])
    numbers = {"test accuracy mean": m, "test accuracy std": s, "seconds per epoch": t}
    rows = [{"seed": sd, "test accuracy": r["test"],
             "s/epoch": epoch_time(r["epoch_times"])} for sd, r in zip(seeds, runs, strict=True)]
    fig, ax = new_figure(figsize=(5, 3.5))
    for k, r in enumerate(runs):
        ax.plot(np.arange(1, epochs + 1), r["epoch_times"], "o-", color=f"C{k}",
                label=f"numbacnn seed {seeds[k]}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("seconds")
    ax.set_title("Epoch time (the first epoch includes compilation)")
    ax.legend(fontsize=7)
    return ExperimentResult(
        name=name, title=title,
        settings={"epochs": epochs, "batch_size": batch_size, "seeds": tuple(seeds),
                  "n_train": n_train, "n_test": n_test, "dtype": "float32", "fast": fast},
        numbers=numbers, table=rows, figures={f"{name}_epoch_time": fig},
        notes=[f"Test accuracy {m:.4f} +/- {s:.4f}; {t:.2f} s per epoch."])


# --------------------------------------------------------------------------- 4: Fashion-MNIST
def fashion_mnist(epochs=None, batch_size=64, seed=0, n_train=None, n_test=None, path=None,
                  fast=None):
    """Experiment 4: the small CNN of experiment 3 on Fashion-MNIST (60,000 / 10,000).

    The data come from :func:`numbacnn.datasets.load_fashion_mnist` (the
    Debian package ``dataset-fashion-mnist``'s idx files, or ``path``).
    """
    from ..datasets import load_fashion_mnist

    fast = fast_mode(fast)
    if epochs is None:
        epochs = 1 if fast else 5
    if fast:
        n_train, n_test = n_train or 2000, n_test or 500
    X_tr, y_tr = load_fashion_mnist(path, split="train")
    X_te, y_te = load_fashion_mnist(path, split="test")
    X_tr, y_tr, X_te, y_te = X_tr[:n_train], y_tr[:n_train], X_te[:n_test], y_te[:n_test]
    run = _train_small_cnn(X_tr, y_tr, X_te, y_te, epochs, batch_size, seed)
    return _small_cnn_result("fashion_mnist", "Experiment 4: the small CNN on Fashion-MNIST",
                             [run], (seed,), epochs, batch_size, len(X_tr), len(X_te), fast)


# --------------------------------------------------------------------------- 8: CIFAR-10
def cifar_timing_data(seed, batch_size, timing_batches):
    """Random CIFAR-shaped images and labels for ``timing_batches + 1`` batches.

    ``X`` is float32 in [0, 1) of shape ``(batch_size * (timing_batches + 1),
    3, 32, 32)``, ``y`` integer labels 0..9, both drawn from
    ``numpy.random.default_rng(seed)``.
    """
    rng = np.random.default_rng(seed)
    X = rng.random((batch_size * (timing_batches + 1), 3, 32, 32), dtype=np.float32)
    return X, rng.integers(0, 10, len(X))


def cifar10(path=None, epochs=None, batch_size=32, timing_batches=None, n_train=None,
            seed=0, fast=None):
    """Experiment 8: the lecture's CIFAR-10 model -- shapes, per-epoch cost, and training.

    The model is :func:`numbacnn.architectures.cifar_cnn`.
    The model's layer shapes and parameter counts are always reported, and
    the cost of one epoch (50,000 images, batch 32, Adam) is extrapolated from
    ``timing_batches`` training steps on CIFAR-shaped random data.  When
    ``path`` holds the python version of CIFAR-10 (``data_batch_1..5``,
    ``test_batch``), the model is also trained for ``epochs`` epochs on it
    (``n_train`` images) and its test accuracy reported.
    """
    from .. import Sequential
    from ..architectures import cifar_cnn
    from ..optimizers import Adam

    fast = fast_mode(fast)
    if epochs is None:
        epochs = 1 if fast else 10
    if timing_batches is None:
        timing_batches = 3 if fast else 30
    model = Sequential(cifar_cnn(10), optimizer=Adam(eta=1e-3), seed=seed)
    model.build((3, 32, 32), dtype=np.float32)
    rows, shape = [], (3, 32, 32)
    for layer in model.layers:
        shape = layer.output_shape
        rows.append({"layer": type(layer).__name__, "output shape": str(tuple(shape)),
                     "parameters": int(layer.n_params)})
    n_params = int(sum(r["parameters"] for r in rows))
    Xr, yr = cifar_timing_data(seed, batch_size, timing_batches)
    # one warm-up batch (compilation) then the timed ones
    model.fit(Xr[:batch_size], yr[:batch_size], epochs=1, batch_size=batch_size, verbose=0)
    with Timer() as tm:
        model.fit(Xr[batch_size:], yr[batch_size:], epochs=1, batch_size=batch_size,
                  verbose=0)
    per_batch = tm.seconds / timing_batches
    steps = -(-50000 // batch_size)
    numbers = {"parameters": n_params, f"seconds per batch of {batch_size}": per_batch,
               "extrapolated seconds per epoch (50,000 images)": per_batch * steps}
    notes = ["Without a CIFAR-10 folder (path=None) the model is not trained; the cost "
             "per epoch is extrapolated from timed batches of random 32x32x3 images."]
    figures = {}
    if path is not None:
        from ..datasets import load_cifar10

        X_tr, y_tr = load_cifar10(path, split="train")
        X_te, y_te = load_cifar10(path, split="test")
        X_tr, y_tr = X_tr[:n_train], y_tr[:n_train]
        model = Sequential(cifar_cnn(10), optimizer=Adam(eta=1e-3), seed=seed)
        hist = model.fit(X_tr, y_tr, epochs=epochs, batch_size=batch_size, verbose=0,
                         validation_data=(X_te, y_te))
        numbers["test accuracy"] = accuracy(model.predict(X_te), y_te)
        numbers["n_train"] = len(X_tr)
        fig, ax = new_figure(figsize=(5, 3.5))
        ax.plot(hist.history["accuracy"], label="accuracy")
        ax.plot(hist.history["val_accuracy"], label="val_accuracy")
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy")
        ax.legend()
        figures["cifar10_curves"] = fig
        notes = [f"Trained on {len(X_tr)} CIFAR-10 images read from {path}."]
    return ExperimentResult(
        name="cifar10", title="Experiment 8: the lecture's CIFAR-10 model",
        settings={"batch_size": batch_size, "timing_batches": timing_batches,
                  "epochs": epochs, "path": str(path), "fast": fast},
        numbers=numbers, table=rows, figures=figures, notes=notes)
