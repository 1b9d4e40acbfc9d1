"""Package-level promises: importing compiles nothing; compiled kernels come back from the cache."""

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

NOJIT = os.environ.get("NUMBA_DISABLE_JIT") == "1"
needs_jit = pytest.mark.skipif(NOJIT, reason="there is no compilation with NUMBA_DISABLE_JIT=1")


def _run(code, env_extra):
    env = dict(os.environ, **env_extra)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@needs_jit
def test_import_compiles_no_kernel(tmp_path):
    out = _run("""
        import importlib, json, pkgutil
        import numbacnn, numbacnn.kernels
        from numba.core.registry import CPUDispatcher
        # every public module a user imports, then every kernel they could reach
        for name in ["signal", "functional", "layers", "models", "callbacks", "sklearn",
                     "datasets", "activations", "losses", "optimizers", "experiments", "cli"]:
            importlib.import_module("numbacnn." + name)
        numbacnn.Sequential, numbacnn.gradcheck, numbacnn.load_model
        compiled, seen = [], 0
        for info in pkgutil.iter_modules(numbacnn.kernels.__path__):
            mod = importlib.import_module("numbacnn.kernels." + info.name)
            for obj in vars(mod).values():
                if isinstance(obj, CPUDispatcher):
                    seen += 1
                    if obj.signatures:
                        compiled.append(obj.__name__)
        print(json.dumps({"seen": seen, "compiled": compiled}))
    """, {"NUMBA_CACHE_DIR": str(tmp_path)})
    assert out["seen"] > 20  # the check looked at the kernels at all
    assert out["compiled"] == []


@needs_jit
def test_second_process_loads_kernels_from_the_cache(tmp_path):
    code = """
        import json
        import numpy as np
        from numbacnn.functional import max_pool2d
        from numbacnn.kernels import pool
        max_pool2d(np.arange(2 * 3 * 6 * 6, dtype=np.float64).reshape(2, 3, 6, 6), 3)
        stats = pool.max_pool2d_fast.stats
        print(json.dumps({"hits": sum(stats.cache_hits.values()),
                          "misses": sum(stats.cache_misses.values())}))
    """
    env = {"NUMBA_CACHE_DIR": str(tmp_path)}
    first = _run(code, env)
    second = _run(code, env)
    assert first == {"hits": 0, "misses": 1}  # compiled, then written to the cache
    assert second == {"hits": 1, "misses": 0}  # loaded, not compiled again


# the one module that may convert to and from torch models, importing torch inside its functions
_TORCH_ALLOWED = {"interop.py"}


def _torch_imports(path):
    """``(line, statement)`` of every import of torch in the file at ``path``, at any depth."""
    import ast

    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), filename=path)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif (isinstance(node, ast.Call) and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Name) and node.func.id == "__import__")
                   or (isinstance(node.func, ast.Attribute)
                       and node.func.attr == "import_module"))):
            names = [node.args[0].value]  # __import__("torch"), importlib.import_module(...)
        else:
            continue
        if any(n == "torch" or n.startswith("torch.") for n in names):
            found.append((node.lineno, ast.unparse(node)))
    return found


def test_no_module_of_the_package_imports_torch():
    import numbacnn

    root = os.path.dirname(numbacnn.__file__)
    offenders, scanned = {}, 0
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            if not name.endswith(".py") or os.path.relpath(path, root) in _TORCH_ALLOWED:
                continue
            scanned += 1
            if found := _torch_imports(path):
                offenders[os.path.relpath(path, root)] = found
    assert scanned > 30  # the scan saw the package
    assert offenders == {}, f"torch is imported under numbacnn/: {offenders}"


