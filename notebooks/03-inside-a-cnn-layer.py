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
# # 3. Inside a CNN layer
#
# A convolutional network for images is a pipeline of array shapes. A batch of
# images $(N, C, H, W)$ goes through convolutional layers that keep the spatial
# layout but change the number of channels to the number of filters, pooling layers
# that shrink height and width, a flatten step that turns each sample's feature maps
# into one long vector, and dense layers that end in one probability per class. This
# notebook follows one batch of handwritten digits through the lecture's small
# network, counts the parameters of every layer, trains the network, and then opens
# it up: the filters it learned, and the feature maps they produce.

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

# %%
from sklearn.model_selection import train_test_split

from numbacnn import Sequential
from numbacnn.architectures import lecture_cnn
from numbacnn.datasets import load_digits_images

X, y = load_digits_images()  # scikit-learn's 8x8 digits as (N, 1, 8, 8), pixels 0..16
X = X / 16.0  # scale the pixels to [0, 1]
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.2, random_state=0, stratify=y
)
print("train", X_train.shape, " test", X_test.shape)

fig, axes = plt.subplots(1, 10, figsize=(12, 1.6))
for digit, ax in enumerate(axes):
    ax.imshow(X_train[np.flatnonzero(y_train == digit)[0], 0], cmap="gray_r")
    ax.set_title(str(digit))
    ax.axis("off")
plt.show()

# %% [markdown]
# ## The network and its shapes
#
# The lecture's Keras network for these digits: ten $3\times3$ filters with "same"
# padding and ReLU, $2\times2$ max pooling, a dense layer of 50 ReLU neurons and a
# softmax over the 10 classes. `numbacnn.Sequential` infers every input size from the
# data, so the layers only state what they produce. `summary()` lists the output
# shape of each layer for one sample (the batch axis shows as `None`).

# %%
layers = lecture_cnn(10)  # numbacnn.architectures: the lecture's models, defined once
print(*layers, sep="\n")
model = Sequential(layers, seed=1)
model.build(X_train.shape[1:])
model.summary()

# %% [markdown]
# The same shapes by hand: push a batch of five digits through the layers one at a
# time. A convolution with "same" padding keeps $8\times8$ and turns 1 channel into
# 10; pooling halves each side ($\lfloor 8/2\rfloor = 4$); flattening gives
# $10\cdot4\cdot4 = 160$ numbers per digit.

# %%
out = X_train[:5]
print(f"{'input':>10}  {str(out.shape):<16}")
for layer in model.layers:
    out = layer.forward(out)
    name = type(layer).__name__
    print(f"{name:>10}  {str(out.shape):<16} {layer.n_params:6d} parameters")
print("each row of the output sums to", np.round(out.sum(axis=1), 6))

# %% [markdown]
# ## Counting parameters: why convolutions scale
#
# A convolutional layer with $F$ filters of size $k\times k$ over $C$ input channels
# has $F(Ck^2 + 1)$ parameters (the $+1$ is each filter's bias), **whatever the size
# of the image**: the same small filter is reused at every position. A dense layer
# with $n_\text{out}$ neurons on $n_\text{in}$ inputs has $n_\text{out}(n_\text{in}+1)$.
# A dense neuron looking at a whole image needs one weight per pixel: 64 for these
# digits, $28\cdot28 = 784$ for MNIST (the lecture writes 724), and
# $3\cdot128\cdot128 = 49\,152$ for a $128\times128$ colour image.

# %%
C, k, F = 1, 3, 10
expected = [F * (C * k * k + 1), 0, 0, 50 * (160 + 1), 10 * (50 + 1)]
print("by the formulas:", expected)
print("numbacnn says:  ", [layer.n_params for layer in model.layers])
assert expected == [layer.n_params for layer in model.layers]

for side, channels in ((8, 1), (28, 1), (128, 3)):
    print(f"{side:>3}x{side} image, {channels} channel(s): one dense neuron needs "
          f"{side * side * channels:6d} weights; a 3x3 filter needs {9 * channels}")

# %% [markdown]
# ## Training
#
# Adam (numbacnn's default optimizer) and cross-entropy on the softmax output (the
# default loss for a softmax last layer). The held-out digits are evaluated after
# every epoch.

