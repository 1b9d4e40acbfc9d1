"""ModelCheckpoint, LearningRateScheduler, CSVLogger and History.plot."""

import csv
import os

import matplotlib
import numpy as np
import pytest

from numbacnn import Sequential, load_model
from numbacnn.callbacks import CSVLogger, EarlyStopping, LearningRateScheduler, ModelCheckpoint
from numbacnn.layers import Dense
from numbacnn.optimizers import SGD

matplotlib.use("Agg")


def vectors(n=24, d=4, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    return rng.standard_normal((n, d)) + y[:, None], y


def model(seed=0, **kw):
    return Sequential([Dense(6, activation="tanh"), Dense(3, activation="softmax")],
                      seed=seed, **kw)


# -- ModelCheckpoint --------------------------------------------------------------------------
def test_checkpoint_every_epoch_fills_the_name_from_epoch_and_logs(tmp_path):
    X, y = vectors()
    m = model()
    pattern = str(tmp_path / "ckpt-{epoch:02d}-{loss:.4f}")
    cb = ModelCheckpoint(pattern, save_best_only=False)
    history = m.fit(X, y, epochs=3, batch_size=8, verbose=0, callbacks=[cb])
    expected = [str(tmp_path / f"ckpt-{e + 1:02d}-{loss:.4f}.npz")
                for e, loss in enumerate(history.history["loss"])]
    assert cb.saved == expected
    assert sorted(os.listdir(tmp_path)) == sorted(os.path.basename(p) for p in expected)
    last = load_model(expected[-1])
    for a, b in zip(last.get_weights(), m.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_checkpoint_best_only_saves_on_improvement(tmp_path):
    X, y = vectors()
    m = model(optimizer=SGD(eta=0.5))
    cb = ModelCheckpoint(tmp_path / "best-{epoch}.npz", monitor="val_loss",
                         save_best_only=True)
    history = m.fit(X, y, epochs=6, batch_size=4, verbose=0, validation_split=0.25,
                    callbacks=[cb])
    improved, best = [], np.inf
    for epoch, value in enumerate(history.history["val_loss"]):
        if value < best:
            best = value
            improved.append(str(tmp_path / f"best-{epoch + 1}.npz"))
    assert cb.saved == improved and cb.best == best
    accuracy = ModelCheckpoint(tmp_path / "acc.npz", monitor="val_accuracy",
                               save_best_only=True)
    assert accuracy.mode == "max"


def test_checkpoint_errors_name_the_problem(tmp_path):
    X, y = vectors()
    with pytest.raises(ValueError, match="val_loss.*validation_split"):
        model().fit(X, y, epochs=1, verbose=0,
                    callbacks=[ModelCheckpoint(tmp_path / "m.npz", save_best_only=True)])
    with pytest.raises(ValueError, match="cannot be filled"):
        model().fit(X, y, epochs=1, verbose=0,
                    callbacks=[ModelCheckpoint(str(tmp_path / "{val_loss}.npz"))])


# -- LearningRateScheduler --------------------------------------------------------------------
def test_scheduler_sets_eta_each_epoch_as_a_manual_loop_would():
    X, y = vectors()
    schedule = LearningRateScheduler(lambda epoch, lr: 0.2 / (1 + epoch))
    scheduled = model(optimizer=SGD(eta=0.05))
    history = scheduled.fit(X, y, epochs=3, batch_size=8, verbose=0, callbacks=[schedule])
    assert history.history["lr"] == [0.2, 0.1, 0.2 / 3]
    manual = model(optimizer=SGD(eta=0.05))
    losses = []
    for epoch in range(3):
        manual.optimizer.eta = 0.2 / (1 + epoch)
        losses += manual.fit(X, y, epochs=1, batch_size=8, verbose=0).history["loss"]
    assert history.history["loss"] == losses
    for a, b in zip(scheduled.get_weights(), manual.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_scheduler_passes_the_current_rate_and_accepts_one_argument():
    X, y = vectors()
    seen = []

    def halve(epoch, lr):
        seen.append((epoch, lr))
        return lr / 2

    m = model(optimizer=SGD(eta=0.4))
    m.fit(X, y, epochs=2, verbose=0, callbacks=[LearningRateScheduler(halve)])
    m.fit(X, y, epochs=1, verbose=0, callbacks=[LearningRateScheduler(halve)])
    assert seen == [(0, 0.4), (1, 0.2), (2, 0.1)]
    one = model()
    history = one.fit(X, y, epochs=2, verbose=0,
                      callbacks=[LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))])
    assert history.history["lr"] == [0.01, 0.02]


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), "0.1", None])
def test_scheduler_refuses_a_bad_rate(bad):
    X, y = vectors()
    with pytest.raises(ValueError, match="schedule returned"):
        model().fit(X, y, epochs=1, verbose=0,
                    callbacks=[LearningRateScheduler(lambda epoch, lr: bad)])
    with pytest.raises(TypeError, match="schedule"):
        LearningRateScheduler(0.1)


