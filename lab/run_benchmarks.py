"""Run every benchmark script under the protocol of ``lab/harness.py`` and write its page.

Usage::

    python3 lab/run_benchmarks.py                       # all of lab/bench_*.py, 3 rounds
    python3 lab/run_benchmarks.py --rounds 5 bench_rnn  # a selection, by file stem
    python3 lab/run_benchmarks.py --quick --out /tmp/b  # a smoke test (small sizes, 1 round)
    python3 lab/run_benchmarks.py --note "The machine was shared with other jobs."

Each ``lab/NAME.py`` is run as ``python3 lab/NAME.py --rounds R --out
docs/_generated/benchmarks/NAME.md`` while holding
``/tmp/numbacnn-bench.lock`` (the lock ``flock`` takes), so no two benchmarks
overlap.  Each script starts one worker process per library per round (see
``lab/harness.py``): numbacnn, torch and scipy are never timed in the same
process and no setting is made for either.  The docs page :doc:`/experiments`
lays out whatever pages exist; commit them after a run.  A full run takes
about 5-10 minutes on 2 cores.
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


def commands(scripts, out, rounds, quick, note):
    """The command line of each benchmark script."""
    cmds = []
    for script in scripts:
        cmd = [sys.executable, str(script), "--rounds", str(rounds),
               "--out", str(out / f"{script.stem}.md")]
        cmd += ["--quick"] if quick else []
        cmd += ["--note", note] if note else []
        cmds.append(cmd)
    return cmds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="benchmark file stems (default: all)")
    parser.add_argument("--out", type=Path, default=OUT, help="directory for the .md pages")
    parser.add_argument("--rounds", type=int, default=None,
                        help="interleaved rounds per benchmark (default 3; --quick: 1)")
    parser.add_argument("--quick", action="store_true", help="small sizes, one round")
    parser.add_argument("--note", default="", help="a sentence added to every page")
    args = parser.parse_args(argv)
    rounds = args.rounds or (1 if args.quick else 3)

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
        for script, cmd in zip(scripts, commands(scripts, args.out, rounds, args.quick,
                                                 args.note), strict=True):
            start = time.perf_counter()
            print(f"== {script.name} -> {cmd[cmd.index('--out') + 1]}", flush=True)
            proc = subprocess.run(cmd, cwd=ROOT)
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
