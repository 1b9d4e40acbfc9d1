# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: -jupytext.text_representation
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 8. Vanishing and exploding gradients, and how LSTM gates help
#
# A recurrent network applies the same weights at every time step. Backpropagation
# through time therefore multiplies the gradient by (nearly) the same matrix once per
# step it travels back, and a product of many equal factors either dies out or blows
# up. The lecture says this in words; this notebook measures it with `numbacnn`:
# first for a linear recurrence, where the answer is a power of a matrix, then for the
# lecture's $\tanh$ RNN, and finally for an LSTM, whose additive memory cell gives the
# gradient a path that the forget gate can keep open.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import numbacnn

# NUMBACNN_FAST=1 (set in CI) shrinks every experiment so the notebook runs in seconds;
# without it the notebook reproduces the full experiment.
FAST = os.environ.get("NUMBACNN_FAST", "0") == "1"
rng = np.random.default_rng(2024)
print(f"numbacnn {numbacnn.__version__}; fast mode: {FAST}")

# %% [markdown]
# ## Why a product of Jacobians
#
# The simple RNN updates its state with $h^{(t)} = \tanh\big(a^{(t)}\big)$,
# $a^{(t)} = U x^{(t)} + W h^{(t-1)} + b$. One step back, the chain rule gives the
# Jacobian
#
# $$\frac{\partial h^{(t)}}{\partial h^{(t-1)}}
#   = \operatorname{diag}\!\big(1 - (h^{(t)})^2\big)\, W ,$$
#
# and the sensitivity of the last state to a state $\ell$ steps earlier is the product
# of $\ell$ such factors,
#
# $$\frac{\partial h^{(T)}}{\partial h^{(T-\ell)}}
#   = \prod_{t=T-\ell+1}^{T} \operatorname{diag}\!\big(1 - (h^{(t)})^2\big)\, W .$$
#
# The diagonal factors lie between 0 and 1 ($\tanh$ never steepens), so the size of
# the product is governed by $W$. Without the $\tanh$ it would be exactly $W^\ell$,
# whose norm behaves like $\rho(W)^\ell$, with $\rho$ the spectral radius (the largest
# $|\lambda|$ over the eigenvalues): geometric decay for $\rho<1$, geometric growth for
# $\rho>1$.

# %%
H = 32
T = 40 if FAST else 120
W0 = rng.normal(size=(H, H)) / np.sqrt(H)
W0 /= np.max(np.abs(np.linalg.eigvals(W0)))  # spectral radius exactly 1
radii = (0.5, 1.0, 1.5)
lags = np.arange(T + 1)

plt.figure(figsize=(6.5, 4))
for rho in radii:
    Wr = rho * W0
    norms, P = [], np.eye(H)
    for _ in lags:
        norms.append(np.linalg.norm(P, 2))
        P = P @ Wr
    plt.semilogy(lags, norms, label=f"$\\rho(W) = {rho}$")
plt.xlabel("lag $\\ell$ (steps back in time)")
plt.ylabel("$\\|W^\\ell\\|_2$")
plt.title("a linear recurrence: powers of $W$")
plt.legend()
plt.grid(True, which="both", alpha=0.3)
plt.show()

# %% [markdown]
# ## The lecture's $\tanh$ RNN
#
# Now the real network. We run `numbacnn.functional.rnn_forward` on a random input
# sequence with the recurrent matrix scaled to the three spectral radii, put a loss
# gradient on the *last* hidden state only, and run backpropagation through time
# with `rnn_backward`. The gradient that reaches the input $x^{(t)}$ tells how much the
# final state still depends on what the network saw $T - t$ steps earlier.
# Alongside, `numbacnn.functional.rnn_gradient_norms` gives the norm of the Jacobian
# $\partial h^{(T)}/\partial h^{(T-\ell)}$ itself for every lag.

# %%
F_ = numbacnn.functional
N, D, O = 4, 3, 1
x = rng.normal(size=(N, T, D))
h0 = np.zeros((N, H))
U = rng.normal(size=(H, D)) * 0.5
b = np.zeros(H)
V = rng.normal(size=(O, H))
c = np.zeros(O)
probe = rng.normal(size=(N, H))  # dL/dh^(T): a random direction at the last step

rnn_input_grad = {}
rnn_jacobian_norms = {}
for rho in radii:
    W = rho * W0
    h, y = F_.rnn_forward(x, h0, U, W, b, V, c)
    grads = F_.rnn_backward(np.zeros_like(y), x, h0, h, U, W, V, grad_h_last=probe)
    grad_x = grads[0]
    # gradient size at each input step, listed by lag T - t (0 = the last step)
    rnn_input_grad[rho] = np.linalg.norm(grad_x, axis=(0, 2))[::-1]
    # the Jacobian norms, averaged over the sequences of the batch
    rnn_jacobian_norms[rho] = F_.rnn_gradient_norms(x, h0, U, W, b).mean(axis=0)

