"""numbacnn.functional's convolution and pooling under valid and hostile input.

Oracles: naive loops over output positions and kernel taps (one matrix product
per tap), with torch's treatment of NaN and inf: a non-finite value spoils only
the outputs (and gradients) it takes part in.
"""

import numpy as np
from _harness import (
    Raised,
    as_f64,
    assert_close,
    check_call,
    float_dtypes,
    hostile_size,
    maybe_mutated,
    sum_bound,
)
from hypothesis import given
from hypothesis import strategies as st

from numbacnn import functional as F


def _pair(v):
    return (int(v), int(v)) if np.ndim(v) == 0 else (int(v[0]), int(v[1]))


def _real(a, name, ndim):
    if isinstance(a, np.ndarray) and a.dtype.kind not in "biuf":
        raise TypeError(f"{name}: oracle needs real numbers, got {a.dtype}")
    arr = as_f64(a)
    if arr.ndim != ndim:
        raise ValueError(f"{name}: oracle needs {ndim}-D, got {arr.shape}")
    return arr


class _TooBig(Exception):
    """The oracle cannot hold the result that the function under test returned."""


def _oracle_or_fail(name, compute):
    try:
        with np.errstate(all="ignore"):
            return compute()
    except MemoryError as exc:
        raise _TooBig from exc
    except Exception as exc:  # noqa: BLE001 -- any refusal of the oracle is the finding
        raise AssertionError(f"{name} accepted input that the oracle rejects: {exc!r}") from exc


def _conv_pads(padding, kh, kw, dh, dw):
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0, 0, 0
        th, tw = dh * (kh - 1), dw * (kw - 1)
        return th // 2, th - th // 2, tw // 2, tw - tw // 2
    ph, pw = _pair(padding)
    return ph, ph, pw, pw


def _geometry(x, w, stride, padding, dilation):
    """Output size and, per tap ``(p, q)``, the rows/columns it reads (Python ints: no wrap)."""
    H, W = x.shape[2:]
    kh, kw = w.shape[2:]
    sh, sw = _pair(stride)
    dh, dw = _pair(dilation)
    top, bottom, left, right = _conv_pads(padding, kh, kw, dh, dw)
    Ho = (H + top + bottom - dh * (kh - 1) - 1) // sh + 1
    Wo = (W + left + right - dw * (kw - 1) - 1) // sw + 1
    if Ho < 1 or Wo < 1:
        raise ValueError(f"oracle: no output for {x.shape} {w.shape}")

    def index(n_out, step, tap, dil, before, size):
        src = [o * step + tap * dil - before for o in range(n_out)]
        keep = [o for o, r in enumerate(src) if 0 <= r < size]
        return np.array(keep, dtype=np.intp), np.array([src[o] for o in keep], dtype=np.intp)

    taps = [(p, q, *index(Ho, sh, p, dh, top, H), *index(Wo, sw, q, dw, left, W))
            for p in range(kh) for q in range(kw)]
    return (Ho, Wo), taps


def _gathered(x, Ho, Wo, io, ri, jo, ci):
    """x at the tap's source pixels, zeros where the tap reads padding: shape (N, C, Ho, Wo)."""
    xg = np.zeros(x.shape[:2] + (Ho, Wo))
    xg[:, :, io[:, None], jo[None, :]] = x[:, :, ri[:, None], ci[None, :]]
    return xg


def conv_oracle(x, w, b, stride, padding, dilation):
    x, w = _real(x, "x", 4), _real(w, "weight", 4)
    b = np.zeros(w.shape[0]) if b is None else _real(b, "bias", 1)
    if x.shape[1] != w.shape[1] or b.shape != (w.shape[0],):
        raise ValueError(f"oracle: shapes {x.shape} {w.shape} {b.shape}")
    (Ho, Wo), taps = _geometry(x, w, stride, padding, dilation)
    y = np.zeros((x.shape[0], w.shape[0], Ho, Wo))
    for p, q, io, ri, jo, ci in taps:
        y += np.einsum("nchw,fc->nfhw", _gathered(x, Ho, Wo, io, ri, jo, ci), w[:, :, p, q])
    return y + b[None, :, None, None]


def conv_backward_oracle(g, x, w, stride, padding, dilation):
    g, x, w = _real(g, "grad_out", 4), _real(x, "x", 4), _real(w, "weight", 4)
    (Ho, Wo), taps = _geometry(x, w, stride, padding, dilation)
    if g.shape != (x.shape[0], w.shape[0], Ho, Wo) or x.shape[1] != w.shape[1]:
        raise ValueError(f"oracle: shapes {g.shape} {x.shape} {w.shape}")
    gx, gw = np.zeros_like(x), np.zeros_like(w)
    for p, q, io, ri, jo, ci in taps:
        back = np.einsum("nfhw,fc->nchw", g[:, :, io[:, None], jo[None, :]], w[:, :, p, q])
        gx[:, :, ri[:, None], ci[None, :]] += back  # one tap reads each pixel at most once
        gw[:, :, p, q] = np.einsum("nfhw,nchw->fc", g, _gathered(x, Ho, Wo, io, ri, jo, ci))
    return gx, gw, g.sum(axis=(0, 2, 3))


