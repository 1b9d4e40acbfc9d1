"""The experiments in fast mode: their numbers against loose but meaningful thresholds.

Each experiment is run at a small size; the thresholds say what the
experiment is meant to show (well above chance, below a trivial baseline,
the right direction of growth), not a particular run's value.  The
heavy ones (whole CNN epochs) are skipped under ``NUMBA_DISABLE_JIT=1``,
where every convolution runs as plain Python; smaller smoke runs of the same
functions keep their code covered there.
"""

import gzip
import os
import pickle
import struct

import numpy as np
import pytest

from numbacnn.experiments import (
    EXPERIMENTS,
    ExperimentResult,
    cifar10,
    digits_grid_search,
    fashion_mnist,
    fast_mode,
    lecture_cnn_mnist,
    noisy_sine,
    oscillator,
    small_cnn_mnist,
    vanishing_gradients,
)
from numbacnn.experiments.__main__ import main, write_result

NOJIT = os.environ.get("NUMBA_DISABLE_JIT") == "1"

def heavy(test):
    """Mark a test that trains networks for whole epochs: ``slow`` (tox runs it on one
    interpreter) and skipped as plain Python, where it would take many minutes."""
    test = pytest.mark.skipif(
        NOJIT, reason="trains CNNs for whole epochs: minutes as plain Python (NUMBA_DISABLE_JIT=1)"
    )(test)
    return pytest.mark.slow(test)


# --------------------------------------------------------------------------- plumbing
def test_fast_mode_reads_environment(monkeypatch):
    monkeypatch.setenv("NUMBACNN_FAST", "1")
    assert fast_mode() is True
    assert fast_mode(False) is False
    monkeypatch.setenv("NUMBACNN_FAST", "0")
    assert fast_mode() is False
    monkeypatch.delenv("NUMBACNN_FAST")
    assert fast_mode() is False
    assert fast_mode(True) is True


def test_result_renders_markdown_and_csv(tmp_path):
    from numbacnn.experiments._common import new_figure

    fig, ax = new_figure()
    ax.plot([0, 1], [1, 0])
    r = ExperimentResult(name="demo", title="Demo", settings={"epochs": 3},
                         numbers={"mse": 0.25, "count": 7, "tiny": 1.5e-7, "nan": float("nan")},
                         table=[{"a": 1, "b": 0.5}, {"a": 2, "b": 1e-9}],
                         figures={"demo_fig": fig}, notes=["a note"])
    assert r["mse"] == 0.25 and "count" in r
    md = r.to_markdown()
    assert "## Demo" in md and "| mse | 0.25 |" in md and "| tiny | 1.5e-07 |" in md
    assert "| a | b |" in md and "| 2 | 1e-09 |" in md and "- a note" in md
    assert r.table_csv().splitlines() == ["a,b", "1,0.5", "2,1e-09"]
    paths = write_result(r, tmp_path / "out")
    assert sorted(os.path.basename(p) for p in paths) == ["demo.csv", "demo.md", "demo_fig.png"]
    with open(tmp_path / "out" / "demo_fig.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    no_table = ExperimentResult(name="n", title="N", numbers={"x": 1.0})
    assert no_table.table_markdown() == ""
    assert no_table.table_csv() == "quantity,value\nx,1.0\n"


def test_csv_keeps_values_with_commas_and_quotes_in_one_field():
    import csv
    import io

    table = [{"layer": "Conv2D", "output shape": (32, 30, 30), "note": 'say "hi", twice'},
             {"layer": "Dense", "output shape": (10,), "note": ""}]
    text = ExperimentResult(name="t", title="T", table=table).table_csv()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["layer", "output shape", "note"],
                    ["Conv2D", "(32, 30, 30)", 'say "hi", twice'], ["Dense", "(10,)", ""]]
    numbers = ExperimentResult(name="n", title="N", numbers={"radius 0.5, zero input": 0.25})
    assert list(csv.reader(io.StringIO(numbers.table_csv()))) == [
        ["quantity", "value"], ["radius 0.5, zero input", "0.25"]]


def test_every_committed_csv_has_the_headers_number_of_fields():
    import csv
    import glob

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    paths = sorted(glob.glob(os.path.join(root, "docs", "_generated", "experiments", "*.csv")))
    assert len(paths) >= 9
    for path in paths:
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
        assert len(rows) >= 2, path
        bad = [i for i, row in enumerate(rows) if len(row) != len(rows[0])]
        assert bad == [], f"{os.path.basename(path)}: rows {bad} differ from the header"


