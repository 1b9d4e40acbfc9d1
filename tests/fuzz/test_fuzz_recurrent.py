"""The recurrent functions under valid and hostile input.

Oracles: the equations unrolled with batched matrix products in autograd's
NumPy (forward values; backward by autograd on small finite cases).  NaN
anywhere in a forward input must reach every output it feeds, as in torch.
"""

import autograd
import autograd.numpy as anp
import numpy as np
from _harness import Raised, as_f64, assert_close, check_call, float_dtypes, maybe_mutated
from hypothesis import given
from hypothesis import strategies as st

from numbacnn import functional as F


def _sig(a):
    return 1.0 / (1.0 + anp.exp(-a))


def _real(a, name, ndim):
    if isinstance(a, np.ndarray) and a.dtype.kind not in "biuf":
        raise TypeError(f"{name}: oracle needs real numbers, got {a.dtype}")
    arr = as_f64(a)
    if arr.ndim != ndim:
        raise ValueError(f"{name}: oracle needs {ndim}-D, got {arr.shape}")
    return arr


NDIMS = {"x": 3, "h0": 2, "c0": 2, "W_ih": 2, "W_hh": 2, "b": 1, "V": 2, "c": 1, "b_ih": 1,
         "b_hh": 1, "grad_y": 3, "grad_h": 3, "grad_h_last": 2, "grad_c_last": 2, "h": 3,
         "gates": 3}


def _reals(arrays, names):
    return [_real(arrays[n], n, NDIMS[n]) for n in names]


def rnn_model(x, h0, W_ih, W_hh, b, V, c, activation="tanh"):
    hs, ys, h = [], [], h0
    for t in range(x.shape[1]):
        a = x[:, t] @ W_ih.T + h @ W_hh.T + b
        h = anp.tanh(a) if activation == "tanh" else anp.where(a > 0, a, 0.0 * a)
        hs.append(h)
        ys.append(h @ V.T + c)
    return anp.stack(hs, axis=1), anp.stack(ys, axis=1)


def lstm_model(x, h0, c0, W_ih, W_hh, b):
    H = h0.shape[1]
    hs, cs, h, c = [], [], h0, c0
    for t in range(x.shape[1]):
        z = x[:, t] @ W_ih.T + h @ W_hh.T + b
        i, f = _sig(z[:, :H]), _sig(z[:, H:2 * H])
        g, o = anp.tanh(z[:, 2 * H:3 * H]), _sig(z[:, 3 * H:])
        c = f * c + i * g
        h = o * anp.tanh(c)
        hs.append(h)
        cs.append(c)
    return anp.stack(hs, axis=1), anp.stack(cs, axis=1)


def gru_model(x, h0, W_ih, W_hh, b_ih, b_hh):
    H = h0.shape[1]
    hs, h = [], h0
    for t in range(x.shape[1]):
        gx = x[:, t] @ W_ih.T + b_ih
        gh = h @ W_hh.T + b_hh
        r = _sig(gx[:, :H] + gh[:, :H])
        z = _sig(gx[:, H:2 * H] + gh[:, H:2 * H])
        n = anp.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])
        h = (1 - z) * n + z * h
        hs.append(h)
    return anp.stack(hs, axis=1)


@st.composite
def recurrent_params(draw, cell):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(float_dtypes())
    N, T, D, H, O = (draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 3)),
                     draw(st.integers(1, 3)), draw(st.integers(1, 2)))
    G = {"rnn": 1, "lstm": 4, "gru": 3}[cell]

    def r(*shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).astype(dtype)

    p = {"x": r(N, T, D), "h0": r(N, H, scale=0.5), "W_ih": r(G * H, D, scale=0.6),
         "W_hh": r(G * H, H, scale=0.5)}
    if cell == "rnn":
        p.update(b=r(H, scale=0.1), V=r(O, H), c=r(O))
    elif cell == "lstm":
        p.update(c0=r(N, H, scale=0.5), b=r(4 * H, scale=0.1))
    else:
        p.update(b_ih=r(3 * H, scale=0.1), b_hh=r(3 * H, scale=0.1))
    return p


ARGS = {"rnn": ["x", "h0", "W_ih", "W_hh", "b", "V", "c"],
        "lstm": ["x", "h0", "c0", "W_ih", "W_hh", "b"],
        "gru": ["x", "h0", "W_ih", "W_hh", "b_ih", "b_hh"]}
MODELS = {"rnn": rnn_model, "lstm": lstm_model, "gru": gru_model}


def _oracle_or_fail(name, compute):
    try:
        with np.errstate(all="ignore"):
            return compute()
    except Exception as exc:  # noqa: BLE001 -- any refusal of the oracle is the finding
        raise AssertionError(f"{name} accepted input that the oracle rejects: {exc!r}") from exc


def _tol(dtype):
    return dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-5)


