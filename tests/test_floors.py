"""The library's floors (docs/architecture.rst): every import points down, never up.

The rule is read off the source with ``ast``, imports inside functions
included, so a lazy import cannot hide an arrow that runs back up.
"""

import ast
import os
import sys

import numbacnn

ROOT = os.path.dirname(numbacnn.__file__)

#: a module's floor, by the first part of its dotted name below ``numbacnn``;
#: a module may import from its own floor and the floors beneath it
FLOORS = {
    "_validation": 0, "_deprecation": 0, "_registry": 0, "_jit": 0, "_compile": 0,
    "kernels": 0,
    "functional": 1, "signal": 1, "datasets": 1, "_gradcheck": 1,
    "activations": 2, "losses": 2, "optimizers": 2, "callbacks": 2, "testing": 2,
    "layers": 3,
    "models": 4,
    "architectures": 5,
    "sklearn": 6, "interop": 6, "experiments": 6, "cli": 6, "__main__": 6, "__init__": 7,
}


def _module_name(path):
    rel = os.path.relpath(path, ROOT)[: -len(".py")].split(os.sep)
    if rel[-1] == "__init__" and len(rel) > 1:
        rel = rel[:-1]
    return ".".join(rel)


def _imports(path):
    """Dotted names below ``numbacnn`` that the file imports, relative imports resolved."""
    name = _module_name(path)
    package = name.split(".") if path.endswith("__init__.py") else name.split(".")[:-1]
    with open(path, encoding="utf-8") as fh:
        tree = ast.parse(fh.read(), filename=path)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("numbacnn."):
                    found.append((node.lineno, alias.name[len("numbacnn."):]))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.startswith("numbacnn"):
                target = node.module[len("numbacnn."):] if "." in node.module else ""
            else:
                continue
            if target:
                found.append((node.lineno, target))
            else:  # `from numbacnn import x` / `from .. import x`: each name is a module or symbol
                found += [(node.lineno, alias.name) for alias in node.names]
    return found


def _floor(dotted):
    head = dotted.split(".")[0]
    return FLOORS.get(head)


def _violations():
    bad = []
    for folder, _, files in os.walk(ROOT):
        for fname in files:
            if not fname.endswith(".py"):
                continue
            path = os.path.join(folder, fname)
            name = _module_name(path)
            own = _floor(name)
            assert own is not None, f"numbacnn.{name} has no floor in FLOORS; add it"
            for line, target in _imports(path):
                if name.startswith("kernels") and not target.startswith("kernels"):
                    bad.append(f"numbacnn.{name}:{line} (a kernel) imports numbacnn.{target}")
                    continue
                theirs = _floor(target)
                if theirs is not None and theirs > own:
                    bad.append(f"numbacnn.{name}:{line} (floor {own}) imports "
                               f"numbacnn.{target} (floor {theirs})")
    return bad


def test_every_import_points_down():
    assert _violations() == []


def test_the_floor_check_sees_an_arrow_that_runs_up(tmp_path, monkeypatch):
    # a planted kernel that reaches for the layers, from inside a function
    planted = tmp_path / "numbacnn"
    (planted / "kernels").mkdir(parents=True)
    (planted / "__init__.py").write_text("")
    (planted / "kernels" / "__init__.py").write_text("")
    (planted / "kernels" / "bad.py").write_text(
        "def f():\n    from ..layers import Dense\n    return Dense\n"
    )
    (planted / "layers.py").write_text("from .models import Sequential\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", str(planted))
    found = _violations()
    assert any("kernels.bad:2 (a kernel) imports numbacnn.layers" in v for v in found)
    assert any("numbacnn.layers:1 (floor 3) imports numbacnn.models (floor 4)" in v
               for v in found)
