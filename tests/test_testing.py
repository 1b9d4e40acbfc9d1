"""numbacnn.testing: the checkers pass correct kernels and catch the classic bugs.

The correct implementations below are written here, independently of numbacnn:
NumPy ``sliding_window_view`` and ``einsum`` for the convolution and pooling,
vectorised over the batch for BPTT.  Each bug is one small edit of them, the
slip a learner makes; the checker must fail on it with a message that names
the shapes and the first differing element (and, where it recognises the bug,
says so).
"""

import re

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from numbacnn.testing import (
    check_avg_pool2d_backward,
    check_conv2d,
    check_conv2d_backward,
    check_lstm_backward,
    check_max_pool2d,
    check_max_pool2d_backward,
    check_rnn_backward,
)

# each test runs Hypothesis searches through the reference kernels: minutes on an
# interpreter whose kernel cache is cold, so tox runs them on py311 and nojit only
pytestmark = pytest.mark.slow

FEW = 15  # examples per run: enough to meet every bug below, cheap without the JIT


def pair(v):
    return tuple(v) if isinstance(v, tuple) else (v, v)


def failure(check, fn, **kwargs):
    """The AssertionError message of ``check(fn)``; fails the test if the check passes."""
    kwargs.setdefault("max_examples", FEW)
    with pytest.raises(AssertionError) as info:
        check(fn, **kwargs)
    return " ".join(str(info.value).split())  # hints are wrapped: compare words


def assert_reports_difference(message, output):
    """The message names the call's shapes and the first differing element of ``output``."""
    assert re.search(r"shapes: \w+ \(\d+, \d+", message), message
    assert re.search(rf"first differing element: {output}\[[\d, ]+\]: "
                     r"expected -?[\d.]+, got -?[\d.]+", message), message


# ---------------------------------------------------------------- convolution


def _windows(x, kh, kw, stride, padding, dilation, extra=(0, 0)):
    """Patches ``(N, C, Ho, Wo, kh, kw)`` of the zero-padded x (``extra`` more zeros at the end)."""
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph + extra[0]), (pw, pw + extra[1])))
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    return xp, sliding_window_view(xp, span, axis=(2, 3))[:, :, ::sh, ::sw, ::dh, ::dw]


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1):
    _, win = _windows(x, *weight.shape[2:], stride, padding, dilation)
    out = np.einsum("ncijpq,fcpq->nfij", win, weight)
    return out if bias is None else out + bias[:, None, None]


def conv2d_flipped(x, weight, bias=None, stride=1, padding=0):
    return conv2d(x, weight[:, :, ::-1, ::-1], bias, stride, padding)


def conv2d_rounded_up(x, weight, bias=None, stride=1, padding=0):
    """Ho = ceil(...) + 1: the last window hangs over the edge (padded with more zeros)."""
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    kh, kw = weight.shape[2:]
    extra = ((-(x.shape[2] + 2 * ph - kh)) % sh, (-(x.shape[3] + 2 * pw - kw)) % sw)
    _, win = _windows(x, kh, kw, stride, padding, 1, extra)
    out = np.einsum("ncijpq,fcpq->nfij", win, weight)
    return out if bias is None else out + bias[:, None, None]


def conv2d_backward(grad_out, x, weight, stride=1, padding=0, dilation=1, *,
                    rotate=True, last_image_only=False, average_bias=False):
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    xp, win = _windows(x, *weight.shape[2:], stride, padding, dilation)
    N, _, Ho, Wo = grad_out.shape
    first = N - 1 if last_image_only else 0
    grad_w = np.einsum("ncijpq,nfij->fcpq", win[first:], grad_out[first:])
    grad_b = grad_out.mean(axis=(0, 2, 3)) if average_bias else grad_out.sum(axis=(0, 2, 3))
    # the correct scatter reads w[p, q] for tap (p, q); the unrotated slip reads w[-p, -q]
    w = weight if rotate else weight[:, :, ::-1, ::-1]
    grad_xp = np.zeros_like(xp)
    for p in range(weight.shape[2]):
        for q in range(weight.shape[3]):
            grad_xp[:, :, p * dh:p * dh + sh * (Ho - 1) + 1:sh,
                    q * dw:q * dw + sw * (Wo - 1) + 1:sw] += np.einsum(
                        "nfij,fc->ncij", grad_out, w[:, :, p, q])
    H, W = x.shape[2:]
    return grad_xp[:, :, ph:ph + H, pw:pw + W], grad_w, grad_b


