"""Time the whole-batch im2col convolution beside the default kernels, and measure its memory.

::

    flock /tmp/numbacnn-bench.lock python lab/im2col_costs.py --out PATH.md

For each case (a)-(d) of ``lab/bench_conv.py`` and each method -- ``im2col``
(:func:`numbacnn.functional.conv2d_im2col` and its backward), ``fast`` (the
default ``conv2d``/``conv2d_backward``: patch matrices chunk by chunk) and
``reference`` (``reference=True``, the serial loops the docs show) -- a fresh
Python process times the forward and the backward pass (median of ``--repeat``
calls after one untimed warm-up, which includes compiling or loading the numba
cache).  The numba kernels and
BLAS both get ``--threads`` threads (the reference loops are serial by
design).  The im2col process also records the peak of the memory NumPy
allocates during one forward call (``tracemalloc``) and compares it with the
formula: the patch matrix ``C kh kw N Ho Wo`` plus the larger of the padded
copy ``N C Hp Wp`` (freed once the patches are copied) and twice the output
``N F Ho Wo`` (the product and its reordered copy), in elements.

The machine may be shared: only ratios measured in one run mean anything.
"""

import argparse
import json
import os
import platform
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_conv import SHAPES as CASES  # noqa: E402
from numpy_baselines import median_time  # noqa: E402

METHODS = ("im2col", "fast", "reference")


def _functions(method):
    from numbacnn.functional import (
        conv2d,
        conv2d_backward,
        conv2d_im2col,
        conv2d_im2col_backward,
    )

    if method == "im2col":
        return conv2d_im2col, conv2d_im2col_backward
    reference = method == "reference"
    return (lambda *a, **k: conv2d(*a, **k, reference=reference),
            lambda *a, **k: conv2d_backward(*a, **k, reference=reference))


def _predicted_bytes(case, itemsize):
    """Patch matrix + max(padded copy, 2 outputs), in bytes (the formula of docs/theory/im2col)."""
    N, C, H, W, F, k = (case[key] for key in ("N", "C", "H", "W", "F", "k"))
    p, s = case["padding"], case["stride"]
    Hp, Wp = H + 2 * p, W + 2 * p
    Ho, Wo = (Hp - k) // s + 1, (Wp - k) // s + 1
    return itemsize * (N * C * k * k * Ho * Wo + max(N * C * Hp * Wp, 2 * N * F * Ho * Wo))


def measure(case_name, method, dtype, repeat, threads):
    """One (case, method) in this process: times and, for im2col, traced peak memory."""
    import numba
    from threadpoolctl import threadpool_limits

    numba.set_num_threads(threads)
    case = CASES[case_name]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((case["N"], case["C"], case["H"], case["W"])).astype(dtype)
    w = rng.standard_normal((case["F"], case["C"], case["k"], case["k"])).astype(dtype)
    b = rng.standard_normal(case["F"]).astype(dtype)
    kw = dict(stride=case["stride"], padding=case["padding"])
    forward, backward = _functions(method)
    result = {}
    with threadpool_limits(limits=threads):
        y = forward(x, w, b, **kw)
        g = rng.standard_normal(y.shape).astype(dtype)
        result["forward"] = median_time(lambda: forward(x, w, b, **kw), repeat)
        result["backward"] = median_time(lambda: backward(g, x, w, **kw), repeat)
        if method == "im2col":
            import tracemalloc

            tracemalloc.start()
            forward(x, w, b, **kw)
            result["peak_bytes"] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            result["predicted_bytes"] = _predicted_bytes(case, x.itemsize)
            result["input_bytes"] = x.nbytes
    return result


def _in_subprocess(case, method, dtype, repeat, threads):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", case, method, dtype,
           "--repeat", str(repeat), "--threads", str(threads)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def table(results, dtype):
    lines = [
        f"{dtype}, seconds per call (median) and ratios to the default (fast) kernels:",
        "",
        "| case | pass | im2col | fast | reference | im2col / fast | reference / fast |",
        "|---|---|---|---|---|---|---|",
    ]
    for case in sorted({c for c, _ in results}):
        for pass_ in ("forward", "backward"):
            t = {m: results[case, m][pass_] for m in METHODS}
            lines.append(
                f"| ({case}) | {pass_} | {t['im2col']:.4f} | {t['fast']:.4f} | "
                f"{t['reference']:.3f} | {t['im2col'] / t['fast']:.2f} | "
                f"{t['reference'] / t['fast']:.1f} |"
            )
    lines += ["", "im2col forward, memory NumPy allocates (tracemalloc peak) against the formula:",
              "", "| case | input MiB | predicted MiB | measured peak MiB |", "|---|---|---|---|"]
    for case in sorted({c for c, _ in results}):
        r = results[case, "im2col"]
        lines.append(f"| ({case}) | {r['input_bytes'] / 2**20:.1f} | "
                     f"{r['predicted_bytes'] / 2**20:.1f} | {r['peak_bytes'] / 2**20:.1f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="abcd")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", help="write the markdown table here as well")
    parser.add_argument("--worker", nargs=3, metavar=("CASE", "METHOD", "DTYPE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        case, method, dtype = args.worker
        print(json.dumps(measure(case, method, np.dtype(dtype), args.repeat, args.threads)))
        return
    load_before = os.getloadavg()[0]
    results = {}
    for case in args.cases:
        for method in METHODS:
            results[case, method] = _in_subprocess(case, method, args.dtype, args.repeat,
                                                   args.threads)
            print(case, method, results[case, method], file=sys.stderr)
    import numba

    text = (f"Measured with `lab/im2col_costs.py`: python {platform.python_version()}, "
            f"numba {numba.__version__}, numpy {np.__version__}, {args.threads} threads, "
            f"{os.cpu_count()} CPUs, load average {load_before:.2f} before and "
            f"{os.getloadavg()[0]:.2f} after the run.\n\n" + table(results, args.dtype))
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
