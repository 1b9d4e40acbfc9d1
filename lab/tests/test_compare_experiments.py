"""compare_experiments' merging, with a stand-in for torch_twins (torch is not needed).

The stand-in returns fixed numbers, so these tests check where the torch side
lands in each result (numbers, columns, their order), not torch itself.
"""

import sys
import types

import numpy as np
import pytest


@pytest.fixture
def compare(monkeypatch):
    fake = types.ModuleType("torch_twins")
    calls = []

    def train(model, X, y, *, epochs, **kw):
        calls.append((model, len(X), epochs, kw))
        return {"seconds": 2.0, "epoch_seconds": [1.0] * epochs, "diverged": False,
                "test_accuracy": 0.5, "test_mse": 0.25, "model": model}

    fake.train = train
    fake.predict = lambda model, W, dtype=np.float32: np.zeros((len(W), 2))
    for name in ("lecture_cnn", "lecture_numpy_cnn", "small_cnn", "cifar_cnn",
                 "rnn_regressor", "recurrent_net"):
        setattr(fake, name, lambda *a, _n=name, **k: _n)
    fake.calls = calls
    monkeypatch.setitem(sys.modules, "torch_twins", fake)
    monkeypatch.delitem(sys.modules, "compare_experiments", raising=False)
    import compare_experiments

    return compare_experiments, calls


def test_digits_grid_gets_a_torch_column_and_numbers(compare):
    ce, calls = compare
    r = ce.run("digits_grid_search", fast=True, eta_vals=[0.05], l2_vals=[2e-4, 2e-2],
               epochs=1, n_subset=100)
    assert list(r.table[0]) == ["eta", "lambda", "train accuracy", "test accuracy",
                                "torch test accuracy"]
    # the torch model gets numbacnn's l2 = 2 lambda
    assert [c[3]["l2"] for c in calls] == [2e-4, 2e-2]
    assert list(r.numbers)[-4:] == ["grid wall time torch (s)", "wall time ratio numbacnn/torch",
                                    "torch best test accuracy",
                                    "torch cells with test accuracy >= 95%"]
    assert r["grid wall time torch (s)"] == 4.0


def test_noisy_sine_torch_numbers_follow_each_reading(compare):
    ce, calls = compare
    r = ce.run("noisy_sine", fast=True, epochs=1, n=120, n_train=96)
    keys = list(r.numbers)
    assert keys[:4] == ["RNN test MSE (lecture reading)", "RNN train seconds (lecture reading)",
                        "torch RNN test MSE (lecture reading)",
                        "torch train seconds (lecture reading)"]
    assert r.table[0]["torch test MSE"] == 0.25 and r.table[-1]["torch test MSE"] == ""
    assert [c[0] for c in calls] == ["rnn_regressor"] * 2


def test_oscillator_torch_columns(compare):
    ce, calls = compare
    r = ce.run("oscillator", epochs=1, kinds=("rnn", "gru"), hidden=4, length=5, n_steps=160,
               n_train=100, rollout_steps=10)
    assert [c[0] for c in calls] == ["recurrent_net"] * 2
    assert list(r.table[1])[-3:] == ["torch one-step MSE", "torch rollout MSE(x)",
                                     "torch s/epoch"]
    keys = list(r.numbers)
    at = keys.index("rnn seconds per epoch")
    assert keys[at + 1:at + 3] == ["torch rnn one-step test MSE",
                                   "time ratio numbacnn/torch (rnn)"]
    assert np.isfinite(r["torch gru one-step test MSE"])


def test_lecture_cnn_and_small_cnn_twins(compare):
    ce, calls = compare
    r = ce.run("lecture_cnn_mnist", seeds=(0,), epochs=1, n_subset=200, fast=False)
    assert calls[-1][1] == r.settings["n_train"] and r["torch test accuracy mean"] == 0.5
    assert "time ratio numbacnn/torch" in r
    r = ce.run("small_cnn_mnist", seeds=(0,), epochs=1, n_subset=120, fast=True)
    assert r.table[0]["torch test accuracy"] == 0.5 and r["torch seconds per epoch"] == 1.0
    assert len(r.figures["small_cnn_mnist_epoch_time"].axes[0].lines) == 2


def test_vanishing_gradients_has_no_twin(compare):
    ce, calls = compare
    r = ce.run("vanishing_gradients", T=6, H=4, n_sequences=1)
    assert not calls and "vanishing" in r.name
