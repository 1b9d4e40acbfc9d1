"""Losses: values, gradients against autograd, fused activations and label validation."""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from autograd.scipy.special import logsumexp

from numbacnn import losses as L
from numbacnn.activations import ReLU, Sigmoid, Softmax, sigmoid, softmax

RNG = np.random.default_rng(0)


# ---------------------------------------------------------------- MSE
def test_mse_averages_over_every_element():
    p = RNG.normal(size=(5, 3))
    t = RNG.normal(size=(5, 3))
    total = 0.0
    for n in range(5):
        for k in range(3):
            total += (p[n, k] - t[n, k]) ** 2
    assert L.MeanSquaredError()(p, t) == pytest.approx(total / 15, rel=1e-14)
    # lecture's CostOLS divides by the number of samples only: equal for one output
    p1, t1 = p[:, :1], t[:, 0]
    ols = np.sum((t1[:, None] - p1) ** 2) / t1.shape[0]
    assert L.MeanSquaredError()(p1, t1) == pytest.approx(ols, rel=1e-14)


def test_mse_backward_vs_autograd():
    p = RNG.normal(size=(4, 2))
    t = RNG.normal(size=(4, 2))
    expected = autograd.grad(lambda x: anp.mean((x - t) ** 2))(p)
    np.testing.assert_allclose(L.MeanSquaredError().backward(p, t), expected, rtol=1e-14)
    # finite differences of the scalar loss agree too
    h, (i, j) = 1e-6, (2, 1)
    pp, pm = p.copy(), p.copy()
    pp[i, j] += h
    pm[i, j] -= h
    num = (L.MeanSquaredError()(pp, t) - L.MeanSquaredError()(pm, t)) / (2 * h)
    assert L.MeanSquaredError().backward(p, t)[i, j] == pytest.approx(num, rel=1e-7)


def test_mse_shapes_and_dtype():
    mse = L.MeanSquaredError()
    p = np.array([[1.0], [2.0], [4.0]], dtype=np.float32)
    t = np.array([1.0, 1.0, 1.0])
    # (N,) target for (N, 1) prediction: not broadcast into (N, N)
    assert mse(p, t) == pytest.approx((0 + 1 + 9) / 3)
    g = mse.backward(p, t)
    assert g.dtype == np.float32 and g.shape == (3, 1)
    np.testing.assert_allclose(g[:, 0], 2 * (p[:, 0] - t) / 3, rtol=1e-6)
    assert mse.forward_from_logits(p, t) == mse(p, t)
    np.testing.assert_array_equal(mse.backward_from_logits(p, t), g)
    with pytest.raises(ValueError, match=r"y_true must have the shape of y_pred.*\(3, 2\)"):
        mse(p, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="NaN"):
        mse(p, np.array([1.0, np.nan, 0.0]))
    with pytest.raises(ValueError, match="y_pred must not be empty"):
        mse(np.zeros((0, 1)), np.zeros(0))


# ---------------------------------------------------------------- BCE
def _bce_oracle(p, t):
    return -anp.mean(t * anp.log(p) + (1 - t) * anp.log(1 - p))


def test_bce_forward_backward_vs_autograd():
    p = RNG.uniform(0.05, 0.95, size=(6, 2))
    t = (RNG.uniform(size=(6, 2)) > 0.5).astype(float)
    bce = L.BinaryCrossEntropy()
    assert bce(p, t) == pytest.approx(float(_bce_oracle(p, t)), rel=1e-13)
    np.testing.assert_allclose(bce.backward(p, t), autograd.grad(_bce_oracle)(p, t),
                               rtol=1e-12)


def test_bce_from_logits_vs_autograd_and_chain_rule():
    z = RNG.normal(scale=3, size=(7, 1))
    t = RNG.integers(0, 2, size=7)  # integer labels, (N,) for (N, 1)
    bce = L.BinaryCrossEntropy()
    tt = t[:, None].astype(float)

    def oracle(x):
        return _bce_oracle(1 / (1 + anp.exp(-x)), tt)

    assert bce.forward_from_logits(z, t) == pytest.approx(float(oracle(z)), rel=1e-12)
    assert bce.forward_from_logits(z, t) == pytest.approx(bce(sigmoid(z), t), rel=1e-12)
    g = bce.backward_from_logits(z, t)
    np.testing.assert_allclose(g, autograd.grad(oracle)(z), rtol=1e-10)
    np.testing.assert_allclose(g, sigmoid.backward(z, bce.backward(sigmoid(z), t)), rtol=1e-10)