def test_the_torch_scan_finds_imports_at_any_depth(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text(textwrap.dedent("""
        import numpy as np, torch.nn as nn
        def f():
            if True:
                from torch import tensor
            import torchvision  # another package: not torch
        class A:
            def g(self):
                from torch.optim import SGD
                return importlib.import_module("torch"), __import__("numpy")
    """))
    assert [line for line, _ in _torch_imports(str(planted))] == [2, 5, 9, 10]


# --------------------------------------------------------------------------- metadata
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _setup_cfg():
    import configparser

    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(os.path.join(ROOT, "setup.cfg"), encoding="utf-8")
    return cfg


def _lines(value):
    return [line.strip() for line in value.strip().splitlines() if line.strip()]


def test_the_version_is_defined_once():
    import numbacnn

    assert re.fullmatch(r"\d+\.\d+\.\d+", numbacnn.__version__)
    assert _setup_cfg()["metadata"]["version"] == "attr: numbacnn.__version__"
    # no other file of the project spells the version out for packaging
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as f:
        assert "version" not in f.read()


def test_metadata_links_licence_and_classifiers():
    meta = _setup_cfg()["metadata"]
    urls = dict(line.split(" = ", 1) for line in _lines(meta["project_urls"]))
    assert {"Source", "Documentation", "Issues", "Lecture"} <= set(urls)
    assert all(url.startswith("https://") for url in urls.values())
    assert "CompPhysics/MachineLearning" in urls["Lecture"]
    assert "license" not in meta  # the free-text field would shadow the expression
    licenses = pytest.importorskip("packaging.licenses")
    expression = meta["license_expression"]
    assert licenses.canonicalize_license_expression(expression) == expression == "BSD-3-Clause"
    classifiers = _lines(meta["classifiers"])
    # PEP 639: an expression replaces the licence classifiers (setuptools refuses both)
    assert not [c for c in classifiers if c.startswith("License ::")]
    assert {"Intended Audience :: Education", "Intended Audience :: Science/Research",
            "Topic :: Education"} <= set(classifiers)
    for path in _lines(meta["license_files"]):
        assert os.path.isfile(os.path.join(ROOT, path)), path


def test_the_build_requires_a_setuptools_that_writes_the_licence_expression():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    from packaging.requirements import Requirement

    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        requires = tomllib.load(f)["build-system"]["requires"]
    setuptools = [Requirement(r) for r in requires if Requirement(r).name == "setuptools"]
    assert len(setuptools) == 1
    # 76.1.0 drops setup.cfg's license_expression silently; 77.0.3 writes License-Expression
    assert not setuptools[0].specifier.contains("76.1.0")
    assert setuptools[0].specifier.contains("77.0.3")


def test_citation_file_agrees_with_the_package():
    yaml = pytest.importorskip("yaml")
    import numbacnn

    with open(os.path.join(ROOT, "CITATION.cff"), encoding="utf-8") as f:
        cff = yaml.safe_load(f)
    assert cff["cff-version"] == "1.2.0"
    assert {"authors", "message", "title"} <= set(cff)  # the keys CFF 1.2.0 requires
    assert str(cff["version"]) == numbacnn.__version__
    assert cff["license"] == _setup_cfg()["metadata"]["license_expression"]
    lecture = cff["references"][0]
    assert lecture["authors"][0]["family-names"] == "Hjorth-Jensen"


def test_changelog_has_this_version_and_an_unreleased_section():
    import numbacnn

    with open(os.path.join(ROOT, "CHANGELOG.md"), encoding="utf-8") as f:
        headings = [line for line in f if line.startswith("## ")]
    assert headings[0].strip() == "## [Unreleased]"
    assert any(h.startswith(f"## [{numbacnn.__version__}] - ") for h in headings)


def test_the_wheel_smoke_test_refuses_the_source_tree(tmp_path):
    # tox -e wheel runs tools/smoke_wheel.py against the installed wheel; given the source
    # tree's numbacnn instead, it must fail before testing the wrong copy
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "smoke_wheel.py"), ROOT],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert "FAILED  numbacnn imported from" in proc.stdout
    assert "not the installed wheel: nothing else checked" in proc.stderr


# a command a README tells a reader to type -> the package that provides it
_COMMANDS = {"python3 -m pytest": "pytest", "jupyter lab": "jupyterlab",
             "jupytext --": "jupytext", "nbstripout --": "nbstripout"}


@pytest.mark.parametrize("readme", ["README.md", "notebooks/README.md"])
def test_every_tool_a_readme_asks_for_comes_with_an_extra_it_installs(readme):
    from packaging.requirements import Requirement

    extras = {name: {Requirement(r).name for r in _lines(value) if not r.startswith("#")}
              for name, value in _setup_cfg()["options.extras_require"].items()}
    with open(os.path.join(ROOT, readme), encoding="utf-8") as f:
        text = f.read()
    installed = set(re.findall(r'pip install -e "?\.\[(\w+)\]', text))
    used = [pkg for command, pkg in _COMMANDS.items() if command in text]
    assert used, "the check found no command to check"
    for pkg in used:
        assert any(pkg in extras[name] for name in installed), (
            f"{readme} uses {pkg} but installs only the extras {sorted(installed)}")


def test_readme_opens_with_the_two_commands_and_warns_before_the_tox_run():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    first_block = text.split("```bash\n", 1)[1].split("```", 1)[0].splitlines()
    assert text.index("```bash") < text.index("\n\n", len("# numbacnn\n"))  # nothing before it
    assert [line.split("#")[0].split() for line in first_block] == [
        "python3 -m pip install -e . && python3 -m numbacnn train".split(),
        "python3 -m pip install tox && python3 -m tox".split()]
    # the lecture, linked to the public course repository and named by file
    assert "https://github.com/CompPhysics/MachineLearning" in text
    assert "doc/src/week45/week45.do.txt" in text
    # what the full tox run costs, and that its docs env installs a browser system-wide
    assert re.search(r"\d+(-\d+)? minutes", text) and re.search(r"\d+(\.\d+)? GB", text)
    assert "tools/ensure-chromium.sh" in text and "system-wide" in text
