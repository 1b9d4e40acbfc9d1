"""Sequential: training, determinism, dtypes, Ctrl-C, callbacks, persistence, misassembly."""

import json
import os
import signal

import numpy as np
import pytest

from numbacnn import EarlyStopping, History, Sequential, load_model
from numbacnn.activations import Softmax
from numbacnn.callbacks import Callback
from numbacnn.datasets import load_digits_images
from numbacnn.layers import LSTM, Conv2D, Dense, Flatten, MaxPool2D, SimpleRNN
from numbacnn.losses import CategoricalCrossEntropy, MeanSquaredError
from numbacnn.optimizers import SGD, Adam

NOJIT = os.environ.get("NUMBA_DISABLE_JIT") == "1"


def small_cnn(seed=0, n_classes=3, **kw):
    return Sequential(
        [Conv2D(2, 3, padding="same", activation="relu"), MaxPool2D(2), Flatten(),
         Dense(5, activation="relu"), Dense(n_classes, activation="softmax")],
        seed=seed, **kw,
    )


def toy_images(n=24, seed=0, dtype=np.float64, n_classes=3):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    X = rng.standard_normal((n, 1, 6, 6)) * 0.3
    X[:, 0, 1:3, 1:3] += y[:, None, None]  # a learnable signal
    return X.astype(dtype), y


def digits_split():
    X, y = load_digits_images()
    X = X / 16.0
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    test, train = order[:360], order[360:]
    return X[train], y[train], X[test], y[test]


@pytest.mark.slow
@pytest.mark.skipif(
    NOJIT, reason="trains a CNN on 1437 digits; too slow as plain Python (NUMBA_DISABLE_JIT=1)"
)
def test_digits_cnn_reaches_95_percent():
    X_train, y_train, X_test, y_test = digits_split()
    model = Sequential(
        [Conv2D(10, 3, padding="same", activation="relu"), MaxPool2D(2), Flatten(),
         Dense(50, activation="relu"), Dense(10, activation="softmax")],
        optimizer=Adam(eta=3e-3), seed=0,
    )
    # speed is measured by the benchmarks in lab/, never asserted by a test
    model.fit(X_train, y_train, epochs=8, batch_size=32, verbose=0)
    accuracy = model.evaluate(X_test, y_test)["accuracy"]
    assert accuracy >= 0.95, accuracy


def test_training_reduces_the_loss_and_learns():
    X, y = toy_images(48)
    model = small_cnn(optimizer=Adam(eta=0.02))
    history = model.fit(X, y, epochs=15, batch_size=8, verbose=0)
    assert isinstance(history, History)
    assert sorted(history.history) == ["accuracy", "loss"]
    assert len(history.history["loss"]) == 15 and history.epoch == list(range(15))
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert np.mean(model.predict(X) == y) > 0.9


def test_same_seed_is_bit_identical_and_different_seed_differs():
    X, y = toy_images()
    runs = []
    for seed in (7, 7, 8):
        model = small_cnn(seed=seed)
        h = model.fit(X, y, epochs=3, batch_size=5, verbose=0, validation_data=(X, y))
        runs.append((h.history, model.predict_proba(X)))
    assert runs[0][0] == runs[1][0]
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    assert runs[0][0]["loss"] != runs[2][0]["loss"]


def test_minibatches_are_reshuffled_every_epoch():
    X, y = toy_images(10)
    seen = []

    class Record(Callback):
        def on_batch_end(self, batch, logs=None):
            seen.append(logs["loss"])

    model = small_cnn()
    model.fit(X, y, epochs=2, batch_size=3, verbose=0, callbacks=[Record()])
    assert len(seen) == 2 * 4  # ceil(10 / 3) batches per epoch, the last one smaller
    order1 = model.training_state.shuffled(10)
    order2 = model.training_state.shuffled(10)
    assert not np.array_equal(order1, order2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["cnn", "rnn"])
def test_computes_in_the_dtype_of_the_training_data(dtype, kind):
    X, y = toy_images(dtype=dtype)
    if kind == "cnn":
        model = small_cnn()
    else:
        X = X[:, 0]  # rows of each image as time steps
        model = Sequential([SimpleRNN(3, return_sequences=True), LSTM(3),
                            Dense(3, activation="softmax")], seed=0)
    model.fit(X, y, epochs=1, batch_size=8, verbose=0)
    assert model.dtype == dtype
    for layer in model.layers:
        for k in layer.params:
            assert layer.params[k].dtype == dtype
            assert layer.grads[k].dtype == dtype
    assert model.predict_proba(X.astype(np.float64)).dtype == dtype


