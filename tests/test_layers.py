"""Layers: backward passes against finite differences through whole models, init, build errors.

Every gradient check perturbs the model's own parameter arrays (and the input)
in float64 and compares the analytic gradients of the *cost* -- loss plus L2
penalty, through every layer -- with central differences
(:func:`numbacnn.gradcheck`).
"""

import numpy as np
import pytest

from numbacnn import Sequential, functional, gradcheck
from numbacnn.activations import ReLU, Sigmoid, Softmax, Tanh
from numbacnn.layers import (
    GRU,
    LSTM,
    AvgPool2D,
    Conv2D,
    Dense,
    Flatten,
    MaxPool2D,
    SimpleRNN,
)
from numbacnn.layers.base import Layer
from numbacnn.models.tasks import Binary


def model_gradcheck(model, X, y, rtol=1e-6):
    """Check d(cost)/d(every parameter) and d(cost)/dX of ``model`` at ``(X, y)``."""
    X = np.array(X, dtype=np.float64)
    model.loss_and_gradients(X, y)  # builds the model
    refs = model.parameters()
    names = list(refs)

    def forward(*arrays):
        # arrays are the very objects the model reads, perturbed in place; evaluate's
        # loss is the cost a training step differentiates (data loss plus L2 penalty)
        return model.evaluate(X, y, batch_size=X.shape[0])["loss"]

    def backward(g):
        _, grads, grad_X = model.loss_and_gradients(X, y)
        return [g * grad_X] + [g * grads[k] for k in names]

    errors = gradcheck(forward, backward, [X] + [refs[k] for k in names], rtol=rtol)
    return dict(zip(["X"] + names, errors, strict=True))


def _images(rng, n=3, c=2, h=7, w=6):
    return rng.standard_normal((n, c, h, w))


def test_cnn_all_image_layers_gradcheck():
    rng = np.random.default_rng(0)
    # distinct values avoid ties in the max pooling, where the derivative jumps
    X = _images(rng)
    model = Sequential(
        [
            Conv2D(3, (3, 2), stride=(1, 2), padding=1, activation="tanh"),
            MaxPool2D(2, stride=1),
            Conv2D(2, 2, padding="same", activation="sigmoid"),
            AvgPool2D((2, 1)),
            Flatten(),
            Dense(5, activation="leaky_relu"),
            Dense(4, activation="softmax"),
        ],
        l2=0.1,
        seed=1,
    )
    errors = model_gradcheck(model, X, [0, 3, 1])
    assert model.fused  # softmax + cross-entropy went through the logits
    assert set(errors) == {"X", "0.W", "0.b", "2.W", "2.b", "5.W", "5.b", "6.W", "6.b"}


def test_conv_relu_valid_stride_gradcheck():
    rng = np.random.default_rng(1)
    X = _images(rng, n=2, c=1, h=8, w=8)
    model = Sequential(
        [Conv2D(2, 3, stride=2, activation="relu"), Flatten(), Dense(3)], loss="mse", seed=2
    )
    model_gradcheck(model, X, rng.standard_normal((2, 3)))


def test_unfused_softmax_path_gradcheck():
    """Softmax output with MSE: the loss cannot fuse, the softmax Jacobian is used."""
    rng = np.random.default_rng(2)
    model = Sequential([Dense(4, activation="tanh"), Dense(3, activation="softmax")],
                       loss="mse", seed=3)
    X = rng.standard_normal((5, 6))
    model_gradcheck(model, X, rng.random((5, 3)))
    assert not model.fused


def test_binary_sigmoid_fused_gradcheck():
    rng = np.random.default_rng(3)
    model = Sequential([Dense(4, activation="relu"), Dense(1, activation="sigmoid")], seed=4)
    model_gradcheck(model, rng.standard_normal((6, 3)), [0, 1, 1, 0, 1, 0])
    assert model.fused and isinstance(model.task, Binary)


def _relu_rnn(units, **kw):
    return SimpleRNN(units, activation="relu", **kw)


@pytest.mark.parametrize("cell", [SimpleRNN, _relu_rnn, LSTM, GRU],
                         ids=["SimpleRNN", "SimpleRNN-relu", "LSTM", "GRU"])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_recurrent_layers_gradcheck(cell, return_sequences):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((2, 4, 3))
    layers = [cell(5, return_sequences=return_sequences), Dense(2)]
    model = Sequential(layers, l2=0.05, seed=5)
    y = rng.standard_normal((2, 4, 2) if return_sequences else (2, 2))
    errors = model_gradcheck(model, X, y)
    assert set(errors) == {"X"} | {f"0.{k}" for k in layers[0].params} | {"1.W", "1.b"}