def test_bce_from_logits_is_stable():
    z = np.array([[800.0], [-800.0], [800.0]])
    t = np.array([1, 0, 0])
    bce = L.BinaryCrossEntropy()
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        val = bce.forward_from_logits(z, t)
        g = bce.backward_from_logits(z, t)
    assert val == pytest.approx(800.0 / 3)  # only the wrong, confident sample costs
    np.testing.assert_allclose(g[:, 0], [0.0, 0.0, 1 / 3])
    # probabilities exactly 0/1 stay finite in the unfused form
    assert np.isfinite(bce(np.array([0.0, 1.0]), np.array([1, 0])))
    assert np.all(np.isfinite(bce.backward(np.array([0.0, 1.0]), np.array([1, 0]))))


def test_bce_targets_validated():
    bce = L.BinaryCrossEntropy()
    with pytest.raises(ValueError, match=r"y_true must lie in \[0, 1\].*max 2"):
        bce(np.full(3, 0.5), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="y_true must have the shape of z"):
        bce.forward_from_logits(np.zeros((3, 2)), np.zeros(3))


def test_bce_dtype():
    z = np.array([[0.3], [-1.2]], dtype=np.float32)
    bce = L.BinaryCrossEntropy()
    assert bce.backward_from_logits(z, [1, 0]).dtype == np.float32
    assert bce.backward(sigmoid(z), [1, 0]).dtype == np.float32
    assert isinstance(bce.forward_from_logits(z, [1, 0]), float)


# ---------------------------------------------------------------- CCE
def _log_softmax_cce(Y):
    def f(z):
        return -anp.sum(Y * (z - logsumexp(z, axis=1, keepdims=True))) / z.shape[0]
    return f


def test_cce_fused_gradient_vs_autograd_of_log_softmax():
    z = RNG.normal(scale=2, size=(8, 5))
    y = RNG.integers(0, 5, size=8)
    Y = np.eye(5)[y]
    cce = L.CategoricalCrossEntropy()
    f = _log_softmax_cce(Y)
    assert cce.forward_from_logits(z, y) == pytest.approx(float(f(z)), rel=1e-13)
    g = cce.backward_from_logits(z, y)
    np.testing.assert_allclose(g, autograd.grad(f)(z), rtol=1e-12, atol=1e-16)
    np.testing.assert_allclose(g, (softmax(z) - Y) / 8, rtol=1e-12, atol=1e-16)
    # one-hot targets give the same numbers as integer labels
    assert cce.forward_from_logits(z, Y) == cce.forward_from_logits(z, y)
    np.testing.assert_array_equal(cce.backward_from_logits(z, Y), g)


def test_cce_soft_targets_gradient_vs_autograd():
    z = RNG.normal(size=(4, 3))
    Y = RNG.uniform(size=(4, 3))  # rows that do not sum to one
    f = _log_softmax_cce(Y)
    cce = L.CategoricalCrossEntropy()
    assert cce.forward_from_logits(z, Y) == pytest.approx(float(f(z)), rel=1e-13)
    np.testing.assert_allclose(cce.backward_from_logits(z, Y), autograd.grad(f)(z), rtol=1e-12)


def test_cce_on_probabilities_and_chain_rule():
    z = RNG.normal(size=(6, 4))
    y = RNG.integers(0, 4, size=6)
    cce = L.CategoricalCrossEntropy()
    p = softmax(z)
    assert cce(p, y) == pytest.approx(-np.mean(np.log(p[np.arange(6), y])), rel=1e-13)
    assert cce(p, y) == pytest.approx(cce.forward_from_logits(z, y), rel=1e-12)
    gp = cce.backward(p, y)
    expected = autograd.grad(lambda q: -anp.sum(np.eye(4)[y] * anp.log(q)) / 6)(p)
    np.testing.assert_allclose(gp, expected, rtol=1e-13)
    np.testing.assert_allclose(softmax.backward(z, gp), cce.backward_from_logits(z, y),
                               rtol=1e-10, atol=1e-15)


