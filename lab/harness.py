"""The benchmark protocol of every ``bench_*.py``: numbacnn against a reference, fairly.

1. **One process per library per round.**  Each library is timed in a fresh
   worker process (``python lab/bench_X.py --worker LIBRARY``) that imports
   only what that side needs, with the library's default settings: no
   environment variable and no thread count is set for either side, so no
   OpenMP pool of one library sits beside the other's.
2. **Interleaved rounds.**  numbacnn, then each reference, then numbacnn
   again, ... (:func:`interleaved`); at least 3 rounds, so slow drifts of a
   shared machine hit both sides alike.
3. **Warmed up as training warms up.**  In a worker every case runs untimed
   first (numba compiles or loads its kernels; torch runs a backward pass on
   the shape, which a training step would have done, before any forward is
   timed), then the median of ``repeat`` calls is that round's time.
4. **Ratio of medians.**  The reported ratio is the median over rounds of
   numbacnn's times divided by the median of the reference's
   (:func:`ratio_of_medians`); the spread is the smallest and largest ratio of
   one round's pair (:func:`round_ratios`).
5. **Checked.**  Each worker also returns a fingerprint of its results (sums
   of squares of the outputs); the driver stops if the two sides disagree.

A benchmark script defines ``TITLE``, ``CASES`` (a list of :class:`Case`),
``DEFAULT_REPEAT``, and ``measure(library, keys, quick, repeat)`` returning
``{key: (seconds, fingerprint)}`` for that library, and ends with
``harness.main(sys.modules[__name__])``.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
# the numbacnn of this checkout is measured, not another installed copy
if str(ROOT) not in sys.path:
    sys.path.insert(1, str(ROOT))
#: environment variables that change a library's threading; reported if set, never set here
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "MKL_NUM_THREADS",
                    "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS", "NUMBA_THREADING_LAYER",
                    "KMP_BLOCKTIME", "GOMP_SPINCOUNT")


@dataclass(frozen=True)
class Case:
    """One timed comparison: ``key`` (short id), ``label`` (table text), the reference
    library (``"torch"`` or ``"scipy"``), the target ratio numbacnn / reference (or None)."""

    key: str
    label: str
    reference: str
    target: float | None = None


# ------------------------------------------------------------------ the protocol's arithmetic


def interleaved(libraries, rounds):
    """``[(round, library), ...]``: every library once per round, in the given order."""
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1; got {rounds}")
    return [(r, lib) for r in range(rounds) for lib in libraries]


def ratio_of_medians(ours, theirs):
    """``median(ours) / median(theirs)`` of per-round times."""
    return statistics.median(ours) / statistics.median(theirs)


def round_ratios(ours, theirs):
    """``(smallest, largest)`` ratio of one round's numbacnn time to the same round's reference."""
    ratios = [a / b for a, b in zip(ours, theirs, strict=True)]
    return min(ratios), max(ratios)


def verdict(ratio, target):
    """``"met"``, ``"not met"`` or ``""`` (no target)."""
    if target is None:
        return ""
    return "met" if ratio <= target else "not met"


def median_call(fn, repeat, warmup=None):
    """Median seconds of ``repeat`` calls of ``fn``, after ``warmup()`` (default: ``fn()``)."""
    (warmup or fn)()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def fingerprint(*arrays):
    """Sums of squares (float64) of each array: compared between the two sides."""
    return [float(np.sum(np.square(np.asarray(a, dtype=np.float64)))) for a in arrays]


def agree(a, b, rtol):
    """True if two fingerprints match within ``rtol`` (relative to the larger magnitude)."""
    return len(a) == len(b) and all(
        abs(x - y) <= rtol * max(abs(x), abs(y), 1e-30) for x, y in zip(a, b, strict=True))


def summarise(cases, times, checks=None, rtol=1e-3):
    """Rows of the table from ``times[library][key] = [seconds per round]``.

    Each row: the case, both medians, the ratio of medians, the per-round
    spread, the target and the verdict.  With ``checks[library][key]``
    (fingerprints) a disagreement raises ``AssertionError``.
    """
    rows = []
    for case in cases:
        ours, theirs = times["numbacnn"][case.key], times[case.reference][case.key]
        if checks is not None:
            a, b = checks["numbacnn"].get(case.key), checks[case.reference].get(case.key)
            if a and b and not agree(a, b, rtol):
                raise AssertionError(f"{case.label}: numbacnn and {case.reference} disagree "
                                     f"({a} against {b})")
        ratio = ratio_of_medians(ours, theirs)
        lo, hi = round_ratios(ours, theirs)
        rows.append(dict(case=case, ours=statistics.median(ours),
                         theirs=statistics.median(theirs), ratio=ratio, low=lo, high=hi,
                         rounds=len(ours), verdict=verdict(ratio, case.target)))
    return rows


# ------------------------------------------------------------------ where and with what


def cpu_model():
    """The CPU's model name from /proc/cpuinfo (else :func:`platform.processor`)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def worker_info(library):
    """Versions and thread counts as the worker sees them (after its imports)."""
    info = {"python": platform.python_version(), "numpy": np.__version__}
    from threadpoolctl import threadpool_info

    blas = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    info["BLAS threads"] = ", ".join(f"{p['internal_api']} {p['num_threads']}" for p in blas)
    if library == "numbacnn":
        import numba

        import numbacnn

        info.update(numbacnn=numbacnn.__version__, numba=numba.__version__,
                    threads=f"numba {numba.get_num_threads()} ({numba.threading_layer()} "
                            "layer)")
    elif library == "torch":
        import torch

        info.update(torch=torch.__version__,
                    threads=f"torch {torch.get_num_threads()} intra-op, "
                            f"{torch.get_num_interop_threads()} inter-op")
    elif library == "scipy":
        import scipy

        info.update(scipy=scipy.__version__, threads="scipy.signal: 1 (no threads)")
    return info


