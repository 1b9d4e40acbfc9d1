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
# # 2. Filtering a real photograph
#
# The $6\times6$ example showed the mechanics; here the same operation works on a
# real photograph. Two classic hand-made filters show what a kernel can do: a
# **Gaussian** kernel blurs (it averages each pixel with its neighbours, the nearest
# ones counting most) and the **Sobel** kernels respond to edges (they are
# differences of neighbouring pixels). A CNN learns kernels like these from data.
#
# Filtering an image of $H\times W$ pixels with a $k\times k$ kernel costs about
# $HWk^2$ multiplications, which grows fast with the kernel. The second half of the
# notebook looks at two ways around that cost, *separable* kernels and the *fast
# Fourier transform*, and times all of them as the image and the kernel grow.

# %%
import os
import time

import matplotlib.pyplot as plt
import numpy as np

import numbacnn

# NUMBACNN_FAST=1 (set in CI) shrinks every experiment so the notebook runs in seconds;
# without it the notebook reproduces the full experiment.
FAST = os.environ.get("NUMBACNN_FAST", "0") == "1"
rng = np.random.default_rng(2024)
print(f"numbacnn {numbacnn.__version__}; fast mode: {FAST}")

# %%
import scipy.signal
from sklearn.datasets import load_sample_image

rgb = load_sample_image("china.jpg")  # ships with scikit-learn, no download
# luminance: the usual weighted sum of the red, green and blue channels
photo = rgb @ np.array([0.299, 0.587, 0.114])
if FAST:
    photo = photo[::2, ::2]  # a quarter of the pixels is plenty to look at
print("grayscale photo:", photo.shape, photo.dtype)

plt.figure(figsize=(7, 4.5))
plt.imshow(photo, cmap="gray", vmin=0, vmax=255)
plt.title("the photograph, in gray levels")
plt.axis("off")
plt.show()

# %% [markdown]
# ## Blurring with a Gaussian kernel
#
# The Gaussian kernel samples $\exp\!\big(-(x^2 + y^2)/(2\sigma^2)\big)$ on a small
# grid centred at zero and divides by the sum, so that filtering a flat region leaves
# it unchanged. `numbacnn.signal.gaussian_kernel(sigma)` returns such a kernel (its
# size grows with $\sigma$, wide enough to hold almost all of the bell). The larger
# $\sigma$, the wider the average and the stronger the blur. Mirroring the photo at
# its edges (`boundary="symm"`) avoids a dark frame that zero padding would leave.

# %%
sigmas = (1.0, 3.0, 6.0)
fig, axes = plt.subplots(2, len(sigmas), figsize=(12, 6.5),
                         height_ratios=[1, 2.2])
for col, sigma in enumerate(sigmas):
    g = numbacnn.signal.gaussian_kernel(sigma)
    assert np.isclose(g.sum(), 1.0) and np.allclose(g, g[::-1, ::-1])
    blurred = numbacnn.signal.convolve2d(photo, g, mode="same", boundary="symm")
    axes[0, col].imshow(g, cmap="magma")
    axes[0, col].set_title(f"Gaussian, sigma={sigma:g}: {g.shape[0]}x{g.shape[1]}")
    axes[1, col].imshow(blurred, cmap="gray", vmin=0, vmax=255)
    axes[1, col].set_title(f"blurred with sigma={sigma:g}")
    for ax in axes[:, col]:
        ax.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Edges with the Sobel kernels
#
# The horizontal Sobel kernel $G_x$ subtracts the column left of a pixel from the
# column right of it (weighting the middle row twice), so it is large where the
# brightness changes from left to right: at vertical edges. $G_y$ is its transpose and
# finds horizontal edges. `numbacnn.signal.sobel_kernels()` returns them written for
# cross-correlation (`correlate2d`), so that the response is positive where the
# image gets brighter to the right (or downwards); convolution would flip the sign.
# The length of the gradient vector, $\sqrt{(I\star G_x)^2 + (I\star G_y)^2}$,
# marks edges in every direction. A light blur first keeps the sensor noise from
# showing up as a carpet of tiny edges.

# %%
gx, gy = numbacnn.signal.sobel_kernels()
print("G_x =\n", gx, "\nG_y =\n", gy)

smooth = numbacnn.signal.convolve2d(photo, numbacnn.signal.gaussian_kernel(1.0),
                                    mode="same", boundary="symm")
