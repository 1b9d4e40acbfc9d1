"""Recurrent layers as functions: simple RNN, LSTM and GRU, forward and backward.

Sequences are batch-first: ``x`` has shape ``(N, T, D)`` (N sequences of T
steps of D features), hidden states ``(N, T, H)``.  Each function validates
its arguments once, converts them to one float dtype (float32 only if every
array is float32, otherwise float64), allocates fresh outputs and calls a
loop kernel from :mod:`numbacnn.kernels.rnn`, :mod:`numbacnn.kernels.lstm` or
:mod:`numbacnn.kernels.gru`.  Inputs are never written to.

Time is 0-based in the arrays: ``h[:, t]`` is the lecture's
:math:`h^{(t+1)}`, and ``h0`` is :math:`h^{(0)}`.

The functions run the *fast* kernels, which the tests prove equal to the
*reference* kernels (the equations index for index).  The fast kernels
evaluate :math:`\\tanh` and :math:`\\sigma` with branch-free formulas so that
their loops vectorize: in float32 a rational approximation good to a few
ulps (relative error below 3.5e-7 for ``tanh``, absolute below 2e-7 for
:math:`\\sigma`), in float64 one ``exp`` each (absolute error about 2e-16).
See :func:`numbacnn.kernels.rnn.tanh_fast`.

See :doc:`/theory/rnn` and :doc:`/theory/lstm`.
"""

import numpy as np

from .._validation import as_float_array, check_ndim, check_nonempty, common_float_dtype
from ..kernels import gru as _gru
from ..kernels import lstm as _lstm
from ..kernels import rnn as _rnn

__all__ = [
    "rnn_forward",
    "rnn_backward",
    "rnn_gradient_norms",
    "lstm_forward",
    "lstm_backward",
    "lstm_gradient_norms",
    "gru_forward",
    "gru_backward",
]


# ----------------------------------------------------------------------------
# validation helpers
# ----------------------------------------------------------------------------


def _convert(named, dtype):
    """``as_float_array`` for each ``(name, value)`` pair, all in ``dtype``."""
    return [as_float_array(value, name, dtype) for name, value in named]


def _expect_shape(arr, name, layout, expected, where):
    """Raise ``ValueError`` unless ``arr.shape == expected``.

    ``layout`` spells the axes (``"(4H, D)"``), ``where`` says where the sizes
    come from (``"H = 8 from h0.shape[1]"``).
    """
    check_ndim(arr, name, len(expected), layout)
    if arr.shape != tuple(expected):
        raise ValueError(
            f"{name} must have shape {layout} = {tuple(expected)} ({where}); "
            f"got shape {arr.shape}"
        )


def _sequence_sizes(x, h0):
    """``N, T, D`` from ``x (N, T, D)`` and ``H`` from ``h0 (N, H)``, checked."""
    check_ndim(x, "x", 3, "(N, T, D)")
    check_nonempty(x, "x")
    check_ndim(h0, "h0", 2, "(N, H)")
    check_nonempty(h0, "h0")
    N, T, D = x.shape
    if h0.shape[0] != N:
        raise ValueError(
            f"h0 must have shape (N, H) with N = {N} from x.shape[0]; got shape {h0.shape}"
        )
    return N, T, D, h0.shape[1]


def _optional_zeros(value, name, shape, dtype, layout, where):
    """``value`` converted and shape-checked, or zeros of ``shape`` if it is None."""
    if value is None:
        return np.zeros(shape, dtype=dtype)
    arr = as_float_array(value, name, dtype)
    _expect_shape(arr, name, layout, shape, where)
    return arr


# ----------------------------------------------------------------------------
# simple RNN
# ----------------------------------------------------------------------------


def _is_relu(activation):
    """Validate the hidden activation of the simple RNN; True for ReLU, False for tanh."""
    if activation not in ("tanh", "relu"):
        raise ValueError(f"activation must be 'tanh' or 'relu'; got {activation!r}")
    return activation == "relu"


