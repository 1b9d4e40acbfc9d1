"""Dropout: inverted scaling, identity outside training, gradient, seeding, persistence."""

import numpy as np
import pytest

from numbacnn import Sequential, load_model
from numbacnn.layers import Dense, Dropout, Flatten


def vectors(n=24, d=6, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    return rng.standard_normal((n, d)) + y[:, None], y


def model_with_dropout(seed=0, rate=0.5):
    return Sequential([Dense(8, activation="relu"), Dropout(rate),
                       Dense(3, activation="softmax")], seed=seed)


def built_dropout(rate, shape, seed=0):
    layer = Dropout(rate)
    layer.build(shape)
    layer.seed_noise(np.random.SeedSequence(seed))
    return layer


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_training_forward_keeps_or_zeroes_and_rescales(dtype):
    rate = 0.3
    x = np.random.default_rng(1).uniform(1, 2, size=(200, 50)).astype(dtype)
    layer = built_dropout(rate, x.shape[1:])
    y = layer.forward(x, training=True)
    assert y.dtype == dtype
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / dtype(1 - rate), rtol=1e-6)
    # 10000 Bernoulli(0.3) drops: the dropped fraction is within 5 standard deviations
    sd = np.sqrt(rate * (1 - rate) / x.size)
    assert abs((~kept).mean() - rate) < 5 * sd
    # inverted dropout keeps the mean activation
    assert abs(y.mean() / x.mean() - 1) < 5 * sd / (1 - rate) * 2


def test_identity_outside_training_and_at_rate_zero():
    x = np.random.default_rng(0).standard_normal((4, 5))
    layer = built_dropout(0.5, (5,))
    assert layer.forward(x) is x
    g = np.ones_like(x)
    assert layer.backward(g) is g
    zero = built_dropout(0.0, (5,))
    np.testing.assert_array_equal(zero.forward(x, training=True), x)


def test_backward_is_the_mask_and_matches_finite_differences():
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((3, 7)), rng.standard_normal((3, 7))
    layer = built_dropout(0.4, (7,))
    start = layer.noise_state

    def f(x):  # the same mask at every evaluation
        layer.noise_state = start
        return float(np.sum(w * layer.forward(x, training=True)))

    f(x)
    grad = layer.backward(w)
    mask = layer.forward(np.ones_like(x), training=True)  # next draw: a different mask
    assert not np.array_equal(mask, grad / w)
    h, numeric = 1e-6, np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = h
        numeric[idx] = (f(x + e) - f(x - e)) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)
    f(x)
    expected_mask = (np.random.default_rng(np.random.SeedSequence(0)).random(x.shape) >= 0.4)
    np.testing.assert_array_equal(layer.backward(w), w * expected_mask / 0.6)


def test_bad_rate_and_backward_before_forward():
    for bad in (1.0, -0.1, 2):
        with pytest.raises(ValueError, match="rate"):
            Dropout(bad)
    layer = Dropout(0.5)
    layer.build((3,))
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones((2, 3)))
    layer.forward(np.ones((2, 3)), training=True)
    with pytest.raises(ValueError, match="shape"):
        layer.backward(np.ones((2, 4)))


def test_predict_and_evaluate_ignore_dropout():
    X, y = vectors()
    model = model_with_dropout(rate=0.9)
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    plain = Sequential([Dense(8, activation="relu"), Dense(3, activation="softmax")])
    plain.build(X.shape[1:])
    plain.set_weights(model.get_weights())
    np.testing.assert_array_equal(model.predict_proba(X), plain.predict_proba(X))
    assert model.evaluate(X, y) == plain.evaluate(X, y)
    np.testing.assert_array_equal(model.predict_proba(X), model.predict_proba(X))


def test_training_uses_the_masks_and_is_reproducible_from_the_seed():
    X, y = vectors()
    runs = []
    for seed in (3, 3, 4):
        model = model_with_dropout(seed=seed)
        runs.append((model.fit(X, y, epochs=2, batch_size=8, verbose=0), model))
    for a, b in zip(runs[0][1].get_weights(), runs[1][1].get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert runs[0][0].history == runs[1][0].history
    # with rate 0 the same model trains differently: the masks acted
    no_drop = model_with_dropout(seed=3, rate=0.0)
    assert no_drop.fit(X, y, epochs=2, batch_size=8, verbose=0).history != runs[0][0].history


def test_masks_come_from_the_third_child_of_the_seed():
    X, _ = vectors(n=5)
    model = model_with_dropout(seed=11)
    model.build(X.shape[1:])
    noise = np.random.SeedSequence(11).spawn(3)[2].spawn(3)[1]
    layer = model.layers[1]
    hidden = np.ones((5, 8))
    expected = (np.random.default_rng(noise).random(hidden.shape) >= 0.5) * 2.0
    np.testing.assert_array_equal(layer.forward(hidden, training=True), expected)


def test_save_and_load_continue_training_bit_for_bit(tmp_path):
    X, y = vectors()
    model = model_with_dropout(seed=5)
    model.fit(X, y, epochs=1, batch_size=8, verbose=0)
    loaded = load_model(model.save(tmp_path / "drop"))
    assert isinstance(loaded.layers[1], Dropout) and loaded.layers[1].rate == 0.5
    h1 = model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    h2 = loaded.fit(X, y, epochs=2, batch_size=8, verbose=0)
    assert h1.history == h2.history
    for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_dropout_on_images_before_flatten():
    X = np.random.default_rng(0).standard_normal((6, 2, 3, 3))
    model = Sequential([Dropout(0.25), Flatten(), Dense(2, activation="softmax")], seed=0)
    history = model.fit(X, np.arange(6) % 2, epochs=1, batch_size=3, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert repr(model.layers[0]) == "Dropout(rate=0.25)"


def test_a_file_with_damaged_dropout_state_is_refused(tmp_path):
    import json

    from numbacnn import ModelFileError

    X, y = vectors()
    model = model_with_dropout()
    model.fit(X, y, epochs=1, verbose=0)
    path = model.save(tmp_path / "m")
    with np.load(path) as npz:
        arrays = dict(npz)
    config = json.loads(str(arrays["config"]))
    for noise in ({}, {"0": config["training_state"]["noise_rng"]["1"]}, {"1": {"state": 1}}):
        config["training_state"]["noise_rng"] = noise
        arrays["config"] = np.array(json.dumps(config))
        np.savez(tmp_path / "bad.npz", **arrays)
        with pytest.raises(ModelFileError):
            load_model(tmp_path / "bad.npz")
