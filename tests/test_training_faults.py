"""A diverging fit never applies a non-finite step, stops, and keeps a usable model.

The reproducer: a GRU regressor on sine windows with ``SGD(eta=1e6)`` overflows
within four mini-batches in float32.  Each test records the weights and the
optimizer state after every applied step (from ``on_batch_end``, which runs
after the step) and compares the final model against the last record, bit for
bit.
"""

import warnings

import numpy as np
import pytest

from numbacnn import History, Sequential, TerminateOnNaN, load_model
from numbacnn.callbacks import Callback
from numbacnn.layers import GRU, Dense
from numbacnn.models import training
from numbacnn.optimizers import SGD, Adam


def sine_windows(dtype=np.float32, steps=10, n=180):
    s = np.sin(np.linspace(0, 8 * np.pi, n + steps + 10))
    X = np.stack([s[i : i + steps] for i in range(n)])[:, :, None].astype(dtype)
    return X, s[steps : steps + n][:, None].astype(dtype)


class Recorder(Callback):
    """Weights and optimizer state after every applied step."""

    def on_train_begin(self, logs=None):
        self.weights = [self.model.get_weights()]
        self.states = [self.model.optimizer.state_dict()]
        self.losses = []

    def on_batch_end(self, batch, logs=None):
        self.weights.append(self.model.get_weights())
        self.states.append(self.model.optimizer.state_dict())
        self.losses.append(logs["loss"])


def assert_same_weights(a, b):
    assert len(a) == len(b)
    for u, v in zip(a, b, strict=True):
        assert u.dtype == v.dtype
        assert u.tobytes() == v.tobytes()


def assert_same_state(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].keys() == b[key].keys()
        for name, value in a[key].items():
            if isinstance(value, np.ndarray):
                assert value.tobytes() == b[key][name].tobytes()
            else:
                assert value == b[key][name]


def gru_model(optimizer):
    return Sequential([GRU(8), Dense(1)], optimizer=optimizer, seed=0)


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
def test_diverging_gru_stops_with_its_last_finite_weights(tmp_path, capsys):
    X, y = sine_windows()
    model, rec = gru_model(SGD(eta=1e6)), Recorder()
    history = model.fit(X, y, epochs=3, batch_size=16, verbose=2, callbacks=[rec])
    assert isinstance(history, History)
    # batches 1-3 were applied with finite losses; batch 4 was refused
    assert len(rec.losses) == 3 and all(np.isfinite(rec.losses))
    assert history.nonfinite and not history.interrupted
    assert (history.stopped_epoch, history.stopped_batch) == (0, 3)
    assert "epoch 1, batch 4 of 12" in history.stopped_reason
    assert "loss is inf" in history.stopped_reason
    assert history.history == {} and history.epoch == []  # no epoch completed
    assert model.training_state.epochs_done == 0
    assert model.stop_training
    assert history.stopped_reason in capsys.readouterr().err
    weights = model.get_weights()
    assert all(np.isfinite(w).all() for w in weights)
    assert_same_weights(weights, rec.weights[-1])
    assert_same_state(model.optimizer.state_dict(), rec.states[-1])
    assert all(st["t"] == 3 for st in model.optimizer.state.values())
    # the stopped model saves and loads
    path = model.save(tmp_path / "stopped")
    assert_same_weights(load_model(path).get_weights(), weights)


def test_silent_fit_warns(monkeypatch):
    X, y = sine_windows()
    model = gru_model(SGD(eta=1e6))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's overflow on the way
        with pytest.warns(RuntimeWarning, match="batch 4 of 12.*not applied"):
            warnings.filterwarnings("always", "training stopped", RuntimeWarning)
            history = model.fit(X, y, epochs=1, batch_size=16, verbose=0)
    assert history.nonfinite


