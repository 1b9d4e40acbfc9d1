"""Recurrent layers: SimpleRNN, LSTM and GRU over :mod:`numbacnn.functional`'s kernels.

Every recurrent layer reads a batch of sequences ``x`` of shape ``(N, T, D)``
(batch first), starts from the zero state and returns either the whole
sequence of hidden states ``(N, T, units)`` (``return_sequences=True``) or
only the last one ``(N, units)``.  The backward pass is backpropagation
through time, done by the kernels, which the layers call through the
private entries of :mod:`numbacnn.functional.rnn`, ``.lstm`` and ``.gru``:
the input is checked once, when the layer is built, not on every batch.

The weights are ``W_ih`` (input to hidden) and ``W_hh`` (hidden to hidden)
in every cell, as in torch; the lecture's letters are in the equations below
and in :doc:`/conventions`.  The keys of earlier releases (SimpleRNN's
``U``/``W``, LSTM's and GRU's ``W``/``U``, GRU's ``b_w``/``b_u``) still work
in ``params``/``grads`` and saved models, with a ``DeprecationWarning``.  See
:doc:`/theory/rnn` and :doc:`/theory/lstm`.
"""

import numpy as np

from .._validation import check_bool, check_int, check_real
from ..functional._recurrent import _is_relu
from ..functional.gru import _gru_backward, _gru_forward
from ..functional.lstm import _lstm_backward, _lstm_forward
from ..functional.rnn import _rnn_backward, _rnn_forward
from .base import Layer, glorot_uniform, orthogonal

__all__ = ["SimpleRNN", "LSTM", "GRU"]


