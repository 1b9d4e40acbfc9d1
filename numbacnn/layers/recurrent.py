"""Recurrent layers: SimpleRNN, LSTM and GRU over :mod:`numbacnn.functional`'s kernels.

Every recurrent layer reads a batch of sequences ``x`` of shape ``(N, T, D)``
(batch first), starts from the zero state and returns either the whole
sequence of hidden states ``(N, T, units)`` (``return_sequences=True``) or
only the last one ``(N, units)``.  The backward pass is backpropagation
through time, done by the kernels.  See :doc:`/theory/rnn` and
:doc:`/theory/lstm`.
"""

import numpy as np

from .. import functional as F
from .base import Layer, _check_l2, _check_positive_int, glorot_uniform, orthogonal

__all__ = ["SimpleRNN", "LSTM", "GRU"]


class _Recurrent(Layer):
    weight_keys = ("W", "U")
    _n_blocks = 1

    def __init__(self, units, return_sequences=False, *, l2=None):
        super().__init__()
        self.units = _check_positive_int(units, "units")
        if not isinstance(return_sequences, (bool, np.bool_)):
            raise TypeError(f"return_sequences must be True or False; got {return_sequences!r}")
        self.return_sequences = bool(return_sequences)
        self.l2 = _check_l2(l2)
        self._cache = None

    def compute_output_shape(self, input_shape):
        name = type(self).__name__
        if len(input_shape) != 2:
            raise ValueError(
                f"{name}({self.units}) needs sequences of shape (T, D) per sample; got a "
                f"sample shape {input_shape}. Give the data as (N, T, D), e.g. "
                "X[:, :, None] for one feature per step"
            )
        T = input_shape[0]
        return (T, self.units) if self.return_sequences else (self.units,)

    def _block_weights(self, rng, D):
        """Input weights ``(k H, D)`` Glorot per gate block, recurrent ``(k H, H)`` orthogonal."""
        H, k = self.units, self._n_blocks
        W = np.concatenate([glorot_uniform(rng, (H, D), D, H, self.dtype) for _ in range(k)])
        U = np.concatenate([orthogonal(rng, H, self.dtype) for _ in range(k)])
        return W, U

    def _grad_h(self, grad_out, shape):
        """dL/dh for every step: the incoming gradient, placed at the last step if needed."""
        grad_out = np.asarray(grad_out, dtype=self.dtype)
        if self.return_sequences:
            return grad_out
        grad_h = np.zeros(shape, dtype=self.dtype)
        grad_h[:, -1, :] = grad_out
        return grad_h

    def _output(self, h):
        return h if self.return_sequences else h[:, -1, :]

    def _zeros_state(self, x):
        return np.zeros((x.shape[0], self.units), dtype=self.dtype)

    def get_config(self):
        return {"units": self.units, "return_sequences": self.return_sequences, "l2": self.l2}


class SimpleRNN(_Recurrent):
    r"""The lecture's (Elman) recurrent layer.

    .. math::

        h^{(t)} = \phi\bigl(U x^{(t)} + W h^{(t-1)} + b\bigr),\qquad h^{(0)} = 0,

    with ``U (units, D)``, ``W (units, units)``, ``b (units,)``.  The lecture's
    output map :math:`y^{(t)} = V h^{(t)} + c` is the :class:`Dense` layer
    that usually follows.  ``U`` is Glorot-initialised, ``W`` orthogonal.
    :math:`\phi` is :math:`\tanh` (the lecture's recurrence) or
    :math:`\max(\cdot, 0)` (the lecture's Keras ``SimpleRNN(..., activation='relu')``).

    Parameters
    ----------
    units : int
        Size of the hidden state.
    return_sequences : bool, default False
        Return every state ``(N, T, units)`` instead of the last ``(N, units)``.
    activation : {"tanh", "relu"}, default "tanh"
        The state nonlinearity :math:`\phi`.
    l2 : float, optional
        Per-layer L2 strength on ``U`` and ``W``, overriding the model's.
    """

    weight_keys = ("U", "W")

    def __init__(self, units, return_sequences=False, activation="tanh", *, l2=None):
        super().__init__(units, return_sequences, l2=l2)
        # a saved config may spell it as {"name": ...}, like the other layers' activations
        name = activation.get("name") if isinstance(activation, dict) else activation
        if name not in ("tanh", "relu"):
            raise ValueError(
                f"SimpleRNN's activation must be 'tanh' or 'relu' (the two the recurrence "
                f"kernels implement); got activation={activation!r}"
            )
        self.activation = name

    def _init_params(self, input_shape, rng):
        D, H = input_shape[1], self.units
        U, W = self._block_weights(rng, D)
        self.params = {"U": U, "W": W, "b": np.zeros(H, dtype=self.dtype)}
        # The kernels also compute the lecture's output y = V h + c, whose gradient is
        # their only way in for a gradient on every state: with V = I and c = 0, y = h.
        # Reading only the last state, the gradient enters through grad_h_last instead,
        # and a single zero output row (O = 1) saves the H x H product of V = I per step.
        O = H if self.return_sequences else 1
        self._V = np.eye(H, dtype=self.dtype) if self.return_sequences else np.zeros(
            (1, H), dtype=self.dtype)
        self._c = np.zeros(O, dtype=self.dtype)

    def forward(self, x):
        h0 = self._zeros_state(x)
        p = self.params
        h, _ = F.rnn_forward(x, h0, p["U"], p["W"], p["b"], self._V, self._c,
                             activation=self.activation)
        self._cache = (x, h0, h)
        return self._output(h)

    def backward(self, grad_out):
        self._require_forward("_cache")
        x, h0, h = self._cache
        p = self.params
        N, T, _ = h.shape
        if self.return_sequences:
            grad_y, grad_h_last = np.asarray(grad_out, dtype=self.dtype), None
        else:
            grad_y = np.zeros((N, T, 1), dtype=self.dtype)
            grad_h_last = np.asarray(grad_out, dtype=self.dtype)
        grad_x, _, grad_U, grad_W, grad_b, _, _ = F.rnn_backward(
            grad_y, x, h0, h, p["U"], p["W"], self._V, grad_h_last=grad_h_last,
            activation=self.activation,
        )
        self.grads = {"U": grad_U, "W": grad_W, "b": grad_b}
        return grad_x

    def get_config(self):
        return {**super().get_config(), "activation": self.activation}


