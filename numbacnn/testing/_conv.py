"""Checkers for a learner's 2-D convolution and its gradients."""

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from . import _reference as ref
from ._harness import Case, close, run_checker

__all__ = ["check_conv2d", "check_conv2d_backward", "int_or_pair", "small_ints"]


def small_ints(dtype, shape, low=-3, high=3):
    """Arrays of small integers stored as floats: sums are exact and shrink to zeros."""
    return arrays(dtype, shape, elements=st.integers(low, high).map(float))


@st.composite
def int_or_pair(draw, low, high):
    """An int (the simpler form, tried first while shrinking) or a pair ``(along H, along W)``."""
    first = draw(st.integers(low, high))
    if not draw(st.booleans()):
        return first
    return first, draw(st.integers(low, high))


def _pair(value):
    return value if isinstance(value, tuple) else (value, value)


@st.composite
def _conv_params(draw, dtypes, dilation):
    """The arrays and options of one conv2d call whose (dilated) kernel fits the padded input."""
    dtype = draw(st.sampled_from(dtypes))
    N, C, F = (draw(st.integers(1, 2)) for _ in range(3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = draw(int_or_pair(1, 3))
    padding = draw(int_or_pair(0, 2))
    options = {"stride": stride, "padding": padding}
    d = (1, 1)
    if dilation:
        options["dilation"] = draw(int_or_pair(1, 2))
        d = _pair(options["dilation"])
    (ph, pw) = _pair(padding)
    H = max(1, d[0] * (kh - 1) + 1 - 2 * ph) + draw(st.integers(0, 3))
    W = max(1, d[1] * (kw - 1) + 1 - 2 * pw) + draw(st.integers(0, 3))
    x = draw(small_ints(dtype, (N, C, H, W)))
    w = draw(small_ints(dtype, (F, C, kh, kw)))
    b = draw(st.none() | small_ints(dtype, (F,)))
    return x, w, b, options


def _geometry(options):
    return options["stride"], options["padding"], options.get("dilation", 1)


def _rounded_up(x_shape, w_shape, options):
    """The output size with the division rounded up instead of down (a classic slip)."""
    (sh, sw), (ph, pw), (dh, dw) = (_pair(v) for v in _geometry(options))
    spans = (dh * (w_shape[2] - 1) + 1, dw * (w_shape[3] - 1) + 1)
    return tuple(-(-(n + 2 * p - span) // s) + 1 for n, p, span, s
                 in zip(x_shape[2:], (ph, pw), spans, (sh, sw), strict=True))


_SIZE_RULE = ("Ho = floor((H + 2 ph - dh (kh - 1) - 1) / sh) + 1, likewise Wo "
              "(the division rounds down: a window that does not fit is dropped)")


def _build_forward(params):
    x, w, b, options = params
    out = ref.conv2d(x, w, b, *_geometry(options))
    case = Case("conv2d", {"x": x, "weight": w, "bias": b}, options, [("out", out)])
    up = x.shape[:1] + w.shape[:1] + _rounded_up(x.shape, w.shape, options)
    case.shape_hints = {("out", up): ["the output size is rounded up; " + _SIZE_RULE]}
    return case


def _forward_hints(case, results):
    x, w, b = case.arrays.values()
    got = results[0]
    geometry = _geometry(case.options)
    if close(ref.conv2d(x, w[:, :, ::-1, ::-1], b, *geometry), got):
        return ["your output is the convolution with the kernel flipped (rotated by 180 "
                "degrees); conv2d is a cross-correlation, "
                "y[i, j] = sum w[p, q] x[i s + p, j s + q]"]
    if b is not None and close(ref.conv2d(x, w, None, *geometry), got):
        return ["the bias b[f] is not added to the output of filter f"]
    return []


def check_conv2d(fn, *, dilation=False, dtypes=(np.float64,), max_examples=50, seed=None):
    """Check a learner's ``conv2d(x, weight, bias, stride=..., padding=...)``.

    ``fn`` is called like :func:`numbacnn.functional.conv2d`:
    ``fn(x, weight, bias, stride=s, padding=p)`` with ``x (N, C, H, W)``,
    ``weight (F, C, kh, kw)``, ``bias (F,)`` or None, and ``s``, ``p`` each an
    int or a pair ``(along H, along W)``; with ``dilation=True`` also
    ``dilation=d``.  It must return the cross-correlation
    ``out (N, F, Ho, Wo)`` of :doc:`/theory/cnn-layers`, with
    :math:`H_o = \\lfloor (H + 2p_h - d_h(k_h - 1) - 1)/s_h \\rfloor + 1`,
    in the dtype of the inputs, without modifying them.

    Hypothesis draws small shapes and small integer values, compares ``fn``
    with :func:`numbacnn.kernels.conv.conv2d_forward_reference`, and shrinks a
    failure to a minimal call.

    Parameters
    ----------
    fn : callable
        The implementation to check; plain NumPy is fine.
    dilation : bool, default False
        Also pass (and check) ``dilation``.
    dtypes : sequence of numpy dtypes, default (float64,)
        The dtypes of the inputs; include ``np.float32`` to check that float32 stays float32.
    max_examples : int, default 50
        How many calls Hypothesis tries.
    seed : int, optional
        None runs a fixed (derandomized) sequence of examples; an int runs the
        reproducible sequence of that seed.

    Returns
    -------
    None
        When every call agrees with the reference.

    Raises
    ------
    AssertionError
        For the smallest failing call: the call, the shapes, the inputs, the
        first differing element (index, expected, got), and a hint when the
        result matches a classic bug (kernel flipped, output size rounded up,
        bias missing).  Also when ``fn`` raises, returns None, modifies its
        input, or returns the wrong type, shape or dtype.

    Examples
    --------
    >>> from numbacnn.functional import conv2d
    >>> from numbacnn.testing import check_conv2d
    >>> check_conv2d(conv2d, dilation=True, max_examples=10)
    """
    __tracebackhide__ = True  # a failure is reported from the caller's line
    run_checker(fn, _conv_params(tuple(dtypes), dilation), _build_forward, _forward_hints,
                max_examples, seed)


@st.composite
def _backward_params(draw, dtypes, dilation):
    x, w, _, options = draw(_conv_params(dtypes, dilation))
    Ho, Wo = ref.conv_out_size(x.shape, w.shape, *_geometry(options))
    g = draw(small_ints(x.dtype, (x.shape[0], w.shape[0], Ho, Wo)))
    return g, x, w, options


def _build_backward(params):
    g, x, w, options = params
    grad_x, grad_w, grad_b = ref.conv2d_backward(g, x, w, *_geometry(options))
    case = Case("conv2d_backward", {"grad_out": g, "x": x, "weight": w}, options,
                [("grad_x", grad_x), ("grad_weight", grad_w), ("grad_bias", grad_b)])
    (ph, pw) = _pair(options["padding"])
    padded = x.shape[:2] + (x.shape[2] + 2 * ph, x.shape[3] + 2 * pw)
    case.shape_hints = {("grad_x", padded): [
        "grad_x has the shape of the padded input; crop the padding off, "
        "grad_x = grad_x_pad[:, :, ph:ph + H, pw:pw + W]"]}
    return case


def _backward_hints(case, results):
    g, x, w = case.arrays.values()
    got_x, got_w, got_b = results
    (_, want_x), (_, want_w), (_, want_b) = case.outputs
    geometry = _geometry(case.options)
    hints = []
    if not close(want_x, got_x) and close(
            ref.conv2d_backward(g, x, w[:, :, ::-1, ::-1], *geometry)[0], got_x):
        hints.append("grad_x is the full correlation of grad_out with the kernel as it is; "
                     "the kernel must be rotated by 180 degrees (equivalently: scatter "
                     "grad_out[i, j] * w[p, q] to x_pad[i s + p, j s + q])")
    if not close(want_w, got_w) and g.shape[0] > 1 and close(
            ref.conv2d_backward(g[-1:], x[-1:], w, *geometry)[1], got_w):
        hints.append("grad_weight holds the last image's contribution only; the weight "
                     "gradient sums over every image n of the batch")
    if not close(want_b, got_b):
        N, _, Ho, Wo = g.shape
        for count, what in ((N * Ho * Wo, "the images and pixels"), (N, "the images"),
                            (Ho * Wo, "the pixels")):
            if count > 1 and close(want_b / want_b.dtype.type(count), got_b):
                hints.append(f"grad_bias is averaged over {what}; it is the sum "
                             "sum_{n,i,j} grad_out[n, f, i, j]")
                break
    return hints


def check_conv2d_backward(fn, *, dilation=False, dtypes=(np.float64,), max_examples=50,
                          seed=None):
    """Check a learner's ``conv2d_backward(grad_out, x, weight, stride=..., padding=...)``.

    ``fn`` is called like :func:`numbacnn.functional.conv2d_backward`:
    ``fn(grad_out, x, weight, stride=s, padding=p)`` (and ``dilation=d`` with
    ``dilation=True``), where ``grad_out`` has the shape ``(N, F, Ho, Wo)`` of
    the forward output.  It must return the tuple ``(grad_x, grad_weight,
    grad_bias)`` of shapes ``(N, C, H, W)``, ``(F, C, kh, kw)``, ``(F,)``
    derived in :doc:`/theory/conv-backprop`, compared with
    :func:`numbacnn.kernels.conv.conv2d_backward_reference`.

    Parameters
    ----------
    fn : callable
    dilation, dtypes, max_examples, seed
        As in :func:`check_conv2d`.

    Returns
    -------
    None
        When every call agrees with the reference.

    Raises
    ------
    AssertionError
        As in :func:`check_conv2d`, naming the first gradient that differs and
        which gradients are correct; hints recognise a kernel not rotated in
        the input gradient, a weight gradient from the last image only, a bias
        gradient averaged instead of summed, and an uncropped input gradient.

    Examples
    --------
    >>> from numbacnn.functional import conv2d_backward
    >>> from numbacnn.testing import check_conv2d_backward
    >>> check_conv2d_backward(conv2d_backward, max_examples=10)
    """
    __tracebackhide__ = True  # a failure is reported from the caller's line
    run_checker(fn, _backward_params(tuple(dtypes), dilation), _build_backward,
                _backward_hints, max_examples, seed)
