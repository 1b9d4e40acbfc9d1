"""The exercise notebooks: each blank template fails its checker helpfully, each solution passes.

An exercise is a pair of notebooks, ``NN-exercise-<name>.py`` (the template: the
kernel's signature with an empty body) and ``NN-solution-<name>.py`` (listed after
it, as the names sort).
Both live in ``notebooks/`` with the walk-throughs, so the docs show them and
``pytest --nbmake notebooks`` runs them.  The template's checker cell carries the
``raises-exception`` tag, which nbclient (behind nbmake and the docs build)
honours: the blank template's expected AssertionError is shown, not treated as
a broken notebook.  What that error says is tested here, by running the
template's code cells from its jupytext source.
"""

import re
from pathlib import Path

import jupytext
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
TAG = "raises-exception"

# template stem, the function the learner writes, the checker that judges it
EXERCISES = [
    ("09-exercise-conv-backward", "conv2d_backward", "check_conv2d_backward"),
    ("10-exercise-max-pool-backward", "max_pool2d_backward", "check_max_pool2d_backward"),
    ("11-exercise-bptt", "rnn_backward", "check_rnn_backward"),
]


def solution(stem):
    return stem.replace("-exercise-", "-solution-")
IDS = [stem for stem, _, _ in EXERCISES]


def code_cells(stem):
    return [c for c in jupytext.read(NOTEBOOK_DIR / f"{stem}.py").cells if c.cell_type == "code"]


def run_cells(cells, monkeypatch):
    """Execute the cells in one namespace, in fast mode; return the namespace."""
    monkeypatch.setenv("NUMBACNN_FAST", "1")
    namespace = {"__name__": "__notebook__"}
    for cell in cells:
        exec(compile(cell.source, "<notebook cell>", "exec"), namespace)  # noqa: S102
    return namespace


def test_every_exercise_notebook_is_listed_here():
    stems = {p.stem for p in NOTEBOOK_DIR.glob("*-exercise-*.py")}
    stems |= {p.stem for p in NOTEBOOK_DIR.glob("*-solution-*.py")}
    assert stems == {s for s, _, _ in EXERCISES} | {solution(s) for s, _, _ in EXERCISES}


@pytest.mark.parametrize("stem, function, checker", EXERCISES, ids=IDS)
def test_the_blank_template_fails_the_checker_with_a_helpful_message(
        stem, function, checker, monkeypatch):
    cells = code_cells(stem)
    tagged = [i for i, c in enumerate(cells) if TAG in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and checker in cells[tagged[0]].source
    # every cell before the checker runs cleanly: only the checker may fail
    namespace = run_cells(cells[:tagged[0]], monkeypatch)
    assert callable(namespace[function])
    with pytest.raises(AssertionError) as info:
        exec(compile(cells[tagged[0]].source, "<checker cell>", "exec"), namespace)  # noqa: S102
    message = str(info.value)
    assert message.startswith(f"{function}: fn returned None"), message
    assert "blank template" in message
    assert re.search(r"shapes: \w+ \(1, 1", message), message  # shrunk to the smallest call


@pytest.mark.parametrize("stem, function, checker", EXERCISES, ids=IDS)
def test_the_solution_passes_the_checker(stem, function, checker, monkeypatch):
    cells = code_cells(solution(stem))
    assert not any(TAG in c.metadata.get("tags", []) for c in cells)  # nbmake must see a failure
    namespace = run_cells(cells, monkeypatch)
    assert namespace["EXAMPLES"] == 15  # fast mode reached the notebook


@pytest.mark.parametrize("stem, function, checker", EXERCISES, ids=IDS)
def test_template_and_solution_differ_only_in_the_kernel(stem, function, checker):
    def comparable(cells):
        # the kernel cell (it defines the function) is what differs; so do the tag and
        # the template's noqa on the numpy import it leaves to the learner
        return [re.sub(r"  # noqa: F401.*", "", c.source) for c in cells
                if f"def {function}(" not in c.source]

    template, solved = comparable(code_cells(stem)), comparable(code_cells(solution(stem)))
    assert template == solved[:len(template)]