def rnn_forward(x, h0, U, W, b, V, c, activation="tanh"):
    """Forward pass of the simple (Elman) RNN.

    For every sequence and every step :math:`t = 1, \\dots, T`

    .. math::

        a^{(t)} = U x^{(t)} + W h^{(t-1)} + b, \\qquad
        h^{(t)} = \\phi(a^{(t)}), \\qquad
        y^{(t)} = V h^{(t)} + c,

    starting from :math:`h^{(0)} =` ``h0``, with :math:`\\phi = \\tanh` (the
    lecture's recurrence) or :math:`\\phi(a) = \\max(a, 0)` (``activation="relu"``,
    as in the lecture's Keras ``SimpleRNN`` example).  The output activation
    :math:`\\sigma_y` of the lecture is left to the loss.

    Parameters
    ----------
    x : array_like, shape (N, T, D)
        Input sequences, batch first.
    h0 : array_like, shape (N, H)
        Initial hidden state :math:`h^{(0)}`.
    U : array_like, shape (H, D)
        Input-to-hidden weights.
    W : array_like, shape (H, H)
        Hidden-to-hidden (recurrent) weights.
    b : array_like, shape (H,)
        Hidden bias.
    V : array_like, shape (O, H)
        Hidden-to-output weights.
    c : array_like, shape (O,)
        Output bias.
    activation : {"tanh", "relu"}, default "tanh"
        The hidden activation :math:`\\phi`.

    Returns
    -------
    h : ndarray, shape (N, T, H)
        Hidden states; ``h[:, t]`` is :math:`h^{(t+1)}`.
    y : ndarray, shape (N, T, O)
        Outputs :math:`y^{(t)}` before any output activation.

    See Also
    --------
    rnn_backward : the gradients by backpropagation through time.

    Notes
    -----
    The kernels are :func:`numbacnn.kernels.rnn.rnn_forward_reference` (the
    equations index for index) and :func:`numbacnn.kernels.rnn.rnn_forward_fast`
    (what runs here; the tests prove both equal).  See :doc:`/theory/rnn`.

    Examples
    --------
    >>> import numpy as np
    >>> from numbacnn.functional import rnn_forward
    >>> rng = np.random.default_rng(0)
    >>> N, T, D, H, O = 2, 5, 3, 4, 1
    >>> x = rng.normal(size=(N, T, D))
    >>> U, W, V = rng.normal(size=(H, D)), rng.normal(size=(H, H)), rng.normal(size=(O, H))
    >>> h, y = rnn_forward(x, np.zeros((N, H)), U, W, np.zeros(H), V, np.zeros(O))
    >>> h.shape, y.shape
    ((2, 5, 4), (2, 5, 1))
    >>> bool(np.allclose(h[:, 0], np.tanh(x[:, 0] @ U.T)))
    True
    """
    relu = _is_relu(activation)
    dtype = common_float_dtype(x, h0, U, W, b, V, c)
    x, h0, U, W, b, V, c = _convert(
        [("x", x), ("h0", h0), ("U", U), ("W", W), ("b", b), ("V", V), ("c", c)], dtype
    )
    N, T, D, H = _sequence_sizes(x, h0)
    check_ndim(V, "V", 2, "(O, H)")
    check_nonempty(V, "V")
    O = V.shape[0]
    src_h = f"H = {H} from h0.shape[1]"
    _expect_shape(U, "U", "(H, D)", (H, D), f"{src_h}, D = {D} from x.shape[2]")
    _expect_shape(W, "W", "(H, H)", (H, H), src_h)
    _expect_shape(b, "b", "(H,)", (H,), src_h)
    _expect_shape(V, "V", "(O, H)", (O, H), f"O = {O} from V.shape[0], {src_h}")
    _expect_shape(c, "c", "(O,)", (O,), f"O = {O} from V.shape[0]")
    h = np.empty((N, T, H), dtype=dtype)
    y = np.empty((N, T, O), dtype=dtype)
    _rnn.rnn_forward_fast(x, h0, U, W, b, V, c, relu, h, y)
    return h, y


