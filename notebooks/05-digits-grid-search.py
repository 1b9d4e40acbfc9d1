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
# # 5. Digits: the lecture's CNN and a grid search over $\eta$ and $\lambda$
#
# The lecture builds a small Keras CNN for scikit-learn's $8\times8$ digits and
# trains it for every combination of learning rate $\eta$ and L2 strength $\lambda$
# on a $7\times7$ logarithmic grid, then draws the training and test accuracies as
# heatmaps. In numbacnn the network is a scikit-learn estimator,
# `numbacnn.sklearn.CNNClassifier`, so the whole grid is one `GridSearchCV` call.
# We also fix a flaw of the original: choosing the best cell by its *test* score
# makes that score an optimistic estimate. Here the grid is scored on a validation
# split carved out of the training data, and the test set is used once, at the end.

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
from sklearn.model_selection import GridSearchCV, ShuffleSplit, train_test_split

from numbacnn.datasets import load_digits_images
from numbacnn.sklearn import CNNClassifier

X, y = load_digits_images()  # (1797, 1, 8, 8), raw pixel counts 0..16 as the lecture
X = X.astype(np.float32)  # float32 trains about twice as fast; plenty for this task
X_train, X_test, y_train, y_test = train_test_split(X, y, train_size=0.8,
                                                    random_state=0)
print("train", X_train.shape, " test", X_test.shape)

# %% [markdown]
# ## The model
#
# `CNNClassifier()` with its defaults *is* the lecture's network: ten $3\times3$
# filters with "same" padding and ReLU, $2\times2$ max pooling, a dense layer of 50
# ReLU neurons and a softmax output, trained by plain stochastic gradient descent on
# the cross-entropy with mini-batches of 100 for 100 epochs, L2 regularisation on all
# weights. One fit first, at the learning rate of Keras's SGD default.
#
# A note on $\lambda$: numbacnn's `l2` adds $\lambda W$ to each weight gradient
# (the penalty $\tfrac{\lambda}{2}\lVert W\rVert^2$), while Keras's `l2(a)` penalises
# $a\lVert W\rVert^2$; so Keras's $a$ corresponds to `l2 = 2a`. On a logarithmic
# grid that is a shift by a factor of two.

# %%
epochs = 4 if FAST else 100
clf = CNNClassifier(eta=0.01, l2=1e-4, epochs=epochs, random_state=0)
t0 = time.perf_counter()
clf.fit(X_train, y_train)
print(f"fit in {time.perf_counter() - t0:.1f} s; "
      f"training accuracy {clf.score(X_train, y_train):.3f}, "
      f"test accuracy {clf.score(X_test, y_test):.3f}")

plt.figure(figsize=(6, 3.5))
plt.plot(np.arange(1, epochs + 1), clf.loss_curve_)
plt.xlabel("epoch")
plt.ylabel("training loss (cross-entropy + L2)")
plt.yscale("log")
plt.grid(alpha=0.3)
plt.show()

# %% [markdown]
# ## The grid, as one `GridSearchCV`
#
# Every cell of the grid trains a fresh network on three quarters of the training
# data and scores it on the remaining quarter (`ShuffleSplit` with one split; use
# `cv=5` for proper cross-validation at five times the cost). `return_train_score`
# keeps the training accuracies for the first heatmap. A learning rate that is too
# large makes the loss overflow; numbacnn stops such a fit with an error, and
# `error_score=np.nan` records the cell as failed instead of aborting the search.
# `n_jobs=-1` would spread the cells over all cores (kept at 1 here, to be a good
# neighbour on a shared machine).

# %%
import warnings

from sklearn.exceptions import FitFailedWarning

if FAST:  # a 2x2 corner of the grid
    eta_vals = np.array([1e-2, 1e-1])
    l2_vals = np.array([1e-4, 1e-2])
else:
    eta_vals = np.logspace(-5, 1, 7)
    l2_vals = np.logspace(-5, 1, 7)

