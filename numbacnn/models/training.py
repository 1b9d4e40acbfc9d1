"""The training loop of :meth:`numbacnn.Sequential.fit`.

Epochs of shuffled mini-batches, a progress bar or one line per epoch,
callbacks, a Ctrl-C that ends training between two mini-batches, and BLAS
limited to one thread while the model computes.  The model supplies the
pieces (checked data, the shuffled order, one optimizer step, evaluation);
this module only puts them in order.
"""

import math
import signal
import sys
import threading

import numpy as np

from .._validation import check_int
from ..callbacks import Callback

__all__ = ["History", "TrainingState", "fit", "outputs", "scores", "single_threaded_blas"]


class History:
    """What :meth:`Sequential.fit` returns.

    Attributes
    ----------
    history : dict of str -> list of float
        One value per completed epoch for each metric: ``loss`` and, where
        they apply, ``accuracy``, ``val_loss`` and ``val_accuracy``.
    epoch : list of int
        The completed epochs (0-based, counting across repeated ``fit`` calls).
    interrupted : bool
        True if training was ended by Ctrl-C (``KeyboardInterrupt``); the
        weights are those after the last completed mini-batch.
    params : dict
        ``epochs``, ``batch_size`` and ``steps`` (mini-batches per epoch).
    """

    def __init__(self, params=None):
        self.history = {}
        self.epoch = []
        self.interrupted = False
        self.params = dict(params or {})

    def _append(self, epoch, logs):
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self):
        keys = ", ".join(self.history)
        return (
            f"History(epochs={len(self.epoch)}, metrics=[{keys}], "
            f"interrupted={self.interrupted})"
        )


