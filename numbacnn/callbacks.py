"""Callbacks: hooks a :class:`numbacnn.Sequential` calls while it trains.

A callback sees the model (``self.model``) and, at the end of every epoch, the
``logs`` dict of that epoch's metrics (``loss``, ``accuracy``, ``val_loss``,
``val_accuracy`` where they apply).  Setting ``self.model.stop_training =
True`` ends training after the current epoch.  Callbacks run in the order
given, and what one adds to ``logs`` (:class:`LearningRateScheduler`'s
``lr``) is seen by those after it, by the :class:`~numbacnn.History` and by
the ``verbose=2`` line, as in Keras.

:meth:`Sequential.fit` needs no callback to survive a diverging run: it never
applies a step whose loss or gradients are NaN or infinite, and stops there
(see :func:`numbacnn.models.training.fit`).
"""

import csv
import inspect
import math
import os

from ._validation import check_int, check_real

__all__ = ["Callback", "EarlyStopping", "TerminateOnNaN", "ModelCheckpoint",
           "LearningRateScheduler", "CSVLogger"]


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
        self.monitor, self.mode = _monitored(monitor, mode)
        self.min_delta = float(check_real(min_delta, "min_delta", low=0))
        self.patience = int(check_int(patience, "patience", minimum=0))
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
        value = _monitored_value(self, logs)
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


def _monitored(monitor, mode):
    """``(monitor, "min" or "max")``: ``mode="auto"`` is ``"max"`` for accuracies."""
    if not isinstance(monitor, str):
        raise TypeError(f"monitor must be a metric name such as 'val_loss'; got {monitor!r}")
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be one of 'auto', 'min', 'max'; got {mode!r}")
    if mode == "auto":
        mode = "max" if monitor.endswith("accuracy") else "min"
    return monitor, mode


def _monitored_value(callback, logs):
    """The epoch's value of ``callback.monitor``; ``ValueError`` if the logs lack it."""
    logs = logs or {}
    if callback.monitor not in logs:
        hint = (" (pass validation_data or validation_split to fit)"
                if callback.monitor.startswith("val_") else "")
        raise ValueError(
            f"{type(callback).__name__} monitors {callback.monitor!r} but the epoch logs only "
            f"have {sorted(logs)}{hint}"
        )
    return float(logs[callback.monitor])


class ModelCheckpoint(Callback):
    """Save the model (:meth:`Sequential.save`) at the end of every epoch, or of the best.

    Parameters
    ----------
    filepath : str or os.PathLike
        Where to save; may hold Keras's format fields: ``{epoch}`` (counted
        from 1, as Keras prints it) and any key of the epoch logs, e.g.
        ``"ckpt-{epoch:02d}-{val_loss:.3f}.npz"``.  ``.npz`` is appended to a
        name without it (see :meth:`Sequential.save`); the file is replaced
        atomically, so an interrupted save leaves the previous checkpoint whole.
    monitor : str, default "val_loss"
        The logs key that decides what is best (``save_best_only``).
    save_best_only : bool, default False
        Save only after an epoch that improves on the best ``monitor`` so far.
    mode : {"auto", "min", "max"}, default "auto"
        Whether lower or higher is better; ``"auto"``: higher for accuracies.

    Attributes
    ----------
    best : float
        Best value of ``monitor`` saved so far (with ``save_best_only``).
    saved : list of str
        The paths written, in order.

    Examples
    --------
    >>> from numbacnn.callbacks import ModelCheckpoint
    >>> checkpoint = ModelCheckpoint("best.npz", monitor="val_accuracy", save_best_only=True)
    """

    def __init__(self, filepath, monitor="val_loss", save_best_only=False, mode="auto"):
        self.filepath = os.fspath(filepath)
        if not isinstance(self.filepath, str):
            raise TypeError(f"filepath must be a str path; got {filepath!r}")
        self.monitor, self.mode = _monitored(monitor, mode)
        self.save_best_only = bool(save_best_only)
        self.best = math.inf if self.mode == "min" else -math.inf
        self.saved = []

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        if self.save_best_only:
            value = _monitored_value(self, logs)
            better = value < self.best if self.mode == "min" else value > self.best
            if not better:
                return
            self.best = value
        try:
            path = self.filepath.format(epoch=epoch + 1, **logs)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"ModelCheckpoint filepath {self.filepath!r} cannot be filled from epoch and "
                f"the epoch logs {sorted(logs)}: {type(exc).__name__}: {exc}"
            ) from None
        self.saved.append(self.model.save(path))


