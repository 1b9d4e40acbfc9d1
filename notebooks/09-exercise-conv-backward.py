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
# # 9. Exercise: the backward pass of a convolution
#
# Write the backward pass of a batched 2-D convolution (cross-correlation) yourself.
# The forward pass, for images $x_{n,c}$ zero-padded to $x^{\mathrm{pad}}$, filters
# $w_{f,c}$ of size $k_h \times k_w$ and stride $(s_h, s_w)$, is
#
# $$
# y_{n,f,i,j} = b_f + \sum_{c,p,q} w_{f,c,p,q}\; x^{\mathrm{pad}}_{n,c,\,i s_h + p,\, j s_w + q}.
# $$
#
# Given $g = \partial L/\partial y$ of shape `(N, F, Ho, Wo)`, return the three gradients
# derived on the page *Backpropagation through a convolutional layer* of the docs:
#
# $$
# \frac{\partial L}{\partial b_f} = \sum_{n,i,j} g_{n,f,i,j}, \qquad
# \frac{\partial L}{\partial w_{f,c,p,q}} = \sum_{n,i,j} g_{n,f,i,j}\,
#     x^{\mathrm{pad}}_{n,c,\,i s_h + p,\, j s_w + q},
# $$
#
# and $\partial L/\partial x^{\mathrm{pad}}_{n,c,\,i s_h + p,\, j s_w + q}$ collects
# $g_{n,f,i,j}\, w_{f,c,p,q}$ from every output and tap that read that pixel; crop the
# padding off at the end. `stride` and `padding` arrive as an int or a pair
# `(along H, along W)`, as in `numbacnn.functional.conv2d_backward`. Plain NumPy is all
# you need.

# %% [markdown]
# Until the body of `conv2d_backward` is written, the cell above fails: the function
# returns `None`, and the checker says so. Write the body, run the cell again, and
# read each message the checker gives you until it prints that every example agrees.
# A solution is in notebook `09-solution-conv-backward`.

# %%
import os

import numpy as np  # noqa: F401 (yours to use)

from numbacnn.testing import check_conv2d_backward

# NUMBACNN_FAST=1 (set in CI) lets the checker try fewer examples
FAST = os.environ.get("NUMBACNN_FAST", "0") == "1"
EXAMPLES = 15 if FAST else 100


# %% [markdown]
# ## Your kernel

# %%
def conv2d_backward(grad_out, x, weight, stride=1, padding=0):
    """Gradients of conv2d: return (grad_x, grad_weight, grad_bias).

    grad_out (N, F, Ho, Wo), x (N, C, H, W), weight (F, C, kh, kw);
    the results have the shapes of x, weight and (F,), and the dtype of x.
    """
    # your code here


# %% [markdown]
# ## Check it
#
# `check_conv2d_backward` calls your function on many small inputs drawn by Hypothesis and
# compares every output with numbacnn's reference kernel. When an output differs,
# Hypothesis shrinks the inputs to the smallest case that still fails, and the
# `AssertionError` shows that call: the shapes, the options, the inputs, the first
# differing element with the expected and the obtained value, and a hint when the
# result looks like a well-known slip. Nothing is printed by the checker when all
# calls agree.

# %% tags=["raises-exception"]
check_conv2d_backward(conv2d_backward, max_examples=EXAMPLES)
print("check_conv2d_backward: every example agrees with the reference")
