"""Shared pieces of the two RNN figures: a tiny RNN run by numbacnn, and the drawing grid.

The figures on :doc:`/theory/rnn` are drawn at docs build time by the scripts
``rnn_unrolled.py`` and ``bptt_flow.py`` beside this file (Matplotlib's plot
directive runs them).  Both draw the same one-unit RNN, unrolled over ``T``
steps, and write into its nodes the numbers that numbacnn computes for it.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch

from numbacnn.functional import rnn_backward, rnn_forward

T = 4
#: one hidden unit, one input, one output: every weight is a number
U, W, V, B, C = 0.9, 0.8, 1.5, 0.0, 0.0
X = np.array([1.0, -0.5, 0.25, 0.75])
TARGET = np.array([0.5, 0.0, 0.0, 1.0])
H0 = 0.0

ROW = {"x": 0.0, "h": 1.6, "y": 3.2, "L": 4.6}
COLOR = {"x": "#dbe9f6", "h": "#fde2b8", "y": "#d8efd3", "L": "#eeeeee"}


def run():
    """Forward and backward pass of the one-unit RNN with loss sum_t (y_t - target_t)^2 / 2.

    Returns the states, outputs, dL/dy, dL/dh, delta and the gradients.  The
    backward recursion is written out here (it is what the BPTT figure shows) and
    checked against :func:`numbacnn.functional.rnn_backward`.
    """
    x = X.reshape(1, T, 1)
    args = (np.array([[H0]]), np.array([[U]]), np.array([[W]]), np.array([B]),
            np.array([[V]]), np.array([C]))
    h, y = rnn_forward(x, *args)
    h, y = h[0, :, 0], y[0, :, 0]
    gy = y - TARGET                                   # dL/dy(t)
    gh, delta = np.zeros(T), np.zeros(T)
    from_future = 0.0
    for t in reversed(range(T)):                      # the lecture's chain rule, step by step
        gh[t] = V * gy[t] + from_future
        delta[t] = gh[t] * (1 - h[t] ** 2)
        from_future = W * delta[t]
    h_prev = np.concatenate([[H0], h[:-1]])
    grads = {"U": delta * X, "W": delta * h_prev, "V": gy * h}
    g = rnn_backward(gy.reshape(1, T, 1), x, args[0], h.reshape(1, T, 1),
                     args[1], args[2], args[4])
    np.testing.assert_allclose(g[2][0, 0], grads["U"].sum(), rtol=1e-12)
    np.testing.assert_allclose(g[3][0, 0], grads["W"].sum(), rtol=1e-12)
    np.testing.assert_allclose(g[5][0, 0], grads["V"].sum(), rtol=1e-12)
    np.testing.assert_allclose(g[1][0, 0], W * delta[0], rtol=1e-12)
    return {"h": h, "y": y, "gy": gy, "gh": gh, "delta": delta, "grads": grads, "rnn_grads": g}


def node(ax, col, row, label, value=None, color=None):
    xc, yc = 2.0 * col, ROW[row]
    ax.add_patch(plt.Circle((xc, yc), 0.42, facecolor=color or COLOR[row],
                            edgecolor="#444444", lw=1.2, zorder=2))
    if value is None:
        ax.text(xc, yc, label, ha="center", va="center", fontsize=12, zorder=3)
    else:
        ax.text(xc, yc + 0.12, label, ha="center", va="center", fontsize=11, zorder=3)
        ax.text(xc, yc - 0.18, f"{value:+.2f}", ha="center", va="center", fontsize=8,
                zorder=3)


def arrow(ax, start, end, label=None, color="#555555", width=1.4, label_offset=(0.0, 0.0),
          rad=0.0):
    (c0, r0), (c1, r1) = start, end
    p0 = np.array([2.0 * c0, ROW[r0]])
    p1 = np.array([2.0 * c1, ROW[r1]])
    d = (p1 - p0) / np.linalg.norm(p1 - p0)
    ax.add_patch(FancyArrowPatch(tuple(p0 + 0.45 * d), tuple(p1 - 0.45 * d),
                                 arrowstyle="-|>", mutation_scale=12, color=color,
                                 lw=width, connectionstyle=f"arc3,rad={rad}", zorder=1))
    if label:
        mid = (p0 + p1) / 2 + np.array(label_offset)
        ax.text(*mid, label, ha="center", va="center", fontsize=9, color=color,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5}, zorder=3)


def axes(width=11.0, height=5.2):
    fig, ax = plt.subplots(figsize=(width, height))
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax
