"""Optimizers: two steps against the textbook formulas, written out by hand here."""

import math

import numpy as np
import pytest

from numbacnn import optimizers as O

G1 = np.array([[0.5, -2.0], [3.0, 0.01]])
G2 = np.array([[-1.0, 0.5], [2.0, -0.2]])
W0 = np.array([[1.0, -1.0], [0.25, 2.0]])


def _two_steps(opt, dtype=np.float64):
    W = W0.astype(dtype)
    b = np.array([0.5, -0.5], dtype=dtype)
    params = {"W": W, "b": b}
    for g in (G1, G2):
        grads = {"W": g.copy(), "b": g[0].copy()}
        opt.step(params, grads)
        assert params["W"] is W and params["b"] is b  # in place, same arrays
    return W, b


def _expected(update, hyper):
    """Apply ``update`` elementwise with scalar Python floats, one entry at a time."""
    out = np.empty_like(W0)
    for idx in np.ndindex(W0.shape):
        out[idx] = update(W0[idx], G1[idx], G2[idx], **hyper)
    return out


def sgd(w, g1, g2, eta):
    w = w - eta * g1
    return w - eta * g2


def momentum(w, g1, g2, eta, mu):
    v1 = eta * g1
    w = w - v1
    v2 = mu * v1 + eta * g2
    return w - v2


def adagrad(w, g1, g2, eta, delta):
    G = g1 * g1
    w = w - eta * g1 / (delta + math.sqrt(G))
    G = G + g2 * g2
    return w - eta * g2 / (delta + math.sqrt(G))


def adagrad_momentum(w, g1, g2, eta, mu, delta):
    G = g1 * g1
    v = eta * g1 / (delta + math.sqrt(G))
    w = w - v
    G = G + g2 * g2
    v = mu * v + eta * g2 / (delta + math.sqrt(G))
    return w - v


def rmsprop(w, g1, g2, eta, rho, delta):
    s = (1 - rho) * g1 ** 2
    w = w - eta * g1 / (math.sqrt(s) + delta)
    s = rho * s + (1 - rho) * g2 ** 2
    return w - eta * g2 / (math.sqrt(s) + delta)


def adam(w, g1, g2, eta, rho, rho2, delta):
    m = (1 - rho) * g1
    s = (1 - rho2) * g1 ** 2
    w = w - eta * (m / (1 - rho)) / (math.sqrt(s / (1 - rho2)) + delta)
    m = rho * m + (1 - rho) * g2
    s = rho2 * s + (1 - rho2) * g2 ** 2
    return w - eta * (m / (1 - rho ** 2)) / (math.sqrt(s / (1 - rho2 ** 2)) + delta)


CASES = [
    (O.SGD(eta=0.1), sgd, dict(eta=0.1)),
    (O.Momentum(eta=0.1, momentum=0.7), momentum, dict(eta=0.1, mu=0.7)),
    (O.Adagrad(eta=0.2, delta=1e-3), adagrad, dict(eta=0.2, delta=1e-3)),
    (O.AdagradMomentum(eta=0.2, momentum=0.6, delta=1e-3), adagrad_momentum,
     dict(eta=0.2, mu=0.6, delta=1e-3)),
    (O.RMSprop(eta=0.05, rho=0.8, delta=1e-3), rmsprop, dict(eta=0.05, rho=0.8, delta=1e-3)),
    (O.Adam(eta=0.05, rho=0.8, rho2=0.9, delta=1e-3), adam,
     dict(eta=0.05, rho=0.8, rho2=0.9, delta=1e-3)),
]
IDS = [type(c[0]).__name__ for c in CASES]


@pytest.mark.parametrize("opt, formula, hyper", CASES, ids=IDS)
def test_two_steps_match_textbook_formula(opt, formula, hyper):
    opt.reset()
    W, b = _two_steps(opt)
    np.testing.assert_allclose(W, _expected(formula, hyper), rtol=1e-13, atol=1e-15)
    b0 = [0.5, -0.5]
    exp_b = [formula(w, g1, g2, **hyper) for w, g1, g2 in zip(b0, G1[0], G2[0], strict=True)]
    np.testing.assert_allclose(b, exp_b, rtol=1e-13)
    assert opt.state["W"]["t"] == 2 and opt.state["b"]["t"] == 2


