"""Simple RNN: forward pass and backpropagation through time.

Oracles: autograd on an unrolled NumPy model of the same equations (batched
matrix products, different code from the loop kernels), central finite
differences in float64, a hand-worked two-step BPTT, and the reference kernel
for the fast one.
"""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from _deprecations import renamed_keywords
from _numerics import assert_rel_close, central_difference
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import expit

from numbacnn.functional import rnn_backward, rnn_forward, rnn_gradient_norms
from numbacnn.kernels import rnn as kernels

# ----------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------


def phi(a, activation):
    """The hidden activation, in autograd's NumPy."""
    return anp.tanh(a) if activation == "tanh" else anp.maximum(a, 0.0)


def unrolled_rnn(x, h0, U, W, b, V, c, activation="tanh"):
    """The lecture's equations with batched matrix products (autograd-friendly)."""
    hs, ys = [], []
    h = h0
    for t in range(x.shape[1]):
        h = phi(x[:, t] @ U.T + h @ W.T + b, activation)
        hs.append(h)
        ys.append(h @ V.T + c)
    return anp.stack(hs, axis=1), anp.stack(ys, axis=1)


def make_rnn(seed, N, T, D, H, O, dtype=np.float64, w_scale=0.6):
    rng = np.random.default_rng(seed)
    params = dict(
        x=rng.normal(size=(N, T, D)),
        h0=rng.normal(size=(N, H)) * 0.5,
        W_ih=rng.normal(size=(H, D)) / np.sqrt(D),
        W_hh=rng.normal(size=(H, H)) * w_scale / np.sqrt(H),
        b=rng.normal(size=H) * 0.1,
        V=rng.normal(size=(O, H)),
        c=rng.normal(size=O),
    )
    upstream = dict(grad_y=rng.normal(size=(N, T, O)), grad_h_last=rng.normal(size=(N, H)))
    cast = {k: v.astype(dtype) for k, v in params.items()}
    return cast, {k: v.astype(dtype) for k, v in upstream.items()}


NAMES = ["x", "h0", "W_ih", "W_hh", "b", "V", "c"]
GRAD_ORDER = ["x", "h0", "W_ih", "W_hh", "b", "V", "c"]  # order returned by rnn_backward


def scalar_loss(p, up, forward=unrolled_rnn, activation="tanh"):
    """sum(grad_y * y) + sum(grad_h_last * h_T): its gradients are what rnn_backward returns."""
    h, y = forward(*(p[k] for k in NAMES), activation=activation)
    return anp.sum(up["grad_y"] * y) + anp.sum(up["grad_h_last"] * h[:, -1])


def backward(p, up, grad_h_last=True, activation="tanh", reference=False):
    h, _ = rnn_forward(*(p[k] for k in NAMES), activation=activation, reference=reference)
    return rnn_backward(
        up["grad_y"], p["x"], p["h0"], h, p["W_ih"], p["W_hh"], p["V"],
        grad_h_last=up["grad_h_last"] if grad_h_last else None, activation=activation,
        reference=reference,
    )


activations = st.sampled_from(["tanh", "relu"])


sizes = st.fixed_dictionaries(
    dict(
        seed=st.integers(0, 2**32 - 1),
        N=st.integers(1, 3),
        T=st.integers(1, 6),
        D=st.integers(1, 3),
        H=st.integers(1, 4),
        O=st.integers(1, 3),
    )
)


# ----------------------------------------------------------------------------
# forward
# ----------------------------------------------------------------------------


