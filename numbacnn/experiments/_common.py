"""What every experiment shares: fast mode, the result object, timing, figures.

An experiment is a function that returns an :class:`ExperimentResult`: its
numbers (a flat dict), an optional table (a list of rows), matplotlib figures
and plain-language notes.  Notebooks, the docs and
``python -m numbacnn.experiments`` all call the same functions.

Figures are built on :class:`matplotlib.figure.Figure` directly, never through
``pyplot``, so an experiment leaves no global state behind and works without a
display.
"""

import csv
import io
import math
import os
import time
from dataclasses import dataclass, field

import numpy as np

__all__ = ["ExperimentResult", "fast_mode", "Timer", "new_figure", "format_number"]

_TRUE = ("1", "true", "yes", "on")


def fast_mode(fast=None):
    """Whether to run the short version of an experiment.

    ``fast`` wins when it is given; otherwise the environment variable
    ``NUMBACNN_FAST`` decides (``1``/``true``/``yes``/``on`` mean fast).
    """
    if fast is not None:
        return bool(fast)
    return os.environ.get("NUMBACNN_FAST", "").strip().lower() in _TRUE


def format_number(value):
    """A short human-readable rendering of a number for Markdown tables."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v):
            return "nan"
        if v == 0.0:
            return "0"
        if abs(v) >= 1e4 or abs(v) < 1e-3:
            return f"{v:.3g}"
        return f"{v:.4g}"
    return str(value)


@dataclass
class ExperimentResult:
    """The outcome of one experiment.

    Attributes
    ----------
    name : str
        Short identifier (also the ``python -m numbacnn.experiments`` name).
    title : str
        One line saying what was run.
    settings : dict
        The hyper-parameters actually used (epochs, sizes, seeds, fast mode...).
    numbers : dict
        The headline results, ``str -> float``; indexing the result reads them.
    table : list of dict
        Optional rows for a results table (all rows share their keys).
    figures : dict
        ``name -> matplotlib.figure.Figure``.
    notes : list of str
        Plain-language findings, including where the lecture's claim fails.
    """

    name: str
    title: str
    settings: dict = field(default_factory=dict)
    numbers: dict = field(default_factory=dict)
    table: list = field(default_factory=list)
    figures: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    def __getitem__(self, key):
        return self.numbers[key]

    def __contains__(self, key):
        return key in self.numbers

    def table_markdown(self):
        """The table as GitHub-flavoured Markdown ('' when there is none)."""
        if not self.table:
            return ""
        keys = list(self.table[0])
        lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
        for row in self.table:
            lines.append("| " + " | ".join(format_number(row.get(k, "")) for k in keys) + " |")
        return "\n".join(lines)

    def to_markdown(self):
        """Settings, numbers, table and notes as one Markdown section."""
        out = [f"## {self.title}", ""]
        if self.settings:
            out.append(
                "Settings: " + ", ".join(f"`{k}={v}`" for k, v in self.settings.items())
            )
            out.append("")
        if self.numbers:
            out += ["| quantity | value |", "|---|---|"]
            out += [f"| {k} | {format_number(v)} |" for k, v in self.numbers.items()]
            out.append("")
        if self.table:
            out += [self.table_markdown(), ""]
        for note in self.notes:
            out.append(f"- {note}")
        if self.notes:
            out.append("")
        return "\n".join(out)

    def table_csv(self):
        """The table as CSV text: the table's rows if there is a table, else the numbers.

        Written by the :mod:`csv` module, so a value holding a comma or a quote (a
        shape such as ``(32, 30, 30)``, a label) is quoted and stays one field; lines
        end in ``\\n``.
        """
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        if self.table:
            keys = list(self.table[0])
            writer.writerow(keys)
            writer.writerows([r.get(k, "") for k in keys] for r in self.table)
        else:
            writer.writerow(["quantity", "value"])
            writer.writerows(self.numbers.items())
        return out.getvalue()


class Timer:
    """Wall-clock stopwatch for ``with`` blocks: ``with Timer() as t: ...; t.seconds``."""

    def __enter__(self):
        self._start = time.perf_counter()
        self.seconds = float("nan")
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self._start
        return False


def new_figure(nrows=1, ncols=1, figsize=(6.0, 4.0)):
    """A pyplot-free figure and its axes (``squeeze`` as in ``plt.subplots``)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(nrows, ncols)
    return fig, axes


def accuracy(probabilities_or_labels, y):
    """Fraction of correct labels; accepts class scores ``(N, K)`` or labels ``(N,)``."""
    p = np.asarray(probabilities_or_labels)
    pred = p.argmax(axis=1) if p.ndim == 2 else p
    return float(np.mean(pred == np.asarray(y)))


def mean_std(values):
    """Mean and (population) standard deviation of a list of numbers."""
    v = np.asarray(values, dtype=float)
    return float(v.mean()), float(v.std())
