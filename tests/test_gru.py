"""GRU: forward pass and backpropagation through time (torch.nn.GRU's equations).

Oracles: autograd on an unrolled NumPy model (batched products, sigmoid
written through tanh), central finite differences in float64, the reference
kernel for the fast one, and the update gate's copy property.
"""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from _deprecations import renamed_keywords
from _numerics import assert_rel_close, central_difference
from hypothesis import given
from hypothesis import strategies as st

from numbacnn.functional import gru_backward, gru_forward
from numbacnn.kernels import gru as kernels

# ----------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------


def _sigmoid(a):
    return 0.5 * (anp.tanh(0.5 * a) + 1.0)


def unrolled_gru(x, h0, W, U, b_w, b_u):
    """torch.nn.GRU's equations with batched matrix products (autograd-friendly)."""
    H = h0.shape[1]
    h = h0
    hs, gs = [], []
    for t in range(x.shape[1]):
        ax = x[:, t] @ W.T + b_w
        ah = h @ U.T + b_u
        r = _sigmoid(ax[:, :H] + ah[:, :H])
        z = _sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])
        n = anp.tanh(ax[:, 2 * H:] + r * ah[:, 2 * H:])
        h = (1 - z) * n + z * h
        hs.append(h)
        gs.append(anp.concatenate([r, z, n], axis=1))
    return anp.stack(hs, axis=1), anp.stack(gs, axis=1)


NAMES = ["x", "h0", "W_ih", "W_hh", "b_ih", "b_hh"]
GRAD_ORDER = ["x", "h0", "W_ih", "W_hh", "b_ih", "b_hh"]  # order returned by gru_backward


def make_gru(seed, N, T, D, H, dtype=np.float64):
    rng = np.random.default_rng(seed)
    p = dict(
        x=rng.normal(size=(N, T, D)),
        h0=rng.normal(size=(N, H)) * 0.5,
        W_ih=rng.normal(size=(3 * H, D)) / np.sqrt(D),
        W_hh=rng.normal(size=(3 * H, H)) / np.sqrt(H),
        b_ih=rng.normal(size=3 * H) * 0.5,
        b_hh=rng.normal(size=3 * H) * 0.5,
    )
    up = dict(grad_h=rng.normal(size=(N, T, H)))
    return ({k: v.astype(dtype) for k, v in p.items()},
            {k: v.astype(dtype) for k, v in up.items()})


def scalar_loss(p, up, forward=unrolled_gru):
    h, _ = forward(*(p[k] for k in NAMES))
    return anp.sum(up["grad_h"] * h)


def backward(p, up, reference=False):
    h, gates = gru_forward(*(p[k] for k in NAMES), reference=reference)
    return gru_backward(up["grad_h"], *(p[k] for k in NAMES), h, gates, reference=reference)


sizes = st.fixed_dictionaries(
    dict(
        seed=st.integers(0, 2**32 - 1),
        N=st.integers(1, 3),
        T=st.integers(1, 5),
        D=st.integers(1, 3),
        H=st.integers(1, 4),
    )
)


# ----------------------------------------------------------------------------
# forward
# ----------------------------------------------------------------------------


