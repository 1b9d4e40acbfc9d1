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
# # 11. Exercise: backpropagation through time
#
# Write backpropagation through time for the simple RNN of the lecture,
#
# $$
# a^{(t)} = U x^{(t)} + W h^{(t-1)} + b, \qquad h^{(t)} = \tanh a^{(t)}, \qquad
# y^{(t)} = V h^{(t)} + c ,
# $$
#
# run on a batch of $N$ sequences, batch first: `x` is `(N, T, D)`, `h` (the states of
# the forward pass) `(N, T, H)` with `h[:, t]` $= h^{(t+1)}$, `h0` $= h^{(0)}$ `(N, H)`.
# `W_ih` is $U$, `W_hh` is $W$. Given `grad_y` $= \nabla_{y^{(t)}}\mathcal L$ for every
# step, go backwards from the last step with
#
# $$
# \nabla_{h^{(t)}}\mathcal L = V^{\mathsf T}\nabla_{y^{(t)}}\mathcal L
#     + W^{\mathsf T}\delta^{(t+1)}, \qquad
# \delta^{(t)} = \bigl(1 - h^{(t)} \odot h^{(t)}\bigr) \odot \nabla_{h^{(t)}}\mathcal L
# $$
#
# (no second term at the last step), and sum the contributions of every step and every
# sequence to the shared weights:
# $\nabla_U = \sum_t \delta^{(t)} x^{(t)\mathsf T}$,
# $\nabla_W = \sum_t \delta^{(t)} h^{(t-1)\mathsf T}$, $\nabla_b = \sum_t \delta^{(t)}$,
# $\nabla_V = \sum_t \nabla_{y^{(t)}} h^{(t)\mathsf T}$, $\nabla_c = \sum_t \nabla_{y^{(t)}}$,
# with $\nabla_{x^{(t)}} = U^{\mathsf T}\delta^{(t)}$ and
# $\nabla_{h^{(0)}} = W^{\mathsf T}\delta^{(1)}$. The page *The simple RNN and
# backpropagation through time* of the docs derives these. The signature is that of
# `numbacnn.functional.rnn_backward` without its optional arguments.

# %% [markdown]
# Until the body of `rnn_backward` is written, the cell above fails: the function
# returns `None`, and the checker says so. Write the body, run the cell again, and
# read each message the checker gives you until it prints that every example agrees.
# A solution is in notebook `11-solution-bptt`.

# %%
import os

import numpy as np  # noqa: F401 (yours to use)

from numbacnn.testing import check_rnn_backward

# NUMBACNN_FAST=1 (set in CI) lets the checker try fewer examples
FAST = os.environ.get("NUMBACNN_FAST", "0") == "1"
EXAMPLES = 15 if FAST else 100


# %% [markdown]
# ## Your kernel

# %%
def rnn_backward(grad_y, x, h0, h, W_ih, W_hh, V):
    """BPTT for the tanh RNN: return (grad_x, grad_h0, grad_W_ih, grad_W_hh, grad_b,
    grad_V, grad_c), shaped like x, h0, W_ih, W_hh, (H,), V and (O,).
    """
    # your code here


# %% [markdown]
# ## Check it
#
# `check_rnn_backward` calls your function on many small inputs drawn by Hypothesis and
# compares every output with numbacnn's reference kernel. When an output differs,
# Hypothesis shrinks the inputs to the smallest case that still fails, and the
# `AssertionError` shows that call: the shapes, the options, the inputs, the first
# differing element with the expected and the obtained value, and a hint when the
# result looks like a well-known slip. Nothing is printed by the checker when all
# calls agree.

# %% tags=["raises-exception"]
check_rnn_backward(rnn_backward, max_examples=EXAMPLES)
print("check_rnn_backward: every example agrees with the reference")