def test_cce_from_logits_is_stable():
    z = np.array([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 0.0]], dtype=np.float32)
    cce = L.CategoricalCrossEntropy()
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        val = cce.forward_from_logits(z, [2, 1])
        g = cce.backward_from_logits(z, [2, 1])
    assert val == pytest.approx(2000.0 / 2)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, [[0.5, 0, -0.5], [0, 0, 0]], atol=1e-7)
    assert np.isfinite(cce(softmax(z), [2, 1]))


@pytest.mark.parametrize(
    "labels, match",
    [([0, 1, 3], r"y_true holds labels outside 0\.\.2 for 3 classes.*max 3"),
     ([-1, 0, 1], r"y_true holds labels outside 0\.\.2 for 3 classes.*min -1"),
     ([0.0, 1.5, 2.0], "whole numbers"),
     ([0, 1], "same number of samples; got 2 and 3"),
     (np.zeros((3, 4)), r"one-hot rows of shape \(N, 3\)")],
)
def test_cce_label_validation(labels, match):
    z = np.zeros((3, 3))
    cce = L.CategoricalCrossEntropy()
    for method in (cce.forward, cce.backward, cce.forward_from_logits,
                   cce.backward_from_logits):
        with pytest.raises(ValueError, match=match):
            method(z, np.asarray(labels))


def test_cce_accepts_float_and_bool_labels():
    z = RNG.normal(size=(3, 2))
    cce = L.CategoricalCrossEntropy()
    ref = cce.forward_from_logits(z, np.array([0, 1, 1]))
    assert cce.forward_from_logits(z, np.array([0.0, 1.0, 1.0])) == ref
    assert cce.forward_from_logits(z, np.array([False, True, True])) == ref
    with pytest.raises(ValueError, match=r"lie in \[0, 1\]"):
        cce.forward_from_logits(z, np.array([[2.0, -1.0]] * 3))
    with pytest.raises(ValueError, match=r"z must be 2-D \(samples N, classes K\)"):
        cce.forward_from_logits(np.zeros(3), [0, 1, 1])
    with pytest.raises(TypeError, match="y_true must hold numbers"):
        cce.forward_from_logits(z, np.array(["a", "b", "c"]))


def test_labels_to_onehot():
    np.testing.assert_array_equal(L.labels_to_onehot([2, 0], 3), [[0, 0, 1], [1, 0, 0]])
    assert L.labels_to_onehot([1], 2, dtype=np.float32).dtype == np.float32


def test_lecture_costs_and_their_averaging():
    # The lecture's three costs, written out as it defines them (1e-9 inside the logs):
    # CostOLS and CostLogReg divide by the rows N, CostCrossEntropy by target.size = N K.
    N, K = 6, 4
    z = RNG.normal(size=(N, K))
    y = RNG.integers(0, K, size=N)
    Y = np.eye(K)[y]
    p = softmax(z)
    lecture_ce = -np.sum(Y * np.log(p + 1e-9)) / Y.size
    ours = L.CategoricalCrossEntropy()(p, y)
    assert lecture_ce == pytest.approx(ours / K, rel=1e-7)
    q = sigmoid(z[:, :1])
    t = (y[:, None] % 2).astype(float)
    lecture_logreg = -np.sum(t * np.log(q + 1e-9) + (1 - t) * np.log(1 - q + 1e-9)) / N
    assert lecture_logreg == pytest.approx(L.BinaryCrossEntropy()(q, t), rel=1e-7)
    lecture_ols = np.sum((t - q) ** 2) / N
    assert lecture_ols == pytest.approx(L.MeanSquaredError()(q, t), rel=1e-14)

# ---------------------------------------------------------------- fusing, registry
def test_fused_activation_is_type_based():
    cce, bce, mse = L.CategoricalCrossEntropy(), L.BinaryCrossEntropy(), L.MeanSquaredError()
    assert cce.fused_activation is Softmax and bce.fused_activation is Sigmoid
    assert mse.fused_activation is None
    assert cce.fuses_with(Softmax(axis=-1)) and not cce.fuses_with(Sigmoid())
    assert bce.fuses_with(Sigmoid()) and not bce.fuses_with(ReLU())
    assert not mse.fuses_with(Softmax())

    class MySoftmax(Softmax):
        name = "not_softmax"  # the name does not matter, the type does

    assert cce.fuses_with(MySoftmax())


