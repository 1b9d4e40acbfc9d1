"""NaN and infinities through the recurrent kernels, as PyTorch propagates them.

PyTorch's activations define the special values: ``sigmoid(nan) = nan``,
``sigmoid(+inf) = 1``, ``sigmoid(-inf) = 0``, ``tanh(+-inf) = +-1``,
``relu(nan) = nan``, and the ReLU's backward (``threshold_backward``) zeroes
the gradient where the output is ``<= 0`` and passes it on elsewhere,
including where the output is NaN.  Everything else is IEEE arithmetic.

Oracles: the special values above; NumPy's own ``tanh``/``exp``; an unrolled
NumPy model of each cell written with elementwise products only (a BLAS
``gemv`` may skip zero entries and so miss ``inf * 0 = nan``); and the
reference kernels for the fast backward kernels.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from numbacnn.functional import (
    gru_backward,
    gru_forward,
    lstm_backward,
    lstm_forward,
    lstm_gradient_norms,
    rnn_backward,
    rnn_forward,
    rnn_gradient_norms,
)
from numbacnn.kernels import _math
from numbacnn.kernels import gru as gru_k
from numbacnn.kernels import lstm as lstm_k
from numbacnn.kernels import rnn as rnn_k

NAN, INF = np.nan, np.inf
SPECIAL = [NAN, INF, -INF]
DTYPES = [np.float32, np.float64]

# ----------------------------------------------------------------------------
# tables of special values through the scalar functions of kernels._math
# ----------------------------------------------------------------------------

ARGS = [NAN, INF, -INF, 0.0, -0.0, 1e-30, -1e-30, 0.5, -0.5, 20.0, -20.0, 100.0, -100.0,
        800.0, -800.0, 3e38, -3e38]


def _table(fn, dtype, *extra):
    one = dtype(1)
    return np.array([fn(dtype(a), one, *extra) for a in ARGS], dtype=dtype)


def _sigmoid_expected(a):
    """torch's special values; 1 / (1 + e^-a) elsewhere (float64, no overflow warnings)."""
    a = np.asarray(a, dtype=np.float64)
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-a))


def _assert_special_equal(got, expected, where):
    """Bit-for-bit on NaN, the infinities and the values 0, +-1 the limits give; close elsewhere."""
    got, expected = np.asarray(got, np.float64), np.asarray(expected, np.float64)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected), err_msg=where)
    exact = ~np.isfinite(np.array(ARGS))
    np.testing.assert_array_equal(got[exact], expected[exact], err_msg=where)


@pytest.mark.parametrize("dtype", DTYPES)
def test_tanh_table(dtype):
    expected = np.tanh(np.array(ARGS, dtype=np.float64))
    single = dtype == np.float32
    cases = [("tanh_fast", _table(_math.tanh_fast, dtype, single))]
    cases.append(("tanh_rational32", _table(_math.tanh_rational32, np.float32))
                 if single else ("tanh_exp", _table(_math.tanh_exp, np.float64)))
    for name, got in cases:
        _assert_special_equal(got, expected, name)
        # accuracy as documented in kernels._math: a few float32 ulps / 2e-16 absolute
        tol = dict(rtol=3.5e-7, atol=1e-30) if single else dict(rtol=0, atol=4e-16)
        fin = np.isfinite(expected)
        np.testing.assert_allclose(got[fin], expected[fin], **tol, err_msg=name)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_table(dtype):
    expected = _sigmoid_expected(ARGS)
    single = dtype == np.float32
    for name, got in [("sigmoid", _table(_math.sigmoid, dtype)),
                      ("sigmoid_fast", _table(_math.sigmoid_fast, dtype, single))]:
        _assert_special_equal(got, expected, name)
        assert got.dtype == dtype
        # the limits are exact: sigmoid(+inf) == 1, sigmoid(-inf) == 0 (not 1e-308)
        assert got[ARGS.index(INF)] == 1 and got[ARGS.index(-INF)] == 0, name
        fin = np.isfinite(expected)
        atol = 2e-7 if single else 2e-16
        np.testing.assert_allclose(got[fin], expected[fin], rtol=0, atol=atol, err_msg=name)


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_and_its_derivative_table(dtype):
    zero, one = dtype(0), dtype(1)
    a = np.array(ARGS, dtype=dtype)
    got = np.array([_math.relu(v, zero) for v in a], dtype=dtype)
    np.testing.assert_array_equal(got, np.maximum(a, 0))  # np.maximum keeps NaN, as torch.relu
    # torch's threshold_backward: 0 where the output is <= 0, the gradient elsewhere
    grad = np.array([_math.relu_grad(v, one, zero) for v in np.maximum(a, 0)], dtype=dtype)
    with np.errstate(invalid="ignore"):
        expected = np.array([0.0 if v <= 0 else 1.0 for v in np.maximum(a, 0)])
    np.testing.assert_array_equal(grad, expected)
    assert grad[ARGS.index(NAN)] == 1


