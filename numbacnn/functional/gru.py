"""The GRU as functions: forward pass and backpropagation through time.

See :mod:`numbacnn.functional._recurrent` for the conventions shared by the
recurrent functions, and :doc:`/theory/lstm`.
"""

import numpy as np

from .._deprecation import renamed_kwargs
from .._validation import check_bool, check_shape, common_float_dtype
from ..kernels import gru as _gru
from ._recurrent import _convert, _sequence_sizes

__all__ = ["gru_forward", "gru_backward"]

_RENAMED = {"W": "W_ih", "U": "W_hh", "b_w": "b_ih", "b_u": "b_hh"}


def _gru_forward(x, h0, W_ih, W_hh, b_ih, b_hh, kernel=_gru.gru_forward_fast):
    """Forward pass on checked C-contiguous arrays of one float dtype, no validation.

    ``kernel`` is :func:`~numbacnn.kernels.gru.gru_forward_fast` or its
    reference twin (same signature).
    """
    N, T, _ = x.shape
    H = h0.shape[1]
    h = np.empty((N, T, H), dtype=x.dtype)
    gates = np.empty((N, T, 3 * H), dtype=x.dtype)
    kernel(x, h0, W_ih, W_hh, b_ih, b_hh, h, gates)
    return h, gates


def _gru_backward(grad_h, x, h0, W_ih, W_hh, b_ih, b_hh, h, gates,
                  kernel=_gru.gru_backward_fast):
    """BPTT on checked arrays (as in :func:`_gru_forward`)."""
    N, T, D = x.shape
    H = h0.shape[1]
    dtype = x.dtype
    grads = (
        np.zeros((N, T, D), dtype=dtype),
        np.zeros((N, H), dtype=dtype),
        np.zeros((3 * H, D), dtype=dtype),
        np.zeros((3 * H, H), dtype=dtype),
        np.zeros(3 * H, dtype=dtype),
        np.zeros(3 * H, dtype=dtype),
    )
    kernel(grad_h, x, h0, W_ih, W_hh, b_ih, b_hh, h, gates, *grads)
    return grads


def _gru_check(x, h0, W_ih, W_hh, b_ih, b_hh):
    N, T, D, H = _sequence_sizes(x, h0)
    src_h = f"H = {H} from h0.shape[1]"
    check_shape(W_ih, "W_ih", "(3H, D)", (3 * H, D), f"{src_h}, D = {D} from x.shape[2]")
    check_shape(W_hh, "W_hh", "(3H, H)", (3 * H, H), src_h)
    check_shape(b_ih, "b_ih", "(3H,)", (3 * H,), src_h)
    check_shape(b_hh, "b_hh", "(3H,)", (3 * H,), src_h)
    return N, T, D, H