@pytest.mark.parametrize(
    "spec, cls",
    [("mse", L.MeanSquaredError), ("mean_squared_error", L.MeanSquaredError),
     ("binary_crossentropy", L.BinaryCrossEntropy), ("BCE", L.BinaryCrossEntropy),
     ("categorical_crossentropy", L.CategoricalCrossEntropy),
     ("sparse_categorical_crossentropy", L.CategoricalCrossEntropy),
     ({"name": "cce"}, L.CategoricalCrossEntropy), (L.MeanSquaredError, L.MeanSquaredError)],
)
def test_get_loss(spec, cls):
    loss = L.get_loss(spec)
    assert type(loss) is cls
    assert L.get_loss(loss.get_config()) == loss
    assert L.get_loss(loss) is loss
    with pytest.warns(DeprecationWarning, match=r"to_config\(\) is deprecated.*get_config"):
        assert loss.to_config() == loss.get_config()  # the old name, for one more release


def test_get_loss_errors():
    with pytest.raises(ValueError, match="unknown loss 'hinge'.*'mse'"):
        L.get_loss("hinge")
    with pytest.raises(ValueError, match="loss config"):
        L.get_loss({"name": "mse", "reduction": "sum"})
    with pytest.raises(TypeError, match="loss must be"):
        L.get_loss(None)


def test_a_model_checks_loss_targets_once_per_fit():
    # bce on several outputs is a regression task for the model; the loss's own
    # domain check ([0, 1]) still reaches the user, once, before training starts
    from numbacnn import Sequential
    from numbacnn.layers import Dense

    X = np.random.default_rng(0).standard_normal((6, 3))
    model = Sequential([Dense(2)], loss="bce", seed=0)
    with pytest.raises(ValueError, match=r"y must lie in \[0, 1\] for binary cross-entropy"):
        model.fit(X, np.full((6, 2), 1.5), epochs=1, verbose=0)
    onehot = Sequential([Dense(3, activation="softmax")], seed=0)
    with pytest.raises(ValueError, match=r"y given as one-hot/probability rows must lie"):
        onehot.fit(X, np.full((6, 3), -1.0), epochs=1, verbose=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unchecked_twins_equal_the_public_methods(dtype):
    from numbacnn.losses import BinaryCrossEntropy, CategoricalCrossEntropy, MeanSquaredError

    rng = np.random.default_rng(1)
    z = rng.standard_normal((5, 3)).astype(dtype)
    labels = rng.integers(0, 3, 5)
    cce = CategoricalCrossEntropy()
    rows = cce._target_rows(labels, 3, z.dtype)
    assert cce._forward_from_logits(z, rows) == cce.forward_from_logits(z, labels)
    np.testing.assert_array_equal(cce._backward_from_logits(z, rows),
                                  cce.backward_from_logits(z, labels))
    p = 1 / (1 + np.exp(-z))
    t = (rng.random((5, 3)) > 0.5).astype(dtype)
    for loss in (BinaryCrossEntropy(), MeanSquaredError()):
        assert loss._forward(p, t) == loss.forward(p, t)
        np.testing.assert_array_equal(loss._backward(p, t), loss.backward(p, t))
        assert loss._backward(p, t).dtype == dtype


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"n_classes": None}, TypeError, "n_classes must be an integer"),
        ({"n_classes": 2.5}, TypeError, "n_classes must be an integer"),
        ({"n_classes": 0}, ValueError, "n_classes must be an integer >= 1"),
        ({"n_classes": 2, "dtype": "x"}, TypeError, "dtype must be float32 or float64"),
        ({"n_classes": 2, "dtype": np.int64}, TypeError, "dtype must be float32 or float64"),
    ],
)
def test_labels_to_onehot_names_a_bad_argument(kwargs, error, message):
    with pytest.raises(error, match=message):
        L.labels_to_onehot([0, 1], **kwargs)


def test_labels_to_onehot_names_a_ragged_y_true():
    with pytest.raises(ValueError, match="y_true must be a rectangular array"):
        L.labels_to_onehot([[0], [1, 0]], 2)