@given(sizes, activations)
def test_forward_matches_unrolled_numpy(s, activation):
    p, _ = make_rnn(**s)
    h, y = rnn_forward(*(p[k] for k in NAMES), activation=activation)
    h_ref, y_ref = unrolled_rnn(*(p[k] for k in NAMES), activation=activation)
    np.testing.assert_allclose(h, h_ref, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("reference", [True, False])
def test_forward_first_step_by_hand(reference):
    # T = 1, N = 1, D = 1, H = 1, O = 1: every product is a scalar
    x, h0, U, W, b, V, c = 0.7, -0.3, 1.5, 0.8, 0.1, 2.0, -0.5
    h, y = rnn_forward([[[x]]], [[h0]], [[U]], [[W]], [b], [[V]], [c], reference=reference)
    h1 = np.tanh(U * x + W * h0 + b)
    assert h[0, 0, 0] == pytest.approx(h1, rel=1e-15)
    assert y[0, 0, 0] == pytest.approx(V * h1 + c, rel=1e-15)
    # ReLU: a positive and a negative pre-activation
    h, _ = rnn_forward([[[x], [-x]]], [[h0]], [[U]], [[W]], [b], [[V]], [c], activation="relu",
                       reference=reference)
    r1 = max(U * x + W * h0 + b, 0.0)
    assert r1 > 0
    assert h[0, 0, 0] == pytest.approx(r1, rel=1e-15)
    assert h[0, 1, 0] == max(U * -x + W * r1 + b, 0.0) == 0.0


def test_activation_validation():
    x, h0, U, W, b, V, c = [[[0.5]]], [[0.0]], [[1.0]], [[1.0]], [0.0], [[1.0]], [0.0]
    with pytest.raises(ValueError, match="activation must be 'tanh' or 'relu'; got 'sigmoid'"):
        rnn_forward(x, h0, U, W, b, V, c, activation="sigmoid")
    h, _ = rnn_forward(x, h0, U, W, b, V, c)
    with pytest.raises(ValueError, match="activation must be 'tanh' or 'relu'; got None"):
        rnn_backward([[[1.0]]], x, h0, h, U, W, V, activation=None)
    with pytest.raises(ValueError, match="activation must be 'tanh' or 'relu'"):
        rnn_gradient_norms(x, h0, U, W, b, activation="ReLU ")


# ----------------------------------------------------------------------------
# backward: autograd, finite differences, a hand-worked example
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("reference", [True, False])
@given(sizes, st.booleans(), activations)
def test_backward_matches_autograd(reference, s, with_grad_h_last, activation):
    p, up = make_rnn(**s)
    if not with_grad_h_last:
        up["grad_h_last"] = np.zeros_like(up["grad_h_last"])
    grads = backward(p, up, grad_h_last=with_grad_h_last, activation=activation,
                     reference=reference)
    for name, g in zip(GRAD_ORDER, grads, strict=True):
        expected = autograd.grad(
            lambda v, name=name: scalar_loss({**p, name: v}, up, activation=activation)
        )(p[name])
        assert g.shape == p[name].shape
        np.testing.assert_allclose(g, expected, rtol=1e-10, atol=1e-11, err_msg=name)


@pytest.mark.parametrize("reference", [True, False])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize(
    "N, T, D, H, O",
    [(1, 1, 1, 1, 1), (2, 1, 3, 2, 1), (1, 3, 1, 2, 2), (2, 4, 2, 3, 2), (2, 50, 1, 3, 1)],
)
def test_backward_matches_central_differences(N, T, D, H, O, activation, reference):
    # w_scale 1.2 keeps the long sequence's gradient from vanishing before t = 1
    p, up = make_rnn(7, N, T, D, H, O, w_scale=1.2)
    grads = backward(p, up, activation=activation, reference=reference)
    if activation == "relu":
        # a difference step straddling ReLU's kink would measure neither side: keep every
        # pre-activation 100 steps (eps = 1e-6) away from it
        h, _ = rnn_forward(*(p[k] for k in NAMES), activation="relu")
        h_prev = np.concatenate([p["h0"][:, None], h[:, :-1]], axis=1)
        a = p["x"] @ p["W_ih"].T + h_prev @ p["W_hh"].T + p["b"]
        assert np.abs(a).min() > 1e-4
        if a.size >= 6:
            assert 0 < np.mean(a > 0) < 1  # both sides of the kink are exercised

    def forward(*args, **kwargs):
        return rnn_forward(*args, **kwargs, reference=reference)

    def loss():
        return float(scalar_loss(p, up, forward=forward, activation=activation))

    for name, g in zip(GRAD_ORDER, grads, strict=True):
        assert_rel_close(g, central_difference(loss, p[name]), 1e-7)


def test_long_sequence_gradient_reaches_first_step():
    # T = 50: the finite-difference test above must not pass trivially on zeros
    p, up = make_rnn(7, 2, 50, 1, 3, 1, w_scale=1.2)
    grad_x = backward(p, up)[0]
    assert np.abs(grad_x[:, 0]).max() > 1e-6


@pytest.mark.parametrize("reference", [True, False])
def test_two_step_bptt_by_hand(reference):
    # N = D = H = O = 1, T = 2: the lecture's recursion written out with scalars
    x1, x2, h0, U, W, b, V, c = 0.4, -1.1, 0.2, 0.9, -0.7, 0.05, 1.3, 0.2
    gy1, gy2, gh = 0.6, -0.8, 0.3
    h1 = np.tanh(U * x1 + W * h0 + b)
    h2 = np.tanh(U * x2 + W * h1 + b)
    delta2 = (V * gy2 + gh) * (1 - h2**2)        # nabla_{a^(2)}
    delta1 = (V * gy1 + W * delta2) * (1 - h1**2)  # nabla_{a^(1)} via W^T delta2
    expected = dict(
        x=[delta1 * U, delta2 * U],
        h0=W * delta1,
        W_ih=delta1 * x1 + delta2 * x2,
        W_hh=delta1 * h0 + delta2 * h1,
        b=delta1 + delta2,
        V=gy1 * h1 + gy2 * h2,
        c=gy1 + gy2,
    )
    x = np.array([[[x1], [x2]]])
    h, _ = rnn_forward(x, [[h0]], [[U]], [[W]], [b], [[V]], [c], reference=reference)
    np.testing.assert_allclose(h[0, :, 0], [h1, h2], rtol=1e-15)
    grads = rnn_backward([[[gy1], [gy2]]], x, [[h0]], h, [[U]], [[W]], [[V]], [[gh]],
                         reference=reference)
    for name, g in zip(GRAD_ORDER, grads, strict=True):
        np.testing.assert_allclose(g.ravel(), np.ravel(expected[name]), rtol=1e-14, err_msg=name)


def test_backward_returns_fresh_arrays():
    p, up = make_rnn(3, 2, 3, 2, 3, 2)
    first = backward(p, up)
    second = backward(p, up)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
        assert not np.shares_memory(a, b)


# ----------------------------------------------------------------------------
# fast kernels == reference kernels
# ----------------------------------------------------------------------------


@given(sizes, st.sampled_from([np.float32, np.float64]), st.booleans())
def test_fast_kernels_equal_reference(s, dtype, relu):
    p, up = make_rnn(**s, dtype=dtype)
    N, T, H, O = s["N"], s["T"], s["H"], s["O"]
    args = [p[k] for k in NAMES]
    outs = {}
    for kind in ("reference", "fast"):
        h, y = np.empty((N, T, H), dtype), np.empty((N, T, O), dtype)
        getattr(kernels, f"rnn_forward_{kind}")(*args, relu, h, y)
        grads = [np.zeros_like(p[k]) for k in GRAD_ORDER]
        getattr(kernels, f"rnn_backward_{kind}")(
            up["grad_y"], p["x"], p["h0"], h, p["W_ih"], p["W_hh"], p["V"], relu, up["grad_h_last"],
            *grads,
        )
        outs[kind] = [h, y, *grads]
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-5)
    for a, b in zip(outs["fast"], outs["reference"], strict=True):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_activations_accuracy(dtype):
    from numbacnn.kernels.lstm import sigmoid_fast

    a = np.concatenate([np.linspace(-30, 30, 6001), [-1e30, -1e-30, 0.0, 1e-30, 1e30]])
    a = a.astype(dtype)
    one, single = dtype(1), dtype == np.float32
    t = np.array([kernels.tanh_fast(v, one, single) for v in a])
    s = np.array([sigmoid_fast(v, one, single) for v in a])
    exact_t = np.tanh(a.astype(np.float64))
    exact_s = expit(a.astype(np.float64))
    # documented accuracy: float32 a few ulps relative (tanh), 2e-7 absolute (sigmoid);
    # float64 ~2e-16 absolute
    if single:
        np.testing.assert_allclose(t, exact_t, rtol=4e-7, atol=0)
        np.testing.assert_allclose(s, exact_s, rtol=0, atol=2e-7)
    else:
        np.testing.assert_allclose(t, exact_t, rtol=0, atol=3e-16)
        np.testing.assert_allclose(s, exact_s, rtol=0, atol=3e-16)
    assert np.isnan(kernels.tanh_fast(dtype("nan"), one, single))


