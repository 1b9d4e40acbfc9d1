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
# # 9. Solution: the backward pass of a convolution
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
# The template of this exercise is notebook `09-exercise-conv-backward`.

# %%
import os

import numpy as np

from numbacnn.testing import check_conv2d_backward

# NUMBACNN_FAST=1 (set in CI) lets the checker try fewer examples
FAST = os.environ.get("NUMBACNN_FAST", "0") == "1"
EXAMPLES = 15 if FAST else 100


# %% [markdown]
# ## A solution
#
# One loop over the taps $(p, q)$ of the kernel. For a fixed tap, the outputs read a
# strided block of the padded input, `x_pad[:, :, p::sh, q::sw]` cut to `(Ho, Wo)`;
# the weight gradient of that tap contracts this block with $g$ over images and
# pixels, and the input gradient sends $g \cdot w_{f,c,p,q}$ back to the same block.
# Blocks of neighbouring taps overlap, so the input gradient is accumulated with
# `+=`.

# %%
def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def conv2d_backward(grad_out, x, weight, stride=1, padding=0):
    """Gradients of conv2d: return (grad_x, grad_weight, grad_bias).

    grad_out (N, F, Ho, Wo), x (N, C, H, W), weight (F, C, kh, kw);
    the results have the shapes of x, weight and (F,), and the dtype of x.
    """
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    H, W = x.shape[2:]
    kh, kw = weight.shape[2:]
    Ho, Wo = grad_out.shape[2:]
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    grad_x_pad = np.zeros_like(x_pad)
    grad_weight = np.zeros_like(weight)
    grad_bias = grad_out.sum(axis=(0, 2, 3))
    for p in range(kh):
        for q in range(kw):
            rows = slice(p, p + sh * (Ho - 1) + 1, sh)
            cols = slice(q, q + sw * (Wo - 1) + 1, sw)
            grad_weight[:, :, p, q] = np.einsum("nfij,ncij->fc", grad_out, x_pad[:, :, rows, cols])
            grad_x_pad[:, :, rows, cols] += np.einsum("nfij,fc->ncij", grad_out, weight[:, :, p, q])
    return grad_x_pad[:, :, ph:ph + H, pw:pw + W], grad_weight, grad_bias


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

# %%
check_conv2d_backward(conv2d_backward, max_examples=EXAMPLES)
print("check_conv2d_backward: every example agrees with the reference")


# %% [markdown]
# ## What a slip looks like
#
# Averaging the bias gradient over the batch and the pixels instead of summing it is
# a common slip (a loss that averages over the batch divides $g$ already). The
# checker shrinks it to a small call and names it:

# %%
def averaged_bias(grad_out, x, weight, stride=1, padding=0):
    grad_x, grad_weight, grad_bias = conv2d_backward(grad_out, x, weight, stride, padding)
    N, _, Ho, Wo = grad_out.shape
    return grad_x, grad_weight, grad_bias / (N * Ho * Wo)


try:
    check_conv2d_backward(averaged_bias, max_examples=EXAMPLES)
except AssertionError as err:
    print(err)
