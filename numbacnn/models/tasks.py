"""What a model's output means: multi-class or binary classification, or regression.

A task is chosen once, when the model is built, from the loss and the last
layer (:func:`resolve`).  It owns what depends on that meaning: turning the
user's targets into the array the loss expects, counting correct answers, and
turning outputs into predictions.  The model never asks which task it has.
"""

import numpy as np

from .. import losses as _losses
from .._validation import check_finite_array
from ..activations import Sigmoid, Softmax
from ..layers.base import ActivatedLayer

__all__ = ["Task", "Multiclass", "Binary", "Regression", "resolve"]


class Task:
    """Base class: the targets checks shared by every task.

    Parameters
    ----------
    output_shape : tuple of int
        Shape of one output sample of the model.
    dtype : numpy.dtype
        The model's dtype; float targets are converted to it.
    """

    #: whether the model counts accuracy and offers ``predict_proba``
    is_classifier = False

    def __init__(self, output_shape, dtype):
        self.output_shape = tuple(output_shape)
        self.dtype = np.dtype(dtype)

    def targets(self, y, n, name="y"):
        """Check ``y`` against ``n`` samples; return it as the loss expects it.

        Raises ``ValueError``/``TypeError`` naming ``name`` and saying what to change.
        """
        y = np.asarray(y)
        if y.ndim == 0 or y.shape[0] != n:
            got = "a scalar" if y.ndim == 0 else f"{y.shape[0]} samples"
            raise ValueError(
                f"X and {name} must have the same number of samples; X has {n}, {name} has {got}"
            )
        if y.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold numbers; got dtype {y.dtype}")
        if y.dtype.kind == "f":
            check_finite_array(y, name)
        return self._coerce(y, n, name)

    def _coerce(self, y, n, name):
        raise NotImplementedError

    def n_correct(self, out, y, logits=False):
        """Correct answers among outputs ``out`` for targets ``y``; ``None`` for a regressor."""
        return None

    def predict(self, out):
        """Predictions from the last layer's outputs."""
        return out


class Multiclass(Task):
    """Outputs over ``K`` classes; targets are labels ``(N,)`` or one-hot rows ``(N, K)``."""

    is_classifier = True

    def _coerce(self, y, n, name):
        K = self.output_shape[0]
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

    def n_correct(self, out, y, logits=False):
        # the arg max of the logits is that of the probabilities
        labels = y if y.ndim == 1 else np.argmax(y, axis=1)
        return int(np.sum(np.argmax(out, axis=1) == labels))

    def predict(self, out):
        return np.argmax(out, axis=1)

    def predict_proba(self, out):
        """Class probabilities ``(N, K)``: the outputs themselves."""
        return out


class Binary(Task):
    """One sigmoid output; targets are 0/1 labels ``(N,)`` or ``(N, 1)``."""

    is_classifier = True

    def _coerce(self, y, n, name):
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

    def n_correct(self, out, y, logits=False):
        # sigmoid(z) > 0.5 exactly when z > 0
        threshold = 0.0 if logits else 0.5
        return int(np.sum((out[:, 0] > threshold) == (y[:, 0] > 0.5)))

    def predict(self, out):
        return (out[:, 0] > 0.5).astype(np.intp)

    def predict_proba(self, out):
        """``[1 - p, p]`` per sample."""
        return np.concatenate([1 - out, out], axis=1)


class Regression(Task):
    """Any other output; targets have the output's shape (``(N,)`` for one output).

    ``loss_defaulted``: the loss was not given, and mean squared error was
    picked because the last layer has no softmax or sigmoid; then class labels
    as targets are refused with a message saying so.
    """

    def __init__(self, output_shape, dtype, loss_defaulted=False):
        super().__init__(output_shape, dtype)
        self.loss_defaulted = loss_defaulted

    def _coerce(self, y, n, name):
        out = self.output_shape
        if self.loss_defaulted and _looks_like_labels(y) and len(out) == 1 and out[0] > 1:
            K = out[0]
            raise ValueError(
                f"{name} holds class labels (shape {y.shape}), but the last layer outputs "
                f"{K} numbers with no softmax, so no loss was given and the default for such "
                f"a layer, mean squared error, was picked: it needs {K} target numbers per "
                f"sample. For classification end the model in Dense({K}, "
                "activation='softmax') (numbacnn fuses the softmax with the cross-entropy, "
                "so training works on the logits, as Keras's from_logits=True does); for "
                f"regression give {name} the shape (N, {K})"
            )
        if y.ndim == 1 and out == (1,):
            y = y.reshape(n, 1)
        if y.shape[1:] != out:
            raise ValueError(
                f"{name} has targets of shape {y.shape[1:]} per sample but the model outputs "
                f"{out}; change the last layer's units or reshape {name}"
            )
        return y.astype(self.dtype)


def resolve(loss, last, dtype):
    """The loss, whether it fuses with ``last``'s activation, and the task.

    Parameters
    ----------
    loss : Loss or None
        ``None`` picks categorical cross-entropy after a softmax, binary
        cross-entropy after a sigmoid, mean squared error otherwise.
    last : Layer
        The model's built last layer.
    dtype : numpy.dtype
        The model's dtype.

    Returns
    -------
    loss : Loss
    fused : bool
        True when training feeds ``last``'s pre-activation to the loss's
        ``forward_from_logits``/``backward_from_logits``.
    task : Task
    """
    activation = getattr(last, "activation", None)
    defaulted = loss is None
    if loss is None:
        if isinstance(activation, Softmax):
            loss = _losses.CategoricalCrossEntropy()
        elif isinstance(activation, Sigmoid):
            loss = _losses.BinaryCrossEntropy()
        else:
            loss = _losses.MeanSquaredError()
    fused = isinstance(last, ActivatedLayer) and loss.fuses_with(activation)
    out = last.output_shape
    if isinstance(loss, _losses.CategoricalCrossEntropy):
        if len(out) != 1:
            raise ValueError(
                f"categorical cross-entropy needs one output vector per sample; the last "
                f"layer gives shape {out}. End the model with Flatten() and "
                "Dense(n_classes, activation='softmax')"
            )
        task = Multiclass
    elif isinstance(loss, _losses.BinaryCrossEntropy) and out == (1,):
        task = Binary
    else:
        return loss, fused, Regression(out, dtype, loss_defaulted=defaulted)
    return loss, fused, task(out, dtype)


def _looks_like_labels(y):
    """True for a 1-D array of whole numbers (how class labels are given)."""
    return y.ndim == 1 and (y.dtype.kind in "biu" or bool(np.all(y == np.round(y))))
