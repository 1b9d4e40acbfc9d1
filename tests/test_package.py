"""Package-level promises: importing compiles nothing; compiled kernels come back from the cache."""

import json
import os
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
