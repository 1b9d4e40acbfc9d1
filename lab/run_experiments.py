"""Run the lecture's experiments and the speed table; write the docs' tables and figures.

One command for the whole set (full settings, PyTorch timed in the same run)::

    flock /tmp/numbacnn-bench.lock python lab/run_experiments.py --compare-torch

or a selection / the fast mode::

    python lab/run_experiments.py noisy_sine oscillator --fast

The experiments are :data:`numbacnn.experiments.EXPERIMENTS` plus
``speed_table`` (``speed_table.py``); with ``--compare-torch`` each runs
through ``compare_experiments.run`` (numbacnn, then its PyTorch twin).

Writes into ``docs/_generated/experiments/`` (or ``--out``): per experiment
``NAME.md`` (settings, numbers, table, notes), ``NAME.csv`` and one PNG per
figure; ``run_info.md`` (appended per run: when, where, with which versions
and threads) and ``summary.md`` (our numbers beside the reference numbers of
:data:`REFERENCE`).  Each experiment's files are written as soon as it
finishes, so an interrupted run keeps what it measured.
"""

import argparse
import datetime
import os
import platform
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, os.pardir, "docs", "_generated", "experiments")

# The PyTorch reference numbers that the docs quote (their provenance is in
# docs/experiments.rst) and the targets for numbacnn, as
# (experiment, what, reference, target, key in our numbers).
REFERENCE = [
    ("digits_grid_search", "best test accuracy", "97.8% (eta=1e-2, lambda=1e-2)",
     ">= 97.5%", "best test accuracy"),
    ("digits_grid_search", "cells >= 95%", "8 of 49", "", "cells with test accuracy >= 95%"),
    ("digits_grid_search", "grid wall time (s)", "86-139", "<= 2x torch (same run)",
     "grid wall time numbacnn (s)"),
    ("digits_grid_search", "wall time ratio numbacnn/torch", "", "<= 2",
     "wall time ratio numbacnn/torch"),
    ("lecture_cnn_mnist", "test accuracy mean", "92.8% +/- 0.4% (5 seeds); lecture: ~99%",
     ">= 92.5% (3 seeds)", "test accuracy mean"),
    ("small_cnn_mnist", "test accuracy mean", "98.4% +/- 0.2%", ">= 98.2%",
     "test accuracy mean"),
    ("small_cnn_mnist", "seconds per epoch", "1.05", "<= 2x torch (same run)",
     "seconds per epoch"),
    ("small_cnn_mnist", "epoch time ratio numbacnn/torch", "", "<= 2",
     "epoch time ratio numbacnn/torch"),
    ("fashion_mnist", "test accuracy after 5 epochs", "89.1%", "within 1 point",
     "test accuracy mean"),
    ("fashion_mnist", "seconds per epoch", "10.8", "<= 2x torch (same run)",
     "seconds per epoch"),
    ("noisy_sine", "RNN test MSE (lecture reading)", "0.406", "beside the baselines",
     "RNN test MSE (lecture reading)"),
    ("noisy_sine", "RNN test MSE (4-step sequence)", "", "", "RNN test MSE (sequence reading)"),
    ("noisy_sine", "window mean", "0.409", "", "baseline: window mean"),
    ("noisy_sine", "linear regression on the window", "0.403", "",
     "baseline: linear regression on the window"),
    ("noisy_sine", "last value", "0.729", "", "baseline: last value"),
    ("oscillator", "RNN one-step test MSE", "1.8e-7", "<= 1e-6", "rnn one-step test MSE"),
    ("oscillator", "LSTM one-step test MSE", "7.1e-8", "<= 1e-6", "lstm one-step test MSE"),
    ("oscillator", "GRU one-step test MSE", "", "beside them", "gru one-step test MSE"),
    ("oscillator", "LSTM 400-step rollout MSE(x)", "5.3e-6", "<= 1e-4", "lstm rollout MSE(x)"),
    ("cifar10", "parameters", "", "", "parameters"),
    ("cifar10", "extrapolated seconds per epoch", "not measurable (no data)", "",
     "extrapolated seconds per epoch (50,000 images)"),
]