# ----------------------------------------------------------------------------
# dtypes, layouts, inputs untouched
# ----------------------------------------------------------------------------


def test_float32_stays_float32_and_agrees_with_float64():
    p64, up64 = make_rnn(5, 2, 4, 3, 3, 2)
    p32 = {k: v.astype(np.float32) for k, v in p64.items()}
    up32 = {k: v.astype(np.float32) for k, v in up64.items()}
    out32 = [*rnn_forward(*(p32[k] for k in NAMES)), *backward(p32, up32)]
    out64 = [*rnn_forward(*(p64[k] for k in NAMES)), *backward(p64, up64)]
    for a, b in zip(out32, out64, strict=True):
        assert a.dtype == np.float32
        assert b.dtype == np.float64
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_integer_input_becomes_float64_and_mixed_promotes():
    p, _ = make_rnn(5, 2, 3, 2, 2, 1)
    x_int = np.arange(12).reshape(2, 3, 2) % 3
    h, y = rnn_forward(x_int, *(p[k] for k in NAMES[1:]))
    assert h.dtype == y.dtype == np.float64
    h_ref, _ = unrolled_rnn(x_int.astype(float), *(p[k] for k in NAMES[1:]))
    np.testing.assert_allclose(h, h_ref, rtol=1e-12)
    mixed = {k: v.astype(np.float32) for k, v in p.items()}
    mixed["b"] = p["b"]  # one float64 argument makes the computation float64
    assert rnn_forward(*(mixed[k] for k in NAMES))[0].dtype == np.float64