def rnn_backward(grad_y, x, h0, h, U, W, V, grad_h_last=None, activation="tanh"):
    """Backpropagation through time for :func:`rnn_forward`.

    With :math:`\\delta^{(t)} = \\nabla_{a^{(t)}}\\mathcal L`, the lecture's
    recursion runs from the last step backwards:

    .. math::

        \\nabla_{h^{(T)}}\\mathcal L &= V^T \\nabla_{y^{(T)}}\\mathcal L
            + \\texttt{grad\\_h\\_last}, \\\\
        \\nabla_{h^{(t)}}\\mathcal L &= V^T \\nabla_{y^{(t)}}\\mathcal L
            + W^T \\delta^{(t+1)}, \\qquad
        \\delta^{(t)} = \\nabla_{h^{(t)}}\\mathcal L \\odot \\phi'(a^{(t)}),

    where :math:`W^T\\delta^{(t+1)} = (\\partial h^{(t+1)}/\\partial h^{(t)})^T
    \\nabla_{h^{(t+1)}}\\mathcal L` and the derivative of the activation is
    taken at the pre-activation, through the stored output: :math:`\\phi'(a) = 1
    - h^2` for tanh, :math:`[h > 0]` for ReLU.  The shared weights collect one term per step:

    .. math::

        \\nabla_U = \\sum_t \\delta^{(t)} x^{(t)T}, \\quad
        \\nabla_W = \\sum_t \\delta^{(t)} h^{(t-1)T}, \\quad
        \\nabla_b = \\sum_t \\delta^{(t)}, \\quad
        \\nabla_V = \\sum_t \\nabla_{y^{(t)}} h^{(t)T}, \\quad
        \\nabla_c = \\sum_t \\nabla_{y^{(t)}},

    and :math:`\\nabla_{x^{(t)}} = U^T\\delta^{(t)}`,
    :math:`\\nabla_{h^{(0)}} = W^T\\delta^{(1)}`.  All sums also run over the batch.

    Parameters
    ----------
    grad_y : array_like, shape (N, T, O)
        :math:`\\nabla_{y^{(t)}}\\mathcal L` for every step (zeros where the loss
        does not look at :math:`y^{(t)}`).
    x : array_like, shape (N, T, D)
        Inputs of the forward pass.
    h0 : array_like, shape (N, H)
        Initial hidden state of the forward pass.
    h : array_like, shape (N, T, H)
        Hidden states returned by :func:`rnn_forward`.
    U : array_like, shape (H, D)
    W : array_like, shape (H, H)
    V : array_like, shape (O, H)
        The weights of the forward pass.
    grad_h_last : array_like, shape (N, H), optional
        Extra gradient on the last hidden state :math:`h^{(T)}` (for models
        that read only the final state); None means zeros.
    activation : {"tanh", "relu"}, default "tanh"
        The hidden activation of the forward pass.

    Returns
    -------
    grad_x : ndarray, shape (N, T, D)
    grad_h0 : ndarray, shape (N, H)
    grad_U : ndarray, shape (H, D)
    grad_W : ndarray, shape (H, H)
    grad_b : ndarray, shape (H,)
    grad_V : ndarray, shape (O, H)
    grad_c : ndarray, shape (O,)
        Fresh arrays; nothing accumulates between calls.

    Notes
    -----
    Kernels: :func:`numbacnn.kernels.rnn.rnn_backward_reference` and
    :func:`numbacnn.kernels.rnn.rnn_backward_fast`.  See :doc:`/theory/rnn`.

    Examples
    --------
    Sequence-to-one: only the last state is read by the loss.

    >>> import numpy as np
    >>> from numbacnn.functional import rnn_forward, rnn_backward
    >>> rng = np.random.default_rng(1)
    >>> N, T, D, H = 3, 6, 2, 5
    >>> x, h0 = rng.normal(size=(N, T, D)), np.zeros((N, H))
    >>> U, W, b = rng.normal(size=(H, D)), 0.5 * rng.normal(size=(H, H)), np.zeros(H)
    >>> V, c = np.zeros((1, H)), np.zeros(1)
    >>> h, y = rnn_forward(x, h0, U, W, b, V, c)
    >>> grads = rnn_backward(np.zeros_like(y), x, h0, h, U, W, V, grad_h_last=np.ones((N, H)))
    >>> [g.shape for g in grads]
    [(3, 6, 2), (3, 5), (5, 2), (5, 5), (5,), (1, 5), (1,)]
    """
    relu = _is_relu(activation)
    dtype = common_float_dtype(grad_y, x, h0, h, U, W, V, grad_h_last)
    grad_y, x, h0, h, U, W, V = _convert(
        [("grad_y", grad_y), ("x", x), ("h0", h0), ("h", h), ("U", U), ("W", W), ("V", V)],
        dtype,
    )
    N, T, D, H = _sequence_sizes(x, h0)
    check_ndim(V, "V", 2, "(O, H)")
    check_nonempty(V, "V")
    O = V.shape[0]
    src_h = f"H = {H} from h0.shape[1]"
    src_nt = f"N, T = {N}, {T} from x.shape[:2]"
    _expect_shape(h, "h", "(N, T, H)", (N, T, H), f"{src_nt}, {src_h}")
    _expect_shape(U, "U", "(H, D)", (H, D), f"{src_h}, D = {D} from x.shape[2]")
    _expect_shape(W, "W", "(H, H)", (H, H), src_h)
    _expect_shape(V, "V", "(O, H)", (O, H), f"O = {O} from V.shape[0], {src_h}")
    _expect_shape(
        grad_y, "grad_y", "(N, T, O)", (N, T, O), f"{src_nt}, O = {O} from V.shape[0]"
    )
    grad_h_last = _optional_zeros(
        grad_h_last, "grad_h_last", (N, H), dtype, "(N, H)",
        f"N = {N} from x.shape[0], {src_h}",
    )
    grad_x = np.zeros((N, T, D), dtype=dtype)
    grad_h0 = np.zeros((N, H), dtype=dtype)
    grad_U = np.zeros((H, D), dtype=dtype)
    grad_W = np.zeros((H, H), dtype=dtype)
    grad_b = np.zeros(H, dtype=dtype)
    grad_V = np.zeros((O, H), dtype=dtype)
    grad_c = np.zeros(O, dtype=dtype)
    _rnn.rnn_backward_fast(
        grad_y, x, h0, h, U, W, V, relu, grad_h_last,
        grad_x, grad_h0, grad_U, grad_W, grad_b, grad_V, grad_c,
    )
    return grad_x, grad_h0, grad_U, grad_W, grad_b, grad_V, grad_c


def _check_ord(ord):
    if ord not in (2, "fro"):
        raise ValueError(f"ord must be 2 or 'fro'; got {ord!r}")


def _matrix_norms(jac, ord):
    """Norm of each ``(H, H)`` matrix in ``jac (N, H, H)``."""
    if ord == "fro":
        return np.sqrt(np.einsum("nij,nij->n", jac, jac))
    return np.linalg.norm(jac, ord=2, axis=(1, 2))


