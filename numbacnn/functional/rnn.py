"""The simple (Elman) RNN as functions: forward, backpropagation through time, gradient norms.

See :mod:`numbacnn.functional._recurrent` for the conventions shared by the
recurrent functions, and :doc:`/theory/rnn`.
"""

import numpy as np

from .._deprecation import renamed_kwargs
from .._validation import (
    check_bool,
    check_ndim,
    check_nonempty,
    check_shape,
    common_float_dtype,
)
from ..kernels import rnn as _rnn
from ._recurrent import (
    _check_ord,
    _convert,
    _is_relu,
    _matrix_norms,
    _optional_zeros,
    _sequence_sizes,
)

__all__ = ["rnn_forward", "rnn_backward", "rnn_gradient_norms"]

_RENAMED = {"U": "W_ih", "W": "W_hh"}


def _rnn_forward(x, h0, W_ih, W_hh, b, V, c, relu, kernel=_rnn.rnn_forward_fast):
    """Forward pass on checked C-contiguous arrays of one float dtype, no validation.

    ``kernel`` is :func:`~numbacnn.kernels.rnn.rnn_forward_fast` or its
    reference twin (same signature).
    """
    N, T, _ = x.shape
    h = np.empty((N, T, h0.shape[1]), dtype=x.dtype)
    y = np.empty((N, T, V.shape[0]), dtype=x.dtype)
    kernel(x, h0, W_ih, W_hh, b, V, c, relu, h, y)
    return h, y


def _rnn_backward(grad_y, x, h0, h, W_ih, W_hh, V, grad_h_last, relu,
                  kernel=_rnn.rnn_backward_fast):
    """BPTT on checked arrays (as in :func:`_rnn_forward`); ``grad_h_last`` is an array."""
    N, T, D = x.shape
    H, O = h0.shape[1], V.shape[0]
    dtype = x.dtype
    grads = (
        np.zeros((N, T, D), dtype=dtype),
        np.zeros((N, H), dtype=dtype),
        np.zeros((H, D), dtype=dtype),
        np.zeros((H, H), dtype=dtype),
        np.zeros(H, dtype=dtype),
        np.zeros((O, H), dtype=dtype),
        np.zeros(O, dtype=dtype),
    )
    kernel(grad_y, x, h0, h, W_ih, W_hh, V, relu, grad_h_last, *grads)
    return grads


def _check_weights(x, h0, W_ih, W_hh):
    """``N, T, D, H`` from the sequences, with ``W_ih (H, D)`` and ``W_hh (H, H)`` checked."""
    N, T, D, H = _sequence_sizes(x, h0)
    src_h = f"H = {H} from h0.shape[1]"
    check_shape(W_ih, "W_ih", "(H, D)", (H, D), f"{src_h}, D = {D} from x.shape[2]")
    check_shape(W_hh, "W_hh", "(H, H)", (H, H), src_h)
    return N, T, D, H


def _output_size(V, H):
    check_ndim(V, "V", 2, "(O, H)")
    check_nonempty(V, "V")
    O = V.shape[0]
    check_shape(V, "V", "(O, H)", (O, H), f"O = {O} from V.shape[0], H = {H} from h0.shape[1]")
    return O