def test_non_contiguous_views_and_inputs_untouched():
    p, up = make_rnn(11, 2, 4, 3, 3, 2)
    # the same values as strided / transposed views
    views = dict(p)
    big = np.zeros((2, 8, 3))
    big[:, ::2] = p["x"]
    views["x"] = big[:, ::2]
    views["W_hh"] = np.asfortranarray(p["W_hh"])
    views["W_ih"] = p["W_ih"].T.copy().T
    assert not views["x"].flags.c_contiguous and not views["W_hh"].flags.c_contiguous
    before = {k: v.copy() for k, v in views.items()}
    up_before = {k: v.copy() for k, v in up.items()}
    h, y = rnn_forward(*(views[k] for k in NAMES))
    h_before = h.copy()
    grads = rnn_backward(
        up["grad_y"], views["x"], views["h0"], h, views["W_ih"], views["W_hh"], views["V"],
        up["grad_h_last"],
    )
    for k in NAMES:
        np.testing.assert_array_equal(views[k], before[k])
    for k in up:
        np.testing.assert_array_equal(up[k], up_before[k])
    np.testing.assert_array_equal(h, h_before)
    ref_h, ref_y = rnn_forward(*(p[k] for k in NAMES))
    np.testing.assert_array_equal(h, ref_h)
    np.testing.assert_array_equal(y, ref_y)
    for a, b in zip(grads, backward(p, up), strict=True):
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------


def _good():
    p, up = make_rnn(0, 2, 3, 4, 5, 6)
    return p, up


@pytest.mark.parametrize(
    "name, bad, pattern",
    [
        ("x", np.zeros((2, 3)), r"x must be 3-D \(N, T, D\); got 2-D array of shape \(2, 3\)"),
        ("x", np.zeros((2, 0, 4)), r"x must not be empty; got shape \(2, 0, 4\)"),
        ("h0", np.zeros((3, 5)), r"h0 must have shape \(N, H\) with N = 2 from x.shape\[0\]"),
        ("h0", np.zeros((2, 0)), r"h0 must not be empty"),
        ("h0", np.zeros(5), r"h0 must be 2-D"),
        ("W_ih", np.zeros((5, 3)),
         r"W_ih must have shape \(H, D\) = \(5, 4\) .*D = 4 from x.*\(5, 3\)"),
        ("W_hh", np.zeros((5, 4)),
         r"W_hh must have shape \(H, H\) = \(5, 5\) \(H = 5 from h0.*\(5, 4\)"),
        ("b", np.zeros(4), r"b must have shape \(H,\) = \(5,\) .*got shape \(4,\)"),
        ("V", np.zeros((6, 4)), r"V must have shape \(O, H\) = \(6, 5\) .*got shape \(6, 4\)"),
        ("V", np.zeros((0, 5)), r"V must not be empty"),
        ("c", np.zeros(5), r"c must have shape \(O,\) = \(6,\) \(O = 6 from V.shape\[0\]\)"),
    ],
)
def test_forward_validation(name, bad, pattern):
    p, _ = _good()
    p[name] = bad
    with pytest.raises(ValueError, match=pattern):
        rnn_forward(*(p[k] for k in NAMES))