def test_check_conv2d_passes_a_correct_conv2d_with_dilation_and_float32():
    assert check_conv2d(conv2d, dilation=True, dtypes=(np.float32, np.float64),
                        max_examples=FEW) is None


def test_check_conv2d_catches_a_flipped_kernel():
    message = failure(check_conv2d, conv2d_flipped)
    assert_reports_difference(message, "out")
    assert "kernel flipped" in message


def test_check_conv2d_catches_an_output_size_rounded_up():
    message = failure(check_conv2d, conv2d_rounded_up)
    assert re.search(r"out has shape \(\d+, \d+, \d+, \d+\); expected", message), message
    assert "rounded up" in message


def test_check_conv2d_catches_a_missing_bias():
    message = failure(check_conv2d, lambda x, w, b, **kw: conv2d(x, w, None, **kw))
    assert_reports_difference(message, "out")
    assert "bias b[f] is not added" in message


def test_check_conv2d_backward_passes_a_correct_backward_with_dilation():
    assert check_conv2d_backward(conv2d_backward, dilation=True, max_examples=FEW) is None


@pytest.mark.parametrize("bug, output, hint", [
    ({"rotate": False}, "grad_x", "must be rotated by 180 degrees"),
    ({"last_image_only": True}, "grad_weight", "last image's contribution only"),
    ({"average_bias": True}, "grad_bias", "grad_bias is averaged"),
])
def test_check_conv2d_backward_catches_a_classic_bug(bug, output, hint):
    message = failure(check_conv2d_backward, lambda *a, **kw: conv2d_backward(*a, **kw, **bug))
    assert_reports_difference(message, output)
    assert hint in message


def test_check_conv2d_backward_catches_an_uncropped_input_gradient():
    def uncropped(g, x, w, stride=1, padding=0):
        gx, gw, gb = conv2d_backward(g, x, w, stride, padding)
        ph, pw = pair(padding)
        return np.pad(gx, ((0, 0), (0, 0), (ph, ph), (pw, pw))), gw, gb

    message = failure(check_conv2d_backward, uncropped)
    assert "grad_x has shape" in message and "crop the padding off" in message


# ---------------------------------------------------------------- pooling


def _pool_windows(x, kernel_size, stride, padding, fill):
    (kh, kw), (sh, sw), (ph, pw) = pair(kernel_size), pair(stride), pair(padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    return sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]


def max_pool2d(x, kernel_size, stride=None, padding=0):
    stride = kernel_size if stride is None else stride
    return _pool_windows(x, kernel_size, stride, padding, -np.inf).max(axis=(4, 5))


def max_pool2d_backward(grad_out, x, kernel_size, stride=None, padding=0, *,
                        last=False, assign=False):
    stride = kernel_size if stride is None else stride
    (kh, kw), (sh, sw), (ph, pw) = pair(kernel_size), pair(stride), pair(padding)
    win = _pool_windows(x, kernel_size, stride, padding, -np.inf)
    flat = win.reshape(win.shape[:4] + (kh * kw,))
    # np.argmax takes the first maximum: row-major order within the window
    k = kh * kw - 1 - flat[..., ::-1].argmax(axis=-1) if last else flat.argmax(axis=-1)
    N, C, Ho, Wo = grad_out.shape
    n, c, i, j = np.indices((N, C, Ho, Wo))
    rows, cols = i * sh + k // kw, j * sw + k % kw
    grad_xp = np.zeros((N, C, x.shape[2] + 2 * ph, x.shape[3] + 2 * pw), dtype=x.dtype)
    if assign:
        for idx in np.ndindex(N, C, Ho, Wo):
            grad_xp[n[idx], c[idx], rows[idx], cols[idx]] = grad_out[idx]
    else:
        np.add.at(grad_xp, (n, c, rows, cols), grad_out)
    return grad_xp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]


