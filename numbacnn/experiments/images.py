"""The lecture's image experiments: digits grid search, MNIST, Fashion-MNIST, CIFAR-10.

* :func:`digits_grid_search` -- experiment 1, the Keras digits CNN over an
  :math:`(\\eta, \\lambda)` grid;
* :func:`lecture_cnn_mnist` -- experiment 2, the lecture's own NumPy CNN;
* :func:`small_cnn_mnist` -- experiment 3, a small modern CNN on the same split;
* :func:`fashion_mnist` -- experiment 4, the same CNN at 60,000 images;
* :func:`cifar10` -- experiment 8, the lecture's CIFAR-10 model: shapes and cost.

Every function trains numbacnn models through :class:`numbacnn.Sequential`;
with ``compare_torch=True`` the same models are trained in PyTorch in the same
run (see :mod:`numbacnn.experiments._torch_reference`) and the time ratios
are reported.  See :doc:`/experiments`.
"""

import numpy as np

from ._common import (
    ExperimentResult,
    Timer,
    accuracy,
    fast_mode,
    mean_std,
    new_figure,
    torch_reference,
)

__all__ = [
    "digits_grid_search",
    "lecture_cnn_mnist",
    "small_cnn_mnist",
    "fashion_mnist",
    "cifar10",
    "small_cnn_layers",
    "cifar_layers",
]


def _split(X, y, test_size, seed):
    from sklearn.model_selection import train_test_split

    return train_test_split(X, y, test_size=test_size, random_state=seed)


# --------------------------------------------------------------------------- 1: digits
def _digits_model(eta, lmbd, seed):
    from .. import Sequential
    from ..layers import Conv2D, Dense, Flatten, MaxPool2D
    from ..optimizers import SGD

    # Keras' regularizers.l2(lmbd) penalises lmbd ||W||^2; numbacnn's l2 penalises
    # l2/2 ||W||^2, so the lecture's lambda is l2 = 2 lmbd here
    return Sequential(
        [Conv2D(10, 3, padding="same", activation="relu"), MaxPool2D(2), Flatten(),
         Dense(50, activation="relu"), Dense(10, activation="softmax")],
        optimizer=SGD(eta=eta), l2=2.0 * lmbd, seed=seed)


def _heatmap(values, eta_vals, lmbd_vals, title):
    fig, ax = new_figure(figsize=(6.5, 5.5))
    shown = np.where(np.isfinite(values), values, np.nan)
    im = ax.imshow(shown, cmap="viridis", vmin=0.0, vmax=1.0, origin="upper")
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            text = "div." if not np.isfinite(v) else f"{v:.3f}"
            colour = "black" if np.isfinite(v) and v > 0.6 else "white"
            ax.text(j, i, text, ha="center", va="center", fontsize=7, color=colour)
    ax.set_xticks(range(len(lmbd_vals)), [f"{v:.0e}" for v in lmbd_vals], rotation=45)
    ax.set_yticks(range(len(eta_vals)), [f"{v:.0e}" for v in eta_vals])
    ax.set_xlabel(r"$\lambda$")
    ax.set_ylabel(r"$\eta$")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label="accuracy")
    return fig


