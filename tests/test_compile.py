"""The first run's compile notice and the warm-up before training (numbacnn._compile)."""

import io
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import numbacnn.models.training as training
from numbacnn import Sequential, _compile
from numbacnn.layers import Dense, Flatten, MaxPool2D
from numbacnn.optimizers import Adam

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# a model whose only compiled kernels are max pooling's forward and backward: seconds to compile
SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    from numbacnn import Sequential
    from numbacnn.layers import Dense, Flatten, MaxPool2D
    X = np.random.default_rng(0).random((32, 1, 4, 4))
    y = np.arange(32) % 3
    model = Sequential([MaxPool2D(2), Flatten(), Dense(3, activation="softmax")], seed=0)
    history = model.fit(X, y, epochs=1, batch_size=16, verbose=int(sys.argv[1]))
    print(history.compile_time)
""")


def _run(cache_dir, verbose=2, disable_jit=False):
    env = {k: v for k, v in os.environ.items()
           if k not in ("NUMBA_DISABLE_JIT", "NUMBACNN_SERIAL_KERNELS")}
    env.update(NUMBA_CACHE_DIR=str(cache_dir), PYTHONPATH=ROOT)
    if disable_jit:
        env["NUMBA_DISABLE_JIT"] = "1"
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(verbose)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return proc.stderr, float(proc.stdout.split()[-1])


def test_notice_on_a_cold_cache_and_silence_on_a_warm_one(tmp_path):
    err, seconds = _run(tmp_path)
    first, second = [line for line in err.splitlines() if line.startswith("numbacnn:")]
    assert "compiling the kernels for MaxPool2D, Flatten, Dense (float64)" in first
    assert "once per machine" in first and str(tmp_path) in first
    assert second.startswith("numbacnn: compiled ") and "kernels in" in second
    assert seconds > 0.0
    err, _ = _run(tmp_path)  # the same cache, now filled
    assert "numbacnn:" not in err


def test_no_notice_without_jit(tmp_path):
    err, seconds = _run(tmp_path, disable_jit=True)
    assert "numbacnn:" not in err and seconds == 0.0


class _Event:
    def __init__(self, dispatcher):
        self.data = {"dispatcher": dispatcher}


class _Dispatcher:
    class _cache:  # noqa: N801 - stands in for numba's cache object
        _cache_path = "/somewhere/cache"

    @staticmethod
    def py_func():
        pass


def test_notice_prints_once_and_keeps_quiet_without_a_stream():
    out = io.StringIO()
    notice = _compile.CompileNotice("Dense (float32)", out)
    notice.on_start(_Event(_Dispatcher()))
    notice.on_end(_Event(_Dispatcher()))
    notice.on_start(_Event(_Dispatcher()))
    notice.done(2.5)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert "Dense (float32)" in lines[0] and "/somewhere/cache" in lines[0]
    assert lines[1] == "numbacnn: compiled 2 kernels in 2.5 s (cached for the next run)"
    quiet = _compile.CompileNotice("Dense (float32)", None)
    quiet.on_start(_Event(_Dispatcher()))
    quiet.done(1.0)
    assert quiet.compiled == ["py_func"]
    nothing = io.StringIO()
    _compile.CompileNotice("Dense (float32)", nothing).done(1.0)  # nothing compiled
    assert nothing.getvalue() == ""


def _model(seed=3):
    return Sequential([MaxPool2D(2), Flatten(), Dense(4, activation="relu"),
                       Dense(3, activation="softmax")], optimizer=Adam(eta=1e-2), seed=seed)


def _data():
    rng = np.random.default_rng(5)
    return rng.random((40, 1, 4, 4)), rng.integers(0, 3, 40)


def _state(model):
    optimizer = {k: {n: np.copy(v) for n, v in st.items()}
                 for k, st in model.optimizer.state.items()}
    return ([p.copy() for p in model.parameters().values()], optimizer,
            model.training_state.state_dict())


def _assert_same(a, b):
    (pa, oa, ra), (pb, ob, rb) = a, b
    assert len(pa) == len(pb) and all(np.array_equal(x, y) for x, y in zip(pa, pb, strict=True))
    assert oa.keys() == ob.keys()
    for k in oa:
        assert oa[k].keys() == ob[k].keys()
        assert all(np.array_equal(oa[k][n], ob[k][n]) for n in oa[k])
    assert ra == rb


@pytest.fixture
def forced_warm_up(monkeypatch):
    """warm_up runs in every test, with or without jit, and forgets what it warmed."""
    monkeypatch.setattr(_compile, "_jit_disabled", lambda: False)
    monkeypatch.setattr(_compile, "_WARM", set())


def test_warm_up_leaves_the_model_untouched(forced_warm_up):
    X, y = _data()
    model = _model()
    model.fit(X[:8], y[:8], epochs=1, batch_size=4, verbose=0)  # optimizer state exists
    before = _state(model)
    Xc, yc = model._checked_data(X, y)
    _compile._WARM.clear()
    seconds = _compile.warm_up(model, Xc, yc, 16, (Xc, yc), 0, training._warm_up_step)
    assert seconds > 0.0
    _assert_same(before, _state(model))
    # the same kind of model again: nothing to do
    assert _compile.warm_up(model, Xc, yc, 16, (Xc, yc), 0, training._warm_up_step) == 0.0


def test_training_with_and_without_warm_up_is_bit_identical(forced_warm_up, monkeypatch):
    X, y = _data()
    warmed = _model()
    warmed.fit(X, y, epochs=2, batch_size=16, validation_data=(X, y), verbose=0)
    assert _compile._WARM  # the warm-up ran
    monkeypatch.setattr(training, "warm_up", lambda *args: 0.0)
    plain = _model()
    plain.fit(X, y, epochs=2, batch_size=16, validation_data=(X, y), verbose=0)
    _assert_same(_state(warmed), _state(plain))


def _slow_warm_up(seconds):
    def fake(*args):
        time.sleep(seconds)
        return seconds
    return fake


def test_cli_reports_compile_time_apart(monkeypatch, capsys):
    from numbacnn.cli import main

    monkeypatch.setattr(training, "warm_up", _slow_warm_up(1.0))
    start = time.perf_counter()
    assert main(["train", "--dataset", "digits", "--limit", "60", "--epochs", "1", "-q"]) == 0
    wall = time.perf_counter() - start
    line = next(s for s in capsys.readouterr().out.splitlines() if s.startswith("trained"))
    assert line.endswith("before that 1.0 s compiling the kernels or loading them from the cache")
    trained = float(line.split(" in ")[1].split(" s")[0])
    assert trained <= wall - 1.0 + 0.05


def test_experiment_times_exclude_compilation(monkeypatch):
    from numbacnn.experiments import noisy_sine

    monkeypatch.setattr(training, "warm_up", _slow_warm_up(1.0))
    start = time.perf_counter()
    r = noisy_sine(epochs=1, n=120, n_train=96, fast=True)
    wall = time.perf_counter() - start
    assert r["kernel compile seconds (before training, not in the times above)"] == 2.0
    trained = sum(r[f"RNN train seconds ({k} reading)"] for k in ("lecture", "sequence"))
    assert trained <= wall - 2.0


def test_warm_up_runs_the_class_methods_not_wrappers_on_the_instance(forced_warm_up,
                                                                       monkeypatch):
    X, y = _data()
    model, calls = _model(), []
    original = model._backprop

    def counting(xb, yb):
        calls.append(len(xb))
        return original(xb, yb)

    monkeypatch.setattr(model, "_backprop", counting)
    model.fit(X, y, epochs=1, batch_size=16, verbose=0)
    assert _compile._WARM  # the warm-up ran, on the twin, without calling the wrapper
    assert calls == [16, 16, 8]
