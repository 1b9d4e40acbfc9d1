r"""Activation functions with derivatives taken at the pre-activation.

A layer computes a pre-activation :math:`z` (for a dense layer
:math:`z = a^{l-1} W + b`) and an activation :math:`a = f(z)`.  Back-propagation
needs

.. math::

    \frac{\partial C}{\partial z} = \frac{\partial C}{\partial a} \odot f'(z),

with :math:`f'` evaluated at the *pre-activation* :math:`z`.  Every activation
here therefore has

* ``forward(z)`` (also ``__call__``) returning :math:`a = f(z)`;
* ``backward(z, grad_a)`` returning :math:`\partial C/\partial z` given
  :math:`\partial C/\partial a`, evaluated at the same ``z`` that went into
  ``forward``;
* for the elementwise functions, ``derivative(z)`` returning :math:`f'(z)`.
  :class:`Softmax` couples the entries along its axis, so it has no elementwise
  derivative; it offers :meth:`Softmax.jacobian` and a Jacobian-vector product
  in ``backward`` instead.

The lecture's helper differentiated the *output* of the activation (it called
the derivative with ``a`` where ``z`` was meant); here the argument is always
``z``, and the tests check ``backward`` against autograd and central finite
differences.

Every function keeps the floating dtype of its input: float32 in, float32 out
(integer input is computed in float64).  Sigmoid and softmax are written so
that they never overflow.

Activations are small stateless objects.  ``get_activation`` turns a name, a
config dict or ``None`` into one, and ``get_config`` gives the dict that a
saved model stores::

    >>> from numbacnn.activations import get_activation
    >>> act = get_activation({"name": "leaky_relu", "alpha": 0.1})
    >>> act.get_config()
    {'name': 'leaky_relu', 'alpha': 0.1}

The public methods check and convert their arguments; each has a private
twin (``_forward``, ``_derivative``, ``_backward``) that takes an array it
trusts, which is what the layers call on every batch.
"""

import numpy as np

from numbacnn._deprecation import deprecated_alias
from numbacnn._registry import resolve
from numbacnn._validation import as_float_array, as_rectangular_array, check_int, check_real

__all__ = [
    "Activation",
    "Identity",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "LeakyReLU",
    "Softmax",
    "identity",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "softmax",
    "get_activation",
    "ACTIVATIONS",
]


def _as_input(z, name="z"):
    return as_float_array(z, name)


def _grad_like(grad_a, z):
    """``grad_a`` as an array in ``z``'s dtype, of ``z``'s shape."""
    g = as_rectangular_array(grad_a, "grad_a")
    if g.shape != z.shape:
        raise ValueError(
            f"grad_a must have the shape of z; got grad_a {g.shape} and z {z.shape}"
        )
    return as_float_array(g, "grad_a", dtype=z.dtype)


class Activation:
    """Base class: an activation :math:`a = f(z)` and its backward pass.

    Subclasses implement :meth:`forward` and either :meth:`derivative`
    (elementwise functions) or :meth:`backward`.

    Attributes
    ----------
    name : str
        The name under which :func:`get_activation` finds the class.
    elementwise : bool
        True if :math:`a_i` depends on :math:`z_i` only, so that
        ``backward(z, g) == g * derivative(z)``.
    """

    name = None
    elementwise = True

    def forward(self, z):
        """Return :math:`a = f(z)`, same shape and floating dtype as ``z``."""
        return self._forward(_as_input(z))

    def __call__(self, z):
        return self.forward(z)

    def derivative(self, z):
        """Return :math:`f'(z)` elementwise, evaluated at the pre-activation ``z``."""
        return self._derivative(_as_input(z))

    # The private twins take a float ndarray as is.  A subclass written against
    # the public protocol (overriding forward/derivative/backward only) is
    # reached through its public methods.
    def _forward(self, z):
        if type(self).forward is Activation.forward:
            raise NotImplementedError
        return self.forward(z)

    def _derivative(self, z):
        if type(self).derivative is Activation.derivative:
            raise NotImplementedError
        return self.derivative(z)

    def _backward(self, z, grad_a):
        if type(self).backward is not Activation.backward:
            return self.backward(z, grad_a)
        return grad_a * self._derivative(z)

    def backward(self, z, grad_a):
        r"""Return :math:`\partial C/\partial z = \partial C/\partial a \odot f'(z)`.

        Parameters
        ----------
        z : ndarray
            The pre-activation that was passed to :meth:`forward`.
        grad_a : ndarray, shape of ``z``
            Gradient of the cost with respect to the activation :math:`a`.

        Returns
        -------
        grad_z : ndarray, shape and dtype of ``z``
            A new array; neither input is modified.
        """
        z = _as_input(z)
        return self._backward(z, _grad_like(grad_a, z))

    def get_config(self):
        """Return ``{"name": ..., **params}``, accepted by :func:`get_activation`."""
        return {"name": self.name}

    to_config = deprecated_alias("to_config", "get_config")

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self):
        return hash((type(self), tuple(sorted(self.get_config().items()))))

    def __repr__(self):
        params = {k: v for k, v in self.get_config().items() if k != "name"}
        args = ", ".join(f"{k}={v!r}" for k, v in params.items())
        return f"{type(self).__name__}({args})"


