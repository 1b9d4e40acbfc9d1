"""Checks and helpers shared by the simple RNN, LSTM and GRU functions.

Sequences are batch-first: ``x`` has shape ``(N, T, D)`` (N sequences of T
steps of D features), hidden states ``(N, T, H)``.  Each public function
validates its arguments once, converts them to one float dtype (float32 only
if every array is float32, otherwise float64) and calls a private entry that
allocates fresh outputs and runs a loop kernel; the recurrent layers call
those private entries directly.  Inputs are never written to.

Time is 0-based in the arrays: ``h[:, t]`` is the lecture's
:math:`h^{(t+1)}`, and ``h0`` is :math:`h^{(0)}`.

The functions run the *fast* kernels, which the tests prove equal to the
*reference* kernels (the equations index for index); ``reference=True``
runs the reference kernels instead.  The fast kernels
evaluate :math:`\\tanh` and :math:`\\sigma` with branch-free formulas so that
their loops vectorize: in float32 a rational approximation good to a few
ulps (relative error below 3.5e-7 for ``tanh``, absolute below 2e-7 for
:math:`\\sigma`), in float64 one ``exp`` each (absolute error about 2e-16).
See :func:`numbacnn.kernels._math.tanh_fast`.  NaN and infinities propagate as
in PyTorch, forward and backward, in both dtypes (:mod:`numbacnn.kernels._math`
gives the special values of the activations).

The public weight names say which side of the cell a matrix acts on:
``W_ih`` (input to hidden) and ``W_hh`` (hidden to hidden), torch's names.
The kernels keep the lecture's letters; :doc:`/conventions` has the table.
"""

import numpy as np

from .._validation import as_float_array, check_ndim, check_nonempty, check_shape

__all__ = []


def _convert(named, dtype):
    """``as_float_array`` for each ``(name, value)`` pair, all in ``dtype``."""
    return [as_float_array(value, name, dtype) for name, value in named]


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
    check_shape(arr, name, layout, shape, where)
    return arr


def _check_ord(ord):
    if ord not in (2, "fro"):
        raise ValueError(f"ord must be 2 or 'fro'; got {ord!r}")


def _matrix_norms(jac, ord):
    """Norm of each ``(H, H)`` matrix in ``jac (N, H, H)``.

    A matrix holding a NaN has norm NaN, one holding an infinity (and no NaN)
    norm inf, for both ``ord``; the SVD behind ``ord=2`` only sees finite
    matrices (LAPACK fails on the others).
    """
    if ord == "fro":
        return np.sqrt(np.einsum("nij,nij->n", jac, jac))
    finite = np.isfinite(jac).all(axis=(1, 2))
    if finite.all():
        return np.linalg.norm(jac, ord=2, axis=(1, 2))
    norms = np.where(np.isnan(jac).any(axis=(1, 2)), np.nan, np.inf).astype(jac.dtype)
    if finite.any():
        norms[finite] = np.linalg.norm(jac[finite], ord=2, axis=(1, 2))
    return norms


def _is_relu(activation):
    """Validate the hidden activation of the simple RNN; True for ReLU, False for tanh."""
    if activation not in ("tanh", "relu"):
        raise ValueError(f"activation must be 'tanh' or 'relu'; got {activation!r}")
    return activation == "relu"
