"""What a first training run compiles, and how long the user waits for it.

Usage::

    python3 lab/first_run.py                  # 3 rounds, cold and warm interleaved
    python3 lab/first_run.py --rounds 5 --list

Each round runs ``python3 -m numbacnn train --epochs 1 --limit 1000 -q`` twice
in a fresh process: first on an empty ``NUMBA_CACHE_DIR`` (a new temporary
directory: everything compiles), then on the cache that run filled (everything
loads).  Cold minus warm wall time is the compilation a new user waits for
(the issue's target: at most 8 s).  ``--list`` also prints every kernel
signature the cold run compiled, one line per ``numba:compile`` event with its
seconds and nesting depth, to find
variants that need not exist (another memory layout, another integer type).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMAND = ["train", "--epochs", "1", "--limit", "1000", "-q"]

# runs the CLI with a listener that records each compilation (dispatcher and argument types)
RECORDER = """
import json, sys, time
from numba.core import event
from numbacnn.cli import main

class Recorder(event.Listener):
    def __init__(self):
        self.seen, self.open = [], []
    def on_start(self, ev):
        d = ev.data
        self.open.append(len(self.seen))
        self.seen.append([d["dispatcher"].py_func.__qualname__, str(d["args"]),
                          time.perf_counter(), len(self.open)])
    def on_end(self, ev):
        entry = self.seen[self.open.pop()]
        entry[2] = time.perf_counter() - entry[2]

rec = Recorder()
event.register("numba:compile", rec)
code = main(sys.argv[1:])
print("COMPILED " + json.dumps(rec.seen))
sys.exit(code)
"""


def _env(cache_dir):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_DISABLE_JIT"}
    env["NUMBA_CACHE_DIR"] = str(cache_dir)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_once(cache_dir, record=False):
    """Wall seconds of one training run (and the compiled signatures when ``record``)."""
    argv = ([sys.executable, "-c", RECORDER] if record
            else [sys.executable, "-m", "numbacnn"]) + COMMAND
    start = time.perf_counter()
    proc = subprocess.run(argv, env=_env(cache_dir), cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    seen = []
    for line in proc.stdout.splitlines():
        if line.startswith("COMPILED "):
            seen = json.loads(line[len("COMPILED "):])
    return seconds, seen, proc.stdout


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--list", action="store_true", help="print the compiled signatures")
    args = ap.parse_args(argv)
    cold, warm, seen = [], [], []
    for r in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="numbacnn-cold-") as cache:
            c, s, out = run_once(cache, record=args.list and r == 0)
            w, _, _ = run_once(cache)
        seen = seen or s
        cold.append(c)
        warm.append(w)
        print(f"round {r + 1}: cold {c:.1f} s, warm {w:.1f} s, difference {c - w:.1f} s",
              flush=True)
    diff = statistics.median(c - w for c, w in zip(cold, warm, strict=True))
    print(f"median cold {statistics.median(cold):.1f} s, warm {statistics.median(warm):.1f} s; "
          f"compilation (median of cold - warm) {diff:.1f} s")
    if args.list:
        counts = {}
        for name, sig, seconds, depth in seen:
            counts.setdefault(name, []).append((sig, seconds, depth))
        print(f"{len(seen)} compilations of {len(counts)} functions "
              "(seconds include the nested compilations; depth 1 = called from Python):")
        for name, sigs in sorted(counts.items()):
            for sig, seconds, depth in sigs:
                print(f"  {seconds:6.2f} s  depth {depth}  {name}{sig}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
