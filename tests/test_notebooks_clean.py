"""The notebooks are stored without outputs, and each one honours NUMBACNN_FAST.

Executed outputs (images, timings, tracebacks) do not belong in git: they bloat
the history, go stale and hide real changes in diffs. ``nbstripout`` or
``python tools/make_notebooks.py`` produce the clean form this test demands.
The notebooks themselves are executed by the ``notebooks`` tox env.
"""

import json
from pathlib import Path

import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def test_the_walkthrough_notebooks_exist():
    assert len(NOTEBOOKS) >= 8, [p.name for p in NOTEBOOKS]
    numbers = sorted(p.name[:2] for p in NOTEBOOKS)
    assert numbers[:8] == [f"{k:02d}" for k in range(1, 9)], numbers


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
    assert set(nb["metadata"]) <= {"kernelspec", "language_info"}, sorted(nb["metadata"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_reads_fast_mode(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    sources = ["".join(cell["source"]) for cell in nb["cells"] if cell["cell_type"] == "code"]
    assert any("NUMBACNN_FAST" in src for src in sources), f"{path.name} ignores NUMBACNN_FAST"
