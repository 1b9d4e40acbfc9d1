"""Callbacks: hooks a :class:`numbacnn.Sequential` calls while it trains.

A callback sees the model (``self.model``) and, at the end of every epoch, the
``logs`` dict of that epoch's metrics (``loss``, ``accuracy``, ``val_loss``,
``val_accuracy`` where they apply).  Setting ``self.model.stop_training =
True`` ends training after the current epoch.

:meth:`Sequential.fit` needs no callback to survive a diverging run: it never
applies a step whose loss or gradients are NaN or infinite, and stops there
(see :func:`numbacnn.models.training.fit`).
"""

import math

from ._validation import check_int, check_real

__all__ = ["Callback", "EarlyStopping", "TerminateOnNaN"]


class Callback:
    """Base class with do-nothing hooks; override the ones you need."""

    model = None

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None):
        """Called once before the first epoch."""

    def on_train_end(self, logs=None):
        """Called once after the last epoch (also after an interruption)."""

    def on_epoch_begin(self, epoch, logs=None):
        """Called before epoch ``epoch`` (0-based)."""

    def on_epoch_end(self, epoch, logs=None):
        """Called after epoch ``epoch`` with that epoch's metrics in ``logs``."""

    def on_batch_end(self, batch, logs=None):
        """Called after each mini-batch with ``logs = {"loss": batch loss, "size": n}``."""


class EarlyStopping(Callback):
    """Stop training when a monitored metric has stopped improving.

    An epoch *improves* if its value beats the best so far by more than
    ``min_delta`` (lower for losses, higher for accuracies).  Training stops
    after ``patience`` consecutive epochs without improvement (``patience=0``:
    at the first one).

    Parameters
    ----------
    monitor : str, default "val_loss"
        A key of the epoch logs: ``"loss"``, ``"accuracy"``, ``"val_loss"``
        or ``"val_accuracy"`` (the ``val_`` ones need ``validation_data``).
    min_delta : float, default 0
        Smallest change that counts as an improvement.
    patience : int, default 0
        Epochs without improvement to tolerate before stopping.
    mode : {"auto", "min", "max"}, default "auto"
        Whether lower or higher is better; ``"auto"`` means ``"max"`` for
        accuracies and ``"min"`` otherwise.
    restore_best_weights : bool, default False
        At the end of training, put back the weights of the best epoch.

    Attributes
    ----------
    best : float
        Best value seen.
    best_epoch : int or None
        Epoch (0-based) of ``best``.
    stopped_epoch : int or None
        Epoch after which training was stopped, ``None`` if it ran to the end.

    Examples
    --------
    >>> from numbacnn import EarlyStopping
    >>> stop = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    """

    def __init__(
        self, monitor="val_loss", min_delta=0.0, patience=0, mode="auto",
        restore_best_weights=False,
    ):
        if not isinstance(monitor, str):
            raise TypeError(f"monitor must be a metric name such as 'val_loss'; got {monitor!r}")
        min_delta = check_real(min_delta, "min_delta", low=0)
        patience = check_int(patience, "patience", minimum=0)
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be one of 'auto', 'min', 'max'; got {mode!r}")
        self.monitor = monitor
        self.min_delta = float(min_delta)
        self.patience = int(patience)
        if mode == "auto":
            mode = "max" if monitor.endswith("accuracy") else "min"
        self.mode = mode
        self.restore_best_weights = bool(restore_best_weights)
        self._reset()

    def _reset(self):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = None
        self.stopped_epoch = None
        self.wait = 0
        self._best_weights = None

    def on_train_begin(self, logs=None):
        self._reset()

    def _improves(self, value):
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs:
            hint = " (pass validation_data to fit)" if self.monitor.startswith("val_") else ""
            raise ValueError(
                f"EarlyStopping monitors {self.monitor!r} but the epoch logs only have "
                f"{sorted(logs)}{hint}"
            )
        value = float(logs[self.monitor])
        if self._improves(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self._best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self._best_weights is not None:
            self.model.set_weights(self._best_weights)


class TerminateOnNaN(Callback):
    """Stop training when a mini-batch loss is NaN or infinite (Keras' ``TerminateOnNaN``).

    :meth:`Sequential.fit` already does this by itself, and more: the step
    with the non-finite loss (or gradient, or update) is not applied, training
    stops at once, and the :class:`~numbacnn.History` says why.  So this
    callback never fires in a numbacnn ``fit``; it exists so that code written
    for Keras runs unchanged, and it acts as in Keras (setting
    ``model.stop_training``) when a caller hands it a non-finite loss itself.

    Attributes
    ----------
    stopped_batch : int or None
        The mini-batch whose loss was not finite.
    """

    stopped_batch = None

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            self.stopped_batch = batch
            self.model.stop_training = True
