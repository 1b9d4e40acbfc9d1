r"""Loss functions: mean squared error, binary and categorical cross-entropy.

Every loss has

* ``forward(y_pred, y_true)`` (also ``__call__``) -> the mean loss as a Python
  ``float``;
* ``backward(y_pred, y_true)`` -> the gradient of that *mean* with respect to
  ``y_pred`` (same shape and dtype as ``y_pred``; the :math:`1/N` is included,
  so a model must not divide by the batch size again);
* ``forward_from_logits(z, y_true)`` and ``backward_from_logits(z, y_true)``,
  the same quantities computed from the output layer's *pre-activation*
  :math:`z` through the loss's ``fused_activation``.

Fusing the output activation with the loss is what makes classification
stable.  For softmax followed by cross-entropy the chain rule collapses to

.. math::

    \frac{\partial C}{\partial z_{nk}} = \frac{1}{N}\,(s_{nk} - y_{nk}),
    \qquad s = \operatorname{softmax}(z),

and the loss itself is evaluated with a log-sum-exp, never forming
:math:`\log s`.  A model decides whether to fuse by *type*::

    fuse = loss.fused_activation is not None and isinstance(
        last_layer.activation, loss.fused_activation)

(:meth:`Loss.fuses_with` does exactly this), never by comparing a name string
as the lecture's code does.  See :doc:`/theory/training` for where the fused
gradient enters back-propagation.

Averaging conventions (the same as Keras and PyTorch with their default
``reduction="mean"``):

* :class:`MeanSquaredError` and :class:`BinaryCrossEntropy` average over
  *every element* of ``y_pred`` (samples times outputs).  For one output per
  sample this is the lecture's ``CostOLS``/``CostLogReg`` (which divide by the
  number of samples only); with :math:`K` outputs it is theirs divided by
  :math:`K`.
* :class:`CategoricalCrossEntropy` averages over *samples*: the sum over the
  :math:`K` classes is the cross-entropy of one sample.  (The lecture's
  ``CostCrossEntropy`` divides by ``target.size = N K``.)

Classification targets are integer labels ``0 .. K-1`` (shape ``(N,)``) or
one-hot / probability rows (shape ``(N, K)``).
"""

import numpy as np

from numbacnn._deprecation import deprecated_alias
from numbacnn._registry import resolve
from numbacnn._validation import (
    as_float_array,
    as_rectangular_array,
    check_int,
    check_ndim,
    check_nonempty,
)
from numbacnn.activations import Sigmoid, Softmax

__all__ = [
    "Loss",
    "MeanSquaredError",
    "BinaryCrossEntropy",
    "CategoricalCrossEntropy",
    "get_loss",
    "LOSSES",
    "labels_to_onehot",
]


# the fused activations, applied to logits these losses have already checked
_SIGMOID = Sigmoid()
_SOFTMAX = Softmax(axis=-1)


def _pred(y_pred, name):
    arr = as_float_array(y_pred, name)
    check_nonempty(arr, name)
    if arr.ndim == 0:
        raise ValueError(f"{name} must be at least 1-D; got a scalar")
    return arr


def _matching_target(y_true, y_pred, pred_name):
    """``y_true`` as a float array of ``y_pred``'s shape and dtype.

    A 1-D target of length N is accepted for a prediction of shape (N, 1);
    anything else must match exactly (silent broadcasting of (N,) against
    (N, 1) into an (N, N) matrix is a classic bug).
    """
    t = as_float_array(y_true, "y_true", dtype=y_pred.dtype)
    if t.shape != y_pred.shape:
        if y_pred.ndim == 2 and y_pred.shape[1] == 1 and t.shape == (y_pred.shape[0],):
            t = t.reshape(y_pred.shape)
        else:
            raise ValueError(
                f"y_true must have the shape of {pred_name}; got y_true {t.shape} "
                f"and {pred_name} {y_pred.shape}"
            )
    if not np.all(np.isfinite(t)):
        raise ValueError("y_true contains NaN or infinity")
    return t