# ------------------------------------------------------------------ worker and driver


def _worker(module, args):
    keys = [k for k in args.keys.split(",") if k]
    results = module.measure(args.worker, keys, args.quick, args.repeat or module.DEFAULT_REPEAT)
    payload = {"library": args.worker,
               "times": {k: v[0] for k, v in results.items()},
               "checks": {k: v[1] for k, v in results.items()},
               "info": worker_info(args.worker)}
    Path(args.json).write_text(json.dumps(payload), encoding="utf-8")
    return 0


def run_rounds(script, cases, rounds, quick, repeat=None, run=subprocess.run, log=print):
    """Run the workers in interleaved order; return ``(times, checks, info)``."""
    libraries = ["numbacnn"] + list(dict.fromkeys(c.reference for c in cases))
    times = {lib: {} for lib in libraries}
    checks = {lib: {} for lib in libraries}
    info = {}
    with tempfile.TemporaryDirectory(prefix="numbacnn-bench-") as tmp:
        for r, lib in interleaved(libraries, rounds):
            keys = [c.key for c in cases if lib == "numbacnn" or c.reference == lib]
            out = Path(tmp) / f"{lib}-{r}.json"
            cmd = [sys.executable, str(script), "--worker", lib, "--keys", ",".join(keys),
                   "--json", str(out)]
            cmd += ["--quick"] if quick else []
            cmd += ["--repeat", str(repeat)] if repeat else []
            start = time.perf_counter()
            proc = run(cmd, cwd=ROOT)
            if proc.returncode != 0:
                raise RuntimeError(f"worker {lib} (round {r + 1}) exited {proc.returncode}")
            payload = json.loads(out.read_text(encoding="utf-8"))
            for key, seconds in payload["times"].items():
                times[lib].setdefault(key, []).append(seconds)
                checks[lib][key] = payload["checks"][key]
            info[lib] = payload["info"]
            log(f"  round {r + 1}/{rounds} {lib}: {len(keys)} cases in "
                f"{time.perf_counter() - start:.1f} s", flush=True)
    return times, checks, info