def test_every_experiment_is_registered():
    assert list(EXPERIMENTS) == [
        "digits_grid_search", "lecture_cnn_mnist", "small_cnn_mnist", "fashion_mnist",
        "noisy_sine", "oscillator", "vanishing_gradients", "cifar10"]


def test_command_line_runs_and_writes(tmp_path, capsys, monkeypatch):
    import functools

    # a smaller instance of the same experiment: the CLI is under test, not the sizes
    monkeypatch.setitem(EXPERIMENTS, "vanishing_gradients",
                        functools.partial(vanishing_gradients, T=6, H=4, n_sequences=1))
    assert main(["vanishing_gradients", "--fast", "--out", str(tmp_path)]) == 0
    assert "vanishing" in capsys.readouterr().out.lower()
    assert (tmp_path / "vanishing_gradients.md").exists()
    assert (tmp_path / "gradient_norms.png").exists()
    with pytest.raises(SystemExit):
        main(["no_such_experiment"])


# --------------------------------------------------------------------------- experiment 7
def test_vanishing_gradients_direction():
    r = vanishing_gradients(T=16, H=8, n_sequences=2, fast=True)
    # linear regime (zero input): the norm follows radius**lag
    assert r["RNN radius 0.5, zero input: growth per step"] < 0.7
    assert r["RNN radius 1.5, zero input: growth per step"] > 1.2
    assert r["RNN radius 0.5, zero input: norm at lag 16"] < 1e-3
    assert r["RNN radius 1.5, zero input: norm at lag 16"] > 10.0
    # an open forget gate carries the gradient much further than a half-open one
    assert (r["LSTM forget bias 5.0, random input: norm at lag 16"]
            > 100 * r["LSTM forget bias 0.0, random input: norm at lag 16"])
    assert "gradient_norms" in r.figures


# --------------------------------------------------------------------------- experiment 5
def test_noisy_sine_smoke_and_baselines():
    # tiny: runs as plain Python too
    r = noisy_sine(epochs=1, n=120, n_train=96, fast=True)
    last = r["baseline: last value"]
    mean = r["baseline: window mean"]
    # the last value carries the full noise variance twice (target and input),
    # the window mean averages four inputs: it must be clearly better
    assert last > mean
    assert r["baseline: noise floor Var(2U) = 1/3"] == pytest.approx(1 / 3)
    for reading in ("lecture", "sequence"):
        assert np.isfinite(r[f"RNN test MSE ({reading} reading)"])


@heavy
def test_noisy_sine_fast_mode_beats_last_value():
    r = noisy_sine(epochs=8, fast=True)
    last = r["baseline: last value"]
    for reading in ("lecture", "sequence"):
        mse = r[f"RNN test MSE ({reading} reading)"]
        # learned something (well below repeating the last value), cannot beat the noise
        assert 0.25 < mse < 0.8 * last
    assert r["baseline: linear regression on the window"] < last


# --------------------------------------------------------------------------- experiment 6
def test_oscillator_smoke():
    r = oscillator(epochs=1, kinds=("rnn",), hidden=4, length=5, n_steps=160, n_train=100,
                   rollout_steps=10, fast=False)
    assert r.settings["rollout_steps"] == 10
    assert np.isfinite(r["rnn one-step test MSE"]) and np.isfinite(r["rnn rollout MSE(x)"])
    with pytest.raises(ValueError, match="target"):
        oscillator(target="velocity", fast=True)


@heavy
def test_oscillator_fast_mode_learns_one_step():
    r = oscillator(kinds=("rnn",), fast=True)
    # the state (x, v) varies with variance of order 1: a learned step is far below that,
    # and also below the error of predicting "no change" (the step itself, ~ 1e-3)
    for kind in ("rnn",):
        assert r[f"{kind} one-step test MSE"] < 1e-4
        assert r[f"{kind} rollout MSE(x)"] < 0.1


# --------------------------------------------------------------------------- experiment 1
def test_digits_grid_smoke():
    r = digits_grid_search(eta_vals=[0.05, 1e6], l2_vals=[2e-4], epochs=1, n_subset=300,
                           fast=True)
    # eta = 1e6 on raw 0..16 pixels must blow up and be reported as diverged, not crash
    assert r["diverged cells"] == 1
    assert r["cells"] == 2
    assert len(r.table) == 2 and set(r.figures) == {"digits_train_accuracy",
                                                    "digits_test_accuracy"}
    # the table shows the lecture's (Keras) lambda = l2 / 2
    assert [row["lambda"] for row in r.table] == [1e-4, 1e-4]
    assert r.settings["l2_vals"] == [2e-4]