def rnn_gradient_norms(x, h0, U, W, b, ord=2, activation="tanh"):
    """How the gradient of the last hidden state fades (or blows up) with the lag.

    Returns :math:`\\lVert \\partial h^{(T)} / \\partial h^{(T-s)} \\rVert` for every
    lag :math:`s = 0, \\dots, T` of the simple RNN of :func:`rnn_forward`.  By the
    chain rule

    .. math::

        \\frac{\\partial h^{(T)}}{\\partial h^{(T-s)}}
        = \\prod_{t=T-s+1}^{T} \\mathrm{diag}\\bigl(\\phi'(a^{(t)})\\bigr)\\, W ,

    a product of :math:`s` matrices (:math:`\\phi' = 1 - (h^{(t)})^2` for tanh):
    when the spectral radius of :math:`W` is below one the norm decays
    geometrically in :math:`s` (vanishing gradients); well above one it can
    grow until the tanh saturates (exploding gradients).
    BPTT multiplies the loss gradient by exactly these matrices.

    Parameters
    ----------
    x : array_like, shape (N, T, D)
    h0 : array_like, shape (N, H)
    U : array_like, shape (H, D)
    W : array_like, shape (H, H)
    b : array_like, shape (H,)
        As in :func:`rnn_forward` (the output layer plays no part).
    ord : {2, 'fro'}, default 2
        Spectral norm (largest singular value) or Frobenius norm.
    activation : {"tanh", "relu"}, default "tanh"
        The hidden activation, as in :func:`rnn_forward`.

    Returns
    -------
    norms : ndarray, shape (N, T + 1)
        ``norms[n, s]`` for sequence ``n`` and lag ``s``; ``norms[:, 0]`` is the
        norm of the identity (1 for ``ord=2``).

    See Also
    --------
    lstm_gradient_norms : the same for the LSTM's cell state.

    Notes
    -----
    The one-step kernel is :func:`numbacnn.kernels.rnn.rnn_jacobian_step`.
    See :doc:`/theory/rnn`.

    Examples
    --------
    With zero input and a linear-regime state the norm is close to
    ``rho ** s`` for a symmetric ``W`` of spectral radius ``rho``:

    >>> import numpy as np
    >>> from numbacnn.functional import rnn_gradient_norms
    >>> H, T = 4, 10
    >>> W = 0.5 * np.eye(H)
    >>> norms = rnn_gradient_norms(np.zeros((1, T, 1)), np.zeros((1, H)),
    ...                            np.zeros((H, 1)), W, np.zeros(H))
    >>> norms.shape
    (1, 11)
    >>> bool(np.allclose(norms[0], 0.5 ** np.arange(T + 1)))
    True
    """
    _check_ord(ord)
    relu = _is_relu(activation)
    dtype = common_float_dtype(x, h0, U, W, b)
    x, h0, U, W, b = _convert([("x", x), ("h0", h0), ("U", U), ("W", W), ("b", b)], dtype)
    N, T, D, H = _sequence_sizes(x, h0)
    src_h = f"H = {H} from h0.shape[1]"
    _expect_shape(U, "U", "(H, D)", (H, D), f"{src_h}, D = {D} from x.shape[2]")
    _expect_shape(W, "W", "(H, H)", (H, H), src_h)
    _expect_shape(b, "b", "(H,)", (H,), src_h)
    h = np.empty((N, T, H), dtype=dtype)
    # no output layer: O = 0
    _rnn.rnn_forward_fast(
        x, h0, U, W, b, np.zeros((0, H), dtype), np.zeros(0, dtype), relu, h,
        np.empty((N, T, 0), dtype),
    )
    norms = np.empty((N, T + 1), dtype=dtype)
    jac = np.broadcast_to(np.eye(H, dtype=dtype), (N, H, H)).copy()
    norms[:, 0] = _matrix_norms(jac, ord)
    nxt = np.empty_like(jac)
    for s in range(1, T + 1):
        _rnn.rnn_jacobian_step(jac, np.ascontiguousarray(h[:, T - s]), W, relu, nxt)
        jac, nxt = nxt, jac
        norms[:, s] = _matrix_norms(jac, ord)
    return norms


# ----------------------------------------------------------------------------
# LSTM
# ----------------------------------------------------------------------------


def _lstm_check(x, h0, c0, W, U, b):
    N, T, D, H = _sequence_sizes(x, h0)
    src_h = f"H = {H} from h0.shape[1]"
    _expect_shape(c0, "c0", "(N, H)", (N, H), f"N = {N} from x.shape[0], {src_h}")
    _expect_shape(W, "W", "(4H, D)", (4 * H, D), f"{src_h}, D = {D} from x.shape[2]")
    _expect_shape(U, "U", "(4H, H)", (4 * H, H), src_h)
    _expect_shape(b, "b", "(4H,)", (4 * H,), src_h)
    return N, T, D, H