@given(sizes)
def test_forward_matches_unrolled_numpy(s):
    p, _ = make_gru(**s)
    h, gates = gru_forward(*(p[k] for k in NAMES))
    h_ref, gates_ref = unrolled_gru(*(p[k] for k in NAMES))
    np.testing.assert_allclose(h, h_ref, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(gates, gates_ref, rtol=1e-12, atol=1e-13)


def test_single_unit_single_step_by_hand():
    # the reset gate multiplies U_n h + b_u,n, bias included (torch's convention)
    x, h0 = 0.5, -0.7
    W = np.array([[0.3], [-0.8], [1.1]])
    U = np.array([[0.6], [0.2], [-0.9]])
    b_w = np.array([0.1, -0.2, 0.05])
    b_u = np.array([-0.3, 0.4, 0.25])
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    r = sig(W[0, 0] * x + b_w[0] + U[0, 0] * h0 + b_u[0])
    z = sig(W[1, 0] * x + b_w[1] + U[1, 0] * h0 + b_u[1])
    n = np.tanh(W[2, 0] * x + b_w[2] + r * (U[2, 0] * h0 + b_u[2]))
    h, gates = gru_forward([[[x]]], [[h0]], W, U, b_w, b_u)
    np.testing.assert_allclose(gates[0, 0], [r, z, n], rtol=1e-15)
    assert h[0, 0, 0] == pytest.approx((1 - z) * n + z * h0, rel=1e-15)


@given(sizes, st.sampled_from([np.float32, np.float64]))
def test_closed_update_gate_copies_the_state(s, dtype):
    # z pinned at 1: h^(t) = h^(t-1) for every t, and every grad_h flows straight to h0
    p, up = make_gru(**s, dtype=dtype)
    H = s["H"]
    p["W_ih"][H:2 * H] = 0
    p["W_hh"][H:2 * H] = 0
    p["b_ih"][H:2 * H] = 40.0
    h, gates = gru_forward(*(p[k] for k in NAMES))
    np.testing.assert_allclose(h, np.broadcast_to(p["h0"][:, None], h.shape), rtol=1e-6,
                               atol=1e-6)
    grads = gru_backward(up["grad_h"], *(p[k] for k in NAMES), h, gates)
    np.testing.assert_allclose(grads[1], up["grad_h"].sum(axis=1), rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------
# backward
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("reference", [True, False])
@given(sizes)
def test_backward_matches_autograd(reference, s):
    p, up = make_gru(**s)
    grads = backward(p, up, reference=reference)
    for name, g in zip(GRAD_ORDER, grads, strict=True):
        expected = autograd.grad(lambda v, name=name: scalar_loss({**p, name: v}, up))(p[name])
        assert g.shape == p[name].shape
        np.testing.assert_allclose(g, expected, rtol=1e-10, atol=1e-11, err_msg=name)


@pytest.mark.parametrize(
    "N, T, D, H", [(1, 1, 1, 1), (2, 1, 2, 2), (1, 3, 1, 2), (2, 4, 3, 2), (2, 50, 1, 2)]
)
def test_backward_matches_central_differences(N, T, D, H):
    p, up = make_gru(4, N, T, D, H)
    grads = backward(p, up)

    def loss():
        return float(scalar_loss(p, up, forward=gru_forward))

    for name, g in zip(GRAD_ORDER, grads, strict=True):
        assert_rel_close(g, central_difference(loss, p[name]), 1e-7)


def test_long_range_gradient_matches_central_differences():
    # T = 50, loss on the last output only; a mostly-closed update gate (b_z = 3)
    # lets the gradient reach x^(1)
    N, T, D, H = 2, 50, 1, 2
    p, up = make_gru(4, N, T, D, H)
    p["b_ih"][H:2 * H] = 3.0
    up["grad_h"][:, :-1] = 0
    grad_x = backward(p, up)[0]
    assert np.abs(grad_x[:, 0]).max() > 1e-4

    def loss():
        return float(scalar_loss(p, up, forward=gru_forward))

    assert_rel_close(grad_x, central_difference(loss, p["x"]), 1e-7)


# ----------------------------------------------------------------------------
# fast == reference
# ----------------------------------------------------------------------------


@given(sizes, st.sampled_from([np.float32, np.float64]))
def test_fast_kernels_equal_reference(s, dtype):
    p, up = make_gru(**s, dtype=dtype)
    N, T, H = s["N"], s["T"], s["H"]
    outs = {}
    for kind in ("reference", "fast"):
        h, gates = np.empty((N, T, H), dtype), np.empty((N, T, 3 * H), dtype)
        getattr(kernels, f"gru_forward_{kind}")(*(p[k] for k in NAMES), h, gates)
        grads = [np.zeros_like(p[k]) for k in GRAD_ORDER]
        getattr(kernels, f"gru_backward_{kind}")(
            up["grad_h"], *(p[k] for k in NAMES), h, gates, *grads
        )
        outs[kind] = [h, gates, *grads]
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-5)
    for a, b in zip(outs["fast"], outs["reference"], strict=True):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, **tol)


# ----------------------------------------------------------------------------
# dtypes, layouts, inputs untouched
# ----------------------------------------------------------------------------


def test_float32_stays_float32_and_agrees_with_float64():
    p64, up64 = make_gru(2, 2, 4, 3, 3)
    p32 = {k: v.astype(np.float32) for k, v in p64.items()}
    up32 = {k: v.astype(np.float32) for k, v in up64.items()}
    out32 = [*gru_forward(*(p32[k] for k in NAMES)), *backward(p32, up32)]
    out64 = [*gru_forward(*(p64[k] for k in NAMES)), *backward(p64, up64)]
    for a, b in zip(out32, out64, strict=True):
        assert a.dtype == np.float32 and b.dtype == np.float64
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_integer_input_becomes_float64():
    p, _ = make_gru(2, 2, 3, 2, 2)
    x_int = np.arange(12).reshape(2, 3, 2) % 3
    h, gates = gru_forward(x_int, *(p[k] for k in NAMES[1:]))
    assert h.dtype == gates.dtype == np.float64
    h_ref, _ = unrolled_gru(x_int.astype(float), *(p[k] for k in NAMES[1:]))
    np.testing.assert_allclose(h, h_ref, rtol=1e-12)


