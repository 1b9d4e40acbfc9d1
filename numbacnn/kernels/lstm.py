"""Long short-term memory (LSTM): forward pass and backpropagation through time.

The lecture's gates, for every sequence ``n`` and step ``t``, with
:math:`\\sigma` the logistic function and :math:`\\odot` the elementwise product:

.. math::

    i^{(t)} &= \\sigma(W_i x^{(t)} + U_i h^{(t-1)} + b_i), \\\\
    f^{(t)} &= \\sigma(W_f x^{(t)} + U_f h^{(t-1)} + b_f), \\\\
    g^{(t)} &= \\tanh(W_g x^{(t)} + U_g h^{(t-1)} + b_g), \\\\
    o^{(t)} &= \\sigma(W_o x^{(t)} + U_o h^{(t-1)} + b_o), \\\\
    c^{(t)} &= f^{(t)} \\odot c^{(t-1)} + i^{(t)} \\odot g^{(t)}, \\\\
    h^{(t)} &= o^{(t)} \\odot \\tanh(c^{(t)}).

:math:`g` is the lecture's candidate cell state :math:`\\tilde c`.  The four gate
blocks are stacked in the order ``i, f, g, o`` (torch.nn.LSTM's order): rows
``0:H`` of ``W (4H, D)``, ``U (4H, H)`` and ``b (4H,)`` belong to ``i``, rows
``H:2H`` to ``f``, and so on.  ``gates (N, T, 4H)`` stores the gates after
their activations, which is all the backward pass needs besides ``c``.

Kernels write into caller-allocated outputs; gradient outputs must arrive
filled with zeros.  Literals are in the arrays' dtype.

NaN and infinities propagate as in PyTorch, in both dtypes and in the
reference and fast kernels alike: :math:`\\sigma(\\text{nan}) = \\text{nan}`,
:math:`\\sigma(\\pm\\infty) = 1, 0` and :math:`\\tanh(\\pm\\infty) = \\pm 1` exactly
(see :mod:`numbacnn.kernels._math`); the rest is IEEE arithmetic.

See :doc:`/theory/lstm`.
"""

import numpy as np

from ._jit import jit, pjit, prange
from ._math import sigmoid, sigmoid_fast, tanh_fast

__all__ = [
    "lstm_forward_reference",
    "lstm_backward_reference",
    "lstm_forward_fast",
    "lstm_backward_fast",
    "lstm_jacobian_step",
]


@jit
def lstm_forward_reference(x, h0, c0, W, U, b, h, c, gates):
    """Fill ``h``, ``c`` ``(N, T, H)`` and ``gates`` ``(N, T, 4H)`` from the equations above."""
    N, T, D = x.shape
    H = h0.shape[1]
    one = x.dtype.type(1)
    z = np.empty_like(b)  # pre-activations of the four gates, stacked i, f, g, o
    for n in range(N):
        for t in range(T):
            # z = W x^(t) + U h^(t-1) + b for all 4H gate rows at once
            for r in range(4 * H):
                z_r = b[r]
                for d in range(D):
                    z_r += W[r, d] * x[n, t, d]
                for j in range(H):
                    h_prev_j = h0[n, j] if t == 0 else h[n, t - 1, j]
                    z_r += U[r, j] * h_prev_j
                z[r] = z_r
            for k in range(H):
                i_k = sigmoid(z[k], one)
                f_k = sigmoid(z[H + k], one)
                g_k = np.tanh(z[2 * H + k])
                o_k = sigmoid(z[3 * H + k], one)
                c_prev_k = c0[n, k] if t == 0 else c[n, t - 1, k]
                c[n, t, k] = f_k * c_prev_k + i_k * g_k
                h[n, t, k] = o_k * np.tanh(c[n, t, k])
                gates[n, t, k] = i_k
                gates[n, t, H + k] = f_k
                gates[n, t, 2 * H + k] = g_k
                gates[n, t, 3 * H + k] = o_k