# ----------------------------------------------------------------------------
# the reproducers: one NaN weight or an infinite bias
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_lstm_nan_weight_gives_nan_state(dtype):
    rng = np.random.default_rng(0)
    N, T, D, H = 2, 3, 2, 3
    x = rng.normal(size=(N, T, D)).astype(dtype)
    W_ih = rng.normal(size=(4 * H, D)).astype(dtype)
    W_ih[0, 0] = NAN
    z = np.zeros((N, H), dtype)
    h, c, gates = lstm_forward(x, z, z, W_ih, rng.normal(size=(4 * H, H)).astype(dtype),
                               np.zeros(4 * H, dtype))
    # unit 0's input gate is NaN at t = 0, so c and h of unit 0, and every unit after one step
    assert np.isnan(gates[:, 0, 0]).all() and np.isnan(h[:, 0, 0]).all()
    assert np.isnan(h[:, 1:]).all() and np.isnan(c[:, 1:]).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_gru_nan_weight_gives_nan_state(dtype):
    N, T, D, H = 1, 2, 1, 1
    x = np.ones((N, T, D), dtype)
    W_ih = np.ones((3 * H, D), dtype)
    W_ih[0, 0] = NAN
    z = np.zeros(3 * H, dtype)
    h, gates = gru_forward(x, np.zeros((N, H), dtype), W_ih, np.ones((3 * H, H), dtype), z, z)
    assert np.isnan(h).all() and np.isnan(gates[0, 0, 0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_infinite_biases_give_exact_gate_limits(dtype):
    # i = sigmoid(-inf) = 0 exactly and f = sigmoid(+inf) = 1 exactly: the cell is copied
    N, T, D, H = 2, 4, 3, 2
    rng = np.random.default_rng(1)
    b = np.concatenate([np.full(H, -INF), np.full(H, INF), np.zeros(2 * H)]).astype(dtype)
    c0 = rng.normal(size=(N, H)).astype(dtype)
    h, c, gates = lstm_forward(rng.normal(size=(N, T, D)).astype(dtype), np.zeros((N, H), dtype),
                               c0, np.zeros((4 * H, D), dtype), np.zeros((4 * H, H), dtype), b)
    assert (gates[..., :H] == 0).all() and (gates[..., H:2 * H] == 1).all()
    np.testing.assert_array_equal(c, np.broadcast_to(c0[:, None], c.shape))
    # GRU: z = sigmoid(+inf) = 1 copies h0 exactly
    b_ih = np.concatenate([np.zeros(H), np.full(H, INF), np.zeros(H)]).astype(dtype)
    h0 = rng.normal(size=(N, H)).astype(dtype)
    h, gates = gru_forward(rng.normal(size=(N, T, D)).astype(dtype), h0,
                           rng.normal(size=(3 * H, D)).astype(dtype),
                           rng.normal(size=(3 * H, H)).astype(dtype), b_ih, np.zeros(3 * H, dtype))
    np.testing.assert_array_equal(h, np.broadcast_to(h0[:, None], h.shape))


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_rnn_keeps_nan(dtype):
    x = np.array([[[NAN], [1.0]]], dtype)
    one = np.ones((1, 1), dtype)
    h, y = rnn_forward(x, np.zeros((1, 1), dtype), one, one, np.zeros(1, dtype), one,
                       np.zeros(1, dtype), activation="relu")
    assert np.isnan(h).all() and np.isnan(y).all()


@pytest.mark.parametrize("ord", [2, "fro"])
def test_gradient_norms_report_nan_instead_of_raising(ord):
    rng = np.random.default_rng(2)
    N, T, D, H = 3, 4, 2, 3
    x = rng.normal(size=(N, T, D))
    x[1, 0, 0] = NAN  # only sequence 1 is touched
    h0 = np.zeros((N, H))
    W_ih, W_hh = rng.normal(size=(H, D)), 0.5 * rng.normal(size=(H, H))
    norms = rnn_gradient_norms(x, h0, W_ih, W_hh, np.zeros(H), ord=ord)
    clean = rnn_gradient_norms(np.delete(x, 1, axis=0), h0[:2], W_ih, W_hh, np.zeros(H), ord=ord)
    assert np.isnan(norms[1, 1:]).all() and np.isfinite(norms[[0, 2]]).all()
    np.testing.assert_array_equal(norms[[0, 2]], clean)
    lx = rng.normal(size=(N, T, D))
    lx[2, 1, 1] = NAN
    W4, U4 = rng.normal(size=(4 * H, D)), rng.normal(size=(4 * H, H))
    lnorms = lstm_gradient_norms(lx, h0, h0, W4, U4, np.zeros(4 * H), ord=ord)
    assert np.isnan(lnorms[2, 1:T - 1]).all() and np.isfinite(lnorms[:2]).all()


def test_gradient_norms_report_inf_for_an_infinite_jacobian():
    from numbacnn.functional._recurrent import _matrix_norms

    jac = np.stack([np.eye(2), np.full((2, 2), INF), np.array([[INF, NAN], [0.0, 1.0]])])
    for ord in (2, "fro"):
        norms = _matrix_norms(jac, ord)
        assert norms[0] == pytest.approx(1.0 if ord == 2 else np.sqrt(2.0))
        assert norms[1] == INF and np.isnan(norms[2])


# ----------------------------------------------------------------------------
# Hypothesis: special values injected anywhere, against unrolled NumPy models
# ----------------------------------------------------------------------------


def _sig(a):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-a))