@renamed_kwargs(**_RENAMED)
def rnn_forward(x, h0, W_ih, W_hh, b, V, c, activation="tanh", *, reference=False):
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
    W_ih : array_like, shape (H, D)
        Input-to-hidden weights, the lecture's :math:`U` (formerly the keyword ``U``).
    W_hh : array_like, shape (H, H)
        Hidden-to-hidden (recurrent) weights, the lecture's :math:`W`
        (formerly the keyword ``W``).
    b : array_like, shape (H,)
        Hidden bias.
    V : array_like, shape (O, H)
        Hidden-to-output weights.
    c : array_like, shape (O,)
        Output bias.
    activation : {"tanh", "relu"}, default "tanh"
        The hidden activation :math:`\\phi`.
    reference : bool, default False
        Run :func:`numbacnn.kernels.rnn.rnn_forward_reference` (the equations
        index for index, with ``np.tanh``) instead of the fast kernel; same
        validation, dtypes and shapes, values equal to round-off.

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
    (what runs unless ``reference=True``; the tests prove both equal).  See :doc:`/theory/rnn`.

    Examples
    --------
    >>> import numpy as np
    >>> from numbacnn.functional import rnn_forward
    >>> rng = np.random.default_rng(0)
    >>> N, T, D, H, O = 2, 5, 3, 4, 1
    >>> x = rng.normal(size=(N, T, D))
    >>> W_ih, W_hh = rng.normal(size=(H, D)), rng.normal(size=(H, H))
    >>> V = rng.normal(size=(O, H))
    >>> h, y = rnn_forward(x, np.zeros((N, H)), W_ih, W_hh, np.zeros(H), V, np.zeros(O))
    >>> h.shape, y.shape
    ((2, 5, 4), (2, 5, 1))
    >>> bool(np.allclose(h[:, 0], np.tanh(x[:, 0] @ W_ih.T)))
    True
    """
    relu = _is_relu(activation)
    reference = check_bool(reference, "reference")
    dtype = common_float_dtype(x, h0, W_ih, W_hh, b, V, c)
    x, h0, W_ih, W_hh, b, V, c = _convert(
        [("x", x), ("h0", h0), ("W_ih", W_ih), ("W_hh", W_hh), ("b", b), ("V", V), ("c", c)],
        dtype,
    )
    N, T, D, H = _check_weights(x, h0, W_ih, W_hh)
    check_shape(b, "b", "(H,)", (H,), f"H = {H} from h0.shape[1]")
    O = _output_size(V, H)
    check_shape(c, "c", "(O,)", (O,), f"O = {O} from V.shape[0]")
    kernel = _rnn.rnn_forward_reference if reference else _rnn.rnn_forward_fast
    return _rnn_forward(x, h0, W_ih, W_hh, b, V, c, relu, kernel)


@renamed_kwargs(**_RENAMED)
def rnn_backward(grad_y, x, h0, h, W_ih, W_hh, V, grad_h_last=None, activation="tanh", *,
                 reference=False):
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
    W_ih : array_like, shape (H, D)
    W_hh : array_like, shape (H, H)
    V : array_like, shape (O, H)
        The weights of the forward pass (``W_ih``, ``W_hh``: the lecture's
        :math:`U`, :math:`W`, formerly the keywords ``U``, ``W``).
    grad_h_last : array_like, shape (N, H), optional
        Extra gradient on the last hidden state :math:`h^{(T)}` (for models
        that read only the final state); None means zeros.
    activation : {"tanh", "relu"}, default "tanh"
        The hidden activation of the forward pass.
    reference : bool, default False
        Run :func:`numbacnn.kernels.rnn.rnn_backward_reference` instead of the
        fast kernel; values equal to round-off.

    Returns
    -------
    grad_x : ndarray, shape (N, T, D)
    grad_h0 : ndarray, shape (N, H)
    grad_W_ih : ndarray, shape (H, D)
        :math:`\\nabla_U`.
    grad_W_hh : ndarray, shape (H, H)
        :math:`\\nabla_W`.
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
    >>> W_ih, W_hh = rng.normal(size=(H, D)), 0.5 * rng.normal(size=(H, H))
    >>> b, V, c = np.zeros(H), np.zeros((1, H)), np.zeros(1)
    >>> h, y = rnn_forward(x, h0, W_ih, W_hh, b, V, c)
    >>> gy = np.zeros_like(y)
    >>> grads = rnn_backward(gy, x, h0, h, W_ih, W_hh, V, grad_h_last=np.ones((N, H)))
    >>> [g.shape for g in grads]
    [(3, 6, 2), (3, 5), (5, 2), (5, 5), (5,), (1, 5), (1,)]
    """
    relu = _is_relu(activation)
    reference = check_bool(reference, "reference")
    dtype = common_float_dtype(grad_y, x, h0, h, W_ih, W_hh, V, grad_h_last)
    grad_y, x, h0, h, W_ih, W_hh, V = _convert(
        [("grad_y", grad_y), ("x", x), ("h0", h0), ("h", h), ("W_ih", W_ih), ("W_hh", W_hh),
         ("V", V)],
        dtype,
    )
    N, T, D, H = _check_weights(x, h0, W_ih, W_hh)
    O = _output_size(V, H)
    src_h = f"H = {H} from h0.shape[1]"
    src_nt = f"N, T = {N}, {T} from x.shape[:2]"
    check_shape(h, "h", "(N, T, H)", (N, T, H), f"{src_nt}, {src_h}")
    check_shape(grad_y, "grad_y", "(N, T, O)", (N, T, O), f"{src_nt}, O = {O} from V.shape[0]")
    grad_h_last = _optional_zeros(
        grad_h_last, "grad_h_last", (N, H), dtype, "(N, H)",
        f"N = {N} from x.shape[0], {src_h}",
    )
    kernel = _rnn.rnn_backward_reference if reference else _rnn.rnn_backward_fast
    return _rnn_backward(grad_y, x, h0, h, W_ih, W_hh, V, grad_h_last, relu, kernel)


@renamed_kwargs(**_RENAMED)
def rnn_gradient_norms(x, h0, W_ih, W_hh, b, ord=2, activation="tanh"):
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
    W_ih : array_like, shape (H, D)
    W_hh : array_like, shape (H, H)
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
        Non-finite values are reported, not raised: where a NaN in the
        arguments reaches a sequence's Jacobian its norm is NaN, where an
        infinity does (and no NaN) the norm is inf.

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
    >>> W_hh = 0.5 * np.eye(H)
    >>> norms = rnn_gradient_norms(np.zeros((1, T, 1)), np.zeros((1, H)),
    ...                            np.zeros((H, 1)), W_hh, np.zeros(H))
    >>> norms.shape
    (1, 11)
    >>> bool(np.allclose(norms[0], 0.5 ** np.arange(T + 1)))
    True
    """
    _check_ord(ord)
    relu = _is_relu(activation)
    dtype = common_float_dtype(x, h0, W_ih, W_hh, b)
    x, h0, W_ih, W_hh, b = _convert(
        [("x", x), ("h0", h0), ("W_ih", W_ih), ("W_hh", W_hh), ("b", b)], dtype
    )
    N, T, D, H = _check_weights(x, h0, W_ih, W_hh)
    check_shape(b, "b", "(H,)", (H,), f"H = {H} from h0.shape[1]")
    # no output layer: O = 0
    h, _ = _rnn_forward(x, h0, W_ih, W_hh, b, np.zeros((0, H), dtype), np.zeros(0, dtype), relu)
    norms = np.empty((N, T + 1), dtype=dtype)
    jac = np.broadcast_to(np.eye(H, dtype=dtype), (N, H, H)).copy()
    norms[:, 0] = _matrix_norms(jac, ord)
    nxt = np.empty_like(jac)
    for s in range(1, T + 1):
        _rnn.rnn_jacobian_step(jac, np.ascontiguousarray(h[:, T - s]), W_hh, relu, nxt)
        jac, nxt = nxt, jac
        norms[:, s] = _matrix_norms(jac, ord)
    return norms