def test_stacked_recurrent_gradcheck():
    rng = np.random.default_rng(5)
    model = Sequential(
        [LSTM(3, return_sequences=True), GRU(4, return_sequences=True), SimpleRNN(2),
         Dense(3, activation="softmax")],
        seed=6,
    )
    model_gradcheck(model, rng.standard_normal((3, 5, 2)), [2, 0, 1])


@pytest.mark.parametrize(
    "layer, x_shape",
    [
        (Conv2D(2, 3, activation="relu"), (2, 1, 5, 5)),
        (MaxPool2D(2), (2, 3, 4, 4)),
        (AvgPool2D(2), (2, 3, 4, 4)),
        (Flatten(), (2, 3, 4, 4)),
        (Dense(3, activation="sigmoid"), (2, 4)),
        (SimpleRNN(3), (2, 4, 2)),
        (LSTM(3), (2, 4, 2)),
        (GRU(3, return_sequences=True), (2, 4, 2)),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Layer) else str(v),
)
def test_layer_protocol(layer, x_shape):
    rng = np.random.default_rng(6)
    out_shape = layer.build(x_shape[1:], rng=rng, dtype=np.float64)
    x = rng.standard_normal(x_shape)
    y = layer.forward(x)
    assert y.shape == (x_shape[0],) + out_shape
    grad_x = layer.backward(np.ones_like(y))
    assert grad_x.shape == x.shape
    assert set(layer.params) == set(layer.grads)
    for k in layer.params:
        assert layer.grads[k].shape == layer.params[k].shape
        assert layer.grads[k].dtype == layer.params[k].dtype
    assert layer.n_params == sum(p.size for p in layer.params.values())
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert repr(clone) == repr(layer) and repr(layer).startswith(type(layer).__name__ + "(")


def test_layers_call_the_functional_kernels():
    rng = np.random.default_rng(7)
    conv = Conv2D(3, 2, stride=2, padding=1, activation="relu")
    conv.build((2, 5, 5), rng=rng)
    x = rng.standard_normal((2, 2, 5, 5))
    z = functional.conv2d(x, conv.params["W"], conv.params["b"], stride=2, padding=1)
    np.testing.assert_array_equal(conv.forward_preactivation(x), z)
    np.testing.assert_array_equal(conv.forward(x), np.maximum(z, 0))
    pool = MaxPool2D(2)
    pool.build((2, 5, 5))
    np.testing.assert_array_equal(pool.forward(x), functional.max_pool2d(x, 2))
    dense = Dense(4)
    dense.build((6,), rng=rng)
    v = rng.standard_normal((3, 6))
    np.testing.assert_allclose(
        dense.forward(v), np.einsum("nd,du->nu", v, dense.params["W"]) + dense.params["b"]
    )


def test_dense_on_sequences_maps_every_step():
    rng = np.random.default_rng(8)
    dense = Dense(2)
    dense.build((4, 3), rng=rng)
    x = rng.standard_normal((5, 4, 3))
    out = dense.forward(x)
    for t in range(4):
        np.testing.assert_allclose(out[:, t], x[:, t] @ dense.params["W"] + dense.params["b"])


def test_initialisation_matches_activation():
    rng = np.random.default_rng(9)
    relu = Dense(400, activation="relu")
    relu.build((300,), rng=rng)
    W = relu.params["W"]
    # He: N(0, 2 / fan_in); 120000 draws pin the standard deviation to ~0.3 %
    assert abs(W.std() / np.sqrt(2 / 300) - 1) < 0.02
    tanh = Dense(400, activation="tanh")
    tanh.build((300,), rng=rng)
    limit = np.sqrt(6 / 700)
    assert np.abs(tanh.params["W"]).max() <= limit
    assert abs(tanh.params["W"].std() / (limit / np.sqrt(3)) - 1) < 0.02
    conv = Conv2D(20, 3, activation="relu")
    conv.build((10, 8, 8), rng=rng)
    assert abs(conv.params["W"].std() / np.sqrt(2 / 90) - 1) < 0.05
    assert not conv.params["b"].any() and not relu.params["b"].any()
    rnn = SimpleRNN(6)
    rnn.build((3, 2), rng=rng)
    W_hh = rnn.params["W_hh"]
    np.testing.assert_allclose(W_hh @ W_hh.T, np.eye(6), atol=1e-12)
    lstm = LSTM(3)
    lstm.build((2, 2), rng=rng)
    np.testing.assert_array_equal(lstm.params["b"], [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])


