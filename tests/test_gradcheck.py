"""numbacnn.gradcheck: catches wrong gradients, accepts right ones, leaves its inputs intact."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import numbacnn
from numbacnn._gradcheck import GradcheckError, gradcheck


def _matmul_tanh(A, B):
    return np.tanh(A @ B)


def _matmul_tanh_backward(A, B):
    def backward(g):
        d = g * (1 - np.tanh(A @ B) ** 2)
        return d @ B.T, A.T @ d

    return backward


def test_exported_lazily():
    assert numbacnn.gradcheck is gradcheck


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 4), k=st.integers(1, 4),
       m=st.integers(1, 4))
def test_correct_gradients_pass(seed, n, k, m):
    rng = np.random.default_rng(seed)
    # scaled so that tanh is not saturated: there the true gradient is ~1e-4 and the
    # finite-difference rounding error (~1e-16 / eps) is no longer negligible next to it
    A, B = 0.5 * rng.standard_normal((n, k)), 0.5 * rng.standard_normal((k, m))
    errors = gradcheck(_matmul_tanh, _matmul_tanh_backward(A, B), [A, B], seed=seed)
    assert len(errors) == 2
    assert all(0 <= e < 1e-7 for e in errors)


@given(seed=st.integers(0, 2**32 - 1), scale=st.sampled_from([0.5, 1.1, -1.0, 2.0]))
def test_wrong_gradients_are_caught(seed, scale):
    rng = np.random.default_rng(seed)
    A, B = rng.standard_normal((3, 2)), rng.standard_normal((2, 4))
    right = _matmul_tanh_backward(A, B)

    def wrong(g):
        dA, dB = right(g)
        return dA, scale * dB

    with pytest.raises(GradcheckError, match="input 1") as info:
        gradcheck(_matmul_tanh, wrong, [A, B], seed=seed)
    errors = info.value.errors
    assert errors[0] < 1e-7
    # the analytic gradient is off by (scale - 1): the normwise error says so
    expected = abs(scale - 1) / max(abs(scale), 1)
    assert errors[1] == pytest.approx(expected, rel=1e-5)
    assert isinstance(info.value, AssertionError)
    # without raising, the same errors come back
    assert gradcheck(_matmul_tanh, wrong, [A, B], seed=seed, raise_exception=False) == errors


def test_numeric_gradient_is_second_order_accurate():
    # f(x) = x**3 has f''' = 6: the central difference error is eps**2 (exactly, for a cubic)
    x = np.array([1.0, -2.0, 0.5])

    def forward(x):
        return x**3

    errors = gradcheck(forward, lambda g: 3 * x**2 * g, [x], eps=1e-3, raise_exception=False)
    assert 1e-8 < errors[0] < 1e-5
    errors = gradcheck(forward, lambda g: 3 * x**2 * g, [x], eps=1e-5)
    assert errors[0] < 1e-9


def test_inputs_restored_bit_for_bit_even_when_forward_fails():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 3))
    before = x.copy()
    calls = []

    def forward(x):
        calls.append(1)
        if len(calls) > 4:
            raise RuntimeError("boom")
        return np.sin(x)

    with pytest.raises(RuntimeError, match="boom"):
        gradcheck(forward, lambda g: g * np.cos(x), [x])
    np.testing.assert_array_equal(x, before)
    gradcheck(np.sin, lambda g: g * np.cos(x), [x])
    assert x.tobytes() == before.tobytes()


def test_none_gradients_skip_inputs_such_as_labels():
    rng = np.random.default_rng(1)
    scores = rng.standard_normal((4, 3))
    labels = np.array([0, 2, 1, 1])

    def loss(scores, labels):
        shifted = scores - scores.max(axis=1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        return -logp[np.arange(4), labels].mean()

    def backward(g):
        p = np.exp(scores - scores.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(4), labels] -= 1
        return g * p / 4, None

    errors = gradcheck(loss, backward, [scores, labels])
    assert errors[0] < 1e-7 and errors[1] is None


def test_stateful_layer_with_parameters():
    """A layer that caches its input and owns its weights: the pattern for whole models."""

    class Dense:
        def __init__(self, rng):
            self.W = rng.standard_normal((3, 2))
            self.b = rng.standard_normal(2)

        def forward(self, x):
            self.x = x
            return x @ self.W + self.b

        def backward(self, g):
            self.dW = self.x.T @ g
            self.db = g.sum(axis=0)
            return g @ self.W.T

    rng = np.random.default_rng(2)
    layer = Dense(rng)
    x = rng.standard_normal((5, 3))
    W_before = layer.W.copy()

    def backward(g):
        dx = layer.backward(g)
        return dx, layer.dW, layer.db

    errors = gradcheck(lambda x, W, b: layer.forward(x), backward, [x, layer.W, layer.b])
    assert all(e < 1e-8 for e in errors)
    np.testing.assert_array_equal(layer.W, W_before)

    # a bug in the weight gradient (a transposed cache) is reported for that input only
    def buggy(g):
        dx = layer.backward(g)
        return dx, layer.dW * 0.5, layer.db

    with pytest.raises(GradcheckError, match="input 1: 5.0e-01"):
        gradcheck(lambda x, W, b: layer.forward(x), buggy, [x, layer.W, layer.b])


def test_scalar_output_and_single_array_gradient():
    x = np.array([[1.0, 2.0], [3.0, -1.0]])
    errors = gradcheck(lambda x: np.sum(x**2), lambda g: 2 * x * g, [x])
    assert errors[0] < 1e-8


def test_zero_gradient_is_exact():
    x = np.ones((2, 2))
    assert gradcheck(lambda x: np.zeros(3), lambda g: np.zeros((2, 2)), [x]) == (0.0,)
    # an output that does not depend on x, but a backward claiming it does: error 1
    with pytest.raises(GradcheckError, match=r"input 0: 1\.0e\+00"):
        gradcheck(lambda x: np.zeros(3), lambda g: np.ones((2, 2)), [x])


def test_argument_errors():
    x = np.ones((2, 2))
    with pytest.raises(TypeError, match=r"inputs\[0\] must be a float64 ndarray"):
        gradcheck(lambda x: x, lambda g: g, [x.astype(np.float32)])
    with pytest.raises(TypeError, match=r"inputs\[0\]"):
        gradcheck(lambda x: np.asarray(x), lambda g: g, [[1.0, 2.0]])
    ro = x.copy()
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"inputs\[0\] must be writeable"):
        gradcheck(lambda x: x, lambda g: g, [ro])
    with pytest.raises(ValueError, match=r"one gradient per input \(2\); got 1"):
        gradcheck(lambda x, y: x + y, lambda g: (g,), [x, x.copy()])
    with pytest.raises(ValueError, match=r"shape \(4,\) for inputs\[0\] of shape \(2, 2\)"):
        gradcheck(lambda x: x, lambda g: g.ravel(), [x])
    with pytest.raises(ValueError, match=r"eps must lie in \(0, inf\]"):
        gradcheck(lambda x: x, lambda g: g, [x], eps=0.0)
    with pytest.raises(ValueError, match="rtol must be a finite real number"):
        gradcheck(lambda x: x, lambda g: g, [x], rtol=float("nan"))


def test_inputs_must_be_a_sequence_and_a_bare_array_is_one_input():
    x = np.arange(3.0)
    with pytest.raises(TypeError, match="inputs must be a sequence of arrays"):
        gradcheck(lambda v: v.sum(), lambda g: (np.full(3, g),), None)
    errors = gradcheck(lambda v: (v * v).sum(), lambda g: (2 * g * x,), x)
    assert len(errors) == 1 and errors[0] < 1e-6


def test_an_error_raised_by_forward_names_the_call():
    def forward(x, y):
        return np.tanh(x, y)  # a user's slip: y becomes tanh's output argument

    with pytest.raises(TypeError, match=r"forward\(\*inputs\) raised TypeError"):
        gradcheck(forward, lambda g: (g, None), [np.ones(2), [1.0, 2.0]])
    with pytest.raises(ValueError, match=r"inputs\[0\] must be a rectangular array"):
        gradcheck(np.tanh, lambda g: (g,), [[0.5, [0.5, 1.0]]])
