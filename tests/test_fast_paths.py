"""The fast paths around the kernels: matrix products, direct fallbacks, a skipped input gradient.

Oracles: the reference kernels :func:`numbacnn.kernels.conv.conv2d_forward_reference`
and :func:`numbacnn.kernels.conv.conv2d_backward_reference` (transcriptions of the
equations) for the kernels, and the unshortened path (``input_grad=True``) for
everything a skipped input gradient must leave alone.
"""

import math

import numba
import numpy as np
import pytest
from _numerics import assert_same_on_one_and_two_threads
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from numbacnn import Sequential
from numbacnn.activations import ReLU
from numbacnn.functional._geometry import conv_geometry
from numbacnn.functional.conv import (
    GEMM_BUDGET,
    GEMM_PIXELS,
    GEMM_SMALL_PRODUCT,
    _conv2d_backward,
    _conv2d_forward,
    _gemm_images,
    _use_gemm,
)
from numbacnn.kernels import conv as kconv
from numbacnn.kernels import conv_gemm as kgemm
from numbacnn.kernels import conv_grad_weight as kw_
from numbacnn.layers import Conv2D, Dense, Flatten, MaxPool2D
from numbacnn.layers.base import ActivatedLayer
from numbacnn.models.training import backprop_without_input_grad


def _reference_grads(g, x, w, geom):
    """(grad_x, grad_w, grad_b) from the reference loops on the padded input."""
    top, bottom, left, right = geom.pads
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    gxp, gw, gb = np.empty_like(xp), np.empty_like(w), np.empty(w.shape[0], x.dtype)
    kconv.conv2d_backward_reference(g, xp, w, *geom.kernel_stride, *geom.dilation, gxp, gw, gb)
    return gxp[:, :, top : top + x.shape[2], left : left + x.shape[3]], gw, gb


def _reference_forward(x, w, b, geom):
    top, bottom, left, right = geom.pads
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    y = np.empty((x.shape[0], w.shape[0], *geom.out_size), x.dtype)
    kconv.conv2d_forward_reference(xp, w, b, *geom.kernel_stride, *geom.dilation, y)
    return y


def _problem(seed, dtype, N, C, F, H, W, k, stride, padding, dilation):
    rng = np.random.default_rng(seed)
    geom = conv_geometry((H, W), k, stride, padding, dilation)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((F, C, *k)).astype(dtype)
    g = rng.standard_normal((N, F, *geom.out_size)).astype(dtype)
    return g, x, w, geom


def _tol(dtype):
    return dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-11)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    dtype=st.sampled_from([np.float32, np.float64]),
    N=st.integers(1, 4),
    C=st.integers(1, 3),
    F=st.integers(1, 9),
    H=st.integers(4, 9),
    W=st.integers(4, 9),
    k=st.tuples(st.integers(1, 3), st.integers(1, 3)),  # odd and even tap counts
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    budget=st.sampled_from([1, 30, GEMM_BUDGET]),  # one image per work item, or all
)
def test_gemm_and_direct_gradients_equal_reference(
    seed, dtype, N, C, F, H, W, k, stride, padding, dilation, budget
):
    assume(conv_geometry((H, W), k, stride, padding, dilation).fits)
    g, x, w, geom = _problem(seed, dtype, N, C, F, H, W, k, stride, padding, dilation)
    assert _use_gemm(x.shape, w.shape, geom, budget)
    gx_ref, gw_ref, gb_ref = _reference_grads(g, x, w, geom)
    gx, gw, gb = _conv2d_backward(g, x, w, geom, budget=budget)
    for got, ref in ((gx, gx_ref), (gw, gw_ref), (gb, gb_ref)):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, ref, **_tol(dtype))
    # the fallbacks for geometries whose scratch would not bound
    top, _, left, _ = geom.pads
    direct_w, direct_x = np.empty_like(w), np.empty_like(x)
    kw_.conv2d_grad_weight_direct(g, x, top, left, *geom.kernel_stride, *geom.dilation, direct_w)
    kconv.conv2d_grad_x_direct(g, w, top, left, *geom.kernel_stride, *geom.dilation, direct_x)
    np.testing.assert_allclose(direct_w, gw_ref, **_tol(dtype))
    np.testing.assert_allclose(direct_x, gx_ref, **_tol(dtype))


