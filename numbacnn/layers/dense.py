"""Fully connected (Dense) and Flatten layers."""

import math

import numpy as np

from .._validation import check_int
from .base import ActivatedLayer, Layer, glorot_uniform, he_normal

__all__ = ["Dense", "Flatten"]


class Flatten(Layer):
    """Reshape each sample to a vector: ``(N, d1, d2, ...) -> (N, d1 * d2 * ...)``.

    The bridge from feature maps ``(N, C, H, W)`` to :class:`Dense` layers; its
    backward pass reshapes the gradient back.  No parameters.
    """

    def __init__(self):
        super().__init__()
        self._shape = None

    def compute_output_shape(self, input_shape):
        return (math.prod(input_shape),)

    def forward(self, x):
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_out):
        self._require_forward("_shape")
        return grad_out.reshape(self._shape)

    def get_config(self):
        return {}


class Dense(ActivatedLayer):
    r"""Fully connected layer: :math:`z = x W + b`, :math:`a = \sigma(z)`.

    With ``x`` of shape ``(N, n_in)``, ``W`` of shape ``(n_in, units)`` and
    ``b`` of shape ``(units,)``; the backward pass is

    .. math::

        \delta = \sigma'(z) \odot \frac{\partial L}{\partial a},\quad
        \frac{\partial L}{\partial W} = x^\mathsf{T}\delta,\quad
        \frac{\partial L}{\partial b} = \sum_n \delta_n,\quad
        \frac{\partial L}{\partial x} = \delta W^\mathsf{T}.

    A 3-D input ``(N, T, n_in)`` (a sequence from a recurrent layer with
    ``return_sequences=True``) is mapped step by step with the same ``W``.
    Image input ``(N, C, H, W)`` is refused: put :class:`Flatten` before the
    layer.  See :doc:`/theory/cnn-layers`.

    Parameters
    ----------
    units : int
        Number of outputs.
    activation : str or activation object, optional
        ``None`` means identity.  ReLU-type activations get He
        initialisation, all others Glorot.
    l2 : float, optional
        Per-layer L2 strength overriding the model's ``l2`` (``0`` exempts
        this layer).
    """

    weight_keys = ("W",)

    def __init__(self, units, activation=None, *, l2=None):
        super().__init__(activation, l2)
        self.units = check_int(units, "units", minimum=1)
        self._x = None

    def compute_output_shape(self, input_shape):
        if len(input_shape) not in (1, 2):
            raise ValueError(
                f"Dense({self.units}) receives {len(input_shape) + 1}-D input of sample shape "
                f"{input_shape}; insert Flatten() before it to turn each sample into a vector"
            )
        return input_shape[:-1] + (self.units,)

    def _init_params(self, input_shape, rng):
        n_in = input_shape[-1]
        shape = (n_in, self.units)
        if self._init_scale_is_he():
            W = he_normal(rng, shape, n_in, self.dtype)
        else:
            W = glorot_uniform(rng, shape, n_in, self.units, self.dtype)
        self.params = {"W": W, "b": np.zeros(self.units, dtype=self.dtype)}

    def _affine_forward(self, x):
        self._x = x
        return x @ self.params["W"] + self.params["b"]

    def _affine_backward(self, grad_z):
        x2 = self._x.reshape(-1, self._x.shape[-1])
        g2 = grad_z.reshape(-1, self.units)
        self.grads = {"W": x2.T @ g2, "b": g2.sum(axis=0)}
        return grad_z @ self.params["W"].T if self._input_grad else None

    def get_config(self):
        return {"units": self.units, "activation": self._activation_config(), "l2": self.l2}
