"""numbacnn.interop: torch modules and numbacnn models compute the same, in both directions."""

import os
import sys

import numpy as np
import pytest

from numbacnn import Sequential, interop
from numbacnn.layers import GRU, LSTM, AvgPool2D, Conv2D, Dense, Flatten, MaxPool2D, SimpleRNN

if os.environ.get("NUMBACNN_REQUIRE_EXTRAS") == "1":
    import torch  # the env that installs the torch extra must not skip these tests
else:
    torch = pytest.importorskip("torch")
nn = torch.nn

DTYPES = [np.float32, np.float64]
# round-off of two implementations summing in different orders
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}


def _tdtype(dtype):
    return torch.float32 if dtype == np.float32 else torch.float64


def torch_out(module, x):
    with torch.no_grad():
        out = module(torch.from_numpy(x))
    return (out[0] if isinstance(out, tuple) else out).numpy()


def images(dtype, shape=(5, 2, 9, 9), seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def lecture_like(dtype):
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 3, (2, 3), stride=(1, 2), padding=(1, 0)), nn.Tanh(),
        nn.AvgPool2d((2, 1), stride=1), nn.Flatten(),
        nn.Sequential(nn.Linear(3 * 4 * 1, 7), nn.Sigmoid()),
        nn.Linear(7, 5), nn.Softmax(dim=1),
    ).to(_tdtype(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_from_torch_sequential_predict_proba_equals_the_module(dtype):
    module = lecture_like(dtype)
    model = interop.from_torch(module, input_shape=(2, 9, 9))
    assert model.dtype == dtype and model.is_classifier and model.fused
    kinds = [type(layer) for layer in model.layers]
    assert kinds == [Conv2D, MaxPool2D, Conv2D, AvgPool2D, Flatten, Dense, Dense]
    x = images(dtype)
    p = model.predict_proba(x)
    assert p.dtype == dtype
    np.testing.assert_allclose(p, torch_out(module, x), **TOL[dtype])
    # Dense holds weight.T; the convolution keeps torch's layout
    np.testing.assert_array_equal(model.layers[5].params["W"],
                                  module[7][0].weight.detach().numpy().T)
    np.testing.assert_array_equal(model.layers[0].params["W"], module[0].weight.detach().numpy())


@pytest.mark.parametrize("dtype", DTYPES)
def test_logits_module_becomes_a_classifier_with_softmax(dtype):
    torch.manual_seed(1)
    module = nn.Sequential(nn.Linear(6, 8), nn.LeakyReLU(0.1), nn.Linear(8, 3)).to(_tdtype(dtype))
    x = images(dtype, (4, 6))
    reg = interop.from_torch(module)  # no input_shape: Linear stores its size
    np.testing.assert_allclose(reg.predict(x), torch_out(module, x), **TOL[dtype])
    clf = interop.from_torch(module, softmax=True)
    expected = torch.softmax(torch.from_numpy(torch_out(module, x)), dim=1).numpy()
    np.testing.assert_allclose(clf.predict_proba(x), expected, **TOL[dtype])
    # and back: logits=True drops the softmax again
    again = interop.to_torch(clf, logits=True)
    np.testing.assert_allclose(torch_out(again, x), torch_out(module, x), **TOL[dtype])
    with pytest.raises(ValueError, match="logits=True.*activation is 'identity'"):
        interop.to_torch(reg, logits=True)


def test_one_sigmoid_output_is_a_binary_classifier():
    torch.manual_seed(4)
    module = nn.Sequential(nn.Linear(4, 1), nn.Sigmoid()).double()
    model = interop.from_torch(module)
    x = images(np.float64, (5, 4))
    assert model.is_classifier
    np.testing.assert_allclose(model.predict_proba(x)[:, 1:], torch_out(module, x),
                               **TOL[np.float64])


def test_activation_after_max_pool_and_flatten_joins_the_layer_before():
    torch.manual_seed(2)
    module = nn.Sequential(nn.Conv2d(2, 3, 3), nn.MaxPool2d(2), nn.Flatten(), nn.ReLU(),
                           nn.Linear(27, 4)).double()
    model = interop.from_torch(module, input_shape=(2, 8, 8))
    assert model.layers[0].activation.name == "relu"
    x = images(np.float64, (3, 2, 8, 8))
    np.testing.assert_allclose(model.predict(x), torch_out(module, x), **TOL[np.float64])


@pytest.mark.parametrize("dtype", DTYPES)
def test_to_torch_round_trip(dtype):
    model = Sequential([Conv2D(3, 3, padding="same", activation="relu"), MaxPool2D(2),
                        Conv2D(2, 2, stride=2, activation="leaky_relu"), AvgPool2D(1),
                        Flatten(), Dense(6, activation="tanh"), Dense(4, activation="softmax")],
                       seed=0)
    model.build((1, 8, 8), dtype=dtype)
    for layer in model.layers:  # non-zero biases, so a dropped bias would show
        if "b" in layer.params:
            layer.params["b"][...] = np.linspace(-0.5, 0.5, layer.params["b"].size)
    module = interop.to_torch(model)
    assert all(p.dtype == _tdtype(dtype) for p in module.parameters())
    x = images(dtype, (6, 1, 8, 8))
    np.testing.assert_allclose(torch_out(module, x), model.predict_proba(x), **TOL[dtype])
    back = interop.from_torch(module, input_shape=(1, 8, 8))
    for a, b in zip(back.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert [type(la) for la in back.layers] == [type(la) for la in model.layers]


def _recurrent_pair(kind, dtype, **kw):
    torch.manual_seed(3)
    cls = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind]
    return cls(3, 4, batch_first=True, **kw).to(_tdtype(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind,kw,cls", [("rnn", {}, SimpleRNN),
                                         ("rnn", {"nonlinearity": "relu"}, SimpleRNN),
                                         ("lstm", {}, LSTM), ("gru", {}, GRU)])
def test_recurrent_layers_convert_both_ways(kind, kw, cls, dtype):
    module = _recurrent_pair(kind, dtype, **kw)
    x = images(dtype, (2, 5, 3))
    seq = interop.from_torch(module, input_shape=(5, 3), return_sequences=True)
    assert isinstance(seq, cls) and seq.dtype == dtype
    np.testing.assert_allclose(seq.forward(x), torch_out(module, x), **TOL[dtype])
    last = interop.from_torch(module, input_shape=(5, 3))
    np.testing.assert_allclose(last.forward(x), torch_out(module, x)[:, -1], **TOL[dtype])
    if kind != "gru":  # one bias: the sum of torch's two
        np.testing.assert_allclose(seq.params["b"], (module.bias_ih_l0 + module.bias_hh_l0)
                                   .detach().numpy(), **TOL[dtype])
    back = interop.to_torch(seq)
    np.testing.assert_allclose(torch_out(back, x), seq.forward(x), **TOL[dtype])
    assert back.batch_first and back.hidden_size == 4


def test_recurrent_without_bias_and_time_major_module():
    module = nn.LSTM(3, 2, bias=False).double()  # batch_first=False: same weights
    layer = interop.from_torch(module, input_shape=(4, 3), return_sequences=True)
    x = images(np.float64, (2, 4, 3))
    expected = torch_out(module, np.ascontiguousarray(x.transpose(1, 0, 2))).transpose(1, 0, 2)
    np.testing.assert_allclose(layer.forward(x), expected, **TOL[np.float64])


@pytest.mark.parametrize("module,match", [
    (lambda: nn.RNN(3, 4, num_layers=2), "num_layers=2"),
    (lambda: nn.GRU(3, 4, bidirectional=True), "bidirectional"),
    (lambda: nn.LSTM(3, 4, proj_size=2), "proj_size=2"),
])
def test_unsupported_recurrent_options_are_refused(module, match):
    with pytest.raises(ValueError, match=match):
        interop.from_torch(module(), input_shape=(5, 3))


def test_recurrent_input_shape_is_checked():
    with pytest.raises(ValueError, match=r"needs input_shape=\(T, 3\)"):
        interop.from_torch(nn.GRU(3, 4))
    with pytest.raises(ValueError, match="has 2 features per step.*input_size=3"):
        interop.from_torch(nn.GRU(3, 4), input_shape=(5, 2))


@pytest.mark.parametrize("layers,match,exc", [
    ([nn.Conv2d(2, 3, 3, dilation=2)], "dilation", ValueError),
    ([nn.Conv2d(2, 4, 3, groups=2)], "groups=2", ValueError),
    ([nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect")], "padding_mode='reflect'",
     ValueError),
    ([nn.MaxPool2d(2, ceil_mode=True)], "ceil_mode", ValueError),
    ([nn.MaxPool2d(3, padding=1)], r"padding=1", ValueError),
    ([nn.AvgPool2d(2, divisor_override=3)], "divisor_override", ValueError),
    ([nn.Conv2d(2, 3, 3), nn.Flatten(start_dim=0)], "start_dim=0", ValueError),
    ([nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3)], "BatchNorm2d", TypeError),
    ([nn.ReLU(), nn.Conv2d(2, 3, 3)], "follows no Conv2d/Linear", ValueError),
    ([nn.Conv2d(2, 3, 3), nn.AvgPool2d(2), nn.ReLU()], "follows no Conv2d/Linear", ValueError),
    ([nn.Conv2d(2, 3, 3), nn.ReLU(), nn.Tanh()], "follows no Conv2d/Linear", ValueError),
    ([nn.Conv2d(2, 3, 3), nn.Softmax(dim=1)], "follows no Conv2d/Linear", ValueError),
    ([nn.Conv2d(2, 3, 3), nn.Flatten(), nn.Linear(147, 2), nn.Softmax(dim=0)], "dim=0",
     ValueError),
    ([nn.Conv2d(2, 3, 3), nn.Flatten(), nn.Linear(10, 2)], "takes 10 features.*give 147",
     ValueError),
    ([nn.Conv2d(3, 3, 3)], "in_channels=3", ValueError),
])
def test_unsupported_modules_and_options_are_refused(layers, match, exc):
    with pytest.raises(exc, match=match):
        interop.from_torch(nn.Sequential(*layers), input_shape=(2, 9, 9))


def test_from_torch_argument_errors():
    with pytest.raises(ValueError, match=r"pass input_shape=\(C, H, W\)"):
        interop.from_torch(nn.Sequential(nn.Conv2d(1, 2, 3)))
    with pytest.raises(TypeError, match="float32 or float64"):
        interop.from_torch(nn.Sequential(nn.Linear(2, 2).half()))
    with pytest.raises(TypeError, match="takes an nn.Sequential, nn.RNN"):
        interop.from_torch(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="softmax=True.*ends with a Linear"):
        interop.from_torch(nn.Sequential(nn.Linear(2, 2), nn.ReLU()), softmax=True)
    with pytest.raises(ValueError, match="return_sequences is for recurrent"):
        interop.from_torch(nn.Sequential(nn.Linear(2, 2)), return_sequences=True)


def test_to_torch_argument_errors():
    with pytest.raises(ValueError, match="needs a built model"):
        interop.to_torch(Sequential([Dense(2)]))
    with pytest.raises(ValueError, match="needs a built LSTM"):
        interop.to_torch(LSTM(3))
    rnn_model = Sequential([SimpleRNN(3), Dense(1)])
    rnn_model.build((4, 2))
    with pytest.raises(TypeError, match="convert recurrent layers one at a time"):
        interop.to_torch(rnn_model)
    with pytest.raises(TypeError, match="takes a numbacnn Sequential"):
        interop.to_torch(Dense(2))


def test_without_torch_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    with pytest.raises(ImportError, match=r"pip install numbacnn\[torch\]"):
        interop.from_torch(object())
    with pytest.raises(ImportError, match=r"pip install numbacnn\[torch\]"):
        interop.to_torch(object())


def test_importing_interop_does_not_import_torch():
    import subprocess

    code = "import sys, numbacnn.interop; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert out.stdout.strip() == "False"