fig, axes = plt.subplots(1, 2, figsize=(13, 4.3))
for rho in radii:
    axes[0].semilogy(lags[:T], rnn_input_grad[rho], label=f"$\\rho(W) = {rho}$")
    axes[1].semilogy(rnn_jacobian_norms[rho], label=f"$\\rho(W) = {rho}$")
axes[0].set_title("$\\|\\partial L / \\partial x^{(T-\\ell)}\\|$ from BPTT")
axes[1].set_title("$\\|\\partial h^{(T)} / \\partial h^{(T-\\ell)}\\|$")
for ax in axes:
    ax.set_xlabel("lag $\\ell$")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
plt.tight_layout()
plt.show()
for rho in radii:
    g = rnn_input_grad[rho]
    print(f"rho={rho}: gradient at lag 0 {g[0]:.2e}, at lag {T - 1} {g[-1]:.2e}")

# %% [markdown]
# What the curves show:
#
# * With $\rho = 0.5$ the gradient falls by orders of magnitude within a few dozen
#   steps: whatever the loss depends on far back is invisible to gradient descent.
# * With $\rho = 1$ the decay is slower but, because every $\tanh$ derivative factor
#   is below one, still geometric. Even a well-conditioned $W$ (recurrent weights are
#   often initialised orthogonal, all singular values one) does not carry a tanh
#   RNN's gradient across a hundred steps.
# * With $\rho = 1.5$ the linear picture would explode like $1.5^\ell$. Driven by
#   this input, though, the state sits mostly in the flat parts of the $\tanh$, and
#   the small derivative factors pull the product back down: the gradient decays,
#   just more slowly. It does explode when the state stays in the linear regime
#   (zero input; see the last figure of this notebook). In training, such bursts of
#   growth show up as sudden huge gradient steps, which is why practitioners clip
#   the gradient norm.
#
# ## A check: the Jacobian from BPTT
#
# Backpropagation through time is linear in the incoming gradient. Feeding a unit
# vector $e_k$ as $\partial L/\partial h^{(T)}$ and reading the gradient at the initial
# state returns row $k$ of $\partial h^{(T)}/\partial h^{(0)}$, so $H$ backward passes
# rebuild the whole Jacobian. Comparing it with the product of the one-step
# Jacobians, computed directly from the stored states, checks `rnn_backward` from
# another side.

# %%
W = 1.0 * W0
T_short = 12
xs, h0s = x[:1, :T_short], rng.normal(size=(1, H)) * 0.3
hs, ys = F_.rnn_forward(xs, h0s, U, W, b, V, c)

from_bptt = np.zeros((H, H))
for k in range(H):
    unit = np.zeros((1, H))
    unit[0, k] = 1.0
    grad_h0 = F_.rnn_backward(np.zeros_like(ys), xs, h0s, hs, U, W, V,
                              grad_h_last=unit)[1]
    from_bptt[k] = grad_h0[0]

product = np.eye(H)
for t in range(T_short - 1, -1, -1):  # dh^(T)/dh^(0) = J_T J_(T-1) ... J_1
    product = product @ (np.diag(1 - hs[0, t] ** 2) @ W)
print("max |BPTT Jacobian - product of one-step Jacobians| =",
      f"{np.max(np.abs(from_bptt - product)):.1e}")
assert np.allclose(from_bptt, product)

# and rnn_gradient_norms reports the spectral norm of that same product at lag T
norms = F_.rnn_gradient_norms(xs, h0s, U, W, b)
print(f"rnn_gradient_norms at lag {T_short}: {norms[0, T_short]:.6e}, "
      f"norm of the product: {np.linalg.norm(product, 2):.6e}")
assert np.isclose(norms[0, T_short], np.linalg.norm(product, 2))


# %% [markdown]
# ## The LSTM's memory cell
#
# The LSTM keeps a second state, the cell $c^{(t)}$, updated *additively*:
#
# $$c^{(t)} = f^{(t)} \odot c^{(t-1)} + i^{(t)} \odot g^{(t)}, \qquad
#   h^{(t)} = o^{(t)} \odot \tanh\big(c^{(t)}\big),$$
#
# with the forget gate $f$, input gate $i$ and output gate $o$ squashed into
# $(0, 1)$ by a sigmoid and the candidate $g$ by a $\tanh$. Along the cell path the
# one-step Jacobian is simply $\operatorname{diag}(f^{(t)})$, no weight matrix and no
# squashing derivative. When the forget gate is open ($f\approx 1$) the gradient flows
# back unchanged, for as long as the gate stays open.
#
# First the extreme case: forget gate pinned open and input gate shut, through large
# biases. The cell must then carry its initial content unchanged to the end, a
# memory, whatever the input.

# %%
def lstm_params(forget_bias, input_bias=0.0, scale=0.3, seed=0):
    """Small random LSTM weights, gate blocks in the order i, f, g, o."""
    r = np.random.default_rng(seed)
    W = r.normal(size=(4 * H, D)) * scale
    Uh = r.normal(size=(4 * H, H)) * scale / np.sqrt(H)
    bias = np.zeros(4 * H)
    bias[0:H] = input_bias
    bias[H : 2 * H] = forget_bias
    return W, Uh, bias