def _mv(h, M):
    """``h @ M.T`` with elementwise products (IEEE for every entry, unlike a BLAS gemv)."""
    return (h[:, None, :] * M[None, :, :]).sum(axis=-1)


def numpy_rnn(x, h0, W_ih, W_hh, b, V, c, relu):
    h, hs, ys = h0, [], []
    for t in range(x.shape[1]):
        a = _mv(x[:, t], W_ih) + _mv(h, W_hh) + b
        h = np.maximum(a, 0) if relu else np.tanh(a)
        hs.append(h)
        ys.append(_mv(h, V) + c)
    return np.stack(hs, 1), np.stack(ys, 1)


def numpy_lstm(x, h0, c0, W_ih, W_hh, b):
    H = h0.shape[1]
    h, c, hs, cs = h0, c0, [], []
    for t in range(x.shape[1]):
        z = _mv(x[:, t], W_ih) + _mv(h, W_hh) + b
        i, f, o = _sig(z[:, :H]), _sig(z[:, H:2 * H]), _sig(z[:, 3 * H:])
        c = f * c + i * np.tanh(z[:, 2 * H:3 * H])
        h = o * np.tanh(c)
        hs.append(h)
        cs.append(c)
    return np.stack(hs, 1), np.stack(cs, 1)


def numpy_gru(x, h0, W_ih, W_hh, b_ih, b_hh):
    H = h0.shape[1]
    h, hs = h0, []
    for t in range(x.shape[1]):
        ax, ah = _mv(x[:, t], W_ih) + b_ih, _mv(h, W_hh) + b_hh
        r, z = _sig(ax[:, :H] + ah[:, :H]), _sig(ax[:, H:2 * H] + ah[:, H:2 * H])
        n = np.tanh(ax[:, 2 * H:] + r * ah[:, 2 * H:])
        h = (1 - z) * n + z * h
        hs.append(h)
    return np.stack(hs, 1)


SHAPES = {
    "rnn": lambda N, T, D, H: dict(x=(N, T, D), h0=(N, H), W_ih=(H, D), W_hh=(H, H), b=(H,),
                                   V=(2, H), c=(2,)),
    "lstm": lambda N, T, D, H: dict(x=(N, T, D), h0=(N, H), c0=(N, H), W_ih=(4 * H, D),
                                    W_hh=(4 * H, H), b=(4 * H,)),
    "gru": lambda N, T, D, H: dict(x=(N, T, D), h0=(N, H), W_ih=(3 * H, D), W_hh=(3 * H, H),
                                   b_ih=(3 * H,), b_hh=(3 * H,)),
}


@st.composite
def poisoned(draw, model):
    N, T, D, H = (draw(st.integers(1, 3)) for _ in range(4))
    dtype = draw(st.sampled_from(DTYPES))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    args = {k: (rng.normal(size=s) * 0.7).astype(dtype)
            for k, s in SHAPES[model](N, T, D, H).items()}
    names = sorted(args)
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(names))
        flat = args[name].reshape(-1)
        flat[draw(st.integers(0, flat.size - 1))] = draw(st.sampled_from(SPECIAL))
    return args, dtype


