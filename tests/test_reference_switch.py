"""``reference=True``: the public functions run the readable kernels the docs show.

Each ``test_*_reference_equals_fast`` calls one public function twice, once
per switch position, on random problems in both float dtypes and requires the
same shapes and dtypes and values equal to round-off (the fast kernels add in
another order, and the recurrent ones evaluate tanh and the sigmoid with their
own formulas).  ``test_switch_runs_the_reference_kernel`` proves the switch
reaches the reference kernel (and only with ``reference=True``) by wrapping
it; without that a switch that did nothing would pass the equality tests.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import numbacnn.functional as F
from numbacnn.kernels import conv as kconv
from numbacnn.kernels import gru as kgru
from numbacnn.kernels import lstm as klstm
from numbacnn.kernels import pool as kpool
from numbacnn.kernels import rnn as krnn

DTYPES = st.sampled_from([np.float32, np.float64])


def _assert_same(fast, ref, dtype):
    """Same shapes and dtypes, values equal to a few ulps of float32 or float64."""
    fast = fast if isinstance(fast, tuple) else (fast,)
    ref = ref if isinstance(ref, tuple) else (ref,)
    tol = 2e-5 if dtype == np.float32 else 1e-12
    assert len(fast) == len(ref)
    for a, b in zip(fast, ref, strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@st.composite
def conv_problems(draw):
    """Small batches with any stride, padding (ints, pairs, "same") and dilation."""
    N, C, Fo = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dilation = draw(st.sampled_from([1, 2, (1, 2)]))
    padding = draw(st.sampled_from([0, 1, (2, 0), "valid", "same"]))
    stride = 1 if padding == "same" else draw(st.sampled_from([1, 2, (3, 1)]))
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    H = dh * (kh - 1) + 1 + draw(st.integers(0, 4))
    W = dw * (kw - 1) + 1 + draw(st.integers(0, 4))
    kwargs = dict(stride=stride, padding=padding, dilation=dilation)
    return (N, C, H, W), (Fo, C, kh, kw), kwargs, draw(st.integers(0, 2**16))


def _conv_operands(problem, dtype):
    x_shape, w_shape, kwargs, seed = problem
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(x_shape).astype(dtype), rng.standard_normal(w_shape).astype(dtype)
    return rng, x, w, rng.standard_normal(w_shape[0]).astype(dtype), kwargs


@given(problem=conv_problems(), dtype=DTYPES)
def test_conv2d_reference_equals_fast(problem, dtype):
    _, x, w, b, kwargs = _conv_operands(problem, dtype)
    _assert_same(F.conv2d(x, w, b, **kwargs), F.conv2d(x, w, b, **kwargs, reference=True), dtype)


@given(problem=conv_problems(), dtype=DTYPES)
def test_conv2d_backward_reference_equals_fast(problem, dtype):
    rng, x, w, _, kwargs = _conv_operands(problem, dtype)
    g = rng.standard_normal(F.conv2d(x, w, **kwargs).shape).astype(dtype)
    _assert_same(F.conv2d_backward(g, x, w, **kwargs),
                 F.conv2d_backward(g, x, w, **kwargs, reference=True), dtype)


@pytest.mark.parametrize("kind", ["max", "avg"])
@given(seed=st.integers(0, 2**16), k=st.integers(1, 3), s=st.sampled_from([None, 1, 2, (1, 3)]),
       dtype=DTYPES, ties=st.booleans())
def test_pooling_reference_equals_fast(kind, seed, k, s, dtype, ties):
    forward = getattr(F, f"{kind}_pool2d")
    backward = getattr(F, f"{kind}_pool2d_backward")
    rng = np.random.default_rng(seed)
    shape = (2, 3, 5 + seed % 3, 4 + seed % 4)
    x = (rng.integers(-2, 3, shape) if ties else rng.standard_normal(shape)).astype(dtype)
    args = (x, k, s, k // 2)
    y = forward(*args)
    _assert_same(y, forward(*args, reference=True), dtype)
    g = rng.standard_normal(y.shape).astype(dtype)
    # pooling adds the same terms in the same order in both kernels: bit for bit
    np.testing.assert_array_equal(backward(g, *args), backward(g, *args, reference=True))


def _sequences(rng, N, T, D, H, rows, dtype):
    """x, h0 and the input/recurrent weights of a cell with ``rows * H`` gate rows."""
    x = rng.standard_normal((N, T, D)).astype(dtype)
    h0 = rng.standard_normal((N, H)).astype(dtype)
    W_ih = (0.5 * rng.standard_normal((rows * H, D))).astype(dtype)
    W_hh = (0.5 * rng.standard_normal((rows * H, H))).astype(dtype)
    return x, h0, W_ih, W_hh


SIZES = dict(seed=st.integers(0, 2**16), N=st.integers(1, 3), T=st.integers(1, 5),
             D=st.integers(1, 3), H=st.integers(1, 4))


@given(**SIZES, dtype=DTYPES, activation=st.sampled_from(["tanh", "relu"]))
def test_rnn_reference_equals_fast(seed, N, T, D, H, dtype, activation):
    rng = np.random.default_rng(seed)
    x, h0, W_ih, W_hh = _sequences(rng, N, T, D, H, 1, dtype)
    b, V, c = (rng.standard_normal(s).astype(dtype) for s in (H, (2, H), 2))
    fwd = (x, h0, W_ih, W_hh, b, V, c)
    h, y = F.rnn_forward(*fwd, activation=activation)
    _assert_same((h, y), F.rnn_forward(*fwd, activation=activation, reference=True), dtype)
    gy = rng.standard_normal(y.shape).astype(dtype)
    bwd = (gy, x, h0, h, W_ih, W_hh, V, h0)  # h0 doubles as grad_h_last
    _assert_same(F.rnn_backward(*bwd, activation=activation),
                 F.rnn_backward(*bwd, activation=activation, reference=True), dtype)


@given(**SIZES, dtype=DTYPES)
def test_lstm_reference_equals_fast(seed, N, T, D, H, dtype):
    rng = np.random.default_rng(seed)
    x, h0, W_ih, W_hh = _sequences(rng, N, T, D, H, 4, dtype)
    c0 = rng.standard_normal((N, H)).astype(dtype)
    b = rng.standard_normal(4 * H).astype(dtype)
    out = F.lstm_forward(x, h0, c0, W_ih, W_hh, b)
    _assert_same(out, F.lstm_forward(x, h0, c0, W_ih, W_hh, b, reference=True), dtype)
    gh = rng.standard_normal(out[0].shape).astype(dtype)
    bwd = (gh, x, h0, c0, W_ih, W_hh, *out, c0)  # c0 doubles as grad_c_last
    _assert_same(F.lstm_backward(*bwd), F.lstm_backward(*bwd, reference=True), dtype)


@given(**SIZES, dtype=DTYPES)
def test_gru_reference_equals_fast(seed, N, T, D, H, dtype):
    rng = np.random.default_rng(seed)
    x, h0, W_ih, W_hh = _sequences(rng, N, T, D, H, 3, dtype)
    b_ih, b_hh = (rng.standard_normal(3 * H).astype(dtype) for _ in range(2))
    fwd = (x, h0, W_ih, W_hh, b_ih, b_hh)
    h, gates = F.gru_forward(*fwd)
    _assert_same((h, gates), F.gru_forward(*fwd, reference=True), dtype)
    gh = rng.standard_normal(h.shape).astype(dtype)
    _assert_same(F.gru_backward(gh, *fwd, h, gates),
                 F.gru_backward(gh, *fwd, h, gates, reference=True), dtype)


# ----------------------------------------------------------------------------
# the switch reaches the reference kernel; it is validated like every argument


def _calls():
    """(kernel module, reference kernel name, call(reference)) for every switched function."""
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((1, 2, 4, 4)), rng.standard_normal((3, 2, 2, 2))
    g = np.ones((1, 3, 3, 3))
    gp = np.ones((1, 2, 2, 2))
    s = rng.standard_normal((1, 3, 2))
    h0 = np.zeros((1, 2))
    rnn = (s, h0, np.ones((2, 2)), np.eye(2), np.zeros(2), np.ones((1, 2)), np.zeros(1))
    h, _ = F.rnn_forward(*rnn)
    lstm = (s, h0, h0, np.ones((8, 2)), np.ones((8, 2)), np.zeros(8))
    lh, lc, lg = F.lstm_forward(*lstm)
    gru = (s, h0, np.ones((6, 2)), np.ones((6, 2)), np.zeros(6), np.zeros(6))
    gh, gg = F.gru_forward(*gru)
    return [
        (kconv, "conv2d_forward_reference", lambda r: F.conv2d(x, w, reference=r)),
        (kconv, "conv2d_backward_reference", lambda r: F.conv2d_backward(g, x, w, reference=r)),
        (kpool, "max_pool2d_reference", lambda r: F.max_pool2d(x, 2, reference=r)),
        (kpool, "max_pool2d_backward_reference",
         lambda r: F.max_pool2d_backward(gp, x, 2, reference=r)),
        (kpool, "avg_pool2d_reference", lambda r: F.avg_pool2d(x, 2, reference=r)),
        (kpool, "avg_pool2d_backward_reference",
         lambda r: F.avg_pool2d_backward(gp, x, 2, reference=r)),
        (krnn, "rnn_forward_reference", lambda r: F.rnn_forward(*rnn, reference=r)),
        (krnn, "rnn_backward_reference",
         lambda r: F.rnn_backward(np.ones((1, 3, 1)), s, h0, h, *rnn[2:4], rnn[5], reference=r)),
        (klstm, "lstm_forward_reference", lambda r: F.lstm_forward(*lstm, reference=r)),
        (klstm, "lstm_backward_reference",
         lambda r: F.lstm_backward(lh, *lstm[:5], lh, lc, lg, reference=r)),
        (kgru, "gru_forward_reference", lambda r: F.gru_forward(*gru, reference=r)),
        (kgru, "gru_backward_reference",
         lambda r: F.gru_backward(gh, *gru, gh, gg, reference=r)),
    ]


@pytest.mark.parametrize("index", range(12))
def test_switch_runs_the_reference_kernel(index, monkeypatch):
    module, name, call = _calls()[index]
    kernel = getattr(module, name)
    seen = []

    def spy(*args):
        seen.append(name)
        return kernel(*args)

    monkeypatch.setattr(module, name, spy)
    call(False)
    assert seen == []
    call(True)
    assert seen == [name]


@pytest.mark.parametrize("index", range(12))
@pytest.mark.parametrize("bad", [1, "yes", None])
def test_switch_must_be_a_bool(index, bad):
    call = _calls()[index][2]
    with pytest.raises(TypeError, match=f"reference must be True or False; got {bad!r}"):
        call(bad)


@pytest.mark.parametrize("reference", [True, False])
def test_validation_is_the_same_on_both_paths(reference):
    x, w = np.zeros((1, 2, 4, 4)), np.zeros((3, 1, 2, 2))
    with pytest.raises(ValueError, match="channel"):
        F.conv2d(x, w, reference=reference)
    with pytest.raises(ValueError, match="grad_out must have"):
        F.max_pool2d_backward(np.zeros((1, 2, 3, 3)), x, 2, reference=reference)
    with pytest.raises(ValueError, match="W_hh"):
        F.rnn_forward(np.zeros((1, 2, 3)), np.zeros((1, 2)), np.zeros((2, 3)), np.zeros((3, 3)),
                      np.zeros(2), np.zeros((1, 2)), np.zeros(1), reference=reference)
