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
# # 7. Recurrent networks on time series
#
# A recurrent network reads a sequence one step at a time and carries a hidden state
# from step to step, $h^{(t)} = \tanh(U x^{(t)} + W h^{(t-1)} + b)$, with an output
# $y^{(t)} = V h^{(t)} + c$ read off the state. Two time series are the subject here:
#
# 1. the lecture's **noisy sine** (its one trained RNN example), where a small RNN
#    predicts the next value from the last four, and where the honest question is
#    whether it beats simple baselines;
# 2. a **damped, driven oscillator**. The lecture uses it only on paper, to motivate
#    the recurrence: it writes the equation with an unspecified force $F(t)$, takes
#    one Euler step for the velocity and reads it as an RNN step, with no code and no
#    training. Here we pick a force, check that the Euler step *is* an RNN with
#    particular weights, and then go beyond the lecture: RNN, LSTM and GRU networks
#    learn the step from data and run on their own predictions.

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
from IPython.display import Markdown, display
from sklearn.linear_model import LinearRegression

import numbacnn.functional as F_
from numbacnn.datasets import damped_oscillator, sine_series, sliding_windows

# %% [markdown]
# ## Part 1: the noisy sine
#
# The series is $x_t = \sin(0.02\,t) + 2u_t$ with $u_t$ uniform on $[0, 1]$, for
# $t = 0, \dots, 999$; the first 800 values train, the last 200 test. The noise is
# independent from step to step, so no predictor can know it in advance: the best
# possible prediction of $x_t$ is its mean $\sin(0.02\,t) + 1$, and even that makes a
# mean squared error equal to the noise variance $2^2/12 = 1/3$. That number is the
# floor every model will hit.

# %%
t, x = sine_series(1000, seed=0)
mean = np.sin(0.02 * t) + 1.0  # the noiseless mean of x_t
n_train = 800

plt.figure(figsize=(10, 3.2))
plt.plot(t, x, ".", ms=2, color="0.5", label="$x_t$")
plt.plot(t, mean, "k-", label="$\\sin(0.02t) + 1$")
plt.axvline(n_train, color="crimson", ls="--", label="train | test")
plt.xlabel("t")
plt.legend(loc="lower left", fontsize=8)
plt.show()
print(f"variance of the noise 2u: {np.var(x - mean):.3f} (theory 1/3 = {1 / 3:.3f})")

# %% [markdown]
# ## Windows and honest baselines
#
# `sliding_windows(x, 4)` turns the series into inputs
# $(x_i, x_{i+1}, x_{i+2}, x_{i+3})$ and targets $x_{i+4}$, in the $(N, T, D)$ layout
# of the recurrent layers. We split by the time of the target. (The lecture pads each
# half with copies of its last value instead, inventing a few targets.)
#
# Before any network, three predictors that cost nothing: the last value of the
# window, the mean of the window, and a linear regression on the window. Averaging
# four noisy values cancels part of the noise, which is why the window mean does far
# better than the last value.

# %%
Xw, yw, target_time = sliding_windows(x, 4, return_index=True)
train, test = target_time < n_train, target_time >= n_train
print("windows:", Xw.shape, " first one:", np.round(Xw[0, :, 0], 2), "->",
      np.round(yw[0], 2))

flat = Xw[:, :, 0]
linear = LinearRegression().fit(flat[train], yw[train])
predictions = {
    "last value": flat[test, -1],
    "window mean": flat[test].mean(axis=1),
    "linear regression on the window": linear.predict(flat[test]),
    "the noiseless mean (unknowable)": mean[target_time[test]],
}
baseline_mse = {name: np.mean((p - yw[test]) ** 2) for name, p in predictions.items()}
for name, mse in baseline_mse.items():
    print(f"{name:>34}: test MSE {mse:.3f}")

# %% [markdown]
# ## The lecture's RNN against the baselines
#
# The network is the lecture's: a recurrent layer of 32 ReLU units, a dense layer of 8
# ReLU neurons and one output, trained with RMSprop on the mean squared error.
# `numbacnn.experiments.noisy_sine` trains it twice, for the two ways of reading
# "windows of 4": the lecture's Keras code declares `input_shape=(1, 4)`, i.e. *one*
# time step with four features, so the recurrence never runs and the "RNN" is a
# dense layer; the other reading is a genuine sequence of four steps with one value
# each. It reports both beside the same baselines.

# %%
sine = numbacnn.experiments.noisy_sine()
display(Markdown(sine.to_markdown()))
for fig in sine.figures.values():
    display(fig)