@renamed_kwargs(**_RENAMED)
def gru_forward(x, h0, W_ih, W_hh, b_ih, b_hh, *, reference=False):
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
    W_ih : array_like, shape (3H, D)
        Input weights :math:`W`, blocks ``r, z, n`` (torch's ``weight_ih_l0``;
        formerly the keyword ``W``).
    W_hh : array_like, shape (3H, H)
        Recurrent weights :math:`U`, blocks ``r, z, n`` (torch's
        ``weight_hh_l0``; formerly the keyword ``U``).
    b_ih, b_hh : array_like, shape (3H,)
        Input-side and recurrent-side biases :math:`b_w`, :math:`b_u` (torch's
        ``bias_ih_l0``, ``bias_hh_l0``; formerly the keywords ``b_w``, ``b_u``);
        they differ only in the ``n`` block, where ``b_hh`` sits inside the
        reset gate's product.
    reference : bool, default False
        Run :func:`numbacnn.kernels.gru.gru_forward_reference` (the equations
        index for index, with ``np.tanh``) instead of the fast kernel; same
        validation, dtypes and shapes, values equal to round-off.

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
    >>> b_ih = np.concatenate([np.zeros(H), np.full(H, 40.0), np.zeros(H)])
    >>> h0 = np.array([[0.3, -0.2, 0.9]])
    >>> x = np.random.default_rng(0).normal(size=(N, T, D))
    >>> h, gates = gru_forward(x, h0, np.ones((3 * H, D)), np.ones((3 * H, H)),
    ...                        b_ih, np.zeros(3 * H))
    >>> bool(np.allclose(h[0, -1], h0[0]))
    True
    """
    reference = check_bool(reference, "reference")
    dtype = common_float_dtype(x, h0, W_ih, W_hh, b_ih, b_hh)
    x, h0, W_ih, W_hh, b_ih, b_hh = _convert(
        [("x", x), ("h0", h0), ("W_ih", W_ih), ("W_hh", W_hh), ("b_ih", b_ih),
         ("b_hh", b_hh)],
        dtype,
    )
    _gru_check(x, h0, W_ih, W_hh, b_ih, b_hh)
    kernel = _gru.gru_forward_reference if reference else _gru.gru_forward_fast
    return _gru_forward(x, h0, W_ih, W_hh, b_ih, b_hh, kernel)


@renamed_kwargs(**_RENAMED)
def gru_backward(grad_h, x, h0, W_ih, W_hh, b_ih, b_hh, h, gates, *, reference=False):
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
    :math:`x^{(t)}` (for ``W_ih``, ``b_ih``) and :math:`h^{(t-1)}` (for ``W_hh``, ``b_hh``).

    Parameters
    ----------
    grad_h : array_like, shape (N, T, H)
        Loss gradient on every hidden output.
    x, h0, W_ih, W_hh, b_ih, b_hh : array_like
        Arguments of :func:`gru_forward`.
    h, gates : array_like
        Outputs of :func:`gru_forward`.
    reference : bool, default False
        Run :func:`numbacnn.kernels.gru.gru_backward_reference` instead of the
        fast kernel; values equal to round-off.

    Returns
    -------
    grad_x : ndarray, shape (N, T, D)
    grad_h0 : ndarray, shape (N, H)
    grad_W_ih : ndarray, shape (3H, D)
    grad_W_hh : ndarray, shape (3H, H)
    grad_b_ih : ndarray, shape (3H,)
    grad_b_hh : ndarray, shape (3H,)

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
    >>> W_ih, W_hh = rng.normal(size=(3 * H, D)), rng.normal(size=(3 * H, H))
    >>> b_ih, b_hh = np.zeros(3 * H), np.zeros(3 * H)
    >>> h, gates = gru_forward(x, h0, W_ih, W_hh, b_ih, b_hh)
    >>> grads = gru_backward(np.ones_like(h), x, h0, W_ih, W_hh, b_ih, b_hh, h, gates)
    >>> [g.shape for g in grads]
    [(2, 4, 3), (2, 5), (15, 3), (15, 5), (15,), (15,)]
    """
    reference = check_bool(reference, "reference")
    dtype = common_float_dtype(grad_h, x, h0, W_ih, W_hh, b_ih, b_hh, h, gates)
    grad_h, x, h0, W_ih, W_hh, b_ih, b_hh, h, gates = _convert(
        [("grad_h", grad_h), ("x", x), ("h0", h0), ("W_ih", W_ih), ("W_hh", W_hh),
         ("b_ih", b_ih), ("b_hh", b_hh), ("h", h), ("gates", gates)],
        dtype,
    )
    N, T, D, H = _gru_check(x, h0, W_ih, W_hh, b_ih, b_hh)
    src_nth = f"N, T = {N}, {T} from x.shape[:2], H = {H} from h0.shape[1]"
    check_shape(grad_h, "grad_h", "(N, T, H)", (N, T, H), src_nth)
    check_shape(h, "h", "(N, T, H)", (N, T, H), src_nth)
    check_shape(gates, "gates", "(N, T, 3H)", (N, T, 3 * H), src_nth)
    kernel = _gru.gru_backward_reference if reference else _gru.gru_backward_fast
    return _gru_backward(grad_h, x, h0, W_ih, W_hh, b_ih, b_hh, h, gates, kernel)
