"""Scalar and loop building blocks shared by the recurrent kernels.

The fast RNN, LSTM and GRU kernels evaluate :math:`\\tanh` and :math:`\\sigma`
with branch-free formulas so that their loops vectorize; the RNN and GRU
kernels multiply matrices by vectors through :func:`add_mat_t_vec` and sum
their weight gradients with :func:`weight_gradients_fast` (the LSTM kernels
multiply whole work items of sequences in BLAS instead).  Those pieces live
here, once, and each model's kernel module imports them (no model kernel
imports another model's module).

The scalar functions take ``one`` (``1`` in the dtype of the calling kernel's
arrays) so that float32 stays float32; ``single`` is ``x.itemsize == 4`` of
the caller, a compile-time constant.  The two loops accumulate into the output
arrays they are given and return nothing.
"""

import numpy as np

from ._jit import jit, pjit, prange

__all__ = [
    "tanh_rational32",
    "tanh_exp",
    "tanh_fast",
    "sigmoid",
    "sigmoid_fast",
    "relu",
    "relu_grad",
    "add_mat_t_vec",
    "weight_gradients_fast",
]


@jit
def tanh_rational32(a, one):
    """:math:`\\tanh a` in float32 as a rational function, no ``exp``, no branch.

    ``x * P(x^2) / Q(x^2)`` with ``x`` clamped to :math:`\\pm 7.9053`, where
    the float32 result is :math:`\\pm 1`; the coefficients are the minimax fit
    used by Eigen's vectorized float ``tanh``.  Measured error against
    ``np.tanh`` in float64: below 3.5e-7 relative over the whole line (a few
    float32 ulps).  Only mul/add/div/compare, so the loops that call it
    vectorize.  ``np.divide`` rather than ``/``: numba's ``/`` checks for
    division by zero, and that branch stops LLVM from vectorizing the loop.
    """
    clamp = one * np.float32(7.90531110763549805)
    x = clamp if a > clamp else a  # comparisons written so that NaN stays NaN
    x = -clamp if x < -clamp else x
    x2 = x * x
    p = x2 * (one * np.float32(-2.76076847742355e-16)) + one * np.float32(2.00018790482477e-13)
    p = x2 * p + one * np.float32(-8.60467152213735e-11)
    p = x2 * p + one * np.float32(5.12229709037114e-08)
    p = x2 * p + one * np.float32(1.48572235717979e-05)
    p = x2 * p + one * np.float32(6.37261928875436e-04)
    p = x2 * p + one * np.float32(4.89352455891786e-03)
    q = x2 * (one * np.float32(1.19825839466702e-06)) + one * np.float32(1.18534705686654e-04)
    q = x2 * q + one * np.float32(2.26843463243900e-03)
    q = x2 * q + one * np.float32(4.89352518554385e-03)
    return np.divide(x * p, q)


@jit
def tanh_exp(a, one):
    """:math:`\\tanh a = \\operatorname{sign}(a)\\,(1 - e^{-2|a|})/(1 + e^{-2|a|})`.

    One ``exp`` (several times cheaper than libm's ``tanh``), never overflows.
    Its error is a few ulps *of 1* (about 2e-16 in float64), not relative to
    :math:`\\tanh a`, so tiny arguments lose relative accuracy.
    """
    e = np.exp(-(one + one) * abs(a))
    t = np.divide(one - e, one + e)
    return t if a >= 0 else -t


@jit
def tanh_fast(a, one, single):
    """The fast kernels' ``tanh``: :func:`tanh_rational32` if ``single`` else :func:`tanh_exp`.

    ``single`` is ``x.itemsize == 4`` of the calling kernel's arrays, a
    compile-time constant, so LLVM keeps only one branch.  The float32
    rational form vectorizes (no ``exp`` call), the float64 form is accurate
    to about 2e-16 absolute.  The tests compare the fast kernels with the
    reference ones (``np.tanh``) within these accuracies.
    """
    if single:
        return tanh_rational32(a, one)
    return tanh_exp(a, one)


@jit
def sigmoid(a, one):
    """Logistic function :math:`1/(1 + e^{-a})` without overflow for large ``|a|``.

    ``one`` is ``1`` in the dtype of ``a`` (numba would otherwise promote a
    float32 ``a`` to float64).
    """
    if a >= 0:
        return one / (one + np.exp(-a))
    e = np.exp(a)
    return e / (one + e)


@jit
def sigmoid_fast(a, one, single):
    """The fast kernels' logistic function, without branches.

    float32 (``single``): :math:`\\sigma(a) = \\tfrac12 + \\tfrac12\\tanh(a/2)` with
    :func:`tanh_rational32` (vectorizes; absolute error
    below 2e-7).  float64: :math:`1/(1 + e^{-a})`, its error about 2e-16.
    Both give ``nan`` for ``nan``, exactly 1 for ``+inf`` and exactly 0 for
    ``-inf``, as :func:`sigmoid` and torch do.
    """
    if single:
        half = one * np.float32(0.5)
        return half + half * tanh_rational32(half * a, one)
    # exp(709) is finite: clamping finite a <= -709 keeps plain-Python runs
    # (NUMBA_DISABLE_JIT) free of overflow warnings and changes the result by
    # less than 1e-307.  NaN and -inf are not clamped: NaN gives NaN and
    # -inf gives exp(inf) = inf, so exactly 0 (torch's sigmoid(nan), sigmoid(-inf)).
    clamp = (a <= -709.0) & (a > -np.inf)  # '&', not 'and': no branch, the loop vectorizes
    m = 709.0 if clamp else -a
    return np.divide(one, one + np.exp(m))


