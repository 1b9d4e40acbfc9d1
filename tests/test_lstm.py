"""LSTM: forward pass, backpropagation through time, the memory cell.

Oracles: autograd on an unrolled NumPy model (batched products, sigmoid
written through tanh), central finite differences in float64, the reference
kernel for the fast one, and the lecture's memory-cell property.
"""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from _deprecations import renamed_keywords
from _numerics import assert_rel_close, assert_same_on_one_and_two_threads, central_difference
from hypothesis import given
from hypothesis import strategies as st

from numbacnn.functional import lstm_backward, lstm_forward, lstm_gradient_norms
from numbacnn.kernels import lstm as kernels

# ----------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------


def _sigmoid(a):
    return 0.5 * (anp.tanh(0.5 * a) + 1.0)


def unrolled_lstm(x, h0, c0, W, U, b):
    """The lecture's gate equations with batched matrix products (autograd-friendly)."""
    H = h0.shape[1]
    h, c = h0, c0
    hs, cs, gs = [], [], []
    for t in range(x.shape[1]):
        z = x[:, t] @ W.T + h @ U.T + b
        i = _sigmoid(z[:, :H])
        f = _sigmoid(z[:, H:2 * H])
        g = anp.tanh(z[:, 2 * H:3 * H])
        o = _sigmoid(z[:, 3 * H:])
        c = f * c + i * g
        h = o * anp.tanh(c)
        hs.append(h)
        cs.append(c)
        gs.append(anp.concatenate([i, f, g, o], axis=1))
    return anp.stack(hs, axis=1), anp.stack(cs, axis=1), anp.stack(gs, axis=1)


NAMES = ["x", "h0", "c0", "W_ih", "W_hh", "b"]
GRAD_ORDER = ["x", "h0", "c0", "W_ih", "W_hh", "b"]  # order returned by lstm_backward


def make_lstm(seed, N, T, D, H, dtype=np.float64):
    rng = np.random.default_rng(seed)
    p = dict(
        x=rng.normal(size=(N, T, D)),
        h0=rng.normal(size=(N, H)) * 0.5,
        c0=rng.normal(size=(N, H)),
        W_ih=rng.normal(size=(4 * H, D)) / np.sqrt(D),
        W_hh=rng.normal(size=(4 * H, H)) / np.sqrt(H),
        b=rng.normal(size=4 * H) * 0.5,
    )
    up = dict(grad_h=rng.normal(size=(N, T, H)), grad_c_last=rng.normal(size=(N, H)))
    return ({k: v.astype(dtype) for k, v in p.items()},
            {k: v.astype(dtype) for k, v in up.items()})


def scalar_loss(p, up, forward=unrolled_lstm):
    h, c, _ = forward(*(p[k] for k in NAMES))
    return anp.sum(up["grad_h"] * h) + anp.sum(up["grad_c_last"] * c[:, -1])


def backward(p, up, grad_c_last=True, reference=False):
    h, c, gates = lstm_forward(*(p[k] for k in NAMES), reference=reference)
    return lstm_backward(
        up["grad_h"], p["x"], p["h0"], p["c0"], p["W_ih"], p["W_hh"], h, c, gates,
        grad_c_last=up["grad_c_last"] if grad_c_last else None, reference=reference,
    )


sizes = st.fixed_dictionaries(
    dict(
        seed=st.integers(0, 2**32 - 1),
        N=st.integers(1, 3),
        T=st.integers(1, 5),
        D=st.integers(1, 3),
        H=st.integers(1, 4),
    )
)


def pinned_memory_bias(H, rng, big=40.0):
    """Input gate shut (b_i = -big), forget gate open (b_f = +big), others random."""
    return np.concatenate([np.full(H, -big), np.full(H, big), rng.normal(size=2 * H)])


# ----------------------------------------------------------------------------
# forward
# ----------------------------------------------------------------------------


@given(sizes)
def test_forward_matches_unrolled_numpy(s):
    p, _ = make_lstm(**s)
    out = lstm_forward(*(p[k] for k in NAMES))
    ref = unrolled_lstm(*(p[k] for k in NAMES))
    for a, e, name in zip(out, ref, ["h", "c", "gates"], strict=True):
        np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-13, err_msg=name)


