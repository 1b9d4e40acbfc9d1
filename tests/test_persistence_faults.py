"""Saving never loses a model; loading a damaged or foreign file raises ModelFileError.

The corpus below is generated from one valid file (a small CNN trained one
epoch with Adam, so that it has optimizer buffers and a shuffling state):
truncations, flipped bytes, missing and extra entries, configs of the wrong
type, and arrays of the wrong shape, dtype or value.  Every one must raise
:class:`numbacnn.ModelFileError` naming the file.
"""

import io
import json
import os
import pickle
import tempfile
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import numbacnn
from numbacnn import ModelFileError, Sequential, load_model
from numbacnn.layers import Conv2D, Dense, Flatten, MaxPool2D
from numbacnn.models import persistence


def trained_model(seed=0):
    rng = np.random.default_rng(seed)
    X, y = rng.random((12, 1, 6, 6)), np.arange(12) % 3
    model = Sequential([Conv2D(2, 3, activation="relu"), MaxPool2D(2), Flatten(),
                        Dense(3, activation="softmax")], optimizer="adam", seed=seed)
    model.fit(X, y, epochs=1, batch_size=6, verbose=0)
    return model


_VALID = {}


def valid_bytes():
    """The bytes of a valid model file, made once."""
    if not _VALID:
        buf = io.BytesIO()
        model = trained_model()
        with tempfile.TemporaryDirectory() as d:
            path = model.save(os.path.join(d, "model.npz"))
            with open(path, "rb") as f:
                buf.write(f.read())
        _VALID["bytes"], _VALID["model"] = buf.getvalue(), model
    return _VALID["bytes"]