@st.composite
def conv_problems(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(float_dtypes())
    N, C, Fo = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dilation = draw(st.one_of(st.integers(1, 2), st.tuples(st.integers(1, 2), st.integers(1, 2))))
    padding = draw(st.one_of(st.integers(0, 2), st.tuples(st.integers(0, 2), st.integers(0, 2)),
                             st.sampled_from(["valid", "same"])))
    stride = 1 if padding == "same" else draw(
        st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    H = draw(st.integers(1, 7)) + 2 * (kh - 1)
    W = draw(st.integers(1, 7)) + 2 * (kw - 1)
    arrays = {"x": rng.standard_normal((N, C, H, W)).astype(dtype),
              "weight": rng.standard_normal((Fo, C, kh, kw)).astype(dtype),
              "bias": rng.standard_normal(Fo).astype(dtype)}
    return arrays, dict(stride=stride, padding=padding, dilation=dilation)


def _hostile_geometry(data, geom, mutated):
    """The valid geometry, or (more often when the arrays are valid) one hostile size in it."""
    if data.draw(st.floats(0, 1)) < (0.3 if mutated else 0.6):
        geom = dict(geom)
        key = data.draw(st.sampled_from(sorted(geom)))
        geom[key] = data.draw(hostile_size())
    return geom


def _bound_terms(x, w):
    return w.shape[1] * w.shape[2] * w.shape[3]


@given(data=st.data(), problem=conv_problems())
def test_conv2d(data, problem):
    arrays, geom = problem
    arrays, key, kind = data.draw(maybe_mutated(arrays))
    geom = _hostile_geometry(data, geom, key is not None)
    out = check_call("functional.conv2d", F.conv2d, (arrays["x"], arrays["weight"], arrays["bias"]),
                     geom, argnames=["x", "weight", "bias", "stride", "padding", "dilation"],
                     arrays=[arrays["x"], arrays["weight"], arrays["bias"]])
    if isinstance(out, Raised):
        return
    try:
        exp = _oracle_or_fail("conv2d", lambda: conv_oracle(
            arrays["x"], arrays["weight"], arrays["bias"], **geom))
    except _TooBig:
        return  # a result too large for the oracle to hold
    x, w, b = as_f64(arrays["x"]), as_f64(arrays["weight"]), as_f64(arrays["bias"])
    # over the finite entries: NaN/inf positions are compared exactly by assert_close
    big = _largest(x) * _largest(w) * _bound_terms(x, w)
    atol = sum_bound(_bound_terms(x, w), out.dtype, big) + np.finfo(out.dtype).eps * _largest(b)
    rtol = 1e-12 if out.dtype == np.float64 else 1e-5
    assert_close(out, exp, rtol=rtol, atol=atol, what="conv2d")


def _largest(a):
    return np.abs(a[np.isfinite(a)]).max(initial=0)


@given(data=st.data(), problem=conv_problems())
def test_conv2d_backward(data, problem):
    arrays, geom = problem
    x, w = arrays["x"], arrays["weight"]
    Ho = conv_oracle(x, w, None, **geom).shape
    rng = np.random.default_rng(0)
    case = {"grad_out": rng.standard_normal(Ho).astype(x.dtype), "x": x, "weight": w}
    case, key, kind = data.draw(maybe_mutated(case))
    geom = _hostile_geometry(data, geom, key is not None)
    args = (case["grad_out"], case["x"], case["weight"])
    out = check_call("functional.conv2d_backward", F.conv2d_backward, args, geom,
                     argnames=["grad_out", "x", "weight", "stride", "padding", "dilation"],
                     arrays=list(args))
    if isinstance(out, Raised):
        return
    try:
        exp = _oracle_or_fail("conv2d_backward", lambda: conv_backward_oracle(*args, **geom))
    except _TooBig:
        return  # a result too large for the oracle to hold
    g, xx, ww = (as_f64(a) for a in args)
    terms = max(g.size, 1)
    big = max(_largest(g), 1) * max(_largest(xx), _largest(ww), 1) * terms
    atol = sum_bound(terms, out[0].dtype, big)
    rtol = 1e-10 if out[0].dtype == np.float64 else 1e-5
    for name, a, e in zip(["grad_x", "grad_weight", "grad_bias"], out, exp, strict=True):
        assert_close(a, e, rtol=rtol, atol=atol, what=f"conv2d_backward {name}")


def pool_oracle(x, kind, kernel_size, stride, padding, grad=None):
    """Forward (``grad is None``) or backward of max/avg pooling by a loop over windows.

    Windows are clipped to the image in Python integers (no padded copy); padding
    counts in the average's divisor ``kh * kw`` and never wins a maximum.
    """
    x = _real(x, "x", 4)
    kh, kw = _pair(kernel_size)
    sh, sw = (kh, kw) if stride is None else _pair(stride)
    ph, pw = _pair(padding)
    H, W = x.shape[2:]
    Ho, Wo = (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1
    if Ho < 1 or Wo < 1 or 2 * ph > kh or 2 * pw > kw or min(kh, kw, sh, sw) < 1 or min(ph, pw) < 0:
        raise ValueError(f"oracle: window {kh}x{kw} padding {ph},{pw} on {x.shape}")
    y = np.empty(x.shape[:2] + (Ho, Wo))
    if grad is not None:
        grad = _real(grad, "grad_out", 4)
        if grad.shape != y.shape:
            raise ValueError(f"oracle: grad_out {grad.shape}, output {y.shape}")
    gx = np.zeros_like(x)
    divisor = float(kh * kw)
    for i in range(Ho):
        r0, r1 = max(i * sh - ph, 0), min(i * sh - ph + kh, H)
        for j in range(Wo):
            c0, c1 = max(j * sw - pw, 0), min(j * sw - pw + kw, W)
            win = x[:, :, r0:r1, c0:c1].reshape(x.shape[:2] + (-1,))
            if kind == "avg":
                y[:, :, i, j] = win.sum(axis=-1) / divisor
                if grad is not None:
                    gx[:, :, r0:r1, c0:c1] += (grad[:, :, i, j] / divisor)[:, :, None, None]
                continue
            if win.shape[-1] == 0:
                raise ValueError("oracle: a window of padding only")
            nan = np.isnan(win).any(axis=-1)
            y[:, :, i, j] = np.where(nan, np.nan, win.max(axis=-1))
            if grad is not None:
                first = win.argmax(axis=-1)  # first maximum: torch's tie rule
                for n in range(x.shape[0]):
                    for c in range(x.shape[1]):
                        a, b = divmod(int(first[n, c]), c1 - c0)
                        gx[n, c, r0 + a, c0 + b] += grad[n, c, i, j]
    return y if grad is None else gx


@st.composite
def pool_problems(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(float_dtypes())
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    H = draw(st.integers(max(1, kh - 2 * ph), 7))
    W = draw(st.integers(max(1, kw - 2 * pw), 7))
    x = rng.permutation(2 * 3 * H * W)[:draw(st.integers(1, 2)) * draw(st.integers(1, 3)) * H * W]
    x = (x.reshape(-1, 1, H, W) * 0.1 - 1.0).astype(dtype)  # distinct values: no ties
    stride = draw(st.one_of(st.none(), st.integers(1, 3),
                            st.tuples(st.integers(1, 3), st.integers(1, 3))))
    return x, dict(kernel_size=(kh, kw), stride=stride, padding=(ph, pw))


@given(data=st.data(), problem=pool_problems(), kind=st.sampled_from(["max", "avg"]))
def test_pool2d(data, problem, kind):
    x, geom = problem
    case, key, mut = data.draw(maybe_mutated({"x": x}))
    geom = _hostile_geometry(data, geom, key is not None)
    fn = getattr(F, f"{kind}_pool2d")
    out = check_call(f"functional.{kind}_pool2d", fn, (case["x"],), geom,
                     argnames=["x", "kernel_size", "stride", "padding"], arrays=[case["x"]])
    if isinstance(out, Raised):
        return
    try:
        exp = _oracle_or_fail(f"{kind}_pool2d", lambda: pool_oracle(case["x"], kind, **geom))
    except _TooBig:
        return  # a result too large for the oracle to hold
    tol = 1e-13 if out.dtype == np.float64 else 1e-6
    assert_close(out, exp, rtol=tol, atol=tol, what=f"{kind}_pool2d")


@given(data=st.data(), problem=pool_problems(), kind=st.sampled_from(["max", "avg"]))
def test_pool2d_backward(data, problem, kind):
    x, geom = problem
    with np.errstate(all="ignore"):
        shape = pool_oracle(x, "avg", **geom).shape
    g = np.random.default_rng(1).standard_normal(shape).astype(x.dtype)
    case, key, mut = data.draw(maybe_mutated({"grad_out": g, "x": x}))
    geom = _hostile_geometry(data, geom, key is not None)
    fn = getattr(F, f"{kind}_pool2d_backward")
    args = (case["grad_out"], case["x"])
    out = check_call(f"functional.{kind}_pool2d_backward", fn, args, geom,
                     argnames=["grad_out", "x", "kernel_size", "stride", "padding"],
                     arrays=list(args))
    if isinstance(out, Raised):
        return
    try:
        exp = _oracle_or_fail(f"{kind}_pool2d_backward",
                              lambda: pool_oracle(args[1], kind, **geom, grad=args[0]))
    except _TooBig:
        return  # a result too large for the oracle to hold
    xx = as_f64(args[1])
    if kind == "max" and not (np.isfinite(xx).all() and len(np.unique(xx)) == xx.size):
        return  # which of tied or non-finite values receives the gradient: see test_pool.py
    tol = 1e-12 if out.dtype == np.float64 else 1e-6
    assert_close(out, exp, rtol=tol, atol=tol, what=f"{kind}_pool2d_backward")