@jit
def lstm_backward_reference(
    grad_h,
    x,
    h0,
    c0,
    W,
    U,
    h,
    c,
    gates,
    grad_c_last,
    grad_x,
    grad_h0,
    grad_c0,
    grad_W,
    grad_U,
    grad_b,
):
    """Backpropagation through time for the LSTM; ``grad_*`` outputs zero on entry.

    Going backwards in time, with ``dh`` :math:`=\\nabla_{h^{(t)}}\\mathcal L` (the
    loss gradient ``grad_h[n, t]`` plus what flows back from step ``t + 1``) and
    ``dc`` :math:`=\\nabla_{c^{(t)}}\\mathcal L`:

    .. math::

        \\nabla_{c^{(t)}} &= \\nabla_{c}^{\\text{from } t+1}
            + \\nabla_{h^{(t)}} \\odot o \\odot (1 - \\tanh^2 c^{(t)}), \\\\
        \\nabla_{z_i} &= \\nabla_{c^{(t)}} \\odot g \\odot i(1 - i), \\quad
        \\nabla_{z_f} = \\nabla_{c^{(t)}} \\odot c^{(t-1)} \\odot f(1 - f), \\\\
        \\nabla_{z_g} &= \\nabla_{c^{(t)}} \\odot i \\odot (1 - g^2), \\quad
        \\nabla_{z_o} = \\nabla_{h^{(t)}} \\odot \\tanh c^{(t)} \\odot o(1 - o), \\\\
        \\nabla_{c^{(t-1)}} &= \\nabla_{c^{(t)}} \\odot f, \\quad
        \\nabla_{h^{(t-1)}} \\mathrel{+}= U^T \\nabla_z, \\quad
        \\nabla_{x^{(t)}} = W^T \\nabla_z .
    """
    N, T, D = x.shape
    H = h0.shape[1]
    one = x.dtype.type(1)
    zero = x.dtype.type(0)
    grad_z = np.zeros_like(gates[0, 0])  # nabla of the 4H gate pre-activations
    dh_next = np.zeros_like(h0[0])  # U^T grad_z from step t + 1
    dc_next = np.zeros_like(h0[0])  # f^(t+1) * nabla_{c^(t+1)}
    for n in range(N):
        for k in range(H):
            dh_next[k] = zero
            dc_next[k] = grad_c_last[n, k]
        for t in range(T - 1, -1, -1):
            for k in range(H):
                i_k = gates[n, t, k]
                f_k = gates[n, t, H + k]
                g_k = gates[n, t, 2 * H + k]
                o_k = gates[n, t, 3 * H + k]
                tanh_c = np.tanh(c[n, t, k])
                c_prev_k = c0[n, k] if t == 0 else c[n, t - 1, k]
                dh = grad_h[n, t, k] + dh_next[k]
                dc = dc_next[k] + dh * o_k * (one - tanh_c * tanh_c)
                grad_z[k] = dc * g_k * i_k * (one - i_k)
                grad_z[H + k] = dc * c_prev_k * f_k * (one - f_k)
                grad_z[2 * H + k] = dc * i_k * (one - g_k * g_k)
                grad_z[3 * H + k] = dh * tanh_c * o_k * (one - o_k)
                dc_next[k] = dc * f_k
            # shared weights: one term per step, summed over t
            for r in range(4 * H):
                grad_b[r] += grad_z[r]
                for d in range(D):
                    grad_W[r, d] += grad_z[r] * x[n, t, d]
                for j in range(H):
                    h_prev_j = h0[n, j] if t == 0 else h[n, t - 1, j]
                    grad_U[r, j] += grad_z[r] * h_prev_j
            # nabla_{x^(t)} = W^T grad_z ;  nabla_{h^(t-1)} (recurrent part) = U^T grad_z
            for d in range(D):
                g_d = zero
                for r in range(4 * H):
                    g_d += W[r, d] * grad_z[r]
                grad_x[n, t, d] = g_d
            for j in range(H):
                g_j = zero
                for r in range(4 * H):
                    g_j += U[r, j] * grad_z[r]
                dh_next[j] = g_j
        for k in range(H):
            grad_h0[n, k] = dh_next[k]
            grad_c0[n, k] = dc_next[k]


# ----------------------------------------------------------------------------
# fast kernels
# ----------------------------------------------------------------------------


