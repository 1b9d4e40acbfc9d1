"""The lecture's experiments beside their PyTorch twins, each library in its own process.

:func:`run` runs the numbacnn experiment
(:data:`numbacnn.experiments.EXPERIMENTS`) unchanged in a child process, then
trains the same models in PyTorch (``torch_twins.py``) in this process, on the
same data, and adds the torch numbers, table columns and figure lines to its
result: the tables in ``docs/_generated/experiments/`` are written from these
results by ``run_experiments.py --compare-torch``.  Needs torch (the ``bench``
extra).

So that neither library's thread pools sit beside the other's, numba's
kernels run only in the child (started with ``spawn``: a fresh interpreter)
and torch only here; neither gets a setting the other does not have.  Each
twin receives the experiment's result and its arguments (defaults filled in);
the sizes that fast mode chooses are read back from ``result.settings``.
"""

import inspect
import math
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch_twins as tw

from numbacnn.experiments import EXPERIMENTS
from numbacnn.experiments import images as im
from numbacnn.experiments import sequences as sq
from numbacnn.experiments._common import mean_std

__all__ = ["run", "TWINS"]


def _insert_after(numbers, key, new):
    """``numbers`` with the items of ``new`` placed right after ``key`` (in place)."""
    items = list(numbers.items())
    at = [k for k, _ in items].index(key) + 1
    merged = items[:at] + list(new.items()) + items[at:]
    numbers.clear()
    numbers.update(merged)


def _digits(result, args):
    st = result.settings
    X_tr, X_te, y_tr, y_te = im.digits_data(args["seed"], args["n_subset"], args["dtype"])
    total = 0.0
    for row in result.table:
        # the table's lambda is the lecture's, numbacnn's l2 = 2 lambda (exact)
        r = tw.train(tw.lecture_cnn(side=X_tr.shape[-1]), X_tr, y_tr, task="classify",
                     optimizer="sgd", eta=row["eta"], epochs=st["epochs"],
                     batch_size=args["batch_size"], l2=2.0 * row["lambda"], seed=args["seed"],
                     dtype=args["dtype"], X_test=X_te, y_test=y_te)
        total += r["seconds"]
        row["torch test accuracy"] = float("nan") if r["diverged"] else r["test_accuracy"]
    acc = np.array([row["torch test accuracy"] for row in result.table])
    n = result.numbers
    n["grid wall time torch (s)"] = total
    n["wall time ratio numbacnn/torch"] = n["grid wall time numbacnn (s)"] / total
    n["torch best test accuracy"] = float(np.nanmax(acc))
    n["torch cells with test accuracy >= 95%"] = int(np.sum(acc >= 0.95))