def avg_pool2d_backward(grad_out, x, kernel_size, stride=None, padding=0, *, assign=False):
    stride = kernel_size if stride is None else stride
    (kh, kw), (sh, sw), (ph, pw) = pair(kernel_size), pair(stride), pair(padding)
    _, _, Ho, Wo = grad_out.shape
    grad_xp = np.zeros((*x.shape[:2], x.shape[2] + 2 * ph, x.shape[3] + 2 * pw), dtype=x.dtype)
    share = grad_out / grad_out.dtype.type(kh * kw)
    for a in range(kh):
        for b in range(kw):
            view = grad_xp[:, :, a:a + sh * (Ho - 1) + 1:sh, b:b + sw * (Wo - 1) + 1:sw]
            if assign:
                view[...] = share
            else:
                view += share
    return grad_xp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]


def test_check_max_pool2d_passes_a_correct_max_pool2d():
    assert check_max_pool2d(max_pool2d, dtypes=(np.float32,), max_examples=FEW) is None


def test_check_max_pool2d_catches_an_output_size_rounded_up():
    def rounded_up(x, kernel_size, stride=None, padding=0):
        (kh, kw), (sh, sw) = pair(kernel_size), pair(stride)
        extra = ((-(x.shape[2] - kh)) % sh, (-(x.shape[3] - kw)) % sw)
        wider = np.pad(x, ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])),
                       constant_values=-np.inf)
        return max_pool2d(wider, kernel_size, stride, padding)

    assert "rounded up" in failure(check_max_pool2d, rounded_up)


def test_check_max_pool2d_backward_passes_a_correct_backward():
    assert check_max_pool2d_backward(max_pool2d_backward, max_examples=FEW) is None


@pytest.mark.parametrize("bug, hint", [
    ({"last": True}, "it must go to the first maximum"),
    ({"assign": True}, "accumulate with grad_x[...] +="),
    # both slips: the minimal failing call shows one of them, the tie first
    ({"last": True, "assign": True}, "it must go to the first maximum"),
])
def test_check_max_pool2d_backward_catches_ties_and_assignment(bug, hint):
    message = failure(check_max_pool2d_backward,
                      lambda *a, **kw: max_pool2d_backward(*a, **kw, **bug))
    assert_reports_difference(message, "grad_x")
    assert hint in message


def test_check_avg_pool2d_backward_passes_a_correct_backward():
    assert check_avg_pool2d_backward(avg_pool2d_backward, max_examples=FEW) is None


def test_check_avg_pool2d_backward_catches_assignment_in_overlapping_windows():
    message = failure(check_avg_pool2d_backward,
                      lambda *a, **kw: avg_pool2d_backward(*a, **kw, assign=True))
    assert_reports_difference(message, "grad_x")
    assert "accumulate with grad_x[...] +=" in message


def test_check_avg_pool2d_backward_catches_a_divisor_without_the_padding():
    def exclude_pad(grad_out, x, kernel_size, stride=None, padding=0):
        # each window's share divided by its in-image pixel count instead of kh * kw
        kh, kw = pair(kernel_size)
        inside = _pool_windows(np.ones_like(x), kernel_size, stride, padding, 0).sum(axis=(4, 5))
        return avg_pool2d_backward(grad_out * (kh * kw) / inside, x, kernel_size, stride,
                                   padding)

    message = failure(check_avg_pool2d_backward, exclude_pad)
    assert "padding counts" in message


# ---------------------------------------------------------------- recurrent


def rnn_forward(x, h0, W_ih, W_hh, b):
    h, prev = [], h0
    for t in range(x.shape[1]):
        prev = np.tanh(x[:, t] @ W_ih.T + prev @ W_hh.T + b)
        h.append(prev)
    return np.stack(h, axis=1)


def rnn_backward(grad_y, x, h0, h, W_ih, W_hh, V, grad_h_last=None, activation="tanh", *,
                 carry=True, derivative=lambda h: 1 - h * h):
    if activation == "relu":
        derivative = lambda h: (h > 0).astype(h.dtype)  # noqa: E731
    N, T, _ = x.shape
    delta = np.zeros_like(h)
    grad_h_next = np.zeros_like(h0) if grad_h_last is None else grad_h_last
    for t in reversed(range(T)):
        grad_h = grad_y[:, t] @ V + (grad_h_next if (carry or t == T - 1) else 0)
        delta[:, t] = grad_h * derivative(h[:, t])
        grad_h_next = delta[:, t] @ W_hh
    h_prev = np.concatenate([h0[:, None], h[:, :-1]], axis=1)
    return (delta @ W_ih, delta[:, 0] @ W_hh, np.einsum("nti,ntd->id", delta, x),
            np.einsum("nti,ntj->ij", delta, h_prev), delta.sum(axis=(0, 1)),
            np.einsum("nto,nti->oi", grad_y, h), grad_y.sum(axis=(0, 1)))