@pytest.mark.parametrize(
    "cell, keys, renamed",
    [
        (SimpleRNN, ["W_ih", "W_hh", "b"], {"U": "W_ih", "W": "W_hh"}),
        (LSTM, ["W_ih", "W_hh", "b"], {"W": "W_ih", "U": "W_hh"}),
        (GRU, ["W_ih", "W_hh", "b_ih", "b_hh"],
         {"W": "W_ih", "U": "W_hh", "b_w": "b_ih", "b_u": "b_hh"}),
    ],
)
def test_recurrent_parameter_names_and_the_old_keys(cell, keys, renamed):
    # W_ih is always the input matrix (H-blocks x D), W_hh the recurrent one (x H)
    layer = cell(4)
    layer.build((5, 3), rng=np.random.default_rng(0))
    assert list(layer.params) == keys and layer.weight_keys == ("W_ih", "W_hh")
    assert layer.params["W_ih"].shape[1] == 3 and layer.params["W_hh"].shape[1] == 4
    assert cell._renamed_params == renamed
    layer.forward(np.ones((2, 5, 3)))
    layer.backward(np.ones((2, 4)))
    assert list(layer.grads) == keys
    for old, new in renamed.items():
        for store in (layer.params, layer.grads):
            with pytest.warns(DeprecationWarning, match=f"key '{old}' is deprecated.*'{new}'"):
                assert store[old] is store[new]
            with pytest.warns(DeprecationWarning):
                assert old in store and store.get(old) is store[new]
    # writing through an old key updates the new one; only the new keys are stored
    old_input_key = next(iter(renamed))  # U for SimpleRNN, W for LSTM and GRU
    with pytest.warns(DeprecationWarning):
        layer.params[old_input_key] = np.zeros_like(layer.params["W_ih"])
    assert list(layer.params) == keys
    assert not layer.params["W_ih"].any()
    assert dict(layer.params.items()).keys() == set(keys)


def test_init_is_seeded_and_typed():
    def weights(seed, dtype):
        layer = Conv2D(4, 3, activation="relu")
        layer.build((2, 6, 6), rng=np.random.default_rng(seed), dtype=dtype)
        return layer.params["W"]

    np.testing.assert_array_equal(weights(1, np.float64), weights(1, np.float64))
    assert not np.array_equal(weights(1, np.float64), weights(2, np.float64))
    assert weights(1, np.float32).dtype == np.float32


def test_activation_accepts_names_and_objects():
    assert isinstance(Dense(2, activation="relu").activation, ReLU)
    assert isinstance(Dense(2, activation=Tanh()).activation, Tanh)
    assert isinstance(Conv2D(2, 3, activation=Sigmoid).activation, Sigmoid)
    assert isinstance(Dense(2, activation={"name": "softmax"}).activation, Softmax)
    with pytest.raises(ValueError, match="unknown activation"):
        Dense(2, activation="swish")


@pytest.mark.parametrize(
    "layer, shape, match",
    [
        (Dense(3), (2, 4, 4), r"insert Flatten\(\)"),
        (Conv2D(3, 3, in_channels=3), (1, 8, 8), r"in_channels=3.*1 channels.*in_channels=1"),
        (Conv2D(3, 5), (1, 4, 4), r"kernel_size \(5, 5\) is larger than its input image"),
        (Conv2D(3, 3), (16,), r"\(N, C, H, W\)"),
        (MaxPool2D(3), (2, 2, 2), r"larger than its input image"),
        (AvgPool2D(2), (4,), r"Pool before Flatten"),
        (SimpleRNN(3), (1, 8, 8), r"\(N, T, D\)"),
    ],
)
def test_build_errors_say_what_to_change(layer, shape, match):
    with pytest.raises(ValueError, match=match):
        layer.build(shape)


def test_constructor_validation():
    with pytest.raises(ValueError, match="out_channels"):
        Conv2D(0, 3)
    with pytest.raises(ValueError, match="padding='same' needs stride=1"):
        Conv2D(2, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding must be one of"):
        Conv2D(2, 3, padding="full")
    with pytest.raises(ValueError, match="units"):
        Dense(-1)
    with pytest.raises(ValueError, match="activation must be 'tanh' or 'relu'.*'sigmoid'"):
        SimpleRNN(4, activation="sigmoid")
    with pytest.raises(TypeError, match="return_sequences"):
        LSTM(4, return_sequences="yes")
    with pytest.raises(ValueError, match="l2"):
        Dense(3, l2=-1.0)


def test_backward_before_forward_is_an_error():
    layer = Dense(2)
    layer.build((3,))
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones((1, 2)))


