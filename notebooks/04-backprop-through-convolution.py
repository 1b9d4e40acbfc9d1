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
# # 4. Backpropagation through a convolution
#
# To train a convolutional layer we need, for a loss $L$ computed from the layer's
# output $y$, the gradient with respect to the kernel (to update it), the bias, and
# the layer's input (to pass on to the layer below). The lecture states that these
# gradients are themselves convolutions; this notebook derives them index by index,
# writes each formula as a few lines of NumPy, and checks `numbacnn`'s compiled
# `conv2d_backward` against three independent witnesses: that NumPy transcription,
# automatic differentiation with `autograd`, and finite differences. It ends with
# pooling, whose gradient is a routing rule rather than a sum, and the
# `numbacnn.gradcheck` helper that does the finite-difference check for any
# forward/backward pair.

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
# ## The forward pass, written as a sum
#
# A batch of $N$ images with $C$ channels, $x_{n,c,h,w}$, goes through $F$ filters
# $w_{f,c,p,q}$ of size $k_h\times k_w$ with stride $s$ and zero padding; call the
# padded input $\bar x$. Each output pixel is
#
# $$
# y_{n,f,i,j} = b_f + \sum_{c}\sum_{p}\sum_{q} w_{f,c,p,q}\;
#               \bar x_{n,c,\; s i + p,\; s j + q}.
# $$
#
# Let $g_{n,f,i,j} = \partial L/\partial y_{n,f,i,j}$ be the gradient that arrives from
# above. Every parameter and every input pixel influences $L$ only through the output
# pixels it takes part in, so by the chain rule each gradient is a sum of $g$ over
# those pixels, weighted by the derivative of $y$ with respect to that quantity.

# %%
F_ = numbacnn.functional

N, C, H, W = 2, 3, 7, 6
F, kh, kw = 4, 3, 2
stride, padding = (2, 1), 1
x = rng.normal(size=(N, C, H, W))
w = rng.normal(size=(F, C, kh, kw))
b = rng.normal(size=F)

y = F_.conv2d(x, w, b, stride=stride, padding=padding)
Ho, Wo = y.shape[2:]
print("x", x.shape, "* w", w.shape, "->  y", y.shape)

# a loss whose gradient we know: L = sum(y * R), so dL/dy = R
R = rng.normal(size=y.shape)
grad_x, grad_w, grad_b = F_.conv2d_backward(R, x, w, stride=stride, padding=padding)
print("gradients:", grad_x.shape, grad_w.shape, grad_b.shape)

# %% [markdown]
# ## The three gradients
#
# **Bias.** $b_f$ is added to every output pixel of map $f$, with derivative one:
#
# $$\frac{\partial L}{\partial b_f} = \sum_{n,i,j} g_{n,f,i,j}.$$
#
# **Kernel.** $w_{f,c,p,q}$ multiplies the input pixel at offset $(p, q)$ inside every
# window:
#
# $$\frac{\partial L}{\partial w_{f,c,p,q}} = \sum_{n,i,j} g_{n,f,i,j}\;
# \bar x_{n,c,\; s i + p,\; s j + q},$$
#
# a cross-correlation of the input with the output gradient (with the stride now
# acting as a spacing between the taps of $g$). Every window contributes, over every
# image of the batch; the lecture's loop instead reads one leftover window only.
#
# **Input.** The padded pixel $\bar x_{n,c,u,v}$ meets the weight $w_{f,c,p,q}$ in
# every window with $s i + p = u$ and $s j + q = v$:
#
# $$\frac{\partial L}{\partial \bar x_{n,c,u,v}} = \sum_{f}\sum_{p,q}
# w_{f,c,p,q}\; g_{n,f,\,(u-p)/s,\,(v-q)/s},$$
#
# summing only where $(u-p)/s$ and $(v-q)/s$ are whole numbers inside the output.
# That is a *full convolution* of $g$ (spread out with $s-1$ zeros between its entries)
# with the kernel, the kernel's half-turn appearing because the indices subtract.
# Finally the padding ring is cut away: those pixels were constants.
#
# The NumPy lines below transcribe the three formulas directly, with one loop over the
# kernel taps $(p, q)$; the strided slice `xp[:, :, p : p + s*Ho : s, ...]` picks the
# input pixel that tap meets in every window.

# %%
sh, sw = stride
xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))

my_grad_b = R.sum(axis=(0, 2, 3))

my_grad_w = np.zeros_like(w)
my_grad_xp = np.zeros_like(xp)
for p in range(kh):
    for q in range(kw):
        rows = slice(p, p + sh * Ho, sh)
        cols = slice(q, q + sw * Wo, sw)
        # dL/dw[f, c, p, q] = sum over n, i, j of R[n, f, i, j] * xp[n, c, s*i+p, s*j+q]
        my_grad_w[:, :, p, q] = np.einsum("nfij,ncij->fc", R, xp[:, :, rows, cols])
        # each window sends R[n, f, i, j] * w[f, c, p, q] back to the pixel it read
        my_grad_xp[:, :, rows, cols] += np.einsum("nfij,fc->ncij", R, w[:, :, p, q])
