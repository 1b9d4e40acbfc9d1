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
# # 1. Convolution by hand
#
# A convolutional network is built from one operation: slide a small array of
# weights (the *kernel* or *filter*) over an image and, at every position, take the
# weighted sum of the pixels underneath it. This notebook does that operation by hand
# on the lecture's $6\times 6$ example, then lets `numbacnn.signal` do it and checks
# every answer against `scipy.signal`. Along the way it settles three details that
# decide the shape and orientation of the result: **padding**, **stride**, and the
# difference between **convolution** and **cross-correlation**.

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
# ## From an integral to a double sum
#
# For two functions on the real line, the convolution at $t$ is the integral of
# $f(\tau)\,g(t-\tau)$ over all $\tau$: $g$ is mirrored, shifted to $t$, multiplied
# with $f$ and the product is summed up. On a grid the integral becomes a sum, and on
# a two-dimensional grid (an image $I$ with a kernel $K$) a double sum:
#
# $$
# (I * K)[i, j] \;=\; \sum_{m}\sum_{n} I[m, n]\; K[i - m,\, j - n]
#               \;=\; \sum_{p}\sum_{q} I[i - p,\, j - q]\; K[p, q].
# $$
#
# The minus signs are the mirror: as the kernel index $p$ grows, the image index
# moves the *other* way. Dropping them gives the **cross-correlation**
#
# $$
# (I \star K)[i, j] \;=\; \sum_{p=0}^{k_h-1}\sum_{q=0}^{k_w-1}
#                         I[i + p,\, j + q]\; K[p, q],
# $$
#
# which is "lay the kernel on the image with its corner at $(i, j)$, multiply, add".
# That is what every CNN layer computes (and still calls convolution). The two agree
# whenever the kernel is symmetric under a half-turn, like the averaging kernel of
# the lecture's example.

# %%
image = np.array(
    [
        [4, 1, 2, 9, 8, 6],
        [9, 5, 9, 5, 8, 5],
        [1, 5, 9, 7, 6, 4],
        [2, 9, 8, 3, 7, 1],
        [8, 1, 6, 4, 2, 2],
        [1, 0, 5, 7, 8, 2],
    ],
    dtype=float,
)
kernel = np.full((3, 3), 1 / 9)  # a 3x3 moving average (a low-pass filter)


def show_matrix(ax, a, title, fmt="{:.0f}", cmap="Blues"):
    """Draw a small matrix with its numbers written in the cells."""
    ax.imshow(a, cmap=cmap)
    lo, hi = a.min(), a.max()
    for (r, c), v in np.ndenumerate(a):
        dark = hi > lo and (v - lo) > 0.6 * (hi - lo)  # white text on dark cells
        ax.text(c, r, fmt.format(v), ha="center", va="center", fontsize=9,
                color="white" if dark else "black")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)


fig, axes = plt.subplots(1, 2, figsize=(7, 3.2), width_ratios=[2, 1])
show_matrix(axes[0], image, "image $I$ (6x6)")
show_matrix(axes[1], kernel, "kernel $K$ (3x3)", fmt="{:.2f}", cmap="Oranges")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## One output pixel, by hand
#
# Put the kernel on the top-left $3\times3$ window, multiply element by element and
# add the nine products. With an averaging kernel this is simply the mean of the
# window: $(4+1+2+9+5+9+1+5+9)/9 = 45/9 = 5$.

# %%
window = image[0:3, 0:3]
print(window)
print("sum of products:", np.sum(window * kernel))

# %% [markdown]
# ## The whole table: the loop, then `numbacnn.signal`
#
# Sliding the window one column (or row) at a time, the kernel fits
# $6 - 3 + 1 = 4$ times across and $4$ times down, so without padding the result is
# $4\times4$. The two nested loops below are the cross-correlation formula written
# out; `numbacnn.signal.correlate2d(..., mode="valid")` computes the same table with a
# compiled loop kernel. The lecture prints this table rounded to two decimals, and we
# compare with it.

# %%
kh, kw = kernel.shape
Ho, Wo = image.shape[0] - kh + 1, image.shape[1] - kw + 1
by_hand = np.zeros((Ho, Wo))
for i in range(Ho):
    for j in range(Wo):
        by_hand[i, j] = np.sum(image[i : i + kh, j : j + kw] * kernel)

valid = numbacnn.signal.correlate2d(image, kernel, mode="valid")
lecture_table = np.array(
    [
        [5.00, 5.78, 7.00, 6.44],
        [6.33, 6.67, 6.89, 5.11],
        [5.44, 5.78, 5.78, 4.00],
        [4.44, 4.78, 5.56, 4.00],
    ]
)
print(np.round(valid, 2))
assert np.allclose(valid, by_hand)
assert np.array_equal(np.round(valid, 2), lecture_table)
print("loop == numbacnn == the lecture's table (to its two decimals)")

