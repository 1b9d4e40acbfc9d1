"""The notebooks: one text source each, paired with an .ipynb stored without outputs.

A notebook's source is ``notebooks/NN-name.py`` (jupytext percent format); the
``.ipynb`` beside it is its paired copy, which Jupyter, nbmake and the docs run.
These tests fail when a pair drifts (one side edited, the other not synced), when
executed outputs are stored (they bloat the history, go stale and hide real
changes in diffs), or when a notebook ignores ``NUMBACNN_FAST``.  The notebooks
themselves are executed by the ``notebooks`` tox env.
"""

import json
import shutil
import subprocess
import sys
from itertools import zip_longest
from pathlib import Path

import jupytext
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
SOURCES = sorted(NOTEBOOK_DIR.glob("*.py"))
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
PAIRING = "ipynb,py:percent"


def pair_drift(source):
    """Say how the notebook paired with ``source`` (a .py) differs from it.

    Parameters
    ----------
    source : pathlib.Path
        A percent-format ``.py`` notebook source.

    Returns
    -------
    list of str
        One message per difference, empty when the pair agrees: the ``.ipynb``
        exists, both sides declare the pairing, and the cells are equal in number,
        type and source.  Of differing cells only the first is named, since one
        inserted cell shifts all that follow.
    """
    notebook = source.with_suffix(".ipynb")
    if not notebook.exists():
        return [f"{source.name} has no paired {notebook.name}"]
    text, paired = jupytext.read(source), jupytext.read(notebook)
    problems = []
    for path, nb in ((source, text), (notebook, paired)):
        formats = nb.metadata.get("jupytext", {}).get("formats")
        if formats != PAIRING:
            problems.append(f"{path.name} declares formats {formats!r}, not {PAIRING!r}")
    cells = [(c.cell_type, c.source) for c in text.cells]
    paired_cells = [(c.cell_type, c.source) for c in paired.cells]
    if len(cells) != len(paired_cells):
        problems.append(
            f"{source.name} has {len(cells)} cells, {notebook.name} {len(paired_cells)}"
        )
    # a length mismatch is reported above; compare the cells both sides have
    for index, (mine, theirs) in enumerate(zip(cells, paired_cells, strict=False)):
        if mine != theirs:
            problems.append(f"cell {index}: {_difference(mine, theirs, source, notebook)}")
            break
    return problems


def _difference(mine, theirs, source, notebook):
    """The first difference between two (cell_type, source) pairs, for a message."""
    if mine[0] != theirs[0]:
        return f"a {mine[0]} cell in {source.name}, a {theirs[0]} cell in {notebook.name}"
    lines = zip_longest(mine[1].splitlines(), theirs[1].splitlines())
    for number, (line, paired_line) in enumerate(lines, start=1):
        if line != paired_line:
            return f"line {number} is {line!r} in {source.name}, {paired_line!r} in {notebook.name}"
    return f"the {mine[0]} cell differs in line endings"


def test_the_walkthrough_notebooks_exist():
    numbers = sorted(p.name[:2] for p in SOURCES)
    assert numbers[:8] == [f"{k:02d}" for k in range(1, 9)], numbers


def test_every_source_has_a_notebook_and_every_notebook_a_source():
    assert {p.stem for p in SOURCES} == {p.stem for p in NOTEBOOKS}


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_the_notebook_matches_its_source(source):
    assert pair_drift(source) == []


def _edit_a_line_of_the_source(pair):
    text = pair.read_text(encoding="utf-8")
    assert "import numpy as np\n" in text
    pair.write_text(text.replace("import numpy as np\n", "import numpy\n", 1), encoding="utf-8")


def _add_a_cell_to_the_notebook(pair):
    notebook = pair.with_suffix(".ipynb")
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    nb["cells"].append(
        {"cell_type": "markdown", "id": "planted", "metadata": {}, "source": ["Planted."]}
    )
    notebook.write_text(json.dumps(nb, indent=1), encoding="utf-8")


def _unpair(pair):
    text = pair.read_text(encoding="utf-8")
    assert f"formats: {PAIRING}\n" in text
    unpaired = text.replace(f"formats: {PAIRING}\n", "formats: py:percent\n")
    pair.write_text(unpaired, encoding="utf-8")


def _lose_the_notebook(pair):
    pair.with_suffix(".ipynb").unlink()


@pytest.mark.parametrize(
    "plant",
    [None, _edit_a_line_of_the_source, _add_a_cell_to_the_notebook, _unpair, _lose_the_notebook],
    ids=lambda f: "untouched" if f is None else f.__name__.strip("_"),
)
def test_a_planted_drift_is_reported(tmp_path, plant):
    source = SOURCES[0]
    copy = tmp_path / source.name
    shutil.copyfile(source, copy)
    shutil.copyfile(source.with_suffix(".ipynb"), copy.with_suffix(".ipynb"))
    if plant is None:
        assert pair_drift(copy) == []
    else:
        plant(copy)
        assert pair_drift(copy) != []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["nbformat"] == 4
    for index, cell in enumerate(nb["cells"]):
        where = f"{path.name}, cell {index}"
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{where} has stored outputs"
            assert cell["execution_count"] is None, f"{where} has an execution count"
        assert "attachments" not in cell or not cell["attachments"], f"{where} has attachments"
    # no widget state or other execution leftovers in the notebook metadata
    assert set(nb["metadata"]) <= {"kernelspec", "language_info", "jupytext"}, sorted(
        nb["metadata"]
    )


def test_nbstripout_finds_nothing_to_strip():
    # --verify exits 1 when it would change a file; --keep-id keeps the cell ids,
    # which are stable (jupytext keeps the id of every cell it matches on sync)
    run = subprocess.run(
        [sys.executable, "-m", "nbstripout", "--verify", "--keep-id", *map(str, NOTEBOOKS)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_notebook_reads_fast_mode(source):
    cells = jupytext.read(source).cells
    sources = [cell.source for cell in cells if cell.cell_type == "code"]
    assert any("NUMBACNN_FAST" in src for src in sources), f"{source.name} ignores NUMBACNN_FAST"
