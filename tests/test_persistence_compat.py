"""Files saved by numbacnn before the split of Sequential still load and keep training.

The fixtures in tests/data were written once, by numbacnn at commit 4cd5095
(see tests/data/README.md); these tests regenerate the inputs they were made
with and compare against the outputs stored beside them.  Predictions are
compared to 1e-12 relative, so that a different BLAS cannot fail them while any
real change of the computation would.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from numbacnn import Sequential, load_model
from numbacnn.layers import GRU, LAYERS, LSTM, Conv2D, Dense, Flatten, MaxPool2D, SimpleRNN

DATA = Path(__file__).parent / "data"
RTOL, ATOL = 1e-12, 1e-15


def _cnn_data():
    X = np.random.default_rng(11).random((12, 1, 6, 6))
    y = np.arange(12) % 3
    X_test = np.random.default_rng(12).random((5, 1, 6, 6))
    return X, y, X_test


def _rnn_data():
    rng = np.random.default_rng(21)
    X = rng.standard_normal((8, 5, 2))
    y = rng.standard_normal((8, 1))
    X_test = np.random.default_rng(22).standard_normal((4, 5, 2))
    return X, y, X_test


CASES = {
    "cnn": (_cnn_data, [Conv2D, MaxPool2D, Flatten, Dense], (1, 6, 6), "adam", True),
    "rnn": (_rnn_data, [SimpleRNN, LSTM, GRU, Dense], (5, 2), "adam", False),
}


def _expected_params(expected, model):
    """``resumed/{i}/{old key}`` of the fixture, keyed as the layers name them now."""
    out = {}
    for name in expected.files:
        if name.startswith("resumed/"):
            _, i, old = name.split("/")
            layer = model.layers[int(i)]
            out[f"{i}.{type(layer)._renamed_params.get(old, old)}"] = expected[name]
    return out


@pytest.mark.parametrize("case", sorted(CASES))
def test_legacy_file_loads_with_its_config(case):
    _, classes, input_shape, optimizer, classifier = CASES[case]
    model = load_model(DATA / f"legacy_v1_{case}.npz")
    assert isinstance(model, Sequential)
    assert [type(layer) for layer in model.layers] == classes
    assert model.built and model.input_shape == input_shape
    assert model.dtype == np.float64
    assert model.seed == 0 and model.l2 == 0.0
    assert model.optimizer.name == optimizer
    assert model.is_classifier is classifier
    config = model.get_config()
    assert config["format"] == "numbacnn.Sequential" and config["version"] == 1


@pytest.mark.parametrize("case", sorted(CASES))
def test_legacy_file_predicts_what_it_predicted(case):
    make_data, _, _, _, classifier = CASES[case]
    _, _, X_test = make_data()
    model = load_model(DATA / f"legacy_v1_{case}.npz")
    with np.load(DATA / f"legacy_v1_{case}_expected.npz") as expected:
        if classifier:
            np.testing.assert_array_equal(model.predict(X_test), expected["predict"])
            np.testing.assert_allclose(
                model.predict_proba(X_test), expected["predict_proba"], rtol=RTOL, atol=ATOL
            )
        else:
            np.testing.assert_allclose(
                model.predict(X_test), expected["predict"], rtol=RTOL, atol=ATOL
            )
            with pytest.raises(AttributeError, match="regressor"):
                model.predict_proba(X_test)


@pytest.mark.parametrize("case", sorted(CASES))
def test_legacy_file_resumes_training_where_it_stopped(case):
    """Adam's moments and step counts, the shuffling generator and the epoch count were saved."""
    make_data, *_ = CASES[case]
    X, y, _ = make_data()
    model = load_model(DATA / f"legacy_v1_{case}.npz")
    history = model.fit(X, y, epochs=1, batch_size=4, verbose=0)
    assert history.epoch == [1]
    with np.load(DATA / f"legacy_v1_{case}_expected.npz") as expected:
        np.testing.assert_allclose(
            history.history["loss"], expected["resumed_loss"], rtol=RTOL, atol=ATOL
        )
        want = _expected_params(expected, model)
    got = {
        f"{i}.{k}": v for i, layer in enumerate(model.layers) for k, v in layer.params.items()
    }
    assert sorted(got) == sorted(want)
    for key, value in want.items():
        np.testing.assert_allclose(got[key], value, rtol=RTOL, atol=ATOL, err_msg=key)


class _RenamedDense(Dense):
    """A Dense whose parameters an earlier version called ``kernel`` and ``bias``."""

    _renamed_params = {"kernel": "W", "bias": "b"}


def _with_old_names(src, dst):
    """Rewrite the file ``src`` as a writer that used the old names of layer 1 would have."""
    old = {"1.W": "1.kernel", "1.b": "1.bias"}
    with np.load(src) as f:
        arrays = {name: f[name] for name in f.files}
    renamed = {}
    for name, arr in arrays.items():
        kind, _, rest = name.partition("/")
        if kind == "param":
            i, _, k = rest.partition("/")
            name = f"param/{old.get(f'{i}.{k}', f'{i}.{k}').replace('.', '/', 1)}"
        elif kind == "optim":
            key, _, buf = rest.partition("/")
            name = f"optim/{old.get(key, key)}/{buf}"
        renamed[name] = arr
    config = json.loads(str(arrays["config"]))
    state = config["training_state"]
    state["optimizer_steps"] = {old.get(k, k): t for k, t in state["optimizer_steps"].items()}
    renamed["config"] = np.array(json.dumps(config))
    np.savez(dst, **renamed)


def test_renamed_parameters_of_old_files_are_translated(tmp_path, monkeypatch):
    """load_model maps a file's old parameter names through the layer's ``_renamed_params``."""
    monkeypatch.setitem(LAYERS, "_RenamedDense", _RenamedDense)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((10, 3)), rng.standard_normal((10, 2))
    model = Sequential([Dense(4, activation="tanh"), _RenamedDense(2)], seed=1)
    model.fit(X, y, epochs=1, batch_size=4, verbose=0)
    model.save(tmp_path / "new.npz")
    _with_old_names(tmp_path / "new.npz", tmp_path / "old.npz")
    with np.load(tmp_path / "old.npz") as f:
        assert {"param/1/kernel", "param/1/bias", "optim/1.kernel/m", "optim/1.bias/s"} <= set(
            f.files
        )
        assert "param/1/W" not in f.files and "optim/1.W/m" not in f.files
    loaded = load_model(tmp_path / "old.npz")
    assert sorted(loaded.layers[1].params) == ["W", "b"]
    for a, b in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    want, got = model.optimizer.state_dict(), loaded.optimizer.state_dict()
    assert list(got) == list(want) == ["0.W", "0.b", "1.W", "1.b"]
    for key in want:
        assert got[key]["t"] == want[key]["t"]
        for name in ("m", "s"):
            np.testing.assert_array_equal(got[key][name], want[key][name])
    resumed = loaded.fit(X, y, epochs=1, batch_size=4, verbose=0)
    straight = model.fit(X, y, epochs=1, batch_size=4, verbose=0)
    assert resumed.history == straight.history and resumed.epoch == straight.epoch == [1]
    for a, b in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
