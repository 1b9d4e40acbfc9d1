"""Backpropagation through time on the unrolled RNN (drawn at docs build time).

Top: the gradient flows backwards, from each loss term down to its output and
from every state to the one before it; the numbers are dL/dy and dL/dh of the
one-unit RNN of ``_unrolled.py``, and the widths of the red arrows grow with the
size of what they carry.  Bottom: the shared weights collect one term per step;
the sums are checked against ``numbacnn.functional.rnn_backward``.
"""

import matplotlib.pyplot as plt
import numpy as np
from _unrolled import ROW, T, W, X, arrow, node, run

res = run()
gy, gh, delta, grads = res["gy"], res["gh"], res["delta"], res["grads"]
RED = "#c0392b"
scale = 3.0 / max(np.abs(gh).max(), np.abs(gy).max())

fig = plt.figure(figsize=(12.5, 8.2))
ax = fig.add_axes([0.0, 0.36, 1.0, 0.64])
ax.set_aspect("equal")
ax.axis("off")
node(ax, 0, "h", r"$\partial_{h^{(0)}}$", res["rnn_grads"][1][0, 0])
for t in range(1, T + 1):
    node(ax, t, "x", f"$x^{{({t})}}$", X[t - 1])
    node(ax, t, "h", rf"$\partial_{{h^{{({t})}}}}$", gh[t - 1])
    node(ax, t, "y", rf"$\partial_{{y^{{({t})}}}}$", gy[t - 1])
    node(ax, t, "L", f"$L^{{({t})}}$")
    arrow(ax, (t, "L"), (t, "y"), color=RED, width=1.4)
    arrow(ax, (t, "y"), (t, "h"), r"$V^{\top}$", color=RED,
          width=0.5 + scale * abs(gy[t - 1]), label_offset=(0.3, 0))
    arrow(ax, (t, "h"), (t - 1, "h"), rf"$W^{{\top}}\delta^{{({t})}}$", color=RED,
          width=0.5 + scale * abs(W * delta[t - 1]), label_offset=(0, 0.3))
    ax.text(2.0 * t + 0.5, ROW["h"] - 0.55, rf"$\delta^{{({t})}} = {delta[t - 1]:+.2f}$",
            fontsize=8, color=RED)
    arrow(ax, (t, "h"), (t, "x"), r"$U^{\top}\delta$", color="#999999", width=1.0,
          label_offset=(0.3, 0))
ax.text(2.0 * T + 1.9, ROW["L"],
        r"$\partial_{y^{(t)}} \mathcal{L} = y^{(t)} - y_{\mathrm{target}}^{(t)}$", fontsize=10,
        va="center")
ax.text(2.0 * T + 1.9, ROW["h"] + 0.35,
        r"$\partial_{h^{(t)}} \mathcal{L} = V^{\top} \partial_{y^{(t)}} \mathcal{L}"
        r" + W^{\top} \delta^{(t+1)}$", fontsize=10, va="center")
ax.text(2.0 * T + 1.9, ROW["h"] - 0.35,
        r"$\delta^{(t)} = \partial_{h^{(t)}} \mathcal{L} \odot (1 - h^{(t)2})$", fontsize=10,
        va="center")
ax.text(2.0 * T + 1.9, ROW["x"], "the backward pass runs from\n$t = T$ down to $t = 1$",
        fontsize=9, va="center")
ax.set_xlim(-1.0, 2.0 * T + 7.6)
ax.set_ylim(-0.7, ROW["L"] + 0.7)

bx = fig.add_axes([0.08, 0.07, 0.56, 0.25])
steps = np.arange(1, T + 1)
h_prev = np.concatenate([[0.0], res["h"][:-1]])
for offset, key, label in ((-0.25, "U", r"$\delta^{(t)} x^{(t)}$ to $\nabla_U$"),
                           (0.0, "W", r"$\delta^{(t)} h^{(t-1)}$ to $\nabla_W$"),
                           (0.25, "V", r"$\partial_{y^{(t)}}\mathcal{L}\, h^{(t)}$ to $\nabla_V$")):
    bx.bar(steps + offset, grads[key], width=0.25, label=label)
bx.axhline(0, color="#444444", lw=0.8)
bx.set_xticks(steps, [f"t = {t}" for t in steps])
bx.set_ylabel("term of the sum")
bx.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
totals = "   ".join(f"$\\nabla_{k} = {grads[k].sum():+.3f}$" for k in ("U", "W", "V"))
bx.set_title("the shared weights add one term per step; sums (= rnn_backward): " + totals,
             fontsize=9)
plt.show()