search = GridSearchCV(
    CNNClassifier(epochs=epochs, random_state=0),
    {"eta": eta_vals, "l2": l2_vals},
    cv=ShuffleSplit(n_splits=1, test_size=0.25, random_state=0),
    return_train_score=True,
    error_score=np.nan,
    n_jobs=1,
)
t0 = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore", FitFailedWarning)  # diverged cells: NaN
    warnings.simplefilter("ignore", RuntimeWarning)
    search.fit(X_train, y_train)
grid_seconds = time.perf_counter() - t0
print(f"{len(eta_vals) * len(l2_vals)} cells in {grid_seconds:.1f} s")
print("best cell:", search.best_params_,
      f"validation accuracy {search.best_score_:.3f}")

# %% [markdown]
# ## Heatmaps
#
# Rows are learning rates, columns L2 strengths; failed (diverged) cells are
# marked. Matplotlib is all we need for this (the lecture used seaborn).

# %%
train_acc = np.full((len(eta_vals), len(l2_vals)), np.nan)
val_acc = np.full_like(train_acc, np.nan)
for params, tr, va in zip(search.cv_results_["params"],
                          search.cv_results_["mean_train_score"],
                          search.cv_results_["mean_test_score"], strict=True):
    i = int(np.flatnonzero(eta_vals == params["eta"])[0])
    j = int(np.flatnonzero(l2_vals == params["l2"])[0])
    train_acc[i, j], val_acc[i, j] = tr, va


def heatmap(ax, acc, title):
    im = ax.imshow(acc, cmap="viridis", vmin=0, vmax=1)
    for (i, j), v in np.ndenumerate(acc):
        text = "div." if np.isnan(v) else f"{v:.2f}"
        ax.text(j, i, text, ha="center", va="center", fontsize=8,
                color="black" if v > 0.6 else "white")
    ax.set_xticks(range(len(l2_vals)), [f"{v:.0e}" for v in l2_vals], rotation=45)
    ax.set_yticks(range(len(eta_vals)), [f"{v:.0e}" for v in eta_vals])
    ax.set_xlabel("$\\lambda$ (l2)")
    ax.set_ylabel("$\\eta$")
    ax.set_title(title)
    return im


fig, axes = plt.subplots(1, 2, figsize=(12, 5.2), constrained_layout=True)
heatmap(axes[0], train_acc, "training accuracy")
im = heatmap(axes[1], val_acc, "validation accuracy")
fig.colorbar(im, ax=axes, shrink=0.8)
plt.show()

# %% [markdown]
# How to read the maps:
#
# * Too small a learning rate and 100 epochs are not enough to get far from the
#   random start (the top rows); too large and SGD on raw $0..16$ pixels overshoots
#   and diverges (the bottom rows). Good cells lie on a band in between.
# * A large $\lambda$ shrinks all weights towards zero faster than the data can
#   push them apart, and accuracy falls to chance (right columns); small values make
#   little difference on this easy problem.
# * Training and validation maps look much alike, a few points apart at best: on
#   this problem the grid is about optimisation far more than about overfitting.
#
# ## The test set, used once
#
# `GridSearchCV` refits the best cell on the whole training set (`refit=True` by
# default), and that model meets the test data for the first and only time.

# %%
best = search.best_estimator_
test_accuracy = best.score(X_test, y_test)
print(f"best cell {search.best_params_}: test accuracy {test_accuracy:.3f}")
assert test_accuracy > (0.5 if FAST else 0.95)  # chance is 0.1

# %% [markdown]
# The lecture's notebook reports the best *test* accuracy over the grid, which
# picks the luckiest of 49 test scores; the number above is an honest estimate of how
# the selected model does on new digits. `numbacnn.experiments.digits_grid_search`
# runs the lecture's protocol exactly (test heatmaps, optionally beside PyTorch in
# the same run) for the reference tables in the documentation.
#
# Next: [6. MNIST](06-mnist.ipynb).
