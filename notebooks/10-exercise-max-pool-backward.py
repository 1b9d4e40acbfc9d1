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
# # 10. Exercise: the gradient of max pooling
#
# Write the gradient of 2-D max pooling. Window $(i, j)$ of a pooling layer with kernel
# $(k_h, k_w)$, stride $(s_h, s_w)$ and padding $(p_h, p_w)$ covers the input rows
# $i s_h - p_h, \dots, i s_h - p_h + k_h - 1$ and the columns
# $j s_w - p_w, \dots, j s_w - p_w + k_w - 1$; positions outside the input are padding
# and never win. The output is the window's maximum, so its derivative is 1 at the
# maximum and 0 elsewhere:
#
# $$
# \frac{\partial L}{\partial x_{n,c,u,v}} = \sum_{(i,j):\ (u,v) = \operatorname{argmax}
#     \text{ of window } (i,j)} \frac{\partial L}{\partial y_{n,c,i,j}} .
# $$
#
# Two rules matter. When windows overlap (stride below the kernel size) one pixel can be
# the maximum of several windows and receives the sum of their gradients. When a window
# holds its maximum more than once, the whole gradient goes to the **first** maximum in
# row-major order, as in PyTorch. The checker draws values from $\{0, 1, 2\}$, so ties
# are everywhere. The signature is that of `numbacnn.functional.max_pool2d_backward`;
# the checker always passes `stride` (never `None`).

# %% [markdown]
# Until the body of `max_pool2d_backward` is written, the cell above fails: the function
# returns `None`, and the checker says so. Write the body, run the cell again, and
# read each message the checker gives you until it prints that every example agrees.
# A solution is in notebook `10-solution-max-pool-backward`.

# %%
import os

import numpy as np  # noqa: F401 (yours to use)

from numbacnn.testing import check_max_pool2d_backward

# NUMBACNN_FAST=1 (set in CI) lets the checker try fewer examples
FAST = os.environ.get("NUMBACNN_FAST", "0") == "1"
EXAMPLES = 15 if FAST else 100


# %% [markdown]
# ## Your kernel

# %%
def max_pool2d_backward(grad_out, x, kernel_size, stride=None, padding=0):
    """Gradient of max pooling with respect to x (the shape and dtype of x).

    grad_out (N, C, Ho, Wo), x (N, C, H, W); kernel_size, stride and padding are
    ints or pairs (along H, along W).
    """
    # your code here


# %% [markdown]
# ## Check it
#
# `check_max_pool2d_backward` calls your function on many small inputs drawn by Hypothesis and
# compares every output with numbacnn's reference kernel. When an output differs,
# Hypothesis shrinks the inputs to the smallest case that still fails, and the
# `AssertionError` shows that call: the shapes, the options, the inputs, the first
# differing element with the expected and the obtained value, and a hint when the
# result looks like a well-known slip. Nothing is printed by the checker when all
# calls agree.

# %% tags=["raises-exception"]
check_max_pool2d_backward(max_pool2d_backward, max_examples=EXAMPLES)
print("check_max_pool2d_backward: every example agrees with the reference")