#: sequences per work item of the fast kernels; a constant (not derived from the
#: thread count), so the results do not depend on the number of threads
SEQUENCES_PER_ITEM = 8


@pjit
def lstm_forward_fast(x, h0, c0, W, U, b, h, c, gates):
    """Same result as :func:`lstm_forward_reference`, one matrix product per step and work item.

    The batch is split into work items of :data:`SEQUENCES_PER_ITEM`
    sequences (the last one shorter), ``prange`` over the items.  An item
    keeps the rows :math:`a_n = [h_n^{(t-1)}, x_n^{(t)}, 1]` of its ``m``
    sequences in ``A (m, H + D + 1)``, and each step computes the pre-activations
    of all of them with one BLAS product

    .. math::

        Z = A V, \\qquad V = [U\\; W\\; b]^T \\quad (H + D + 1, 4H),

    then the activations (the branch-free
    :func:`numbacnn.kernels._math.sigmoid_fast` and
    :func:`numbacnn.kernels._math.tanh_fast`) and the cell update sequence by
    sequence.  BLAS runs inside numba's threads: call it with BLAS held at one
    thread (:func:`numbacnn.functional._blas.one_blas_thread`).
    """
    N, T, D = x.shape
    H = h0.shape[1]
    K = H + D + 1
    one = x.dtype.type(1)
    single = x.itemsize == 4
    V = np.empty((K, 4 * H), x.dtype)
    for r in range(4 * H):
        for j in range(H):
            V[j, r] = U[r, j]
        for d in range(D):
            V[H + d, r] = W[r, d]
        V[H + D, r] = b[r]
    nitems = (N + SEQUENCES_PER_ITEM - 1) // SEQUENCES_PER_ITEM
    for item in prange(nitems):
        n0 = item * SEQUENCES_PER_ITEM
        m = min(SEQUENCES_PER_ITEM, N - n0)
        A = np.empty((m, K), x.dtype)
        for s in range(m):
            for j in range(H):
                A[s, j] = h0[n0 + s, j]
            A[s, H + D] = one
        tanh_c = np.empty_like(h0[0])
        for t in range(T):
            for s in range(m):
                for d in range(D):
                    A[s, H + d] = x[n0 + s, t, d]
            Z = np.dot(A, V)
            for s in range(m):
                n = n0 + s
                z = Z[s]
                # one view per gate block: indexing them with k in range(H) (never
                # z[H + k]) lets numba drop its negative-index check, and then LLVM
                # vectorizes the loops below
                z_i, z_f, z_g, z_o = z[:H], z[H:2 * H], z[2 * H:3 * H], z[3 * H:]
                for k in range(H):
                    z_i[k] = sigmoid_fast(z_i[k], one, single)
                    z_f[k] = sigmoid_fast(z_f[k], one, single)
                    z_g[k] = tanh_fast(z_g[k], one, single)
                    z_o[k] = sigmoid_fast(z_o[k], one, single)
                c_prev = c0[n] if t == 0 else c[n, t - 1]
                c_t = c[n, t]
                for k in range(H):
                    c_t[k] = z_f[k] * c_prev[k] + z_i[k] * z_g[k]
                for k in range(H):
                    tanh_c[k] = tanh_fast(c_t[k], one, single)
                h_t = h[n, t]
                for k in range(H):
                    h_t[k] = z_o[k] * tanh_c[k]
                a_s = A[s]  # h^(t) becomes the next step's h^(t-1)
                for k in range(H):
                    a_s[k] = h_t[k]
                # element loops, not gates[n, t, :] = z: an array assignment compiles
                # numba's shape-mismatch error message (seconds of a first run)
                gates_t = gates[n, t]
                for r in range(4 * H):
                    gates_t[r] = z[r]


