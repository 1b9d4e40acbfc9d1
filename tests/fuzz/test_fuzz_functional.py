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


def _oracle_or_fail(name, compute):
    try:
        with np.errstate(all="ignore"):
            return compute()
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


def _taps(x, w, stride, padding, dilation):
    """Padded input, output size, and the (i, j, p, q, row, col) of every tap."""
    _, _, kh, kw = w.shape
    sh, sw = _pair(stride)
    dh, dw = _pair(dilation)
    top, bottom, left, right = _conv_pads(padding, kh, kw, dh, dw)
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    Ho = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    Wo = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    taps = [(i, j, p, q, i * sh + p * dh, j * sw + q * dw)
            for i in range(Ho) for j in range(Wo) for p in range(kh) for q in range(kw)]
    return xp, (top, left), (Ho, Wo), taps


def conv_oracle(x, w, b, stride, padding, dilation):
    x, w = _real(x, "x", 4), _real(w, "weight", 4)
    b = np.zeros(w.shape[0]) if b is None else _real(b, "bias", 1)
    if x.shape[1] != w.shape[1] or b.shape != (w.shape[0],):
        raise ValueError(f"oracle: shapes {x.shape} {w.shape} {b.shape}")
    xp, _, (Ho, Wo), taps = _taps(x, w, stride, padding, dilation)
    y = np.zeros((x.shape[0], w.shape[0], Ho, Wo))
    for i, j, p, q, r, c in taps:
        y[:, :, i, j] += xp[:, :, r, c] @ w[:, :, p, q].T
    return y + b[None, :, None, None]


def conv_backward_oracle(g, x, w, stride, padding, dilation):
    g, x, w = _real(g, "grad_out", 4), _real(x, "x", 4), _real(w, "weight", 4)
    xp, (top, left), (Ho, Wo), taps = _taps(x, w, stride, padding, dilation)
    if g.shape != (x.shape[0], w.shape[0], Ho, Wo) or x.shape[1] != w.shape[1]:
        raise ValueError(f"oracle: shapes {g.shape} {x.shape} {w.shape}")
    gxp, gw = np.zeros_like(xp), np.zeros_like(w)
    for i, j, p, q, r, c in taps:
        gxp[:, :, r, c] += g[:, :, i, j] @ w[:, :, p, q]
        gw[:, :, p, q] += g[:, :, i, j].T @ xp[:, :, r, c]
    H, W = x.shape[2:]
    return gxp[:, :, top:top + H, left:left + W], gw, g.sum(axis=(0, 2, 3))


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
    exp = _oracle_or_fail("conv2d", lambda: conv_oracle(
        arrays["x"], arrays["weight"], arrays["bias"], **geom))
    x, w = as_f64(arrays["x"]), as_f64(arrays["weight"])
    finite = np.isfinite(x).all() and np.isfinite(w).all()
    big = np.abs(x).max(initial=0) * np.abs(w).max(initial=0) * _bound_terms(x, w)
    atol = sum_bound(_bound_terms(x, w), out.dtype, big) + np.finfo(out.dtype).eps * np.abs(
        as_f64(arrays["bias"])).max(initial=0)
    rtol = 1e-12 if out.dtype == np.float64 else 1e-5
    assert_close(out, exp, rtol=rtol, atol=atol if finite else 0, what="conv2d")


@given(data=st.data(), problem=conv_problems())
def test_conv2d_backward(data, problem):
    arrays, geom = problem
    x, w = arrays["x"], arrays["weight"]
    Ho = conv_oracle(x[:, :, :, :1].repeat(x.shape[3], 3), w, None, **geom).shape
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
    exp = _oracle_or_fail("conv2d_backward", lambda: conv_backward_oracle(*args, **geom))
    g, xx, ww = (as_f64(a) for a in args)
    finite = all(np.isfinite(a).all() for a in (g, xx, ww))
    terms = max(g.size, 1)
    big = max(np.abs(g).max(initial=0), 1) * max(np.abs(xx).max(initial=0),
                                                  np.abs(ww).max(initial=0), 1) * terms
    atol = sum_bound(terms, out[0].dtype, big) if finite else 0
    rtol = 1e-10 if out[0].dtype == np.float64 else 1e-5
    for name, a, e in zip(["grad_x", "grad_weight", "grad_bias"], out, exp, strict=True):
        assert_close(a, e, rtol=rtol, atol=atol, what=f"conv2d_backward {name}")


def pool_oracle(x, kind, kernel_size, stride, padding, grad=None):
    """Forward (``grad is None``) or backward of max/avg pooling by a loop over windows."""
    x = _real(x, "x", 4)
    kh, kw = _pair(kernel_size)
    sh, sw = (kh, kw) if stride is None else _pair(stride)
    ph, pw = _pair(padding)
    fill = -np.inf if kind == "max" else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    Ho, Wo = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    if Ho < 1 or Wo < 1 or 2 * ph > kh or 2 * pw > kw:
        raise ValueError(f"oracle: window {kh}x{kw} padding {ph},{pw} on {x.shape}")
    y = np.empty(x.shape[:2] + (Ho, Wo))
    if grad is not None:
        grad = _real(grad, "grad_out", 4)
        if grad.shape != y.shape:
            raise ValueError(f"oracle: grad_out {grad.shape}, output {y.shape}")
    gxp = np.zeros_like(xp)
    for i in range(Ho):
        for j in range(Wo):
            win = xp[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw].reshape(x.shape[:2] + (-1,))
            if kind == "avg":
                y[:, :, i, j] = win.sum(axis=-1) / (kh * kw)
                if grad is not None:
                    gxp[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw] += (
                        grad[:, :, i, j] / (kh * kw))[:, :, None, None]
                continue
            nan = np.isnan(win).any(axis=-1)
            y[:, :, i, j] = np.where(nan, np.nan, win.max(axis=-1))
            if grad is not None:
                first = win.argmax(axis=-1)  # first maximum: torch's tie rule
                for n in range(x.shape[0]):
                    for c in range(x.shape[1]):
                        a, b = divmod(int(first[n, c]), kw)
                        gxp[n, c, i * sh + a, j * sw + b] += grad[n, c, i, j]
    if grad is None:
        return y
    return gxp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]


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
    exp = _oracle_or_fail(f"{kind}_pool2d", lambda: pool_oracle(case["x"], kind, **geom))
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
    exp = _oracle_or_fail(f"{kind}_pool2d_backward",
                          lambda: pool_oracle(args[1], kind, **geom, grad=args[0]))
    xx = as_f64(args[1])
    if kind == "max" and not (np.isfinite(xx).all() and len(np.unique(xx)) == xx.size):
        return  # which of tied or non-finite values receives the gradient: see test_pool.py
    tol = 1e-12 if out.dtype == np.float64 else 1e-6
    assert_close(out, exp, rtol=tol, atol=tol, what=f"{kind}_pool2d_backward")