@pytest.mark.parametrize("reference", [True, False])
def test_single_unit_single_step_by_hand(reference):
    # N = T = D = H = 1; gate rows i, f, g, o
    x, h0, c0 = 0.8, -0.4, 0.6
    W = np.array([[0.5], [-0.3], [1.2], [0.7]])
    U = np.array([[0.1], [0.9], [-0.6], [0.4]])
    b = np.array([0.0, 0.2, -0.1, 0.3])
    z = W[:, 0] * x + U[:, 0] * h0 + b
    i, f, o = (1 / (1 + np.exp(-z[k])) for k in (0, 1, 3))
    g = np.tanh(z[2])
    c1 = f * c0 + i * g
    h, c, gates = lstm_forward([[[x]]], [[h0]], [[c0]], W, U, b, reference=reference)
    np.testing.assert_allclose(gates[0, 0], [i, f, g, o], rtol=1e-15)
    assert c[0, 0, 0] == pytest.approx(c1, rel=1e-15)
    assert h[0, 0, 0] == pytest.approx(o * np.tanh(c1), rel=1e-15)


# ----------------------------------------------------------------------------
# the memory cell
# ----------------------------------------------------------------------------


@given(sizes, st.sampled_from([np.float32, np.float64]))
def test_open_forget_gate_and_shut_input_gate_keep_the_cell(s, dtype):
    p, up = make_lstm(**s, dtype=dtype)
    H = s["H"]
    rng = np.random.default_rng(s["seed"])
    # gates i and f see no input, only their bias: pinned at 0 and 1
    for name in ("W_ih", "W_hh"):
        p[name][: 2 * H] = 0
    p["b"] = pinned_memory_bias(H, rng).astype(dtype)
    h, c, gates = lstm_forward(*(p[k] for k in NAMES))
    for t in range(s["T"]):
        np.testing.assert_allclose(c[:, t], p["c0"], rtol=1e-6, atol=1e-6)
    # atol: the fast kernels' float32 sigmoid/tanh are accurate to ~3e-7 (kernels._math.tanh_fast)
    np.testing.assert_allclose(h, gates[..., 3 * H:] * np.tanh(c), rtol=1e-6, atol=1e-6)
    # the error on the last cell flows back unchanged (the constant error carousel)
    grads = lstm_backward(np.zeros_like(h), p["x"], p["h0"], p["c0"], p["W_ih"], p["W_hh"],
                          h, c, gates, grad_c_last=up["grad_c_last"])
    np.testing.assert_allclose(grads[2], up["grad_c_last"], rtol=1e-6, atol=1e-6)


def test_memory_cell_survives_fifty_steps_while_the_rnn_forgets():
    # T = 50 with random recurrent weights on the g, o rows
    rng = np.random.default_rng(3)
    N, T, D, H = 2, 50, 2, 3
    p, _ = make_lstm(3, N, T, D, H)
    p["W_ih"][: 2 * H] = 0
    p["W_hh"][: 2 * H] = 0
    p["b"] = pinned_memory_bias(H, rng)
    _, c, _ = lstm_forward(*(p[k] for k in NAMES))
    np.testing.assert_allclose(c[:, -1], p["c0"], rtol=1e-14, atol=1e-14)
    norms = lstm_gradient_norms(*(p[k] for k in NAMES))
    np.testing.assert_allclose(norms, 1.0, rtol=1e-12)


# ----------------------------------------------------------------------------
# backward
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("reference", [True, False])
@given(sizes, st.booleans())
def test_backward_matches_autograd(reference, s, with_grad_c_last):
    p, up = make_lstm(**s)
    if not with_grad_c_last:
        up["grad_c_last"] = np.zeros_like(up["grad_c_last"])
    grads = backward(p, up, grad_c_last=with_grad_c_last, reference=reference)
    for name, g in zip(GRAD_ORDER, grads, strict=True):
        expected = autograd.grad(lambda v, name=name: scalar_loss({**p, name: v}, up))(p[name])
        assert g.shape == p[name].shape
        np.testing.assert_allclose(g, expected, rtol=1e-10, atol=1e-11, err_msg=name)