@pjit
def lstm_backward_fast(
    grad_h,
    x,
    h0,
    c0,
    W,
    U,
    h,
    c,
    gates,
    grad_c_last,
    grad_x,
    grad_h0,
    grad_c0,
    grad_W,
    grad_U,
    grad_b,
):
    """Same result as :func:`lstm_backward_reference`, one matrix product per step and work item.

    ``prange`` over work items of :data:`SEQUENCES_PER_ITEM` sequences, as in
    :func:`lstm_forward_fast`.  Backwards in time, an item computes the gate
    pre-activation gradients ``grad_z (m, 4H)`` of its ``m`` sequences
    elementwise, then both gradients that flow out of the step with one BLAS
    product

    .. math::

        [\\nabla_{h^{(t-1)}}^{\\text{from } t},\\; \\nabla_{x^{(t)}}]
            = \\nabla_z [U\\; W] \\quad (m, H + D).

    It keeps every step's ``grad_z`` and rows :math:`[h^{(t-1)}, x^{(t)}, 1]`,
    and at the end sums its share of the weight gradients in one more product,
    :math:`\\sum_{n,t} \\nabla_{z_n^{(t)}} [h_n^{(t-1)}, x_n^{(t)}, 1] =
    [\\nabla_U\\; \\nabla_W\\; \\nabla_b]` over its sequences.  The items' shares
    are added after the parallel loop, in item order.  BLAS held at one thread,
    as for :func:`lstm_forward_fast`.
    """
    N, T, D = x.shape
    H = h0.shape[1]
    K = H + D + 1
    one = x.dtype.type(1)
    single = x.itemsize == 4
    UW = np.empty((4 * H, H + D), x.dtype)
    for r in range(4 * H):
        for j in range(H):
            UW[r, j] = U[r, j]
        for d in range(D):
            UW[r, H + d] = W[r, d]
    nitems = (N + SEQUENCES_PER_ITEM - 1) // SEQUENCES_PER_ITEM
    shares = np.empty((nitems, 4 * H, K), x.dtype)  # each item's [grad_U grad_W grad_b]
    for item in prange(nitems):
        n0 = item * SEQUENCES_PER_ITEM
        m = min(SEQUENCES_PER_ITEM, N - n0)
        grad_z = np.empty((T, m, 4 * H), x.dtype)
        A = np.empty((T, m, K), x.dtype)  # rows [h^(t-1), x^(t), 1]
        back = np.zeros((m, H + D), x.dtype)  # grad_z [U W] of step t + 1
        dc_next = np.empty((m, H), x.dtype)  # f^(t+1) * nabla_{c^(t+1)}
        for s in range(m):
            for k in range(H):
                dc_next[s, k] = grad_c_last[n0 + s, k]
        tanh_cs = np.empty_like(h0[0])
        dh = np.empty_like(h0[0])
        dc = np.empty_like(h0[0])
        for t in range(T - 1, -1, -1):
            for s in range(m):
                n = n0 + s
                c_prev = c0[n] if t == 0 else c[n, t - 1]
                c_t = c[n, t]
                for k in range(H):
                    tanh_cs[k] = tanh_fast(c_t[k], one, single)
                # per-gate views (see lstm_forward_fast: they let the loop vectorize)
                g_t = gates[n, t]
                i_t, f_t, g_tl, o_t = g_t[:H], g_t[H:2 * H], g_t[2 * H:3 * H], g_t[3 * H:]
                gz = grad_z[t, s]
                gz_i, gz_f, gz_g, gz_o = gz[:H], gz[H:2 * H], gz[2 * H:3 * H], gz[3 * H:]
                grad_h_t = grad_h[n, t]
                dh_next = back[s]
                dc_s = dc_next[s]
                # four short loops rather than one long one: each touches few
                # arrays, so LLVM's runtime overlap checks stay cheap and it vectorizes
                for k in range(H):
                    dh[k] = grad_h_t[k] + dh_next[k]  # nabla_h^(t)
                for k in range(H):
                    tanh_c = tanh_cs[k]
                    o_k = o_t[k]
                    dc[k] = dc_s[k] + dh[k] * o_k * (one - tanh_c * tanh_c)  # nabla_c^(t)
                    gz_o[k] = dh[k] * tanh_c * o_k * (one - o_k)
                for k in range(H):
                    i_k = i_t[k]
                    g_k = g_tl[k]
                    gz_i[k] = dc[k] * g_k * i_k * (one - i_k)
                    gz_g[k] = dc[k] * i_k * (one - g_k * g_k)
                for k in range(H):
                    f_k = f_t[k]
                    gz_f[k] = dc[k] * c_prev[k] * f_k * (one - f_k)
                    dc_s[k] = dc[k] * f_k
                h_prev = h0[n] if t == 0 else h[n, t - 1]
                a = A[t, s]
                for j in range(H):
                    a[j] = h_prev[j]
                for d in range(D):
                    a[H + d] = x[n, t, d]
                a[H + D] = one
            back = np.dot(grad_z[t], UW)
            for s in range(m):
                for d in range(D):
                    grad_x[n0 + s, t, d] = back[s, H + d]
        for s in range(m):
            for k in range(H):
                grad_h0[n0 + s, k] = back[s, k]
                grad_c0[n0 + s, k] = dc_next[s, k]
        share = np.dot(grad_z.reshape(T * m, 4 * H).T, A.reshape(T * m, K))
        for r in range(4 * H):
            for j in range(K):
                shares[item, r, j] = share[r, j]
    # threads never write the same memory: the shares are added here, in item order
    for r in range(4 * H):
        for j in range(K):
            total = shares[0, r, j]
            for item in range(1, nitems):
                total += shares[item, r, j]
            if j < H:
                grad_U[r, j] += total
            elif j < H + D:
                grad_W[r, j - H] += total
            else:
                grad_b[r] += total


