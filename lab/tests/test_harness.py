"""The benchmark protocol (lab/harness.py, lab/run_benchmarks.py), without timing anything."""

import json
import types
from pathlib import Path

import harness
import pytest
import run_benchmarks
from harness import Case

CASES = [Case("conv", "conv (a)", "torch", 1.0), Case("corr", "correlate2d", "scipy", 0.2),
         Case("fft", "fftconvolve2d", "scipy")]


def test_rounds_interleave_the_libraries():
    order = harness.interleaved(["numbacnn", "torch"], 3)
    assert [lib for _, lib in order] == ["numbacnn", "torch"] * 3
    assert [r for r, _ in order] == [0, 0, 1, 1, 2, 2]
    with pytest.raises(ValueError, match="rounds"):
        harness.interleaved(["numbacnn"], 0)


def test_ratio_of_medians_is_not_a_mean_nor_a_median_of_ratios():
    ours, theirs = [1.0, 100.0, 3.0], [2.0, 2.0, 200.0]
    assert harness.ratio_of_medians(ours, theirs) == pytest.approx(3.0 / 2.0)
    # per round: 0.5, 50, 0.015
    assert harness.round_ratios(ours, theirs) == pytest.approx((0.015, 50.0))


def test_verdict_against_the_target():
    assert harness.verdict(1.0, 1.0) == "met"
    assert harness.verdict(1.01, 1.0) == "not met"
    assert harness.verdict(5.0, None) == ""


def test_median_call_warms_up_before_timing():
    calls = []
    seconds = harness.median_call(lambda: calls.append("fn"), 4,
                                  warmup=lambda: calls.append("warm"))
    assert calls == ["warm"] + ["fn"] * 4 and seconds >= 0.0
    calls.clear()
    harness.median_call(lambda: calls.append("fn"), 2)  # default warm-up: one untimed call
    assert calls == ["fn"] * 3


def test_fingerprints_catch_a_disagreement():
    import numpy as np

    a = harness.fingerprint(np.ones(4), np.full(2, 2.0))
    assert a == [4.0, 8.0]
    assert harness.agree(a, [4.0 * (1 + 1e-5), 8.0], rtol=1e-4)
    assert not harness.agree(a, [4.1, 8.0], rtol=1e-4)
    times = {"numbacnn": {"conv": [1.0]}, "torch": {"conv": [2.0]}}
    with pytest.raises(AssertionError, match="disagree"):
        harness.summarise(CASES[:1], times, {"numbacnn": {"conv": a}, "torch": {"conv": [5.0]}})


def _fake_workers(log):
    """A stand-in for subprocess.run: each worker reports seconds from a fixed table."""
    seconds = {"numbacnn": [1.0, 3.0, 2.0], "torch": [2.0, 2.0, 4.0], "scipy": [10.0] * 3}
    seen = {}

    def run(cmd, cwd):
        lib, keys, out = (cmd[cmd.index(flag) + 1] for flag in ("--worker", "--keys", "--json"))
        r = seen.get(lib, 0)
        seen[lib] = r + 1
        log.append((lib, keys.split(","), "--quick" in cmd))
        payload = {"times": {k: seconds[lib][r] for k in keys.split(",")},
                   "checks": {k: [1.0] for k in keys.split(",")},
                   "info": {"threads": f"{lib} 2"}}
        Path(out).write_text(json.dumps(payload))
        return types.SimpleNamespace(returncode=0)
    return run


def test_run_rounds_starts_one_worker_per_library_per_round_in_order():
    log = []
    times, checks, info = harness.run_rounds("bench_x.py", CASES, 3, quick=True,
                                             run=_fake_workers(log), log=lambda *a, **k: None)
    assert [lib for lib, _, _ in log] == ["numbacnn", "torch", "scipy"] * 3
    assert log[0][1] == ["conv", "corr", "fft"]  # numbacnn runs every case
    assert log[1][1] == ["conv"] and log[2][1] == ["corr", "fft"]  # a reference only its own
    assert all(quick for _, _, quick in log)
    assert times["numbacnn"]["conv"] == [1.0, 3.0, 2.0]
    rows = harness.summarise(CASES, times, checks)
    conv, corr, fft = rows
    assert conv["ratio"] == pytest.approx(2.0 / 2.0) and conv["verdict"] == "met"
    assert (conv["low"], conv["high"]) == pytest.approx((0.5, 1.5))
    assert corr["ratio"] == pytest.approx(0.2) and corr["verdict"] == "met"
    assert fft["verdict"] == ""
    page = harness.markdown("T", rows, info, 3, 5, quick=False, note="Shared machine.")
    assert "own process with its default settings, 3 interleaved rounds" in page
    assert "**torch** process" in page and "threads: torch 2" in page
    assert "Shared machine." in page
    assert "| conv (a) | 2.00 s | torch 2.00 s | 1.00 | 0.50-1.50 | <= 1 | met |" in page


def test_a_failing_worker_stops_the_run():
    def run(cmd, cwd):
        return types.SimpleNamespace(returncode=3)
    with pytest.raises(RuntimeError, match="worker numbacnn"):
        harness.run_rounds("bench_x.py", CASES, 3, quick=False, run=run, log=print)


def test_the_page_reports_threading_variables(monkeypatch):
    for var in harness.THREAD_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    assert "Threading environment variables: none set." in harness.markdown("T", [], {}, 3, 5,
                                                                             False)
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    assert "OMP_WAIT_POLICY=PASSIVE" in harness.markdown("T", [], {}, 3, 5, False)


def test_fewer_than_three_rounds_need_quick():
    module = types.SimpleNamespace(TITLE="t", CASES=CASES, DEFAULT_REPEAT=1,
                                   __file__="bench_x.py")
    with pytest.raises(SystemExit):
        harness.main(module, ["--rounds", "2"])
    with pytest.raises(SystemExit):
        harness.main(module, ["--cases", "nope"])


def test_run_benchmarks_passes_rounds_and_quick(tmp_path):
    (cmd,) = run_benchmarks.commands([Path("lab/bench_conv.py")], tmp_path, 5, True, "n")
    assert cmd[cmd.index("--rounds") + 1] == "5"
    assert cmd[cmd.index("--out") + 1] == str(tmp_path / "bench_conv.md")
    assert "--quick" in cmd and cmd[cmd.index("--note") + 1] == "n"