class LearningRateScheduler(Callback):
    """Set the learning rate before every epoch from Keras's ``schedule(epoch, lr) -> lr``.

    ``schedule`` receives the epoch (0-based, counting across repeated
    :meth:`Sequential.fit` calls) and the optimizer's current learning rate
    :math:`\\eta`, and returns the new one, which is written to the
    optimizer's ``eta``.  A schedule of one argument, ``schedule(epoch)``, is
    called so.  Each epoch's rate is added to the logs as ``lr`` (and so to the
    History and a :class:`CSVLogger` placed after this callback).

    Parameters
    ----------
    schedule : callable
        ``schedule(epoch, lr)`` (or ``schedule(epoch)``) returning a float > 0.

    Examples
    --------
    >>> from numbacnn.callbacks import LearningRateScheduler
    >>> halve_every_5 = LearningRateScheduler(lambda epoch, lr: lr / 2 if epoch and
    ...                                       epoch % 5 == 0 else lr)
    """

    def __init__(self, schedule):
        if not callable(schedule):
            raise TypeError(f"schedule must be a function (epoch, lr) -> lr; got {schedule!r}")
        self.schedule = schedule
        try:
            inspect.signature(schedule).bind(0, 1.0)
            self._takes_lr = True
        except TypeError:
            self._takes_lr = False
        except ValueError:  # a builtin without a signature: call it as Keras does
            self._takes_lr = True

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        args = (epoch, float(optimizer.eta)) if self._takes_lr else (epoch,)
        value = self.schedule(*args)
        try:
            optimizer.eta = check_real(value, "lr", low=0, low_open=True)
        except ValueError:
            raise ValueError(
                f"the schedule returned {value!r} for epoch {epoch}; a learning rate must be "
                "a finite number > 0"
            ) from None

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["lr"] = float(self.model.optimizer.eta)


class CSVLogger(Callback):
    """Write one row per epoch to a CSV file: ``epoch`` and every key of the epoch logs.

    The columns are ``epoch`` (0-based, as in :attr:`History.epoch`) and the
    first epoch's log keys in sorted order (Keras's layout); the file is
    written with the :mod:`csv` module (values with commas or quotes are
    quoted) and flushed after every row, so it can be followed while training.

    Parameters
    ----------
    filename : str or os.PathLike
    separator : str, default ","
    append : bool, default False
        Append to an existing file (without repeating its header) instead of
        replacing it.
    """

    def __init__(self, filename, separator=",", append=False):
        self.filename = os.fspath(filename)
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"separator must be one character; got {separator!r}")
        self.separator = separator
        self.append = bool(append)
        self._file = self._writer = None

    def on_train_begin(self, logs=None):
        has_rows = self.append and os.path.isfile(self.filename) and \
            os.path.getsize(self.filename) > 0
        self._file = open(self.filename, "a" if self.append else "w", newline="",  # noqa: SIM115
                          encoding="utf-8")
        self._header_written = has_rows
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._writer is None:
            fields = ["epoch", *sorted(logs)]
            self._writer = csv.DictWriter(self._file, fieldnames=fields,
                                          delimiter=self.separator, restval="",
                                          extrasaction="ignore")
            if not self._header_written:
                self._writer.writeheader()
        self._writer.writerow({"epoch": epoch, **logs})
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = self._writer = None