def _fmt_time(seconds):
    return f"{seconds:.2f} s" if seconds >= 1.0 else f"{1e3 * seconds:.3g} ms"


def markdown(title, rows, info, rounds, repeat, quick, note="", load=None):
    """The page: protocol, machine, versions and threads of each side, then the table."""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    ours = info.get("numbacnn", {})
    lines = [f"# {title}", "",
             f"Protocol (`lab/harness.py`): each library in its own process with its default "
             f"settings, {rounds} interleaved rounds (numbacnn, reference, numbacnn, ...); in "
             f"each round every case is warmed up first (numba compiles or loads its kernels; "
             f"torch runs a backward pass on the shape before any forward is timed) and timed "
             f"as the median of {repeat} calls; ratio = median over rounds of numbacnn's time / "
             f"median of the reference's; spread = smallest and largest ratio within one "
             f"round.{' Quick mode (smoke test, not for reading).' if quick else ''}", "",
             f"Machine: {cpu_model()}, {os.cpu_count()} logical CPUs, {platform.system()} "
             f"{platform.release()}; measured {now}"
             + (f", load average {load[0]:.2f} at the start and {load[1]:.2f} at the end"
                if load else "") + "."]
    set_vars = [f"{v}={os.environ[v]}" for v in THREAD_VARIABLES if v in os.environ]
    lines.append("Threading environment variables: "
                 + (", ".join(set_vars) if set_vars else "none set") + ".")
    if note:
        lines.append(note)
    lines.append("")
    for lib, got in info.items():
        versions = ", ".join(f"{k} {v}" for k, v in got.items()
                             if k not in ("threads", "BLAS threads"))
        lines.append(f"- **{lib}** process: {versions}; threads: {got.get('threads', '?')}; "
                     f"BLAS threads: {got.get('BLAS threads') or 'none loaded'}")
    if ours:
        lines.append("")
    lines += ["| case | numbacnn | reference | ratio (median) | spread over rounds | target "
              "| met? |", "|---|---:|---:|---:|---:|---:|---|"]
    for row in rows:
        case = row["case"]
        target = "" if case.target is None else f"<= {case.target:g}"
        lines.append(f"| {case.label} | {_fmt_time(row['ours'])} | {case.reference} "
                     f"{_fmt_time(row['theirs'])} | {row['ratio']:.2f} | "
                     f"{row['low']:.2f}-{row['high']:.2f} | {target} | {row['verdict']} |")
    return "\n".join(lines) + "\n"


def main(module, argv=None):
    """Command line of a benchmark script: the driver by default, ``--worker LIB`` inside."""
    ap = argparse.ArgumentParser(description=module.TITLE)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (at least 3)")
    ap.add_argument("--repeat", type=int, default=None,
                    help=f"timed calls per case and round (default {module.DEFAULT_REPEAT})")
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    ap.add_argument("--cases", default="", help="comma-separated case keys (default: all)")
    ap.add_argument("--note", default="", help="a sentence for the page (e.g. a shared machine)")
    ap.add_argument("--out", help="write the Markdown page here")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--keys", default="", help=argparse.SUPPRESS)
    ap.add_argument("--json", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return _worker(module, args)
    cases = module.CASES
    if args.cases:
        wanted = args.cases.split(",")
        unknown = set(wanted) - {c.key for c in cases}
        if unknown:
            ap.error(f"unknown case(s): {', '.join(sorted(unknown))}")
        cases = [c for c in cases if c.key in wanted]
    if args.rounds < 3 and not args.quick:
        ap.error("at least 3 rounds (or --quick)")
    load0 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    times, checks, info = run_rounds(Path(module.__file__), cases, args.rounds, args.quick,
                                     args.repeat)
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    rows = summarise(cases, times, checks, rtol=getattr(module, "CHECK_RTOL", 1e-3))
    page = markdown(module.TITLE, rows, info, args.rounds, args.repeat or module.DEFAULT_REPEAT,
                    args.quick, args.note, (load0, load1))
    print(page)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(page, encoding="utf-8")
        print(f"wrote {args.out}")
    return 0