def _run_info(args, names):
    import numba
    import numpy

    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    lines = [f"## Run of {now}", "",
             f"- command: `python lab/run_experiments.py {' '.join(sys.argv[1:])}`",
             f"- mode: {'fast' if args.fast else 'full'}",
             f"- experiments: {', '.join(names)}",
             f"- machine: {platform.machine()}, {os.cpu_count()} logical CPUs, "
             f"{platform.system()} {platform.release()}",
             f"- python {platform.python_version()}, numpy {numpy.__version__}, "
             f"numba {numba.__version__} ({numba.get_num_threads()} threads), "
             f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(default)')}"]
    if args.compare_torch:
        import torch

        lines.append(f"- torch {torch.__version__} ({torch.get_num_threads()} threads)")
    return "\n".join(lines) + "\n\n"


_HEADER = ("| experiment | quantity | PyTorch reference (issue) | target | numbacnn, this run |\n"
           "|---|---|---|---|---|\n")


def _summary_rows(result):
    from numbacnn.experiments._common import format_number

    lines = []
    for name, what, ref, target, key in REFERENCE:
        if name == result.name:
            ours = format_number(result.numbers[key]) if key in result.numbers else "not run"
            lines.append(f"| {name} | {what} | {ref} | {target} | {ours} |")
    return "".join(line + "\n" for line in lines)


def _write_summary(out, order):
    """summary.md from every experiment's rows present in ``out`` (runs accumulate)."""
    rows = []
    for name in order:
        path = os.path.join(out, f"summary-{name}.md")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                rows.append(f.read())
    with open(os.path.join(out, "summary.md"), "w", encoding="utf-8") as f:
        f.write(_HEADER + "".join(rows))


def _experiments():
    """name -> function: numbacnn's experiments and the speed table."""
    from speed_table import speed_table

    from numbacnn.experiments import EXPERIMENTS

    return {**EXPERIMENTS, "speed_table": speed_table}


def _run(name, fn, fast, compare_torch):
    if not compare_torch:
        return fn(fast=fast)
    if name == "speed_table":
        return fn(fast=fast, compare_torch=True)
    import compare_experiments

    return compare_experiments.run(name, fast=fast)


def main(argv=None):
    sys.path.insert(0, os.path.join(HERE, os.pardir))
    from numbacnn.experiments.__main__ import write_result

    EXPERIMENTS = _experiments()

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="experiments (default: all)")
    parser.add_argument("--fast", action="store_true", help="short runs")
    parser.add_argument("--compare-torch", action="store_true",
                        help="train the PyTorch models in the same run")
    parser.add_argument("--out", default=DEFAULT_OUT, help="output folder")
    args = parser.parse_args(argv)
    names = args.names or list(EXPERIMENTS)
    for n in names:
        if n not in EXPERIMENTS:
            parser.error(f"unknown experiment {n!r}; choose from {', '.join(EXPERIMENTS)}")
    os.environ.setdefault("MPLBACKEND", "Agg")
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    results = {}
    for name in names:
        t0 = time.perf_counter()
        print(f"[{datetime.datetime.now():%H:%M:%S}] {name} ...", file=sys.stderr, flush=True)
        results[name] = _run(name, EXPERIMENTS[name], args.fast, args.compare_torch)
        results[name].settings["wall time of the experiment (s)"] = round(
            time.perf_counter() - t0, 1)
        write_result(results[name], out)
        # appended once the experiment has finished: separate invocations accumulate
        with open(os.path.join(out, "run_info.md"), "a", encoding="utf-8") as f:
            f.write(_run_info(args, [name]))
        print(f"  done in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
        with open(os.path.join(out, f"summary-{name}.md"), "w", encoding="utf-8") as f:
            f.write(_summary_rows(results[name]))
        _write_summary(out, list(EXPERIMENTS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