# %%
W_initial = model.layers[0].params["W"].copy()  # (F, C, kh, kw) = (10, 1, 3, 3)
epochs = 5 if FAST else 40
history = model.fit(X_train, y_train, epochs=epochs, batch_size=32,
                    validation_data=(X_test, y_test), verbose=0)
scores = model.evaluate(X_test, y_test)
print(f"test loss {scores['loss']:.3f}, test accuracy {scores['accuracy']:.3f}")

fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
axes[0].plot(history.history["loss"], label="training")
axes[0].plot(history.history["val_loss"], label="test")
axes[0].set_ylabel("cross-entropy")
axes[1].plot(history.history["accuracy"], label="training")
axes[1].plot(history.history["val_accuracy"], label="test")
axes[1].set_ylabel("accuracy")
for ax in axes:
    ax.set_xlabel("epoch")
    ax.legend()
    ax.grid(alpha=0.3)
plt.tight_layout()
plt.show()
assert scores["accuracy"] > 0.8

# %% [markdown]
# ## The learned filters
#
# Each filter is a $3\times3$ array of weights, drawn below before training, after
# training, and the difference (red positive, blue negative, one colour scale per
# panel). Do not expect textbook edge detectors here: with nine weights per filter,
# $8\times8$ images and a dense layer of 8050 weights doing much of the work, the
# filters keep much of their random start, and training nudges them. The bottom row
# shows the direction of each nudge, and the printout how large it was relative to
# the initial weights.

# %%
W_learned = model.layers[0].params["W"]
rows = {"initial": W_initial, "learned": W_learned, "change": W_learned - W_initial}
fig, axes = plt.subplots(3, 10, figsize=(12, 4))
for f in range(10):
    for r, (name, W) in enumerate(rows.items()):
        lim = np.abs(W[f, 0]).max()
        axes[r, f].imshow(W[f, 0], cmap="RdBu_r", vmin=-lim, vmax=lim)
        axes[r, f].set_xticks([])
        axes[r, f].set_yticks([])
        if f == 0:
            axes[r, 0].set_ylabel(name)
    axes[0, f].set_title(f"filter {f}", fontsize=8)
plt.show()
change = (W_learned - W_initial).reshape(10, -1)
moved = np.linalg.norm(change, axis=1)
moved /= np.linalg.norm(W_initial.reshape(10, -1), axis=1)
print("relative change of each filter:", np.round(moved, 2))

# %% [markdown]
# ## Feature maps
#
# Running one test digit through the first two layers shows what each filter
# responds to: every feature map is the digit filtered by one kernel (after the
# ReLU, only positive responses survive), and max pooling keeps the strongest
# response in each $2\times2$ block, trading position detail for a smaller map.

# %%
digit = X_test[:1]
conv_maps = model.layers[0].forward(digit)  # (1, 10, 8, 8)
pooled = model.layers[1].forward(conv_maps)  # (1, 10, 4, 4)
probabilities = model.predict_proba(digit)[0]
print(f"label {y_test[0]}, predicted {probabilities.argmax()} "
      f"with probability {probabilities.max():.2f}")

fig, axes = plt.subplots(3, 10, figsize=(12, 4.2))
for ax in axes.ravel():
    ax.axis("off")
axes[0, 0].imshow(digit[0, 0], cmap="gray_r")
axes[0, 0].set_title("input", fontsize=8)
for f in range(10):
    axes[1, f].imshow(conv_maps[0, f], cmap="viridis")
    axes[1, f].set_title(f"conv map {f}", fontsize=8)
    axes[2, f].imshow(pooled[0, f], cmap="viridis")
    axes[2, f].set_title(f"pooled {f}", fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## What to take away
#
# * Convolution keeps the spatial layout and sets the channel count, pooling shrinks
#   the layout, flatten hands a vector to the dense layers. The shape formulas of
#   notebook 1 predict every step.
# * A convolutional layer's parameter count does not grow with the image, a dense
#   layer's does: that is the practical reason CNNs exist.
# * The trained filters and their feature maps can be looked at directly
#   (`layer.params["W"]`, `layer.forward`), which is a good habit when a network
#   misbehaves.
#
# Next: [4. Backpropagation through a convolution](04-backprop-through-convolution.ipynb).