def inject_nan_gradient(monkeypatch, model, call, key):
    """Make ``model._backprop`` return a NaN in ``grads[key]`` on its ``call``-th call."""
    original, calls = model._backprop, [0]

    def backprop(xb, yb):
        cost, out, params, grads, grad_x = original(xb, yb)
        calls[0] += 1
        if calls[0] == call:
            grads[key] = grads[key].copy()
            grads[key].flat[0] = np.nan
        return cost, out, params, grads, grad_x

    monkeypatch.setattr(model, "_backprop", backprop)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_gradient_with_finite_loss_is_not_applied(monkeypatch, dtype):
    X, y = sine_windows(dtype)
    model, rec = gru_model(Adam(eta=1e-2)), Recorder()
    model.build(X.shape[1:], dtype=dtype)
    inject_nan_gradient(monkeypatch, model, call=17, key="1.W")  # epoch 2, batch 5
    with pytest.warns(RuntimeWarning, match=r"gradient of 1\.W is not finite"):
        history = model.fit(X, y, epochs=3, batch_size=16, verbose=0, callbacks=[rec])
    assert (history.stopped_epoch, history.stopped_batch) == (1, 4)
    assert history.epoch == [0] and len(history.history["loss"]) == 1
    assert len(rec.losses) == 16
    assert_same_weights(model.get_weights(), rec.weights[-1])
    assert_same_state(model.optimizer.state_dict(), rec.states[-1])
    assert all(st["t"] == 16 for st in model.optimizer.state.values())


def test_update_that_overflows_is_undone():
    # finite loss and gradients, but eta = 1e39 overflows float32 in the update itself
    X, y = sine_windows(np.float32)
    model = gru_model(Adam(eta=1e-3))
    model.fit(X, y, epochs=1, batch_size=32, verbose=0)
    before_w, before_s = model.get_weights(), model.optimizer.state_dict()
    model.optimizer.eta = 1e39
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        history = model.fit(X, y, epochs=1, batch_size=32, verbose=0)
    assert history.nonfinite and history.stopped_batch == 0
    assert "update made a parameter or an optimizer buffer not finite" in history.stopped_reason
    assert_same_weights(model.get_weights(), before_w)
    assert_same_state(model.optimizer.state_dict(), before_s)
    assert model.training_state.epochs_done == 1


def test_first_step_undone_leaves_no_optimizer_state():
    X, y = sine_windows(np.float32)
    model = gru_model(Adam(eta=1e39))
    model.build(X.shape[1:], dtype=np.float32)
    before = model.get_weights()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        history = model.fit(X, y, epochs=1, batch_size=32, verbose=0)
    assert history.nonfinite and (history.stopped_epoch, history.stopped_batch) == (0, 0)
    assert model.optimizer.state == {}
    assert_same_weights(model.get_weights(), before)


def test_step_guard_restores_buffers_in_place():
    params = {"a": np.arange(3.0), "b": np.ones((2, 2), np.float32)}
    grads = {"a": np.full(3, 0.5), "b": np.full((2, 2), 0.25, np.float32)}
    opt, guard = Adam(eta=0.1), training._StepGuard()
    opt.step(params, grads)
    m_a = opt.state["a"]["m"]
    saved_p = {k: v.copy() for k, v in params.items()}
    saved_s = opt.state_dict()
    guard.save(params, opt)
    opt.step(params, grads)
    guard.restore(params, opt)
    assert opt.state["a"]["m"] is m_a
    assert_same_state(opt.state_dict(), saved_s)
    assert_same_weights(list(params.values()), list(saved_p.values()))


def test_all_finite_is_exact_when_the_sum_overflows():
    big = np.full(4, np.finfo(np.float32).max, np.float32)  # the sum overflows, values finite
    assert training._all_finite([big])
    assert not training._all_finite([big, np.array([1.0, np.nan])])
    assert not training._all_finite([np.array([np.inf, -np.inf])])


def test_callback_stop_is_recorded():
    X, y = sine_windows()

    class StopAfterFirst(Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = True

    history = gru_model(SGD(eta=0.01)).fit(X, y, epochs=5, batch_size=64, verbose=0,
                                           callbacks=[StopAfterFirst()])
    assert history.epoch == [0] and not history.nonfinite
    assert history.stopped_reason == "a callback set model.stop_training"
    assert history.stopped_epoch == 0 and history.stopped_batch is None
    full = gru_model(SGD(eta=0.01)).fit(X, y, epochs=1, batch_size=64, verbose=0)
    assert full.stopped_reason is None and full.stopped_epoch is None


def test_terminate_on_nan_acts_as_in_keras():
    X, y = sine_windows()
    model = gru_model(SGD(eta=0.01))
    cb = TerminateOnNaN()
    model.fit(X, y, epochs=1, batch_size=64, verbose=0, callbacks=[cb])
    assert cb.stopped_batch is None and not model.stop_training
    cb.on_batch_end(7, {"loss": float("nan"), "size": 4})
    assert cb.stopped_batch == 7 and model.stop_training
