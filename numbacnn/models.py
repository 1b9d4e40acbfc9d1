r"""The :class:`Sequential` model: a stack of layers trained by mini-batch gradient descent.

One training step on a mini-batch :math:`B` (see :doc:`/theory/training`):

1. forward through every layer; the last layer's output :math:`\hat y`
   (or, when the loss is fused with the last activation, its pre-activation
   :math:`z`);
2. the cost :math:`C = \mathrm{loss}(\hat y, y) + \frac{\lambda}{2}\sum_\ell
   \lVert W_\ell\rVert^2` and :math:`\partial C/\partial \hat y` (or
   :math:`\partial C/\partial z`);
3. backward through the layers in reverse, each filling its ``grads``;
4. L2 regularisation adds :math:`\lambda W` to every weight gradient (never to
   biases);
5. the optimizer updates every parameter in place.

Files written by :meth:`Sequential.save` are NumPy ``.npz`` archives holding
the parameters and a JSON description of the model; :func:`load_model` reads
them with ``allow_pickle=False``, so loading never runs code from the file.
"""

import json
import math
import numbers
import os
import signal
import sys
import threading

import numpy as np

from . import losses as _losses
from . import optimizers as _optimizers
from ._validation import as_float_array
from .activations import Sigmoid, Softmax
from .callbacks import Callback
from .layers import LAYERS
from .layers.base import ActivatedLayer, Layer

__all__ = ["Sequential", "History", "load_model"]

_FORMAT = "numbacnn.Sequential"
_FORMAT_VERSION = 1


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


def _single_threaded_blas():
    """Limit BLAS to one thread while the model computes.

    A layer's matrix products are small (a mini-batch times a few hundred
    units); splitting them over BLAS threads costs more in synchronisation
    than it gains, and on a busy machine it is up to 25 times slower.  The
    numba kernels keep their own threads.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def _progress_bar():
    """tqdm's class: a widget in Jupyter when ipywidgets is installed, else the text bar."""
    import warnings

    with warnings.catch_warnings():
        # without ipywidgets tqdm.auto warns once and falls back to the text bar,
        # which works in notebooks too
        warnings.simplefilter("ignore")
        from tqdm.auto import tqdm
    return tqdm


def _check_nonneg_float(value, name):
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not value >= 0:
        raise ValueError(f"{name} must be a number >= 0; got {value!r}")
    return float(value)


def _check_pos_int(value, name):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def _check_finite(X, name):
    bad = ~np.isfinite(X)
    if bad.any():
        first = int(np.argwhere(bad.reshape(X.shape[0], -1).any(axis=1))[0, 0])
        raise ValueError(
            f"{name} contains {int(bad.sum())} NaN or infinite values (first in sample "
            f"{first}); remove or impute them before training"
        )