def labels_to_onehot(y_true, n_classes, dtype=np.float64):
    """Validate class targets and return them one-hot, shape ``(N, n_classes)``.

    Parameters
    ----------
    y_true : array_like, shape ``(N,)`` or ``(N, n_classes)``
        Integer labels ``0 .. n_classes-1`` (integer dtype, or floats holding
        whole numbers), or one-hot / probability rows, which are returned
        (converted to ``dtype``) after checking that they lie in ``[0, 1]``.
    n_classes : int
        Number of classes :math:`K`.
    dtype : dtype, default float64

    Returns
    -------
    Y : ndarray, shape ``(N, n_classes)``

    Raises
    ------
    ValueError
        If a label is not a whole number or lies outside ``0 .. n_classes-1``,
        or the shape is neither ``(N,)`` nor ``(N, n_classes)``.

    Examples
    --------
    >>> from numbacnn.losses import labels_to_onehot
    >>> labels_to_onehot([2, 0], 3)
    array([[0., 0., 1.],
           [1., 0., 0.]])
    """
    n_classes = check_int(n_classes, "n_classes", minimum=1)
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be float32 or float64; got {dtype!r}") from None
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64; got {dtype}")
    y = as_rectangular_array(y_true, "y_true")
    if y.dtype.kind not in "biuf":
        raise TypeError(f"y_true must hold numbers; got dtype {y.dtype}")
    if y.ndim == 1:
        labels = _labels(y, n_classes)
        out = np.zeros((y.shape[0], n_classes), dtype=dtype)
        out[np.arange(y.shape[0]), labels] = 1
        return out
    if y.ndim == 2 and y.shape[1] == n_classes:
        out = np.asarray(y, dtype=dtype)
        if not np.all((out >= 0) & (out <= 1)):
            raise ValueError(
                "y_true given as one-hot/probability rows must lie in [0, 1]"
            )
        return out
    raise ValueError(
        f"y_true must be integer labels of shape (N,) or one-hot rows of shape "
        f"(N, {n_classes}); got shape {y.shape}"
    )


def _labels(y, n_classes):
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise ValueError("y_true holds class labels, which must be whole numbers")
    if y.dtype.kind == "b":
        y = y.astype(np.int64)
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(
            f"y_true holds labels outside 0..{n_classes - 1} for {n_classes} classes "
            f"(min {y.min():g}, max {y.max():g}); the output layer needs one unit per class"
        )
    return y.astype(np.intp)


class Loss:
    """Base class of the losses.

    Attributes
    ----------
    name : str
        Canonical name, accepted by :func:`get_loss`.
    fused_activation : type or None
        The activation *class* whose composition with this loss has a stable
        closed-form gradient (``Softmax``, ``Sigmoid``), or ``None``.
    """

    name = None
    fused_activation = None

    def forward(self, y_pred, y_true):
        """Return the mean loss as a Python float."""
        raise NotImplementedError

    def __call__(self, y_pred, y_true):
        return self.forward(y_pred, y_true)

    def backward(self, y_pred, y_true):
        """Return the gradient of :meth:`forward` with respect to ``y_pred``."""
        raise NotImplementedError

    def forward_from_logits(self, z, y_true):
        """Loss of ``fused_activation(z)``; for ``fused_activation=None`` the same as forward."""
        return self.forward(z, y_true)

    def backward_from_logits(self, z, y_true):
        """Gradient with respect to the pre-activation ``z`` of the output layer."""
        return self.backward(z, y_true)

    # The unvalidated twins that a model calls on every mini-batch, with outputs
    # it produced and targets it checked once per fit (its task's checks, then
    # ``_check_targets``): ``_target_rows`` turns such targets into the form
    # the four methods below take.
    def _check_targets(self, t, name):
        """Raise ``ValueError`` if the float targets ``t`` are outside this loss's domain."""

    def _target_rows(self, y, n_outputs, dtype):
        return y

    def _forward(self, p, t):
        return self.forward(p, t)

    def _backward(self, p, t):
        return self.backward(p, t)

    def _forward_from_logits(self, z, t):
        return self.forward_from_logits(z, t)

    def _backward_from_logits(self, z, t):
        return self.backward_from_logits(z, t)

    def fuses_with(self, activation):
        """True if ``activation`` is an instance of :attr:`fused_activation`."""
        return self.fused_activation is not None and isinstance(
            activation, self.fused_activation
        )

    def get_config(self):
        """Return ``{"name": ...}``, accepted by :func:`get_loss`."""
        return {"name": self.name}

    to_config = deprecated_alias("to_config", "get_config")

    def __eq__(self, other):
        return type(self) is type(other)

    def __hash__(self):
        return hash(type(self))

    def __repr__(self):
        return f"{type(self).__name__}()"


