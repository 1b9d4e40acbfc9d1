"""The NumPy baselines agree with numbacnn (so the timings compare equal work)."""

import numpy as np
import numpy_baselines as ls
import pytest


def _conv_operands(rng, N=2, C=2, F=3, H=6, W=5, k=3):
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((F, C, k, k))
    b = rng.standard_normal(F)
    return x, w, b


def test_numpy_convolutions_agree_with_numbacnn():
    from numbacnn.functional import conv2d, conv2d_backward

    rng = np.random.default_rng(0)
    x, w, b = _conv_operands(rng)
    ref = conv2d(x, w, b)
    np.testing.assert_allclose(ls.conv2d_loops(x, w, b), ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ls.im2col_conv2d(x, w, b), ref, rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(ref.shape)
    expected = conv2d_backward(g, x, w)
    for got in (ls.conv2d_backward_loops(g, x, w), ls.im2col_conv2d_backward(g, x, w)):
        for a, e in zip(got, expected, strict=True):
            np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-12)


def test_numpy_pooling_agrees_with_numbacnn():
    from numbacnn.functional import max_pool2d, max_pool2d_backward

    rng = np.random.default_rng(1)
    # odd sizes: the last row/column is dropped by both; distinct values: no ties
    x = rng.permutation(2 * 3 * 7 * 5).reshape(2, 3, 7, 5).astype(float)
    ref = max_pool2d(x, 2)
    np.testing.assert_array_equal(ls.max_pool2d_loops(x), ref)
    np.testing.assert_array_equal(ls.max_pool2d_reshape(x), ref)
    g = rng.standard_normal(ref.shape)
    expected = max_pool2d_backward(g, x, 2)
    np.testing.assert_allclose(ls.max_pool2d_backward_loops(g, x), expected, atol=1e-15)
    np.testing.assert_allclose(ls.max_pool2d_backward_reshape(g, x), expected, atol=1e-15)


def test_numpy_rnn_agrees_with_numbacnn():
    from numbacnn.functional import rnn_backward, rnn_forward

    rng = np.random.default_rng(2)
    N, T, D, H = 3, 5, 2, 4
    x = rng.standard_normal((N, T, D))
    h0 = rng.standard_normal((N, H))
    U, W = rng.standard_normal((H, D)) / 2, rng.standard_normal((H, H)) / 2
    b = rng.standard_normal(H)
    V, c = np.eye(H), np.zeros(H)
    h_ref, _ = rnn_forward(x, h0, U, W, b, V, c)
    h = ls.rnn_forward_numpy(x, h0, U, W, b)
    np.testing.assert_allclose(h, h_ref, rtol=1e-12, atol=1e-12)
    gh = rng.standard_normal((N, T, H))
    gx, _, gU, gW, gb, _, _ = rnn_backward(gh, x, h0, h_ref, U, W, V)
    for got, exp in zip(ls.rnn_backward_numpy(gh, x, h0, h, U, W), (gx, gU, gW, gb),
                        strict=True):
        np.testing.assert_allclose(got, exp, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("stride, padding", [(1, 1), (2, 1), (2, 0)])
def test_im2col_and_scipy_with_stride_and_padding(stride, padding):
    from numbacnn.functional import conv2d, conv2d_backward

    rng = np.random.default_rng(3)
    x, w, b = _conv_operands(rng, H=7, W=6)
    ref = conv2d(x, w, b, stride=stride, padding=padding)
    np.testing.assert_allclose(ls.im2col_conv2d(x, w, b, stride, padding), ref, rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(ls.scipy_conv2d(x, w, b, stride, padding), ref, rtol=1e-12,
                               atol=1e-12)
    g = rng.standard_normal(ref.shape)
    expected = conv2d_backward(g, x, w, stride=stride, padding=padding)
    for a, e in zip(ls.im2col_conv2d_backward(g, x, w, stride, padding), expected, strict=True):
        np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-12)


def test_median_time_calls_warmup_then_repeat():
    calls = []
    t = ls.median_time(lambda: calls.append(1), repeat=3, warmup=2)
    assert len(calls) == 5 and t >= 0.0