# -- CSVLogger --------------------------------------------------------------------------------
def test_csv_logger_writes_every_history_key_per_epoch(tmp_path):
    X, y = vectors()
    path = tmp_path / "log.csv"
    history = model().fit(
        X, y, epochs=3, batch_size=8, verbose=0, validation_split=0.25,
        callbacks=[LearningRateScheduler(lambda e, lr: lr * 0.5), CSVLogger(path)])
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    keys = sorted(history.history)
    assert rows[0] == ["epoch", *keys] and "lr" in keys and "val_accuracy" in keys
    assert len(rows) == 4
    for epoch, row in zip(history.epoch, rows[1:], strict=True):
        assert int(row[0]) == epoch
        assert [float(v) for v in row[1:]] == [history.history[k][epoch] for k in keys]


def test_csv_logger_appends_without_a_second_header_and_quotes(tmp_path):
    X, y = vectors()
    path = tmp_path / "log.csv"
    m = model()
    m.fit(X, y, epochs=1, verbose=0, callbacks=[CSVLogger(path)])
    m.fit(X, y, epochs=2, verbose=0, callbacks=[CSVLogger(path, append=True)])
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert [r[0] for r in rows] == ["epoch", "0", "1", "2"]
    semicolon = tmp_path / "semi.csv"
    model().fit(X, y, epochs=1, verbose=0, callbacks=[CSVLogger(semicolon, separator=";")])
    assert open(semicolon).readline().strip() == "epoch;accuracy;loss"
    with pytest.raises(ValueError, match="separator"):
        CSVLogger(path, separator=";;")


def test_csv_logger_closes_its_file_when_training_stops_early(tmp_path):
    X, y = vectors()
    path = tmp_path / "log.csv"
    logger = CSVLogger(path)
    model().fit(X, y, epochs=20, verbose=0, validation_split=0.25,
                callbacks=[EarlyStopping(patience=0, min_delta=10.0), logger])
    assert logger._file is None
    with open(path) as f:
        # the first epoch improves on infinity, the second does not by 10: a header, 2 rows
        assert len(f.read().strip().splitlines()) == 3


# -- History.plot -----------------------------------------------------------------------------
def test_history_plot_draws_each_metric_with_its_validation_twin():
    X, y = vectors()
    history = model().fit(X, y, epochs=3, verbose=0, validation_split=0.25)
    fig, axes = history.plot()
    assert [ax.get_ylabel() for ax in axes] == ["loss", "accuracy"]
    lines = axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["training", "validation"]
    np.testing.assert_array_equal(lines[0].get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(lines[1].get_ydata(), history.history["val_loss"])
    fig2, only = history.plot(["accuracy"])
    assert len(only) == 1
    with pytest.raises(ValueError, match="recorded"):
        history.plot(["val_loss"])
    import matplotlib.pyplot as plt

    plt.close(fig)
    plt.close(fig2)
