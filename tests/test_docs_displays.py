"""The code the theory pages display is the code that runs and is tested.

* a displayed function shows its equation's implementation, not mostly its
  docstring (a page that needs the body only starts at it and prepends the
  ``def`` line, which must then be the real one);
* every displayed test that calls a function with a ``reference`` switch sets
  it, so the test exercises the reference kernel the page shows;
* every page that shows a reference kernel with a fast twin also shows a test
  from tests/test_reference_switch.py holding the two equal.
"""

import ast
import glob
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = sorted(glob.glob(os.path.join(ROOT, "docs", "theory", "*.rst")))
INCLUDE = re.compile(r"^\.\. literalinclude:: \.\./\.\./(\S+)\n((?:   :.*\n)+)", re.M)
SWITCHED = ("conv2d", "conv2d_backward", "max_pool2d", "max_pool2d_backward", "avg_pool2d",
            "avg_pool2d_backward", "rnn_forward", "rnn_backward", "lstm_forward",
            "lstm_backward", "gru_forward", "gru_backward")
TWINNED = ("kernels/conv.py", "kernels/pool.py", "kernels/rnn.py", "kernels/lstm.py",
           "kernels/gru.py")


def _displays():
    """(page, path, options) for every literalinclude of a Python object."""
    found = []
    for page in PAGES:
        with open(page, encoding="utf-8") as fh:
            text = fh.read()
        for m in INCLUDE.finditer(text):
            opts = dict(re.findall(r"   :([\w-]+):(?: (.*))?", m.group(2)))
            if "pyobject" in opts:
                found.append((os.path.basename(page), m.group(1), opts))
    return found


def _node(path, qualname):
    with open(os.path.join(ROOT, path), encoding="utf-8") as fh:
        source = fh.read()
    node = ast.parse(source)
    for name in qualname.split("."):
        node = next(c for c in ast.iter_child_nodes(node)
                    if isinstance(c, ast.FunctionDef | ast.ClassDef) and c.name == name)
    return node, source.splitlines()


DISPLAYS = _displays()
IDS = [f"{page}:{opts['pyobject']}" for page, _, opts in DISPLAYS]


@pytest.mark.parametrize(("page", "path", "opts"), DISPLAYS, ids=IDS)
def test_display_shows_more_code_than_docstring(page, path, opts):
    node, lines = _node(path, opts["pyobject"])
    first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
    shown = list(range(first, node.end_lineno + 1))
    if "start-at" in opts:
        start = next(i for i in shown if opts["start-at"] in lines[i - 1])
        shown = [i for i in shown if i >= start]
    doc = node.body[0]
    has_doc = isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant)
    doc_lines = {i for i in shown if has_doc and doc.lineno <= i <= doc.end_lineno}
    assert len(doc_lines) <= len(shown) - len(doc_lines), (
        f"{page} shows {opts['pyobject']} with {len(doc_lines)} docstring lines and only "
        f"{len(shown) - len(doc_lines)} lines of code: start at the body (:start-at:)")


@pytest.mark.parametrize(("page", "path", "opts"),
                         [d for d in DISPLAYS if "prepend" in d[2]],
                         ids=[i for i, d in zip(IDS, DISPLAYS, strict=True) if "prepend" in d[2]])
def test_prepended_signature_is_the_real_one(page, path, opts):
    node, lines = _node(path, opts["pyobject"])
    header = " ".join(line.strip() for line in lines[node.lineno - 1:node.body[0].lineno - 1])
    header = header[: header.index("):") + 2].replace("( ", "(").replace(", )", ")")
    assert opts["prepend"] == header


@pytest.mark.parametrize(("page", "path", "opts"),
                         [d for d in DISPLAYS if d[1].startswith("tests/")],
                         ids=[i for i, d in zip(IDS, DISPLAYS, strict=True)
                              if d[1].startswith("tests/")])
def test_displayed_tests_set_the_reference_switch(page, path, opts):
    node, lines = _node(path, opts["pyobject"])
    source = "\n".join(lines[node.lineno - 1:node.end_lineno])
    calls = {name for name in SWITCHED if re.search(rf"(?<![\w.]){name}\(", source)}
    # the test modules' own ``backward(p, up, ...)`` helpers forward the switch
    if re.search(r"(?<![\w.])backward\(p, up", source):
        calls.add("backward")
    if calls:
        assert "reference=" in source, f"{opts['pyobject']} calls {sorted(calls)} without it"


@pytest.mark.parametrize("page", PAGES, ids=os.path.basename)
def test_pages_with_reference_kernels_show_reference_equals_fast(page):
    shown = [(path, opts) for p, path, opts in DISPLAYS if p == os.path.basename(page)]
    kernels = [o["pyobject"] for path, o in shown
               if path.endswith(TWINNED) and o["pyobject"].endswith("_reference")]
    if kernels:
        assert any(path == "tests/test_reference_switch.py" for path, _ in shown), kernels