@pytest.mark.parametrize("budget", [1, 300, GEMM_BUDGET])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("stride, padding, dilation", [((1, 1), (1, 1), (1, 1)),
                                                       ((2, 1), (0, 2), (1, 2))])
def test_gemm_forward_and_backward_with_many_channels_equal_reference(
    budget, dtype, stride, padding, dilation
):
    # C * kh * kw = 135 patch-matrix rows: long products, as in a second conv layer
    g, x, w, geom = _problem(7, dtype, 3, 15, 5, 7, 8, (3, 3), stride, padding, dilation)
    b = np.linspace(-1, 1, w.shape[0]).astype(dtype)
    y = _conv2d_forward(x, w, b, geom, budget=budget)
    np.testing.assert_allclose(y, _reference_forward(x, w, b, geom), **_tol(dtype))
    for got, ref in zip(_conv2d_backward(g, x, w, geom, budget=budget),
                        _reference_grads(g, x, w, geom), strict=True):
        np.testing.assert_allclose(got, ref, **_tol(dtype))


def test_patch_matrix_and_its_adjoint():
    # <X(x), V> = <x, X^T(V)> for random x and V: conv2d_add_patches is the adjoint of
    # conv2d_patches, over a stride, a dilation and padding on every side
    rng = np.random.default_rng(3)
    N, C, H, W, kh, kw = 3, 2, 7, 6, 2, 3
    top, left, sh, sw, dh, dw = 2, 1, 2, 1, 1, 2
    # padded to (H + top + 1) x (W + left + 2): bottom 1, right 2
    Ho = (H + top + 1 - (kh - 1) * dh - 1) // sh + 1
    Wo = (W + left + 2 - (kw - 1) * dw - 1) // sw + 1
    x = rng.standard_normal((N, C, H, W))
    cols = np.full((C * kh * kw, 2 * Ho * Wo), np.nan)
    kgemm.conv2d_patches(x, 1, 2, kh, kw, top, left, sh, sw, dh, dw, Ho, Wo, cols)
    xp = np.pad(x, ((0, 0), (0, 0), (top, 1), (left, 2)))
    for c in range(C):
        for p in range(kh):
            for q in range(kw):
                window = xp[1:3, c, p * dh : p * dh + sh * (Ho - 1) + 1 : sh,
                            q * dw : q * dw + sw * (Wo - 1) + 1 : sw]
                np.testing.assert_array_equal(cols[(c * kh + p) * kw + q], window.reshape(-1))
    V = rng.standard_normal(cols.shape)
    back = np.full_like(x, np.nan)
    kgemm.conv2d_add_patches(V, 1, kh, kw, top, left, sh, sw, dh, dw, Ho, Wo, back)
    assert np.isnan(back[0]).all()  # images outside the chunk are left alone
    np.testing.assert_allclose(np.sum(cols * V), np.sum(x[1:3] * back[1:3]), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [0, 1, 63, 64, 65, 127, 128, 900, 2156])
def test_bias_sum_equals_the_exact_sum(dtype, n):
    # the 64 interleaved partial sums, halved six times, then the last incomplete
    # block: every element counted once, in float64.  math.fsum is exact, and any
    # order of n float64 additions errs by at most n * eps/2 * sum|v|
    v = (np.random.default_rng(n).standard_normal(n) * 1e3).astype(dtype)
    got = kgemm._sum64(v)
    assert isinstance(got, float)
    bound = n * np.finfo(np.float64).eps / 2 * np.sum(np.abs(v), dtype=np.float64)
    assert abs(got - math.fsum(v.astype(np.float64))) <= bound


@given(N=st.integers(1, 300), C=st.integers(1, 64), F=st.integers(1, 128),
       H=st.integers(1, 40), k=st.integers(1, 5))
def test_work_items_keep_small_products_small(N, C, F, H, k):
    assume(k <= H)
    geom = conv_geometry((H, H), (k, k), 1, 0, 1)
    nb = _gemm_images((N, C, H, H), (F, C, k, k), geom, GEMM_BUDGET)
    assert 1 <= nb <= N
    pixels = geom.out_size[0] * geom.out_size[1]
    product = F * C * k * k * pixels  # one image's weight-gradient multiply-adds
    if product <= GEMM_SMALL_PRODUCT:
        # within the bound, unless that would leave less than a quarter of GEMM_PIXELS
        assert nb * product <= GEMM_SMALL_PRODUCT or (nb - 1) * pixels < GEMM_PIXELS // 4


