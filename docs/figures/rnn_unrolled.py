"""The simple RNN, folded and unrolled over four steps (drawn at docs build time).

The numbers in the nodes are the states and outputs that
``numbacnn.functional.rnn_forward`` computes for a one-unit RNN with the weights
of ``_unrolled.py``.
"""

import matplotlib.pyplot as plt
from _unrolled import ROW, B, T, U, V, W, X, arrow, axes, node, run
from matplotlib.patches import FancyArrowPatch

res = run()
fig, ax = axes(12.5, 5.4)

# the folded cell, left: one set of weights, a loop through W
fold = -2.2
for row, label in (("x", "$x^{(t)}$"), ("h", "$h^{(t)}$"), ("y", "$y^{(t)}$")):
    node(ax, fold, row, label)
arrow(ax, (fold, "x"), (fold, "h"), "$U$", label_offset=(0.3, 0))
arrow(ax, (fold, "h"), (fold, "y"), "$V$", label_offset=(0.3, 0))
cx, cy = 2.0 * fold, ROW["h"]
ax.add_patch(FancyArrowPatch((cx + 0.3, cy + 0.3), (cx + 0.3, cy - 0.3), arrowstyle="-|>",
                             mutation_scale=12, color="#555555", lw=1.4,
                             connectionstyle="arc3,rad=-2.0"))
ax.text(cx + 1.05, cy, "$W$", fontsize=10, color="#555555", va="center")
ax.text(2.0 * fold, -0.9, "folded", ha="center", fontsize=10)
ax.text(-1.9, ROW["h"] + 0.55, "unroll", ha="center", fontsize=10)
ax.annotate("", xy=(-1.1, ROW["h"]), xytext=(-2.7, ROW["h"]),
            arrowprops={"arrowstyle": "-|>", "lw": 2, "color": "#888888"})

# the unrolled chain, right: the same U, W, V at every step
node(ax, 0, "h", "$h^{(0)}$", 0.0)
for t in range(1, T + 1):
    node(ax, t, "x", f"$x^{{({t})}}$", X[t - 1])
    node(ax, t, "h", f"$h^{{({t})}}$", res["h"][t - 1])
    node(ax, t, "y", f"$y^{{({t})}}$", res["y"][t - 1])
    node(ax, t, "L", f"$L^{{({t})}}$", 0.5 * res["gy"][t - 1] ** 2)
    arrow(ax, (t, "x"), (t, "h"), "$U$", label_offset=(0.28, 0))
    arrow(ax, (t - 1, "h"), (t, "h"), "$W$", label_offset=(0, 0.25))
    arrow(ax, (t, "h"), (t, "y"), "$V$", label_offset=(0.28, 0))
    arrow(ax, (t, "y"), (t, "L"))
ax.text(2.0 * (T + 1) - 0.9, ROW["L"], r"$\mathcal{L} = \sum_t L^{(t)}$", fontsize=11,
        va="center")
ax.text(2.0 * (T + 1) - 0.9, ROW["h"],
        "$h^{(t)} = \\tanh(U x^{(t)} + W h^{(t-1)} + b)$\n$y^{(t)} = V h^{(t)} + c$",
        fontsize=10, va="center")
ax.text(2.0 * (T + 1) - 0.9, ROW["x"],
        f"$U = {U}$, $W = {W}$, $V = {V}$, $b = c = {B:g}$", fontsize=9, va="center")
ax.set_xlim(2.0 * fold - 1.0, 2.0 * (T + 1) + 4.6)
ax.set_ylim(-1.2, ROW["L"] + 0.7)
fig.tight_layout()
plt.show()