def test_ctrl_c_from_a_callback_keeps_weights_and_history():
    X, y = toy_images()

    class Interrupt(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    model = small_cnn(seed=3)
    history = model.fit(X, y, epochs=10, batch_size=8, verbose=0, callbacks=[Interrupt()])
    assert history.interrupted
    assert len(history.history["loss"]) == 2
    reference = small_cnn(seed=3)
    ref_history = reference.fit(X, y, epochs=2, batch_size=8, verbose=0)
    assert not ref_history.interrupted
    assert history.history == ref_history.history
    for a, b in zip(model.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_real_sigint_stops_after_the_current_batch(capsys):
    X, y = toy_images()
    batches = []

    class SendSigint(Callback):
        def on_batch_end(self, batch, logs=None):
            batches.append(batch)
            if len(batches) == 2:
                os.kill(os.getpid(), signal.SIGINT)

    before = signal.getsignal(signal.SIGINT)
    model = small_cnn()
    history = model.fit(X, y, epochs=5, batch_size=4, verbose=2, callbacks=[SendSigint()])
    assert history.interrupted and history.epoch == []
    assert len(batches) == 2  # the batch in flight finished, no further one started
    assert signal.getsignal(signal.SIGINT) is before
    assert "interrupted" in capsys.readouterr().err


def test_verbose_levels(capsys):
    X, y = toy_images()
    small_cnn().fit(X, y, epochs=2, batch_size=8, verbose=0, validation_data=(X, y))
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    small_cnn().fit(X, y, epochs=2, batch_size=8, verbose=1)
    err = capsys.readouterr().err
    assert "epoch 2" in err and "loss=" in err and "accuracy=" in err
    small_cnn().fit(X, y, epochs=2, batch_size=8, verbose=2, validation_data=(X, y))
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and "val_accuracy" in lines[1]


def test_validation_metrics_and_evaluate():
    X, y = toy_images()
    model = small_cnn()
    h = model.fit(X, y, epochs=2, batch_size=8, verbose=0, validation_data=(X[:6], y[:6]))
    assert sorted(h.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    scores = model.evaluate(X[:6], y[:6])
    assert scores["loss"] == pytest.approx(h.history["val_loss"][-1])
    probs = model.predict_proba(X[:6])
    manual = CategoricalCrossEntropy().forward(probs, y[:6])
    assert scores["loss"] == pytest.approx(manual, rel=1e-10)
    assert scores["accuracy"] == np.mean(np.argmax(probs, axis=1) == y[:6])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)


def test_second_fit_continues_training():
    X, y = toy_images()
    model = small_cnn()
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    h = model.fit(X, y, epochs=1, batch_size=8, verbose=0)
    assert h.epoch == [2]


def test_default_loss_and_optimizer_and_fusion_by_type():
    class MySoftmax(Softmax):
        pass

    model = Sequential([Dense(3, activation=MySoftmax())])
    model.build((4,))
    assert isinstance(model.loss, CategoricalCrossEntropy) and model.fused
    assert isinstance(model.optimizer, Adam)
    reg = Sequential([Dense(2)])
    reg.build((4,))
    assert isinstance(reg.loss, MeanSquaredError) and not reg.fused
    unfused = Sequential([Dense(3, activation="softmax")], loss="mse")
    unfused.build((4,))
    assert not unfused.fused


def test_l2_adds_lambda_w_to_weight_gradients_only():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((5, 4)), rng.standard_normal((5, 2))
    layers = lambda: [Dense(3, activation="tanh"), Dense(2, l2=0.0)]  # noqa: E731
    plain = Sequential(layers(), seed=2)
    reg = Sequential(layers(), l2=0.3, seed=2)
    c0, g0, _ = plain.loss_and_gradients(X, y)
    c1, g1, _ = reg.loss_and_gradients(X, y)
    W0 = reg.layers[0].params["W"]
    np.testing.assert_allclose(g1["0.W"], g0["0.W"] + 0.3 * W0)
    np.testing.assert_array_equal(g1["0.b"], g0["0.b"])
    np.testing.assert_array_equal(g1["1.W"], g0["1.W"])  # the per-layer override exempts it
    assert c1 == pytest.approx(c0 + 0.15 * np.sum(W0**2))
    assert reg.l2_penalty() == pytest.approx(0.15 * np.sum(W0**2))


def test_sgd_step_is_the_textbook_update():
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 1))
    model = Sequential([Dense(1)], optimizer=SGD(eta=0.1), l2=0.5, seed=0)
    _, grads, _ = model.loss_and_gradients(X, y)
    W, b = model.layers[0].params["W"].copy(), model.layers[0].params["b"].copy()
    model.fit(X, y, epochs=1, batch_size=4, verbose=0)
    residual = X @ W + b - y
    np.testing.assert_allclose(model.layers[0].params["W"], W - 0.1 * (2 / 4 * X.T @ residual
                                                                        + 0.5 * W))
    np.testing.assert_allclose(model.layers[0].params["b"], b - 0.1 * 2 / 4 * residual.sum(0))
    np.testing.assert_allclose(grads["0.W"], 2 / 4 * X.T @ residual + 0.5 * W)


def test_binary_classifier_and_regressor_outputs():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((20, 3))
    y = (X[:, 0] > 0).astype(int)
    clf = Sequential([Dense(4, activation="tanh"), Dense(1, activation="sigmoid")], seed=0)
    h = clf.fit(X, y, epochs=2, batch_size=5, verbose=0)
    assert "accuracy" in h.history and clf.is_classifier
    assert set(np.unique(clf.predict(X))) <= {0, 1}
    p = clf.predict_proba(X)
    assert p.shape == (20, 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    reg = Sequential([Dense(4, activation="tanh"), Dense(1)], seed=0)
    h = reg.fit(X, X[:, 0], epochs=2, batch_size=5, verbose=0)
    assert sorted(h.history) == ["loss"] and not reg.is_classifier
    assert reg.predict(X).shape == (20, 1)
    with pytest.raises(AttributeError, match="regressor"):
        reg.predict_proba(X)


def test_rnn_sequence_regression_trains():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((40, 5, 1))
    y = X.sum(axis=(1, 2))
    model = Sequential([LSTM(6), Dense(1)], optimizer=Adam(eta=0.02), seed=0)
    h = model.fit(X, y, epochs=20, batch_size=10, verbose=0)
    assert h.history["loss"][-1] < 0.3 * h.history["loss"][0]


def test_one_hot_labels_accepted():
    X, y = toy_images()
    onehot = np.eye(3)[y]
    a = small_cnn().fit(X, y, epochs=1, batch_size=8, verbose=0).history
    b = small_cnn().fit(X, onehot, epochs=1, batch_size=8, verbose=0).history
    assert a["loss"] == pytest.approx(b["loss"], rel=1e-12)
    assert a["accuracy"] == b["accuracy"]


def test_summary(capsys):
    model = small_cnn()
    with pytest.raises(RuntimeError, match="not built"):
        model.summary()
    model.build((1, 6, 6))
    model.summary()
    text = capsys.readouterr().out
    for name, shape in [("Conv2D", "(None, 2, 6, 6)"), ("MaxPool2D", "(None, 2, 3, 3)"),
                        ("Flatten", "(None, 18)"), ("Dense", "(None, 5)")]:
        assert name in text and shape in text
    assert f"Total params: {2 * 9 + 2 + 18 * 5 + 5 + 5 * 3 + 3}" in text
    assert model.n_params == 2 * 9 + 2 + 18 * 5 + 5 + 5 * 3 + 3


def test_save_and_load_round_trip(tmp_path):
    X, y = toy_images(dtype=np.float32)
    model = small_cnn(l2=0.01, optimizer=Adam(eta=0.005))
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "model.npz"
    model.save(path)
    with np.load(path, allow_pickle=False) as f:  # a plain archive, no pickles
        config = json.loads(str(f["config"]))
    assert config["layers"][0]["class"] == "Conv2D"
    loaded = load_model(path)
    assert loaded.dtype == np.float32 and loaded.input_shape == (1, 6, 6)
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert loaded.l2 == 0.01 and loaded.optimizer.eta == 0.005
    loaded.fit(X, y, epochs=1, batch_size=8, verbose=0)  # trainable after loading
    model.save(tmp_path / "bare")  # NumPy appends .npz; load_model finds it
    assert (tmp_path / "bare.npz").exists()
    np.testing.assert_array_equal(load_model(tmp_path / "bare").predict(X), model.predict(X))


def test_save_and_load_recurrent(tmp_path):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((6, 4, 2))
    model = Sequential([SimpleRNN(3, return_sequences=True, activation="relu"), LSTM(2),
                        Dense(2)], seed=0)
    model.fit(X, rng.standard_normal((6, 2)), epochs=1, batch_size=3, verbose=0)
    model.save(tmp_path / "rnn.npz")
    loaded = load_model(tmp_path / "rnn.npz")
    assert loaded.layers[0].activation == "relu"
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


@pytest.mark.parametrize("optimizer", ["adam", "momentum", "rmsprop"])
def test_training_resumes_exactly_after_save_and_load(tmp_path, optimizer):
    # 3 epochs in one go == 2 epochs, save, load, 1 more: the optimizer's buffers and
    # step counters, the shuffling generator and the epoch count travel with the file
    rng = np.random.default_rng(8)
    X, y = rng.standard_normal((20, 1, 6, 6)), rng.integers(0, 3, 20)

    def model():
        return Sequential([Conv2D(2, 3, activation="relu"), Flatten(),
                           Dense(3, activation="softmax")], optimizer=optimizer, seed=3)

    straight = model()
    straight.fit(X, y, epochs=3, batch_size=6, verbose=0)
    first = model()
    first.fit(X, y, epochs=2, batch_size=6, verbose=0)
    first.save(tmp_path / "half.npz")
    resumed = load_model(tmp_path / "half.npz")
    assert resumed.optimizer.state.keys() == first.optimizer.state.keys()
    history = resumed.fit(X, y, epochs=1, batch_size=6, verbose=0)
    assert history.epoch == [2]
    for a, b in zip(resumed.layers, straight.layers, strict=True):
        for k in a.params:
            np.testing.assert_array_equal(a.params[k], b.params[k])
    # a model whose optimizer never stepped saves and loads without training state
    fresh = model()
    fresh.build((1, 6, 6))
    fresh.save(tmp_path / "fresh.npz")
    assert load_model(tmp_path / "fresh.npz").optimizer.state == {}


def test_load_rejects_other_files(tmp_path):
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not a numbacnn model file"):
        load_model(tmp_path / "other.npz")
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError):
        load_model(tmp_path / "objects.npy")
    (tmp_path / "junk.npz").write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="not a numbacnn model file"):
        load_model(tmp_path / "junk.npz")
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.npz")


