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

What the output means (classes, one 0/1 label, numbers) is a
:mod:`~numbacnn.models.tasks` object chosen at build; the epoch loop is in
:mod:`~numbacnn.models.training`, files in :mod:`~numbacnn.models.persistence`.
"""

import numpy as np

from .. import losses as _losses
from .. import optimizers as _optimizers
from .._validation import as_float_array, check_finite_array, check_int, check_real, check_seed
from ..layers.base import Layer
from . import persistence, tasks, training

__all__ = ["Sequential"]


class Sequential:
    r"""A linear stack of layers with a loss and an optimizer.

    Parameters
    ----------
    layers : list of Layer
        From input to output; input sizes are inferred from the first data.
    loss : str, dict or Loss, optional
        Default: categorical cross-entropy after a softmax, binary
        cross-entropy after a sigmoid, mean squared error otherwise.  A loss
        that fuses with the last activation is fed its pre-activation.
    optimizer : str, dict or Optimizer, optional
        Default :class:`~numbacnn.optimizers.Adam` with its default settings.
    l2 : float, default 0
        L2 strength :math:`\lambda`: adds :math:`\frac{\lambda}{2}\lVert W\rVert^2`
        per weight array (not biases) to the loss; a layer's own ``l2``
        overrides it.  Keras' ``regularizers.l2(a)`` is ``l2 = 2 a``.
    seed : int, optional
        Seeds the initial weights and the shuffling: the same seed (and number
        of numba threads) gives bit-identical results.

    Attributes
    ----------
    built : bool
    input_shape, dtype : tuple of int, numpy.dtype
        Shape of one sample and float32 (for float32 data) or float64, fixed
        by the first data the model sees.
    task : numbacnn.models.tasks.Task
        What the output means; ``fused`` (bool): whether the loss is fed the
        last pre-activation.  Both set by :meth:`build`.
    training_state : numbacnn.models.training.TrainingState
        Epochs done and the shuffling generator, carried across :meth:`fit` calls.
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
    >>> model.fit(X, np.arange(20) % 10, epochs=2, batch_size=5, verbose=0).history.keys()
    dict_keys(['loss', 'accuracy'])
    """

    def __init__(self, layers=None, loss=None, optimizer=None, l2=0.0, seed=None):
        self.layers = []
        for layer in [] if layers is None else list(layers):
            self.add(layer)
        self.loss = None if loss is None else _losses.get_loss(loss)
        self.optimizer = _optimizers.get_optimizer(optimizer)
        self.l2 = check_real(l2, "l2", low=0)
        self.seed = check_seed(seed)
        self.built, self.input_shape, self.dtype = False, None, None
        self.task, self.fused, self.stop_training = None, False, False
        self.training_state = training.TrainingState()

    def add(self, layer):
        """Append a layer (before the model is built)."""
        if not isinstance(layer, Layer):
            raise TypeError(f"layer {len(self.layers)} is {layer!r}, not a numbacnn layer; use "
                            "the classes of numbacnn.layers (Conv2D, MaxPool2D, Dense, ...)")
        if self.__dict__.get("built"):
            raise RuntimeError("cannot add a layer to a model that is already built")
        if any(layer is other for other in self.layers):
            raise ValueError(f"layer {layer!r} appears twice; create a new layer object instead")
        self.layers.append(layer)

    def build(self, input_shape, dtype=np.float64):
        """Create every layer's parameters for samples of ``input_shape`` (no batch axis).

        Called by the first :meth:`fit`; call it to see :meth:`summary` before
        training.  Raises ``ValueError`` naming the layer that does not fit.
        """
        if not self.layers:
            raise ValueError("the model has no layers; pass a list of layers to Sequential")
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise TypeError(f"dtype must be float32 or float64; got {dtype}")
        shape = in_shape = tuple(int(s) for s in input_shape)
        init_ss, shuffle_ss = np.random.SeedSequence(self.seed).spawn(2)
        layer_seeds = init_ss.spawn(len(self.layers))
        for i, (layer, layer_ss) in enumerate(zip(self.layers, layer_seeds, strict=True)):
            try:
                shape = layer.build(shape, rng=np.random.default_rng(layer_ss), dtype=dtype)
            except ValueError as exc:
                raise ValueError(f"layer {i} ({type(layer).__name__}): {exc}") from None
        self.training_state.seed(shuffle_ss)
        self.input_shape, self.dtype, self.built = in_shape, dtype, True
        self.loss, self.fused, self.task = tasks.resolve(self.loss, self.layers[-1], dtype)
        return shape

    @property
    def is_classifier(self):
        """True for a multi-class or binary classifier (needs a built model)."""
        self._require_built()
        return self.task.is_classifier

    @property
    def output_shape(self):
        self._require_built()
        return self.layers[-1].output_shape

    def _require_built(self):
        if not self.built:
            raise RuntimeError("the model is not built yet; call fit(X, y) or "
                               "build(input_shape) first")

    def parameters(self):
        """The live parameter arrays (not copies), keyed ``"<layer index>.<param key>"``."""
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers)
                for k, v in layer.params.items()}

    def get_weights(self):
        """Copies of every parameter array, layer by layer, in ``params`` key order."""
        self._require_built()
        return [v.copy() for v in self.parameters().values()]

    def set_weights(self, weights):
        """Overwrite the parameters (in place) from a list as returned by :meth:`get_weights`."""
        self._require_built()
        refs, weights = list(self.parameters().items()), list(weights)
        if len(weights) != len(refs):
            raise ValueError(f"expected {len(refs)} arrays; got {len(weights)}")
        for (name, ref), w in zip(refs, weights, strict=True):
            if np.shape(w) != ref.shape:
                raise ValueError(f"parameter {name} has shape {ref.shape}; got {np.shape(w)}")
            ref[...] = w

    @property
    def n_params(self):
        return int(sum(layer.n_params for layer in self.layers))

    def _checked_data(self, X, y, x_name="X", y_name="y", build=False):
        """``(X, y)`` checked and converted; with ``build``, builds the model from ``X``."""
        X = _check_inputs(X, x_name, self.input_shape, self.dtype)
        if build and not self.built:
            self.build(X.shape[1:], dtype=X.dtype)
        y = self.task.targets(y, X.shape[0], y_name)
        self.loss._check_targets(y, y_name)
        return X, y

    def _forward(self, x, logits=False):
        for layer in self.layers[:-1]:
            x = layer.forward(x)
        last = self.layers[-1]
        return last.forward_preactivation(x) if logits else last.forward(x)

    def l2_penalty(self):
        r"""The L2 cost :math:`\sum_\ell \tfrac{\lambda_\ell}{2}\lVert W_\ell\rVert^2`."""
        terms = (0.5 * lam * float(np.vdot(W, W)) for lam, W in _penalised(self.layers, self.l2))
        return sum(terms, 0.0)

    def _backprop(self, xb, yb):
        """Forward and backward on one batch: (cost, last output, params, grads, grad_x)."""
        out = self._forward(xb, logits=self.fused)
        last, loss_fn = self.layers[-1], self.loss
        tb = loss_fn._target_rows(yb, out.shape[-1], out.dtype)
        if self.fused:
            loss = loss_fn._forward_from_logits(out, tb)
            grad = last.backward_preactivation(loss_fn._backward_from_logits(out, tb))
        else:
            loss, grad = loss_fn._forward(out, tb), last.backward(loss_fn._backward(out, tb))
        for layer in reversed(self.layers[:-1]):
            grad = layer.backward(grad)
        params, grads = {}, {}
        for i, layer in enumerate(self.layers):
            lam = _strength(layer, self.l2)
            for k, p in layer.params.items():
                g = layer.grads[k]
                if lam and k in layer.weight_keys:
                    g = g + p.dtype.type(lam) * p
                params[f"{i}.{k}"], grads[f"{i}.{k}"] = p, g
        return loss + self.l2_penalty(), out, params, grads, grad

    def loss_and_gradients(self, X, y):
        """``(cost, grads, grad_X)`` on ``(X, y)``: L2 included, keys of :meth:`parameters`."""
        X, y = self._checked_data(X, y, build=True)
        cost, _, _, grads, grad_X = self._backprop(X, y)
        return cost, grads, grad_X

    def fit(self, X, y, epochs=10, batch_size=32, validation_data=None, verbose=1,
            callbacks=None):
        """Train by mini-batch gradient descent; return a :class:`History`.

        ``X``: images, sequences or vectors (float32 data train float32
        weights); ``y``: labels or one-hot rows, 0/1 for one sigmoid output,
        else targets of the output shape.  Each epoch reshuffles from the seed;
        a second ``fit`` continues.  ``verbose``: 0 silent, 1 a progress bar,
        2 a line per epoch.  The history holds per-epoch ``loss`` (data loss
        plus L2 penalty), ``accuracy`` for classifiers and ``val_*`` with
        ``validation_data=(X_val, y_val)``; Ctrl-C stops after the current
        mini-batch.  A step with a NaN or infinite loss, gradient or update is
        not applied: training stops, the weights stay finite and the History
        says why (``nonfinite``, ``stopped_reason``).  Bad data or misfitting
        layers raise a ``ValueError`` that says what to change.  See
        :func:`numbacnn.models.training.fit`.
        """
        return training.fit(self, X, y, epochs, batch_size, validation_data, verbose, callbacks)

    def evaluate(self, X, y, batch_size=256):
        """``{"loss": data loss + L2 penalty, "accuracy": ...}`` (accuracy for classifiers)."""
        self._require_built()
        X, y = self._checked_data(X, y)
        return training.scores(self, X, y, check_int(batch_size, "batch_size", minimum=1))

    def predict(self, X, batch_size=256):
        """Class labels for a classifier (``(N,)`` ints), the outputs for a regressor."""
        self._require_built()
        return self.task.predict(self._predicted(X, batch_size))

    def predict_proba(self, X, batch_size=256):
        """Class probabilities ``(N, K)`` (for one sigmoid output: ``[1 - p, p]``)."""
        if not self.is_classifier:
            raise AttributeError(
                "predict_proba is for classifiers (softmax or sigmoid output with a "
                "cross-entropy loss); this model is a regressor, use predict"
            )
        return self.task.predict_proba(self._predicted(X, batch_size))

    def _predicted(self, X, batch_size):
        X = _check_inputs(X, "X", self.input_shape, self.dtype)
        return training.outputs(self, X, check_int(batch_size, "batch_size", minimum=1))

    def summary(self, print_fn=print):
        """Print a table of the layers, their output shapes and parameter counts."""
        self._require_built()
        print_fn(_summary_text(self))

    def __repr__(self):
        return f"Sequential([{', '.join(repr(layer) for layer in self.layers)}])"

    def get_config(self):
        """A JSON-compatible description of the architecture and training settings."""
        return persistence.model_config(self)

    def save(self, path, allow_nonfinite=False):
        """Write the model to ``path`` (``.npz``, appended if missing); return the path written.

        :func:`~numbacnn.load_model` reads it.  The file is replaced atomically
        (a failed save leaves the old one intact); a directory raises
        ``IsADirectoryError``; NaN or infinite weights raise ``ValueError``
        unless ``allow_nonfinite``.  See :func:`numbacnn.models.persistence.save_model`.
        """
        self._require_built()
        return persistence.save_model(self, path, allow_nonfinite=allow_nonfinite)


def _strength(layer, default):
    """The L2 strength acting on ``layer``: its own, else the model's ``default``."""
    return default if layer.l2 is None else layer.l2