@jit
def relu(a, zero):
    """:math:`\\max(a, 0)` that keeps NaN: ``zero`` if ``a < 0`` else ``a``.

    Equal to numba's ``max(a, zero)`` for every non-NaN ``a`` (``-0.0`` stays
    ``-0.0``), but ``relu(nan) = nan`` as in torch, where ``max(nan, 0)``
    would give 0.  A compare and a select, so loops over it vectorize.
    """
    return zero if a < zero else a


@jit
def relu_grad(h, one, zero):
    """The ReLU's derivative written through its output ``h``: 0 where ``h <= 0``, else 1.

    Equal to :math:`[h > 0]` for every non-NaN ``h``; at ``h = nan`` it is 1,
    so the incoming gradient passes on unchanged, as torch's
    ``threshold_backward`` does.
    """
    return zero if h <= zero else one


@jit
def add_mat_t_vec(M, v, out):
    """``out += M.T @ v``, written as a sum of scaled rows of ``M``.

    ``M (R, C)``, ``v (R,)``, ``out (C,)``.  The innermost loop runs over a
    contiguous row with no reduction, so LLVM vectorizes it without
    ``fastmath``; four rows per pass cut the loads and stores of ``out``
    fourfold.  The fast RNN and GRU kernels' matrix-vector products go through
    here (with a transposed copy of the weights where ``M @ v`` is wanted).
    """
    R, C = M.shape
    R4 = R - R % 4
    for r in range(0, R4, 4):
        v0 = v[r]
        v1 = v[r + 1]
        v2 = v[r + 2]
        v3 = v[r + 3]
        for j in range(C):
            out[j] += M[r, j] * v0 + M[r + 1, j] * v1 + M[r + 2, j] * v2 + M[r + 3, j] * v3
    for r in range(R4, R):
        v_r = v[r]
        for j in range(C):
            out[j] += M[r, j] * v_r


@pjit
def weight_gradients_fast(g_in, g_rec, x, h0, h, grad_in, grad_rec, grad_b_in, grad_b_rec):
    """The sums over sequences and steps that every recurrent weight gradient is.

    ``grad_in[r] += sum_{n,t} g_in[n, t, r] * x[n, t]``,
    ``grad_rec[r] += sum_{n,t} g_rec[n, t, r] * h_prev[n, t]`` (``h_prev`` is
    ``h0`` at ``t = 0`` and ``h[:, t - 1]`` after), ``grad_b_in[r] += sum g_in``,
    ``grad_b_rec[r] += sum g_rec``.  ``g_in``, ``g_rec`` are ``(N, T, R)``.

    ``prange`` over blocks of eight rows (no two threads touch the same
    element, and a block's rows stay in L1), and four steps per pass over a
    row (a quarter of the loads and stores of ``grad_rec``).
    """
    N, T, D = x.shape
    H = h0.shape[1]
    R = g_in.shape[2]
    RB = 8
    for blk in prange((R + RB - 1) // RB):
        r0 = blk * RB
        r1 = min(R, r0 + RB)
        for n in range(N):
            for r in range(r0, r1):
                gi = g_in[n, 0, r]
                gr = g_rec[n, 0, r]
                grad_b_in[r] += gi
                grad_b_rec[r] += gr
                for d in range(D):
                    grad_in[r, d] += gi * x[n, 0, d]
                for j in range(H):
                    grad_rec[r, j] += gr * h0[n, j]
            t = 1
            while t + 4 <= T:
                for r in range(r0, r1):
                    gi0 = g_in[n, t, r]
                    gi1 = g_in[n, t + 1, r]
                    gi2 = g_in[n, t + 2, r]
                    gi3 = g_in[n, t + 3, r]
                    gr0 = g_rec[n, t, r]
                    gr1 = g_rec[n, t + 1, r]
                    gr2 = g_rec[n, t + 2, r]
                    gr3 = g_rec[n, t + 3, r]
                    grad_b_in[r] += gi0 + gi1 + gi2 + gi3
                    grad_b_rec[r] += gr0 + gr1 + gr2 + gr3
                    for d in range(D):
                        grad_in[r, d] += (
                            gi0 * x[n, t, d]
                            + gi1 * x[n, t + 1, d]
                            + gi2 * x[n, t + 2, d]
                            + gi3 * x[n, t + 3, d]
                        )
                    for j in range(H):
                        grad_rec[r, j] += (
                            gr0 * h[n, t - 1, j]
                            + gr1 * h[n, t, j]
                            + gr2 * h[n, t + 1, j]
                            + gr3 * h[n, t + 2, j]
                        )
                t += 4
            while t < T:
                for r in range(r0, r1):
                    gi = g_in[n, t, r]
                    gr = g_rec[n, t, r]
                    grad_b_in[r] += gi
                    grad_b_rec[r] += gr
                    for d in range(D):
                        grad_in[r, d] += gi * x[n, t, d]
                    for j in range(H):
                        grad_rec[r, j] += gr * h[n, t - 1, j]
                t += 1