def test_non_contiguous_views_and_inputs_untouched():
    p, up = make_gru(9, 2, 4, 3, 2)
    views = dict(p)
    views["x"] = np.asfortranarray(p["x"])
    big = np.zeros(12)
    big[::2] = p["b_hh"]
    views["b_hh"] = big[::2]
    views["W_hh"] = np.asfortranarray(p["W_hh"])
    before = {k: v.copy() for k, v in views.items()}
    up_before = up["grad_h"].copy()
    h, gates = gru_forward(*(views[k] for k in NAMES))
    saved = [h.copy(), gates.copy()]
    grads = gru_backward(up["grad_h"], *(views[k] for k in NAMES), h, gates)
    for k in NAMES:
        np.testing.assert_array_equal(views[k], before[k])
    np.testing.assert_array_equal(up["grad_h"], up_before)
    np.testing.assert_array_equal(h, saved[0])
    np.testing.assert_array_equal(gates, saved[1])
    for a, b in zip(grads, backward(p, up), strict=True):
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, bad, pattern",
    [
        ("x", np.zeros(4), r"x must be 3-D \(N, T, D\); got 1-D"),
        ("x", np.zeros((2, 3, 0)), r"x must not be empty; got shape \(2, 3, 0\)"),
        ("h0", np.zeros((2, 5, 1)), r"h0 must be 2-D \(N, H\)"),
        ("h0", np.zeros((4, 5)), r"h0 must have shape \(N, H\) with N = 2 from x.shape\[0\]"),
        ("W_ih", np.zeros((15, 5)), r"W_ih must have shape \(3H, D\) = \(15, 4\) .*D = 4 from x"),
        ("W_ih", np.zeros((12, 4)), r"W_ih must have shape \(3H, D\) = \(15, 4\) .*H = 5 from h0"),
        ("W_hh", np.zeros((15, 6)),
         r"W_hh must have shape \(3H, H\) = \(15, 5\) .*got shape \(15, 6\)"),
        ("b_ih", np.zeros(10), r"b_ih must have shape \(3H,\) = \(15,\)"),
        ("b_hh", np.zeros(16), r"b_hh must have shape \(3H,\) = \(15,\) .*got shape \(16,\)"),
    ],
)
def test_forward_validation(name, bad, pattern):
    p, _ = make_gru(0, 2, 3, 4, 5)
    p[name] = bad
    with pytest.raises(ValueError, match=pattern):
        gru_forward(*(p[k] for k in NAMES))


@pytest.mark.parametrize(
    "name, bad, pattern",
    [
        ("grad_h", np.zeros((2, 3, 4)), r"grad_h must have shape \(N, T, H\) = \(2, 3, 5\)"),
        ("h", np.zeros((2, 2, 5)), r"h must have shape \(N, T, H\) = \(2, 3, 5\)"),
        ("gates", np.zeros((2, 3, 20)), r"gates must have shape \(N, T, 3H\) = \(2, 3, 15\)"),
        ("W_hh", np.zeros((15, 4)), r"W_hh must have shape \(3H, H\) = \(15, 5\)"),
    ],
)
def test_backward_validation(name, bad, pattern):
    p, up = make_gru(0, 2, 3, 4, 5)
    h, gates = gru_forward(*(p[k] for k in NAMES))
    args = dict(grad_h=up["grad_h"], **p, h=h, gates=gates)
    args[name] = bad
    with pytest.raises(ValueError, match=pattern):
        gru_backward(**args)


def test_old_keyword_names_still_work_with_a_deprecation_warning():
    # W, U, b_w, b_u were the keywords before W_ih, W_hh, b_ih, b_hh
    p, up = make_gru(0, 2, 3, 4, 5)
    h, gates = gru_forward(*(p[k] for k in NAMES))
    old_kw = dict(W=p["W_ih"], U=p["W_hh"], b_w=p["b_ih"], b_u=p["b_hh"])
    with pytest.warns(DeprecationWarning) as record:
        h_old, gates_old = gru_forward(p["x"], p["h0"], **old_kw)
    assert renamed_keywords(record) == [("gru_forward", "U", "W_hh"), ("gru_forward", "W", "W_ih"),
                                        ("gru_forward", "b_u", "b_hh"),
                                        ("gru_forward", "b_w", "b_ih")]
    np.testing.assert_array_equal(h_old, h)
    np.testing.assert_array_equal(gates_old, gates)
    with pytest.warns(DeprecationWarning) as record:
        old = gru_backward(up["grad_h"], p["x"], p["h0"], **old_kw, h=h, gates=gates)
    assert len(renamed_keywords(record)) == 4
    for a, b in zip(old, backward(p, up), strict=True):
        np.testing.assert_array_equal(a, b)