def lstm_forward(x, h0, c0, W, U, b):
    """Forward pass of the LSTM (gates stacked input, forget, candidate, output).

    .. math::

        i^{(t)} &= \\sigma(W_i x^{(t)} + U_i h^{(t-1)} + b_i), &
        f^{(t)} &= \\sigma(W_f x^{(t)} + U_f h^{(t-1)} + b_f), \\\\
        g^{(t)} &= \\tanh(W_g x^{(t)} + U_g h^{(t-1)} + b_g), &
        o^{(t)} &= \\sigma(W_o x^{(t)} + U_o h^{(t-1)} + b_o), \\\\
        c^{(t)} &= f^{(t)} \\odot c^{(t-1)} + i^{(t)} \\odot g^{(t)}, &
        h^{(t)} &= o^{(t)} \\odot \\tanh(c^{(t)}),

    :math:`g` being the lecture's candidate :math:`\\tilde c`.  The blocks
    ``i, f, g, o`` are stacked in that order along the first axis of ``W``,
    ``U``, ``b`` (torch.nn.LSTM's layout with ``b = b_ih + b_hh``).

    Parameters
    ----------
    x : array_like, shape (N, T, D)
        Input sequences, batch first.
    h0, c0 : array_like, shape (N, H)
        Initial hidden and cell states.
    W : array_like, shape (4H, D)
        Input weights of the four gates.
    U : array_like, shape (4H, H)
        Recurrent weights of the four gates.
    b : array_like, shape (4H,)
        Gate biases.

    Returns
    -------
    h : ndarray, shape (N, T, H)
        Hidden states :math:`h^{(t)}`.
    c : ndarray, shape (N, T, H)
        Cell states :math:`c^{(t)}`.
    gates : ndarray, shape (N, T, 4H)
        ``i, f, g, o`` after their activations (needed by :func:`lstm_backward`).

    Notes
    -----
    Kernels: :func:`numbacnn.kernels.lstm.lstm_forward_reference` and
    :func:`numbacnn.kernels.lstm.lstm_forward_fast`.  See :doc:`/theory/lstm`.

    Examples
    --------
    A forget gate pinned open and an input gate shut keep the cell state:

    >>> import numpy as np
    >>> from numbacnn.functional import lstm_forward
    >>> N, T, D, H = 1, 20, 2, 3
    >>> b = np.concatenate([np.full(H, -40.0), np.full(H, 40.0), np.zeros(2 * H)])
    >>> c0 = np.array([[0.5, -1.0, 2.0]])
    >>> x = np.random.default_rng(0).normal(size=(N, T, D))
    >>> h, c, gates = lstm_forward(x, np.zeros((N, H)), c0, np.zeros((4 * H, D)),
    ...                            np.zeros((4 * H, H)), b)
    >>> bool(np.allclose(c[0, -1], c0[0]))
    True
    """
    dtype = common_float_dtype(x, h0, c0, W, U, b)
    x, h0, c0, W, U, b = _convert(
        [("x", x), ("h0", h0), ("c0", c0), ("W", W), ("U", U), ("b", b)], dtype
    )
    N, T, D, H = _lstm_check(x, h0, c0, W, U, b)
    h = np.empty((N, T, H), dtype=dtype)
    c = np.empty((N, T, H), dtype=dtype)
    gates = np.empty((N, T, 4 * H), dtype=dtype)
    _lstm.lstm_forward_fast(x, h0, c0, W, U, b, h, c, gates)
    return h, c, gates


def lstm_backward(grad_h, x, h0, c0, W, U, h, c, gates, grad_c_last=None):
    """Backpropagation through time for :func:`lstm_forward`.

    Backwards in time, :math:`\\nabla_{h^{(t)}}` is ``grad_h[:, t]`` plus
    :math:`U^T \\nabla_{z^{(t+1)}}` from the next step (:math:`z` the stacked gate
    pre-activations), and the cell state carries its own gradient:

    .. math::

        \\nabla_{c^{(t)}} &= f^{(t+1)} \\odot \\nabla_{c^{(t+1)}}
            + \\nabla_{h^{(t)}} \\odot o^{(t)} \\odot \\bigl(1 - \\tanh^2 c^{(t)}\\bigr), \\\\
        \\nabla_{z_i} &= \\nabla_{c^{(t)}} \\odot g \\odot i (1 - i), &
        \\nabla_{z_f} &= \\nabla_{c^{(t)}} \\odot c^{(t-1)} \\odot f (1 - f), \\\\
        \\nabla_{z_g} &= \\nabla_{c^{(t)}} \\odot i \\odot (1 - g^2), &
        \\nabla_{z_o} &= \\nabla_{h^{(t)}} \\odot \\tanh c^{(t)} \\odot o (1 - o),

    then :math:`\\nabla_W = \\sum_t \\nabla_{z^{(t)}} x^{(t)T}`,
    :math:`\\nabla_U = \\sum_t \\nabla_{z^{(t)}} h^{(t-1)T}`,
    :math:`\\nabla_b = \\sum_t \\nabla_{z^{(t)}}`,
    :math:`\\nabla_{x^{(t)}} = W^T \\nabla_{z^{(t)}}`.  The path
    :math:`c^{(t-1)} \\to c^{(t)}` multiplies the gradient only by :math:`f`,
    which is why an open forget gate lets it survive many steps.

    Parameters
    ----------
    grad_h : array_like, shape (N, T, H)
        Loss gradient on every hidden output :math:`h^{(t)}`.
    x, h0, c0, W, U : array_like
        Arguments of :func:`lstm_forward`.
    h, c, gates : array_like
        Outputs of :func:`lstm_forward`.
    grad_c_last : array_like, shape (N, H), optional
        Extra gradient on the last cell state :math:`c^{(T)}`; None means zeros.

    Returns
    -------
    grad_x : ndarray, shape (N, T, D)
    grad_h0 : ndarray, shape (N, H)
    grad_c0 : ndarray, shape (N, H)
    grad_W : ndarray, shape (4H, D)
    grad_U : ndarray, shape (4H, H)
    grad_b : ndarray, shape (4H,)

    Notes
    -----
    Kernels: :func:`numbacnn.kernels.lstm.lstm_backward_reference` and
    :func:`numbacnn.kernels.lstm.lstm_backward_fast`.  See :doc:`/theory/lstm`.

    Examples
    --------
    >>> import numpy as np
    >>> from numbacnn.functional import lstm_forward, lstm_backward
    >>> rng = np.random.default_rng(0)
    >>> N, T, D, H = 2, 4, 3, 5
    >>> x, h0, c0 = rng.normal(size=(N, T, D)), np.zeros((N, H)), np.zeros((N, H))
    >>> W, U, b = rng.normal(size=(4 * H, D)), rng.normal(size=(4 * H, H)), np.zeros(4 * H)
    >>> h, c, gates = lstm_forward(x, h0, c0, W, U, b)
    >>> grads = lstm_backward(np.ones_like(h), x, h0, c0, W, U, h, c, gates)
    >>> [g.shape for g in grads]
    [(2, 4, 3), (2, 5), (2, 5), (20, 3), (20, 5), (20,)]
    """
    dtype = common_float_dtype(grad_h, x, h0, c0, W, U, h, c, gates, grad_c_last)
    grad_h, x, h0, c0, W, U, h, c, gates = _convert(
        [("grad_h", grad_h), ("x", x), ("h0", h0), ("c0", c0), ("W", W), ("U", U),
         ("h", h), ("c", c), ("gates", gates)],
        dtype,
    )
    N, T, D, H = _sequence_sizes(x, h0)
    src_h = f"H = {H} from h0.shape[1]"
    src_nth = f"N, T = {N}, {T} from x.shape[:2], {src_h}"
    _expect_shape(c0, "c0", "(N, H)", (N, H), f"N = {N} from x.shape[0], {src_h}")
    _expect_shape(W, "W", "(4H, D)", (4 * H, D), f"{src_h}, D = {D} from x.shape[2]")
    _expect_shape(U, "U", "(4H, H)", (4 * H, H), src_h)
    _expect_shape(grad_h, "grad_h", "(N, T, H)", (N, T, H), src_nth)
    _expect_shape(h, "h", "(N, T, H)", (N, T, H), src_nth)
    _expect_shape(c, "c", "(N, T, H)", (N, T, H), src_nth)
    _expect_shape(gates, "gates", "(N, T, 4H)", (N, T, 4 * H), src_nth)
    grad_c_last = _optional_zeros(
        grad_c_last, "grad_c_last", (N, H), dtype, "(N, H)",
        f"N = {N} from x.shape[0], {src_h}",
    )
    grad_x = np.zeros((N, T, D), dtype=dtype)
    grad_h0 = np.zeros((N, H), dtype=dtype)
    grad_c0 = np.zeros((N, H), dtype=dtype)
    grad_W = np.zeros((4 * H, D), dtype=dtype)
    grad_U = np.zeros((4 * H, H), dtype=dtype)
    grad_b = np.zeros(4 * H, dtype=dtype)
    _lstm.lstm_backward_fast(
        grad_h, x, h0, c0, W, U, h, c, gates, grad_c_last,
        grad_x, grad_h0, grad_c0, grad_W, grad_U, grad_b,
    )
    return grad_x, grad_h0, grad_c0, grad_W, grad_U, grad_b