@pytest.mark.parametrize(
    "N, T, D, H", [(1, 1, 1, 1), (2, 1, 2, 2), (1, 3, 1, 2), (2, 4, 3, 2), (2, 50, 1, 2)]
)
def test_backward_matches_central_differences(N, T, D, H):
    p, up = make_lstm(5, N, T, D, H)
    grads = backward(p, up)

    def loss():
        return float(scalar_loss(p, up, forward=lstm_forward))

    for name, g in zip(GRAD_ORDER, grads, strict=True):
        assert_rel_close(g, central_difference(loss, p[name]), 1e-7)


@pytest.mark.parametrize("reference", [True, False])
def test_long_range_gradient_through_open_forget_gate(reference):
    # T = 50, loss on the last output only: with the forget gate mostly open
    # (b_f = 4) the gradient still reaches x^(1), and matches finite differences
    N, T, D, H = 2, 50, 1, 2
    p, up = make_lstm(5, N, T, D, H)
    p["b"][H:2 * H] = 4.0
    up["grad_h"][:, :-1] = 0
    up["grad_c_last"][:] = 0
    grad_x = backward(p, up, reference=reference)[0]
    assert np.abs(grad_x[:, 0]).max() > 1e-4

    def loss():
        return float(scalar_loss(
            p, up, forward=lambda *args: lstm_forward(*args, reference=reference)))

    assert_rel_close(grad_x, central_difference(loss, p["x"]), 1e-7)


# ----------------------------------------------------------------------------
# fast == reference
# ----------------------------------------------------------------------------


def run_kernels(kind, p, up, dtype):
    """``[h, c, gates, *grads]`` from the ``kind`` ("reference" or "fast") kernels."""
    N, T, H = p["x"].shape[0], p["x"].shape[1], p["h0"].shape[1]
    h, c = np.empty((N, T, H), dtype), np.empty((N, T, H), dtype)
    gates = np.empty((N, T, 4 * H), dtype)
    getattr(kernels, f"lstm_forward_{kind}")(*(p[k] for k in NAMES), h, c, gates)
    grads = [np.zeros_like(p[k]) for k in GRAD_ORDER]
    getattr(kernels, f"lstm_backward_{kind}")(
        up["grad_h"], p["x"], p["h0"], p["c0"], p["W_ih"], p["W_hh"], h, c, gates,
        up["grad_c_last"], *grads,
    )
    return [h, c, gates, *grads]


def assert_fast_equals_reference(p, up, dtype):
    fast, ref = (run_kernels(kind, p, up, dtype) for kind in ("fast", "reference"))
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-5)
    for a, b in zip(fast, ref, strict=True):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, **tol)


@given(sizes, st.sampled_from([np.float32, np.float64]))
def test_fast_kernels_equal_reference(s, dtype):
    p, up = make_lstm(**s, dtype=dtype)
    assert_fast_equals_reference(p, up, dtype)


