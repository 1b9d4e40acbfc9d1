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
# # 10. Solution: the gradient of max pooling
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
# The template of this exercise is notebook `10-exercise-max-pool-backward`.

# %%
import os

import numpy as np

from numbacnn.testing import check_max_pool2d_backward

# NUMBACNN_FAST=1 (set in CI) lets the checker try fewer examples
FAST = os.environ.get("NUMBACNN_FAST", "0") == "1"
EXAMPLES = 15 if FAST else 100


# %% [markdown]
# ## A solution
#
# Plain loops, one per index. A later element replaces the current best only if it is
# strictly larger, which leaves the first maximum in row-major order in place; the
# gradient is added with `+=` because overlapping windows can share their maximum.

# %%
def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def max_pool2d_backward(grad_out, x, kernel_size, stride=None, padding=0):
    """Gradient of max pooling with respect to x (the shape and dtype of x).

    grad_out (N, C, Ho, Wo), x (N, C, H, W); kernel_size, stride and padding are
    ints or pairs (along H, along W).
    """
    (kh, kw), (ph, pw) = pair(kernel_size), pair(padding)
    sh, sw = (kh, kw) if stride is None else pair(stride)
    N, C, H, W = x.shape
    Ho, Wo = grad_out.shape[2:]
    grad_x = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    best, where = -np.inf, None
                    for a in range(kh):
                        for b in range(kw):
                            r, q = i * sh - ph + a, j * sw - pw + b
                            if 0 <= r < H and 0 <= q < W and x[n, c, r, q] > best:
                                best, where = x[n, c, r, q], (r, q)
                    grad_x[n, c, where[0], where[1]] += grad_out[n, c, i, j]
    return grad_x


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

# %%
check_max_pool2d_backward(max_pool2d_backward, max_examples=EXAMPLES)
print("check_max_pool2d_backward: every example agrees with the reference")