def lstm_gradient_norms(x, h0, c0, W, U, b, ord=2):
    """How the gradient through the LSTM's cell state fades with the lag.

    Returns :math:`\\lVert \\partial c^{(T)} / \\partial c^{(T-s)} \\rVert` for every
    lag :math:`s = 0, \\dots, T`, treating :math:`(h^{(t)}, c^{(t)})` as the state
    (so :math:`c^{(T-s)}` is perturbed with :math:`h^{(T-s)}` held).  The one-step
    Jacobian of the state is

    .. math::

        \\frac{\\partial c^{(t)}}{\\partial c^{(t-1)}} = \\mathrm{diag}(f^{(t)}), \\quad
        \\frac{\\partial c^{(t)}}{\\partial h^{(t-1)}} =
            \\mathrm{diag}\\bigl(c^{(t-1)} f'\\bigr) U_f + \\mathrm{diag}(g\\, i') U_i
            + \\mathrm{diag}(i\\, g') U_g, \\\\
        \\frac{\\partial h^{(t)}}{\\partial c^{(t-1)}} =
            \\mathrm{diag}\\bigl(o (1 - \\tanh^2 c^{(t)})\\bigr)
            \\frac{\\partial c^{(t)}}{\\partial c^{(t-1)}}, \\quad
        \\frac{\\partial h^{(t)}}{\\partial h^{(t-1)}} =
            \\mathrm{diag}(\\tanh c^{(t)}\\, o') U_o
            + \\mathrm{diag}\\bigl(o (1 - \\tanh^2 c^{(t)})\\bigr)
            \\frac{\\partial c^{(t)}}{\\partial h^{(t-1)}},

    with :math:`i' = i(1-i)`, :math:`f' = f(1-f)`, :math:`o' = o(1-o)`,
    :math:`g' = 1 - g^2`.  With the forget gate open (:math:`f \\approx 1`) and
    the gates saturated, the cell block is close to the identity for every lag:
    the memory cell's constant error flow, against the geometric decay of
    :func:`rnn_gradient_norms`.

    Parameters
    ----------
    x, h0, c0, W, U, b : array_like
        As in :func:`lstm_forward`.
    ord : {2, 'fro'}, default 2
        Spectral or Frobenius norm.

    Returns
    -------
    norms : ndarray, shape (N, T + 1)
        ``norms[n, s]`` :math:`= \\lVert \\partial c^{(T)}/\\partial c^{(T-s)} \\rVert`.

    Notes
    -----
    The one-step kernel is :func:`numbacnn.kernels.lstm.lstm_jacobian_step`.
    See :doc:`/theory/lstm`.

    Examples
    --------
    >>> import numpy as np
    >>> from numbacnn.functional import lstm_gradient_norms
    >>> N, T, D, H = 1, 30, 1, 3
    >>> b = np.concatenate([np.full(H, -40.0), np.full(H, 40.0), np.zeros(2 * H)])
    >>> rng = np.random.default_rng(0)
    >>> norms = lstm_gradient_norms(rng.normal(size=(N, T, D)), np.zeros((N, H)),
    ...                             np.zeros((N, H)), rng.normal(size=(4 * H, D)),
    ...                             rng.normal(size=(4 * H, H)), b)
    >>> bool(np.allclose(norms, 1.0))
    True
    """
    _check_ord(ord)
    h, c, gates = lstm_forward(x, h0, c0, W, U, b)
    dtype = h.dtype
    h0 = as_float_array(h0, "h0", dtype)
    c0 = as_float_array(c0, "c0", dtype)
    U = as_float_array(U, "U", dtype)
    N, T, H = h.shape
    norms = np.empty((N, T + 1), dtype=dtype)
    jac = np.broadcast_to(np.eye(2 * H, dtype=dtype), (N, 2 * H, 2 * H)).copy()
    norms[:, 0] = _matrix_norms(np.ascontiguousarray(jac[:, H:, H:]), ord)
    nxt = np.empty_like(jac)
    for s in range(1, T + 1):
        t = T - s  # index of c^(T-s+1); its predecessor is t - 1 (or c0)
        c_prev = c0 if t == 0 else np.ascontiguousarray(c[:, t - 1])
        _lstm.lstm_jacobian_step(
            jac, np.ascontiguousarray(c[:, t]), c_prev, np.ascontiguousarray(gates[:, t]),
            U, nxt,
        )
        jac, nxt = nxt, jac
        norms[:, s] = _matrix_norms(np.ascontiguousarray(jac[:, H:, H:]), ord)
    return norms