def digits_grid_search(eta_vals=None, lmbd_vals=None, epochs=None, batch_size=100,
                       seed=0, n_subset=None, fast=None, compare_torch=False,
                       dtype=np.float32):
    """Experiment 1: the lecture's Keras digits CNN over a grid of :math:`(\\eta, \\lambda)`.

    Conv2D(10, 3x3, 'same', ReLU) - MaxPool 2x2 - Dense(50, ReLU) - Dense(10,
    softmax), L2 ``lmbd`` on every weight (Keras convention), plain SGD,
    batch 100, on scikit-learn's 8x8 digits with raw 0..16 pixels and an
    80/20 split.  A cell whose loss becomes NaN/inf is marked diverged.

    Parameters
    ----------
    eta_vals, lmbd_vals : sequence of float, optional
        Default ``logspace(-5, 1, 7)`` each (fast mode: ``eta`` in {1e-2, 1e-1},
        ``lmbd`` in {1e-4, 1e-2}).
    epochs : int, optional
        Default 100 (fast mode 10).
    n_subset : int, optional
        Use only the first ``n_subset`` of the 1797 images (for quick checks).
    compare_torch : bool
        Train every cell in PyTorch too and report the grid's wall-time ratio.

    Returns
    -------
    ExperimentResult
        ``numbers``: best test accuracy and its cell, the number of cells at
        or above 95 %, grid wall time; ``figures``: train and test heatmaps.
    """
    from ..datasets import load_digits_images

    fast = fast_mode(fast)
    if eta_vals is None:
        eta_vals = [1e-2, 1e-1] if fast else np.logspace(-5, 1, 7)
    if lmbd_vals is None:
        lmbd_vals = [1e-4, 1e-2] if fast else np.logspace(-5, 1, 7)
    if epochs is None:
        epochs = 10 if fast else 100
    X, y = load_digits_images()
    X, y = X[:n_subset].astype(dtype), y[:n_subset]
    X_tr, X_te, y_tr, y_te = _split(X, y, 0.2, seed)
    shape = (len(eta_vals), len(lmbd_vals))
    train_acc, test_acc = np.full(shape, np.nan), np.full(shape, np.nan)
    torch_test = np.full(shape, np.nan)
    total, torch_total = 0.0, 0.0
    tr = torch_reference() if compare_torch else None
    for i, eta in enumerate(eta_vals):
        for j, lmbd in enumerate(lmbd_vals):
            model = _digits_model(float(eta), float(lmbd), seed)
            # large eta diverges on purpose: silence NumPy's overflow warnings on the way
            with Timer() as tm, np.errstate(all="ignore"):
                try:
                    model.fit(X_tr, y_tr, epochs=epochs, batch_size=batch_size, verbose=0)
                    diverged = False
                except FloatingPointError:
                    diverged = True
            total += tm.seconds
            if not diverged:
                train_acc[i, j] = accuracy(model.predict(X_tr), y_tr)
                test_acc[i, j] = accuracy(model.predict(X_te), y_te)
            if tr is not None:
                r = tr.train(tr.digits_cnn(), X_tr, y_tr, task="classify", optimizer="sgd",
                             eta=float(eta), epochs=epochs, batch_size=batch_size,
                             l2=2.0 * float(lmbd), seed=seed, dtype=dtype,
                             X_test=X_te, y_test=y_te)
                torch_total += r["seconds"]
                if not r["diverged"]:
                    torch_test[i, j] = r["test_accuracy"]
    best = np.unravel_index(np.nanargmax(np.where(np.isfinite(test_acc), test_acc, -1)),
                            shape)
    numbers = {
        "best test accuracy": float(test_acc[best]),
        "best eta": float(eta_vals[best[0]]),
        "best lambda": float(lmbd_vals[best[1]]),
        "cells with test accuracy >= 95%": int(np.sum(test_acc >= 0.95)),
        "cells": int(test_acc.size),
        "diverged cells": int(np.sum(~np.isfinite(test_acc))),
        "grid wall time numbacnn (s)": total,
    }
    rows = []
    for i, eta in enumerate(eta_vals):
        for j, lmbd in enumerate(lmbd_vals):
            row = {"eta": float(eta), "lambda": float(lmbd),
                   "train accuracy": float(train_acc[i, j]),
                   "test accuracy": float(test_acc[i, j])}
            if tr is not None:
                row["torch test accuracy"] = float(torch_test[i, j])
            rows.append(row)
    if tr is not None:
        numbers["grid wall time torch (s)"] = torch_total
        numbers["wall time ratio numbacnn/torch"] = total / torch_total
        numbers["torch best test accuracy"] = float(np.nanmax(torch_test))
        numbers["torch cells with test accuracy >= 95%"] = int(np.sum(torch_test >= 0.95))
    figures = {
        "digits_train_accuracy": _heatmap(train_acc, eta_vals, lmbd_vals, "Training accuracy"),
        "digits_test_accuracy": _heatmap(test_acc, eta_vals, lmbd_vals, "Test accuracy"),
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
                  "lmbd_vals": [float(f"{v:.6g}") for v in lmbd_vals], "epochs": epochs,
                  "batch_size": batch_size, "seed": seed, "dtype": np.dtype(dtype).name,
                  "n_train": len(X_tr), "n_test": len(X_te), "fast": fast},
        numbers=numbers, table=rows, figures=figures, notes=notes)