class Sequential:
    r"""A linear stack of layers with a loss and an optimizer.

    Parameters
    ----------
    layers : list of Layer
        From input to output, e.g. ``[Conv2D(10, 3, padding="same",
        activation="relu"), MaxPool2D(2), Flatten(), Dense(50, activation="relu"),
        Dense(10, activation="softmax")]``.  Input sizes are inferred from the
        data at the first :meth:`fit` (or :meth:`build`).
    loss : str, dict or Loss, optional
        Default: categorical cross-entropy when the last layer's activation is
        a softmax, binary cross-entropy when it is a sigmoid, mean squared
        error otherwise.  When the loss is fused with the last activation
        (``loss.fuses_with(last.activation)``: softmax + categorical
        cross-entropy, sigmoid + binary cross-entropy), training feeds the
        last layer's pre-activation to the loss's stable
        ``forward_from_logits``/``backward_from_logits``.
    optimizer : str, dict or Optimizer, optional
        Default :class:`numbacnn.optimizers.Adam` with its default settings.
    l2 : float, default 0
        L2 regularisation strength :math:`\lambda` (the lecture's ``lmbd``):
        adds :math:`\frac{\lambda}{2}\lVert W\rVert^2` per weight array to the
        reported loss and :math:`\lambda W` to its gradient; biases are not
        regularised.  A layer's own ``l2`` argument overrides it for that
        layer.  Keras' ``regularizers.l2(a)`` penalises :math:`a\lVert
        W\rVert^2`, i.e. corresponds to ``l2 = 2 a``.
    seed : int, optional
        Seeds the initial weights and the shuffling of mini-batches: the same
        seed (and number of numba threads) gives bit-identical losses and
        predictions.  ``None`` draws fresh randomness.

    Attributes
    ----------
    built : bool
    input_shape : tuple of int
        Shape of one sample, fixed by the first data the model sees.
    dtype : numpy.dtype
        float32 if the first training data were float32, else float64; later
        inputs are converted to it.
    stop_training : bool
        Set by a callback to end :meth:`fit` after the current epoch.

    Examples
    --------
    >>> import numpy as np
    >>> from numbacnn import Sequential
    >>> from numbacnn.layers import Conv2D, MaxPool2D, Flatten, Dense
    >>> model = Sequential([Conv2D(4, 3, padding="same", activation="relu"), MaxPool2D(2),
    ...                     Flatten(), Dense(10, activation="softmax")], seed=0)
    >>> X = np.random.default_rng(0).random((20, 1, 8, 8))
    >>> y = np.arange(20) % 10
    >>> history = model.fit(X, y, epochs=2, batch_size=5, verbose=0)
    >>> sorted(history.history)
    ['accuracy', 'loss']
    >>> model.predict(X[:3]).shape
    (3,)
    """

    def __init__(self, layers=None, loss=None, optimizer=None, l2=0.0, seed=None):
        self.layers = []
        for layer in [] if layers is None else list(layers):
            self.add(layer)
        self.loss = None if loss is None else _losses.get_loss(loss)
        self.optimizer = (
            _optimizers.Adam() if optimizer is None else _optimizers.get_optimizer(optimizer)
        )
        self.l2 = _check_nonneg_float(l2, "l2")
        if seed is not None and (
            not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0
        ):
            raise ValueError(f"seed must be None or an integer >= 0; got {seed!r}")
        self.seed = None if seed is None else int(seed)
        self.built = False
        self.input_shape = None
        self.dtype = None
        self.stop_training = False
        self._epochs_done = 0

    # -- assembly ---------------------------------------------------------------------------
    def add(self, layer):
        """Append a layer (before the model is built)."""
        if not isinstance(layer, Layer):
            raise TypeError(
                f"layer {len(self.layers)} is {layer!r}, not a numbacnn layer; use the classes "
                "of numbacnn.layers (Conv2D, MaxPool2D, Flatten, Dense, ...)"
            )
        if self.__dict__.get("built"):
            raise RuntimeError("cannot add a layer to a model that is already built")
        if any(layer is other for other in self.layers):
            raise ValueError(f"layer {layer!r} appears twice; create a new layer object instead")
        self.layers.append(layer)

    def build(self, input_shape, dtype=np.float64):
        """Create every layer's parameters for samples of ``input_shape`` (no batch axis).

        Called by the first :meth:`fit`; call it yourself to see
        :meth:`summary` before training.  Raises ``ValueError`` naming the
        layer and what to change when the layers do not fit together.
        """
        if not self.layers:
            raise ValueError("the model has no layers; pass a list of layers to Sequential")
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise TypeError(f"dtype must be float32 or float64; got {dtype}")
        shape = tuple(int(s) for s in input_shape)
        ss = np.random.SeedSequence(self.seed)
        init_ss, shuffle_ss = ss.spawn(2)
        shapes = []
        layer_seeds = init_ss.spawn(len(self.layers))
        for i, (layer, layer_ss) in enumerate(zip(self.layers, layer_seeds, strict=True)):
            try:
                shape = layer.build(shape, rng=np.random.default_rng(layer_ss), dtype=dtype)
            except ValueError as exc:
                raise ValueError(f"layer {i} ({type(layer).__name__}): {exc}") from None
            shapes.append(shape)
        self._shuffle_rng = np.random.default_rng(shuffle_ss)
        self.input_shape = tuple(int(s) for s in input_shape)
        self.dtype = dtype
        self.built = True
        self._resolve_loss()
        return shapes[-1]

    def _resolve_loss(self):
        last = self.layers[-1]
        activation = getattr(last, "activation", None)
        if self.loss is None:
            if isinstance(activation, Softmax):
                self.loss = _losses.CategoricalCrossEntropy()
            elif isinstance(activation, Sigmoid):
                self.loss = _losses.BinaryCrossEntropy()
            else:
                self.loss = _losses.MeanSquaredError()
        self._fused = isinstance(last, ActivatedLayer) and self.loss.fuses_with(activation)
        out = last.output_shape
        if isinstance(self.loss, _losses.CategoricalCrossEntropy):
            if len(out) != 1:
                raise ValueError(
                    f"categorical cross-entropy needs one output vector per sample; the last "
                    f"layer gives shape {out}. End the model with Flatten() and "
                    "Dense(n_classes, activation='softmax')"
                )
            self._task = "multiclass"
        elif isinstance(self.loss, _losses.BinaryCrossEntropy) and out == (1,):
            self._task = "binary"
        else:
            self._task = "regression"

    @property
    def is_classifier(self):
        """True for a multi-class or binary classifier (needs a built model)."""
        self._require_built()
        return self._task in ("multiclass", "binary")

    @property
    def output_shape(self):
        self._require_built()
        return self.layers[-1].output_shape

    def _require_built(self):
        if not self.built:
            raise RuntimeError(
                "the model is not built yet; call fit(X, y) or build(input_shape) first"
            )

    def _param_refs(self):
        return {
            f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.params.items()
        }

    def get_weights(self):
        """Copies of every parameter array, layer by layer, in ``params`` key order."""
        self._require_built()
        return [v.copy() for v in self._param_refs().values()]

    def set_weights(self, weights):
        """Overwrite the parameters (in place) from a list as returned by :meth:`get_weights`."""
        self._require_built()
        refs = list(self._param_refs().items())
        weights = list(weights)
        if len(weights) != len(refs):
            raise ValueError(f"expected {len(refs)} arrays; got {len(weights)}")
        for (name, ref), w in zip(refs, weights, strict=True):
            w = np.asarray(w)
            if w.shape != ref.shape:
                raise ValueError(f"parameter {name} has shape {ref.shape}; got {w.shape}")
            ref[...] = w

    @property
    def n_params(self):
        return int(sum(layer.n_params for layer in self.layers))

    # -- data checks ------------------------------------------------------------------------
    def _check_X(self, X, name="X"):
        if self.built:
            X = as_float_array(X, name, dtype=self.dtype)
        else:
            X = as_float_array(X, name)
        if X.ndim < 2:
            raise ValueError(
                f"{name} must have a sample axis first, e.g. (N, C, H, W) images or (N, T, D) "
                f"sequences; got shape {X.shape}"
            )
        if X.shape[0] == 0:
            raise ValueError(f"{name} has no samples; got shape {X.shape}")
        if self.built and X.shape[1:] != self.input_shape:
            raise ValueError(
                f"the model was built for samples of shape {self.input_shape}; {name} has "
                f"samples of shape {X.shape[1:]} (array shape {X.shape})"
            )
        _check_finite(X, name)
        return X

    def _check_y(self, y, n, name="y"):
        y = np.asarray(y)
        if y.ndim == 0 or y.shape[0] != n:
            got = "a scalar" if y.ndim == 0 else f"{y.shape[0]} samples"
            raise ValueError(
                f"X and {name} must have the same number of samples; X has {n}, {name} has {got}"
            )
        if y.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold numbers; got dtype {y.dtype}")
        if y.dtype.kind == "f":
            _check_finite(y, name)
        out = self.output_shape
        if self._task == "multiclass":
            K = out[0]
            if y.ndim == 1:
                if y.dtype.kind == "f" and not np.all(y == np.round(y)):
                    raise ValueError(f"{name} holds class labels, which must be whole numbers")
                if y.min() < 0 or y.max() >= K:
                    raise ValueError(
                        f"{name} holds labels from {y.min():g} to {y.max():g} but the last layer "
                        f"has {K} units, i.e. classes 0..{K - 1}; use labels 0..{K - 1} (e.g. "
                        f"np.unique(y, return_inverse=True)[1]) or Dense({int(y.max()) + 1}) "
                        "as the last layer"
                    )
                return y.astype(np.intp)
            if y.shape != (n, K):
                raise ValueError(
                    f"{name} must be integer labels (N,) or one-hot rows (N, {K}) for a last "
                    f"layer with {K} units; got shape {y.shape}"
                )
            return y.astype(self.dtype)
        if self._task == "binary":
            if y.shape not in ((n,), (n, 1)):
                raise ValueError(
                    f"{name} must hold one 0/1 label per sample, shape ({n},); got {y.shape}"
                )
            if np.any((y < 0) | (y > 1)):
                raise ValueError(
                    f"{name} holds values outside [0, 1] but the model ends in one sigmoid unit "
                    "(binary classification); use labels 0 and 1"
                )
            return y.reshape(n, 1).astype(self.dtype)
        if y.ndim == 1 and out == (1,):
            y = y.reshape(n, 1)
        if y.shape[1:] != out:
            raise ValueError(
                f"{name} has targets of shape {y.shape[1:]} per sample but the model outputs "
                f"{out}; change the last layer's units or reshape {name}"
            )
        return y.astype(self.dtype)

    # -- computing --------------------------------------------------------------------------
    def _forward(self, x, logits=False):
        for layer in self.layers[:-1]:
            x = layer.forward(x)
        last = self.layers[-1]
        return last.forward_preactivation(x) if logits else last.forward(x)

    def _data_loss(self, out, y):
        if self._fused:
            return self.loss.forward_from_logits(out, y)
        return self.loss.forward(out, y)

    def _strength(self, layer):
        return self.l2 if layer.l2 is None else layer.l2

    def l2_penalty(self):
        r"""The L2 cost :math:`\sum_\ell \tfrac{\lambda_\ell}{2}\lVert W_\ell\rVert^2`."""
        total = 0.0
        for layer in self.layers:
            lam = self._strength(layer)
            if lam:
                for k in layer.weight_keys:
                    W = layer.params[k]
                    total += 0.5 * lam * float(np.vdot(W, W))
        return total

    def _backprop(self, xb, yb):
        """Forward and backward on one batch: (cost, last output, params, grads, grad_x)."""
        out = self._forward(xb, logits=self._fused)
        last = self.layers[-1]
        if self._fused:
            loss = self.loss.forward_from_logits(out, yb)
            grad = last.backward_preactivation(self.loss.backward_from_logits(out, yb))
        else:
            loss = self.loss.forward(out, yb)
            grad = last.backward(self.loss.backward(out, yb))
        for layer in reversed(self.layers[:-1]):
            grad = layer.backward(grad)
        params, grads = {}, {}
        for i, layer in enumerate(self.layers):
            lam = self._strength(layer)
            for k, p in layer.params.items():
                g = layer.grads[k]
                if lam and k in layer.weight_keys:
                    g = g + p.dtype.type(lam) * p
                params[f"{i}.{k}"] = p
                grads[f"{i}.{k}"] = g
        return loss + self.l2_penalty(), out, params, grads, grad

    def _train_step(self, xb, yb):
        cost, out, params, grads, _ = self._backprop(xb, yb)
        self.optimizer.step(params, grads)
        return cost, out

    def loss_and_gradients(self, X, y):
        r"""The cost on ``(X, y)`` and its gradients, without updating anything.

        The cost is the mean data loss plus the L2 penalty, exactly what one
        training step on the batch ``(X, y)`` differentiates.  Builds the model
        from ``X`` if needed.

        Returns
        -------
        cost : float
        grads : dict of str -> ndarray
            :math:`\partial C/\partial \theta` for every parameter, keyed
            ``"<layer index>.<param key>"`` (e.g. ``"0.W"``), L2 term included.
        grad_X : ndarray
            :math:`\partial C/\partial X`, shape of ``X``.
        """
        X = self._check_X(X)
        if not self.built:
            self.build(X.shape[1:], dtype=X.dtype)
        y = self._check_y(y, X.shape[0])
        cost, _, _, grads, grad_X = self._backprop(X, y)
        return cost, grads, grad_X

    def _n_correct(self, out, y, logits):
        if self._task == "multiclass":
            labels = y if y.ndim == 1 else np.argmax(y, axis=1)
            return int(np.sum(np.argmax(out, axis=1) == labels))
        if self._task == "binary":
            threshold = 0.0 if logits else 0.5
            return int(np.sum((out[:, 0] > threshold) == (y[:, 0] > 0.5)))
        return None

    def _outputs(self, X, batch_size, logits=False):
        with _single_threaded_blas():
            parts = [
                self._forward(X[s : s + batch_size], logits=logits)
                for s in range(0, X.shape[0], batch_size)
            ]
        return np.concatenate(parts, axis=0)

    # -- public training API ----------------------------------------------------------------
    def fit(
        self, X, y, epochs=10, batch_size=32, validation_data=None, verbose=1, callbacks=None
    ):
        """Train on ``(X, y)`` by mini-batch gradient descent; return a :class:`History`.

        Parameters
        ----------
        X : array_like, shape (N, ...)
            Samples: images ``(N, C, H, W)``, sequences ``(N, T, D)`` or
            vectors ``(N, D)``.  float32 data train float32 weights, anything
            else float64 (fixed by the first ``fit``).
        y : array_like
            Integer class labels ``(N,)`` (or one-hot rows) for a classifier,
            0/1 labels for a single sigmoid output, targets of the output
            shape for a regressor (``(N,)`` for one output).
        epochs : int, default 10
            Passes over the data (a second ``fit`` continues training).
        batch_size : int, default 32
            Samples per gradient step; the data are reshuffled every epoch
            from the model's seed.  The last batch may be smaller.
        validation_data : tuple (X_val, y_val), optional
            Evaluated after every epoch (``val_loss``, ``val_accuracy``).
        verbose : {0, 1, 2}, default 1
            0 silent, 1 a progress bar per epoch with the running loss (and
            accuracy), 2 one line per epoch.  Output goes to stderr.
        callbacks : list of Callback, optional
            E.g. :class:`numbacnn.EarlyStopping`.

        Returns
        -------
        History
            Per-epoch ``loss`` (the mean over the epoch's mini-batches of data
            loss plus L2 penalty) and, for classifiers, ``accuracy`` on those
            batches; ``val_loss``/``val_accuracy`` with ``validation_data``.
            Ctrl-C ends training after the current mini-batch; the weights are
            kept and the history so far is returned with ``interrupted=True``.

        Raises
        ------
        ValueError
            When the layers do not fit the data or each other, labels lie
            outside the classes, X and y differ in length, or the data contain
            NaN -- with a message that says what to change.
        """
        epochs = _check_pos_int(epochs, "epochs")
        batch_size = _check_pos_int(batch_size, "batch_size")
        if verbose not in (0, 1, 2):
            raise ValueError(f"verbose must be 0, 1 or 2; got {verbose!r}")
        callbacks = [] if callbacks is None else list(callbacks)
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be Callback objects; got {cb!r}")
        X = self._check_X(X)
        if not self.built:
            self.build(X.shape[1:], dtype=X.dtype)
        y = self._check_y(y, X.shape[0])
        val = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("validation_data must be a pair (X_val, y_val)")
            Xv = self._check_X(validation_data[0], "X_val")
            val = (Xv, self._check_y(validation_data[1], Xv.shape[0], "y_val"))

        n = X.shape[0]
        steps = math.ceil(n / batch_size)
        history = History({"epochs": epochs, "batch_size": batch_size, "steps": steps})
        self.stop_training = False
        for cb in callbacks:
            cb.set_model(self)
            cb.on_train_begin()
        try:
            with _DeferredInterrupt() as interrupt, _single_threaded_blas():
                for _ in range(epochs):
                    epoch = self._epochs_done
                    for cb in callbacks:
                        cb.on_epoch_begin(epoch)
                    logs = self._run_epoch(
                        X, y, batch_size, steps, epoch, val, verbose, callbacks, interrupt
                    )
                    history._append(epoch, logs)
                    self._epochs_done += 1
                    for cb in callbacks:
                        cb.on_epoch_end(epoch, logs)
                    if self.stop_training:
                        break
        except KeyboardInterrupt:
            history.interrupted = True
            if verbose:
                print("training interrupted; keeping the weights so far", file=sys.stderr)
        for cb in callbacks:
            cb.on_train_end()
        return history

    def _run_epoch(self, X, y, batch_size, steps, epoch, val, verbose, callbacks, interrupt):
        order = self._shuffle_rng.permutation(X.shape[0])
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
                loss, out = self._train_step(xb, yb)
                if not math.isfinite(loss):
                    raise FloatingPointError(
                        f"the loss became {loss} at epoch {epoch + 1}, batch {b + 1}; the "
                        "learning rate (eta) is probably too large"
                    )
                m = xb.shape[0]
                total_loss += loss * m
                seen += m
                hits = self._n_correct(out, yb, logits=self._fused)
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
            if self._task in ("multiclass", "binary"):
                logs["accuracy"] = correct / seen
            if val is not None:
                scores = self._evaluate_checked(*val, batch_size=max(batch_size, 256))
                logs.update({f"val_{k}": v for k, v in scores.items()})
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

    def _evaluate_checked(self, X, y, batch_size):
        out = self._outputs(X, batch_size, logits=self._fused)
        scores = {"loss": self._data_loss(out, y) + self.l2_penalty()}
        hits = self._n_correct(out, y, logits=self._fused)
        if hits is not None:
            scores["accuracy"] = hits / X.shape[0]
        return scores

    def evaluate(self, X, y, batch_size=256):
        """Loss (data loss plus L2 penalty) and, for classifiers, accuracy on ``(X, y)``.

        Returns
        -------
        dict
            ``{"loss": ..., "accuracy": ...}`` (``accuracy`` only for classifiers).
        """
        self._require_built()
        X = self._check_X(X)
        y = self._check_y(y, X.shape[0])
        return self._evaluate_checked(X, y, _check_pos_int(batch_size, "batch_size"))

    def predict(self, X, batch_size=256):
        """Class labels for a classifier (``(N,)`` ints), the outputs for a regressor."""
        self._require_built()
        X = self._check_X(X)
        out = self._outputs(X, _check_pos_int(batch_size, "batch_size"))
        if self._task == "multiclass":
            return np.argmax(out, axis=1)
        if self._task == "binary":
            return (out[:, 0] > 0.5).astype(np.intp)
        return out

    def predict_proba(self, X, batch_size=256):
        """Class probabilities ``(N, K)`` (for one sigmoid output: ``[1 - p, p]``)."""
        self._require_built()
        if self._task not in ("multiclass", "binary"):
            raise AttributeError(
                "predict_proba is for classifiers (softmax or sigmoid output with a "
                "cross-entropy loss); this model is a regressor, use predict"
            )
        X = self._check_X(X)
        out = self._outputs(X, _check_pos_int(batch_size, "batch_size"))
        if self._task == "binary":
            return np.concatenate([1 - out, out], axis=1)
        return out

    # -- description --------------------------------------------------------------------
    def summary(self, print_fn=print):
        """Print a table of the layers, their output shapes and parameter counts."""
        self._require_built()
        rows = [("Layer", "Output shape", "Params")]
        for i, layer in enumerate(self.layers):
            shape = "(None, " + ", ".join(str(s) for s in layer.output_shape) + ")"
            rows.append((f"{i}: {type(layer).__name__}", shape, f"{layer.n_params:,}"))
        widths = [max(len(r[c]) for r in rows) for c in range(3)]
        rule = "-" * (sum(widths) + 6)
        lines = [rule]
        for j, r in enumerate(rows):
            lines.append(f"{r[0]:<{widths[0]}}   {r[1]:<{widths[1]}}   {r[2]:>{widths[2]}}")
            if j == 0:
                lines.append(rule)
        lines += [
            rule,
            f"Input shape: (None, {', '.join(str(s) for s in self.input_shape)})  "
            f"dtype: {self.dtype.name}",
            f"Total params: {self.n_params:,}",
            f"Loss: {type(self.loss).__name__}"
            + (" (fused with the last activation)" if self._fused else "")
            + f"  Optimizer: {self.optimizer!r}  l2: {self.l2:g}",
        ]
        print_fn("\n".join(lines))

    def __repr__(self):
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Sequential([{inner}])"

    # -- persistence -------------------------------------------------------------------
    def get_config(self):
        """A JSON-compatible description of the architecture and training settings."""
        return {
            "format": _FORMAT,
            "version": _FORMAT_VERSION,
            "layers": [
                {"class": type(layer).__name__, "config": layer.get_config()}
                for layer in self.layers
            ],
            "loss": None if self.loss is None else self.loss.get_config(),
            "optimizer": self.optimizer.get_config(),
            "l2": self.l2,
            "seed": self.seed,
            "input_shape": None if self.input_shape is None else list(self.input_shape),
            "dtype": None if self.dtype is None else self.dtype.name,
        }

    def save(self, path):
        """Write the model to ``path`` (a NumPy ``.npz`` file); see :func:`load_model`.

        The file holds the parameters and a JSON description (layers, loss,
        optimizer settings, ``l2``, ``seed``, input shape, dtype); no Python
        objects are pickled.  It also holds the training state: the
        optimizer's buffers and step counters (e.g. Adam's moments), the
        state of the shuffling generator and the number of epochs done, so
        that training a loaded model continues exactly where this one stopped
        (bit for bit).  NumPy appends ``.npz`` to a ``path`` without that suffix.
        """
        self._require_built()
        arrays = {
            f"param/{i}/{k}": v for i, layer in enumerate(self.layers)
            for k, v in layer.params.items()
        }
        steps = {}
        for key, st in self.optimizer.state.items():
            steps[key] = st["t"]
            for name, buf in st.items():
                if isinstance(buf, np.ndarray):
                    arrays[f"optim/{key}/{name}"] = buf
        config = {**self.get_config(), "training_state": {
            "optimizer_steps": steps,
            "shuffle_rng": self._shuffle_rng.bit_generator.state,
            "epochs_done": self._epochs_done,
        }}
        arrays["config"] = np.array(json.dumps(config))
        np.savez(path, **arrays)