ex = numbacnn.signal.correlate2d(smooth, gx, mode="same", boundary="symm")
ey = numbacnn.signal.correlate2d(smooth, gy, mode="same", boundary="symm")
magnitude = np.hypot(ex, ey)

fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
lim = np.percentile(np.abs(ex), 99)
axes[0].imshow(ex, cmap="RdBu", vmin=-lim, vmax=lim)
axes[0].set_title(r"$I \star G_x$ (vertical edges)")
axes[1].imshow(ey, cmap="RdBu", vmin=-lim, vmax=lim)
axes[1].set_title(r"$I \star G_y$ (horizontal edges)")
axes[2].imshow(magnitude, cmap="gray_r", vmax=np.percentile(magnitude, 99))
axes[2].set_title("gradient magnitude")
for ax in axes:
    ax.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Separable kernels: two thin passes instead of one square one
#
# Some kernels are an outer product of a column and a row, $K = c\,r^{\mathsf T}$.
# Then the double sum splits into two single sums: filter every column with $c$,
# then every row of the result with $r$. That costs about $2k$ instead of $k^2$
# multiplications per pixel. Both kernels above are of this kind: the Gaussian is
# the product of two 1-D Gaussians (so its rows all have the same shape), and
# $G_x = (1, 2, 1)^{\mathsf T}(-1, 0, 1)$, a smoothing along one axis times a
# difference along the other. A matrix is such an outer product exactly when it has
# rank one, which the singular values reveal: only the first is non-zero.

# %%
g = numbacnn.signal.gaussian_kernel(3.0)
print("singular values of the Gaussian kernel:", np.round(np.linalg.svd(g)[1][:4], 12))
print("singular values of G_x:                ", np.round(np.linalg.svd(gx)[1], 12))

# the 1-D factor of a normalised Gaussian is its row sums (its marginal)
g1 = g.sum(axis=1)
assert np.allclose(np.outer(g1, g1), g)
sep = numbacnn.signal.separable_convolve2d(photo, g1, g1, mode="same")
direct = numbacnn.signal.convolve2d(photo, g, mode="same")
print("max |separable - direct| =", np.max(np.abs(sep - direct)))
assert np.allclose(sep, direct)

col, row = np.array([1.0, 2.0, 1.0]), np.array([-1.0, 0.0, 1.0])
assert np.allclose(np.outer(col, row), gx)
assert np.allclose(numbacnn.signal.separable_convolve2d(photo, col, row, mode="same"),
                   numbacnn.signal.convolve2d(photo, gx, mode="same"))

# %% [markdown]
# ## Convolution in the Fourier domain
#
# The convolution theorem turns convolution into multiplication: the Fourier transform
# of $I * K$ is the product of the transforms of $I$ and $K$. With the fast Fourier
# transform (FFT) that costs about $HW\log(HW)$ operations *whatever the kernel size*.
# Two practical details: both arrays are zero-padded to the size of the full result,
# otherwise the FFT's periodicity would wrap the edges onto each other; and the answer
# carries rounding errors of the order of the machine epsilon times the size of the
# values, instead of being exact sums.

# %%
fft_full = numbacnn.signal.fftconvolve2d(photo, g, mode="full")
direct_full = numbacnn.signal.convolve2d(photo, g, mode="full")
print("full result:", fft_full.shape, "max |FFT - direct| =",
      f"{np.max(np.abs(fft_full - direct_full)):.1e}")
assert np.allclose(fft_full, direct_full)
assert np.allclose(fft_full, scipy.signal.fftconvolve(photo, g, mode="full"))


# %% [markdown]
# ## What each method costs
#
# Three predictions to test: direct filtering grows like $k^2$, separable filtering
# like $k$, and FFT filtering hardly depends on $k$ at all; for a fixed kernel all of
# them grow roughly in proportion to the number of pixels. The timing loop keeps the
# best of a few repetitions (the first call of a numba kernel compiles it, so every
# method runs once before it is timed). `scipy.signal.convolve2d` is there as the
# familiar yardstick. Absolute times depend on the machine, and on a busy one they
# wobble; the slopes are what to look at.

# %%
def best_time(fn, *args, repeat=3):
    fn(*args)  # warm up: compile, fill caches
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t0)
    return min(times)


