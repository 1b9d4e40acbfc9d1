"""Simple (Elman) recurrent network: forward pass and backpropagation through time.

The lecture's recurrence, for every sequence ``n`` of the batch and every
step ``t``, with :math:`h^{(0)}` the initial state ``h0``:

.. math::

    a^{(t)} = U x^{(t)} + W h^{(t-1)} + b, \\qquad
    h^{(t)} = \\phi(a^{(t)}), \\qquad
    y^{(t)} = V h^{(t)} + c ,

where :math:`\\phi` is :math:`\\tanh` (the lecture's choice) or, with the
kernels' ``relu`` flag set, :math:`\\max(a, 0)` (the activation of the
lecture's Keras ``SimpleRNN`` example).  Both derivatives can be written
through the output, which is all the backward kernels keep:
:math:`\\tanh'(a) = 1 - h^2` and :math:`\\max(\\cdot, 0)'(a) = [a > 0] = [h > 0]`
(taken as 0 at :math:`a = 0`, as PyTorch does).  NaN and infinities propagate
as in PyTorch: the ReLU keeps NaN (:func:`~numbacnn.kernels._math.relu`) and
its derivative at a NaN output is 1 (:func:`~numbacnn.kernels._math.relu_grad`).

Arrays are batch-first and 0-based in time: ``x[n, t]`` is :math:`x^{(t+1)}`,
``h[n, t]`` is :math:`h^{(t+1)}`, so ``h[n, t - 1]`` is the previous state and
``h0[n]`` stands in for it at ``t == 0``.

Kernels write into output arrays the caller allocates; gradient outputs must
arrive filled with zeros.  Every array has the same float dtype, and so does
every literal (``one = x.dtype.type(1)``), so float32 stays float32.

* :func:`rnn_forward_reference` / :func:`rnn_backward_reference` transcribe the
  equations index for index (the docs include them verbatim).
* :func:`rnn_forward_fast` / :func:`rnn_backward_fast` compute the same numbers
  with the loops reordered so that the innermost loop runs over contiguous
  memory without a reduction (which LLVM vectorizes without ``fastmath``),
  and with ``prange`` over the sequences of the batch.  They share
  :func:`~numbacnn.kernels._math.add_mat_t_vec` (matrix-vector products),
  :func:`~numbacnn.kernels._math.weight_gradients_fast`
  (the sums over sequences and steps) and :func:`~numbacnn.kernels._math.tanh_fast` (a ``tanh``
  without libm calls in float32).  What keeps their loops vectorizable:
  ``np.divide`` instead of ``/`` (numba's ``/`` branches on a zero divisor),
  and indices that start at a literal 0 (``z_f[k]`` on a view rather than
  ``z[H + k]``, for which numba emits a negative-index check).
* :func:`rnn_jacobian_step` builds :math:`\\partial h^{(T)}/\\partial h^{(t)}` for the
  vanishing/exploding gradient discussion.

See :doc:`/theory/rnn`.
"""

import numpy as np

from ._jit import jit, pjit, prange
from ._math import add_mat_t_vec, relu_grad, tanh_fast, weight_gradients_fast
from ._math import relu as _relu

__all__ = [
    "rnn_forward_reference",
    "rnn_backward_reference",
    "rnn_forward_fast",
    "rnn_backward_fast",
    "rnn_jacobian_step",
]


@jit
def rnn_forward_reference(x, h0, U, W, b, V, c, relu, h, y):
    """Fill ``h (N, T, H)`` and ``y (N, T, O)`` from the recurrence above.

    ``relu`` chooses :math:`\\phi = \\max(\\cdot, 0)` instead of :math:`\\tanh`.
    """
    N, T, D = x.shape
    H = h0.shape[1]
    O = c.shape[0]
    zero = x.dtype.type(0)
    for n in range(N):
        for t in range(T):
            # a^(t) = U x^(t) + W h^(t-1) + b ;  h^(t) = phi(a^(t))
            for i in range(H):
                a_i = b[i]
                for d in range(D):
                    a_i += U[i, d] * x[n, t, d]
                for j in range(H):
                    h_prev_j = h0[n, j] if t == 0 else h[n, t - 1, j]
                    a_i += W[i, j] * h_prev_j
                h[n, t, i] = _relu(a_i, zero) if relu else np.tanh(a_i)
            # y^(t) = V h^(t) + c
            for k in range(O):
                y_k = c[k]
                for i in range(H):
                    y_k += V[k, i] * h[n, t, i]
                y[n, t, k] = y_k