@given(data=st.data(), cell=st.sampled_from(["rnn", "lstm", "gru"]))
def test_forward(data, cell):
    params = data.draw(recurrent_params(cell))
    arrays, key, kind = data.draw(maybe_mutated(params))
    names = ARGS[cell]
    kwargs = {}
    if cell == "rnn":
        kwargs["activation"] = data.draw(st.sampled_from(["tanh", "relu", "sigmoid", None, 1]))
    out = check_call(f"functional.{cell}_forward", getattr(F, f"{cell}_forward"),
                     tuple(arrays[n] for n in names), kwargs, argnames=names + ["activation"],
                     arrays=[arrays[n] for n in names])
    if isinstance(out, Raised):
        return
    exp = _oracle_or_fail(f"{cell}_forward",
                          lambda: MODELS[cell](*_reals(arrays, names), **kwargs))
    exp = exp if isinstance(exp, tuple) else (exp,)
    for k, e in enumerate(exp):
        assert_close(out[k], e, **_tol(out[k].dtype), what=f"{cell}_forward output {k}")


def _backward_case(cell, p, rng):
    """The arguments of ``<cell>_backward`` for the valid parameters ``p`` (float64 math)."""
    fwd = getattr(F, f"{cell}_forward")(*(p[n] for n in ARGS[cell]))
    dtype = p["x"].dtype
    if cell == "rnn":
        h, y = fwd
        return {"grad_y": rng.standard_normal(y.shape).astype(dtype), "x": p["x"], "h0": p["h0"],
                "h": h, "W_ih": p["W_ih"], "W_hh": p["W_hh"], "V": p["V"],
                "grad_h_last": rng.standard_normal(p["h0"].shape).astype(dtype)}
    if cell == "lstm":
        h, c, gates = fwd
        return {"grad_h": rng.standard_normal(h.shape).astype(dtype), "x": p["x"], "h0": p["h0"],
                "c0": p["c0"], "W_ih": p["W_ih"], "W_hh": p["W_hh"], "h": h, "c": c,
                "gates": gates, "grad_c_last": rng.standard_normal(p["h0"].shape).astype(dtype)}
    h, gates = fwd
    return {"grad_h": rng.standard_normal(h.shape).astype(dtype), "x": p["x"], "h0": p["h0"],
            "W_ih": p["W_ih"], "W_hh": p["W_hh"], "b_ih": p["b_ih"], "b_hh": p["b_hh"], "h": h,
            "gates": gates}


def _autograd_grads(cell, p, case):
    """Gradients of sum(upstream * outputs) with respect to the cell's inputs, by autograd."""
    names = ARGS[cell]
    model = MODELS[cell]

    def loss(*args):
        if cell == "rnn":
            h, y = model(*args)
            return anp.sum(case["grad_y"] * y) + anp.sum(case["grad_h_last"] * h[:, -1])
        if cell == "lstm":
            h, c = model(*args)
            return anp.sum(case["grad_h"] * h) + anp.sum(case["grad_c_last"] * c[:, -1])
        return anp.sum(case["grad_h"] * model(*args))

    args = [as_f64(p[n]) for n in names]
    return [autograd.grad(loss, k)(*args) for k in range(len(names))]


@given(data=st.data(), cell=st.sampled_from(["rnn", "lstm", "gru"]))
def test_backward(data, cell):
    params = data.draw(recurrent_params(cell))
    case = _backward_case(cell, params, np.random.default_rng(data.draw(st.integers(0, 99))))
    mutated, key, kind = data.draw(maybe_mutated(case))
    names = list(case)
    out = check_call(f"functional.{cell}_backward", getattr(F, f"{cell}_backward"),
                     tuple(mutated[n] for n in names), argnames=names,
                     arrays=[mutated[n] for n in names])
    if isinstance(out, Raised) or key is not None:
        return
    expected = _autograd_grads(cell, params, {k: as_f64(v) for k, v in case.items()})
    dtype = out[0].dtype
    tol = dict(rtol=1e-10, atol=1e-11) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-4)
    for k, (a, e) in enumerate(zip(out, expected, strict=True)):
        assert_close(a, e, **tol, what=f"{cell}_backward gradient {k}")


@given(data=st.data(), cell=st.sampled_from(["rnn", "lstm"]))
def test_gradient_norms(data, cell):
    params = data.draw(recurrent_params(cell))
    names = [n for n in ARGS[cell] if n not in ("V", "c")]
    arrays, key, kind = data.draw(maybe_mutated({n: params[n] for n in names}))
    ord_ = data.draw(st.sampled_from([2, "fro", 1, np.inf, -2, "nuc", 3, None, "2"]))
    out = check_call(f"functional.{cell}_gradient_norms", getattr(F, f"{cell}_gradient_norms"),
                     tuple(arrays[n] for n in names), dict(ord=ord_),
                     argnames=names + ["ord"], arrays=[arrays[n] for n in names])
    if isinstance(out, Raised):
        return
    T = np.shape(arrays["x"])[1]
    assert np.shape(out)[-1] == T + 1
    if key is None:
        assert np.all(np.asarray(out) >= 0), "a norm is negative"