def test_digits_grid_deprecated_lmbd_vals_is_half_of_l2():
    kw = dict(eta_vals=[0.05], epochs=1, n_subset=100, fast=True)
    with pytest.warns(DeprecationWarning, match="l2_vals = 2 \\* lmbd_vals"):
        old = digits_grid_search(lmbd_vals=[1e-3], **kw)
    new = digits_grid_search(l2_vals=[2e-3], **kw)
    assert old.table == new.table and old["best lambda"] == new["best lambda"] == 1e-3
    with pytest.raises(TypeError, match="not both"):
        digits_grid_search(lmbd_vals=[1e-3], l2_vals=[2e-3], **kw)


@heavy
def test_digits_grid_fast_mode_well_above_chance():
    r = digits_grid_search(eta_vals=[0.1], l2_vals=[2e-4], fast=True)
    assert r.settings["epochs"] == 10 and r["cells"] == 1
    # ten classes: chance is 10 %
    assert r["best test accuracy"] > 0.8


# --------------------------------------------------------------------------- experiments 2-4
def test_lecture_cnn_smoke():
    r = lecture_cnn_mnist(seeds=(0,), epochs=1, n_subset=200, fast=False)
    assert 0.0 <= r["test accuracy mean"] <= 1.0
    assert r["test accuracy std"] == 0.0


@heavy
def test_lecture_cnn_fast_mode_above_chance():
    r = lecture_cnn_mnist(fast=True)
    assert r["test accuracy mean"] > 0.6


@heavy
def test_small_cnn_learns_mnist():
    r = small_cnn_mnist(n_subset=600, epochs=3, fast=True)
    assert r.settings["n_train"] == 450
    # 450 images, 24 Adam steps: far from the full run's 98 %, far above chance (10 %)
    assert r["test accuracy mean"] > 0.5
    assert r["seconds per epoch"] > 0


def _write_idx(folder, stem, images, labels):
    with gzip.open(folder / f"{stem}-images-idx3-ubyte.gz", "wb") as f:
        f.write(struct.pack(">IIII", 2051, *images.shape) + images.tobytes())
    with gzip.open(folder / f"{stem}-labels-idx1-ubyte.gz", "wb") as f:
        f.write(struct.pack(">II", 2049, len(labels)) + labels.tobytes())


@heavy
def test_fashion_mnist_on_small_idx_files(tmp_path):
    rng = np.random.default_rng(0)
    # a learnable fake: the class is the row that is bright
    def fake(n):
        y = rng.integers(0, 10, n).astype(np.uint8)
        X = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
        for i, c in enumerate(y):
            X[i, 2 * c + 4] = 255
        return X, y

    _write_idx(tmp_path, "train", *fake(200))
    _write_idx(tmp_path, "t10k", *fake(100))
    r = fashion_mnist(path=tmp_path, epochs=2, n_train=200, n_test=100, fast=True)
    assert r.settings["n_train"] == 200 and r.settings["n_test"] == 100
    assert r["test accuracy mean"] > 0.5


# --------------------------------------------------------------------------- experiment 8
def _write_cifar(folder, n, rng):
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 b"labels": rng.integers(0, 10, n).tolist()}
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f, protocol=2)


@heavy
def test_cifar10_shapes_cost_and_training_on_fake_batches(tmp_path):
    _write_cifar(tmp_path, 8, np.random.default_rng(0))
    r = cifar10(path=tmp_path, epochs=1, batch_size=8, timing_batches=1, fast=True)
    # the lecture's model: (3,32,32) -> conv 32 -> pool -> conv 64 -> pool -> conv 64
    shapes = [row["output shape"] for row in r.table]
    assert shapes == ["(32, 30, 30)", "(32, 15, 15)", "(64, 13, 13)", "(64, 6, 6)",
                      "(64, 4, 4)", "(1024,)", "(64,)", "(10,)"]
    # weights + biases of each layer, counted by hand
    assert r["parameters"] == (27 * 32 + 32) + (288 * 64 + 64) + (576 * 64 + 64) \
        + (1024 * 64 + 64) + (64 * 10 + 10)
    assert r["n_train"] == 40
    assert 0.0 <= r["test accuracy"] <= 1.0
    assert r["extrapolated seconds per epoch (50,000 images)"] > 0


def test_importing_experiments_imports_no_torch():
    import subprocess
    import sys

    code = ("import sys, numbacnn.experiments as e; e.EXPERIMENTS; "
            "print('torch' in sys.modules, 'numbacnn.kernels.conv' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    # no kernel module (hence no compilation) at import
    assert out == ["False", "False"]
