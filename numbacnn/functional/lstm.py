"""The LSTM as functions: forward, backpropagation through time, cell-state gradient norms.

See :mod:`numbacnn.functional._recurrent` for the conventions shared by the
recurrent functions, and :doc:`/theory/lstm`.
"""

import numpy as np

from .._deprecation import renamed_kwargs
from .._validation import as_float_array, check_bool, check_shape, common_float_dtype
from ..kernels import lstm as _lstm
from ._blas import one_blas_thread
from ._recurrent import _check_ord, _convert, _matrix_norms, _optional_zeros, _sequence_sizes

__all__ = ["lstm_forward", "lstm_backward", "lstm_gradient_norms"]

_RENAMED = {"W": "W_ih", "U": "W_hh"}


def _lstm_forward(x, h0, c0, W_ih, W_hh, b, kernel=_lstm.lstm_forward_fast):
    """Forward pass on checked C-contiguous arrays of one float dtype, no validation.

    ``kernel`` is :func:`~numbacnn.kernels.lstm.lstm_forward_fast` or its
    reference twin (same signature).  The fast kernel calls BLAS from numba's
    threads, so BLAS is held at one thread meanwhile.
    """
    N, T, _ = x.shape
    H = h0.shape[1]
    h = np.empty((N, T, H), dtype=x.dtype)
    c = np.empty((N, T, H), dtype=x.dtype)
    gates = np.empty((N, T, 4 * H), dtype=x.dtype)
    with one_blas_thread():
        kernel(x, h0, c0, W_ih, W_hh, b, h, c, gates)
    return h, c, gates


def _lstm_backward(grad_h, x, h0, c0, W_ih, W_hh, h, c, gates, grad_c_last,
                   kernel=_lstm.lstm_backward_fast):
    """BPTT on checked arrays (as in :func:`_lstm_forward`); ``grad_c_last`` is an array.

    BLAS held at one thread, as in :func:`_lstm_forward`.
    """
    N, T, D = x.shape
    H = h0.shape[1]
    dtype = x.dtype
    grads = (
        np.zeros((N, T, D), dtype=dtype),
        np.zeros((N, H), dtype=dtype),
        np.zeros((N, H), dtype=dtype),
        np.zeros((4 * H, D), dtype=dtype),
        np.zeros((4 * H, H), dtype=dtype),
        np.zeros(4 * H, dtype=dtype),
    )
    with one_blas_thread():
        kernel(grad_h, x, h0, c0, W_ih, W_hh, h, c, gates, grad_c_last, *grads)
    return grads


def _lstm_check(x, h0, c0, W_ih, W_hh):
    N, T, D, H = _sequence_sizes(x, h0)
    src_h = f"H = {H} from h0.shape[1]"
    check_shape(c0, "c0", "(N, H)", (N, H), f"N = {N} from x.shape[0], {src_h}")
    check_shape(W_ih, "W_ih", "(4H, D)", (4 * H, D), f"{src_h}, D = {D} from x.shape[2]")
    check_shape(W_hh, "W_hh", "(4H, H)", (4 * H, H), src_h)
    return N, T, D, H


