"""Activations: forward values, backward against autograd and finite differences."""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from autograd.scipy.special import logsumexp

from numbacnn import activations as A

# Independent formulations written with autograd.numpy (the oracle).
ORACLES = {
    "identity": lambda z: z,
    "sigmoid": lambda z: 0.5 * (1 + anp.tanh(0.5 * z)),  # a different identity for sigma
    "tanh": lambda z: (anp.exp(z) - anp.exp(-z)) / (anp.exp(z) + anp.exp(-z)),
    "relu": lambda z: anp.where(z > 0, z, 0.0),
    "leaky_relu": lambda z: anp.where(z > 0, z, 0.01 * z),
}

ELEMENTWISE = [A.identity, A.sigmoid, A.tanh, A.relu, A.leaky_relu]


def _z(shape=(4, 5), seed=0):
    z = np.random.default_rng(seed).normal(scale=2.0, size=shape)
    # keep away from ReLU's kink so finite differences are well defined
    z[np.abs(z) < 1e-3] = 0.5
    return z


@pytest.mark.parametrize("act", ELEMENTWISE, ids=lambda a: a.name)
def test_forward_matches_oracle(act):
    z = _z()
    np.testing.assert_allclose(act(z), ORACLES[act.name](z), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(act.forward(z), act(z))


@pytest.mark.parametrize("act", ELEMENTWISE, ids=lambda a: a.name)
def test_derivative_is_at_pre_activation(act):
    z = _z()
    expected = autograd.elementwise_grad(ORACLES[act.name])(z)
    np.testing.assert_allclose(act.derivative(z), expected, rtol=1e-12, atol=1e-15)
    g = np.random.default_rng(1).normal(size=z.shape)
    np.testing.assert_allclose(act.backward(z, g), g * expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("act", [*ELEMENTWISE, A.softmax, A.Softmax(axis=0)],
                         ids=lambda a: repr(a))
def test_backward_matches_finite_differences(act):
    z = _z((3, 4), seed=2)
    g = np.random.default_rng(3).normal(size=z.shape)
    h = 1e-6
    num = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += h
        zm[idx] -= h
        num[idx] = np.sum(g * (act(zp) - act(zm))) / (2 * h)
    ana = act.backward(z, g)
    rel = np.max(np.abs(ana - num)) / np.max(np.abs(num))
    assert rel < 1e-7


def test_lecture_bug_derivative_of_output_differs():
    # The lecture evaluated sigma' at a = sigma(z); ours is at z.  They differ.
    z = np.array([2.0, -1.0])
    assert not np.allclose(A.sigmoid.derivative(z), A.sigmoid.derivative(A.sigmoid(z)))
    s = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(A.sigmoid.derivative(z), s * (1 - s), rtol=1e-14)



def test_derivatives_through_the_output():
    # sigma' = a (1 - a), tanh' = 1 - a^2 and ReLU' = [a > 0] with a = f(z): the form the
    # recurrent kernels use, since they keep the outputs h and not the pre-activations
    z = _z(seed=7)
    for act, through_output in [(A.sigmoid, lambda a: a * (1 - a)),
                                (A.tanh, lambda a: 1 - a * a),
                                (A.relu, lambda a: (a > 0).astype(float))]:
        np.testing.assert_allclose(act.derivative(z), through_output(act(z)), rtol=1e-12,
                                   atol=1e-15, err_msg=act.name)
    # the sigmoid's derivative written as e^-z / (1 + e^-z)^2, before simplifying
    np.testing.assert_allclose(A.sigmoid.derivative(z), np.exp(-z) / (1 + np.exp(-z)) ** 2,
                               rtol=1e-12)

@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_forward_and_backward_vs_autograd(axis):
    z = _z((3, 4), seed=4)
    sm = A.Softmax(axis=axis)

    def oracle(x):
        return anp.exp(x - logsumexp(x, axis=axis, keepdims=True))

    s = sm(z)
    np.testing.assert_allclose(s, oracle(z), rtol=1e-12)
    np.testing.assert_allclose(s.sum(axis=axis), 1.0, rtol=1e-12)
    g = np.random.default_rng(5).normal(size=z.shape)
    expected = autograd.grad(lambda x: anp.sum(g * oracle(x)))(z)
    np.testing.assert_allclose(sm.backward(z, g), expected, rtol=1e-10, atol=1e-14)


def test_softmax_jacobian_vs_autograd():
    z = _z((2, 3), seed=6)
    J = A.softmax.jacobian(z)
    assert J.shape == (2, 3, 3)
    for n in range(2):
        expected = autograd.jacobian(
            lambda x: anp.exp(x - logsumexp(x)))(z[n])
        np.testing.assert_allclose(J[n], expected, rtol=1e-10, atol=1e-14)
    with pytest.raises(TypeError, match="not elementwise"):
        A.softmax.derivative(z)
    with pytest.raises(ValueError, match="axis=-1"):
        A.Softmax(axis=0).jacobian(z)


def test_stable_for_extreme_inputs():
    z = np.array([[-1000.0, 0.0, 1000.0], [710.0, 710.0, -710.0]])
    # underflow to 0 is the right answer; overflow, 0/0 or inf/inf would not be
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s = A.sigmoid(z)
        sm = A.softmax(z)
        d = A.sigmoid.derivative(z)
    np.testing.assert_array_equal(s[0], [0.0, 0.5, 1.0])
    np.testing.assert_allclose(sm[0], [0.0, 0.0, 1.0])
    np.testing.assert_allclose(sm[1], [0.5, 0.5, 0.0])
    assert np.all(np.isfinite(d))
    # small-magnitude exactness of the negative branch
    np.testing.assert_allclose(A.sigmoid(np.array([-30.0])), [np.exp(-30) / (1 + np.exp(-30))],
                               rtol=1e-14)


@pytest.mark.parametrize("act", [*ELEMENTWISE, A.softmax, A.LeakyReLU(0.2)], ids=repr)
def test_dtype_is_preserved(act):
    z32 = _z((2, 5)).astype(np.float32)
    g32 = np.ones_like(z32)
    assert act(z32).dtype == np.float32
    assert act.backward(z32, g32).dtype == np.float32
    if act.elementwise:
        assert act.derivative(z32).dtype == np.float32
    # float32 results agree with float64 ones to float32 precision
    np.testing.assert_allclose(act(z32), act(z32.astype(np.float64)), rtol=1e-6, atol=1e-7)
    # integer input computes in float64
    assert act(np.array([[1, -2, 3]])).dtype == np.float64


def test_inputs_are_not_modified_and_views_work():
    z = _z((4, 6))
    zt = z.T  # non-contiguous
    g = np.ones_like(zt)
    z_before, g_before = zt.copy(), g.copy()
    for act in [*ELEMENTWISE, A.softmax]:
        a = act(zt)
        act.backward(zt, g)
        np.testing.assert_array_equal(zt, z_before)
        np.testing.assert_array_equal(g, g_before)
        np.testing.assert_allclose(a, act(np.ascontiguousarray(zt)))
    assert A.identity(z) is not z


def test_backward_shape_mismatch():
    with pytest.raises(ValueError, match="grad_a must have the shape of z"):
        A.relu.backward(np.zeros((2, 3)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="out of range"):
        A.Softmax(axis=2)(np.zeros((2, 3)))


def test_leaky_relu_alpha():
    z = np.array([-2.0, -0.0, 3.0])
    act = A.LeakyReLU(alpha=0.25)
    np.testing.assert_array_equal(act(z), [-0.5, 0.0, 3.0])
    np.testing.assert_array_equal(act.derivative(z), [0.25, 0.25, 1.0])
    for bad in [-0.1, float("nan"), "0.1", True]:
        with pytest.raises(ValueError, match="alpha"):
            A.LeakyReLU(alpha=bad)


def test_relu_derivative_at_zero_is_zero():
    np.testing.assert_array_equal(A.relu.derivative(np.array([0.0, -0.0])), [0.0, 0.0])


@pytest.mark.parametrize(
    "spec, cls",
    [(None, A.Identity), ("linear", A.Identity), ("identity", A.Identity),
     ("sigmoid", A.Sigmoid), ("TANH", A.Tanh), ("relu", A.ReLU),
     ("leaky_relu", A.LeakyReLU), ("softmax", A.Softmax), (A.ReLU, A.ReLU)],
)
def test_get_activation(spec, cls):
    assert type(A.get_activation(spec)) is cls


def test_get_activation_instances_and_round_trip():
    inst = A.LeakyReLU(alpha=0.3)
    assert A.get_activation(inst) is inst
    for act in [A.Identity(), A.Sigmoid(), A.Tanh(), A.ReLU(), A.LeakyReLU(0.3),
                A.Softmax(axis=1)]:
        cfg = act.get_config()
        with pytest.warns(DeprecationWarning, match=r"to_config\(\) is deprecated.*get_config"):
            assert act.to_config() == cfg  # the old name works for one more release
        assert isinstance(cfg["name"], str)
        back = A.get_activation(cfg)
        assert back == act and type(back) is type(act)
        assert back.get_config() == cfg
    assert A.LeakyReLU(0.3) != A.LeakyReLU(0.2)
    assert hash(A.ReLU()) == hash(A.ReLU())
    assert repr(A.LeakyReLU(0.3)) == "LeakyReLU(alpha=0.3)"


class _Cube(A.Activation):
    """An activation written against the public protocol only (forward/derivative)."""

    name = "cube"

    def forward(self, z):
        return np.asarray(z, dtype=float) ** 3

    def derivative(self, z):
        return 3 * np.asarray(z, dtype=float) ** 2


def test_private_twins_reach_a_user_subclass_and_match_the_public_methods():
    # layers call _forward/_backward; a subclass overriding only the public
    # methods is still reached, and the built-ins' twins give the same numbers
    z = np.linspace(-2.0, 2.0, 12).reshape(3, 4)
    g = np.arange(12.0).reshape(3, 4) / 7
    cube = _Cube()
    np.testing.assert_array_equal(cube._forward(z), z**3)
    np.testing.assert_array_equal(cube._backward(z, g), g * (3 * z**2))
    for act in [A.Identity(), A.Sigmoid(), A.Tanh(), A.ReLU(), A.LeakyReLU(0.3), A.Softmax()]:
        np.testing.assert_array_equal(act._forward(z), act.forward(z))
        np.testing.assert_array_equal(act._backward(z, g), act.backward(z, g))
    with pytest.raises(NotImplementedError):
        A.Activation()._forward(z)


def test_get_activation_errors():
    with pytest.raises(ValueError, match="unknown activation 'swish'.*'relu'.*'softmax'"):
        A.get_activation("swish")
    with pytest.raises(ValueError, match="'name'"):
        A.get_activation({"alpha": 0.1})
    with pytest.raises(ValueError, match="invalid parameters"):
        A.get_activation({"name": "relu", "alpha": 0.1})
    with pytest.raises(TypeError, match="activation must be"):
        A.get_activation(3)


def test_module_instances_are_the_documented_classes():
    assert isinstance(A.identity, A.Identity)
    assert isinstance(A.sigmoid, A.Sigmoid)
    assert isinstance(A.tanh, A.Tanh)
    assert isinstance(A.relu, A.ReLU)
    assert isinstance(A.leaky_relu, A.LeakyReLU) and A.leaky_relu.alpha == 0.01
    assert isinstance(A.softmax, A.Softmax) and A.softmax.axis == -1
    assert {a.name for a in ELEMENTWISE} | {"softmax"} <= set(A.ACTIVATIONS)


def test_a_ragged_grad_a_is_named():
    from numbacnn.activations import Identity

    with pytest.raises(ValueError, match="grad_a must be a rectangular array"):
        Identity().backward(np.zeros(2), [0.0, [1.0, 2.0]])
