"""Keras habits: argument names, validation_split, verbose=2, image layout, the default loss."""

import json
import zipfile

import numpy as np
import pytest

from numbacnn import Sequential, load_model
from numbacnn.callbacks import LearningRateScheduler
from numbacnn.layers import AvgPool2D, Conv2D, Dense, Flatten, MaxPool2D
from numbacnn.layers.base import glorot_uniform
from numbacnn.models.inputs import looks_channels_last
from numbacnn.optimizers import OPTIMIZERS, get_optimizer


def small_cnn(seed=0, **kw):
    return Sequential([Conv2D(2, 3, padding="same", activation="relu"), MaxPool2D(2), Flatten(),
                       Dense(3, activation="softmax")], seed=seed, **kw)


def images(n=12, shape=(1, 6, 6), seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    X = rng.standard_normal((n, *shape))
    X[:, 0, 1:3, 1:3] += y[:, None, None]
    return X, y


def vectors(n=20, d=4, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    return rng.standard_normal((n, d)) + y[:, None], y


def dense_model(seed=0, **kw):
    return Sequential([Dense(5, activation="tanh"), Dense(3, activation="softmax")],
                      seed=seed, **kw)


# -- argument names ---------------------------------------------------------------------------
def test_strides_and_pool_size_are_the_same_arguments():
    x = np.random.default_rng(1).standard_normal((2, 2, 7, 7))
    pairs = [(Conv2D(3, 3, strides=2), Conv2D(3, 3, stride=2)),
             (MaxPool2D(pool_size=2, strides=1), MaxPool2D(2, stride=1)),
             (AvgPool2D(pool_size=(3, 2)), AvgPool2D((3, 2)))]
    for alias, native in pairs:
        assert alias.get_config() == native.get_config()
        for layer in (alias, native):
            layer.build(x.shape[1:], rng=np.random.default_rng(0))
        np.testing.assert_array_equal(alias.forward(x), native.forward(x))
    with pytest.raises(TypeError, match="Conv2D.*'strides'.*'stride'"):
        Conv2D(3, 3, stride=1, strides=2)
    with pytest.raises(TypeError, match="'pool_size'.*'kernel_size'"):
        MaxPool2D(2, pool_size=2)


@pytest.mark.parametrize("cls", sorted(set(OPTIMIZERS.values()), key=lambda c: c.name))
def test_learning_rate_is_eta_for_every_optimizer(cls):
    rng = np.random.default_rng(0)
    W0, grads = rng.standard_normal(5), [rng.standard_normal(5) for _ in range(3)]
    results = []
    for opt in (cls(learning_rate=0.05), cls(eta=0.05),
                get_optimizer({"name": cls.name, "learning_rate": 0.05})):
        W = W0.copy()
        for g in grads:
            opt.step({"W": W}, {"W": g})
        results.append(W)
        assert opt.eta == opt.learning_rate == 0.05
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_array_equal(results[0], results[2])
    with pytest.raises(TypeError, match=f"{cls.__name__}.*'learning_rate'.*'eta'"):
        cls(eta=0.1, learning_rate=0.1)
    opt = cls()
    opt.learning_rate = 0.25
    assert opt.eta == 0.25
    with pytest.raises(ValueError, match="learning_rate"):
        opt.learning_rate = 0.0


# -- fit(validation_split=) -------------------------------------------------------------------
def test_validation_split_is_the_last_fraction_before_shuffling():
    X, y = vectors(n=20)
    split = dense_model(seed=4).fit(X, y, epochs=3, batch_size=4, verbose=0,
                                    validation_split=0.25)
    reference = dense_model(seed=4)
    ref = reference.fit(X[:15], y[:15], epochs=3, batch_size=4, verbose=0,
                        validation_data=(X[15:], y[15:]))
    assert split.history == ref.history
    assert split.params["steps"] == 4  # 15 training samples, not 20
    assert "val_loss" in split.history


def test_validation_split_takes_keras_floor():
    X, y = vectors(n=10)
    model = dense_model()
    # Keras: floor(10 * (1 - 0.33)) = 6 samples train, 4 validate
    history = model.fit(X, y, epochs=1, batch_size=100, verbose=0, validation_split=0.33)
    expected = dense_model().fit(X[:6], y[:6], epochs=1, batch_size=100, verbose=0,
                                 validation_data=(X[6:], y[6:]))
    assert history.history == expected.history


@pytest.mark.parametrize("bad", [1.0, 1.5, -0.2, float("nan"), "0.2"])
def test_validation_split_outside_the_open_interval_is_refused(bad):
    X, y = vectors()
    with pytest.raises(ValueError, match="validation_split"):
        dense_model().fit(X, y, epochs=1, verbose=0, validation_split=bad)


def test_validation_split_with_validation_data_or_too_few_samples_is_refused():
    X, y = vectors(n=4)
    with pytest.raises(ValueError, match="validation_data or validation_split"):
        dense_model().fit(X, y, epochs=1, verbose=0, validation_split=0.5,
                          validation_data=(X, y))
    with pytest.raises(ValueError, match="leaves 0 for training"):
        dense_model().fit(X[:1], y[:1], epochs=1, verbose=0, validation_split=0.5)
    with pytest.raises(ValueError, match="0 for validation"):
        dense_model().fit(X, y, epochs=1, verbose=0, validation_split=1e-20)


# -- verbose=2 --------------------------------------------------------------------------------
def test_verbose_2_prints_one_keras_line_per_epoch_with_the_callbacks_keys(capsys):
    X, y = vectors()
    dense_model().fit(X, y, epochs=3, batch_size=5, verbose=2, validation_split=0.2,
                      callbacks=[LearningRateScheduler(lambda epoch, lr: lr / 2)])
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert captured.out == "" and len(lines) == 3
    for i, line in enumerate(lines):
        assert line.startswith(f"Epoch {i + 1}/3 - ")
        for key in ("loss: ", "accuracy: ", "val_loss: ", "val_accuracy: "):
            assert f" - {key}" in line
    assert lines[2].endswith(f"lr: {0.001 / 8:.4g}")
    assert "\r" not in captured.err  # no progress bar


# -- image layout -----------------------------------------------------------------------------
@pytest.mark.parametrize("shape, verdict", [
    ((28, 28, 1), True), ((32, 32, 3), True), ((32, 32, 4), True),
    ((1, 28, 3), False), ((3, 32, 4), False), ((1, 28, 28), False), ((3, 32, 32), False),
    ((8, 8, 2), False), ((4, 28, 3), False), ((28, 4, 3), False), ((28, 28), False),
])
def test_the_channels_last_rule(shape, verdict):
    assert looks_channels_last(shape) is verdict


@pytest.mark.parametrize("shape", [(8, 8, 3), (8, 8, 1), (6, 7, 4)])
def test_channels_last_images_are_refused_by_a_channels_first_model(shape):
    X = np.zeros((4, *shape))
    y = np.arange(4) % 3
    for call in (lambda m: m.fit(X, y, epochs=1, verbose=0), lambda m: m.build(shape)):
        model = small_cnn()
        with pytest.raises(ValueError, match=r"X\.transpose\(0, 3, 1, 2\).*channels_last"):
            call(model)
        assert not model.built  # refused before anything was built or trained


def test_narrow_channels_first_images_and_declared_channels_pass():
    # genuine NCHW with W == 3: the first axis is a plausible channel count
    small_cnn().build((1, 28, 3))
    # 8 channels of 8 x 3 pixels looks channels-last; naming the channels says otherwise
    model = Sequential([Conv2D(2, 3, padding="same", in_channels=8), Flatten(), Dense(2)])
    model.build((8, 8, 3))
    assert model.layers[0].params["W"].shape == (2, 8, 3, 3)


def test_a_built_model_names_the_transpose_at_predict_and_evaluate():
    X, y = images()
    model = small_cnn()
    model.fit(X, y, epochs=1, verbose=0)
    X_last = X.transpose(0, 2, 3, 1)
    with pytest.raises(ValueError, match=r"X\.transpose\(0, 3, 1, 2\)"):
        model.predict(X_last)
    with pytest.raises(ValueError, match=r"X\.transpose\(0, 3, 1, 2\)"):
        model.evaluate(X_last, y)


def test_channels_last_model_trains_as_the_channels_first_one_on_transposed_data():
    X, y = images(shape=(2, 6, 6))
    X_last = np.ascontiguousarray(X.transpose(0, 2, 3, 1))
    last = small_cnn(seed=5, data_format="channels_last")
    first = small_cnn(seed=5)
    h_last = last.fit(X_last, y, epochs=2, batch_size=4, verbose=0)
    h_first = first.fit(X, y, epochs=2, batch_size=4, verbose=0)
    assert h_last.history == h_first.history
    for a, b in zip(last.get_weights(), first.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert last.input_shape == (6, 6, 2) and last.layers[0].input_shape == (2, 6, 6)
    assert not np.shares_memory(X_last, X)


def test_channels_last_weights_drive_a_channels_first_model():
    X, y = images(shape=(2, 6, 6))
    X_last = X.transpose(0, 2, 3, 1)
    last = small_cnn(seed=1, data_format="channels_last")
    last.fit(X_last, y, epochs=2, batch_size=4, verbose=0)
    first = small_cnn(seed=99)
    first.build(X.shape[1:])
    first.set_weights(last.get_weights())
    np.testing.assert_array_equal(first.predict_proba(X), last.predict_proba(X_last))
    assert first.evaluate(X, y) == last.evaluate(X_last, y)
    with pytest.raises(ValueError, match=r"X\.transpose\(0, 2, 3, 1\)"):
        last.predict(X)


def test_channels_last_refuses_channels_first_looking_data_and_non_image_models():
    with pytest.raises(ValueError, match=r"transpose\(0, 2, 3, 1\)"):
        small_cnn(data_format="channels_last").build((3, 8, 8))
    small_cnn(data_format="channels_last").build((8, 8, 3))
    with pytest.raises(ValueError, match="image models"):
        dense_model(data_format="channels_last").build((4,))
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        small_cnn(data_format="channels_last").build((8, 8))
    with pytest.raises(ValueError, match="data_format"):
        small_cnn(data_format="NHWC")


def test_summary_shows_the_transpose(capsys):
    model = small_cnn(data_format="channels_last")
    model.build((6, 6, 2))
    model.summary()
    text = capsys.readouterr().out
    assert "transpose to (C, H, W)" in text and "(None, 2, 6, 6)" in text
    assert "Input shape: (None, 6, 6, 2)" in text and "channels_last" in text


def test_data_format_survives_save_and_old_files_load_channels_first(tmp_path):
    X, y = images(shape=(2, 6, 6))
    X_last = X.transpose(0, 2, 3, 1)
    model = small_cnn(data_format="channels_last")
    model.fit(X_last, y, epochs=1, verbose=0)
    loaded = load_model(model.save(tmp_path / "m"))
    assert loaded.data_format == "channels_last"
    np.testing.assert_array_equal(loaded.predict_proba(X_last), model.predict_proba(X_last))

    first = small_cnn()
    first.fit(X, y, epochs=1, verbose=0)
    path = first.save(tmp_path / "old")
    with np.load(path) as npz:
        arrays = dict(npz)
    config = json.loads(str(arrays["config"]))
    del config["data_format"]  # as written before data_format existed
    arrays["config"] = np.array(json.dumps(config))
    np.savez(tmp_path / "old.npz", **arrays)
    assert zipfile.is_zipfile(tmp_path / "old.npz")
    old = load_model(tmp_path / "old.npz")
    assert old.data_format == "channels_first"
    np.testing.assert_array_equal(old.predict_proba(X), first.predict_proba(X))


# -- the default loss -------------------------------------------------------------------------
def test_labels_for_a_dense_output_without_softmax_say_what_happened():
    X, y = vectors()
    model = Sequential([Dense(10)], seed=0)
    with pytest.raises(ValueError, match=r"class labels.*mean squared error.*softmax"):
        model.fit(X, y, epochs=1, verbose=0)
    # an explicit loss, or float targets of the output's shape, is regression as before
    Sequential([Dense(3)], seed=0).fit(X, np.eye(3)[y], epochs=1, verbose=0)
    with pytest.raises(ValueError, match="targets of shape"):
        Sequential([Dense(3)], loss="mse", seed=0).fit(X, y, epochs=1, verbose=0)


# -- the seed streams -------------------------------------------------------------------------
def test_weights_and_shuffling_still_come_from_the_first_two_children_of_the_seed():
    X, y = vectors(n=10)
    model = dense_model(seed=7)
    model.build(X.shape[1:])
    init, shuffle = np.random.SeedSequence(7).spawn(2)
    first_layer = np.random.default_rng(init.spawn(2)[0])
    expected = glorot_uniform(first_layer, (4, 5), 4, 5, np.float64)
    np.testing.assert_array_equal(model.layers[0].params["W"], expected)
    np.testing.assert_array_equal(model.training_state.shuffled(10),
                                  np.random.default_rng(shuffle).permutation(10))


def test_only_a_channels_last_file_needs_the_new_format_version(tmp_path):
    # version 1 readers ignore data_format: a channels-last file must be refused by them
    assert small_cnn().get_config()["version"] == 1
    assert small_cnn(data_format="channels_last").get_config()["version"] == 2