my_grad_x = my_grad_xp[:, :, padding:-padding, padding:-padding]

for name, ours, mine in (("x", grad_x, my_grad_x), ("w", grad_w, my_grad_w),
                         ("b", grad_b, my_grad_b)):
    print(f"grad_{name}: max |numbacnn - formula| = {np.max(np.abs(ours - mine)):.1e}")
    assert np.allclose(ours, mine)

# %% [markdown]
# ## Witness two: automatic differentiation
#
# `autograd` knows nothing about convolutions; it differentiates whatever NumPy code
# it is given by recording the operations and replaying them backwards. Write the
# forward pass once more with `autograd.numpy` (as a sum of shifted, strided slices,
# so it is different code from the loops above) and ask for the gradient of
# $L = \sum y \odot R$ with respect to each argument.

# %%
import autograd
import autograd.numpy as anp


def conv_forward_autograd(x, w, b):
    pads = ((0, 0), (0, 0), (padding, padding), (padding, padding))
    xp = anp.pad(x, pads, mode="constant")  # autograd needs the mode spelled out
    out = 0.0
    for p in range(kh):
        for q in range(kw):
            patch = xp[:, :, p : p + sh * Ho : sh, q : q + sw * Wo : sw]
            out = out + anp.einsum("ncij,fc->nfij", patch, w[:, :, p, q])
    return out + b[None, :, None, None]


def loss(x, w, b):
    return anp.sum(conv_forward_autograd(x, w, b) * R)


assert np.allclose(conv_forward_autograd(x, w, b), y)
ag_x, ag_w, ag_b = (autograd.grad(loss, argnum=k)(x, w, b) for k in range(3))
for name, ours, ref in (("x", grad_x, ag_x), ("w", grad_w, ag_w), ("b", grad_b, ag_b)):
    print(f"grad_{name}: max |numbacnn - autograd| = {np.max(np.abs(ours - ref)):.1e}")
    assert np.allclose(ours, ref, rtol=1e-10, atol=1e-12)


# %% [markdown]
# ## Witness three: finite differences
#
# The most direct check needs no calculus at all: nudge one number by $\pm h$, run
# the forward pass twice and take the slope,
#
# $$\frac{\partial L}{\partial \theta} \approx \frac{L(\theta + h) - L(\theta - h)}{2h}.$$
#
# The error of this central difference has two parts pulling in opposite
# directions: the truncation error of the formula shrinks like $h^2$, while rounding
# error in the two loss values, divided by $2h$, grows like $\varepsilon/h$. (Our
# loss $\sum y\odot R$ is *linear* in each weight, which makes the central difference
# exact for any $h$; to see the trade-off we pass $y$ through a $\tanh$ first, as an
# activation would, so $\partial L/\partial y = R\,(1-\tanh^2 y)$.) The plot sweeps
# $h$ for one kernel weight and shows the V that results; near its bottom
# ($h\approx 10^{-5}$ in double precision) the finite difference agrees with the
# analytic gradient to about ten digits.

# %%
def conv_loss(x, w, b):
    return float(np.sum(F_.conv2d(x, w, b, stride=stride, padding=padding) * R))


def tanh_loss(x, w, b):
    y = F_.conv2d(x, w, b, stride=stride, padding=padding)
    return float(np.sum(np.tanh(y) * R))


# chain rule through the tanh, then the convolution's backward pass
grad_y_tanh = R * (1 - np.tanh(y) ** 2)
grad_w_tanh = F_.conv2d_backward(grad_y_tanh, x, w, stride=stride, padding=padding)[1]

index = (1, 2, 0, 1)  # one kernel weight
hs = np.logspace(-1, -12, 23)
errors = []
for h in hs:
    w_plus, w_minus = w.copy(), w.copy()
    w_plus[index] += h
    w_minus[index] -= h
    numeric = (tanh_loss(x, w_plus, b) - tanh_loss(x, w_minus, b)) / (2 * h)
    errors.append(abs(numeric - grad_w_tanh[index]) / abs(grad_w_tanh[index]))

plt.figure(figsize=(6, 4))
plt.loglog(hs, errors, "o-")
plt.xlabel("step h")
plt.ylabel("relative error of the central difference")
plt.title("truncation ($h^2$) against rounding ($\\varepsilon/h$)")
plt.grid(True, which="both", alpha=0.3)
plt.show()
print(f"best relative error {min(errors):.1e} at h = {hs[int(np.argmin(errors))]:.0e}")
assert min(errors) < 1e-8


# %% [markdown]
# Checking every entry this way is the classic "gradient check". For the whole
# input and kernel it is a loop over all entries; the relative error of the full
# gradient vector is the number to look at.

# %%
def numeric_gradient(f, a, h=1e-6):
    """Central differences of the scalar function f for every entry of a."""
    grad = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        old = a[i]
        a[i] = old + h
        up = f()
        a[i] = old - h
        down = f()
        a[i] = old
        grad[i] = (up - down) / (2 * h)
    return grad