# ----------------------------------------------------------------------------
# GRU
# ----------------------------------------------------------------------------


def _gru_check(x, h0, W, U, b_w, b_u):
    N, T, D, H = _sequence_sizes(x, h0)
    src_h = f"H = {H} from h0.shape[1]"
    _expect_shape(W, "W", "(3H, D)", (3 * H, D), f"{src_h}, D = {D} from x.shape[2]")
    _expect_shape(U, "U", "(3H, H)", (3 * H, H), src_h)
    _expect_shape(b_w, "b_w", "(3H,)", (3 * H,), src_h)
    _expect_shape(b_u, "b_u", "(3H,)", (3 * H,), src_h)
    return N, T, D, H


def gru_forward(x, h0, W, U, b_w, b_u):
    """Forward pass of the GRU (torch.nn.GRU's equations, gates reset, update, new).

    .. math::

        r^{(t)} &= \\sigma(W_r x^{(t)} + b_{w,r} + U_r h^{(t-1)} + b_{u,r}), \\\\
        z^{(t)} &= \\sigma(W_z x^{(t)} + b_{w,z} + U_z h^{(t-1)} + b_{u,z}), \\\\
        n^{(t)} &= \\tanh\\bigl(W_n x^{(t)} + b_{w,n}
                   + r^{(t)} \\odot (U_n h^{(t-1)} + b_{u,n})\\bigr), \\\\
        h^{(t)} &= (1 - z^{(t)}) \\odot n^{(t)} + z^{(t)} \\odot h^{(t-1)} .

    Parameters
    ----------
    x : array_like, shape (N, T, D)
        Input sequences, batch first.
    h0 : array_like, shape (N, H)
        Initial hidden state.
    W : array_like, shape (3H, D)
        Input weights, blocks ``r, z, n`` (torch's ``weight_ih_l0``).
    U : array_like, shape (3H, H)
        Recurrent weights, blocks ``r, z, n`` (torch's ``weight_hh_l0``).
    b_w, b_u : array_like, shape (3H,)
        Input-side and recurrent-side biases (torch's ``bias_ih_l0``,
        ``bias_hh_l0``); they differ only in the ``n`` block, where ``b_u``
        sits inside the reset gate's product.

    Returns
    -------
    h : ndarray, shape (N, T, H)
        Hidden states.
    gates : ndarray, shape (N, T, 3H)
        ``r, z, n`` after their activations (needed by :func:`gru_backward`).

    Notes
    -----
    Kernels: :func:`numbacnn.kernels.gru.gru_forward_reference` and
    :func:`numbacnn.kernels.gru.gru_forward_fast`.  See :doc:`/theory/lstm`.

    Examples
    --------
    An update gate pinned at one copies the state forward unchanged:

    >>> import numpy as np
    >>> from numbacnn.functional import gru_forward
    >>> N, T, D, H = 1, 8, 2, 3
    >>> b_w = np.concatenate([np.zeros(H), np.full(H, 40.0), np.zeros(H)])
    >>> h0 = np.array([[0.3, -0.2, 0.9]])
    >>> x = np.random.default_rng(0).normal(size=(N, T, D))
    >>> h, gates = gru_forward(x, h0, np.ones((3 * H, D)), np.ones((3 * H, H)),
    ...                        b_w, np.zeros(3 * H))
    >>> bool(np.allclose(h[0, -1], h0[0]))
    True
    """
    dtype = common_float_dtype(x, h0, W, U, b_w, b_u)
    x, h0, W, U, b_w, b_u = _convert(
        [("x", x), ("h0", h0), ("W", W), ("U", U), ("b_w", b_w), ("b_u", b_u)], dtype
    )
    N, T, D, H = _gru_check(x, h0, W, U, b_w, b_u)
    h = np.empty((N, T, H), dtype=dtype)
    gates = np.empty((N, T, 3 * H), dtype=dtype)
    _gru.gru_forward_fast(x, h0, W, U, b_w, b_u, h, gates)
    return h, gates