# %% [markdown]
# The verdict: the RNN (in either reading) lands where the window mean and the
# linear regression land, a little above the noise floor of $1/3$. (The floor holds
# in expectation; on one particular draw of 200 test points even the unknowable
# noiseless mean scores a bit more or less than $1/3$.) On this problem there is
# nothing left for a recurrent network to learn beyond smoothing the last few
# values; the lecture's plot of predictions over the data looks convincing but
# cannot show that. Always put a model beside the baselines.
#
# ## Part 2: the oscillator as a recurrence
#
# The lecture's differential equation is the damped oscillator driven by an external
# force, $\ddot x + \gamma \dot x + x = F(t)$ (the lecture calls the damping $\eta$,
# a letter we keep for the learning rate), written as two first-order equations for
# position and velocity, $\dot x = v$ and $\dot v = F - \gamma v - x$. The lecture
# leaves $F$ unspecified and only discretises the velocity; to have a trajectory we
# choose the force ourselves, $F(t) = \cos(\omega t)$ (the choice of
# `numbacnn.datasets.damped_oscillator`), and step both equations. The explicit
# Euler method advances them by a step $\Delta t$:
#
# $$
# \begin{pmatrix} x_{i+1} \\ v_{i+1} \end{pmatrix}
# = \underbrace{\begin{pmatrix} 1 & \Delta t \\ -\Delta t & 1 - \gamma\Delta t
#   \end{pmatrix}}_{W}
#   \begin{pmatrix} x_i \\ v_i \end{pmatrix}
# + \underbrace{\begin{pmatrix} 0 \\ \Delta t \end{pmatrix}}_{U} F_i .
# $$
#
# This is the RNN recurrence with state $h = (x, v)$, input $F$, no bias and no
# squashing. Euler is only first-order accurate (its error shrinks like $\Delta t$),
# so `numbacnn.datasets.damped_oscillator` uses the fourth-order Runge-Kutta method by
# default; the plot compares them.

# %%
dt, gamma = 0.05, 0.2
t_o, x_rk4, v_rk4, F_o = damped_oscillator(40.0, dt=dt, gamma=gamma)
_, x_eul, v_eul, _ = damped_oscillator(40.0, dt=dt, gamma=gamma, method="euler")
_, x_fine, _, _ = damped_oscillator(40.0, dt=dt / 10, gamma=gamma)
x_ref = x_fine[::10]  # RK4 with a ten times smaller step, on the same grid

fig, axes = plt.subplots(1, 2, figsize=(12, 3.6))
axes[0].plot(t_o, x_rk4, "k-", label="RK4")
axes[0].plot(t_o, x_eul, "--", label="Euler")
axes[0].plot(t_o, F_o, ":", lw=1, label="force $F(t)$")
axes[0].set_xlabel("t")
axes[0].set_ylabel("x(t)")
axes[0].legend(fontsize=8)
axes[1].semilogy(t_o, np.abs(x_eul - x_ref) + 1e-16, label="Euler")
axes[1].semilogy(t_o, np.abs(x_rk4 - x_ref) + 1e-16, label="RK4")
axes[1].set_xlabel("t")
axes[1].set_ylabel("|error in x|")
axes[1].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ### The Euler step, run by `rnn_forward`
#
# The recurrence in `numbacnn.functional.rnn_forward` applies a $\tanh$, while the
# Euler step is linear. But $\tanh(a) \approx a$ for small $a$, so if the state and
# the force are scaled down by a factor $s$ (and read back up), the RNN with the
# weights $W$ and $U$ above reproduces Euler's trajectory. The mismatch comes only
# from the curvature of $\tanh$ and shrinks like $s^2$.

# %%
W = np.array([[1.0, dt], [-dt, 1.0 - gamma * dt]])
U = np.array([[0.0], [dt]])
b, V, c = np.zeros(2), np.eye(2), np.zeros(2)
steps = len(t_o) - 1
for scale in (1e-1, 1e-2, 1e-3, 1e-4):
    forcing = (scale * F_o[:steps]).reshape(1, steps, 1)  # F_i drives step i -> i+1
    h0 = scale * np.array([[x_eul[0], v_eul[0]]])
    h, _ = F_.rnn_forward(forcing, h0, U, W, b, V, c)
    gap = np.max(np.abs(h[0] / scale - np.column_stack([x_eul[1:], v_eul[1:]])))
    print(f"scale {scale:.0e}: max |RNN - Euler| = {gap:.1e}")
assert gap < 1e-4 * np.max(np.abs(x_eul))

# %% [markdown]
# ## Learning the step: RNN, LSTM and GRU
#
# Now the other direction: give networks the RK4 trajectory and let them learn the
# step. Each input is a window of 20 consecutive $(x, v, F)$ triples, the target the
# next $(x, v)$; the early part of the trajectory trains, the later part tests.
# `numbacnn.experiments.oscillator` trains a simple RNN, an LSTM and a GRU of 32
# units each, reports the one-step test error, and then runs each network *closed
# loop*: starting from a true window, every prediction is appended to the window
# and fed back in, for hundreds of steps. Errors now accumulate, which makes the
# rollout the real test of whether the network has learned the dynamics.

# %%
osc = numbacnn.experiments.oscillator()
display(Markdown(osc.to_markdown()))
for fig in osc.figures.values():
    display(fig)

# %% [markdown]
# With full training (drop `NUMBACNN_FAST`; the settings are in the printout), all
# three networks learn the single step to a mean squared error of order $10^{-7}$
# (a PyTorch run of the same setup reaches $1.8\cdot10^{-7}$ for the RNN and
# $7\cdot10^{-8}$ for the LSTM), and their 400-step rollouts stay close to the true
# curve, with errors in $x$ of a few hundredths at most. In fast mode the networks
# train for a handful of epochs only, and the rollouts show how quickly small
# one-step errors grow when a model feeds on its own output.
#
# Next: [8. Vanishing and exploding gradients](08-vanishing-gradients.ipynb).