def test_check_rnn_backward_passes_a_correct_bptt():
    assert check_rnn_backward(rnn_backward, grad_h_last=True, relu=True,
                              dtypes=(np.float32, np.float64), max_examples=FEW) is None


def test_the_independent_rnn_forward_agrees_with_the_checker_reference():
    # the checker hands fn the reference forward's h; the test's own forward must agree
    from numbacnn.functional import rnn_forward as ours

    rng = np.random.default_rng(0)
    x, h0 = rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 4))
    W_ih, W_hh, b = rng.normal(size=(4, 3)), rng.normal(size=(4, 4)), rng.normal(size=4)
    h, _ = ours(x, h0, W_ih, W_hh, b, np.zeros((1, 4)), np.zeros(1))
    np.testing.assert_allclose(rnn_forward(x, h0, W_ih, W_hh, b), h, rtol=1e-12)


def test_check_rnn_backward_catches_a_gradient_not_carried_through_time():
    message = failure(check_rnn_backward, lambda *a, **kw: rnn_backward(*a, **kw, carry=False))
    assert_reports_difference(message, r"grad_\w+")
    assert "does not carry the gradient through time" in message


def test_check_rnn_backward_catches_a_wrong_tanh_derivative():
    # the derivative taken as if h were the pre-activation: 1 - tanh(h)^2
    message = failure(check_rnn_backward, lambda *a, **kw: rnn_backward(
        *a, **kw, derivative=lambda h: 1 - np.tanh(h) ** 2))
    assert_reports_difference(message, r"grad_\w+")
    assert "grad_V and grad_c are right" in message


def test_check_rnn_backward_points_at_grad_h0():
    def no_h0(*args, **kwargs):
        grads = list(rnn_backward(*args, **kwargs))
        grads[1] = np.zeros_like(grads[1])
        return tuple(grads)

    message = failure(check_rnn_backward, no_h0)
    assert "only grad_h0 is wrong" in message


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def lstm_backward(grad_h, x, h0, c0, W_ih, W_hh, h, c, gates, grad_c_last=None, *,
                  forget_derivative=lambda f: f * (1 - f), carry_cell=True):
    N, T, _ = x.shape
    H = h0.shape[1]
    grad_z = np.zeros_like(gates)
    dh_next = np.zeros_like(h0)
    dc_next = np.zeros_like(c0) if grad_c_last is None else grad_c_last.copy()
    c_prev_all = np.concatenate([c0[:, None], c[:, :-1]], axis=1)
    for t in reversed(range(T)):
        i, f, g, o = (gates[:, t, k * H:(k + 1) * H] for k in range(4))
        tanh_c = np.tanh(c[:, t])
        dh = grad_h[:, t] + dh_next
        dc = (dc_next if carry_cell else 0) + dh * o * (1 - tanh_c ** 2)
        grad_z[:, t] = np.concatenate([dc * g * i * (1 - i),
                                       dc * c_prev_all[:, t] * forget_derivative(f),
                                       dc * i * (1 - g * g), dh * tanh_c * o * (1 - o)], axis=1)
        dh_next = grad_z[:, t] @ W_hh
        dc_next = dc * f
    h_prev = np.concatenate([h0[:, None], h[:, :-1]], axis=1)
    return (grad_z @ W_ih, dh_next, dc_next, np.einsum("ntr,ntd->rd", grad_z, x),
            np.einsum("ntr,ntj->rj", grad_z, h_prev), grad_z.sum(axis=(0, 1)))


def test_the_gates_the_checker_hands_over_are_the_lstm_equations():
    from numbacnn.functional import lstm_forward

    rng = np.random.default_rng(1)
    N, T, D, H = 2, 3, 2, 3
    x, h0, c0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
    W_ih, W_hh, b = (rng.normal(size=s) for s in ((4 * H, D), (4 * H, H), (4 * H,)))
    h, c, gates = lstm_forward(x, h0, c0, W_ih, W_hh, b)
    z = x[:, 0] @ W_ih.T + h0 @ W_hh.T + b
    np.testing.assert_allclose(gates[:, 0, :H], sigmoid(z[:, :H]), rtol=1e-12)
    np.testing.assert_allclose(gates[:, 0, 2 * H:3 * H], np.tanh(z[:, 2 * H:3 * H]), rtol=1e-12)