def test_same_padding_even_kernel_keeps_size():
    layer = Conv2D(2, 4, padding="same")
    assert layer.build((1, 7, 5)) == (2, 7, 5)
    x = np.random.default_rng(10).standard_normal((1, 1, 7, 5))
    assert layer.forward(x).shape == (1, 2, 7, 5)


def test_training_path_does_not_validate_per_batch(monkeypatch):
    # layers check their input when built; every batch goes to the private,
    # unvalidated entries (the public functions' checks would raise here)
    import numbacnn.activations
    import numbacnn.functional._recurrent
    import numbacnn.functional.conv
    import numbacnn.functional.pool
    import numbacnn.losses
    import numbacnn.optimizers

    def refuse(*args, **kwargs):
        raise AssertionError("a public entry point validated a batch")

    rng = np.random.default_rng(0)
    images, labels = rng.standard_normal((12, 1, 6, 6)), rng.integers(0, 3, 12)
    sequences = rng.standard_normal((12, 4, 2))
    cnn = Sequential([Conv2D(2, 3, padding="same", activation="relu"), MaxPool2D(2),
                      AvgPool2D(1), Flatten(), Dense(3, activation="softmax")], seed=0)
    rnn = Sequential([SimpleRNN(3, return_sequences=True), LSTM(3, return_sequences=True),
                      GRU(3), Dense(3, activation="softmax")], seed=0)
    cnn.build(images.shape[1:])
    rnn.build(sequences.shape[1:])
    for module in (numbacnn.functional.conv, numbacnn.functional.pool,
                   numbacnn.functional._recurrent):
        monkeypatch.setattr(module, "as_float_array", refuse, raising=False)
        monkeypatch.setattr(module, "as_float_ndarray", refuse, raising=False)
    monkeypatch.setattr(numbacnn.activations, "_as_input", refuse)
    monkeypatch.setattr(numbacnn.functional.conv, "_geometry", refuse)
    monkeypatch.setattr(numbacnn.functional.pool, "_geometry", refuse)
    # the loss and the optimizer: targets are checked once per fit, then every
    # batch goes to the losses' and optimizers' unchecked twins
    monkeypatch.setattr(numbacnn.losses, "as_float_array", refuse)
    monkeypatch.setattr(numbacnn.losses, "labels_to_onehot", refuse)
    monkeypatch.setattr(numbacnn.optimizers.Optimizer, "step", refuse)
    cnn.fit(images, labels, epochs=1, batch_size=4, verbose=0,
            validation_data=(images[:5], labels[:5]))
    rnn.fit(sequences, labels, epochs=1, batch_size=4, verbose=0)
    binary = Sequential([Flatten(), Dense(1, activation="sigmoid")], seed=0)
    binary.fit(images, labels % 2, epochs=1, batch_size=4, verbose=0)
    regressor = Sequential([Flatten(), Dense(2)], loss="bce", seed=0)
    regressor.fit(images, np.full((12, 2), 0.25), epochs=1, batch_size=4, verbose=0)


@pytest.mark.parametrize(
    "layer, sample, wrong",
    [
        (Conv2D(2, 3), (1, 6, 6), (2, 1, 7, 6)),
        (MaxPool2D(2), (1, 6, 6), (2, 1, 6, 8)),
        (SimpleRNN(3), (4, 2), (2, 4, 3)),
        (LSTM(3), (4, 2), (2, 5, 2)),
        (GRU(3), (4, 2), (2, 4, 1)),
    ],
)
def test_a_built_layer_refuses_batches_of_another_shape(layer, sample, wrong):
    # the kernels behind the layers do not check bounds: a layer called on its
    # own must not hand them a batch it was not built for
    layer.build(sample, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"built for samples of shape"):
        layer.forward(np.zeros(wrong))
    out = layer.forward(np.zeros((2, *sample)))
    with pytest.raises(ValueError, match=r"needs a gradient of the last forward output's shape"):
        layer.backward(np.zeros((3, *out.shape[1:])))


def test_parameters_too_large_to_allocate_are_a_memory_error_naming_the_layer():
    with pytest.raises(MemoryError, match=r"Dense cannot allocate its parameters for samples "
                                          r"of shape \(3,\)"):
        Dense(2**62).build((3,))
