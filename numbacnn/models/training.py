"""The training loop of :meth:`numbacnn.Sequential.fit`.

Epochs of shuffled mini-batches, a progress bar or one line per epoch,
callbacks, a Ctrl-C that ends training between two mini-batches, and BLAS
limited to one thread while the model computes.  The model supplies the
pieces (checked data, the shuffled order, forward and backward, evaluation);
this module puts them in order and guards every optimizer step: a step whose
cost or gradients are not finite, or which would leave a parameter or an
optimizer buffer not finite, is not applied, and training stops (see
:func:`fit`).
"""

import math
import signal
import sys
import threading
import time
import warnings

import numpy as np

from .._compile import warm_up
from .._validation import check_int, check_real
from ..callbacks import Callback

__all__ = ["History", "TrainingState", "backprop_without_input_grad", "fit", "guarded_step",
           "outputs", "scores", "single_threaded_blas"]


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
    nonfinite : bool
        True if training stopped because a step was not finite (see
        :func:`fit`); the weights and the optimizer state are those before
        that step.
    stopped_reason : str or None
        Why training ended before ``epochs`` epochs: a non-finite step (the
        message says what was not finite, and where), Ctrl-C, or a callback
        setting ``model.stop_training``; ``None`` if every epoch ran.
    stopped_epoch, stopped_batch : int or None
        Where training stopped (0-based, as :attr:`epoch`): the epoch, and
        for a non-finite step or Ctrl-C the mini-batch within it.  An epoch
        cut short is not in :attr:`history`.
    params : dict
        ``epochs``, ``batch_size`` and ``steps`` (mini-batches per epoch).
    compile_time : float
        Seconds spent before the first mini-batch compiling the kernels, or
        loading them from numba's cache (0.0 when this process had them
        already); part of the time ``fit`` took, not of any epoch.  See
        :mod:`numbacnn._compile`.
    """

    def __init__(self, params=None):
        self.history = {}
        self.epoch = []
        self.interrupted = False
        self.nonfinite = False
        self.stopped_reason = None
        self.stopped_epoch = None
        self.stopped_batch = None
        self.params = dict(params or {})
        self.compile_time = 0.0

    def _stop(self, reason, epoch, batch=None):
        self.stopped_reason, self.stopped_epoch, self.stopped_batch = reason, epoch, batch

    def _append(self, epoch, logs):
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def _append_added(self, logs):
        """Record the keys of the last epoch's ``logs`` that :meth:`_append` did not see."""
        for key, value in logs.items():
            values = self.history.setdefault(key, [])
            if len(values) < len(self.epoch):
                values.append(value)

    def plot(self, metrics=None):
        """Plot the per-epoch curves with matplotlib; return ``(figure, axes)``.

        One panel per metric, the training curve and its ``val_`` twin
        together, against the epoch (counted from 1).

        Parameters
        ----------
        metrics : list of str, optional
            The metrics to show, without ``val_`` (default: every one
            recorded, e.g. ``["loss", "accuracy"]``).

        Returns
        -------
        figure : matplotlib.figure.Figure
        axes : list of matplotlib.axes.Axes
            One per metric, in order.
        """
        import matplotlib.pyplot as plt

        recorded = [k for k in self.history if not k.startswith("val_")]
        recorded += [k[4:] for k in self.history if k.startswith("val_") and k[4:] not in recorded]
        metrics = recorded if metrics is None else list(metrics)
        unknown = [m for m in metrics if m not in recorded]
        if not metrics or unknown:
            raise ValueError(f"metrics must be among the recorded {recorded}; got {metrics!r}")
        fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.5),
                                 squeeze=False)
        axes = list(axes[0])
        for ax, name in zip(axes, metrics, strict=True):
            for key, label in ((name, "training"), (f"val_{name}", "validation")):
                if key in self.history:
                    values = self.history[key]
                    ax.plot([e + 1 for e in self.epoch[-len(values):]], values, marker="o",
                            markersize=3, label=label)
            ax.set_xlabel("epoch")
            ax.set_ylabel(name)
            ax.legend()
        fig.tight_layout()
        return fig, axes

    def __repr__(self):
        keys = ", ".join(self.history)
        stopped = "" if self.stopped_reason is None else f", stopped={self.stopped_reason!r}"
        return (
            f"History(epochs={len(self.epoch)}, metrics=[{keys}], "
            f"interrupted={self.interrupted}{stopped})"
        )