@pytest.mark.parametrize(
    "name, bad, pattern",
    [
        ("grad_y", np.zeros((2, 3, 5)), r"grad_y must have shape \(N, T, O\) = \(2, 3, 6\)"),
        ("h", np.zeros((2, 4, 5)), r"h must have shape \(N, T, H\) = \(2, 3, 5\)"),
        ("grad_h_last", np.zeros((2, 4)), r"grad_h_last must have shape \(N, H\) = \(2, 5\)"),
        ("W_hh", np.zeros((4, 4)), r"W_hh must have shape \(H, H\) = \(5, 5\)"),
        ("x", np.zeros((2, 3, 4, 1)), r"x must be 3-D"),
    ],
)
def test_backward_validation(name, bad, pattern):
    p, up = _good()
    h, _ = rnn_forward(*(p[k] for k in NAMES))
    args = dict(grad_y=up["grad_y"], x=p["x"], h0=p["h0"], h=h, W_ih=p["W_ih"], W_hh=p["W_hh"],
                V=p["V"], grad_h_last=up["grad_h_last"])
    args[name] = bad
    with pytest.raises(ValueError, match=pattern):
        rnn_backward(**args)


@pytest.mark.parametrize("name", ["b", "c"])
@pytest.mark.parametrize("scalar", [0.5, np.float64(0.5), np.array(0.5)])
def test_zero_d_bias_is_not_a_length_one_vector(name, scalar):
    # H = O = 1: a 0-d bias would broadcast silently; it is refused, naming the argument
    p, _ = make_rnn(0, 2, 3, 4, 1, 1)
    p[name] = scalar
    with pytest.raises(ValueError, match=rf"{name} must be 1-D .*got 0-D array of shape \(\)"):
        rnn_forward(*(p[k] for k in NAMES))
    p[name] = [0.5]  # the length-1 vector is fine
    rnn_forward(*(p[k] for k in NAMES))


@pytest.mark.parametrize("name", ["x", "W_hh", "b"])
def test_ragged_list_names_the_argument(name):
    p, _ = _good()
    p[name] = [[1.0, 2.0], [3.0]] if name != "x" else [[[1.0], [2.0, 3.0]]]
    with pytest.raises(ValueError, match=rf"^{name} must be a rectangular array"):
        rnn_forward(*(p[k] for k in NAMES))


def test_complex_input_is_a_type_error():
    p, _ = _good()
    p["x"] = p["x"] + 0j
    with pytest.raises(TypeError, match="x must be a real numeric array"):
        rnn_forward(*(p[k] for k in NAMES))


# ----------------------------------------------------------------------------
# vanishing / exploding gradients
# ----------------------------------------------------------------------------


def _orthogonal(H, seed):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(H, H)))
    return q


@pytest.mark.parametrize("rho", [0.5, 1.0, 1.5])
def test_gradient_norms_follow_spectral_radius_in_linear_regime(rho):
    # zero input, bias and h0 keep h = 0, where tanh' = 1: dh_T/dh_{T-s} = W^s exactly
    H, T = 4, 12
    W = rho * _orthogonal(H, 1)
    norms = rnn_gradient_norms(np.zeros((1, T, 2)), np.zeros((1, H)), np.ones((H, 2)), W,
                               np.zeros(H))
    np.testing.assert_allclose(norms[0], rho ** np.arange(T + 1), rtol=1e-12)
    fro = rnn_gradient_norms(np.zeros((1, T, 2)), np.zeros((1, H)), np.ones((H, 2)), W,
                             np.zeros(H), ord="fro")
    np.testing.assert_allclose(fro[0], np.sqrt(H) * rho ** np.arange(T + 1), rtol=1e-12)