def _lecture(result, args):
    st = result.settings
    n_subset = st["n_train"] + st["n_test"]
    tests, seconds = [], 0.0
    for seed in st["seeds"]:
        X_tr, X_te, y_tr, y_te = im.mnist_data(seed, n_subset)
        X_tr, X_te = X_tr.astype(np.float64), X_te.astype(np.float64)
        r = tw.train(tw.lecture_numpy_cnn(), X_tr, y_tr, task="classify", optimizer="adam",
                     eta=1e-3, epochs=st["epochs"], batch_size=-(-len(X_tr) // args["batches"]),
                     seed=seed, dtype=np.float64, X_test=X_te, y_test=y_te)
        tests.append(r["test_accuracy"])
        seconds += r["seconds"]
    n = result.numbers
    ours = n["seconds per epoch"] * st["epochs"] * len(st["seeds"])
    n["torch test accuracy mean"], n["torch test accuracy std"] = mean_std(tests)
    n["time ratio numbacnn/torch"] = ours / seconds


def _small_cnn_twin(X_tr, y_tr, X_te, y_te, epochs, batch_size, seed):
    r = tw.train(tw.small_cnn(X_tr.shape[1], X_tr.shape[-1]), X_tr, y_tr, task="classify",
                 optimizer="adam", eta=1e-3, epochs=epochs, batch_size=batch_size, seed=seed,
                 dtype=np.float32, X_test=X_te, y_test=y_te)
    return {"test": r["test_accuracy"], "epoch_times": r["epoch_seconds"]}


def _merge_small_cnn(result, runs):
    """Torch columns, numbers and epoch-time lines for experiments 3 and 4."""
    st, n = result.settings, result.numbers
    mt, s = mean_std([r["test"] for r in runs])
    tt = im.epoch_time([x for r in runs for x in r["epoch_times"][1:]]
                       or runs[0]["epoch_times"])
    n.update({"torch test accuracy mean": mt, "torch test accuracy std": s,
              "torch seconds per epoch": tt,
              "epoch time ratio numbacnn/torch": n["seconds per epoch"] / tt})
    for row, r in zip(result.table, runs, strict=True):
        row["torch test accuracy"] = r["test"]
        row["torch s/epoch"] = im.epoch_time(r["epoch_times"])
    ax = result.figures[f"{result.name}_epoch_time"].axes[0]
    epochs = np.arange(1, st["epochs"] + 1)
    for k, (seed, r) in enumerate(zip(st["seeds"], runs, strict=True)):
        ax.plot(epochs, r["epoch_times"], "s--", color=f"C{k}", label=f"torch seed {seed}")
    ax.legend(fontsize=7)


def _small_cnn(result, args):
    st = result.settings
    n_subset = st["n_train"] + st["n_test"]
    runs = []
    for seed in st["seeds"]:
        X_tr, X_te, y_tr, y_te = im.mnist_data(seed, n_subset)
        runs.append(_small_cnn_twin(X_tr, y_tr, X_te, y_te, st["epochs"], st["batch_size"],
                                    seed))
    _merge_small_cnn(result, runs)


def _fashion(result, args):
    from numbacnn.datasets import load_fashion_mnist

    st = result.settings
    X_tr, y_tr = load_fashion_mnist(args["path"], split="train")
    X_te, y_te = load_fashion_mnist(args["path"], split="test")
    X_tr, y_tr = X_tr[:st["n_train"]], y_tr[:st["n_train"]]
    X_te, y_te = X_te[:st["n_test"]], y_te[:st["n_test"]]
    seed = st["seeds"][0]
    _merge_small_cnn(result, [_small_cnn_twin(X_tr, y_tr, X_te, y_te, st["epochs"],
                                              st["batch_size"], seed)])


def _noisy_sine(result, args):
    st = result.settings
    d = sq.sine_data(n=args["n"], n_train=args["n_train"], step=st["step"], seed=st["seed"])
    readings = sq.sine_readings(st["step"])
    for row in result.table:
        row["torch test MSE"] = ""
    for k, (reading, shape) in enumerate(readings.items()):
        Xtr = d["X_train"].reshape((-1,) + shape)
        Xte = d["X_test"].reshape((-1,) + shape)
        r = tw.train(tw.rnn_regressor(shape[1]), Xtr, d["y_train"][:, None], task="regress",
                     optimizer="rmsprop", eta=st["eta"], epochs=st["epochs"],
                     batch_size=st["batch_size"], seed=st["seed"], dtype=np.float64,
                     X_test=Xte, y_test=d["y_test"][:, None])
        _insert_after(result.numbers, f"RNN train seconds ({reading} reading)", {
            f"torch RNN test MSE ({reading} reading)": r["test_mse"],
            f"torch train seconds ({reading} reading)": r["seconds"]})
        result.table[k]["torch test MSE"] = r["test_mse"]


def _oscillator(result, args):
    st = result.settings
    length, n_train, epochs = st["length"], st["n_train"], st["epochs"]
    # the windows run from length to n_steps + 1 values: recover the series length
    n_steps = st["n_test"] + length + n_train - 1
    p = sq.oscillator_problem(length, n_steps, n_train, st["rollout_steps"], st["target"])
    truth = p["truth"]
    for row, kind in zip(result.table, args["kinds"], strict=True):
        net = tw.recurrent_net(kind, hidden=st["hidden"])
        r = tw.train(net, p["X_train"], p["T_train"], task="regress", optimizer="adam",
                     eta=st["eta"], epochs=epochs, batch_size=st["batch_size"],
                     seed=args["seed"], dtype=np.float64)
        predict = p["as_state"](lambda W, m=r["model"]: tw.predict(m, W, np.float64))
        one = float(np.mean((predict(p["X_test"]) - p["Y_test"]) ** 2))
        roll = sq.rollout(predict, p["series"], p["start"], length, p["rollout_steps"],
                          p["omega"], p["dt"])
        row["torch one-step MSE"] = one
        row["torch rollout MSE(x)"] = float(np.mean((roll[:, 0] - truth[:, 0]) ** 2))
        row["torch s/epoch"] = r["seconds"] / epochs
        ours = result.numbers[f"{kind} seconds per epoch"] * epochs
        _insert_after(result.numbers, f"{kind} seconds per epoch", {
            f"torch {kind} one-step test MSE": one,
            f"time ratio numbacnn/torch ({kind})": ours / r["seconds"]})


def _cifar(result, args):
    st = result.settings
    batch_size = st["batch_size"]
    X, y = im.cifar_timing_data(args["seed"], batch_size, st["timing_batches"])
    # two epochs over the timing batches; the second (warm) one is timed
    r = tw.train(tw.cifar_cnn(), X, y, task="classify", optimizer="adam", eta=1e-3,
                 epochs=2, batch_size=batch_size, seed=args["seed"], dtype=np.float32)
    t_batch = r["epoch_seconds"][1] / (len(X) // batch_size)
    steps = math.ceil(50000 / batch_size)
    ours = result.numbers[f"seconds per batch of {batch_size}"]
    _insert_after(result.numbers, "extrapolated seconds per epoch (50,000 images)", {
        "torch seconds per batch": t_batch,
        "torch extrapolated seconds per epoch": t_batch * steps,
        "time ratio numbacnn/torch": ours / t_batch})


#: experiment name -> function adding the torch side to its result (in place)
TWINS = {
    "digits_grid_search": _digits,
    "lecture_cnn_mnist": _lecture,
    "small_cnn_mnist": _small_cnn,
    "fashion_mnist": _fashion,
    "noisy_sine": _noisy_sine,
    "oscillator": _oscillator,
    "cifar10": _cifar,
}


def run(name, fast=None, **kwargs):
    """Run experiment ``name`` in numbacnn (a child process), then its torch twin; merge.

    ``kwargs`` go to the experiment function.  Experiments without a twin
    (``vanishing_gradients``) are returned as numbacnn computed them.
    """
    fn = EXPERIMENTS[name]
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as child:
        result = child.submit(fn, fast=fast, **kwargs).result()
    if name in TWINS:
        bound = inspect.signature(fn).bind(fast=fast, **kwargs)
        bound.apply_defaults()
        TWINS[name](result, bound.arguments)
    return result
