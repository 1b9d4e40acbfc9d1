"""The layer protocol shared by every layer, and the weight initialisers.

A layer is built once, when the model first sees data: :meth:`Layer.build`
receives the shape of one sample (no batch axis), checks that the layer can
take it, creates the parameters and returns the shape of one output sample.
After that,

* ``forward(x)`` maps a batch to a batch and remembers what ``backward`` needs;
* ``backward(grad_out)`` receives :math:`\\partial L/\\partial \\text{output}`
  for that same batch, stores :math:`\\partial L/\\partial \\theta` in
  ``grads`` (fresh arrays, nothing accumulates) and returns
  :math:`\\partial L/\\partial x`;
* ``params`` and ``grads`` are dicts with the same keys, so an optimizer can
  update ``params[k]`` in place from ``grads[k]``.

Layers with an activation (:class:`~numbacnn.layers.Conv2D`,
:class:`~numbacnn.layers.Dense`) split the affine map from the nonlinearity,
:math:`a = \\sigma(z)`, so that a model can hand the pre-activation
:math:`z` straight to a loss fused with :math:`\\sigma` (softmax +
cross-entropy) -- see :meth:`ActivatedLayer.forward_preactivation`.
"""

import warnings

import numpy as np

from .. import activations as _activations
from .._validation import check_real

__all__ = ["Layer", "ActivatedLayer", "glorot_uniform", "he_normal", "orthogonal"]


def glorot_uniform(rng, shape, fan_in, fan_out, dtype):
    r"""Glorot/Xavier uniform :math:`U(-a, a)`, :math:`a = \sqrt{6/(n_\mathrm{in}+n_\mathrm{out})}`.

    Keeps the variance of activations and of gradients roughly constant
    through layers with a symmetric, saturating activation (tanh, sigmoid,
    softmax, identity).
    """
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def he_normal(rng, shape, fan_in, dtype):
    r"""He/Kaiming normal: :math:`N(0, 2/n_\mathrm{in})`.

    ReLU zeroes half of its inputs on average; the factor 2 compensates so
    that the variance of the activations does not shrink layer by layer.
    """
    return (rng.standard_normal(size=shape) * np.sqrt(2.0 / fan_in)).astype(dtype)


def orthogonal(rng, n, dtype):
    """A random ``(n, n)`` orthogonal matrix (QR of a Gaussian matrix, signs fixed).

    Used for recurrent weights: all singular values are 1, so repeated
    multiplication by ``W`` neither explodes nor vanishes at initialisation.
    """
    q, r = np.linalg.qr(rng.standard_normal(size=(n, n)))
    return (q * np.sign(np.diag(r))).astype(dtype)


def _is_rectifier(activation):
    return isinstance(activation, (_activations.ReLU, _activations.LeakyReLU))


class _RenamedKeys(dict):
    """A ``params``/``grads`` dict that still answers to the keys a release renamed.

    Only the current keys are stored (so ``items()``, saving and the optimizers
    see those alone); an old key given to ``[]``, ``get``, ``in`` or an
    assignment is translated through ``renamed`` (old -> new) with a
    ``DeprecationWarning``.
    """

    _renamed = {}

    def __init__(self, data=(), renamed=None):
        super().__init__(data)
        self._renamed = dict(renamed or {})

    def _key(self, key):
        new = self._renamed.get(key) if isinstance(key, str) else None
        if new is None or dict.__contains__(self, key):
            return key
        warnings.warn(
            f"parameter key {key!r} is deprecated and will be removed in the next release; "
            f"use {new!r}",
            DeprecationWarning,
            stacklevel=3,
        )
        return new

    def __getitem__(self, key):
        return super().__getitem__(self._key(key))

    def __setitem__(self, key, value):
        super().__setitem__(self._key(key), value)

    def __contains__(self, key):
        return super().__contains__(self._key(key))

    def get(self, key, default=None):
        return super().get(self._key(key), default)


