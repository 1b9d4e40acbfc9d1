"""Forward + backward of numbacnn's RNN, LSTM and GRU against torch.nn, float32 and float64.

Usage::

    python3 lab/bench_rnn.py --out PATH.md [--rounds 5] [--quick]

The protocol is :mod:`harness`'s.  Both sides get the same weights and data
(drawn from one NumPy generator in each process; torch's modules are loaded
with them) and compute the output and the gradients of the input, the initial
state(s) and every weight.  The simple RNN includes the lecture's output layer
``y = V h + c`` (torch: an ``nn.Linear`` on every step).  Sizes: N=32, T=100,
D=4, H=64, O=1; ``--quick``: T=10.
"""

import sys

import harness
import numpy as np

TITLE = "RNN, LSTM and GRU forward + backward: numbacnn / torch"
DEFAULT_REPEAT = 10
SIZES = dict(N=32, T=100, D=4, H=64, O=1)
CASES = [harness.Case(f"{model}-{dtype}", f"{model.upper()} {dtype}", "torch", 1.0)
         for model in ("rnn", "lstm", "gru") for dtype in ("float32", "float64")]
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def data(key, quick):
    """Inputs, initial states, weights and the output gradient of one case, as NumPy arrays."""
    model, dtype = key.split("-")
    N, T, D, H, O = (SIZES[k] for k in ("N", "T", "D", "H", "O"))
    T = 10 if quick else T
    rng = np.random.default_rng(0)
    k = GATES[model]

    def draw(*shape, scale=1.0):
        return (scale * rng.standard_normal(shape)).astype(dtype)

    d = dict(model=model, x=draw(N, T, D), h0=draw(N, H, scale=0.1), c0=draw(N, H, scale=0.1),
             W_ih=draw(k * H, D, scale=D ** -0.5), W_hh=draw(k * H, H, scale=H ** -0.5),
             b_ih=draw(k * H, scale=0.1), b_hh=draw(k * H, scale=0.1))
    if model == "rnn":
        d.update(V=draw(O, H, scale=H ** -0.5), c=draw(O, scale=0.1), g=draw(N, T, O))
    else:
        d["g"] = draw(N, T, H)
    return d


def _numbacnn_step(d):
    from numbacnn.functional import (
        gru_backward,
        gru_forward,
        lstm_backward,
        lstm_forward,
        rnn_backward,
        rnn_forward,
    )

    x, h0, g = d["x"], d["h0"], d["g"]
    if d["model"] == "rnn":
        U, W, b, V, c = d["W_ih"], d["W_hh"], d["b_ih"] + d["b_hh"], d["V"], d["c"]

        def step():
            h, y = rnn_forward(x, h0, U, W, b, V, c)
            return (y, *rnn_backward(g, x, h0, h, U, W, V)[:3])
    elif d["model"] == "lstm":
        W, U, b, c0 = d["W_ih"], d["W_hh"], d["b_ih"] + d["b_hh"], d["c0"]

        def step():
            h, c, gates = lstm_forward(x, h0, c0, W, U, b)
            return (h, *lstm_backward(g, x, h0, c0, W, U, h, c, gates)[:3])
    else:
        W, U, b_w, b_u = d["W_ih"], d["W_hh"], d["b_ih"], d["b_hh"]

        def step():
            h, gates = gru_forward(x, h0, W, U, b_w, b_u)
            return (h, *gru_backward(g, x, h0, W, U, b_w, b_u, h, gates)[:2])
    return step


def _torch_step(d):
    import torch

    dt = torch.float32 if d["x"].dtype == np.float32 else torch.float64
    N, T, D = d["x"].shape
    H = d["h0"].shape[1]
    cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[d["model"]]
    net = cls(D, H, batch_first=True).to(dt)
    with torch.no_grad():
        for name in ("W_ih", "W_hh", "b_ih", "b_hh"):
            torch_name = {"W_ih": "weight_ih_l0", "W_hh": "weight_hh_l0",
                          "b_ih": "bias_ih_l0", "b_hh": "bias_hh_l0"}[name]
            getattr(net, torch_name).copy_(torch.from_numpy(d[name]))
    mods = [net]
    if d["model"] == "rnn":
        lin = torch.nn.Linear(H, d["V"].shape[0]).to(dt)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(d["V"]))
            lin.bias.copy_(torch.from_numpy(d["c"]))
        mods.append(lin)
    x = torch.from_numpy(d["x"]).requires_grad_(True)
    h0 = torch.from_numpy(d["h0"][None].copy()).requires_grad_(True)
    c0 = torch.from_numpy(d["c0"][None].copy()).requires_grad_(True)
    g = torch.from_numpy(d["g"])

    def step():
        for p in (x, h0, c0, *(q for m in mods for q in m.parameters())):
            p.grad = None
        if d["model"] == "lstm":
            out, _ = net(x, (h0, c0))
            grads = (x, h0, c0)
        else:
            out, _ = net(x, h0)
            grads = (x, h0)
        if d["model"] == "rnn":
            out, grads = mods[1](out), (x, h0, net.weight_ih_l0)
        out.backward(g)
        return (out.detach().numpy(), *(t.grad.numpy() for t in grads))
    return step


def measure(library, keys, quick, repeat):
    results = {}
    for key in keys:
        d = data(key, quick)
        step = _numbacnn_step(d) if library == "numbacnn" else _torch_step(d)
        seconds = harness.median_call(step, repeat)
        results[key] = (seconds, harness.fingerprint(*step()))
    return results


if __name__ == "__main__":
    sys.exit(harness.main(sys.modules[__name__]))