def gaussian_factor(k):
    """A k-tap normalised 1-D Gaussian and the k x k kernel it makes."""
    x = np.arange(k) - (k - 1) / 2
    g1 = np.exp(-(x**2) / (2 * (k / 6) ** 2))
    g1 /= g1.sum()
    return g1, np.outer(g1, g1)


methods = {
    "direct (numbacnn.signal.convolve2d)":
        lambda a, g1, g2: numbacnn.signal.convolve2d(a, g2, mode="same"),
    "separable (separable_convolve2d)":
        lambda a, g1, g2: numbacnn.signal.separable_convolve2d(a, g1, g1, mode="same"),
    "FFT (fftconvolve2d)":
        lambda a, g1, g2: numbacnn.signal.fftconvolve2d(a, g2, mode="same"),
    "scipy.signal.convolve2d":
        lambda a, g1, g2: scipy.signal.convolve2d(a, g2, mode="same"),
}

n_fixed = 128 if FAST else 512
kernel_sizes = [3, 7, 15, 31] if FAST else [3, 5, 9, 15, 23, 31, 45, 63]
k_fixed = 9
image_sizes = [64, 128, 256] if FAST else [64, 128, 256, 512, 1024, 2048]

by_kernel = {name: [] for name in methods}
a = rng.normal(size=(n_fixed, n_fixed))
for k in kernel_sizes:
    g1, g2 = gaussian_factor(k)
    for name, fn in methods.items():
        by_kernel[name].append(best_time(fn, a, g1, g2))

by_image = {name: [] for name in methods}
g1, g2 = gaussian_factor(k_fixed)
for n in image_sizes:
    a = rng.normal(size=(n, n))
    for name, fn in methods.items():
        by_image[name].append(best_time(fn, a, g1, g2))

# %%
fig, axes = plt.subplots(1, 2, figsize=(13, 4.8))
for name in methods:
    axes[0].loglog(kernel_sizes, by_kernel[name], "o-", label=name)
    axes[1].loglog(np.square(image_sizes), by_image[name], "o-", label=name)
axes[0].set_xlabel("kernel side k")
axes[0].set_title(f"{n_fixed}x{n_fixed} image, k x k kernel")
axes[1].set_xlabel("number of pixels H*W")
axes[1].set_title(f"{k_fixed}x{k_fixed} kernel, growing square image")
for ax in axes:
    ax.set_ylabel("seconds (best of 3)")
    ax.grid(True, which="both", alpha=0.3)
axes[0].legend(fontsize=8)
plt.tight_layout()
plt.show()

names = list(methods)
for i, k in enumerate(kernel_sizes):
    row = "  ".join(f"{by_kernel[name][i] * 1e3:8.2f}" for name in names)
    print(f"k={k:3d}: {row}   (ms: direct, separable, FFT, scipy)")
direct_t, fft_t = np.array(by_kernel[names[0]]), np.array(by_kernel[names[2]])
faster = [k for k, d, f in zip(kernel_sizes, direct_t, fft_t, strict=True) if f < d]
print("FFT beats the direct loop from k =", faster[0] if faster else "(not here)")

# %% [markdown]
# Reading the plots:
#
# * The direct method's time climbs with the square of the kernel side, the
#   separable one's roughly linearly; the FFT line is nearly flat in $k$, so it
#   overtakes the direct method once the kernel is large enough (the printout
#   above says where, on this machine). A separable kernel, filtered as two 1-D
#   passes, is usually cheaper still; the FFT is the tool for large kernels that do
#   not separate. The lecture finds the FFT quickest for its photograph, and adds a
#   caution: for small images one of the other methods may be faster, because
#   transforming the image and the kernel and transforming back costs time of its
#   own. The kernel-size axis shows the same overhead: for the $3\times3$ kernels
#   of a typical CNN the FFT is the slowest method here, which is why CNN libraries
#   use direct (or matrix-multiplication) convolution.
# * For a fixed kernel every method scales with the number of pixels (a slope of one
#   on the log-log plot); the FFT adds a slowly growing logarithm.
# * The lecture's pure-Python loops take seconds for one small image; compiled loops
#   bring the direct method to the speed of the library routines.
#
# Next: [3. Inside a CNN layer](03-inside-a-cnn-layer.ipynb).