def _penalised(layers, default):
    """``(strength, W)`` for every weight array under a nonzero L2 strength, in layer order."""
    for layer in layers:
        lam = _strength(layer, default)
        if lam:
            for k in layer.weight_keys:
                yield lam, layer.params[k]


def _check_inputs(X, name, input_shape, dtype):
    """``X`` as a float array of samples of ``input_shape`` (``None``: any) in ``dtype``."""
    X = as_float_array(X, name, dtype=dtype)
    if X.ndim < 2:
        raise ValueError(
            f"{name} must have a sample axis first, e.g. (N, C, H, W) images or (N, T, D) "
            f"sequences; got shape {X.shape}"
        )
    if X.shape[0] == 0:
        raise ValueError(f"{name} has no samples; got shape {X.shape}")
    if input_shape is not None and X.shape[1:] != input_shape:
        raise ValueError(
            f"the model was built for samples of shape {input_shape}; {name} has "
            f"samples of shape {X.shape[1:]} (array shape {X.shape})"
        )
    check_finite_array(X, name)
    return X


def _summary_text(model):
    """The table :meth:`Sequential.summary` prints."""
    rows = [("Layer", "Output shape", "Params")]
    for i, layer in enumerate(model.layers):
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
        f"Input shape: (None, {', '.join(str(s) for s in model.input_shape)})  "
        f"dtype: {model.dtype.name}",
        f"Total params: {model.n_params:,}",
        f"Loss: {type(model.loss).__name__}"
        + (" (fused with the last activation)" if model.fused else "")
        + f"  Optimizer: {model.optimizer!r}  l2: {model.l2:g}",
    ]
    return "\n".join(lines)
