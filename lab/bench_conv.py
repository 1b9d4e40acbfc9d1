"""conv2d forward and backward: numbacnn against torch, float32 and float64.

Usage::

    python3 lab/bench_conv.py --out PATH.md [--rounds 5] [--quick]

The protocol (own process per library, interleaved rounds, ratio of medians)
is :mod:`harness`'s.  Shapes:

(a) N=256, C=1,  28x28, F=32, 3x3, padding 1
(b) N=256, C=32, 14x14, F=64, 3x3, padding 1
(c) N=128, C=3,  32x32, F=32, 3x3, no padding
(d) N=128, C=16, 32x32, F=32, 3x3, padding 1, stride 2

numbacnn: :func:`numbacnn.functional.conv2d` and ``conv2d_backward`` (the
three gradients).  torch: ``torch.nn.functional.conv2d`` under ``no_grad``
for the forward, and ``aten.convolution_backward`` for the same three
gradients, its forward outside the clock.  Before timing a shape, torch runs
one forward and backward through autograd on it, as a training step would
(a no-grad forward of a fresh shape is several times slower until then).
``--quick`` divides N by 16.
"""

import sys

import harness
import numpy as np

TITLE = "conv2d forward and backward: numbacnn / torch"
DEFAULT_REPEAT = 5
SHAPES = {
    "a": dict(N=256, C=1, H=28, W=28, F=32, k=3, padding=1, stride=1),
    "b": dict(N=256, C=32, H=14, W=14, F=64, k=3, padding=1, stride=1),
    "c": dict(N=128, C=3, H=32, W=32, F=32, k=3, padding=0, stride=1),
    "d": dict(N=128, C=16, H=32, W=32, F=32, k=3, padding=1, stride=2),
}
# the targets for numbacnn time / torch time
TARGETS = {("float32", "forward"): 1.25, ("float32", "backward"): 1.5,
           ("float64", "forward"): 0.5, ("float64", "backward"): 1.0}
CASES = [
    harness.Case(f"{op}-{dtype}-{shape}", f"{op} {dtype} ({shape})", "torch",
                 TARGETS[(dtype, op)])
    for dtype in ("float32", "float64") for op in ("forward", "backward") for shape in SHAPES
]


def data(key, quick):
    """The arrays of one case, the same in every process: ``(op, x, w, b, g, stride, padding)``."""
    op, dtype, shape = key.split("-")
    cs = dict(SHAPES[shape])
    if quick:
        cs["N"] = max(1, cs["N"] // 16)
    rng = np.random.default_rng(0)
    N, C, H, W, F, k = (cs[n] for n in ("N", "C", "H", "W", "F", "k"))
    s, p = cs["stride"], cs["padding"]
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = (rng.standard_normal((F, C, k, k)) / np.sqrt(C * k * k)).astype(dtype)
    b = rng.standard_normal(F).astype(dtype)
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    g = rng.standard_normal((N, F, Ho, Wo)).astype(dtype)
    return op, x, w, b, g, s, p


def _numbacnn(key, quick, repeat):
    from numbacnn.functional import conv2d, conv2d_backward

    op, x, w, b, g, s, p = data(key, quick)
    if op == "forward":
        def fn():
            return conv2d(x, w, b, stride=s, padding=p)
        warm = None
    else:
        def fn():
            return conv2d_backward(g, x, w, stride=s, padding=p)

        def warm():
            conv2d(x, w, b, stride=s, padding=p)
            fn()
    seconds = harness.median_call(fn, repeat, warm)
    out = fn()
    return seconds, harness.fingerprint(*(out if isinstance(out, tuple) else (out,)))


def _torch(key, quick, repeat):
    import torch

    op, x, w, b, g, s, p = data(key, quick)
    xt, wt, bt, gt = (torch.from_numpy(a) for a in (x, w, b, g))

    def train_step():  # what a training step runs on this shape
        xr, wr, br = (t.clone().requires_grad_(True) for t in (xt, wt, bt))
        torch.nn.functional.conv2d(xr, wr, br, stride=s, padding=p).backward(gt)

    if op == "forward":
        def fn():
            with torch.no_grad():
                return (torch.nn.functional.conv2d(xt, wt, bt, stride=s, padding=p),)
    else:
        def fn():
            return torch.ops.aten.convolution_backward(
                gt, xt, wt, [wt.shape[0]], [s, s], [p, p], [1, 1], False, [0, 0], 1,
                [True, True, True])

    def warm():
        train_step()
        fn()

    seconds = harness.median_call(fn, repeat, warm)
    return seconds, harness.fingerprint(*(t.numpy() for t in fn()))


def measure(library, keys, quick, repeat):
    run = _numbacnn if library == "numbacnn" else _torch
    return {key: run(key, quick, repeat) for key in keys}


if __name__ == "__main__":
    sys.exit(harness.main(sys.modules[__name__]))