class Identity(Activation):
    r"""The identity (linear) activation, :math:`f(z) = z`, :math:`f'(z) = 1`.

    Examples
    --------
    >>> import numpy as np
    >>> from numbacnn.activations import identity
    >>> identity(np.array([-1.0, 2.0]))
    array([-1.,  2.])
    """

    name = "identity"

    def _forward(self, z):
        return z.copy()

    def _derivative(self, z):
        return np.ones_like(z)


class Sigmoid(Activation):
    r"""The logistic function :math:`\sigma(z) = 1/(1 + e^{-z})`.

    .. math::

        \sigma'(z) = \sigma(z)\,(1 - \sigma(z)).

    Computed as :math:`1/(1+e^{-|z|})` for :math:`z \ge 0` and
    :math:`e^{-|z|}/(1+e^{-|z|})` for :math:`z < 0`, so the exponential never
    overflows (the lecture catches a ``FloatingPointError`` instead).

    Examples
    --------
    >>> import numpy as np
    >>> from numbacnn.activations import sigmoid
    >>> sigmoid(np.array([0.0, 1000.0, -1000.0]))
    array([0.5, 1. , 0. ])
    """

    name = "sigmoid"

    def _forward(self, z):
        e = np.exp(-np.abs(z))  # in (0, 1]: cannot overflow
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e))

    def _derivative(self, z):
        s = self._forward(z)
        return s * (1 - s)


class Tanh(Activation):
    r"""The hyperbolic tangent, :math:`f(z) = \tanh z`, :math:`f'(z) = 1 - \tanh^2 z`.

    Examples
    --------
    >>> import numpy as np
    >>> from numbacnn.activations import tanh
    >>> tanh.derivative(np.array([0.0]))
    array([1.])
    """

    name = "tanh"

    def _forward(self, z):
        return np.tanh(z)

    def _derivative(self, z):
        t = np.tanh(z)
        return 1 - t * t


class ReLU(Activation):
    r"""The rectified linear unit, :math:`f(z) = \max(z, 0)`.

    .. math::

        f'(z) = \begin{cases} 1 & z > 0 \\ 0 & z \le 0 \end{cases}

    The derivative at the kink :math:`z = 0` is taken as 0 (the same choice as
    PyTorch and the lecture).

    Examples
    --------
    >>> import numpy as np
    >>> from numbacnn.activations import relu
    >>> relu(np.array([-2.0, 0.0, 3.0]))
    array([0., 0., 3.])
    >>> relu.derivative(np.array([-2.0, 0.0, 3.0]))
    array([0., 0., 1.])
    """

    name = "relu"

    def _forward(self, z):
        return np.maximum(z, z.dtype.type(0))

    def _derivative(self, z):
        return (z > 0).astype(z.dtype)

    def _is_plain(self):
        """True when the derivative is the plain mask ``z > 0`` (no subclass changes it)."""
        cls = type(self)
        return cls.backward is Activation.backward and cls._derivative is ReLU._derivative

    def _backward(self, z, grad_a):
        if not self._is_plain():
            return super()._backward(z, grad_a)
        # the boolean mask multiplies as its 0/1 values do, without a float copy of it
        return grad_a * (z > 0)


class LeakyReLU(Activation):
    r"""Leaky ReLU, :math:`f(z) = z` for :math:`z > 0` and :math:`\alpha z` otherwise.

    .. math::

        f'(z) = \begin{cases} 1 & z > 0 \\ \alpha & z \le 0 \end{cases}

    Parameters
    ----------
    alpha : float, default 0.01
        Slope for negative inputs (PyTorch's default; the lecture's code uses
        ``1e-3`` and Keras ``0.3``).  Must be finite and ``>= 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from numbacnn.activations import LeakyReLU
    >>> LeakyReLU(alpha=0.1)(np.array([-2.0, 3.0]))
    array([-0.2,  3. ])
    """

    name = "leaky_relu"

    def __init__(self, alpha=0.01):
        self.alpha = check_real(alpha, "alpha", low=0)

    def _forward(self, z):
        return np.where(z > 0, z, z.dtype.type(self.alpha) * z)

    def _derivative(self, z):
        one = z.dtype.type(1)
        return np.where(z > 0, one, z.dtype.type(self.alpha))

    def get_config(self):
        return {"name": self.name, "alpha": self.alpha}