fd_x = numeric_gradient(lambda: conv_loss(x, w, b), x)
fd_w = numeric_gradient(lambda: conv_loss(x, w, b), w)
for name, ours, ref in (("x", grad_x, fd_x), ("w", grad_w, fd_w)):
    rel = np.linalg.norm(ours - ref) / np.linalg.norm(ref)
    print(f"grad_{name}: relative error against finite differences {rel:.1e}")
    assert rel < 1e-7

# %% [markdown]
# ## Pooling: the gradient is routed, not summed
#
# Max pooling keeps the largest value of each window; a small change of any other
# value in the window does not change the output at all. So the whole incoming
# gradient of an output goes to the one input that was the maximum, and the others
# get zero. Average pooling divides each output's gradient equally among its window.
# With overlapping windows (stride smaller than the window) an input can receive
# gradient from several outputs, and those contributions add up. The little example
# makes the routing visible: one gradient of one per output.

# %%
xpool = rng.permutation(16).astype(float).reshape(1, 1, 4, 4)  # distinct: no ties
out_max = F_.max_pool2d(xpool, 2)
ones = np.ones_like(out_max)
g_max = F_.max_pool2d_backward(ones, xpool, 2)
g_avg = F_.avg_pool2d_backward(ones, xpool, 2)
g_overlap = F_.max_pool2d_backward(np.ones((1, 1, 3, 3)), xpool, 2, stride=1)


def grid(ax, a, title, window=None):
    ax.imshow(a, cmap="Greens", vmin=0, vmax=1.6 * max(a.max(), 1))
    for (r, c), v in np.ndenumerate(a):
        ax.text(c, r, f"{v:g}", ha="center", va="center")
    ax.set_xticks([])
    ax.set_yticks([])
    if window:  # draw the pooling windows
        for k in range(window, a.shape[0], window):
            ax.axhline(k - 0.5, color="k", lw=1.5)
            ax.axvline(k - 0.5, color="k", lw=1.5)
    ax.set_title(title, fontsize=9)


fig, axes = plt.subplots(1, 4, figsize=(13, 3.4))
grid(axes[0], xpool[0, 0], "input, 2x2 windows", window=2)
grid(axes[1], g_max[0, 0], "max-pool gradient, 2x2 stride 2", window=2)
grid(axes[2], g_avg[0, 0], "avg-pool gradient, 2x2 stride 2", window=2)
grid(axes[3], g_overlap[0, 0], "max-pool gradient, stride 1 (overlap)")
plt.tight_layout()
plt.show()
assert g_max.sum() == out_max.size and np.allclose(g_avg, 0.25)
assert g_overlap.sum() == 9

# %% [markdown]
# ## The `numbacnn.gradcheck` helper
#
# The finite-difference loop above is worth having as a tool: `numbacnn.gradcheck`
# takes a forward function and the analytic gradients you claim for it, runs the
# central differences for you and reports the worst relative error. Here it checks a
# strided, padded pooling layer and the convolution's backward pass again, and it
# catches a deliberately broken gradient (the sort of bug the lecture's pooling
# backward has, where the gradient lands on the wrong pixels).

# %%
xq = rng.normal(size=(2, 2, 5, 6))
errors = numbacnn.gradcheck(
    lambda x: F_.max_pool2d(x, 3, stride=2, padding=1),
    lambda g: F_.max_pool2d_backward(g, xq, 3, stride=2, padding=1),
    [xq],
)
print(f"max pooling 3x3, stride 2, padding 1: relative error {errors[0]:.1e}")

errors = numbacnn.gradcheck(
    lambda x, w, b: F_.conv2d(x, w, b, stride=stride, padding=padding),
    lambda g: F_.conv2d_backward(g, x, w, stride=stride, padding=padding),
    [x, w, b],
)
print("conv2d, relative errors for x, w, b:", ", ".join(f"{e:.1e}" for e in errors))

# a wrong backward pass: max pooling's gradient spread like average pooling's
try:
    numbacnn.gradcheck(lambda x: F_.max_pool2d(x, 2),
                       lambda g: F_.avg_pool2d_backward(g, xq, 2), [xq])
except AssertionError as err:  # gradcheck raises numbacnn's GradcheckError
    print("the broken gradient is caught:", err)
else:
    raise RuntimeError("gradcheck should have rejected the wrong gradient")

# %% [markdown]
# ## What to take away
#
# * The bias gradient sums the output gradient; the kernel gradient correlates the
#   input with it; the input gradient is a full convolution of the output gradient
#   with the kernel. Stride and padding enter as spacing and cropping.
# * Three witnesses that share no code with the kernels (a NumPy transcription,
#   autograd, finite differences) agree with `conv2d_backward` to rounding error.
# * Pooling passes gradients to where the values came from; overlapping windows add.
#   `numbacnn.gradcheck` turns the finite-difference test into one call.
#
# Next: [5. Digits](05-digits-grid-search.ipynb).