def gru_backward(grad_h, x, h0, W, U, b_w, b_u, h, gates):
    """Backpropagation through time for :func:`gru_forward`.

    Backwards in time, with :math:`\\nabla_h` = ``grad_h[:, t]`` plus what flows
    back from step :math:`t+1`, and :math:`m = U_n h^{(t-1)} + b_{u,n}`:

    .. math::

        \\nabla_{a_n} &= \\nabla_h \\odot (1 - z) \\odot (1 - n^2), \\quad
        \\nabla_{a_z} = \\nabla_h \\odot (h^{(t-1)} - n) \\odot z (1 - z), \\quad
        \\nabla_{a_r} = \\nabla_{a_n} \\odot m \\odot r (1 - r), \\\\
        \\nabla_{h^{(t-1)}} &= \\nabla_h \\odot z
            + U^T [\\nabla_{a_r}; \\nabla_{a_z}; r \\odot \\nabla_{a_n}], \\qquad
        \\nabla_{x^{(t)}} = W^T [\\nabla_{a_r}; \\nabla_{a_z}; \\nabla_{a_n}],

    and the weights sum the outer products of those stacked vectors with
    :math:`x^{(t)}` (for ``W``, ``b_w``) and :math:`h^{(t-1)}` (for ``U``, ``b_u``).

    Parameters
    ----------
    grad_h : array_like, shape (N, T, H)
        Loss gradient on every hidden output.
    x, h0, W, U, b_w, b_u : array_like
        Arguments of :func:`gru_forward`.
    h, gates : array_like
        Outputs of :func:`gru_forward`.

    Returns
    -------
    grad_x : ndarray, shape (N, T, D)
    grad_h0 : ndarray, shape (N, H)
    grad_W : ndarray, shape (3H, D)
    grad_U : ndarray, shape (3H, H)
    grad_b_w : ndarray, shape (3H,)
    grad_b_u : ndarray, shape (3H,)

    Notes
    -----
    Kernels: :func:`numbacnn.kernels.gru.gru_backward_reference` and
    :func:`numbacnn.kernels.gru.gru_backward_fast`.  See :doc:`/theory/lstm`.

    Examples
    --------
    >>> import numpy as np
    >>> from numbacnn.functional import gru_forward, gru_backward
    >>> rng = np.random.default_rng(0)
    >>> N, T, D, H = 2, 4, 3, 5
    >>> x, h0 = rng.normal(size=(N, T, D)), np.zeros((N, H))
    >>> W, U = rng.normal(size=(3 * H, D)), rng.normal(size=(3 * H, H))
    >>> b_w, b_u = np.zeros(3 * H), np.zeros(3 * H)
    >>> h, gates = gru_forward(x, h0, W, U, b_w, b_u)
    >>> grads = gru_backward(np.ones_like(h), x, h0, W, U, b_w, b_u, h, gates)
    >>> [g.shape for g in grads]
    [(2, 4, 3), (2, 5), (15, 3), (15, 5), (15,), (15,)]
    """
    dtype = common_float_dtype(grad_h, x, h0, W, U, b_w, b_u, h, gates)
    grad_h, x, h0, W, U, b_w, b_u, h, gates = _convert(
        [("grad_h", grad_h), ("x", x), ("h0", h0), ("W", W), ("U", U), ("b_w", b_w),
         ("b_u", b_u), ("h", h), ("gates", gates)],
        dtype,
    )
    N, T, D, H = _gru_check(x, h0, W, U, b_w, b_u)
    src_nth = f"N, T = {N}, {T} from x.shape[:2], H = {H} from h0.shape[1]"
    _expect_shape(grad_h, "grad_h", "(N, T, H)", (N, T, H), src_nth)
    _expect_shape(h, "h", "(N, T, H)", (N, T, H), src_nth)
    _expect_shape(gates, "gates", "(N, T, 3H)", (N, T, 3 * H), src_nth)
    grad_x = np.zeros((N, T, D), dtype=dtype)
    grad_h0 = np.zeros((N, H), dtype=dtype)
    grad_W = np.zeros((3 * H, D), dtype=dtype)
    grad_U = np.zeros((3 * H, H), dtype=dtype)
    grad_b_w = np.zeros(3 * H, dtype=dtype)
    grad_b_u = np.zeros(3 * H, dtype=dtype)
    _gru.gru_backward_fast(
        grad_h, x, h0, W, U, b_w, b_u, h, gates,
        grad_x, grad_h0, grad_W, grad_U, grad_b_w, grad_b_u,
    )
    return grad_x, grad_h0, grad_W, grad_U, grad_b_w, grad_b_u