class MeanSquaredError(Loss):
    r"""Mean squared error, averaged over every element.

    For ``y_pred`` :math:`\hat y` and ``y_true`` :math:`y` with :math:`M`
    elements in total (:math:`M = N` for one output, :math:`N K` for
    :math:`K` outputs),

    .. math::

        C = \frac{1}{M}\sum_{m} (\hat y_m - y_m)^2, \qquad
        \frac{\partial C}{\partial \hat y_m} = \frac{2}{M}(\hat y_m - y_m).

    This is Keras' ``mean_squared_error`` and PyTorch's ``MSELoss()``.  It
    equals the lecture's ``CostOLS`` for one output per sample.  A target of
    shape ``(N,)`` is accepted for a prediction of shape ``(N, 1)``; other
    shapes must match exactly.

    Examples
    --------
    >>> import numpy as np
    >>> from numbacnn.losses import MeanSquaredError
    >>> mse = MeanSquaredError()
    >>> mse(np.array([[1.0], [3.0]]), np.array([0.0, 1.0]))
    2.5
    >>> mse.backward(np.array([[1.0], [3.0]]), np.array([0.0, 1.0]))
    array([[1.],
           [2.]])
    """

    name = "mse"

    def forward(self, y_pred, y_true):
        p = _pred(y_pred, "y_pred")
        return self._forward(p, _matching_target(y_true, p, "y_pred"))

    def backward(self, y_pred, y_true):
        p = _pred(y_pred, "y_pred")
        return self._backward(p, _matching_target(y_true, p, "y_pred"))

    def _forward(self, p, t):
        d = p - t
        return float(np.mean(d * d))

    def _backward(self, p, t):
        return (p - t) * p.dtype.type(2 / p.size)


