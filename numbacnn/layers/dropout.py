r"""Dropout: random zeroing of activations while training (inverted dropout)."""

import numpy as np

from .._validation import check_real
from .base import Layer

__all__ = ["Dropout"]


class Dropout(Layer):
    r"""Inverted dropout: while training, each input is kept with probability :math:`1 - r`.

    .. math::

        y = \frac{m \odot x}{1 - r}, \qquad m_{i} \sim \mathrm{Bernoulli}(1 - r)
        \text{ independently}, \qquad
        \frac{\partial L}{\partial x} = \frac{m}{1 - r} \odot \frac{\partial L}{\partial y}.

    Dividing by :math:`1 - r` keeps the expected activation :math:`E[y] = x`,
    so at prediction time the layer is the identity: :meth:`forward` without
    ``training=True`` returns ``x`` itself, and :meth:`Sequential.predict`,
    ``predict_proba`` and ``evaluate`` never drop anything.  Only the steps of
    :meth:`Sequential.fit` (and ``loss_and_gradients``) pass ``training=True``.

    The mask is drawn from the layer's own generator.  In a model it is seeded
    from the model's ``seed`` (a third child of the model's
    ``numpy.random.SeedSequence``, next to the weights' and the shuffling's,
    which stay as they were), so training is reproducible, and a saved model
    carries the generator's state.  A layer used on its own draws from fresh
    entropy unless :meth:`seed_noise` is called.

    Parameters
    ----------
    rate : float
        The fraction :math:`r` of inputs dropped, :math:`0 \le r < 1` (Keras's
        ``rate``; ``0`` is the identity).
    """

    #: the model passes ``training=True`` to this layer's forward while it trains
    stochastic = True

    def __init__(self, rate):
        super().__init__()
        self.rate = check_real(rate, "rate", low=0, high=1, high_open=True)
        self._scaled_mask = None
        self._shape = None
        self._rng = None

    def compute_output_shape(self, input_shape):
        return input_shape

    def seed_noise(self, seed_sequence):
        """Draw the masks from a generator seeded by ``seed_sequence`` (a ``SeedSequence``)."""
        self._rng = np.random.default_rng(seed_sequence)

    @property
    def noise_state(self):
        """The mask generator's state (plain values), as saved with a model; settable."""
        return self._generator().bit_generator.state

    @noise_state.setter
    def noise_state(self, state):
        self._generator().bit_generator.state = state

    def _generator(self):
        if self._rng is None:
            self._rng = np.random.default_rng()
        return self._rng

    def forward(self, x, training=False):
        """``x`` unchanged, or with ``training=True`` the masked and rescaled ``x``."""
        self._guard_batch(x)
        self._shape = x.shape
        if not training or self.rate == 0.0:
            self._scaled_mask = None
            return x
        keep = self._generator().random(x.shape) >= self.rate
        self._scaled_mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - self.rate))
        return x * self._scaled_mask

    def backward(self, grad_out):
        self._require_forward("_shape")
        self._guard_grad(grad_out, self._shape)
        if self._scaled_mask is None:  # the last forward was the identity
            return grad_out
        return grad_out * self._scaled_mask

    def get_config(self):
        return {"rate": self.rate}