def _assert_same_nonfinite(got, expected, dtype, what):
    """Same NaN and infinity positions; finite entries within the fast kernels' accuracy."""
    got, expected = np.asarray(got, np.float64), np.asarray(expected, np.float64)
    for kind in (np.isnan, np.isposinf, np.isneginf):
        np.testing.assert_array_equal(kind(got), kind(expected), err_msg=f"{what}: {kind.__name__}")
    fin = np.isfinite(expected)
    tol = dict(rtol=1e-12, atol=1e-13) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got[fin], expected[fin], **tol, err_msg=what)


def _up(args):
    return {k: v.astype(np.float64) for k, v in args.items()}


def _grad_like(rng, a, dtype):
    return rng.normal(size=a.shape).astype(dtype)


@given(poisoned("rnn"), st.booleans())
def test_rnn_nonfinite_matches_numpy_and_reference(case, relu):
    args, dtype = case
    act = "relu" if relu else "tanh"
    with np.errstate(invalid="ignore", over="ignore"):
        h, y = rnn_forward(**args, activation=act)
        h_np, y_np = numpy_rnn(*_up(args).values(), relu)
        _assert_same_nonfinite(h, h_np, dtype, "h")
        _assert_same_nonfinite(y, y_np, dtype, "y")
        # backward: the fast kernel against the reference kernel, special values included
        gy = _grad_like(np.random.default_rng(0), y, dtype)
        a = args
        fast = rnn_backward(gy, a["x"], a["h0"], h, a["W_ih"], a["W_hh"], a["V"], activation=act)
        ref = [np.zeros_like(g) for g in fast]
        rnn_k.rnn_backward_reference(gy, a["x"], a["h0"], h, a["W_ih"], a["W_hh"], a["V"], relu,
                                     np.zeros_like(a["h0"]), *ref)
    for g, r in zip(fast, ref, strict=True):
        _assert_same_nonfinite(g, r, dtype, "rnn backward")


@given(poisoned("lstm"))
def test_lstm_nonfinite_matches_numpy_and_reference(case):
    args, dtype = case
    a = args
    with np.errstate(invalid="ignore", over="ignore"):
        h, c, gates = lstm_forward(**args)
        h_np, c_np = numpy_lstm(*_up(args).values())
        _assert_same_nonfinite(h, h_np, dtype, "h")
        _assert_same_nonfinite(c, c_np, dtype, "c")
        ref_fwd = [np.empty_like(h), np.empty_like(c), np.empty_like(gates)]
        lstm_k.lstm_forward_reference(a["x"], a["h0"], a["c0"], a["W_ih"], a["W_hh"], a["b"],
                                      *ref_fwd)
        for got, r in zip((h, c, gates), ref_fwd, strict=True):
            _assert_same_nonfinite(got, r, dtype, "lstm forward vs reference")
        gh = _grad_like(np.random.default_rng(0), h, dtype)
        fast = lstm_backward(gh, a["x"], a["h0"], a["c0"], a["W_ih"], a["W_hh"], h, c, gates)
        ref = [np.zeros_like(g) for g in fast]
        lstm_k.lstm_backward_reference(gh, a["x"], a["h0"], a["c0"], a["W_ih"], a["W_hh"], h, c,
                                       gates, np.zeros_like(a["h0"]), *ref)
    for g, r in zip(fast, ref, strict=True):
        _assert_same_nonfinite(g, r, dtype, "lstm backward")


@given(poisoned("gru"))
def test_gru_nonfinite_matches_numpy_and_reference(case):
    args, dtype = case
    a = args
    with np.errstate(invalid="ignore", over="ignore"):
        h, gates = gru_forward(**args)
        _assert_same_nonfinite(h, numpy_gru(*_up(args).values()), dtype, "h")
        ref_fwd = [np.empty_like(h), np.empty_like(gates)]
        gru_k.gru_forward_reference(a["x"], a["h0"], a["W_ih"], a["W_hh"], a["b_ih"], a["b_hh"],
                                    *ref_fwd)
        for got, r in zip((h, gates), ref_fwd, strict=True):
            _assert_same_nonfinite(got, r, dtype, "gru forward vs reference")
        gh = _grad_like(np.random.default_rng(0), h, dtype)
        fast = gru_backward(gh, a["x"], a["h0"], a["W_ih"], a["W_hh"], a["b_ih"], a["b_hh"], h,
                            gates)
        ref = [np.zeros_like(g) for g in fast]
        gru_k.gru_backward_reference(gh, a["x"], a["h0"], a["W_ih"], a["W_hh"], a["b_ih"],
                                     a["b_hh"], h, gates, *ref)
    for g, r in zip(fast, ref, strict=True):
        _assert_same_nonfinite(g, r, dtype, "gru backward")