class Layer:
    """Base class: the build / forward / backward protocol (see the module docstring).

    Attributes
    ----------
    params, grads : dict of str -> ndarray
        Trainable arrays and their gradients from the last ``backward``
        (same keys; empty for layers without parameters).
    input_shape, output_shape : tuple of int or None
        Shape of one sample (no batch axis), known once the layer is built.
    weight_keys : tuple of str
        The keys of ``params`` that L2 regularisation acts on (weights, never
        biases).
    """

    weight_keys = ()
    #: whether ``forward`` takes ``training=True`` (random while training, as
    #: :class:`~numbacnn.layers.Dropout`); the model passes it only to such layers
    stochastic = False
    #: False while a model trains and nothing needs this layer's input gradient (its
    #: first layer): ``backward`` may then skip computing it and return ``None``
    _input_grad = True
    #: old parameter key -> current key, for keys renamed in this release
    #: (``params``/``grads`` and saved models still accept the old ones)
    _renamed_params = {}

    def __init__(self):
        self.params = {}
        self.grads = {}
        self.input_shape = None
        self.output_shape = None
        self.built = False
        self.dtype = None
        self.l2 = None

    # -- building -------------------------------------------------------------------
    def compute_output_shape(self, input_shape):
        """Check that this layer accepts samples of ``input_shape``; return the output shape.

        Raises ``ValueError`` with a message that says what to change.
        """
        raise NotImplementedError

    def build(self, input_shape, rng=None, dtype=np.float64):
        """Create the parameters for samples of ``input_shape``; return the output shape.

        Parameters
        ----------
        input_shape : tuple of int
            Shape of one sample, without the batch axis.
        rng : numpy.random.Generator, optional
            Source of the initial weights (a model passes one derived from its seed).
        dtype : float32 or float64
            The dtype of the parameters (a model uses the dtype of its training data).
        """
        input_shape = tuple(int(s) for s in input_shape)
        output_shape = self.compute_output_shape(input_shape)
        self.dtype = np.dtype(dtype)
        if rng is None:
            rng = np.random.default_rng()
        try:
            self._init_params(input_shape, rng)
            self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        except (MemoryError, ValueError) as exc:
            # numpy refuses sizes beyond the address space with a ValueError
            if isinstance(exc, ValueError) and "too big" not in str(exc):
                raise
            raise MemoryError(
                f"{type(self).__name__} cannot allocate its parameters for samples of "
                f"shape {input_shape}: {exc}"
            ) from None
        self.input_shape = input_shape
        self.output_shape = tuple(output_shape)
        self.built = True
        return self.output_shape

    def _init_params(self, input_shape, rng):
        """Fill ``self.params`` (layers without parameters keep it empty)."""

    @property
    def params(self):
        return self._params

    @params.setter
    def params(self, value):
        self._params = self._keyed(value)

    @property
    def grads(self):
        return self._grads

    @grads.setter
    def grads(self, value):
        self._grads = self._keyed(value)

    def _keyed(self, d):
        renamed = type(self)._renamed_params
        if not renamed or isinstance(d, _RenamedKeys):
            return d
        return _RenamedKeys(d, renamed)

    @property
    def n_params(self):
        """Number of trainable scalars."""
        return int(sum(p.size for p in self.params.values()))

    # -- computing --------------------------------------------------------------------
    def forward(self, x):
        """Map a batch ``x`` to the layer's output, remembering what ``backward`` needs."""
        raise NotImplementedError

    def backward(self, grad_out):
        """Given dL/d(output) for the last forward batch, fill ``grads``; return dL/dx."""
        raise NotImplementedError

    # The layers' kernels index without bounds checks, and a layer checks its
    # input once, when it is built (a model checks every X it is given).  One
    # shape comparison per batch keeps a wrongly shaped array from reaching the
    # kernels when a layer is called on its own.
    def _guard_batch(self, x):
        if x.shape[1:] != self.input_shape:
            raise ValueError(
                f"{type(self).__name__} was built for samples of shape {self.input_shape}; "
                f"got a batch of shape {x.shape}"
            )

    def _guard_grad(self, grad, expected):
        if grad.shape != expected:
            raise ValueError(
                f"{type(self).__name__}.backward needs a gradient of the last forward "
                f"output's shape {expected}; got shape {grad.shape}"
            )

    def _require_forward(self, *names):
        for name in names:
            if getattr(self, name, None) is None:
                raise RuntimeError(
                    f"{type(self).__name__}.backward called before forward; "
                    "run forward on a batch first"
                )

    # -- configuration ---------------------------------------------------------------
    def get_config(self):
        """Constructor arguments as JSON-compatible values (see ``from_config``)."""
        raise NotImplementedError

    @classmethod
    def from_config(cls, config):
        """Create an unbuilt layer from :meth:`get_config`'s output."""
        return cls(**config)

    def __repr__(self):
        def show(value):
            if isinstance(value, list):
                return repr(tuple(value))
            if isinstance(value, dict) and set(value) == {"name"}:
                return repr(value["name"])  # an activation without parameters
            return repr(value)

        args = ", ".join(
            f"{k}={show(v)}" for k, v in self.get_config().items() if v is not None
        )
        return f"{type(self).__name__}({args})"


class ActivatedLayer(Layer):
    r"""A layer computing :math:`z = \text{affine}(x)` followed by :math:`a = \sigma(z)`.

    Subclasses implement ``_affine_forward(x) -> z`` and
    ``_affine_backward(grad_z) -> grad_x``; this class applies the
    activation and its derivative *at the pre-activation* :math:`z`:

    .. math::

        \frac{\partial L}{\partial z} = \sigma'(z) \odot \frac{\partial L}{\partial a}
        \quad(\text{a Jacobian-vector product for softmax}).
    """

    def __init__(self, activation=None, l2=None):
        super().__init__()
        self.activation = _activations.get_activation(activation)
        self.l2 = check_real(l2, "l2", low=0, allow_none=True)
        self._z = None

    def _init_scale_is_he(self):
        return _is_rectifier(self.activation)

    def forward_preactivation(self, x):
        """The pre-activation :math:`z` (logits for the last layer), remembered for backward."""
        self._z = self._affine_forward(x)
        return self._z

    def forward(self, x):
        return self.activation._forward(self.forward_preactivation(x))

    def backward(self, grad_out):
        self._require_forward("_z")
        self._guard_grad(grad_out, self._z.shape)
        return self.backward_preactivation(self.activation._backward(self._z, grad_out))

    def backward_preactivation(self, grad_z):
        """Backward from :math:`\\partial L/\\partial z` (skipping the activation).

        ``grad_z`` is an array of :math:`z`'s shape and dtype (a model's loss
        gives exactly that); it is not converted.
        """
        self._require_forward("_z")
        self._guard_grad(grad_z, self._z.shape)
        return self._affine_backward(grad_z)

    def _activation_config(self):
        return self.activation.get_config()