@pytest.mark.parametrize("opt, formula, hyper", CASES, ids=IDS)
def test_float32_stays_float32(opt, formula, hyper):
    opt.reset()
    W, b = _two_steps(opt, np.float32)
    assert W.dtype == np.float32 and b.dtype == np.float32
    for buf in opt.state["W"].values():
        if isinstance(buf, np.ndarray):
            assert buf.dtype == np.float32
    np.testing.assert_allclose(W, _expected(formula, hyper), rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opt, formula, hyper", CASES, ids=IDS)
def test_any_memory_layout_is_updated_in_place(opt, formula, hyper, dtype):
    # a transposed view and a strided slice: the update reaches the viewed memory and
    # equals, bit for bit, the same steps on C-contiguous copies
    rng = np.random.default_rng(5)
    bases = [rng.standard_normal((6, 8)).astype(dtype) for _ in range(2)]
    views = {"T": bases[0].T, "strided": bases[1][::2, 1::3]}
    copies = {k: np.ascontiguousarray(v) for k, v in views.items()}
    twin = O.get_optimizer(opt.get_config())
    opt.reset()
    for _ in range(3):
        grads = {k: rng.standard_normal(v.shape).astype(dtype) for k, v in views.items()}
        opt.step(views, grads)
        twin.step(copies, {k: np.asfortranarray(g) for k, g in grads.items()})
    for k, base in zip(views, bases, strict=True):
        assert views[k].base is base
        np.testing.assert_array_equal(views[k], copies[k])


@pytest.mark.parametrize("opt, formula, hyper", CASES, ids=IDS)
def test_grads_untouched_and_reset(opt, formula, hyper):
    opt.reset()
    W = W0.copy()
    g = G1.copy()
    opt.step({"W": W}, {"W": g})
    np.testing.assert_array_equal(g, G1)
    first = W.copy()
    opt.step({"W": W}, {"W": g})
    opt.reset()
    assert opt.state == {}
    W2 = W0.copy()
    opt.step({"W": W2}, {"W": g})
    np.testing.assert_array_equal(W2, first)  # after reset: a fresh first step


def _adam_by_hand(model, X, y, epochs, steps, counter):
    """Adam written out here, stepping ``model`` on ``(X, y)`` ``steps`` times per epoch.

    ``counter="steps"``: textbook Adam, moments and step count kept for the whole run.
    ``counter="epoch"``: the lecture's scheduler, whose ``reset()`` after every epoch
    zeroes both moments and raises the counter it uses as t, so t is the epoch number.
    ``counter="restart"``: a per-epoch reset done "right": moments and step count zeroed.
    """
    rho, rho2, eta, delta = 0.9, 0.999, 0.05, 1e-8
    m, s, t = {}, {}, 0
    for epoch in range(1, epochs + 1):
        if counter != "steps":
            m, s, t = {}, {}, 0
        for _ in range(steps):
            t += 1
            tc = epoch if counter == "epoch" else t
            _, grads, _ = model.loss_and_gradients(X, y)
            for key, p in model.parameters().items():
                g = grads[key]
                m[key] = rho * m.get(key, 0.0) + (1 - rho) * g
                s[key] = rho2 * s.get(key, 0.0) + (1 - rho2) * g * g
                m_hat = m[key] / (1 - rho**tc)
                s_hat = s[key] / (1 - rho2**tc)
                p -= eta * m_hat / (np.sqrt(s_hat) + delta)
    return [w.copy() for w in model.parameters().values()]


def test_adam_is_not_reset_between_epochs():
    # Train through Sequential.fit for 3 epochs of 2 mini-batches.  Every sample is the
    # same, so every mini-batch has the same gradient whatever the shuffled order, and
    # the run can be replayed exactly by hand.  fit's weights must be textbook Adam's
    # with one continuous step count (6 steps), and far from both per-epoch resets.
    from numbacnn import Sequential
    from numbacnn.layers import Dense

    X = np.tile([[0.5, -1.0, 2.0]], (4, 1))
    y = np.tile([[1.0, -2.0]], (4, 1))

    def model():
        return Sequential([Dense(2, activation="tanh")], loss="mse",
                          optimizer=O.Adam(eta=0.05), seed=3)

    trained = model()
    trained.fit(X, y, epochs=3, batch_size=2, verbose=0)
    assert all(st["t"] == 6 for st in trained.optimizer.state.values())
    results = {}
    for counter in ("steps", "epoch", "restart"):
        replay = model()
        replay.build(X.shape[1:])
        results[counter] = _adam_by_hand(replay, X[:2], y[:2], epochs=3, steps=2,
                                         counter=counter)
    weights = trained.get_weights()
    for ours, textbook in zip(weights, results["steps"], strict=True):
        np.testing.assert_allclose(ours, textbook, rtol=1e-10, atol=1e-12)
    for variant in ("epoch", "restart"):
        gap = max(np.max(np.abs(a - b)) for a, b in zip(weights, results[variant], strict=True))
        assert gap > 1e-3, (variant, gap)


def test_lecture_epoch_counter_steps_further_for_a_constant_gradient():
    # Ten steps of a constant gradient within one epoch.  Textbook Adam: the bias
    # correction makes m_hat = g and s_hat = g^2 exactly, so each step is eta * sign(g)
    # and W ends at -10 eta sign(g) = -0.100.  The lecture's counter stays at 1 within
    # the epoch, so the correction is 1/(1 - rho) and 1/(1 - rho2) at every step: the
    # steps grow to about 2 eta and W ends at -0.175, larger steps, not smaller.
    opt = O.Adam(eta=0.01, rho=0.9, rho2=0.999)
    W = np.zeros(3)
    g = np.array([2.0, -0.5, 1e-3])
    for _ in range(10):
        opt.step({"W": W}, {"W": g})
    np.testing.assert_allclose(W, -10 * 0.01 * g / (np.abs(g) + 1e-8), rtol=1e-10)
    k = np.arange(1, 11)
    lecture_steps = 0.01 * (1 - 0.9**k) / 0.1 / np.sqrt((1 - 0.999**k) / 0.001)
    assert lecture_steps.max() > 2 * 0.01 > 0.01 > lecture_steps.min()
    assert -lecture_steps.sum() == pytest.approx(-0.175, abs=5e-4)
    assert W[0] == pytest.approx(-0.100, abs=1e-9)


def test_first_step_of_each_epoch_under_the_lecture_reset():
    # After the lecture's reset the moments are zero and the counter is the epoch e, so
    # the first step of epoch e for a constant gradient is eta * f(e) with
    # f(e) = [(1 - rho)/(1 - rho^e)] / sqrt[(1 - rho2)/(1 - rho2^e)]: it reaches its
    # limit (1 - rho)/sqrt(1 - rho2) = 3.16 only after thousands of epochs.
    rho, rho2 = 0.9, 0.999
    for e, expected in [(1, 1.0), (2, 0.74), (10, 0.48), (100, 0.98)]:
        m, s = (1 - rho) * 1.0, (1 - rho2) * 1.0      # one step after zeroing, g = 1
        step = (m / (1 - rho**e)) / math.sqrt(s / (1 - rho2**e))
        assert round(step, 2) == expected, (e, step)
    assert (1 - rho) / math.sqrt(1 - rho2) == pytest.approx(3.16, abs=5e-3)
    assert (1 - rho) / (1 - rho**5000) / math.sqrt((1 - rho2) / (1 - rho2**5000)) > 3.1


def test_step_counter_is_per_key():
    opt = O.Adam(eta=0.1)
    a, b = np.zeros(2), np.zeros(3)
    opt.step({"layer0.W": a}, {"layer0.W": np.ones(2)})
    opt.step({"layer1.W": b}, {"layer1.W": np.ones(3)})
    assert opt.state["layer0.W"]["t"] == 1 and opt.state["layer1.W"]["t"] == 1
    np.testing.assert_allclose(b, -0.1, rtol=1e-6)  # a first step, not a second


@pytest.mark.parametrize("opt", [c[0] for c in CASES], ids=IDS)
def test_descends_a_quadratic(opt):
    opt.reset()
    rng = np.random.default_rng(1)
    c = rng.normal(size=5)
    x = np.zeros(5)
    loss0 = 0.5 * np.sum((x - c) ** 2)
    for _ in range(200):
        opt.step({"x": x}, {"x": x - c})
    assert 0.5 * np.sum((x - c) ** 2) < 0.2 * loss0


@pytest.mark.parametrize("opt", [c[0] for c in CASES], ids=IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_state_dict_round_trip_continues_identically(opt, dtype):
    opt.reset()
    W, b = _two_steps(opt, dtype)
    state = opt.state_dict()
    assert set(state) == {"W", "b"}
    for entry in state.values():
        assert entry["t"] == 2 and type(entry["t"]) is int
        assert entry["dtype"] == np.dtype(dtype).name
        assert set(entry) == {"t", "shape", "dtype", *type(opt).buffers}
    assert state["W"]["shape"] == (2, 2)
    # copies: stepping on does not change the state dict, nor loading it the optimizer
    twin = type(opt)(**{k: v for k, v in opt.get_config().items() if k != "name"})
    twin.load_state_dict(state)
    W2, b2 = W.copy(), b.copy()
    for name in type(opt).buffers:
        state["W"][name] += 1.0
        assert not np.array_equal(opt.state["W"][name], state["W"][name])
        assert not np.array_equal(twin.state["W"][name], state["W"][name])
    opt.step({"W": W, "b": b}, {"W": G1.astype(dtype), "b": G1[0].astype(dtype)})
    twin.step({"W": W2, "b": b2}, {"W": G1.astype(dtype), "b": G1[0].astype(dtype)})
    np.testing.assert_array_equal(W2, W)
    np.testing.assert_array_equal(b2, b)
    assert twin.state_dict()["W"]["t"] == 3


def test_load_state_dict_validates():
    opt = O.Adam()
    opt.step({"W": np.zeros(2)}, {"W": np.ones(2)})
    good = opt.state_dict()

    def broken(**changes):
        entry = {**good["W"], **changes}
        return {"W": {k: v for k, v in entry.items() if v is not None}}

    with pytest.raises(ValueError, match=r"state\['W'\]\['m'\] must be a float64 array of shape"):
        opt.load_state_dict(broken(m=np.zeros(3)))
    with pytest.raises(ValueError, match=r"state\['W'\]\['s'\] must be a float64 array"):
        opt.load_state_dict(broken(s=np.zeros(2, dtype=np.float32)))
    with pytest.raises(ValueError, match=r"state\['W'\] has a buffer 'v', but Adam keeps"):
        opt.load_state_dict(broken(v=np.zeros(2)))
    with pytest.raises(ValueError, match=r"state\['W'\] must be a dict with 't'"):
        opt.load_state_dict(broken(t=None))
    with pytest.raises(ValueError, match=r"state\['W'\]\['t'\]"):
        opt.load_state_dict(broken(t=-1))
    with pytest.raises(ValueError, match=r"state\['W'\] has dtype int64"):
        opt.load_state_dict(broken(dtype="int64"))
    with pytest.raises(TypeError, match="state must be a dict"):
        opt.load_state_dict([good])
    np.testing.assert_array_equal(opt.state_dict()["W"]["m"], good["W"]["m"])  # untouched


def test_step_errors():
    opt = O.SGD()
    with pytest.raises(ValueError, match=r"same keys; missing in grads: \['b'\]"):
        opt.step({"W": np.zeros(2), "b": np.zeros(1)}, {"W": np.zeros(2)})
    with pytest.raises(ValueError, match=r"grads\['W'\] has shape \(3,\).*\(2,\)"):
        opt.step({"W": np.zeros(2)}, {"W": np.zeros(3)})
    with pytest.raises(TypeError, match=r"params\['W'\] must be a floating-point numpy array"):
        opt.step({"W": [0.0, 1.0]}, {"W": np.zeros(2)})
    with pytest.raises(TypeError, match="dtype int64"):
        opt.step({"W": np.zeros(2, dtype=np.int64)}, {"W": np.zeros(2)})
    frozen = np.zeros(2)
    frozen.flags.writeable = False
    for optimizer in (opt, O.Adam()):  # numpy's in-place update and Adam's loop kernel
        with pytest.raises(ValueError, match=r"params\['W'\] is read-only"):
            optimizer.step({"W": frozen}, {"W": np.ones(2)})
    adam = O.Adam()
    adam.step({"W": np.zeros(2)}, {"W": np.ones(2)})
    with pytest.raises(ValueError, match="keys must be unique across the model"):
        adam.step({"W": np.zeros((2, 2))}, {"W": np.ones((2, 2))})


@pytest.mark.parametrize(
    "factory, match",
    [(lambda: O.SGD(eta=0), r"eta must lie in \(0, inf\]; got 0"),
     (lambda: O.SGD(eta=-1e-3), r"eta must lie in \(0, inf\]"),
     (lambda: O.Adam(eta=float("nan")), "eta must be a finite real"),
     (lambda: O.Momentum(momentum=1.0), r"momentum must lie in \[0, 1\); got 1.0"),
     (lambda: O.AdagradMomentum(momentum=-0.1), r"momentum must lie in \[0, 1\)"),
     (lambda: O.RMSprop(rho=0.0), r"rho must lie in \(0, 1\); got 0.0"),
     (lambda: O.RMSprop(rho=1.0), r"rho must lie in \(0, 1\)"),
     (lambda: O.Adam(rho2=1.0), r"rho2 must lie in \(0, 1\)"),
     (lambda: O.Adam(rho="0.9"), "rho must be a finite real"),
     (lambda: O.Adagrad(delta=0), r"delta must lie in \(0, inf\]")],
)
def test_hyperparameter_validation(factory, match):
    with pytest.raises(ValueError, match=match):
        factory()


@pytest.mark.parametrize(
    "spec, cls",
    [(None, O.Adam), ("sgd", O.SGD), ("constant", O.SGD), ("momentum", O.Momentum),
     ("adagrad", O.Adagrad), ("adagrad_momentum", O.AdagradMomentum),
     ("RMSprop", O.RMSprop), ("rms_prop", O.RMSprop), ("adam", O.Adam), (O.SGD, O.SGD)],
)
def test_get_optimizer_names(spec, cls):
    assert type(O.get_optimizer(spec)) is cls


@pytest.mark.parametrize("opt", [c[0] for c in CASES], ids=IDS)
def test_config_round_trip(opt):
    cfg = opt.get_config()
    with pytest.warns(DeprecationWarning, match="to_config"):
        assert cfg == opt.to_config()  # deprecated alias, kept for one release
    back = O.get_optimizer(cfg)
    assert type(back) is type(opt) and back.get_config() == cfg and back is not opt
    assert O.get_optimizer(opt) is opt
    assert repr(back).startswith(type(opt).__name__ + "(eta=")


def test_defaults():
    assert O.SGD().get_config() == {"name": "sgd", "eta": 0.01}
    assert O.Momentum().get_config() == {"name": "momentum", "eta": 0.01, "momentum": 0.9}
    assert O.Adagrad().get_config() == {"name": "adagrad", "eta": 0.01, "delta": 1e-8}
    assert O.AdagradMomentum().momentum == 0.9
    assert O.RMSprop().get_config() == {"name": "rmsprop", "eta": 0.001, "rho": 0.9,
                                        "delta": 1e-8}
    assert O.Adam().get_config() == {"name": "adam", "eta": 0.001, "rho": 0.9,
                                     "rho2": 0.999, "delta": 1e-8}


def test_get_optimizer_errors():
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'.*'adam'"):
        O.get_optimizer("lbfgs")
    with pytest.raises(ValueError, match="'name'"):
        O.get_optimizer({"eta": 0.1})
    with pytest.raises(ValueError, match="invalid parameters for optimizer 'sgd'"):
        O.get_optimizer({"name": "sgd", "momentum": 0.5})
    with pytest.raises(TypeError, match="optimizer must be"):
        O.get_optimizer(0.1)


def test_a_ragged_gradient_is_named():
    from numbacnn.optimizers import SGD

    with pytest.raises(ValueError, match=r"grads\['W'\] must be a rectangular array"):
        SGD(eta=0.1).step({"W": np.zeros(2)}, {"W": [1.0, [2.0, 3.0]]})
