"""numbacnn.signal against scipy, and pooling forward + backward against torch.

Usage::

    python3 lab/bench_signal_pool.py --out PATH.md [--rounds 5] [--quick]

The protocol is :mod:`harness`'s (numbacnn, torch and scipy each in their own
process).  Cases:

* ``correlate2d`` of a 256x256 float64 image with a 3x3 kernel, each mode,
  against ``scipy.signal.correlate2d`` (target: ratio <= 0.2);
* ``convolve2d`` with a 7x7 Gaussian against ``scipy.signal.convolve2d``, and
  ``fftconvolve2d`` with a 31x31 Gaussian against ``scipy.signal.fftconvolve``
  (mode 'same'; no target);
* max and average pooling 2x2, forward + backward, N=256, C=32, 28x28, float32
  and float64, against ``torch.nn.functional.max_pool2d`` / ``avg_pool2d``
  with autograd's backward (target: ratio <= 1.0).

``--quick``: 64x64 images, N=16.
"""

import sys

import harness
import numpy as np

TITLE = "Signal functions (numbacnn / scipy) and pooling forward + backward (numbacnn / torch)"
DEFAULT_REPEAT = 10
CASES = [harness.Case(f"correlate2d-{m}", f"correlate2d 256x256, 3x3, {m}", "scipy", 0.2)
         for m in ("full", "same", "valid")]
CASES += [harness.Case("convolve2d-7", "convolve2d 256x256, 7x7 Gaussian, same", "scipy"),
          harness.Case("fftconvolve2d-31", "fftconvolve2d 256x256, 31x31 Gaussian, same",
                       "scipy")]
CASES += [harness.Case(f"{kind}pool-{dtype}", f"{kind} pool 2x2 fwd+bwd, (256, 32, 28, 28), "
                       f"{dtype}", "torch", 1.0)
          for kind in ("max", "avg") for dtype in ("float32", "float64")]
CHECK_RTOL = 1e-4


def _image_case(key, quick):
    rng = np.random.default_rng(0)
    side = 64 if quick else 256
    image = rng.standard_normal((side, side))
    name, arg = key.split("-")
    if name == "correlate2d":
        return name, image, rng.standard_normal((3, 3)), arg
    from numbacnn.signal import gaussian_kernel

    k = int(arg)
    return name, image, gaussian_kernel(k / 6.0, size=k), "same"


def _signal(library, key, quick, repeat):
    name, image, kernel, mode = _image_case(key, quick)
    if library == "numbacnn":
        from numbacnn import signal

        fn = {"correlate2d": signal.correlate2d, "convolve2d": signal.convolve2d,
              "fftconvolve2d": signal.fftconvolve2d}[name]
    else:
        import scipy.signal

        fn = {"correlate2d": scipy.signal.correlate2d, "convolve2d": scipy.signal.convolve2d,
              "fftconvolve2d": scipy.signal.fftconvolve}[name]
    seconds = harness.median_call(lambda: fn(image, kernel, mode), repeat)
    return seconds, harness.fingerprint(fn(image, kernel, mode))


def _pool_data(key, quick):
    kind, dtype = key.split("-")
    rng = np.random.default_rng(2)
    N = 16 if quick else 256
    x = rng.standard_normal((N, 32, 28, 28)).astype(dtype)
    g = rng.standard_normal((N, 32, 14, 14)).astype(dtype)
    return kind.removesuffix("pool"), x, g


def _pool(library, key, quick, repeat):
    kind, x, g = _pool_data(key, quick)
    if library == "numbacnn":
        from numbacnn.functional import (
            avg_pool2d,
            avg_pool2d_backward,
            max_pool2d,
            max_pool2d_backward,
        )

        fwd, bwd = ((max_pool2d, max_pool2d_backward) if kind == "max"
                    else (avg_pool2d, avg_pool2d_backward))

        def step():
            return fwd(x, 2), bwd(g, x, 2)
    else:
        import torch

        tx, tg = torch.from_numpy(x).requires_grad_(True), torch.from_numpy(g)
        tfn = torch.nn.functional.max_pool2d if kind == "max" else torch.nn.functional.avg_pool2d

        def step():
            tx.grad = None
            y = tfn(tx, 2)
            y.backward(tg)
            return y.detach().numpy(), tx.grad.numpy()
    seconds = harness.median_call(step, repeat)
    return seconds, harness.fingerprint(*step())


def measure(library, keys, quick, repeat):
    return {key: (_pool if "pool" in key else _signal)(library, key, quick, repeat)
            for key in keys}


if __name__ == "__main__":
    sys.exit(harness.main(sys.modules[__name__]))