@given(sizes, activations)
def test_gradient_norms_match_autograd_jacobians(s, activation):
    p, _ = make_rnn(**s, w_scale=1.0)
    x, h0, U, W, b = (p[k] for k in ["x", "h0", "W_ih", "W_hh", "b"])
    T = x.shape[1]
    norms = rnn_gradient_norms(x, h0, U, W, b, activation=activation)
    h, _ = unrolled_rnn(x, h0, U, W, b, p["V"], p["c"], activation=activation)
    states = [h0] + [h[:, t] for t in range(T)]  # states[t] = h^(t)
    for n in range(x.shape[0]):
        for lag in range(T + 1):
            start = T - lag

            def run_from(h_start, n=n, start=start):
                hh = h_start
                for t in range(start, T):  # steps start+1 .. T use x[:, t]
                    hh = phi(U @ x[n, t] + W @ hh + b, activation)
                return hh

            jac = autograd.jacobian(run_from)(states[start][n])
            assert norms[n, lag] == pytest.approx(np.linalg.norm(jac, 2), rel=1e-10, abs=1e-14)


def test_gradient_norms_validation_and_dtype():
    with pytest.raises(ValueError, match="ord must be 2 or 'fro'; got 1"):
        rnn_gradient_norms(np.zeros((1, 2, 1)), np.zeros((1, 2)), np.zeros((2, 1)),
                           np.eye(2), np.zeros(2), ord=1)
    with pytest.raises(ValueError, match=r"W_hh must have shape \(H, H\) = \(2, 2\)"):
        rnn_gradient_norms(np.zeros((1, 2, 1)), np.zeros((1, 2)), np.zeros((2, 1)),
                           np.eye(3), np.zeros(2))
    norms = rnn_gradient_norms(np.zeros((1, 2, 1), np.float32), np.zeros((1, 2), np.float32),
                               np.zeros((2, 1), np.float32), 0.5 * np.eye(2, dtype=np.float32),
                               np.zeros(2, np.float32))
    assert norms.dtype == np.float32
    np.testing.assert_allclose(norms[0], [1, 0.5, 0.25], rtol=1e-6)


def test_old_keyword_names_still_work_with_a_deprecation_warning():
    # U and W were the keywords before W_ih and W_hh; same numbers, one warning each
    p, up = _good()
    h, y = rnn_forward(*(p[k] for k in NAMES))
    with pytest.warns(DeprecationWarning) as record:
        h_old, y_old = rnn_forward(p["x"], p["h0"], U=p["W_ih"], W=p["W_hh"], b=p["b"],
                                   V=p["V"], c=p["c"])
    assert renamed_keywords(record) == [("rnn_forward", "U", "W_ih"), ("rnn_forward", "W", "W_hh")]
    np.testing.assert_array_equal(h_old, h)
    np.testing.assert_array_equal(y_old, y)
    new = rnn_backward(up["grad_y"], p["x"], p["h0"], h, p["W_ih"], p["W_hh"], p["V"])
    with pytest.warns(DeprecationWarning) as record:
        old = rnn_backward(up["grad_y"], p["x"], p["h0"], h, U=p["W_ih"], W=p["W_hh"], V=p["V"])
    assert [old for _, old, _ in renamed_keywords(record)] == ["U", "W"]
    for a, b in zip(old, new, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.warns(DeprecationWarning) as record:
        norms = rnn_gradient_norms(p["x"], p["h0"], U=p["W_ih"], W=p["W_hh"], b=p["b"])
    assert len(renamed_keywords(record)) == 2
    np.testing.assert_array_equal(
        norms, rnn_gradient_norms(p["x"], p["h0"], p["W_ih"], p["W_hh"], p["b"]))
    with pytest.raises(TypeError, match="both 'U'.*'W_ih'"):
        rnn_forward(p["x"], p["h0"], U=p["W_ih"], W_ih=p["W_ih"], W_hh=p["W_hh"], b=p["b"],
                    V=p["V"], c=p["c"])