class BinaryCrossEntropy(Loss):
    r"""Binary cross-entropy of probabilities, averaged over every element.

    For probabilities :math:`p = \hat y \in (0, 1)` and targets
    :math:`y \in [0, 1]` with :math:`M` elements,

    .. math::

        C = -\frac{1}{M}\sum_m \big[y_m \log p_m + (1 - y_m)\log(1 - p_m)\big],
        \qquad
        \frac{\partial C}{\partial p_m} = \frac{1}{M}\,\frac{p_m - y_m}{p_m(1 - p_m)}.

    Probabilities are clipped to :math:`[\epsilon, 1-\epsilon]` with
    :math:`\epsilon` the machine epsilon of the dtype, so that the logarithms
    and the division stay finite.  With ``fused_activation`` :class:`Sigmoid`,
    :math:`p = \sigma(z)` and

    .. math::

        C = \frac{1}{M}\sum_m \big[\max(z_m, 0) - z_m y_m
            + \log(1 + e^{-|z_m|})\big], \qquad
        \frac{\partial C}{\partial z_m} = \frac{1}{M}(\sigma(z_m) - y_m),

    exact for every :math:`z`.  For one output per sample this is the
    lecture's ``CostLogReg``; Keras' ``binary_crossentropy`` and PyTorch's
    ``BCELoss``/``BCEWithLogitsLoss`` average the same way.  Targets of shape
    ``(N,)`` are accepted for predictions of shape ``(N, 1)``.

    Examples
    --------
    >>> import numpy as np
    >>> from numbacnn.losses import BinaryCrossEntropy
    >>> bce = BinaryCrossEntropy()
    >>> round(bce(np.array([0.5, 0.5]), np.array([0, 1])), 6)
    0.693147
    >>> bce.backward_from_logits(np.array([0.0, 0.0]), np.array([0, 1]))
    array([ 0.25, -0.25])
    """

    name = "binary_crossentropy"
    fused_activation = Sigmoid

    def _target(self, y_true, p, name):
        t = _matching_target(y_true, p, name)
        self._check_targets(t, "y_true")
        return t

    def _check_targets(self, t, name):
        if not np.all((t >= 0) & (t <= 1)):
            raise ValueError(
                f"{name} must lie in [0, 1] for binary cross-entropy "
                f"(labels 0 and 1 for 2 classes); got min {t.min():g}, max {t.max():g}"
            )

    def forward(self, y_pred, y_true):
        p = _pred(y_pred, "y_pred")
        return self._forward(p, self._target(y_true, p, "y_pred"))

    def backward(self, y_pred, y_true):
        p = _pred(y_pred, "y_pred")
        return self._backward(p, self._target(y_true, p, "y_pred"))

    def forward_from_logits(self, z, y_true):
        z = _pred(z, "z")
        return self._forward_from_logits(z, self._target(y_true, z, "z"))

    def backward_from_logits(self, z, y_true):
        z = _pred(z, "z")
        return self._backward_from_logits(z, self._target(y_true, z, "z"))

    def _forward(self, p, t):
        eps = np.finfo(p.dtype).eps
        p = np.clip(p, eps, 1 - eps)
        return float(-np.mean(t * np.log(p) + (1 - t) * np.log1p(-p)))

    def _backward(self, p, t):
        eps = np.finfo(p.dtype).eps
        p = np.clip(p, eps, 1 - eps)
        return (p - t) / (p * (1 - p)) * p.dtype.type(1 / p.size)

    def _forward_from_logits(self, z, t):
        per = np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))
        return float(np.mean(per))

    def _backward_from_logits(self, z, t):
        return (_SIGMOID._forward(z) - t) * z.dtype.type(1 / z.size)


