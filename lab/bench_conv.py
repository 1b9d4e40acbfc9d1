"""Time numbacnn's conv2d / conv2d_backward against torch, NumPy im2col and scipy.

One command, every alternative timed in the same run (the machine may be
shared, so only the ratios are meaningful)::

    flock /tmp/numbacnn-bench.lock python lab/bench_conv.py --out PATH.md

Each timing is the median of ``--repeat`` calls after one warm-up call (the
warm-up includes numba compilation or loading from cache, and is not timed).
torch and numba both run with ``--threads`` threads (default 2).  Before
timing, every implementation's result is checked against numbacnn.

Cases:

(a) N=256, C=1,  28x28, F=32, 3x3, padding 1
(b) N=256, C=32, 14x14, F=64, 3x3, padding 1
(c) N=128, C=3,  32x32, F=32, 3x3, no padding
(d) N=128, C=16, 32x32, F=32, 3x3, padding 1, stride 2
"""

import os

# numba (OpenMP threading layer) and torch both leave idle OpenMP threads spinning, which
# steals the cores from whichever library is timed next.  Passive waiting keeps the
# side-by-side timings fair (numbers: docs/experiments.rst, "Measurement notes"); it must
# be set before either runtime starts.  bench_rnn.py explains its own choice.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import platform
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy_baselines as _baselines  # noqa: E402
from numpy_baselines import median_time  # noqa: E402

CASES = {
    "a": dict(N=256, C=1, H=28, W=28, F=32, k=3, padding=1, stride=1),
    "b": dict(N=256, C=32, H=14, W=14, F=64, k=3, padding=1, stride=1),
    "c": dict(N=128, C=3, H=32, W=32, F=32, k=3, padding=0, stride=1),
    "d": dict(N=128, C=16, H=32, W=32, F=32, k=3, padding=1, stride=2),
}

# numbacnn time / torch time must not exceed these (the targets column of the table)
TARGETS = {
    ("float32", "forward"): {"a": 2.0, "b": 2.0, "c": 2.0, "d": 3.0},
    ("float32", "backward"): {c: 3.0 for c in CASES},
    ("float64", "forward"): {c: 1.0 for c in CASES},
    ("float64", "backward"): {c: 1.5 for c in CASES},
}


def _check(name, got, ref, dtype):
    tol = 1e-3 if dtype == np.float32 else 1e-9
    got = got if isinstance(got, tuple | list) else (got,)
    ref = ref if isinstance(ref, tuple | list) else (ref,)
    for a, r in zip(got, ref, strict=True):
        a = np.asarray(a)
        err = np.abs(a - r).max() / max(1.0, np.abs(r).max())
        if err > tol:
            raise AssertionError(f"{name} disagrees with numbacnn: relative error {err:.2e}")


