"""``python -m numbacnn.experiments NAME ... [--fast] [--out DIR]``.

Runs the named experiments (all of them with ``all``), prints each result as
Markdown and, with ``--out``, writes ``NAME.md``, ``NAME.csv`` and one PNG per
figure into ``DIR``.
"""

import argparse
import os
import sys

__all__ = ["main", "write_result"]


def write_result(result, out_dir):
    """Write ``result`` as ``<name>.md``, ``<name>.csv`` and ``<figure>.png`` in ``out_dir``.

    Returns the list of paths written.
    """
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    md = os.path.join(out_dir, f"{result.name}.md")
    with open(md, "w", encoding="utf-8") as f:
        f.write(result.to_markdown())
    paths.append(md)
    csv = os.path.join(out_dir, f"{result.name}.csv")
    with open(csv, "w", encoding="utf-8") as f:
        f.write(result.table_csv())
    paths.append(csv)
    for fig_name, fig in result.figures.items():
        png = os.path.join(out_dir, f"{fig_name}.png")
        fig.savefig(png, dpi=110)
        paths.append(png)
    return paths


def main(argv=None):
    """Command-line entry point; returns the process exit status."""
    from . import EXPERIMENTS

    parser = argparse.ArgumentParser(
        prog="python -m numbacnn.experiments",
        description="Run the lecture's experiments and print (or write) their results.")
    parser.add_argument("names", nargs="+", metavar="NAME",
                        help="experiments to run, or 'all': " + ", ".join(EXPERIMENTS))
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--fast", action="store_true", help="short runs (as NUMBACNN_FAST=1)")
    mode.add_argument("--full", action="store_true",
                      help="the full settings even if NUMBACNN_FAST is set")
    parser.add_argument("--out", metavar="DIR", help="write .md, .csv and .png files here")
    args = parser.parse_args(argv)
    names = list(EXPERIMENTS) if args.names == ["all"] else args.names
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown:
        parser.error(f"unknown experiment(s) {', '.join(unknown)}; choose from "
                     f"{', '.join(EXPERIMENTS)} or 'all'")
    fast = True if args.fast else (False if args.full else None)
    for name in names:
        result = EXPERIMENTS[name](fast=fast)
        print(result.to_markdown())
        if args.out:
            for path in write_result(result, args.out):
                print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