class LSTM(_Recurrent):
    r"""Long short-term memory layer (the lecture's gates, stacked ``i, f, g, o``).

    .. math::

        i, f, o = \sigma(W_{i,f,o} x^{(t)} + U_{i,f,o} h^{(t-1)} + b_{i,f,o}),\quad
        g = \tanh(W_g x^{(t)} + U_g h^{(t-1)} + b_g),

        c^{(t)} = f \odot c^{(t-1)} + i \odot g,\qquad h^{(t)} = o \odot \tanh(c^{(t)}),

    from :math:`h^{(0)} = c^{(0)} = 0`, with ``W (4 units, D)``,
    ``U (4 units, units)``, ``b (4 units,)``.  The forget-gate bias starts at
    1 so that the cell remembers by default early in training (Jozefowicz et
    al., 2015); the other biases start at 0.

    Parameters
    ----------
    units : int
    return_sequences : bool, default False
    l2 : float, optional
    """

    _n_blocks = 4

    def _init_params(self, input_shape, rng):
        D, H = input_shape[1], self.units
        W, U = self._block_weights(rng, D)
        b = np.zeros(4 * H, dtype=self.dtype)
        b[H : 2 * H] = 1
        self.params = {"W": W, "U": U, "b": b}

    def forward(self, x):
        h0 = self._zeros_state(x)
        c0 = self._zeros_state(x)
        p = self.params
        h, c, gates = F.lstm_forward(x, h0, c0, p["W"], p["U"], p["b"])
        self._cache = (x, h0, c0, h, c, gates)
        return self._output(h)

    def backward(self, grad_out):
        self._require_forward("_cache")
        x, h0, c0, h, c, gates = self._cache
        p = self.params
        grad_h = self._grad_h(grad_out, h.shape)
        grad_x, _, _, grad_W, grad_U, grad_b = F.lstm_backward(
            grad_h, x, h0, c0, p["W"], p["U"], h, c, gates
        )
        self.grads = {"W": grad_W, "U": grad_U, "b": grad_b}
        return grad_x


class GRU(_Recurrent):
    r"""Gated recurrent unit layer (torch.nn.GRU's equations, gates stacked ``r, z, n``).

    .. math::

        r, z = \sigma(W_{r,z} x^{(t)} + b_{w;r,z} + U_{r,z} h^{(t-1)} + b_{u;r,z}),

        n = \tanh\bigl(W_n x^{(t)} + b_{w;n} + r \odot (U_n h^{(t-1)} + b_{u;n})\bigr),\qquad
        h^{(t)} = (1 - z) \odot n + z \odot h^{(t-1)},

    from :math:`h^{(0)} = 0`, with ``W (3 units, D)``, ``U (3 units, units)``
    and biases ``b_w``, ``b_u`` of shape ``(3 units,)``.

    Parameters
    ----------
    units : int
    return_sequences : bool, default False
    l2 : float, optional
    """

    _n_blocks = 3

    def _init_params(self, input_shape, rng):
        D, H = input_shape[1], self.units
        W, U = self._block_weights(rng, D)
        zeros = np.zeros(3 * H, dtype=self.dtype)
        self.params = {"W": W, "U": U, "b_w": zeros, "b_u": zeros.copy()}

    def forward(self, x):
        h0 = self._zeros_state(x)
        p = self.params
        h, gates = F.gru_forward(x, h0, p["W"], p["U"], p["b_w"], p["b_u"])
        self._cache = (x, h0, h, gates)
        return self._output(h)

    def backward(self, grad_out):
        self._require_forward("_cache")
        x, h0, h, gates = self._cache
        p = self.params
        grad_h = self._grad_h(grad_out, h.shape)
        grad_x, _, grad_W, grad_U, grad_b_w, grad_b_u = F.gru_backward(
            grad_h, x, h0, p["W"], p["U"], p["b_w"], p["b_u"], h, gates
        )
        self.grads = {"W": grad_W, "U": grad_U, "b_w": grad_b_w, "b_u": grad_b_u}
        return grad_x