class _Recurrent(Layer):
    weight_keys = ("W_ih", "W_hh")
    _n_blocks = 1

    def __init__(self, units, return_sequences=False, *, l2=None):
        super().__init__()
        self.units = check_int(units, "units", minimum=1)
        self.return_sequences = check_bool(return_sequences, "return_sequences")
        self.l2 = check_real(l2, "l2", low=0, allow_none=True)
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
        """``W_ih (k H, D)`` Glorot per gate block, ``W_hh (k H, H)`` orthogonal per block."""
        H, k = self.units, self._n_blocks
        W_ih = np.concatenate([glorot_uniform(rng, (H, D), D, H, self.dtype) for _ in range(k)])
        W_hh = np.concatenate([orthogonal(rng, H, self.dtype) for _ in range(k)])
        return W_ih, W_hh

    def _forward_input(self, x):
        self._guard_batch(x)
        return x

    def _grad_out(self, grad_out, h_shape):
        expected = h_shape if self.return_sequences else (h_shape[0], h_shape[2])
        self._guard_grad(grad_out, expected)
        return grad_out

    def _grad_h(self, grad_out, shape):
        """dL/dh for every step: the incoming gradient, placed at the last step if needed."""
        grad_out = self._grad_out(grad_out, shape)
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

    with the lecture's ``U`` stored as ``params["W_ih"]`` ``(units, D)``, its
    ``W`` as ``params["W_hh"]`` ``(units, units)`` and ``b (units,)``.  The
    lecture's output map :math:`y^{(t)} = V h^{(t)} + c` is the :class:`Dense`
    layer that usually follows.  ``W_ih`` is Glorot-initialised, ``W_hh``
    orthogonal.
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
        Per-layer L2 strength on ``W_ih`` and ``W_hh``, overriding the model's.
    """

    _renamed_params = {"U": "W_ih", "W": "W_hh"}

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
        self._relu = _is_relu(name)

    def _init_params(self, input_shape, rng):
        D, H = input_shape[1], self.units
        W_ih, W_hh = self._block_weights(rng, D)
        self.params = {"W_ih": W_ih, "W_hh": W_hh, "b": np.zeros(H, dtype=self.dtype)}
        # The kernels also compute the lecture's output y = V h + c, whose gradient is
        # their only way in for a gradient on every state: with V = I and c = 0, y = h.
        # Reading only the last state, the gradient enters through grad_h_last instead,
        # and a single zero output row (O = 1) saves the H x H product of V = I per step.
        O = H if self.return_sequences else 1
        self._V = np.eye(H, dtype=self.dtype) if self.return_sequences else np.zeros(
            (1, H), dtype=self.dtype)
        self._c = np.zeros(O, dtype=self.dtype)

    def forward(self, x):
        x = self._forward_input(x)
        h0 = self._zeros_state(x)
        p = self.params
        h, _ = _rnn_forward(x, h0, p["W_ih"], p["W_hh"], p["b"], self._V, self._c, self._relu)
        self._cache = (x, h0, h)
        return self._output(h)

    def backward(self, grad_out):
        self._require_forward("_cache")
        x, h0, h = self._cache
        p = self.params
        N, T, H = h.shape
        grad_out = self._grad_out(grad_out, h.shape)
        if self.return_sequences:
            grad_y, grad_h_last = grad_out, np.zeros((N, H), dtype=self.dtype)
        else:
            grad_y, grad_h_last = np.zeros((N, T, 1), dtype=self.dtype), grad_out
        grad_x, _, grad_W_ih, grad_W_hh, grad_b, _, _ = _rnn_backward(
            grad_y, x, h0, h, p["W_ih"], p["W_hh"], self._V, grad_h_last, self._relu
        )
        self.grads = {"W_ih": grad_W_ih, "W_hh": grad_W_hh, "b": grad_b}
        return grad_x

    def get_config(self):
        return {**super().get_config(), "activation": self.activation}


class LSTM(_Recurrent):
    r"""Long short-term memory layer (the lecture's gates, stacked ``i, f, g, o``).

    .. math::

        i, f, o = \sigma(W_{i,f,o} x^{(t)} + U_{i,f,o} h^{(t-1)} + b_{i,f,o}),\quad
        g = \tanh(W_g x^{(t)} + U_g h^{(t-1)} + b_g),

        c^{(t)} = f \odot c^{(t-1)} + i \odot g,\qquad h^{(t)} = o \odot \tanh(c^{(t)}),

    from :math:`h^{(0)} = c^{(0)} = 0`, with the lecture's :math:`W_\ast`
    stacked in ``params["W_ih"]`` ``(4 units, D)``, its :math:`U_\ast` in
    ``params["W_hh"]`` ``(4 units, units)`` and ``b (4 units,)``.  The forget-gate bias starts at
    1 so that the cell remembers by default early in training (Jozefowicz et
    al., 2015); the other biases start at 0.

    Parameters
    ----------
    units : int
    return_sequences : bool, default False
    l2 : float, optional
    """

    _n_blocks = 4
    _renamed_params = {"W": "W_ih", "U": "W_hh"}

    def _init_params(self, input_shape, rng):
        D, H = input_shape[1], self.units
        W_ih, W_hh = self._block_weights(rng, D)
        b = np.zeros(4 * H, dtype=self.dtype)
        b[H : 2 * H] = 1
        self.params = {"W_ih": W_ih, "W_hh": W_hh, "b": b}

    def forward(self, x):
        x = self._forward_input(x)
        h0 = self._zeros_state(x)
        c0 = self._zeros_state(x)
        p = self.params
        h, c, gates = _lstm_forward(x, h0, c0, p["W_ih"], p["W_hh"], p["b"])
        self._cache = (x, h0, c0, h, c, gates)
        return self._output(h)

    def backward(self, grad_out):
        self._require_forward("_cache")
        x, h0, c0, h, c, gates = self._cache
        p = self.params
        grad_h = self._grad_h(grad_out, h.shape)
        grad_x, _, _, grad_W_ih, grad_W_hh, grad_b = _lstm_backward(
            grad_h, x, h0, c0, p["W_ih"], p["W_hh"], h, c, gates, np.zeros_like(h0)
        )
        self.grads = {"W_ih": grad_W_ih, "W_hh": grad_W_hh, "b": grad_b}
        return grad_x


class GRU(_Recurrent):
    r"""Gated recurrent unit layer (torch.nn.GRU's equations, gates stacked ``r, z, n``).

    .. math::

        r, z = \sigma(W_{r,z} x^{(t)} + b_{w;r,z} + U_{r,z} h^{(t-1)} + b_{u;r,z}),

        n = \tanh\bigl(W_n x^{(t)} + b_{w;n} + r \odot (U_n h^{(t-1)} + b_{u;n})\bigr),\qquad
        h^{(t)} = (1 - z) \odot n + z \odot h^{(t-1)},

    from :math:`h^{(0)} = 0`, with :math:`W` stored as ``params["W_ih"]``
    ``(3 units, D)``, :math:`U` as ``params["W_hh"]`` ``(3 units, units)`` and
    the biases :math:`b_w`, :math:`b_u` as ``params["b_ih"]``, ``params["b_hh"]``
    of shape ``(3 units,)`` (torch's names).

    Parameters
    ----------
    units : int
    return_sequences : bool, default False
    l2 : float, optional
    """

    _n_blocks = 3
    _renamed_params = {"W": "W_ih", "U": "W_hh", "b_w": "b_ih", "b_u": "b_hh"}

    def _init_params(self, input_shape, rng):
        D, H = input_shape[1], self.units
        W_ih, W_hh = self._block_weights(rng, D)
        zeros = np.zeros(3 * H, dtype=self.dtype)
        self.params = {"W_ih": W_ih, "W_hh": W_hh, "b_ih": zeros, "b_hh": zeros.copy()}

    def forward(self, x):
        x = self._forward_input(x)
        h0 = self._zeros_state(x)
        p = self.params
        h, gates = _gru_forward(x, h0, p["W_ih"], p["W_hh"], p["b_ih"], p["b_hh"])
        self._cache = (x, h0, h, gates)
        return self._output(h)

    def backward(self, grad_out):
        self._require_forward("_cache")
        x, h0, h, gates = self._cache
        p = self.params
        grad_h = self._grad_h(grad_out, h.shape)
        grad_x, _, grad_W_ih, grad_W_hh, grad_b_ih, grad_b_hh = _gru_backward(
            grad_h, x, h0, p["W_ih"], p["W_hh"], p["b_ih"], p["b_hh"], h, gates
        )
        self.grads = {"W_ih": grad_W_ih, "W_hh": grad_W_hh, "b_ih": grad_b_ih,
                      "b_hh": grad_b_hh}
        return grad_x