c0 = rng.normal(size=(N, H))
Wl, Ul, bl = lstm_params(forget_bias=40.0, input_bias=-40.0)
h_seq, c_seq, gates = F_.lstm_forward(x, h0, c0, Wl, Ul, bl)
forget = gates[..., H : 2 * H]
print("forget gate range:", forget.min(), "to", forget.max())
print("max |c^(T) - c^(0)| =", np.max(np.abs(c_seq[:, -1] - c0)))
assert np.allclose(c_seq[:, -1], c0)

# %% [markdown]
# ## The gradient with the forget gate open, half open, and shut
#
# Now a working LSTM (input gate neither open nor shut) with the forget-gate bias at
# $-2$, $0$, $2$ and $5$, i.e. $f \approx 0.12, 0.5, 0.88, 0.993$. As before, the loss
# gradient sits on the last hidden output only (`grad_h` is zero except at the final
# step), and `lstm_backward` sends it back to every input. The RNN with $\rho=1$ is
# drawn for comparison.

# %%
fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
rnn_label = "simple RNN, $\\rho(W)=1$"
axes[0].semilogy(lags[:T], rnn_input_grad[1.0], "k--", label=rnn_label)
axes[1].semilogy(lags, rnn_jacobian_norms[1.0], "k--", label=rnn_label)
lstm_input_grad = {}
for bf in (-2.0, 0.0, 2.0, 5.0):
    Wl, Ul, bl = lstm_params(forget_bias=bf)
    h_seq, c_seq, gates = F_.lstm_forward(x, h0, np.zeros((N, H)), Wl, Ul, bl)
    grad_h = np.zeros_like(h_seq)
    grad_h[:, -1] = probe
    grad_x = F_.lstm_backward(grad_h, x, h0, np.zeros((N, H)), Wl, Ul, h_seq, c_seq,
                              gates)[0]
    lstm_input_grad[bf] = np.linalg.norm(grad_x, axis=(0, 2))[::-1]
    cell_norms = F_.lstm_gradient_norms(x, h0, np.zeros((N, H)), Wl, Ul, bl)
    cell_norms = cell_norms.mean(axis=0)
    f_mean = gates[..., H : 2 * H].mean()
    label = f"LSTM, forget bias {bf:+g} (mean $f$ = {f_mean:.3f})"
    axes[0].semilogy(lags[:T], lstm_input_grad[bf], label=label)
    axes[1].semilogy(lags, cell_norms, label=label)
axes[0].set_title("$\\|\\partial L / \\partial x^{(T-\\ell)}\\|$: "
                  "how far back the gradient reaches")
axes[1].set_title("$\\|\\partial c^{(T)} / \\partial c^{(T-\\ell)}\\|$ "
                  "along the cell (RNN: along $h$)")
for ax in axes:
    ax.set_xlabel("lag $\\ell$")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
plt.tight_layout()
plt.show()

far = T - 1
for bf, g in lstm_input_grad.items():
    print(f"forget bias {bf:+g}: gradient at lag {far} / lag 0 = {g[far] / g[0]:.1e}")
# an open forget gate keeps the far gradient orders of magnitude larger
assert lstm_input_grad[5.0][far] > 100 * lstm_input_grad[-2.0][far]

# %% [markdown]
# ## What to take away
#
# * Backpropagating through $\ell$ steps multiplies $\ell$ Jacobians
#   $\operatorname{diag}(1-h^2)\,W$; their product shrinks or grows roughly like
#   $\rho(W)^\ell$, damped further wherever the $\tanh$ saturates.
# * So a simple RNN trained by gradient descent struggles to learn dependencies more
#   than a few dozen steps long.
# * The LSTM's cell is updated by addition and its Jacobian along the cell is the
#   forget gate itself. With the gate open the gradient survives hundreds of steps,
#   and the network can *learn* when to open and shut it. (That is also why LSTM
#   forget-gate biases are commonly initialised to a positive value.)
#
# ## The same picture from `numbacnn.experiments`
#
# `numbacnn.experiments.vanishing_gradients` is the version of these measurements
# that the documentation shows: the RNN's Jacobian norms for the three spectral
# radii, once with zero input (the state stays in the linear regime of $\tanh$, so
# the norm follows $\rho^\ell$ and really explodes for $\rho = 1.5$) and once with
# random input (saturation tames it), beside the LSTM with the forget-gate bias at
# 0 ($f$ about one half) and at 5 ($f$ near one). Its LSTM panel measures the
# Jacobian of the joint state $(h, c)$, whose coupling through the recurrent weights
# can even make it grow. The function also returns the growth factor per step of
# every curve.

# %%
from IPython.display import Markdown, display

result = numbacnn.experiments.vanishing_gradients()
display(Markdown(result.to_markdown()))
for fig in result.figures.values():
    display(fig)

# %% [markdown]
# Back to the start: [1. Convolution by hand](01-convolution-by-hand.ipynb).
