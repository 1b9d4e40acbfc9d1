"""Gated recurrent unit (GRU): forward pass and backpropagation through time.

torch.nn.GRU's equations, for every sequence ``s`` and step ``t``:

.. math::

    r^{(t)} &= \\sigma(W_r x^{(t)} + b_{w,r} + U_r h^{(t-1)} + b_{u,r}), \\\\
    z^{(t)} &= \\sigma(W_z x^{(t)} + b_{w,z} + U_z h^{(t-1)} + b_{u,z}), \\\\
    n^{(t)} &= \\tanh\\bigl(W_n x^{(t)} + b_{w,n}
               + r^{(t)} \\odot (U_n h^{(t-1)} + b_{u,n})\\bigr), \\\\
    h^{(t)} &= (1 - z^{(t)}) \\odot n^{(t)} + z^{(t)} \\odot h^{(t-1)} .

The reset gate ``r`` scales the recurrent part of the candidate ``n`` *after*
its bias ``b_u,n`` (that is why the GRU has two bias vectors).  Blocks are
stacked ``r, z, n`` in ``W (3H, D)``, ``U (3H, H)``, ``b_w``, ``b_u (3H,)`` and
in ``gates (N, T, 3H)`` (after their activations).  The loops index the
sequences of the batch with ``s``, since ``n`` is the candidate gate here.

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
from ._math import add_mat_t_vec, sigmoid, sigmoid_fast, tanh_fast, weight_gradients_fast

__all__ = [
    "gru_forward_reference",
    "gru_backward_reference",
    "gru_forward_fast",
    "gru_backward_fast",
]


@jit
def gru_forward_reference(x, h0, W, U, b_w, b_u, h, gates):
    """Fill ``h (N, T, H)`` and ``gates (N, T, 3H)`` from the equations above."""
    N, T, D = x.shape
    H = h0.shape[1]
    one = x.dtype.type(1)
    ax = np.empty_like(b_w)  # W x^(t) + b_w, stacked r, z, n
    ah = np.empty_like(b_u)  # U h^(t-1) + b_u, stacked r, z, n
    for s in range(N):
        for t in range(T):
            for q in range(3 * H):
                ax_q = b_w[q]
                for d in range(D):
                    ax_q += W[q, d] * x[s, t, d]
                ah_q = b_u[q]
                for j in range(H):
                    h_prev_j = h0[s, j] if t == 0 else h[s, t - 1, j]
                    ah_q += U[q, j] * h_prev_j
                ax[q] = ax_q
                ah[q] = ah_q
            for k in range(H):
                r_k = sigmoid(ax[k] + ah[k], one)
                z_k = sigmoid(ax[H + k] + ah[H + k], one)
                n_k = np.tanh(ax[2 * H + k] + r_k * ah[2 * H + k])
                h_prev_k = h0[s, k] if t == 0 else h[s, t - 1, k]
                h[s, t, k] = (one - z_k) * n_k + z_k * h_prev_k
                gates[s, t, k] = r_k
                gates[s, t, H + k] = z_k
                gates[s, t, 2 * H + k] = n_k


@jit
def gru_backward_reference(
    grad_h,
    x,
    h0,
    W,
    U,
    b_w,
    b_u,
    h,
    gates,
    grad_x,
    grad_h0,
    grad_W,
    grad_U,
    grad_b_w,
    grad_b_u,
):
    """Backpropagation through time for the GRU; ``grad_*`` outputs zero on entry.

    With ``dh`` :math:`=\\nabla_{h^{(t)}}\\mathcal L` (``grad_h[s, t]`` plus what
    flows back from step ``t + 1``) and :math:`m = U_n h^{(t-1)} + b_{u,n}`
    (recomputed here rather than stored):

    .. math::

        \\nabla_{a_n} &= \\nabla_{h} \\odot (1 - z) \\odot (1 - n^2), \\quad
        \\nabla_{a_z} = \\nabla_{h} \\odot (h^{(t-1)} - n) \\odot z (1 - z), \\\\
        \\nabla_{a_r} &= \\nabla_{a_n} \\odot m \\odot r (1 - r), \\\\
        \\nabla_{h^{(t-1)}} &= \\nabla_{h} \\odot z
            + U^T [\\nabla_{a_r}; \\nabla_{a_z}; r \\odot \\nabla_{a_n}],
        \\quad \\nabla_{x^{(t)}} = W^T [\\nabla_{a_r}; \\nabla_{a_z}; \\nabla_{a_n}],

    where :math:`a_r, a_z, a_n` are the arguments of the three activations.
    """
    N, T, D = x.shape
    H = h0.shape[1]
    one = x.dtype.type(1)
    zero = x.dtype.type(0)
    grad_ax = np.zeros_like(b_w)  # nabla of W x + b_w, stacked r, z, n
    grad_ah = np.zeros_like(b_u)  # nabla of U h + b_u, stacked r, z, n
    dh_next = np.zeros_like(h0[0])
    for s in range(N):
        for k in range(H):
            dh_next[k] = zero
        for t in range(T - 1, -1, -1):
            for k in range(H):
                r_k = gates[s, t, k]
                z_k = gates[s, t, H + k]
                n_k = gates[s, t, 2 * H + k]
                h_prev_k = h0[s, k] if t == 0 else h[s, t - 1, k]
                m_k = b_u[2 * H + k]
                for j in range(H):
                    h_prev_j = h0[s, j] if t == 0 else h[s, t - 1, j]
                    m_k += U[2 * H + k, j] * h_prev_j
                dh = grad_h[s, t, k] + dh_next[k]
                grad_an = dh * (one - z_k) * (one - n_k * n_k)
                grad_az = dh * (h_prev_k - n_k) * z_k * (one - z_k)
                grad_ar = grad_an * m_k * r_k * (one - r_k)
                grad_ax[k] = grad_ar
                grad_ax[H + k] = grad_az
                grad_ax[2 * H + k] = grad_an
                grad_ah[k] = grad_ar
                grad_ah[H + k] = grad_az
                grad_ah[2 * H + k] = r_k * grad_an
                dh_next[k] = dh * z_k  # the direct path z * h^(t-1)
            for q in range(3 * H):
                grad_b_w[q] += grad_ax[q]
                grad_b_u[q] += grad_ah[q]
                for d in range(D):
                    grad_W[q, d] += grad_ax[q] * x[s, t, d]
                for j in range(H):
                    h_prev_j = h0[s, j] if t == 0 else h[s, t - 1, j]
                    grad_U[q, j] += grad_ah[q] * h_prev_j
            for d in range(D):
                g_d = zero
                for q in range(3 * H):
                    g_d += W[q, d] * grad_ax[q]
                grad_x[s, t, d] = g_d
            for j in range(H):
                g_j = dh_next[j]
                for q in range(3 * H):
                    g_j += U[q, j] * grad_ah[q]
                dh_next[j] = g_j
        for k in range(H):
            grad_h0[s, k] = dh_next[k]


# ----------------------------------------------------------------------------
# fast kernels
# ----------------------------------------------------------------------------


@pjit
def gru_forward_fast(x, h0, W, U, b_w, b_u, h, gates):
    """Same result as :func:`gru_forward_reference`, vectorizable loop order, ``prange`` over N."""
    N, T, D = x.shape
    H = h0.shape[1]
    one = x.dtype.type(1)
    single = x.itemsize == 4
    WT = np.ascontiguousarray(W.T)  # (D, 3H)
    UT = np.ascontiguousarray(U.T)  # (H, 3H)
    for s in prange(N):
        ax = np.empty_like(b_w)
        ah = np.empty_like(b_u)
        # per-block views indexed with k in range(H): no negative-index check,
        # so the activation loops vectorize; the gates overwrite ax in place
        r_g, z_g, ax_n = ax[:H], ax[H : 2 * H], ax[2 * H :]
        ah_r, ah_z, ah_n = ah[:H], ah[H : 2 * H], ah[2 * H :]
        for t in range(T):
            h_prev = h0[s] if t == 0 else h[s, t - 1]
            ax[:] = b_w
            add_mat_t_vec(WT, x[s, t], ax)
            ah[:] = b_u
            add_mat_t_vec(UT, h_prev, ah)
            for k in range(H):
                r_g[k] = sigmoid_fast(r_g[k] + ah_r[k], one, single)
                z_g[k] = sigmoid_fast(z_g[k] + ah_z[k], one, single)
            for k in range(H):
                ax_n[k] = tanh_fast(ax_n[k] + r_g[k] * ah_n[k], one, single)  # n
            h_t = h[s, t]
            for k in range(H):
                h_t[k] = (one - z_g[k]) * ax_n[k] + z_g[k] * h_prev[k]
            gates[s, t, :] = ax


@pjit
def gru_backward_fast(
    grad_h,
    x,
    h0,
    W,
    U,
    b_w,
    b_u,
    h,
    gates,
    grad_x,
    grad_h0,
    grad_W,
    grad_U,
    grad_b_w,
    grad_b_u,
):
    """Same result as :func:`gru_backward_reference`, in two parallel phases.

    Phase 1: the recursion with ``prange`` over sequences, storing the
    activation-argument gradients ``grad_ax`` (input side) and ``grad_ah``
    (recurrent side), each ``(N, T, 3H)``.  Phase 2
    (:func:`numbacnn.kernels._math.weight_gradients_fast`): weight gradients with
    ``prange`` over weight rows.
    """
    N, T, D = x.shape
    H = h0.shape[1]
    one = x.dtype.type(1)
    grad_ax = np.empty_like(gates)
    grad_ah = np.empty_like(gates)
    UnT = np.ascontiguousarray(U[2 * H :, :].T)  # (H, H): U_n transposed
    for s in prange(N):
        dh_next = np.zeros_like(h0[0])
        m = np.empty_like(h0[0])
        for t in range(T - 1, -1, -1):
            h_prev = h0[s] if t == 0 else h[s, t - 1]
            # m = U_n h^(t-1) + b_u,n, recomputed
            m[:] = b_u[2 * H :]
            add_mat_t_vec(UnT, h_prev, m)
            # per-gate views indexed with k in range(H): no negative-index
            # check, so the loop vectorizes
            g_t = gates[s, t]
            r_t, z_t, n_t = g_t[:H], g_t[H : 2 * H], g_t[2 * H :]
            gx = grad_ax[s, t]
            gx_r, gx_z, gx_n = gx[:H], gx[H : 2 * H], gx[2 * H :]
            gh = grad_ah[s, t]
            gh_r, gh_z, gh_n = gh[:H], gh[H : 2 * H], gh[2 * H :]
            grad_h_t = grad_h[s, t]
            for k in range(H):
                r_k = r_t[k]
                z_k = z_t[k]
                n_k = n_t[k]
                dh = grad_h_t[k] + dh_next[k]
                grad_an = dh * (one - z_k) * (one - n_k * n_k)
                grad_az = dh * (h_prev[k] - n_k) * z_k * (one - z_k)
                grad_ar = grad_an * m[k] * r_k * (one - r_k)
                gx_r[k] = grad_ar
                gx_z[k] = grad_az
                gx_n[k] = grad_an
                gh_r[k] = grad_ar
                gh_z[k] = grad_az
                gh_n[k] = r_k * grad_an
                dh_next[k] = dh * z_k  # the direct path z * h^(t-1)
            add_mat_t_vec(U, grad_ah[s, t], dh_next)
            grad_x[s, t, :] = 0
            add_mat_t_vec(W, grad_ax[s, t], grad_x[s, t])
        grad_h0[s, :] = dh_next
    weight_gradients_fast(grad_ax, grad_ah, x, h0, h, grad_W, grad_U, grad_b_w, grad_b_u)