class CategoricalCrossEntropy(Loss):
    r"""Categorical cross-entropy, averaged over samples.

    For class probabilities :math:`p \in (0,1)^{N \times K}` (rows summing to
    one) and targets :math:`y` one-hot (or integer labels :math:`c_n`, which
    are one-hot encoded),

    .. math::

        C = -\frac{1}{N}\sum_{n=1}^{N}\sum_{k=1}^{K} y_{nk}\log p_{nk}
          = -\frac{1}{N}\sum_n \log p_{n c_n},
        \qquad
        \frac{\partial C}{\partial p_{nk}} = -\frac{1}{N}\frac{y_{nk}}{p_{nk}}.

    Probabilities are clipped below at the smallest normal number of the dtype
    so the logarithm stays finite.  With ``fused_activation`` :class:`Softmax`
    (on the last axis), :math:`p = \operatorname{softmax}(z)` and

    .. math::

        C = \frac{1}{N}\sum_n \Big[\operatorname{logsumexp}(z_n)
            - \sum_k y_{nk} z_{nk}\Big],
        \qquad
        \frac{\partial C}{\partial z_{nk}} = \frac{1}{N}(s_{nk} - y_{nk}),

    where the log-sum-exp subtracts :math:`\max_k z_{nk}` first.  (For target
    rows that do not sum to one the code uses the exact
    :math:`s_{nk}\sum_j y_{nj} - y_{nk}`.)  This is Keras'
    ``(sparse_)categorical_crossentropy`` and PyTorch's ``CrossEntropyLoss``.

    In every method ``y_pred`` / ``z`` have shape ``(N, K)`` and ``y_true`` is
    ``(N,)`` integer labels in ``0 .. K-1`` or ``(N, K)`` one-hot rows.

    Examples
    --------
    >>> import numpy as np
    >>> from numbacnn.losses import CategoricalCrossEntropy
    >>> cce = CategoricalCrossEntropy()
    >>> z = np.array([[0.0, 0.0], [0.0, 0.0]])
    >>> round(cce.forward_from_logits(z, [0, 1]), 6)
    0.693147
    >>> cce.backward_from_logits(z, [0, 1])
    array([[-0.25,  0.25],
           [ 0.25, -0.25]])
    """

    name = "categorical_crossentropy"
    fused_activation = Softmax

    @staticmethod
    def _arrays(y_pred, y_true, name):
        p = _pred(y_pred, name)
        check_ndim(p, name, 2, "(samples N, classes K)")
        y = as_rectangular_array(y_true, "y_true")
        if y.ndim >= 1 and y.shape[0] != p.shape[0]:
            raise ValueError(
                f"y_true and {name} must have the same number of samples; "
                f"got {y.shape[0]} and {p.shape[0]}"
            )
        return p, labels_to_onehot(y, p.shape[1], dtype=p.dtype)

    def forward(self, y_pred, y_true):
        return self._forward(*self._arrays(y_pred, y_true, "y_pred"))

    def backward(self, y_pred, y_true):
        return self._backward(*self._arrays(y_pred, y_true, "y_pred"))

    def forward_from_logits(self, z, y_true):
        return self._forward_from_logits(*self._arrays(z, y_true, "z"))

    def backward_from_logits(self, z, y_true):
        return self._backward_from_logits(*self._arrays(z, y_true, "z"))

    def _forward(self, p, y):
        logp = np.log(np.maximum(p, np.finfo(p.dtype).tiny))
        return float(-np.sum(y * logp) / p.shape[0])

    def _backward(self, p, y):
        p = np.maximum(p, np.finfo(p.dtype).tiny)
        return -(y / p) * p.dtype.type(1 / p.shape[0])

    def _forward_from_logits(self, z, y):
        m = np.max(z, axis=1, keepdims=True)
        lse = m[:, 0] + np.log(np.sum(np.exp(z - m), axis=1))
        return float(np.mean(lse * np.sum(y, axis=1) - np.sum(y * z, axis=1)))

    def _backward_from_logits(self, z, y):
        s = _SOFTMAX._forward(z)  # z is checked: the unvalidated twin
        return (s * np.sum(y, axis=1, keepdims=True) - y) * z.dtype.type(1 / z.shape[0])

    def _check_targets(self, t, name):
        if t.ndim == 2 and not np.all((t >= 0) & (t <= 1)):
            raise ValueError(f"{name} given as one-hot/probability rows must lie in [0, 1]")

    def _target_rows(self, y, n_classes, dtype):
        """Checked labels ``(N,)`` as one-hot rows; checked one-hot rows as they are."""
        if y.ndim == 2:
            return y
        rows = np.zeros((y.shape[0], n_classes), dtype=dtype)
        rows[np.arange(y.shape[0]), y] = 1
        return rows


#: name -> class, with the Keras spellings as aliases.
LOSSES = {
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
    "ols": MeanSquaredError,
    "binary_crossentropy": BinaryCrossEntropy,
    "bce": BinaryCrossEntropy,
    "logreg": BinaryCrossEntropy,
    "categorical_crossentropy": CategoricalCrossEntropy,
    "sparse_categorical_crossentropy": CategoricalCrossEntropy,
    "crossentropy": CategoricalCrossEntropy,
    "cce": CategoricalCrossEntropy,
}


def get_loss(spec):
    """Return a :class:`Loss` for a name, a config dict, a class or an instance.

    Parameters
    ----------
    spec : str, dict, Loss subclass or Loss instance
        Names (case-insensitive): ``"mse"`` (aliases ``"mean_squared_error"``,
        ``"ols"``), ``"binary_crossentropy"`` (``"bce"``, ``"logreg"``),
        ``"categorical_crossentropy"`` (``"sparse_categorical_crossentropy"``,
        ``"crossentropy"``, ``"cce"``).  A dict is ``{"name": ...}`` as returned by
        :meth:`Loss.get_config`.

    Returns
    -------
    Loss

    Examples
    --------
    >>> from numbacnn.losses import get_loss
    >>> get_loss("mean_squared_error")
    MeanSquaredError()
    >>> get_loss({"name": "cce"}).fused_activation.__name__
    'Softmax'
    """
    return resolve(spec, base=Loss, registry=LOSSES, kind="loss")