# %% [markdown]
# ## Padding: keeping the size
#
# Every valid filtering shrinks the image by $k-1$ pixels per axis. To keep the
# size, surround the image with a border before filtering. With an odd kernel the
# border is $\lfloor k/2 \rfloor$ pixels on every side ($1$ for a $3\times3$ kernel,
# turning the $6\times6$ image into $8\times8$), and the valid filtering of the padded
# image is the **"same"** mode. Padding by $k-1$ on every side gives the **"full"**
# mode: every position where kernel and image overlap at all. In general, for an
# $H$-pixel axis, a $k$-tap kernel and $p$ pixels of padding on each side,
#
# $$H_\text{out} = H + 2p - k + 1 .$$
#
# What goes into the border is a choice too: zeros (`boundary="fill"`), the image
# mirrored at its edge (`"symm"`), or the image wrapped around as if periodic
# (`"wrap"`).

# %%
padded = np.pad(image, 1)  # one ring of zeros
same = numbacnn.signal.correlate2d(image, kernel, mode="same")
assert np.allclose(same, numbacnn.signal.correlate2d(padded, kernel, mode="valid"))

fig, axes = plt.subplots(1, 2, figsize=(8, 3.8))
show_matrix(axes[0], padded, "zero-padded image (8x8)")
show_matrix(axes[1], same, "'same' output (6x6)", fmt="{:.1f}", cmap="Greens")
plt.tight_layout()
plt.show()

for mode in ("valid", "same", "full"):
    out = numbacnn.signal.correlate2d(image, kernel, mode=mode)
    print(f"{mode:>5}: output shape {out.shape}")

# %% [markdown]
# The border fill changes only the pixels near the edge. Here are the three choices
# side by side on the small image (the centre $4\times4$ block is identical in all of
# them, it never sees the border).

# %%
fig, axes = plt.subplots(1, 3, figsize=(10, 3.6))
for ax, boundary in zip(axes, ("fill", "symm", "wrap"), strict=True):
    out = numbacnn.signal.correlate2d(image, kernel, mode="same", boundary=boundary)
    show_matrix(ax, out, f"boundary={boundary!r}", fmt="{:.1f}", cmap="Greens")
    assert np.allclose(out[1:-1, 1:-1], valid)
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Even kernels
#
# With an even kernel, say $2\times 2$, "same" needs $k - 1 = 1$ extra row in total,
# which cannot be split evenly between top and bottom. The lecture's code pads
# $2\lfloor k/2\rfloor$ rows (two, for $k = 2$) and cuts windows of
# $2\lfloor k/2\rfloor + 1$ rows, which for an even kernel no longer match the
# kernel's size. `numbacnn.signal` follows `scipy.signal` (the output is the centre
# part of the "full" result); for the batched layers `numbacnn.functional.conv2d`
# follows PyTorch and puts the extra row at the bottom and the extra column on the
# right. Either way the output has the input's shape, and we check the single-image
# version against scipy.

# %%
import scipy.signal

for k in (2, 4):
    even = rng.normal(size=(k, k))
    ours = numbacnn.signal.correlate2d(image, even, mode="same")
    ref = scipy.signal.correlate2d(image, even, mode="same")
    print(f"{k}x{k} kernel: 'same' output {ours.shape}, "
          f"max |numbacnn - scipy| = {np.max(np.abs(ours - ref)):.1e}")
    assert ours.shape == image.shape and np.allclose(ours, ref)

# %% [markdown]
# ## Stride: skipping positions
#
# A stride $s$ moves the window $s$ pixels at a time, so only every $s$-th output of
# the stride-1 result is computed. The output shrinks to
#
# $$H_\text{out} = \left\lfloor \frac{H + 2p - k}{s} \right\rfloor + 1 ,$$
#
# which is why a stride of 2 roughly halves each side (and does a quarter of the
# work). The picture shows where the window's top-left corner lands with stride 1
# and stride 2 on the zero-padded image.

# %%
fig, axes = plt.subplots(1, 2, figsize=(8, 4))
for ax, s in zip(axes, (1, 2), strict=True):
    ax.imshow(padded, cmap="Blues", alpha=0.5)
    out = numbacnn.signal.correlate2d(image, kernel, mode="same", stride=s)
    rows, cols = np.meshgrid(np.arange(out.shape[0]) * s, np.arange(out.shape[1]) * s,
                             indexing="ij")
    ax.plot(cols.ravel(), rows.ravel(), "o", color="crimson")
    # the first window, and (dashed) the next one along the row
    ax.add_patch(plt.Rectangle((-0.5, -0.5), 3, 3, fill=False, lw=2, ec="crimson"))
    ax.add_patch(plt.Rectangle((s - 0.5, -0.5), 3, 3, fill=False, lw=2, ec="crimson",
                               ls="--"))
    ax.set_title(f"stride {s}: output {out.shape[0]}x{out.shape[1]}")
    ax.set_xticks([])
    ax.set_yticks([])