def test_a_deep_layer_on_small_images_keeps_the_matrix_products():
    # one image's product is small because it has 16 pixels, not because the patch
    # matrix has few rows: one image per item would leave 64 partial weight gradients
    # of 64 x 576, beyond the scratch limit, and the slow direct kernels would run
    x_shape, w_shape = (64, 64, 6, 6), (64, 64, 3, 3)
    geom = conv_geometry((6, 6), (3, 3), 1, 0, 1)
    assert 64 * 64 * 9 * 16 <= GEMM_SMALL_PRODUCT
    assert _gemm_images(x_shape, w_shape, geom, GEMM_BUDGET) * 16 >= GEMM_PIXELS // 4
    assert _use_gemm(x_shape, w_shape, geom, GEMM_BUDGET)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two numba threads")
def test_results_do_not_depend_on_the_thread_count():
    # work items follow the sizes only, and partial sums are added in item order
    g, x, w, geom = _problem(9, np.float32, 12, 6, 7, 9, 9, (3, 3), (1, 1), (1, 1), (1, 1))
    b = np.linspace(-1, 1, w.shape[0]).astype(np.float32)

    assert_same_on_one_and_two_threads(  # budget 3000: one image per work item, 12 items
        lambda: (_conv2d_forward(x, w, b, geom, budget=3000),
                 *_conv2d_backward(g, x, w, geom, budget=3000)))


@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("where", ["x", "weight"])
def test_nonfinite_operands_reach_the_reference_entries(value, dtype, where):
    # the patch matrix holds exactly the reference's products (padding as zeros), so a
    # NaN or inf reaches the same gradient entries as in the reference loops
    g, x, w, geom = _problem(3, dtype, 2, 1, 5, 6, 7, (3, 3), (1, 1), (1, 1), (1, 1))
    if where == "x":
        x[1, 0, 2, 6] = value  # the last column, next to the padding
    else:
        w[2, 0, 0, 1] = value
    refs = _reference_grads(g, x, w, geom)
    for got, ref in zip(_conv2d_backward(g, x, w, geom), refs, strict=True):
        np.testing.assert_allclose(got, ref, equal_nan=True, **_tol(dtype))
        assert np.isfinite(got).any()


@pytest.mark.parametrize("C", [1, 16])
def test_skipped_input_gradient_leaves_the_other_gradients_unchanged(C):
    g, x, w, geom = _problem(5, np.float32, 3, C, 6, 8, 8, (3, 3), (1, 1), (1, 1), (1, 1))
    full = _conv2d_backward(g, x, w, geom)
    skipped = _conv2d_backward(g, x, w, geom, input_grad=False)
    assert skipped[0] is None and full[0] is not None
    np.testing.assert_array_equal(skipped[1], full[1])
    np.testing.assert_array_equal(skipped[2], full[2])


def _cnn(first):
    layers = [first, MaxPool2D(2), Conv2D(3, 3, activation="relu"), Flatten(),
              Dense(4, activation="softmax")]
    return Sequential(layers, seed=1)


@pytest.mark.parametrize("first", ["conv", "flatten"])
def test_backprop_without_input_gradient_gives_the_same_step(first):
    rng = np.random.default_rng(0)
    X = rng.random((6, 1, 10, 10)).astype(np.float32)
    y = np.arange(6) % 4
    if first == "conv":
        model = _cnn(Conv2D(2, 3, activation="relu"))
    else:  # a first layer without an input gradient to skip
        model = Sequential([Flatten(), Dense(5, activation="relu"),
                            Dense(4, activation="softmax")], seed=1)
    model.build(X.shape[1:], dtype=X.dtype)
    cost, _, _, grads, grad_X = model._backprop(X, y)
    cost2, _, _, grads2, grad_X2 = backprop_without_input_grad(model, X, y)
    assert grad_X is not None and grad_X.shape == X.shape
    assert cost2 == cost and grads2.keys() == grads.keys()
    for key in grads:
        np.testing.assert_array_equal(grads2[key], grads[key])
    # only a layer that can skip it returns None; the flag is set back afterwards
    assert (grad_X2 is None) == (first == "conv")
    assert all(layer._input_grad for layer in model.layers)
    assert model.loss_and_gradients(X, y)[2].shape == X.shape