# --------------------------------------------------------------------------- 2: lecture CNN
def _mnist_split(seed, n_subset=None):
    from ..datasets import load_mnist

    X, y = load_mnist()  # the bundled 10,000 images, float32 in [0, 1]
    if n_subset is not None:
        X, y = X[:n_subset], y[:n_subset]
    # the lecture's train_test_split default: 75 % train, 25 % test
    return _split(X, y, 0.25, seed)


def _lecture_model(seed, lmbd=1e-5, alpha=1e-3):
    from .. import Sequential
    from ..activations import LeakyReLU
    from ..layers import Conv2D, Dense, Flatten
    from ..optimizers import Adam

    # the lecture's LRELU has slope 10e-4 = 1e-3, and its lam is added to the dense
    # layers' weight gradients only (lam W): numbacnn's l2 with the conv layer exempt
    return Sequential(
        [Conv2D(1, 3, padding="same", activation=LeakyReLU(alpha), l2=0.0), Flatten(),
         Dense(30, activation=LeakyReLU(alpha)), Dense(20, activation=LeakyReLU(alpha)),
         Dense(10, activation="softmax")],
        optimizer=Adam(eta=1e-3), l2=lmbd, seed=seed)


def lecture_cnn_mnist(seeds=None, epochs=None, batches=10, n_subset=None, fast=None,
                      compare_torch=False):
    """Experiment 2: the lecture's own CNN on the 10,000 bundled MNIST images.

    One 3x3 'same' feature map with leaky ReLU (slope 1e-3), Dense 30 and 20
    (leaky ReLU), softmax output; Adam(1e-3), L2 1e-5 on the dense weights,
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
    tests, trains, times, torch_tests, torch_times, curves = [], [], [], [], [], []
    tr = torch_reference() if compare_torch else None
    for seed in seeds:
        X_tr, X_te, y_tr, y_te = _mnist_split(seed, n_subset)
        # float64, as the lecture's NumPy code
        X_tr, X_te = X_tr.astype(np.float64), X_te.astype(np.float64)
        batch = -(-len(X_tr) // batches)
        model = _lecture_model(seed)
        seconds, acc_tr, acc_val = 0.0, [], []
        for _ in range(epochs):
            # one epoch at a time, so the accuracy curves are measured outside the timer
            with Timer() as tm:
                hist = model.fit(X_tr, y_tr, epochs=1, batch_size=batch, verbose=0)
            seconds += tm.seconds
            acc_tr.append(hist.history["accuracy"][0])
            acc_val.append(model.evaluate(X_te, y_te)["accuracy"])
        times.append(seconds)
        curves.append((acc_tr, acc_val))
        trains.append(accuracy(model.predict(X_tr), y_tr))
        tests.append(accuracy(model.predict(X_te), y_te))
        if tr is not None:
            r = tr.train(tr.lecture_cnn(), X_tr, y_tr, task="classify", optimizer="adam",
                         eta=1e-3, epochs=epochs, batch_size=batch, seed=seed,
                         dtype=np.float64, X_test=X_te, y_test=y_te)
            torch_tests.append(r["test_accuracy"])
            torch_times.append(r["seconds"])
    m, s = mean_std(tests)
    mt, st = mean_std(trains)
    numbers = {"test accuracy mean": m, "test accuracy std": s,
               "train accuracy mean": mt, "train accuracy std": st,
               "seconds per epoch": float(np.sum(times) / (epochs * len(seeds)))}
    if tr is not None:
        numbers["torch test accuracy mean"], numbers["torch test accuracy std"] = mean_std(
            torch_tests)
        numbers["time ratio numbacnn/torch"] = float(np.sum(times) / np.sum(torch_times))
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
def small_cnn_layers(n_classes=10):
    """conv 32 3x3 ReLU - maxpool 2 - conv 64 3x3 ReLU - maxpool 2 - dense 128 - dense 10."""
    from ..layers import Conv2D, Dense, Flatten, MaxPool2D

    return [Conv2D(32, 3, activation="relu"), MaxPool2D(2),
            Conv2D(64, 3, activation="relu"), MaxPool2D(2), Flatten(),
            Dense(128, activation="relu"), Dense(n_classes, activation="softmax")]


def _train_small_cnn(X_tr, y_tr, X_te, y_te, epochs, batch_size, seed, tr):
    from .. import Sequential
    from ..optimizers import Adam

    model = Sequential(small_cnn_layers(), optimizer=Adam(eta=1e-3), seed=seed)
    epoch_times = []
    for _ in range(epochs):
        with Timer() as tm:
            model.fit(X_tr, y_tr, epochs=1, batch_size=batch_size, verbose=0)
        epoch_times.append(tm.seconds)
    out = {"test": accuracy(model.predict(X_te), y_te), "epoch_times": epoch_times}
    if tr is not None:
        r = tr.train(tr.small_cnn(), X_tr, y_tr, task="classify", optimizer="adam", eta=1e-3,
                     epochs=epochs, batch_size=batch_size, seed=seed, dtype=np.float32,
                     X_test=X_te, y_test=y_te)
        out["torch_test"] = r["test_accuracy"]
        out["torch_epoch_times"] = r["epoch_seconds"]
    return out


def _epoch_time(times):
    """Median epoch time, leaving out the first epoch when there are more (compilation)."""
    times = list(times)
    return float(np.median(times[1:] if len(times) > 1 else times))


def small_cnn_mnist(seeds=None, epochs=None, batch_size=64, n_subset=None, fast=None,
                    compare_torch=False):
    """Experiment 3: a small CNN on the same 75/25 split of MNIST, float32.

    Conv(32, 3x3) - pool - Conv(64, 3x3) - pool - Dense(128) - Dense(10), ReLU,
    Adam(1e-3), batch 64.  Epoch time is the median over epochs after the
    first (which includes compilation when the cache is cold).
    """
    fast = fast_mode(fast)
    if seeds is None:
        seeds = (0,) if fast else (0, 1, 2)
    if epochs is None:
        epochs = 2 if fast else 15
    if n_subset is None and fast:
        n_subset = 2000
    tr = torch_reference() if compare_torch else None
    runs = []
    for seed in seeds:
        X_tr, X_te, y_tr, y_te = _mnist_split(seed, n_subset)
        runs.append(_train_small_cnn(X_tr, y_tr, X_te, y_te, epochs, batch_size, seed, tr))
    return _small_cnn_result("small_cnn_mnist",
                             "Experiment 3: a small CNN on 10,000 MNIST images (75/25)",
                             runs, seeds, epochs, batch_size, len(X_tr), len(X_te), fast)


def _small_cnn_result(name, title, runs, seeds, epochs, batch_size, n_train, n_test, fast):
    m, s = mean_std([r["test"] for r in runs])
    t = _epoch_time([x for r in runs for x in r["epoch_times"][1:]] or runs[0]["epoch_times"])
    numbers = {"test accuracy mean": m, "test accuracy std": s, "seconds per epoch": t}
    rows = [{"seed": sd, "test accuracy": r["test"],
             "s/epoch": _epoch_time(r["epoch_times"])} for sd, r in zip(seeds, runs, strict=True)]
    if "torch_test" in runs[0]:
        mt, st = mean_std([r["torch_test"] for r in runs])
        tt = _epoch_time([x for r in runs for x in r["torch_epoch_times"][1:]]
                         or runs[0]["torch_epoch_times"])
        numbers.update({"torch test accuracy mean": mt, "torch test accuracy std": st,
                        "torch seconds per epoch": tt, "epoch time ratio numbacnn/torch": t / tt})
        for row, r in zip(rows, runs, strict=True):
            row["torch test accuracy"] = r["torch_test"]
            row["torch s/epoch"] = _epoch_time(r["torch_epoch_times"])
    fig, ax = new_figure(figsize=(5, 3.5))
    for k, r in enumerate(runs):
        ax.plot(np.arange(1, epochs + 1), r["epoch_times"], "o-", color=f"C{k}",
                label=f"numbacnn seed {seeds[k]}")
        if "torch_epoch_times" in r:
            ax.plot(np.arange(1, epochs + 1), r["torch_epoch_times"], "s--", color=f"C{k}",
                    label=f"torch seed {seeds[k]}")
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
                  fast=None, compare_torch=False):
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
    tr = torch_reference() if compare_torch else None
    run = _train_small_cnn(X_tr, y_tr, X_te, y_te, epochs, batch_size, seed, tr)
    return _small_cnn_result("fashion_mnist", "Experiment 4: the small CNN on Fashion-MNIST",
                             [run], (seed,), epochs, batch_size, len(X_tr), len(X_te), fast)


# --------------------------------------------------------------------------- 8: CIFAR-10
def cifar_layers():
    """The lecture's Keras CIFAR-10 model (logits out; softmax fused into the loss)."""
    from ..layers import Conv2D, Dense, Flatten, MaxPool2D

    return [Conv2D(32, 3, activation="relu"), MaxPool2D(2),
            Conv2D(64, 3, activation="relu"), MaxPool2D(2),
            Conv2D(64, 3, activation="relu"), Flatten(),
            Dense(64, activation="relu"), Dense(10, activation="softmax")]