def members():
    """The valid file's entries: name -> array."""
    with np.load(io.BytesIO(valid_bytes()), allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def config():
    return json.loads(str(members()["config"]))


def with_members(**changes):
    """The valid entries with some replaced (a value of None removes the entry)."""
    out = members()
    for name, value in changes.items():
        name = name.replace("__", "/").replace("_dot_", ".")
        if value is None:
            del out[name]
        else:
            out[name] = value
    return out


def with_config(edit):
    cfg = config()
    edit(cfg)
    return with_members(config=np.array(json.dumps(cfg)))


def npz_bytes(entries):
    buf = io.BytesIO()
    np.savez(buf, **entries)  # pickles object arrays, like a foreign writer could
    return buf.getvalue()


def flipped(data, where):
    out = bytearray(data)
    out[where] ^= 0xFF
    return bytes(out)


def member_data_offset(data, name):
    """Where the stored bytes of entry ``name`` begin in the zip ``data``."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        info = z.getinfo(name + ".npy")
    header = data[info.header_offset : info.header_offset + 30]
    n, extra = int.from_bytes(header[26:28], "little"), int.from_bytes(header[28:30], "little")
    return info.header_offset + 30 + n + extra


def setitem(keys, value):
    def edit(cfg):
        d = cfg
        for k in keys[:-1]:
            d = d[k]
        d[keys[-1]] = value
    return edit


def delitem(keys):
    def edit(cfg):
        d = cfg
        for k in keys[:-1]:
            d = d[k]
        del d[keys[-1]]
    return edit


def corpus():
    """name -> bytes of a file that is not a loadable model (made once)."""
    if "corpus" not in _VALID:
        _VALID["corpus"] = _make_corpus()
    return _VALID["corpus"]


def _make_corpus():
    v = valid_bytes()
    W = members()["param/0/W"]
    npy = io.BytesIO()
    np.save(npy, W)
    obj_npy = io.BytesIO()
    np.save(obj_npy, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    foreign_zip = io.BytesIO()
    with zipfile.ZipFile(foreign_zip, "w") as z:
        z.writestr("hello.txt", "hello")
    files = {
        "empty": b"",
        "text": b"this is a text file, not a model\n",
        "pickle": pickle.dumps({"config": "x"}),
        "single_npy": npy.getvalue(),
        "object_npy": obj_npy.getvalue(),
        "foreign_zip": foreign_zip.getvalue(),
        "foreign_npz": npz_bytes({"a": np.zeros(3)}),
    }
    for frac in (0.001, 0.1, 0.25, 0.5, 0.75, 0.99):
        files[f"truncated_{frac}"] = v[: int(len(v) * frac)]
    files["truncated_last_byte"] = v[:-1]
    for name in ("config", "param/0/W", "param/3/b", "optim/0.W/m"):
        files[f"flipped_{name.replace('/', '_')}"] = flipped(v, member_data_offset(v, name) + 130)
    files["flipped_central_directory"] = flipped(v, len(v) - 30)
    cases = {
        "missing_param": with_members(param__0__W=None),
        "missing_config": with_members(config=None),
        "missing_optimizer_buffer": with_members(optim__0_dot_W__m=None),
        "extra_pickled_entry": with_members(evil=np.array([{"a": 1}], dtype=object)),
        "extra_array_entry": with_members(param__9__W=np.zeros(3)),
        "pickled_config": with_members(config=np.array([config()], dtype=object)),
        "config_not_json": with_members(config=np.array("{not json")),
        "config_2d": with_members(config=np.array([["a", "b"]])),
        "config_bytes": with_members(config=np.array(b"{}")),
        "config_json_list": with_members(config=np.array("[1, 2]")),
        "nan_weight": with_members(param__0__W=np.where(W == W.flat[0], np.nan, W)),
        "inf_weight": with_members(param__0__W=np.full_like(W, np.inf)),
        "complex_weight": with_members(param__0__W=W.astype(complex) + 1j),
        "int_weight": with_members(param__0__W=W.astype(np.int64)),
        "str_weight": with_members(param__0__W=W.astype(str)),
        "bool_weight": with_members(param__0__W=W > 0),
        "object_weight": with_members(param__0__W=W.astype(object)),
        "float32_weight": with_members(param__0__W=W.astype(np.float32)),
        "wrong_shape_weight": with_members(param__0__W=W[:1]),
        "scalar_weight": with_members(param__0__W=np.float64(1.0)),
        "wrong_shape_buffer": with_members(optim__0_dot_W__m=np.zeros(3)),
        "nan_buffer": with_members(optim__0_dot_W__s=np.full_like(W, np.nan)),
    }
    edits = {
        "wrong_format": setitem(["format"], "keras.Model"),
        "newer_version": setitem(["version"], persistence.FORMAT_VERSION + 1),
        "version_string": setitem(["version"], "1"),
        "layers_string": setitem(["layers"], "Dense"),
        "layer_not_dict": setitem(["layers", 0], ["Conv2D", {}]),
        "unknown_layer": setitem(["layers", 0, "class"], "Conv7D"),
        "layer_config_list": setitem(["layers", 0, "config"], [2, 3]),
        "layer_config_wrong_type": setitem(["layers", 3, "config", "units"], "3"),
        "layer_config_unknown_key": setitem(["layers", 3, "config", "colour"], "red"),
        "input_shape_string": setitem(["input_shape"], "1x6x6"),
        "input_shape_floats": setitem(["input_shape"], [1.0, 6.0, 6.0]),
        "input_shape_wrong": setitem(["input_shape"], [2, 6, 6]),
        "dtype_int": setitem(["dtype"], "int32"),
        "loss_number": setitem(["loss"], 5),
        "optimizer_unknown": setitem(["optimizer"], {"name": "lbfgs"}),
        "l2_string": setitem(["l2"], "a"),
        "seed_negative": setitem(["seed"], -1),
        "missing_l2": delitem(["l2"]),
        "training_state_list": setitem(["training_state"], [1, 2]),
        "steps_string": setitem(["training_state", "optimizer_steps", "0.W"], "3"),
        "steps_unknown_param": setitem(["training_state", "optimizer_steps", "7.W"], 3),
        "rng_garbage": setitem(["training_state", "shuffle_rng"], {"bit_generator": "X"}),
        "rng_string": setitem(["training_state", "shuffle_rng"], "PCG64"),
        "epochs_negative": setitem(["training_state", "epochs_done"], -1),
    }
    cases.update({name: with_config(edit) for name, edit in edits.items()})
    files.update({name: npz_bytes(entries) for name, entries in cases.items()})
    return files


CORPUS = sorted(corpus())


def test_corpus_is_large():
    assert len(CORPUS) >= 38


@pytest.mark.parametrize("name", CORPUS)
def test_damaged_or_foreign_file_raises_model_file_error(tmp_path, name):
    path = tmp_path / f"{name}.npz"
    path.write_bytes(corpus()[name])
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    assert str(path) in str(info.value)
    assert info.value.path == str(path)
    assert isinstance(info.value, ValueError)


def test_exported_and_picklable():
    assert numbacnn.ModelFileError is numbacnn.models.ModelFileError is ModelFileError
    err = pickle.loads(pickle.dumps(ModelFileError("m.npz", "truncated")))
    assert (err.path, err.what, str(err)) == ("m.npz", "truncated", str(
        ModelFileError("m.npz", "truncated")))


@pytest.mark.parametrize("name", ["nan_weight", "inf_weight", "nan_buffer"])
def test_nonfinite_values_load_when_allowed(tmp_path, name):
    path = tmp_path / "m.npz"
    path.write_bytes(corpus()[name])
    model = load_model(path, allow_nonfinite=True)
    assert not all(np.isfinite(w).all() for w in model.get_weights()) or name == "nan_buffer"


@pytest.mark.parametrize("name", ["complex_weight", "int_weight", "str_weight"])
def test_non_float_values_are_refused_even_when_nonfinite_allowed(tmp_path, name):
    path = tmp_path / "m.npz"
    path.write_bytes(corpus()[name])
    with pytest.raises(ModelFileError, match="dtype"):
        load_model(path, allow_nonfinite=True)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.npz")


def same_model(a, b):
    assert a.get_config() == b.get_config()
    for u, v in zip(a.get_weights(), b.get_weights(), strict=True):
        assert u.tobytes() == v.tobytes()
    sa, sb = a.optimizer.state_dict(), b.optimizer.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        for name, value in sa[key].items():
            other = sb[key][name]
            assert (value.tobytes() == other.tobytes() if isinstance(value, np.ndarray)
                    else value == other)
    assert a.training_state.state_dict() == b.training_state.state_dict()


@given(st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)),
                min_size=1, max_size=3))
def test_flipped_bytes_load_the_same_model_or_raise_model_file_error(flips):
    data = bytearray(valid_bytes())
    for where, mask in flips:
        data[int(where * len(data))] ^= mask
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "flipped.npz")
        with open(path, "wb") as f:
            f.write(data)
        try:
            model = load_model(path)
        except ModelFileError as exc:
            assert path in str(exc)
            return
    same_model(model, load_model_from_bytes(valid_bytes()))


def load_model_from_bytes(data):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "valid.npz")
        with open(path, "wb") as f:
            f.write(data)
        return load_model(path)


def test_valid_file_round_trips():
    same_model(load_model_from_bytes(valid_bytes()), trained_model())


# ------------------------------------------------------------------------------- saving
def test_failed_overwrite_keeps_the_previous_file(tmp_path, monkeypatch):
    good, other = trained_model(0), trained_model(1)
    path = tmp_path / "model.npz"
    good.save(path)
    real_savez = np.savez

    def failing_savez(file, **arrays):
        buf = io.BytesIO()
        real_savez(buf, **arrays)
        data = buf.getvalue()
        if hasattr(file, "write"):
            file.write(data[: len(data) // 2])
        else:
            with open(os.fspath(file) + ("" if os.fspath(file).endswith(".npz") else ".npz"),
                      "wb") as f:
                f.write(data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", failing_savez)
    with pytest.raises(OSError, match="No space left"):
        other.save(path)
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path)) == ["model.npz"]  # no temporary file left
    same_model(load_model(path), good)


def test_save_replaces_the_file_when_it_succeeds(tmp_path):
    first, second = trained_model(0), trained_model(1)
    path = first.save(tmp_path / "m.npz")
    assert second.save(path) == path
    same_model(load_model(path), second)
    assert sorted(os.listdir(tmp_path)) == ["m.npz"]


def test_save_appends_npz_and_returns_the_path(tmp_path):
    path = trained_model().save(tmp_path / "bare")
    assert path == str(tmp_path / "bare.npz") and os.path.isfile(path)
    assert load_model(tmp_path / "bare").n_params == trained_model().n_params


def test_save_to_a_directory_is_refused(tmp_path):
    folder = tmp_path / "an_existing_dir"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match="an_existing_dir"):
        trained_model().save(folder)
    (tmp_path / "dir2.npz").mkdir()
    with pytest.raises(IsADirectoryError, match="dir2.npz"):
        trained_model().save(tmp_path / "dir2")
    assert sorted(os.listdir(tmp_path)) == ["an_existing_dir", "dir2.npz"]
    assert os.listdir(folder) == []


def test_save_refuses_nonfinite_weights_unless_allowed(tmp_path):
    model = trained_model()
    weights = model.get_weights()
    weights[2][0, 0] = np.nan
    model.set_weights(weights)
    with pytest.raises(ValueError, match=r"param/3/W.*allow_nonfinite=True"):
        model.save(tmp_path / "m.npz")
    assert os.listdir(tmp_path) == []
    path = model.save(tmp_path / "m.npz", allow_nonfinite=True)
    with pytest.raises(ModelFileError, match="NaN or infinite"):
        load_model(path)
    loaded = load_model(path, allow_nonfinite=True)
    assert np.isnan(loaded.get_weights()[2][0, 0])


def test_save_keeps_file_permissions_of_a_plain_write(tmp_path):
    model = trained_model()
    path = model.save(tmp_path / "m.npz")
    np.savez(tmp_path / "plain.npz", a=np.zeros(1))
    assert os.stat(path).st_mode == os.stat(tmp_path / "plain.npz").st_mode


def test_save_into_a_missing_directory_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        trained_model().save(tmp_path / "nowhere" / "m.npz")


@pytest.mark.skipif(os.name != "posix", reason="symbolic links and modes are POSIX")
def test_save_follows_a_symlink_and_keeps_the_mode(tmp_path):
    real = tmp_path / "real.npz"
    trained_model(0).save(real)
    os.chmod(real, 0o600)
    link = tmp_path / "link.npz"
    link.symlink_to(real)
    trained_model(1).save(link)
    assert link.is_symlink()
    assert os.stat(real).st_mode & 0o777 == 0o600
    same_model(load_model(real), trained_model(1))