class Softmax(Activation):
    r"""Softmax along ``axis``: :math:`s_i = e^{z_i} / \sum_j e^{z_j}`.

    The maximum along ``axis`` is subtracted before exponentiating (this does
    not change :math:`s` and keeps :math:`e^{z}` in range).  Softmax is not
    elementwise: its Jacobian is

    .. math::

        \frac{\partial s_i}{\partial z_j} = s_i(\delta_{ij} - s_j),

    so :meth:`backward` returns the Jacobian-vector product

    .. math::

        \frac{\partial C}{\partial z_j} = \sum_i \frac{\partial C}{\partial s_i}
        s_i(\delta_{ij} - s_j)
        = s_j\Big(g_j - \sum_i g_i s_i\Big), \qquad g = \partial C/\partial s.

    Together with cross-entropy, prefer
    :meth:`numbacnn.losses.CategoricalCrossEntropy.backward_from_logits`,
    which never forms :math:`\log s`.

    Parameters
    ----------
    axis : int, default -1
        The axis that holds the classes.

    Examples
    --------
    >>> import numpy as np
    >>> from numbacnn.activations import softmax
    >>> s = softmax(np.array([[1.0, 1.0], [0.0, 1000.0]]))
    >>> s
    array([[0.5, 0.5],
           [0. , 1. ]])
    """

    name = "softmax"
    elementwise = False

    def __init__(self, axis=-1):
        self.axis = check_int(axis, "axis")

    def _check_axis(self, z):
        if z.ndim == 0 or not -z.ndim <= self.axis < z.ndim:
            raise ValueError(
                f"axis={self.axis} is out of range for z of shape {z.shape}"
            )

    def forward(self, z):
        z = _as_input(z)
        self._check_axis(z)
        return self._forward(z)

    def _forward(self, z):
        e = np.exp(z - np.max(z, axis=self.axis, keepdims=True))
        return e / np.sum(e, axis=self.axis, keepdims=True)

    def derivative(self, z):
        """Not defined: softmax is not elementwise; see :meth:`jacobian`."""
        raise TypeError(
            "Softmax is not elementwise and has no elementwise derivative; "
            "use backward(z, grad_a) or jacobian(z)"
        )

    def jacobian(self, z):
        r"""Return the Jacobian :math:`J_{ij} = s_i(\delta_{ij} - s_j)`.

        Parameters
        ----------
        z : ndarray, shape ``(..., K)``
            Pre-activation; only ``axis=-1`` is supported here.

        Returns
        -------
        J : ndarray, shape ``(..., K, K)``
            ``J[..., i, j]`` is :math:`\partial s_i / \partial z_j`.
        """
        z = _as_input(z)
        if self.axis not in (-1, z.ndim - 1):
            raise ValueError("jacobian supports axis=-1 (the last axis) only")
        s = self.forward(z)
        eye = np.eye(z.shape[-1], dtype=z.dtype)
        return s[..., :, None] * (eye - s[..., None, :])

    def backward(self, z, grad_a):
        z = _as_input(z)
        self._check_axis(z)
        return self._backward(z, _grad_like(grad_a, z))

    def _backward(self, z, grad_a):
        s = self._forward(z)
        return s * (grad_a - np.sum(grad_a * s, axis=self.axis, keepdims=True))

    def get_config(self):
        return {"name": self.name, "axis": self.axis}


#: name -> class; "linear" is an alias of "identity" (Keras' name).
ACTIVATIONS = {
    "identity": Identity,
    "linear": Identity,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "softmax": Softmax,
}

identity = Identity()
sigmoid = Sigmoid()
tanh = Tanh()
relu = ReLU()
leaky_relu = LeakyReLU()
softmax = Softmax()


def get_activation(spec):
    """Return an :class:`Activation` for a name, a config dict, a class or an instance.

    Parameters
    ----------
    spec : None, str, dict, Activation subclass or Activation instance
        ``None`` gives :class:`Identity`; a name is one of ``"identity"``
        (alias ``"linear"``), ``"sigmoid"``, ``"tanh"``, ``"relu"``,
        ``"leaky_relu"``, ``"softmax"`` (case-insensitive); a dict is what
        :meth:`Activation.get_config` returns, e.g.
        ``{"name": "leaky_relu", "alpha": 0.1}``; an instance is returned as is.

    Returns
    -------
    Activation

    Raises
    ------
    ValueError
        For an unknown name, listing the valid ones.
    TypeError
        For any other kind of ``spec``.

    Examples
    --------
    >>> from numbacnn.activations import get_activation
    >>> get_activation("relu")
    ReLU()
    >>> get_activation(None)
    Identity()
    >>> get_activation({"name": "softmax", "axis": 1})
    Softmax(axis=1)
    """
    return resolve(spec, base=Activation, registry=ACTIVATIONS, kind="activation", default=Identity)