def cifar10(path=None, epochs=None, batch_size=32, timing_batches=None, n_train=None,
            seed=0, fast=None, compare_torch=False):
    """Experiment 8: the lecture's CIFAR-10 model -- shapes, per-epoch cost, and training.

    The model's layer shapes and parameter counts are always reported, and
    the cost of one epoch (50,000 images, batch 32, Adam) is extrapolated from
    ``timing_batches`` training steps on CIFAR-shaped random data.  When
    ``path`` holds the python version of CIFAR-10 (``data_batch_1..5``,
    ``test_batch``), the model is also trained for ``epochs`` epochs on it
    (``n_train`` images) and its test accuracy reported.
    """
    from .. import Sequential
    from ..optimizers import Adam

    fast = fast_mode(fast)
    tr = torch_reference() if compare_torch else None
    if epochs is None:
        epochs = 1 if fast else 10
    if timing_batches is None:
        timing_batches = 3 if fast else 30
    rng = np.random.default_rng(seed)
    model = Sequential(cifar_layers(), optimizer=Adam(eta=1e-3), seed=seed)
    model.build((3, 32, 32), dtype=np.float32)
    rows, shape = [], (3, 32, 32)
    for layer in model.layers:
        shape = layer.output_shape
        rows.append({"layer": type(layer).__name__, "output shape": str(tuple(shape)),
                     "parameters": int(layer.n_params)})
    n_params = int(sum(r["parameters"] for r in rows))
    Xr = rng.random((batch_size * (timing_batches + 1), 3, 32, 32), dtype=np.float32)
    yr = rng.integers(0, 10, len(Xr))
    # one warm-up batch (compilation) then the timed ones
    model.fit(Xr[:batch_size], yr[:batch_size], epochs=1, batch_size=batch_size, verbose=0)
    with Timer() as tm:
        model.fit(Xr[batch_size:], yr[batch_size:], epochs=1, batch_size=batch_size,
                  verbose=0)
    per_batch = tm.seconds / timing_batches
    steps = -(-50000 // batch_size)
    numbers = {"parameters": n_params, f"seconds per batch of {batch_size}": per_batch,
               "extrapolated seconds per epoch (50,000 images)": per_batch * steps}
    if tr is not None:
        r = tr.train(tr.cifar_cnn(), Xr, yr, task="classify", optimizer="adam", eta=1e-3,
                     epochs=2, batch_size=batch_size, seed=seed, dtype=np.float32)
        t_batch = r["epoch_seconds"][1] / (len(Xr) // batch_size)
        numbers["torch seconds per batch"] = t_batch
        numbers["torch extrapolated seconds per epoch"] = t_batch * steps
        numbers["time ratio numbacnn/torch"] = per_batch / t_batch
    notes = ["CIFAR-10 cannot be downloaded on the machines this was run on; the cost "
             "per epoch is extrapolated from timed batches of random 32x32x3 images."]
    figures = {}
    if path is not None:
        from ..datasets import load_cifar10

        X_tr, y_tr = load_cifar10(path, split="train")
        X_te, y_te = load_cifar10(path, split="test")
        X_tr, y_tr = X_tr[:n_train], y_tr[:n_train]
        model = Sequential(cifar_layers(), optimizer=Adam(eta=1e-3), seed=seed)
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