@jit
def rnn_backward_reference(
    grad_y,
    x,
    h0,
    h,
    U,
    W,
    V,
    relu,
    grad_h_last,
    grad_x,
    grad_h0,
    grad_U,
    grad_W,
    grad_b,
    grad_V,
    grad_c,
):
    """Backpropagation through time; the ``grad_*`` outputs must be zero on entry.

    For ``t = T, ..., 1`` (the lecture's recursion, started at the last step):

    * ``grad_h`` :math:`= \\nabla_{h^{(t)}}\\mathcal L = V^T \\nabla_{y^{(t)}}\\mathcal L
      + W^T \\nabla_{a^{(t+1)}}\\mathcal L` (plus ``grad_h_last`` at ``t = T``),
    * ``grad_a`` :math:`= \\nabla_{a^{(t)}}\\mathcal L = \\nabla_{h^{(t)}}\\mathcal L
      \\odot \\phi'(a^{(t)})`, the derivative taken at the pre-activation and
      written through the output: :math:`1 - h^{(t)}\\odot h^{(t)}` for tanh,
      :math:`[h^{(t)} > 0]` for ReLU (``relu``),

    and every weight gradient is a sum over the steps.
    """
    N, T, D = x.shape
    H = h0.shape[1]
    O = V.shape[0]
    one = x.dtype.type(1)
    zero = x.dtype.type(0)
    grad_h = np.zeros_like(h0[0])  # nabla_{h^(t)} L
    grad_a = np.zeros_like(h0[0])  # nabla_{a^(t)} L
    grad_a_next = np.zeros_like(h0[0])  # nabla_{a^(t+1)} L
    for n in range(N):
        for t in range(T - 1, -1, -1):
            for i in range(H):
                # (dy^(t)/dh^(t))^T nabla_y = V^T nabla_{y^(t)} L
                g_i = grad_h_last[n, i] if t == T - 1 else zero
                for k in range(O):
                    g_i += V[k, i] * grad_y[n, t, k]
                # (dh^(t+1)/dh^(t))^T nabla_{h^(t+1)} L = W^T nabla_{a^(t+1)} L
                if t < T - 1:
                    for j in range(H):
                        g_i += W[j, i] * grad_a_next[j]
                grad_h[i] = g_i
            for i in range(H):
                h_i = h[n, t, i]
                dphi = relu_grad(h_i, one, zero) if relu else one - h_i * h_i
                grad_a[i] = grad_h[i] * dphi
            # gradients of the shared weights: one term per step, summed over t
            for k in range(O):
                grad_c[k] += grad_y[n, t, k]
                for i in range(H):
                    grad_V[k, i] += grad_y[n, t, k] * h[n, t, i]
            for i in range(H):
                grad_b[i] += grad_a[i]
                for d in range(D):
                    grad_U[i, d] += grad_a[i] * x[n, t, d]
                for j in range(H):
                    h_prev_j = h0[n, j] if t == 0 else h[n, t - 1, j]
                    grad_W[i, j] += grad_a[i] * h_prev_j
            # nabla_{x^(t)} L = U^T nabla_{a^(t)} L
            for d in range(D):
                g_d = grad_x[n, t, d]
                for i in range(H):
                    g_d += U[i, d] * grad_a[i]
                grad_x[n, t, d] = g_d
            for i in range(H):
                grad_a_next[i] = grad_a[i]
        # nabla_{h^(0)} L = W^T nabla_{a^(1)} L
        for j in range(H):
            g_j = grad_h0[n, j]
            for i in range(H):
                g_j += W[i, j] * grad_a_next[i]
            grad_h0[n, j] = g_j


# ----------------------------------------------------------------------------
# fast kernels
# ----------------------------------------------------------------------------


@pjit
def rnn_forward_fast(x, h0, U, W, b, V, c, relu, h, y):
    """Same result as :func:`rnn_forward_reference`, vectorizable loop order.

    The products go through :func:`~numbacnn.kernels._math.add_mat_t_vec` on
    transposed weight copies; ``prange`` over the sequences of the batch.
    """
    N, T, D = x.shape
    H = h0.shape[1]
    UT = np.ascontiguousarray(U.T)  # (D, H)
    WT = np.ascontiguousarray(W.T)  # (H, H)
    VT = np.ascontiguousarray(V.T)  # (H, O)
    one = x.dtype.type(1)
    zero = x.dtype.type(0)
    single = x.itemsize == 4
    for n in prange(N):
        a = np.empty_like(b)
        for t in range(T):
            h_prev = h0[n] if t == 0 else h[n, t - 1]
            a[:] = b
            add_mat_t_vec(UT, x[n, t], a)
            add_mat_t_vec(WT, h_prev, a)
            if relu:
                for i in range(H):
                    h[n, t, i] = _relu(a[i], zero)
            else:
                for i in range(H):
                    h[n, t, i] = tanh_fast(a[i], one, single)
            y[n, t, :] = c
            add_mat_t_vec(VT, h[n, t], y[n, t])