class _DeferredInterrupt:
    """Turn the first Ctrl-C into a flag checked between mini-batches.

    A ``KeyboardInterrupt`` raised in the middle of an optimizer step would
    leave some parameters updated and others not; with this guard the current
    mini-batch finishes first.  A second Ctrl-C interrupts immediately.  Only
    the main thread can own signal handlers; elsewhere this does nothing.
    """

    def __init__(self):
        self.requested = False
        self._previous = None

    def _handler(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            try:
                self._previous = signal.signal(signal.SIGINT, self._handler)
            except ValueError:  # e.g. inside an embedded interpreter
                self._previous = None
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


def single_threaded_blas():
    """Limit BLAS to one thread while the model computes.

    A layer's matrix products are small (a mini-batch times a few hundred
    units); splitting them over BLAS threads costs more in synchronisation
    than it gains, most of all on a busy machine.  The numba kernels keep
    their own threads.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


class TrainingState:
    """Where training stands between :meth:`Sequential.fit` calls.

    Attributes
    ----------
    epochs_done : int
        Epochs completed so far; the next epoch gets this number.
    """

    def __init__(self):
        self.epochs_done = 0
        self._rng = None

    def seed(self, seed_sequence):
        """Start the shuffling generator from a ``numpy.random.SeedSequence``."""
        self._rng = np.random.default_rng(seed_sequence)

    def shuffled(self, n):
        """The next epoch's order of ``n`` samples (a draw from the generator)."""
        return self._rng.permutation(n)

    def state_dict(self):
        """``{"shuffle_rng": the generator's state, "epochs_done": int}``, plain values."""
        return {"shuffle_rng": self._rng.bit_generator.state, "epochs_done": self.epochs_done}

    def load_state_dict(self, state):
        """Continue from a :meth:`state_dict` (of a generator of the same kind)."""
        if not isinstance(state, dict) or set(state) != {"shuffle_rng", "epochs_done"}:
            raise ValueError(
                f"state must be a dict with keys 'shuffle_rng' and 'epochs_done'; got {state!r}"
            )
        epochs_done = check_int(state["epochs_done"], "state['epochs_done']", minimum=0)
        self._rng.bit_generator.state = state["shuffle_rng"]
        self.epochs_done = epochs_done


def outputs(model, X, batch_size, logits=False):
    """The model's outputs on checked ``X``, ``batch_size`` samples at a time."""
    with single_threaded_blas():
        parts = [model._forward(X[s : s + batch_size], logits=logits)
                 for s in range(0, X.shape[0], batch_size)]
    return np.concatenate(parts, axis=0)


def scores(model, X, y, batch_size):
    """``{"loss": data loss + L2 penalty, "accuracy": ...}`` on checked ``(X, y)``."""
    out = outputs(model, X, batch_size, logits=model.fused)
    loss = model.loss
    data_loss = loss._forward_from_logits if model.fused else loss._forward
    rows = loss._target_rows(y, out.shape[-1], out.dtype)
    result = {"loss": data_loss(out, rows) + model.l2_penalty()}
    hits = model.task.n_correct(out, y, logits=model.fused)
    if hits is not None:
        result["accuracy"] = hits / X.shape[0]
    return result


def _progress_bar():
    """tqdm's class: a widget in Jupyter when ipywidgets is installed, else the text bar."""
    import warnings

    with warnings.catch_warnings():
        # without ipywidgets tqdm.auto warns once and falls back to the text bar,
        # which works in notebooks too
        warnings.simplefilter("ignore")
        from tqdm.auto import tqdm
    return tqdm


def fit(model, X, y, epochs, batch_size, validation_data, verbose, callbacks):
    """Train ``model``; the arguments and the result are those of :meth:`Sequential.fit`."""
    epochs = check_int(epochs, "epochs", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1 or 2; got {verbose!r}")
    callbacks = [] if callbacks is None else list(callbacks)
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"callbacks must be Callback objects; got {cb!r}")
    X, y = model._checked_data(X, y, build=True)
    val = None
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError("validation_data must be a pair (X_val, y_val)")
        val = model._checked_data(*validation_data, x_name="X_val", y_name="y_val")

    steps = math.ceil(X.shape[0] / batch_size)
    history = History({"epochs": epochs, "batch_size": batch_size, "steps": steps})
    model.stop_training = False
    for cb in callbacks:
        cb.set_model(model)
        cb.on_train_begin()
    try:
        with _DeferredInterrupt() as interrupt, single_threaded_blas():
            for _ in range(epochs):
                epoch = model.training_state.epochs_done
                for cb in callbacks:
                    cb.on_epoch_begin(epoch)
                logs = _run_epoch(
                    model, X, y, batch_size, steps, epoch, val, verbose, callbacks, interrupt
                )
                history._append(epoch, logs)
                model.training_state.epochs_done += 1
                for cb in callbacks:
                    cb.on_epoch_end(epoch, logs)
                if model.stop_training:
                    break
    except KeyboardInterrupt:
        history.interrupted = True
        if verbose:
            print("training interrupted; keeping the weights so far", file=sys.stderr)
    for cb in callbacks:
        cb.on_train_end()
    return history


def _run_epoch(model, X, y, batch_size, steps, epoch, val, verbose, callbacks, interrupt):
    order = model.training_state.shuffled(X.shape[0])
    task = model.task
    total_loss, seen, correct = 0.0, 0, 0
    bar = None
    if verbose == 1:
        bar = _progress_bar()(
            total=steps, desc=f"epoch {epoch + 1}", unit="batch", file=sys.stderr,
            leave=True, dynamic_ncols=True,
        )
    try:
        for b in range(steps):
            idx = order[b * batch_size : (b + 1) * batch_size]
            xb, yb = X[idx], y[idx]
            loss, out = model._train_step(xb, yb)
            if not math.isfinite(loss):
                raise FloatingPointError(
                    f"the loss became {loss} at epoch {epoch + 1}, batch {b + 1}; the "
                    "learning rate (eta) is probably too large"
                )
            m = xb.shape[0]
            total_loss += loss * m
            seen += m
            hits = task.n_correct(out, yb, logits=model.fused)
            if hits is not None:
                correct += hits
            for cb in callbacks:
                cb.on_batch_end(b, {"loss": loss, "size": m})
            if bar is not None:
                post = {"loss": f"{total_loss / seen:.4f}"}
                if hits is not None:
                    post["accuracy"] = f"{correct / seen:.4f}"
                bar.set_postfix(post, refresh=False)
                bar.update(1)
            if interrupt.requested:
                raise KeyboardInterrupt
        logs = {"loss": total_loss / seen}
        if task.is_classifier:
            logs["accuracy"] = correct / seen
        if val is not None:
            val_scores = scores(model, *val, batch_size=max(batch_size, 256))
            logs.update({f"val_{k}": v for k, v in val_scores.items()})
        text = {k: f"{v:.4f}" for k, v in logs.items()}
        if bar is not None:
            bar.set_postfix(text, refresh=True)
        elif verbose == 2:
            line = " - ".join(f"{k}: {v}" for k, v in text.items())
            print(f"epoch {epoch + 1}: {line}", file=sys.stderr)
        return logs
    finally:
        if bar is not None:
            bar.close()