def test_dense_first_layer_skips_its_input_gradient():
    rng = np.random.default_rng(0)
    X = rng.random((5, 3))
    model = Sequential([Dense(4, activation="relu"), Dense(2, activation="softmax")], seed=0)
    model.build((3,))
    assert backprop_without_input_grad(model, X, np.arange(5) % 2)[4] is None
    assert model.layers[0]._input_grad


def test_training_skips_only_the_first_layers_input_gradient(monkeypatch):
    import numbacnn.layers.conv as layer_conv

    seen = []
    original = layer_conv._conv2d_backward

    def spy(g, x, w, geom, **kwargs):
        seen.append((x.shape[1], kwargs.get("input_grad", True)))
        return original(g, x, w, geom, **kwargs)

    monkeypatch.setattr(layer_conv, "_conv2d_backward", spy)
    rng = np.random.default_rng(0)
    X = rng.random((8, 1, 10, 10)).astype(np.float32)
    model = _cnn(Conv2D(2, 3, activation="relu"))
    model.fit(X, np.arange(8) % 4, epochs=1, batch_size=4, verbose=0)
    # two batches (and, the first time this kind of model trains in the process, the
    # compile warm-up's step on a copy), each: the second conv (2 input channels), then
    # the first (1 channel)
    assert len(seen) in (4, 6)
    assert seen == [(2, True), (1, False)] * (len(seen) // 2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_backward_equals_gradient_times_derivative(dtype):
    from numbacnn.activations import relu

    z = np.array([[-1.0, 0.0, 2.0, np.nan], [3.0, -0.0, np.inf, -np.inf]], dtype)
    grad_a = np.array([[np.inf, 2.0, -3.0, 1.0], [np.nan, 5.0, 6.0, np.inf]], dtype)
    got = relu._backward(z, grad_a)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, grad_a * relu.derivative(z))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("path", ["gemm", "direct"])
@pytest.mark.parametrize("input_grad", [True, False])
def test_relu_mask_inside_the_backward_equals_the_separate_pass(dtype, path, input_grad,
                                                                 monkeypatch):
    # the mask applied while the kernels copy grad_out gives bit for bit what ReLU's own
    # backward followed by the convolution's backward gives, NaN and inf included
    import numbacnn.functional.conv as fconv

    if path == "direct":  # scratch limit 0: every call takes the direct kernels
        monkeypatch.setattr(fconv, "_scratch_limit", lambda *args: 0)
    rng = np.random.default_rng(4)
    layer = Conv2D(5, 3, padding=1, activation="relu")
    layer.build((3, 7, 6), rng=rng, dtype=dtype)
    layer._input_grad = input_grad
    x = rng.standard_normal((4, 3, 7, 6)).astype(dtype)
    layer.forward(x)
    layer._z[0, 1, 2, :3] = [np.nan, 0.0, -0.0]
    g = rng.standard_normal(layer._z.shape).astype(dtype)
    g[1, 0, 0, :3] = [np.inf, -np.inf, np.nan]
    g[0, 1, 2, 1] = np.inf  # times the mask's 0 at z = 0: NaN, as in ReLU's backward
    fused = layer.backward(g)
    grads = dict(layer.grads)
    separate = ActivatedLayer.backward(layer, g)
    for a, b in [(fused, separate), (grads["W"], layer.grads["W"]),
                 (grads["b"], layer.grads["b"])]:
        if not input_grad and a is None:
            assert b is None
            continue
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b)


def test_a_relu_subclass_with_its_own_derivative_is_not_fused():
    class HalfReLU(ReLU):
        def _derivative(self, z):
            return 0.5 * (z > 0).astype(z.dtype)

    rng = np.random.default_rng(2)
    layer = Conv2D(2, 3, activation=HalfReLU())
    layer.build((1, 6, 6), rng=rng)
    x = rng.standard_normal((2, 1, 6, 6))
    layer.forward(x)
    g = rng.standard_normal(layer._z.shape)
    got = layer.backward(g)
    expected = _conv2d_backward(0.5 * g * (layer._z > 0), x, layer.params["W"], layer._geom)[0]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