def test_check_lstm_backward_passes_a_correct_bptt():
    assert check_lstm_backward(lstm_backward, grad_c_last=True, max_examples=FEW) is None


def test_check_lstm_backward_names_the_gate_with_a_wrong_derivative():
    message = failure(check_lstm_backward, lambda *a, **kw: lstm_backward(
        *a, **kw, forget_derivative=lambda f: f))
    assert_reports_difference(message, r"grad_\w+")
    assert "block of the forget gate f" in message and "f (1 - f)" in message


def test_check_lstm_backward_catches_a_cell_gradient_not_carried():
    message = failure(check_lstm_backward,
                      lambda *a, **kw: lstm_backward(*a, **kw, carry_cell=False))
    assert_reports_difference(message, r"grad_\w+")
    assert "the cell-state gradient is off" in message


def test_check_lstm_backward_points_at_grad_c0():
    def no_c0(*args, **kwargs):
        grads = list(lstm_backward(*args, **kwargs))
        grads[2] = grads[2] * 0 + 1
        return tuple(grads)

    assert "only grad_c0 is wrong" in failure(check_lstm_backward, no_c0)


# ---------------------------------------------------------------- what fn does wrong


def test_a_blank_template_is_told_it_returned_none():
    message = failure(check_max_pool2d_backward, lambda grad_out, x, **kw: None)
    assert "fn returned None" in message and "blank template" in message
    assert "shapes: grad_out (1, 1, 1, 1), x (1, 1, 1, 1)" in message  # shrunk to the minimum


def test_an_exception_is_reported_with_the_call():
    def raises(*args, **kwargs):
        raise NotImplementedError("write the backward pass here")

    message = failure(check_rnn_backward, raises)
    assert "fn raised NotImplementedError: write the backward pass here" in message
    assert "call: fn(grad_y, x, h0, h, W_ih, W_hh, V)" in message


def test_a_wrong_number_of_outputs_is_reported():
    message = failure(check_conv2d_backward, lambda *a, **kw: conv2d_backward(*a, **kw)[:2])
    assert "must return a tuple of 3 arrays (grad_x, grad_weight, grad_bias)" in message
    message = failure(check_conv2d_backward, lambda *a, **kw: conv2d_backward(*a, **kw)[0])
    assert "got a ndarray" in message


def test_a_list_instead_of_an_array_is_reported():
    message = failure(check_max_pool2d, lambda *a, **kw: max_pool2d(*a, **kw).tolist())
    assert "out must be a numpy.ndarray; got list" in message


def test_float32_must_stay_float32():
    message = failure(check_max_pool2d, lambda x, *a, **kw: max_pool2d(x, *a, **kw)
                      .astype(np.float64), dtypes=(np.float32,))
    assert "out has dtype float64; expected float32" in message


def test_an_input_modified_in_place_is_reported():
    def in_place(grad_out, x, *args, **kwargs):
        result = avg_pool2d_backward(grad_out, x, *args, **kwargs)
        x += 1
        return result

    message = failure(check_avg_pool2d_backward, in_place)
    assert "fn modified its input x in place" in message


def test_the_options_reach_fn_by_keyword():
    seen = set()

    def spy(x, weight, bias=None, stride=1, padding=0, dilation=1):
        seen.add((type(stride), type(padding), dilation))
        return conv2d(x, weight, bias, stride=stride, padding=padding, dilation=dilation)

    check_conv2d(spy, dilation=True, max_examples=FEW)
    assert {s for s, _, _ in seen} == {int, tuple}  # both forms of the stride
    assert any(d != 1 for _, _, d in seen)


def test_a_seed_reproduces_the_same_minimal_failure():
    def buggy(*a, **kw):
        return conv2d_flipped(*a, **kw)

    assert (failure(check_conv2d, buggy, seed=3) == failure(check_conv2d, buggy, seed=3))


def test_fn_must_be_callable():
    with pytest.raises(TypeError, match="fn must be a function; got int"):
        check_conv2d(3)