plt.tight_layout()
plt.show()

H, k, p = image.shape[0], 3, 1
for s in (1, 2, 3):
    out = numbacnn.signal.correlate2d(image, kernel, mode="same", stride=s)
    formula = (H + 2 * p - k) // s + 1
    print(f"stride {s}: output {out.shape}, formula gives {formula}")
    assert out.shape == (formula, formula)

# %% [markdown]
# ## Convolution or cross-correlation? Flip the kernel and see
#
# A kernel that is not symmetric tells the two operations apart. The cleanest test is
# an image that is a single bright pixel (an *impulse*): convolution stamps a copy of
# the kernel around it, cross-correlation stamps the kernel rotated by half a turn.
# This is the 180-degree rotation the lecture's filtering code performs, and which a
# CNN layer skips. Since the kernel is learned, it does not matter for a network which
# of the two it uses, but it matters when you compare with a textbook filter or with
# `scipy.signal.convolve2d`.

# %%
arrow = np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 1.0], [0.0, 0.0, 0.0]])  # not symmetric
impulse = np.zeros((7, 7))
impulse[3, 3] = 1.0

conv = numbacnn.signal.convolve2d(impulse, arrow, mode="same")
corr = numbacnn.signal.correlate2d(impulse, arrow, mode="same")

fig, axes = plt.subplots(1, 3, figsize=(9, 3.2))
show_matrix(axes[0], arrow, "kernel", cmap="Oranges")
show_matrix(axes[1], conv, "convolve2d(impulse, kernel)")
show_matrix(axes[2], corr, "correlate2d(impulse, kernel)")
plt.tight_layout()
plt.show()

# convolution == cross-correlation with the kernel rotated by 180 degrees
flipped = arrow[::-1, ::-1]
assert np.allclose(numbacnn.signal.convolve2d(image, arrow, mode="full"),
                   numbacnn.signal.correlate2d(image, flipped, mode="full"))
assert np.allclose(conv[2:5, 2:5], arrow) and np.allclose(corr[2:5, 2:5], flipped)
print("convolve2d(I, K) == correlate2d(I, K rotated by 180 degrees)")

# %% [markdown]
# ## Checking against `scipy.signal`
#
# `numbacnn.signal.correlate2d` and `convolve2d` are drop-in replacements for their
# scipy namesakes, with a `stride` on top (equal to slicing scipy's result with
# `[::s_v, ::s_h]`). The loop below tries every mode and boundary, rectangular
# kernels and both strides on random images and records the largest difference.

# %%
worst = 0.0
cases = 0
for mode in ("full", "same", "valid"):
    for boundary in ("fill", "symm", "wrap"):
        for kshape in ((3, 3), (2, 5), (4, 1)):
            for stride in (1, (2, 3)):
                a = rng.normal(size=(9, 11))
                b = rng.normal(size=kshape)
                sv, sh = (stride, stride) if np.isscalar(stride) else stride
                for ours_fn, ref_fn in (
                    (numbacnn.signal.correlate2d, scipy.signal.correlate2d),
                    (numbacnn.signal.convolve2d, scipy.signal.convolve2d),
                ):
                    ours = ours_fn(a, b, mode=mode, boundary=boundary, stride=stride)
                    ref = ref_fn(a, b, mode=mode, boundary=boundary)[::sv, ::sh]
                    assert ours.shape == ref.shape
                    worst = max(worst, float(np.max(np.abs(ours - ref))))
                    cases += 1
print(f"{cases} cases, largest |numbacnn - scipy| = {worst:.2e}")
assert worst < 1e-12

# %% [markdown]
# ## What to take away
#
# * A 2-D convolution layer computes, at every output pixel, a weighted sum over a
#   small window; without padding the output loses $k-1$ pixels per axis.
# * Padding decides the output size (`valid`, `same`, `full`) and what the filter
#   sees at the border (`fill`, `symm`, `wrap`); the stride divides the size.
# * Convolution mirrors the kernel, cross-correlation does not. Image-processing code
#   usually means the first, CNN libraries (and `numbacnn.functional.conv2d`) the
#   second.
#
# Next: [2. Filtering a real photograph](02-filtering-a-photograph.ipynb).
