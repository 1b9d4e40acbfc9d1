"""Run every benchmark script and write its Markdown table for the docs.

Usage::

    python lab/run_benchmarks.py                 # all of lab/bench_*.py
    python lab/run_benchmarks.py bench_rnn       # a selection, by file stem

Each ``lab/NAME.py`` is run as ``python lab/NAME.py --out
docs/_generated/benchmarks/NAME.md`` while holding ``/tmp/numbacnn-bench.lock``
(the same lock ``flock`` takes), so no two benchmarks ever overlap.  The docs
page :doc:`/experiments` lays out whatever tables exist; commit them after a
run on a quiet machine.  The benchmarks compare alternatives within one run
and report ratios, and they need PyTorch (the ``bench`` extra).
"""

import argparse
import fcntl
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "lab"
OUT = ROOT / "docs" / "_generated" / "benchmarks"
LOCK = Path("/tmp/numbacnn-bench.lock")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="benchmark file stems (default: all)")
    parser.add_argument("--out", type=Path, default=OUT, help="directory for the .md tables")
    args = parser.parse_args(argv)

    scripts = sorted(BENCH.glob("bench_*.py"))
    if args.names:
        wanted = {n.removesuffix(".py") for n in args.names}
        unknown = wanted - {s.stem for s in scripts}
        if unknown:
            parser.error(f"no such benchmark: {', '.join(sorted(unknown))}")
        scripts = [s for s in scripts if s.stem in wanted]
    args.out.mkdir(parents=True, exist_ok=True)
    failed = []
    with open(LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # wait for any other benchmark to finish
        for script in scripts:
            target = args.out / f"{script.stem}.md"
            start = time.perf_counter()
            print(f"== {script.name} -> {target.relative_to(ROOT)}", flush=True)
            proc = subprocess.run([sys.executable, str(script), "--out", str(target)], cwd=ROOT)
            seconds = time.perf_counter() - start
            print(f"   exit {proc.returncode} after {seconds:.0f} s", flush=True)
            if proc.returncode != 0:
                failed.append(script.name)
    if failed:
        print("failed:", ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