@jit
def lstm_jacobian_step(jac, c_t, c_prev, gates_t, U, out):
    """One more factor of the LSTM's state Jacobian, for every sequence.

    The state is :math:`s^{(t)} = (h^{(t)}, c^{(t)})` (``2H`` values, ``h`` first).
    With ``jac[n]`` :math:`= \\partial s^{(T)}/\\partial s^{(t)}`, this writes
    ``out[n] = jac[n] @ J`` :math:`= \\partial s^{(T)}/\\partial s^{(t-1)}`, where
    ``J`` :math:`= \\partial s^{(t)}/\\partial s^{(t-1)}` has the blocks

    * ``J_cc = diag(f)``,
    * ``J_ch = diag(c_prev f(1-f)) U_f + diag(g i(1-i)) U_i + diag(i (1-g^2)) U_g``,
    * ``J_hc = diag(o (1 - tanh^2 c_t)) J_cc``,
    * ``J_hh = diag(tanh(c_t) o(1-o)) U_o + diag(o (1 - tanh^2 c_t)) J_ch``.

    Shapes: ``jac``, ``out`` ``(N, 2H, 2H)``; ``c_t``, ``c_prev`` ``(N, H)``;
    ``gates_t`` ``(N, 4H)`` (after activation, stacked ``i, f, g, o``); ``U (4H, H)``.
    """
    N, H = c_t.shape
    one = c_t.dtype.type(1)
    zero = c_t.dtype.type(0)
    J = np.empty_like(jac[0])
    for n in range(N):
        for k in range(H):
            i_k = gates_t[n, k]
            f_k = gates_t[n, H + k]
            g_k = gates_t[n, 2 * H + k]
            o_k = gates_t[n, 3 * H + k]
            tanh_c = np.tanh(c_t[n, k])
            dh_dc = o_k * (one - tanh_c * tanh_c)
            for j in range(H):
                J_ch = (
                    c_prev[n, k] * f_k * (one - f_k) * U[H + k, j]
                    + g_k * i_k * (one - i_k) * U[k, j]
                    + i_k * (one - g_k * g_k) * U[2 * H + k, j]
                )
                J[H + k, j] = J_ch
                J[k, j] = tanh_c * o_k * (one - o_k) * U[3 * H + k, j] + dh_dc * J_ch
                J[H + k, H + j] = f_k if j == k else zero
                J[k, H + j] = dh_dc * f_k if j == k else zero
        for a in range(2 * H):
            for q in range(2 * H):
                out[n, a, q] = zero
            for p in range(2 * H):
                jac_ap = jac[n, a, p]
                for q in range(2 * H):
                    out[n, a, q] += jac_ap * J[p, q]
