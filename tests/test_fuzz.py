"""Drive the fuzz module (tests/fuzz/) in worker processes and check what it covers.

Each file of tests/fuzz/ runs in its own ``python -m pytest`` subprocess
(``NUMBACNN_FUZZ_WORKER=1``), so a segfault, an abort or a heap corruption in a
kernel fails this test with the example that caused it instead of killing the
test run.  A whole subprocess rather than a fork per example: numba's threading
layers (workqueue, OpenMP, TBB) are not fork-safe once their threads exist, and
a forked child of a process that has run a parallel kernel can deadlock; a
fresh interpreter pays about two seconds of start-up (kernels come from the
on-disk cache) once per file.  Hangs: the worker arms a faulthandler watchdog
around every call (it dumps the stacks and exits even while a kernel holds
the GIL), and the driver kills a worker that exceeds its whole budget.

The number of examples follows the Hypothesis profile (tests/conftest.py):
the ``fuzz`` profile (tox env ``fuzz``) runs at least :data:`FUZZ_MIN_EXAMPLES`;
the other profiles run a few per property.
"""

import importlib
import inspect
import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

import numbacnn

HERE = Path(__file__).parent
FUZZ_DIR = HERE / "fuzz"
WORKER_FILES = sorted(p.name for p in FUZZ_DIR.glob("test_fuzz_*.py"))

#: examples the ``fuzz`` profile must reach across all entry points
FUZZ_MIN_EXAMPLES = 5000
#: seconds one worker process may take in all
WORKER_TIMEOUT = float(os.environ.get("NUMBACNN_FUZZ_WORKER_TIMEOUT", "1200"))

# ----------------------------------------------------------------------------- coverage

#: public entry point -> the name under which the fuzz module counts its calls
COVERED = {
    **{f"numbacnn.signal.{n}": f"signal.{n}" for n in numbacnn.signal.__all__},
    **{f"numbacnn.activations.{n}": f"activations.{n}" for n in (
        "Identity", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Softmax",
        "identity", "sigmoid", "tanh", "relu", "leaky_relu", "softmax")},
    "numbacnn.activations.get_activation": "activations.get_activation",
    **{f"numbacnn.losses.{n}": f"losses.{n}" for n in (
        "MeanSquaredError", "BinaryCrossEntropy", "CategoricalCrossEntropy",
        "labels_to_onehot")},
    "numbacnn.losses.get_loss": "losses.get_loss",
    **{f"numbacnn.optimizers.{n}": f"optimizers.{n}" for n in (
        "SGD", "Momentum", "Adagrad", "AdagradMomentum", "RMSprop", "Adam")},
    "numbacnn.optimizers.get_optimizer": "optimizers.get_optimizer",
    **{f"numbacnn.layers.{n}": f"layers.{n}" for n in (
        "Conv2D", "MaxPool2D", "AvgPool2D", "Flatten", "Dense", "Dropout", "SimpleRNN", "LSTM",
        "GRU")},
    "numbacnn.Sequential": "Sequential.fit",
    "numbacnn.gradcheck": "gradcheck",
    "numbacnn.load_model": "load_model",
}
COVERED.update({f"numbacnn.functional.{n}": f"functional.{n}" for n in (
    "conv2d", "conv2d_backward", "max_pool2d", "max_pool2d_backward", "avg_pool2d",
    "avg_pool2d_backward", "rnn_forward", "rnn_backward", "rnn_gradient_norms", "lstm_forward",
    "lstm_backward", "lstm_gradient_norms", "gru_forward", "gru_backward")})

#: public names that take neither arrays nor sizes (or lie outside the fuzz module), and why
NOT_FUZZED = {
    "numbacnn.activations.Activation": "abstract base class",
    "numbacnn.activations.ACTIVATIONS": "a dict of classes",
    "numbacnn.losses.Loss": "abstract base class",
    "numbacnn.losses.LOSSES": "a dict of classes",
    "numbacnn.optimizers.Optimizer": "abstract base class",
    "numbacnn.optimizers.OPTIMIZERS": "a dict of classes",
    "numbacnn.layers.Layer": "abstract base class",
    "numbacnn.History": "a record of a training run",
    "numbacnn.EarlyStopping": "a callback (patience, monitor): no arrays",
    "numbacnn.TerminateOnNaN": "a callback without arguments; fit's own guard is fuzzed",
    "numbacnn.callbacks": "callbacks (paths, schedules, monitored keys): tests/test_callbacks.py",
    "numbacnn.ModelFileError": "an exception class; load_model, which raises it, is fuzzed",
    "numbacnn.__version__": "a string",
    "numbacnn.datasets": "loaders of fixed files, not fuzzed",
    "numbacnn.experiments": "the lecture's experiments, not fuzzed",
    "numbacnn.sklearn": "estimators over Sequential, not fuzzed",
    "numbacnn.functional.conv2d_im2col": "conv2d's im2col twin (tests/test_im2col.py holds it "
    "to the loop kernels); it allocates the full padded copy and patch matrix, so the fuzz "
    "module's huge paddings are MemoryErrors by design",
    "numbacnn.functional.conv2d_im2col_backward": "as conv2d_im2col",
    "numbacnn.interop": "copies weights between torch modules and models, not fuzzed",
}
SUBPACKAGES = ("signal", "functional", "activations", "losses", "optimizers", "layers")