@renamed_kwargs(**_RENAMED)
def lstm_forward(x, h0, c0, W_ih, W_hh, b, *, reference=False):
    """Forward pass of the LSTM (gates stacked input, forget, candidate, output).

    .. math::

        i^{(t)} &= \\sigma(W_i x^{(t)} + U_i h^{(t-1)} + b_i), &
        f^{(t)} &= \\sigma(W_f x^{(t)} + U_f h^{(t-1)} + b_f), \\\\
        g^{(t)} &= \\tanh(W_g x^{(t)} + U_g h^{(t-1)} + b_g), &
        o^{(t)} &= \\sigma(W_o x^{(t)} + U_o h^{(t-1)} + b_o), \\\\
        c^{(t)} &= f^{(t)} \\odot c^{(t-1)} + i^{(t)} \\odot g^{(t)}, &
        h^{(t)} &= o^{(t)} \\odot \\tanh(c^{(t)}),

    :math:`g` being the lecture's candidate :math:`\\tilde c`.  The blocks
    ``i, f, g, o`` are stacked in that order along the first axis of ``W_ih``,
    ``W_hh``, ``b`` (torch.nn.LSTM's layout with ``b = b_ih + b_hh``).

    Parameters
    ----------
    x : array_like, shape (N, T, D)
        Input sequences, batch first.
    h0, c0 : array_like, shape (N, H)
        Initial hidden and cell states.
    W_ih : array_like, shape (4H, D)
        Input weights of the four gates, the lecture's :math:`W_\\ast`
        (formerly the keyword ``W``; torch's ``weight_ih_l0``).
    W_hh : array_like, shape (4H, H)
        Recurrent weights of the four gates, the lecture's :math:`U_\\ast`
        (formerly the keyword ``U``; torch's ``weight_hh_l0``).
    b : array_like, shape (4H,)
        Gate biases.
    reference : bool, default False
        Run :func:`numbacnn.kernels.lstm.lstm_forward_reference` (the
        equations index for index, with ``np.tanh``) instead of the fast
        kernel; same validation, dtypes and shapes, values equal to round-off.

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
    reference = check_bool(reference, "reference")
    dtype = common_float_dtype(x, h0, c0, W_ih, W_hh, b)
    x, h0, c0, W_ih, W_hh, b = _convert(
        [("x", x), ("h0", h0), ("c0", c0), ("W_ih", W_ih), ("W_hh", W_hh), ("b", b)], dtype
    )
    N, T, D, H = _lstm_check(x, h0, c0, W_ih, W_hh)
    check_shape(b, "b", "(4H,)", (4 * H,), f"H = {H} from h0.shape[1]")
    kernel = _lstm.lstm_forward_reference if reference else _lstm.lstm_forward_fast
    return _lstm_forward(x, h0, c0, W_ih, W_hh, b, kernel)


@renamed_kwargs(**_RENAMED)
def lstm_backward(grad_h, x, h0, c0, W_ih, W_hh, h, c, gates, grad_c_last=None, *,
                  reference=False):
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
    x, h0, c0, W_ih, W_hh : array_like
        Arguments of :func:`lstm_forward`.
    h, c, gates : array_like
        Outputs of :func:`lstm_forward`.
    grad_c_last : array_like, shape (N, H), optional
        Extra gradient on the last cell state :math:`c^{(T)}`; None means zeros.
    reference : bool, default False
        Run :func:`numbacnn.kernels.lstm.lstm_backward_reference` instead of
        the fast kernel; values equal to round-off.

    Returns
    -------
    grad_x : ndarray, shape (N, T, D)
    grad_h0 : ndarray, shape (N, H)
    grad_c0 : ndarray, shape (N, H)
    grad_W_ih : ndarray, shape (4H, D)
        :math:`\\nabla_W`.
    grad_W_hh : ndarray, shape (4H, H)
        :math:`\\nabla_U`.
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
    >>> W_ih, W_hh = rng.normal(size=(4 * H, D)), rng.normal(size=(4 * H, H))
    >>> h, c, gates = lstm_forward(x, h0, c0, W_ih, W_hh, np.zeros(4 * H))
    >>> grads = lstm_backward(np.ones_like(h), x, h0, c0, W_ih, W_hh, h, c, gates)
    >>> [g.shape for g in grads]
    [(2, 4, 3), (2, 5), (2, 5), (20, 3), (20, 5), (20,)]
    """
    reference = check_bool(reference, "reference")
    dtype = common_float_dtype(grad_h, x, h0, c0, W_ih, W_hh, h, c, gates, grad_c_last)
    grad_h, x, h0, c0, W_ih, W_hh, h, c, gates = _convert(
        [("grad_h", grad_h), ("x", x), ("h0", h0), ("c0", c0), ("W_ih", W_ih),
         ("W_hh", W_hh), ("h", h), ("c", c), ("gates", gates)],
        dtype,
    )
    N, T, D, H = _lstm_check(x, h0, c0, W_ih, W_hh)
    src_h = f"H = {H} from h0.shape[1]"
    src_nth = f"N, T = {N}, {T} from x.shape[:2], {src_h}"
    check_shape(grad_h, "grad_h", "(N, T, H)", (N, T, H), src_nth)
    check_shape(h, "h", "(N, T, H)", (N, T, H), src_nth)
    check_shape(c, "c", "(N, T, H)", (N, T, H), src_nth)
    check_shape(gates, "gates", "(N, T, 4H)", (N, T, 4 * H), src_nth)
    grad_c_last = _optional_zeros(
        grad_c_last, "grad_c_last", (N, H), dtype, "(N, H)",
        f"N = {N} from x.shape[0], {src_h}",
    )
    kernel = _lstm.lstm_backward_reference if reference else _lstm.lstm_backward_fast
    return _lstm_backward(grad_h, x, h0, c0, W_ih, W_hh, h, c, gates, grad_c_last, kernel)


@renamed_kwargs(**_RENAMED)
def lstm_gradient_norms(x, h0, c0, W_ih, W_hh, b, ord=2):
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
    x, h0, c0, W_ih, W_hh, b : array_like
        As in :func:`lstm_forward`.
    ord : {2, 'fro'}, default 2
        Spectral or Frobenius norm.

    Returns
    -------
    norms : ndarray, shape (N, T + 1)
        ``norms[n, s]`` :math:`= \\lVert \\partial c^{(T)}/\\partial c^{(T-s)} \\rVert`.
        Non-finite values are reported, not raised: where a NaN in the
        arguments reaches a sequence's Jacobian its norm is NaN, where an
        infinity does (and no NaN) the norm is inf.

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
    h, c, gates = lstm_forward(x, h0, c0, W_ih, W_hh, b)
    dtype = h.dtype
    c0 = as_float_array(c0, "c0", dtype)
    W_hh = as_float_array(W_hh, "W_hh", dtype)
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
            W_hh, nxt,
        )
        jac, nxt = nxt, jac
        norms[:, s] = _matrix_norms(np.ascontiguousarray(jac[:, H:, H:]), ord)
    return norms