@pjit
def rnn_backward_fast(
    grad_y,
    x,
    h0,
    h,
    U,
    W,
    V,
    relu,
    grad_h_last,
    grad_x,
    grad_h0,
    grad_U,
    grad_W,
    grad_b,
    grad_V,
    grad_c,
):
    """Same result as :func:`rnn_backward_reference`, in two parallel phases.

    Phase 1 runs the recursion for ``grad_a`` (N, T, H) with ``prange`` over the
    sequences; phase 2 (:func:`~numbacnn.kernels._math.weight_gradients_fast`) sums the weight
    gradients with ``prange`` over weight rows.
    """
    N, T, D = x.shape
    H = h0.shape[1]
    O = V.shape[0]
    one = x.dtype.type(1)
    zero = x.dtype.type(0)
    grad_a = np.empty_like(h)  # nabla_{a^(t)} L for every sequence and step
    for n in prange(N):
        g = np.empty_like(h0[0])
        for t in range(T - 1, -1, -1):
            # V^T grad_y^(t) + W^T grad_a^(t+1) (+ grad_h_last at the last step)
            if t == T - 1:
                g[:] = grad_h_last[n]
            else:
                g[:] = 0
                add_mat_t_vec(W, grad_a[n, t + 1], g)
            add_mat_t_vec(V, grad_y[n, t], g)
            for i in range(H):
                h_i = h[n, t, i]
                dphi = relu_grad(h_i, one, zero) if relu else one - h_i * h_i
                grad_a[n, t, i] = g[i] * dphi
            grad_x[n, t, :] = 0
            add_mat_t_vec(U, grad_a[n, t], grad_x[n, t])
        grad_h0[n, :] = 0
        add_mat_t_vec(W, grad_a[n, 0], grad_h0[n])
    scratch_b = np.zeros_like(grad_b)
    weight_gradients_fast(grad_a, grad_a, x, h0, h, grad_U, grad_W, grad_b, scratch_b)
    for n in range(N):
        for t in range(T):
            for k in range(O):
                gy_k = grad_y[n, t, k]
                grad_c[k] += gy_k
                for i in range(H):
                    grad_V[k, i] += gy_k * h[n, t, i]


@jit
def rnn_jacobian_step(jac, h_t, W, relu, out):
    """One more factor of :math:`\\partial h^{(T)}/\\partial h^{(t-1)}`, for every sequence.

    From :math:`h^{(t)} = \\phi(U x^{(t)} + W h^{(t-1)} + b)` the one-step
    Jacobian is :math:`\\partial h^{(t)}/\\partial h^{(t-1)} =
    \\mathrm{diag}(\\phi'(a^{(t)}))\\, W`, with :math:`\\phi' = 1 - h^{(t)} \\odot h^{(t)}`
    for tanh and :math:`[h^{(t)} > 0]` for ReLU (``relu``).  So with ``jac[n]``
    :math:`= \\partial h^{(T)}/\\partial h^{(t)}` and ``h_t[n]`` :math:`= h^{(t)}`
    (both for sequence ``n``) this writes

    ``out[n] = jac[n] @ diag(phi'(a)) @ W``
    :math:`= \\partial h^{(T)}/\\partial h^{(t-1)}`.

    Shapes: ``jac``, ``out`` ``(N, H, H)``; ``h_t`` ``(N, H)``; ``W`` ``(H, H)``.
    """
    N, H = h_t.shape
    one = h_t.dtype.type(1)
    zero = h_t.dtype.type(0)
    for n in range(N):
        for i in range(H):
            for j in range(H):
                out[n, i, j] = zero
            for k in range(H):
                h_k = h_t[n, k]
                dphi = relu_grad(h_k, one, zero) if relu else one - h_k * h_k
                p_ik = jac[n, i, k] * dphi
                for j in range(H):
                    out[n, i, j] += p_ik * W[k, j]
