"""numbacnn.signal and pooling against scipy, torch and NumPy, side by side in one run.

Usage (the machine may be shared: hold the benchmark lock)::

    flock /tmp/numbacnn-bench.lock python lab/bench_signal_pool.py [--out PATH.md]

What is timed (every alternative in the same run, alternating call by call so
that background load hits all of them alike; reported: the best of
``--repeat`` rounds of ``--number`` calls, and ratios):

1. ``correlate2d`` on a 256x256 float64 image with a 3x3 kernel against
   ``scipy.signal.correlate2d`` (target: ratio <= 0.2), for each mode.
2. Growing Gaussian kernels on a 256x256 float64 image, mode 'same':
   ``convolve2d`` (direct, k^2 taps), ``separable_convolve2d`` (2k taps),
   ``fftconvolve2d`` (independent of k), next to scipy's ``convolve2d`` and
   ``fftconvolve``.
3. Max pooling 2x2 forward + backward, float32, N=256, C=32, 28x28, against
   ``torch.nn.functional.max_pool2d`` + autograd backward (if torch is
   installed; target: ratio <= 1.0) and a NumPy reshape implementation.
4. Average pooling, the same way.

numba and torch both use ``--threads`` threads (default 2).  Every result is
checked against its alternatives before it is timed.
"""

import os

# numba (OpenMP threading layer) and torch both leave idle OpenMP threads spinning, which
# steals the cores from whichever library is timed next.  Passive waiting keeps the
# side-by-side timings fair (numbers: docs/experiments.rst, "Measurement notes"); it must
# be set before either runtime starts.  bench_rnn.py explains its own choice.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import platform
import time

import numba
import numpy as np
import scipy
import scipy.signal

from numbacnn import signal
from numbacnn.functional import avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_backward

try:
    import torch
except ImportError:  # torch is optional (the `bench` extra)
    torch = None


def best_times(fns, number, repeat):
    """Best per-call time of each callable, alternating between them round by round."""
    for f in fns.values():
        f()  # compile / warm caches
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeat):
        for name, f in fns.items():
            t0 = time.perf_counter()
            for _ in range(number):
                f()
            best[name] = min(best[name], (time.perf_counter() - t0) / number)
    return best


def fmt_ms(t):
    return f"{t * 1e3:.3f}"


# ---------------------------------------------------------------- 1. correlate2d vs scipy


def bench_correlate(number, repeat):
    rng = np.random.default_rng(0)
    image, kernel = rng.standard_normal((256, 256)), rng.standard_normal((3, 3))
    rows = []
    for mode in ("full", "same", "valid"):
        np.testing.assert_allclose(
            signal.correlate2d(image, kernel, mode),
            scipy.signal.correlate2d(image, kernel, mode), rtol=1e-12, atol=1e-12,
        )
        t = best_times(
            {
                "numbacnn": lambda m=mode: signal.correlate2d(image, kernel, m),
                "scipy": lambda m=mode: scipy.signal.correlate2d(image, kernel, m),
            },
            number, repeat,
        )
        rows.append([f"correlate2d 256x256, 3x3, {mode}", fmt_ms(t["numbacnn"]),
                     fmt_ms(t["scipy"]), f"{t['numbacnn'] / t['scipy']:.3f}", "<= 0.2"])
    return (
        "correlate2d, float64 (time in ms; ratio = numbacnn / scipy.signal.correlate2d)",
        ["case", "numbacnn", "scipy", "ratio", "target"],
        rows,
    )


# ---------------------------------------------------------------- 2. direct vs separable vs fft


