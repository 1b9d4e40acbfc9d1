"""Size arguments of the convolution and pooling functions: no overflow, no runaway memory.

Every size argument that cannot give an int64 index or product is refused with a
``ValueError`` naming it; a huge but meaningful size (a stride larger than the image,
giving one output pixel) still gives the right answer with memory bounded by the
input and output sizes.  Reproducers that used to crash the interpreter run in a
subprocess, so that a regression fails one test instead of killing pytest.
"""

import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from numbacnn.functional import (
    avg_pool2d,
    avg_pool2d_backward,
    conv2d,
    conv2d_backward,
    max_pool2d,
    max_pool2d_backward,
)

INT64_MAX = 2**63 - 1


def run_snippet(code, timeout=240):
    """Run ``code`` in a fresh interpreter; return its stdout, failing on a crash or hang."""
    try:
        proc = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"snippet did not finish within {timeout} s:\n{code}")
    assert proc.returncode == 0, (
        f"snippet exited with code {proc.returncode}\nstdout:\n{proc.stdout}\n"
        f"stderr:\n{proc.stderr}\ncode:\n{code}"
    )
    return proc.stdout


def conv_oracle(x, w, stride, padding, dilation=(1, 1)):
    """Naive NumPy convolution: every output pixel from its own window of the padded input."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    N, C, H, W = x.shape
    F, _, kh, kw = w.shape
    xp = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    xp[:, :, ph : ph + H, pw : pw + W] = x
    Ho = (H + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    Wo = (W + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((N, F, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            win = xp[:, :, i * sh : i * sh + dh * (kh - 1) + 1 : dh,
                     j * sw : j * sw + dw * (kw - 1) + 1 : dw]
            out[:, :, i, j] = np.einsum("ncpq,fcpq->nf", win, w)
    return out


# ------------------------------------------------------------------ crash reproducers


CRASHERS = {
    # heap corruption: the product of the strides wrapped in int64
    "stride_2_62_by_4": "conv2d(np.ones((2, 3, 40, 40)), np.ones((4, 3, 3, 3)), stride=(2**62, 4))",
    # segfault on a small image
    "stride_2_62_by_4_small": (
        "conv2d(np.ones((2, 3, 5, 5)), np.ones((4, 3, 3, 3)), stride=(2**62, 4))"
    ),
    "backward_stride_2_62_by_4": (
        "x = np.ones((2, 3, 5, 5)); w = np.ones((4, 3, 3, 3)); g = np.ones((2, 4, 1, 1))\n"
        "conv2d_backward(g, x, w, stride=(2**62, 4))"
    ),
    # hang
    "stride_2_62": "conv2d(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), stride=2**62)",
    # SystemError (a MemoryError inside the dispatcher)
    "stride_10_5": "conv2d(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), stride=10**5)",
}


@pytest.mark.parametrize("name", sorted(CRASHERS))
def test_crash_reproducers_finish_with_the_right_answer(name):
    # run the statements in a fresh interpreter; it pickles the result for the oracle
    lines = CRASHERS[name].splitlines()
    body = "\n".join(lines[:-1] + ["r = " + lines[-1]])
    code = (
        "import numpy as np\nfrom numbacnn.functional import conv2d, conv2d_backward\n"
        + body
        + "\nimport pickle, sys\nsys.stdout.buffer.write(pickle.dumps(r))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=240)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]

    result = pickle.loads(proc.stdout)
    if name.startswith("backward"):
        gx, gw, gb = result
        # one output pixel (window at the top-left corner) per image and filter
        x = np.ones((2, 3, 5, 5))
        expected_gx = np.zeros_like(x)
        expected_gx[:, :, :3, :3] = 4.0  # 4 filters of ones, grad_out of ones
        np.testing.assert_array_equal(gx, expected_gx)
        np.testing.assert_array_equal(gw, np.full((4, 3, 3, 3), 2.0))
        np.testing.assert_array_equal(gb, np.full(4, 2.0))
        return
    if name in ("stride_2_62_by_4", "stride_2_62_by_4_small"):
        x = np.ones((2, 3, 40, 40) if name == "stride_2_62_by_4" else (2, 3, 5, 5))
        w = np.ones((4, 3, 3, 3))
        Wo = (x.shape[3] - 3) // 4 + 1
        expected = conv_oracle(x, w, (x.shape[2], 4), (0, 0))
        assert expected.shape == (2, 4, 1, Wo)
    else:
        expected = np.full((1, 1, 1, 1), 9.0)
    np.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize("stride", [2**63, 10**30, (1, 2**63), (2**64, 1)])
def test_stride_beyond_int64_is_a_value_error_naming_stride(stride):
    x, w = np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3))
    with pytest.raises(ValueError, match="stride"):
        conv2d(x, w, stride=stride)
    with pytest.raises(ValueError, match="stride"):
        conv2d_backward(np.ones((1, 1, 1, 1)), x, w, stride=stride)
    with pytest.raises(ValueError, match="stride"):
        max_pool2d(x, 2, stride=stride)
    with pytest.raises(ValueError, match="stride"):
        avg_pool2d_backward(np.ones((1, 1, 1, 1)), x, 2, stride=stride)


@pytest.mark.parametrize("arg", ["padding", "dilation"])
def test_conv_padding_and_dilation_beyond_int64_are_value_errors(arg):
    x, w = np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3))
    with pytest.raises(ValueError, match=f"{arg} is too large"):
        conv2d(x, w, **{arg: 2**63})
    # each fits, but the padded size or the span of the kernel does not
    big = {"padding": 2**62, "dilation": 2**62}[arg]
    with pytest.raises(ValueError, match=f"{arg} is too large"):
        conv2d(x, w, **{arg: big})


def test_pool_kernel_size_whose_divisor_overflows_is_a_value_error():
    x = np.ones((1, 1, 1, 1))
    # kh * kw = 2**64 (returned inf), then 2**63 (the sign flipped)
    with pytest.raises(ValueError, match="kernel_size"):
        avg_pool2d(x, kernel_size=2**32, padding=2**31)
    with pytest.raises(ValueError, match="kernel_size"):
        avg_pool2d(x, kernel_size=(2, 2**62), padding=(1, 2**61))
    with pytest.raises(ValueError, match="kernel_size"):
        max_pool2d(x, kernel_size=2**64)


def test_pool_with_a_huge_but_representable_kernel_is_exact():
    # window 2**31 x 1 with padding 2**30 around a single pixel: one output, 1 / 2**31
    x = np.full((1, 1, 1, 1), 3.0)
    y = avg_pool2d(x, kernel_size=(2**31, 1), padding=(2**30, 0))
    np.testing.assert_array_equal(y, np.full((1, 1, 1, 1), 3.0 / 2**31))
    np.testing.assert_array_equal(max_pool2d(x, (2**31, 1), padding=(2**30, 0)), x)


@pytest.mark.parametrize("stride", [6, 3000, 10**5, 2**40, (2**62, 1), (1, 2**62)])
def test_strides_larger_than_the_image_match_the_oracle(stride):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 5, 6))
    w = rng.standard_normal((4, 3, 2, 3))
    pair = (stride, stride) if isinstance(stride, int) else stride
    expected = conv_oracle(x, w, pair, (1, 1))
    y = conv2d(x, w, stride=stride, padding=1)
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
    # backward through the oracle's own arithmetic: grad_x of sum(y * g)
    g = rng.standard_normal(y.shape)
    gx, gw, gb = conv2d_backward(g, x, w, stride=stride, padding=1)
    eps_gx = np.zeros_like(x)
    Ho, Wo = y.shape[2:]
    sh, sw = pair
    for i in range(Ho):
        for j in range(Wo):
            for p in range(2):
                for q in range(3):
                    h, v = i * sh + p - 1, j * sw + q - 1
                    if 0 <= h < 5 and 0 <= v < 6:
                        eps_gx[:, :, h, v] += np.einsum("nf,fc->nc", g[:, :, i, j], w[:, :, p, q])
    np.testing.assert_allclose(gx, eps_gx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gb, g.sum(axis=(0, 2, 3)), rtol=1e-12)
    assert gw.shape == w.shape


def test_huge_padding_and_dilation_use_memory_bounded_by_input_and_output():
    # padded input 2e6 x 2e6 but a 5x5 output: the answer needs no padded copy
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 2, 5, 5))
    w = rng.standard_normal((3, 2, 3, 3))
    d, p = 10**6, 10**6
    y = conv2d(x, w, padding=p, dilation=d)
    assert y.shape == (1, 3, 5, 5)
    # only the centre tap ever lands inside the image
    np.testing.assert_allclose(y, np.einsum("nchw,fc->nfhw", x, w[:, :, 1, 1]), rtol=1e-13)
    gx, gw, gb = conv2d_backward(np.ones_like(y), x, w, padding=p, dilation=d)
    np.testing.assert_allclose(gx, np.broadcast_to(w[:, :, 1, 1].sum(0)[None, :, None, None],
                                                   x.shape), rtol=1e-13)
    expected_gw = np.zeros_like(w)
    expected_gw[:, :, 1, 1] = x.sum(axis=(0, 2, 3))
    np.testing.assert_allclose(gw, expected_gw, rtol=1e-13)


PEAK_RSS = """
import resource, sys
import numpy as np
from numbacnn.functional import conv2d, conv2d_backward
x, w = np.ones((2, 3, 5, 5)), np.ones((4, 3, 3, 3))
conv2d(x, w, stride=1)
conv2d_backward(np.ones((2, 4, 3, 3)), x, w)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
y = conv2d(x, w, stride={stride})
gx, gw, gb = conv2d_backward(np.ones_like(y), x, w, stride={stride})
assert (y == 27.0).all(), y
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(peak - base)
"""


def test_huge_stride_does_not_grow_scratch_memory():
    # stride 3000 on a 5x5 image used to peak at 2.35 GB of scratch
    grown_kib = int(run_snippet(PEAK_RSS.format(stride=3000)).split()[-1])
    assert grown_kib < 50 * 1024, f"peak RSS grew by {grown_kib} KiB"


def test_output_too_large_to_allocate_is_a_memory_error_naming_it():
    x, w = np.ones((1, 1, 1, 1)), np.ones((1, 1, 1, 1))
    with pytest.raises(MemoryError, match=r"output.*shape.*bytes"):
        conv2d(x, w, padding=2**40)
    # each side of the output fits in int64, the number of bytes does not
    with pytest.raises(MemoryError, match=r"output.*shape.*bytes"):
        conv2d(np.ones((4, 1, 1, 1)), np.ones((2**10, 1, 1, 1)), padding=2**30)


def test_max_pool_backward_with_huge_stride_matches_a_window_oracle():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 2, 5, 5))
    y = max_pool2d(x, 3, stride=2**62, padding=1)
    np.testing.assert_array_equal(y[..., 0, 0], x[:, :, :2, :2].max(axis=(2, 3)))
    gx = max_pool2d_backward(np.ones_like(y), x, 3, stride=2**62, padding=1)
    assert gx.sum() == 4.0
    a = avg_pool2d(x, 3, stride=2**62, padding=1)
    np.testing.assert_allclose(a[..., 0, 0], x[:, :, :2, :2].sum(axis=(2, 3)) / 9, rtol=1e-15)


def test_sizes_are_checked_before_any_allocation(monkeypatch):
    calls = []
    real_empty = np.empty

    def spy(*args, **kwargs):
        calls.append(args)
        return real_empty(*args, **kwargs)

    import numbacnn.functional.conv as conv_mod

    monkeypatch.setattr(conv_mod.np, "empty", spy)
    with pytest.raises(ValueError, match="stride"):
        conv2d(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), stride=2**63)
    assert calls == []


@pytest.mark.parametrize("seed", range(6))
def test_direct_kernels_equal_the_reference_kernels(seed):
    from numbacnn.kernels import conv as kc

    rng = np.random.default_rng(seed)
    N, C, F = rng.integers(1, 3), rng.integers(1, 4), rng.integers(1, 5)
    H, W = rng.integers(3, 9, size=2)
    kh, kw = rng.integers(1, 4, size=2)
    sh, sw, dh, dw = rng.integers(1, 3, size=4)
    ph, pw = rng.integers(0, 3, size=2)
    Hp, Wp = H + 2 * ph, W + 2 * pw
    Ho, Wo = (Hp - dh * (kh - 1) - 1) // sh + 1, (Wp - dw * (kw - 1) - 1) // sw + 1
    if Ho < 1 or Wo < 1:
        return
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((F, C, kh, kw))
    b = rng.standard_normal(F)
    g = rng.standard_normal((N, F, Ho, Wo))
    xp = np.zeros((N, C, Hp, Wp))
    xp[:, :, ph : ph + H, pw : pw + W] = x
    ref = np.empty((N, F, Ho, Wo))
    kc.conv2d_forward_reference(xp, w, b, sh, sw, dh, dw, ref)
    out = np.empty_like(ref)
    kc.conv2d_forward_direct(x, w, b, ph, pw, sh, sw, dh, dw, out)
    np.testing.assert_array_equal(out, ref)
    gxp, gw, gb = np.empty_like(xp), np.empty_like(w), np.empty_like(b)
    kc.conv2d_backward_reference(g, xp, w, sh, sw, dh, dw, gxp, gw, gb)
    gx = np.empty_like(x)
    kc.conv2d_grad_x_direct(g, w, ph, pw, sh, sw, dh, dw, gx)
    np.testing.assert_array_equal(gx, gxp[:, :, ph : ph + H, pw : pw + W])