def test_early_stopping_stops_and_restores_best_weights():
    X, y = toy_images()
    snapshots = []

    class Snapshot(Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append(self.model.get_weights())

    # min_delta so large that no epoch after the first counts as an improvement
    stop = EarlyStopping(monitor="loss", min_delta=1e6, patience=2, restore_best_weights=True)
    model = small_cnn()
    h = model.fit(X, y, epochs=10, batch_size=8, verbose=0, callbacks=[Snapshot(), stop])
    assert len(h.epoch) == 3 and stop.stopped_epoch == 2 and stop.best_epoch == 0
    for a, b in zip(model.get_weights(), snapshots[0], strict=True):
        np.testing.assert_array_equal(a, b)


def test_early_stopping_patience_on_a_metric_sequence():
    class Dummy:
        stop_training = False

    stop = EarlyStopping(monitor="val_accuracy", patience=1)
    assert stop.mode == "max"
    stop.set_model(Dummy())
    stop.on_train_begin()
    for epoch, acc in enumerate([0.5, 0.6, 0.6, 0.7, 0.65]):
        stop.on_epoch_end(epoch, {"val_accuracy": acc})
        if stop.model.stop_training:
            break
    assert stop.stopped_epoch == 2 and stop.best == 0.6
    with pytest.raises(ValueError, match="pass validation_data"):
        stop.on_epoch_end(0, {"loss": 1.0})
    with pytest.raises(ValueError, match="patience must be an integer >= 0; got -1"):
        EarlyStopping(patience=-1)
    with pytest.raises(TypeError, match="patience must be an integer; got 1.5"):
        EarlyStopping(patience=1.5)
    with pytest.raises(ValueError, match=r"min_delta must lie in \[0, inf\]; got -0.1"):
        EarlyStopping(min_delta=-0.1)
    with pytest.raises(ValueError, match="min_delta must be a finite real number"):
        EarlyStopping(min_delta="0")


@pytest.mark.parametrize(
    "layers, X_shape, y, match",
    [
        ([Conv2D(2, 3), Dense(3, activation="softmax")], (4, 1, 6, 6), [0, 1, 2, 0],
         r"layer 1 \(Dense\).*insert Flatten\(\)"),
        ([Conv2D(2, 3, in_channels=3), Flatten(), Dense(3, activation="softmax")],
         (4, 1, 6, 6), [0, 1, 2, 0], r"layer 0 \(Conv2D\).*set in_channels=1"),
        ([MaxPool2D(2), Conv2D(2, 5), Flatten(), Dense(3, activation="softmax")],
         (4, 1, 6, 6), [0, 1, 2, 0], r"layer 1 \(Conv2D\).*larger than its input image"),
        ([Flatten(), Dense(3, activation="softmax")], (4, 1, 6, 6), [0, 1, 5, 0],
         r"labels from 0 to 5 but the last layer has 3 units.*Dense\(6\)"),
        ([Flatten(), Dense(3, activation="softmax")], (4, 1, 6, 6), [0, 1, 2],
         r"same number of samples; X has 4, y has 3"),
        ([Flatten(), Dense(3, activation="softmax")], (4, 1, 6, 6), [0, 1.5, 2, 0],
         r"whole numbers"),
        ([Flatten(), Dense(1)], (4, 1, 6, 6), np.zeros((4, 2)),
         r"targets of shape \(2,\) per sample but the model outputs \(1,\)"),
        ([Flatten(), Dense(1, activation="sigmoid")], (4, 1, 6, 6), [0, 1, 2, 0],
         r"outside \[0, 1\]"),
        ([Conv2D(2, 3), Flatten(), Dense(3, activation="softmax")], (4, 36), [0, 1, 2, 0],
         r"\(N, C, H, W\)"),
        ([LSTM(2), Flatten(), Conv2D(2, 2)], (4, 3, 2), [0, 1, 2, 0], r"layer 2 \(Conv2D\)"),
    ],
)
def test_misassembly_fails_at_fit_with_advice(layers, X_shape, y, match):
    X = np.random.default_rng(0).standard_normal(X_shape)
    with pytest.raises(ValueError, match=match):
        Sequential(layers).fit(X, y, epochs=1, verbose=0)


def test_bad_data_fails_at_fit():
    X, y = toy_images()
    X[3, 0, 2, 2] = np.nan
    nan_message = r"X contains 1 NaN or infinite values \(first in sample 3"
    with pytest.raises(ValueError, match=nan_message):
        small_cnn().fit(X, y, epochs=1, verbose=0)
    X, y = toy_images()
    model = small_cnn()
    model.fit(X, y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"built for samples of shape \(1, 6, 6\)"):
        model.predict(np.zeros((2, 1, 5, 5)))
    with pytest.raises(ValueError, match="validation_data"):
        model.fit(X, y, epochs=1, verbose=0, validation_data=X)
    with pytest.raises(ValueError, match="epochs"):
        model.fit(X, y, epochs=0)
    with pytest.raises(TypeError, match="batch_size must be an integer; got 2.5"):
        model.fit(X, y, batch_size=2.5)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1; got 0"):
        model.fit(X, y, batch_size=0)
    with pytest.raises(TypeError, match="not a numbacnn layer"):
        Sequential([Dense(2), "relu"])
    with pytest.raises(ValueError, match="no layers"):
        Sequential([]).fit(X, y)
    with pytest.raises(RuntimeError, match="not built"):
        small_cnn().predict(X)


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
def test_divergence_is_reported():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((8, 3)) * 1e3
    model = Sequential([Dense(1)], optimizer=SGD(eta=1e3), seed=0)
    with pytest.warns(RuntimeWarning, match="learning rate"):
        history = model.fit(X, X[:, 0] * 1e3, epochs=50, batch_size=8, verbose=0)
    assert history.nonfinite and "learning rate" in history.stopped_reason
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_weights_round_trip_and_checks():
    model = small_cnn()
    model.build((1, 6, 6))
    w = model.get_weights()
    model.set_weights([np.zeros_like(a) for a in w])
    assert all(not a.any() for a in model.get_weights())
    with pytest.raises(ValueError, match="expected"):
        model.set_weights(w[:-1])
    with pytest.raises(ValueError, match="shape"):
        model.set_weights([np.zeros(1)] * len(w))
    with pytest.raises(RuntimeError, match="already built"):
        model.add(Dense(2))
    assert "Conv2D" in repr(model)


def test_training_state_round_trip_and_checks():
    X, y = toy_images(12)
    model = small_cnn()
    model.fit(X, y, epochs=2, batch_size=5, verbose=0)
    state = model.training_state.state_dict()
    assert state["epochs_done"] == model.training_state.epochs_done == 2
    twin = small_cnn()
    twin.build((1, 6, 6))
    twin.training_state.load_state_dict(state)
    np.testing.assert_array_equal(twin.training_state.shuffled(12),
                                  model.training_state.shuffled(12))
    assert twin.fit(X, y, epochs=1, verbose=0).epoch == [2]
    with pytest.raises(ValueError, match="keys 'shuffle_rng' and 'epochs_done'"):
        twin.training_state.load_state_dict({"epochs_done": 1})
    with pytest.raises(ValueError, match=r"state\['epochs_done'\] must be an integer >= 0"):
        twin.training_state.load_state_dict({**state, "epochs_done": -1})