class _NonFiniteStep(Exception):
    """Raised inside the epoch loop when a step was refused; caught by :func:`fit`."""

    def __init__(self, message, batch):
        super().__init__(message)
        self.batch = batch


def _all_finite(arrays):
    """True if every element of every array is finite.

    The sum of squares :math:`a \\cdot a` is finite only if every element is
    (a NaN or an infinity survives squaring and any addition of non-negative
    terms), so one BLAS dot product answers for almost every array without a
    temporary; only a sum that overflowed is checked element by element.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        for a in arrays:
            if not math.isfinite(np.vdot(a, a)) and not np.isfinite(a).all():
                return False
    return True


class _StepGuard:
    """Undo an optimizer step: the parameters are copied before it, the optimizer sets
    its own state aside (:meth:`~numbacnn.optimizers.Optimizer._save_state`).

    The copies live in buffers allocated on the first step and reused, so a
    step costs one copy of the parameters and of the optimizer's buffers.
    """

    def __init__(self):
        self._params = {}

    def save(self, params, optimizer):
        for key, p in params.items():
            _copy_into(self._params, key, p)
        optimizer._save_state()

    def restore(self, params, optimizer):
        for key, p in params.items():
            np.copyto(p, self._params[key])
        optimizer._restore_state()


def _copy_into(store, key, array):
    held = store.get(key)
    if held is None or held.shape != array.shape or held.dtype != array.dtype:
        store[key] = array.copy()
    else:
        np.copyto(held, array)


def backprop_without_input_grad(model, xb, yb):
    """``model._backprop(xb, yb)``, the first layer skipping the input gradient (if it can).

    A training step never uses :math:`\\partial C/\\partial X`; the layer returns
    ``None`` for it (see ``Layer._input_grad``), and is set back afterwards.
    """
    first = model.layers[0]
    first._input_grad = False
    try:
        return model._backprop(xb, yb)
    finally:
        first._input_grad = True


def guarded_step(model, xb, yb, guard):
    """One optimizer step on a checked batch, refused if it is not finite.

    Returns ``(cost, last output, None)`` after a step, or ``(cost, last
    output, what)`` when the step was refused, ``what`` saying which value was
    not finite; then the parameters and the optimizer state are as before.
    """
    cost, out, params, grads, _ = backprop_without_input_grad(model, xb, yb)
    if not math.isfinite(cost):
        return cost, out, f"the loss is {cost}"
    if not _all_finite(grads.values()):
        bad = [k for k, g in grads.items() if not np.isfinite(g).all()]
        return cost, out, f"the gradient of {', '.join(bad)} is not finite"
    guard.save(params, model.optimizer)
    model.optimizer._step(params, grads)
    buffers = (v for st in model.optimizer.state.values() for v in st.values()
               if isinstance(v, np.ndarray))
    if not (_all_finite(params.values()) and _all_finite(buffers)):
        guard.restore(params, model.optimizer)
        return cost, out, "the update made a parameter or an optimizer buffer not finite"
    return cost, out, None


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


def _warm_up_step(twin, X, y, batch_size, val):
    """One guarded step of ``twin`` (and one evaluation with ``val``): what compiles the kernels.

    Called by :func:`numbacnn._compile.warm_up` on a copy of the model before the first
    mini-batch.
    """
    # a fancy index, as the epoch loop takes its mini-batches: C-contiguous like theirs
    idx = np.arange(min(batch_size, X.shape[0]))
    guarded_step(twin, X[idx], y[idx], _StepGuard())
    if val is not None:
        k = np.arange(min(max(batch_size, 256), val[0].shape[0]))
        scores(twin, val[0][k], val[1][k], batch_size=max(batch_size, 256))


def fit(model, X, y, epochs, batch_size, validation_data, verbose, callbacks,
        validation_split=0.0):
    """Train ``model``; the arguments and the result are those of :meth:`Sequential.fit`.

    Every step is guarded: if the cost or a gradient is NaN or infinite, the
    step is not applied; if the update would make a parameter or an optimizer
    buffer NaN or infinite, it is undone.  Either way training stops there:
    the model keeps the weights (and the optimizer its state) from before that
    step, the epoch in progress is not recorded, and the returned
    :class:`History` has ``nonfinite=True`` and says in ``stopped_reason``,
    ``stopped_epoch`` and ``stopped_batch`` what was not finite and where.
    The message is printed to stderr when ``verbose`` is set, and issued as a
    ``RuntimeWarning`` when it is 0.  Nothing is raised.
    """
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
    X, y, val = _split_validation(X, y, val, validation_split)

    steps = math.ceil(X.shape[0] / batch_size)
    history = History({"epochs": epochs, "batch_size": batch_size, "steps": steps})
    with single_threaded_blas():  # the kernels compile before the first batch, said aloud
        history.compile_time = warm_up(model, X, y, batch_size, val, verbose, _warm_up_step)
    model.stop_training = False
    for cb in callbacks:
        cb.set_model(model)
        cb.on_train_begin()
    guard, epoch, batch = _StepGuard(), model.training_state.epochs_done, [None]
    try:
        with _DeferredInterrupt() as interrupt, single_threaded_blas():
            for _ in range(epochs):
                epoch = model.training_state.epochs_done
                for cb in callbacks:
                    cb.on_epoch_begin(epoch)
                started = time.perf_counter()
                logs = _run_epoch(model, X, y, batch_size, steps, epoch, val, verbose,
                                  callbacks, interrupt, guard, batch)
                history._append(epoch, logs)
                model.training_state.epochs_done += 1
                for cb in callbacks:
                    cb.on_epoch_end(epoch, logs)
                # as in Keras, the History and the log line see what the callbacks
                # added to the logs (LearningRateScheduler's "lr")
                history._append_added(logs)
                if verbose == 2:
                    _print_epoch_line(epoch, epochs, time.perf_counter() - started, logs)
                if model.stop_training:
                    history._stop("a callback set model.stop_training", epoch)
                    break
    except KeyboardInterrupt:
        history.interrupted = True
        history._stop("interrupted (Ctrl-C)", epoch, batch[0])
        if verbose:
            print("training interrupted; keeping the weights so far", file=sys.stderr)
    except _NonFiniteStep as exc:
        model.stop_training = True
        history.nonfinite = True
        history._stop(str(exc), epoch, exc.batch)
        if verbose:
            print(exc, file=sys.stderr)
        else:
            warnings.warn(str(exc), RuntimeWarning, stacklevel=3)
    for cb in callbacks:
        cb.on_train_end()
    return history


def _run_epoch(model, X, y, batch_size, steps, epoch, val, verbose, callbacks, interrupt,
               guard, batch):
    """One epoch; ``batch[0]`` follows the mini-batch in progress (for the History)."""
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
            batch[0] = b
            idx = order[b * batch_size : (b + 1) * batch_size]
            xb, yb = X[idx], y[idx]
            loss, out, refused = guarded_step(model, xb, yb, guard)
            if refused is not None:
                raise _NonFiniteStep(
                    f"training stopped at epoch {epoch + 1}, batch {b + 1} of {steps}: "
                    f"{refused}; that step was not applied and the model keeps the weights "
                    "from before it (the learning rate, eta, is probably too large)", b)
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
        if bar is not None:
            bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items()}, refresh=True)
        return logs
    finally:
        if bar is not None:
            bar.close()


def _print_epoch_line(epoch, epochs, seconds, logs):
    """``verbose=2``: one line per epoch, as Keras writes it, flushed for log files."""
    metrics = "".join(f" - {k}: {v:.4g}" if k == "lr" else f" - {k}: {v:.4f}"
                      for k, v in logs.items())
    print(f"Epoch {epoch + 1}/{epochs} - {seconds:.1f}s{metrics}", file=sys.stderr, flush=True)


def _split_validation(X, y, val, fraction):
    """Keras's ``validation_split``: the last ``fraction`` of ``(X, y)``, before shuffling.

    Returns ``(X_train, y_train, (X_val, y_val))``, or the arguments unchanged
    for ``fraction`` 0 or ``None``.  The split takes views: nothing is copied.
    """
    if fraction is None or (not isinstance(fraction, bool) and fraction == 0):
        return X, y, val
    fraction = check_real(fraction, "validation_split", low=0, high=1, low_open=True,
                          high_open=True)
    if val is not None:
        raise ValueError("pass either validation_data or validation_split to fit, not both")
    n = X.shape[0]
    # Keras's rule: the first floor(n (1 - fraction)) samples train
    split_at = math.floor(n * (1.0 - fraction))
    if split_at == 0 or split_at == n:
        raise ValueError(
            f"validation_split={fraction} of {n} samples leaves {split_at} for training and "
            f"{n - split_at} for validation; both need at least one"
        )
    return X[:split_at], y[:split_at], (X[split_at:], y[split_at:])