def load_model(path):
    """Read a model written by :meth:`Sequential.save`.

    The file is opened with ``np.load(allow_pickle=False)``.  ``path`` may
    omit the ``.npz`` suffix that :meth:`Sequential.save` (through NumPy)
    appends.  Raises ``ValueError`` if it is not a numbacnn model file.
    """
    path = os.fspath(path)
    if not os.path.exists(path) and os.path.exists(path + ".npz"):
        path += ".npz"
    try:
        archive = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise ValueError(f"{path} is not a numbacnn model file (.npz): {exc}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} is not a numbacnn model file: it holds a single array")
    with archive:
        if "config" not in archive.files:
            raise ValueError(f"{path} is not a numbacnn model file: no 'config' entry")
        config = json.loads(str(archive["config"]))
        if config.get("format") != _FORMAT:
            raise ValueError(
                f"{path} is not a numbacnn model file (format {config.get('format')!r})"
            )
        if config.get("version", 0) > _FORMAT_VERSION:
            raise ValueError(
                f"{path} was written by a newer numbacnn (format version {config['version']})"
            )
        layers = []
        for spec in config["layers"]:
            if spec["class"] not in LAYERS:
                raise ValueError(f"{path} names an unknown layer class {spec['class']!r}")
            layers.append(LAYERS[spec["class"]].from_config(spec["config"]))
        model = Sequential(
            layers, loss=config["loss"], optimizer=config["optimizer"], l2=config["l2"],
            seed=config["seed"],
        )
        if config["input_shape"] is not None:
            model.build(config["input_shape"], dtype=np.dtype(config["dtype"]))
            for i, layer in enumerate(model.layers):
                for k, ref in layer.params.items():
                    arr = archive[f"param/{i}/{k}"]
                    if arr.shape != ref.shape:
                        raise ValueError(
                            f"{path}: parameter {i}/{k} has shape {arr.shape}, expected {ref.shape}"
                        )
                    ref[...] = arr
            _restore_training_state(model, config.get("training_state"), archive, path)
    return model


def _restore_training_state(model, state, archive, path):
    """Optimizer buffers, shuffling generator and epoch count saved by :meth:`Sequential.save`."""
    if state is None:  # a file without it: training starts afresh
        return
    for key, t in state["optimizer_steps"].items():
        i, _, k = key.partition(".")
        try:
            p = model.layers[int(i)].params[k]
        except (ValueError, IndexError, KeyError):
            raise ValueError(f"{path}: optimizer state for unknown parameter {key!r}") from None
        st = {"t": int(t), "shape": p.shape, "dtype": p.dtype}
        prefix = f"optim/{key}/"
        for name in archive.files:
            if name.startswith(prefix):
                buf = archive[name]
                if buf.shape != p.shape:
                    raise ValueError(f"{path}: optimizer buffer {name} has shape {buf.shape}, "
                                     f"expected {p.shape}")
                st[name[len(prefix):]] = buf.astype(p.dtype, copy=False)
        model.optimizer.state[key] = st
    model._shuffle_rng.bit_generator.state = state["shuffle_rng"]
    model._epochs_done = int(state["epochs_done"])