def _public(module):
    names = getattr(module, "__all__", None)
    if names is None:  # numbacnn.functional re-exports without an __all__
        names = [n for n, v in vars(module).items() if not n.startswith("_")
                 and callable(v) and not isinstance(v, types.ModuleType)]
    return [f"{module.__name__}.{n}" for n in names]


def public_entry_points():
    """Every public name of numbacnn and its array-taking subpackages."""
    names = [f"numbacnn.{n}" for n in numbacnn.__all__ if n not in SUBPACKAGES]
    for sub in SUBPACKAGES:
        names += _public(importlib.import_module(f"numbacnn.{sub}"))
    return names


def test_every_public_entry_point_is_fuzzed_or_exempt():
    missing = [n for n in public_entry_points() if n not in COVERED and n not in NOT_FUZZED]
    assert not missing, f"public names the fuzz module does not cover: {missing}"
    stale = [n for n in [*COVERED, *NOT_FUZZED] if n not in public_entry_points()]
    assert not stale, f"names in COVERED/NOT_FUZZED that are no longer public: {stale}"


def test_functional_lists_only_functions():
    for name in _public(numbacnn.functional):
        assert inspect.isfunction(eval(name, {"numbacnn": numbacnn})), name


# ----------------------------------------------------------------------------- workers


def _run_worker(filename, tmp_path, deselect=()):
    """One worker process over ``filename``: ``(returncode, output, last example, stats)``."""
    log, stats = tmp_path / f"{filename}.last", tmp_path / f"{filename}.json"
    for f in (log, stats):
        f.unlink(missing_ok=True)
    env = dict(os.environ, NUMBACNN_FUZZ_WORKER="1", NUMBACNN_FUZZ_LOG=str(log),
               NUMBACNN_FUZZ_STATS=str(stats), PYTHONFAULTHANDLER="1")
    cmd = [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "--tb=short",
           "-W", "ignore::RuntimeWarning", str(FUZZ_DIR / filename)]
    cmd += [a for node in deselect for a in ("--deselect", node)]
    try:
        proc = subprocess.run(cmd, cwd=HERE.parent, env=env, capture_output=True, text=True,
                              timeout=WORKER_TIMEOUT)
        rc, output = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout or ""
        rc, output = "timeout", out.decode() if isinstance(out, bytes) else out
    last = log.read_text() if log.exists() else "(none)"
    stats = json.loads(stats.read_text()) if stats.exists() else None
    return rc, output, last, stats


def _running_node(output, filename):
    """The test that was running when the worker died: the last node id pytest -v printed."""
    nodes = re.findall(rf"(tests/fuzz/{re.escape(filename)}::\w+(?:\[[^\]]*\])?)", output)
    return nodes[-1] if nodes else None


def _run_file(filename, tmp_path):
    """Run ``filename`` until it finishes; a test that kills its worker is reported and skipped.

    Returns ``(failure reports, stats)``.
    """
    failures, deselect = [], []
    while True:
        rc, output, last, stats = _run_worker(filename, tmp_path, deselect)
        if stats is not None:  # the session finished: ordinary pass/fail
            if rc != 0:
                failures.append(f"== {filename}: exit {rc}\n{output[-40000:]}")
            return failures, stats
        how = ("hung (killed after the worker timeout)" if rc == "timeout" else
               f"died with signal {-rc}" if isinstance(rc, int) and rc < 0 else f"died ({rc})")
        node = _running_node(output, filename)
        failures.append(f"== {node or filename}: the worker {how}\n-- last example:\n{last}"
                        f"-- output:\n{output[-6000:]}")
        if node is None or node in deselect:
            return failures, {"calls": {}, "seen": []}
        deselect.append(node)


def test_fuzz_module(tmp_path):
    """Every worker exits 0; every covered entry point was called; the fuzz profile's budget."""
    if os.environ.get("NUMBA_DISABLE_JIT") == "1":
        pytest.skip("the fuzz module checks compiled kernels; plain Python misses the budget")
    from hypothesis import settings

    failures, calls, seen = [], {}, set()
    for filename in WORKER_FILES:
        reports, stats = _run_file(filename, tmp_path)
        failures += reports
        for k, v in stats["calls"].items():
            calls[k] = calls.get(k, 0) + v
        seen.update(stats["seen"])
    total = sum(calls.values())
    print(f"\nfuzz: {total} calls over {len(calls)} entry points")
    for name in sorted(calls):
        print(f"  {calls[name]:6d}  {name}")
    assert not failures, "\n".join(failures)
    if settings().max_examples >= settings.get_profile("fuzz").max_examples:
        # with a few examples per property (the other profiles) not every entry point
        # a property samples from comes up; the full budget must reach them all
        uncalled = sorted(set(COVERED.values()) - seen)
        assert not uncalled, f"entry points the fuzz module never called: {uncalled}"
        assert total >= FUZZ_MIN_EXAMPLES, f"only {total} fuzz examples"