def run(cases, dtypes, repeat, threads, use_torch, use_scipy, scipy_repeat):
    import numba

    from numbacnn.functional import conv2d, conv2d_backward

    numba.set_num_threads(threads)
    torch = None
    if use_torch:
        try:
            import torch
        except ImportError:
            print("torch not installed: skipping it", file=sys.stderr)
            torch = None
        else:
            torch.set_num_threads(threads)

    rows = []
    rng = np.random.default_rng(0)
    for dtype in dtypes:
        dt = np.dtype(dtype)
        for key in cases:
            cs = CASES[key]
            N, C, H, W, F, k = cs["N"], cs["C"], cs["H"], cs["W"], cs["F"], cs["k"]
            s, p = cs["stride"], cs["padding"]
            x = rng.standard_normal((N, C, H, W)).astype(dt)
            w = (rng.standard_normal((F, C, k, k)) / np.sqrt(C * k * k)).astype(dt)
            b = rng.standard_normal(F).astype(dt)
            y = conv2d(x, w, b, stride=s, padding=p)
            g = rng.standard_normal(y.shape).astype(dt)
            grads = conv2d_backward(g, x, w, stride=s, padding=p)

            impls = {
                "forward": {
                    "numbacnn": lambda x=x, w=w, b=b, s=s, p=p: conv2d(
                        x, w, b, stride=s, padding=p
                    ),
                    "im2col": lambda x=x, w=w, b=b, s=s, p=p: _baselines.im2col_conv2d(
                        x, w, b, s, p
                    ),
                },
                "backward": {
                    "numbacnn": lambda g=g, x=x, w=w, s=s, p=p: conv2d_backward(
                        g, x, w, stride=s, padding=p
                    ),
                    "im2col": lambda g=g, x=x, w=w, s=s, p=p: _baselines.im2col_conv2d_backward(
                        g, x, w, s, p
                    ),
                },
            }
            if torch is not None:
                xt, wt, bt, gt = (torch.from_numpy(a) for a in (x, w, b, g))

                def t_fwd(xt=xt, wt=wt, bt=bt, s=s, p=p):
                    with torch.no_grad():
                        return torch.nn.functional.conv2d(xt, wt, bt, stride=s, padding=p)

                def t_bwd(gt=gt, xt=xt, wt=wt, s=s, p=p):
                    # the same three gradients numbacnn computes, without autograd bookkeeping
                    gx, gw, gb = torch.ops.aten.convolution_backward(
                        gt,
                        xt,
                        wt,
                        [wt.shape[0]],
                        [s, s],
                        [p, p],
                        [1, 1],
                        False,
                        [0, 0],
                        1,
                        [True, True, True],
                    )
                    return gx, gw, gb

                impls["forward"]["torch"] = t_fwd
                impls["backward"]["torch"] = t_bwd
            if use_scipy:
                impls["forward"]["scipy"] = lambda x=x, w=w, b=b, s=s, p=p: _baselines.scipy_conv2d(
                    x, w, b, s, p
                )

            for op, fns in impls.items():
                ref = y if op == "forward" else grads
                row = dict(case=key, dtype=dt.name, op=op)
                for name, fn in fns.items():
                    if name != "numbacnn":
                        out = fn()
                        if name == "torch":
                            out = out.numpy() if op == "forward" else tuple(t.numpy() for t in out)
                        _check(f"{name} {op} ({key}, {dt.name})", out, ref, dt)
                    reps = scipy_repeat if name == "scipy" else repeat
                    row[name] = median_time(fn, reps)
                if "torch" in row:
                    row["ratio"] = row["numbacnn"] / row["torch"]
                    row["target"] = TARGETS[(dt.name, op)][key]
                rows.append(row)
                print(_format_row(row), flush=True)
    return rows


COLUMNS = ["case", "dtype", "op", "numbacnn", "torch", "im2col", "scipy", "ratio", "target"]


def _cell(row, col):
    v = row.get(col)
    if v is None:
        return "-"
    if col in ("numbacnn", "torch", "im2col", "scipy"):
        return f"{1e3 * v:.2f}"
    if col == "ratio":
        ok = "ok" if v <= row["target"] else "MISS"
        return f"{v:.2f} {ok}"
    if col == "target":
        return f"<= {v:.1f}"
    return str(v)


def _format_row(row):
    return "  ".join(f"{_cell(row, c):>10}" for c in COLUMNS)


def header(threads):
    import numba

    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"{threads} threads, numba {numba.__version__}, numpy {np.__version__}, "
        f"load average {load[0]:.2f}"
    )


def write(rows, path, head):
    cols = [c for c in COLUMNS if any(c in r for r in rows)]
    names = {c: (f"{c} (ms)" if c in ("numbacnn", "torch", "im2col", "scipy") else c) for c in cols}
    names["ratio"] = "numbacnn / torch"
    with open(path, "w") as fh:
        if path.endswith(".csv"):
            fh.write(",".join(cols) + "\n")
            for r in rows:
                fh.write(",".join("" if r.get(c) is None else str(r[c]) for c in cols) + "\n")
        else:
            fh.write(
                f"Measured with `lab/bench_conv.py`: {head}. Times in ms "
                "(median, warm-up excluded).\n\n"
            )
            fh.write("| " + " | ".join(names[c] for c in cols) + " |\n")
            fh.write("|" + "|".join("---" for _ in cols) + "|\n")
            for r in rows:
                fh.write("| " + " | ".join(_cell(r, c) for c in cols) + " |\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default="abcd", help="subset of the cases a, b, c, d")
    ap.add_argument("--dtypes", default="float32,float64")
    ap.add_argument("--repeat", type=int, default=7, help="timed calls per measurement")
    ap.add_argument("--threads", type=int, default=2, help="threads for numba and torch")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--no-scipy", action="store_true", help="skip the (slow) scipy loops")
    ap.add_argument("--scipy-repeat", type=int, default=1)
    ap.add_argument("--out", help="also write the table to this .md or .csv file")
    args = ap.parse_args(argv)
    head = header(args.threads)
    print(head)
    print("  ".join(f"{c:>10}" for c in COLUMNS))
    rows = run(
        [c for c in args.cases],
        args.dtypes.split(","),
        args.repeat,
        args.threads,
        not args.no_torch,
        not args.no_scipy,
        args.scipy_repeat,
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average at the end: {load:.2f}")
    if args.out:
        write(rows, args.out, head)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