ITEM = kernels.SEQUENCES_PER_ITEM


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("N, T", [(2 * ITEM + 3, 4), (ITEM, 3), (ITEM + 1, 1), (1, 7), (1, 1)])
def test_fast_kernels_equal_reference_over_work_items(N, T, dtype):
    # the fast kernels split the batch into work items of ITEM sequences; the
    # last item is shorter when ITEM does not divide N
    p, up = make_lstm(11, N, T, 3, 5, dtype=dtype)
    assert_fast_equals_reference(p, up, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_kernels_do_not_depend_on_the_thread_count(dtype):
    # work items follow the batch size only, and their weight-gradient shares
    # are added in item order
    p, up = make_lstm(12, 3 * ITEM + 2, 5, 3, 6, dtype=dtype)

    assert_same_on_one_and_two_threads(
        lambda: [*lstm_forward(*(p[k] for k in NAMES)), *backward(p, up)])


# ----------------------------------------------------------------------------
# dtypes, layouts, inputs untouched
# ----------------------------------------------------------------------------


def test_float32_stays_float32_and_agrees_with_float64():
    p64, up64 = make_lstm(2, 2, 4, 3, 3)
    p32 = {k: v.astype(np.float32) for k, v in p64.items()}
    up32 = {k: v.astype(np.float32) for k, v in up64.items()}
    out32 = [*lstm_forward(*(p32[k] for k in NAMES)), *backward(p32, up32)]
    out64 = [*lstm_forward(*(p64[k] for k in NAMES)), *backward(p64, up64)]
    for a, b in zip(out32, out64, strict=True):
        assert a.dtype == np.float32 and b.dtype == np.float64
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_integer_input_becomes_float64():
    p, _ = make_lstm(2, 2, 3, 2, 2)
    x_int = np.arange(12).reshape(2, 3, 2) % 3
    h, c, gates = lstm_forward(x_int, *(p[k] for k in NAMES[1:]))
    assert h.dtype == c.dtype == gates.dtype == np.float64
    h_ref, _, _ = unrolled_lstm(x_int.astype(float), *(p[k] for k in NAMES[1:]))
    np.testing.assert_allclose(h, h_ref, rtol=1e-12)


def test_non_contiguous_views_and_inputs_untouched():
    p, up = make_lstm(9, 2, 4, 3, 2)
    views = dict(p)
    big = np.zeros((2, 4, 6))
    big[..., ::2] = p["x"]
    views["x"] = big[..., ::2]
    views["W_hh"] = np.asfortranarray(p["W_hh"])
    before = {k: v.copy() for k, v in views.items()}
    up_before = {k: v.copy() for k, v in up.items()}
    h, c, gates = lstm_forward(*(views[k] for k in NAMES))
    saved = [a.copy() for a in (h, c, gates)]
    grads = lstm_backward(up["grad_h"], views["x"], views["h0"], views["c0"], views["W_ih"],
                          views["W_hh"], h, c, gates, up["grad_c_last"])
    for k in NAMES:
        np.testing.assert_array_equal(views[k], before[k])
    for k in up:
        np.testing.assert_array_equal(up[k], up_before[k])
    for a, b in zip((h, c, gates), saved, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(grads, backward(p, up), strict=True):
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, bad, pattern",
    [
        ("x", np.zeros((2, 3)), r"x must be 3-D \(N, T, D\); got 2-D"),
        ("x", np.zeros((0, 3, 4)), r"x must not be empty; got shape \(0, 3, 4\)"),
        ("h0", np.zeros((2, 0)), r"h0 must not be empty; got shape \(2, 0\)"),
        ("h0", np.zeros((1, 5)), r"h0 must have shape \(N, H\) with N = 2 from x.shape\[0\]"),
        ("c0", np.zeros((2, 4)), r"c0 must have shape \(N, H\) = \(2, 5\) .*H = 5 from h0"),
        ("W_ih", np.zeros((16, 4)),
         r"W_ih must have shape \(4H, D\) = \(20, 4\) .*got shape \(16, 4\)"),
        ("W_ih", np.zeros((20, 3)), r"W_ih must have shape \(4H, D\) = \(20, 4\) .*D = 4 from x"),
        ("W_hh", np.zeros((20, 4)),
         r"W_hh must have shape \(4H, H\) = \(20, 5\) .*got shape \(20, 4\)"),
        ("b", np.zeros((4, 5)), r"b must be 1-D \(4H,\)"),
        ("b", np.zeros(5), r"b must have shape \(4H,\) = \(20,\)"),
    ],
)
def test_forward_validation(name, bad, pattern):
    p, _ = make_lstm(0, 2, 3, 4, 5)
    p[name] = bad
    with pytest.raises(ValueError, match=pattern):
        lstm_forward(*(p[k] for k in NAMES))


@pytest.mark.parametrize(
    "name, bad, pattern",
    [
        ("grad_h", np.zeros((2, 3, 4)), r"grad_h must have shape \(N, T, H\) = \(2, 3, 5\)"),
        ("c", np.zeros((2, 2, 5)), r"c must have shape \(N, T, H\) = \(2, 3, 5\)"),
        ("h", np.zeros((2, 3)), r"h must be 3-D"),
        ("gates", np.zeros((2, 3, 15)), r"gates must have shape \(N, T, 4H\) = \(2, 3, 20\)"),
        ("grad_c_last", np.zeros((3, 5)), r"grad_c_last must have shape \(N, H\) = \(2, 5\)"),
        ("c0", np.zeros((2, 6)), r"c0 must have shape \(N, H\) = \(2, 5\)"),
    ],
)
def test_backward_validation(name, bad, pattern):
    p, up = make_lstm(0, 2, 3, 4, 5)
    h, c, gates = lstm_forward(*(p[k] for k in NAMES))
    args = dict(grad_h=up["grad_h"], x=p["x"], h0=p["h0"], c0=p["c0"], W_ih=p["W_ih"],
                W_hh=p["W_hh"], h=h, c=c, gates=gates, grad_c_last=up["grad_c_last"])
    args[name] = bad
    with pytest.raises(ValueError, match=pattern):
        lstm_backward(**args)


# ----------------------------------------------------------------------------
# gradient norms through the cell state
# ----------------------------------------------------------------------------


@given(sizes)
def test_cell_gradient_norms_match_autograd(s):
    p, _ = make_lstm(**s)
    x, h0, c0, W, U, b = (p[k] for k in NAMES)
    N, T, H = s["N"], s["T"], s["H"]
    norms = lstm_gradient_norms(x, h0, c0, W, U, b)
    h, c, _ = unrolled_lstm(x, h0, c0, W, U, b)
    hs = [h0] + [h[:, t] for t in range(T)]
    cs = [c0] + [c[:, t] for t in range(T)]
    for n in range(N):
        for lag in range(T + 1):
            start = T - lag

            def c_last_from(c_start, n=n, start=start):
                hh, cc = hs[start][n], c_start
                for t in range(start, T):
                    z = W @ x[n, t] + U @ hh + b
                    i, f = _sigmoid(z[:H]), _sigmoid(z[H:2 * H])
                    g, o = anp.tanh(z[2 * H:3 * H]), _sigmoid(z[3 * H:])
                    cc = f * cc + i * g
                    hh = o * anp.tanh(cc)
                return cc

            jac = autograd.jacobian(c_last_from)(cs[start][n])
            assert norms[n, lag] == pytest.approx(np.linalg.norm(jac, 2), rel=1e-10, abs=1e-14)
    fro = lstm_gradient_norms(x, h0, c0, W, U, b, ord="fro")
    assert fro.shape == (N, T + 1)
    np.testing.assert_allclose(fro[:, 0], np.sqrt(H))


def test_cell_gradient_norms_validation():
    p, _ = make_lstm(0, 1, 2, 1, 2)
    with pytest.raises(ValueError, match="ord must be 2 or 'fro'; got 'nuc'"):
        lstm_gradient_norms(*(p[k] for k in NAMES), ord="nuc")
    p["W_hh"] = np.zeros((8, 3))
    with pytest.raises(ValueError, match=r"W_hh must have shape \(4H, H\) = \(8, 2\)"):
        lstm_gradient_norms(*(p[k] for k in NAMES))


def test_old_keyword_names_still_work_with_a_deprecation_warning():
    # W (input) and U (recurrent) were the keywords before W_ih and W_hh
    p, up = make_lstm(0, 2, 3, 4, 5)
    h, c, gates = lstm_forward(*(p[k] for k in NAMES))
    with pytest.warns(DeprecationWarning) as record:
        old = lstm_forward(p["x"], p["h0"], p["c0"], W=p["W_ih"], U=p["W_hh"], b=p["b"])
    assert renamed_keywords(record) == [("lstm_forward", "U", "W_hh"),
                                        ("lstm_forward", "W", "W_ih")]
    for a, b in zip(old, (h, c, gates), strict=True):
        np.testing.assert_array_equal(a, b)
    new = backward(p, up)
    with pytest.warns(DeprecationWarning) as record:
        old = lstm_backward(up["grad_h"], p["x"], p["h0"], p["c0"], W=p["W_ih"], U=p["W_hh"],
                            h=h, c=c, gates=gates, grad_c_last=up["grad_c_last"])
    assert [old for _, old, _ in renamed_keywords(record)] == ["U", "W"]
    for a, b in zip(old, new, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.warns(DeprecationWarning) as record:
        norms = lstm_gradient_norms(p["x"], p["h0"], p["c0"], W=p["W_ih"], U=p["W_hh"], b=p["b"])
    assert len(renamed_keywords(record)) == 2
    np.testing.assert_array_equal(norms, lstm_gradient_norms(*(p[k] for k in NAMES)))