def bench_kernel_sizes(number, repeat, sizes):
    rng = np.random.default_rng(1)
    image = rng.standard_normal((256, 256))
    rows = []
    for k in sizes:
        g = signal.gaussian_kernel(k / 6.0, size=k)
        g1 = g.sum(axis=1)
        ref = scipy.signal.convolve2d(image, g, "same")
        for ours in (signal.convolve2d(image, g, "same"),
                     signal.separable_convolve2d(image, g1, g1, "same"),
                     signal.fftconvolve2d(image, g, "same")):
            np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)
        t = best_times(
            {
                "direct": lambda g=g: signal.convolve2d(image, g, "same"),
                "separable": lambda g1=g1: signal.separable_convolve2d(image, g1, g1, "same"),
                "fft": lambda g=g: signal.fftconvolve2d(image, g, "same"),
                "scipy direct": lambda g=g: scipy.signal.convolve2d(image, g, "same"),
                "scipy fft": lambda g=g: scipy.signal.fftconvolve(image, g, "same"),
            },
            max(1, number // max(1, k // 4)), repeat,
        )
        rows.append([f"{k}x{k}"] + [fmt_ms(t[n]) for n in t]
                    + [f"{t['direct'] / t['scipy direct']:.3f}"])
    return (
        "Gaussian blur of a 256x256 float64 image, mode 'same' (time in ms)",
        ["kernel", "direct", "separable", "fft", "scipy direct", "scipy fft",
         "direct / scipy direct"],
        rows,
    )


# ---------------------------------------------------------------- 3./4. pooling


def numpy_max_pool_2x2(x):
    """Reshape into 2x2 blocks; backward: first maximum of each block (argmax order)."""
    N, C, H, W = x.shape
    blocks = x.reshape(N, C, H // 2, 2, W // 2, 2).transpose(0, 1, 2, 4, 3, 5)
    blocks = blocks.reshape(N, C, H // 2, W // 2, 4)
    return blocks.max(axis=-1), blocks.argmax(axis=-1)


def numpy_max_pool_2x2_backward(grad_out, argmax, shape):
    N, C, H, W = shape
    grad_blocks = np.zeros((N, C, H // 2, W // 2, 4), dtype=grad_out.dtype)
    np.put_along_axis(grad_blocks, argmax[..., None], grad_out[..., None], axis=-1)
    grad_blocks = grad_blocks.reshape(N, C, H // 2, W // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5)
    return grad_blocks.reshape(shape)


def numpy_avg_pool_2x2(x):
    N, C, H, W = x.shape
    return x.reshape(N, C, H // 2, 2, W // 2, 2).mean(axis=(3, 5))


def numpy_avg_pool_2x2_backward(grad_out, shape):
    share = (grad_out / 4).astype(grad_out.dtype)
    return np.repeat(np.repeat(share, 2, axis=2), 2, axis=3).reshape(shape)


def bench_pooling(kind, number, repeat, N=256, C=32, H=28, W=28):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((N, C, H, W)).astype(np.float32)
    grad_out = rng.standard_normal((N, C, H // 2, W // 2)).astype(np.float32)
    fwd, bwd = (max_pool2d, max_pool2d_backward) if kind == "max" else (avg_pool2d,
                                                                          avg_pool2d_backward)

    def ours():
        return fwd(x, 2), bwd(grad_out, x, 2)

    if kind == "max":
        def numpy_impl():
            out, arg = numpy_max_pool_2x2(x)
            return out, numpy_max_pool_2x2_backward(grad_out, arg, x.shape)
    else:
        def numpy_impl():
            return numpy_avg_pool_2x2(x), numpy_avg_pool_2x2_backward(grad_out, x.shape)

    fns = {"numbacnn": ours, "numpy": numpy_impl}
    results = {"numbacnn": ours(), "numpy": numpy_impl()}
    if torch is not None:
        tx = torch.from_numpy(x).requires_grad_(True)
        tg = torch.from_numpy(grad_out)
        tfn = torch.nn.functional.max_pool2d if kind == "max" else torch.nn.functional.avg_pool2d

        def torch_impl():
            tx.grad = None
            y = tfn(tx, 2)
            y.backward(tg)
            return y.detach().numpy(), tx.grad.numpy()

        fns["torch"] = torch_impl
        results["torch"] = torch_impl()
    for name, (out, dx) in results.items():
        np.testing.assert_allclose(out, results["numbacnn"][0], rtol=1e-5, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(dx, results["numbacnn"][1], rtol=1e-5, atol=1e-6, err_msg=name)
    t = best_times(fns, number, repeat)
    t_torch = t.get("torch", float("nan"))
    row = [f"{kind} pool 2x2 fwd+bwd, N={N}, C={C}, {H}x{W}", fmt_ms(t["numbacnn"]),
           fmt_ms(t_torch) if torch is not None else "n/a", fmt_ms(t["numpy"]),
           f"{t['numbacnn'] / t_torch:.3f}" if torch is not None else "n/a",
           f"{t['numbacnn'] / t['numpy']:.3f}", "<= 1.0" if kind == "max" else ""]
    return row


# ---------------------------------------------------------------- output


def table(title, header, rows, markdown):
    if markdown:
        lines = [f"**{title}**", "", "| " + " | ".join(header) + " |",
                 "|" + "|".join("---" for _ in header) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines) + "\n"
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    fmt = "  ".join("{:<" + str(w) + "}" for w in widths)
    lines = [title, fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*r) for r in rows]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="also write the tables as Markdown to this path")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--number", type=int, default=20, help="calls per round (signal)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds; the best is reported")
    parser.add_argument("--pool-number", type=int, default=3, help="calls per round (pooling)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[3, 7, 15, 31],
                        help="Gaussian kernel sizes for the direct/separable/fft comparison")
    args = parser.parse_args(argv)

    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    if torch is not None:
        torch.set_num_threads(args.threads)

    tables = [bench_correlate(args.number, args.repeat),
              bench_kernel_sizes(args.number, args.repeat, args.sizes)]
    pool_rows = [bench_pooling(kind, args.pool_number, args.repeat) for kind in ("max", "avg")]
    tables.append((
        "Pooling, float32 (time in ms; ratios = numbacnn / alternative)",
        ["case", "numbacnn", "torch", "numpy reshape", "vs torch", "vs numpy", "target"],
        pool_rows,
    ))
    env = (f"numba {numba.__version__} ({numba.get_num_threads()} threads), numpy "
           f"{np.__version__}, scipy {scipy.__version__}, torch "
           f"{torch.__version__ if torch is not None else 'not installed'}"
           f"{f' ({torch.get_num_threads()} threads)' if torch is not None else ''}, "
           f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
           f"best of {args.repeat} rounds")
    print(env + "\n")
    for t in tables:
        print(table(*t, markdown=False))
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as fh:
            fh.write(f"_{env}_\n\n")
            fh.write("\n".join(table(*t, markdown=True) for t in tables))


if __name__ == "__main__":
    main()
