"""Checkers for a learner's max pooling, its gradient and the gradient of average pooling.

Max-pool ties follow PyTorch: the whole gradient of a window goes to its
*first* maximum in row-major order.  The checkers draw values from
``{0, 1, 2}`` (and sometimes a constant image), so most windows hold ties.
"""

import numpy as np
from hypothesis import strategies as st

from . import _reference as ref
from ._conv import int_or_pair, small_ints
from ._harness import Case, close, run_checker

__all__ = ["check_max_pool2d", "check_max_pool2d_backward", "check_avg_pool2d_backward"]


def _pair(value):
    return value if isinstance(value, tuple) else (value, value)


@st.composite
def _pool_params(draw, dtypes, backward):
    """``(grad_out or None, x, options)`` of one pooling call whose window fits."""
    dtype = draw(st.sampled_from(dtypes))
    N, C = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kernel = draw(int_or_pair(1, 3))
    kh, kw = _pair(kernel)
    stride = draw(int_or_pair(1, 2))  # mostly below the kernel size: windows overlap
    padding = draw(int_or_pair(0, 1).filter(
        lambda p: _pair(p)[0] <= kh // 2 and _pair(p)[1] <= kw // 2))
    ph, pw = _pair(padding)
    H = max(1, kh - 2 * ph) + draw(st.integers(0, 3))
    W = max(1, kw - 2 * pw) + draw(st.integers(0, 3))
    if draw(st.booleans()):  # one value everywhere: every window is a tie
        x = np.full((N, C, H, W), draw(st.integers(0, 2)), dtype=dtype)
    else:
        x = draw(small_ints(dtype, (N, C, H, W), 0, 2))
    options = {"kernel_size": kernel, "stride": stride, "padding": padding}
    g = None
    if backward:
        size = ref.pool_out_size(x.shape, kernel, stride, padding)
        g = draw(small_ints(dtype, (N, C, *size), 1, 3))
    return g, x, options


def _args(options):
    return options["kernel_size"], options["stride"], options["padding"]


def _rounded_up(x_shape, options):
    (kh, kw), (sh, sw), (ph, pw) = (_pair(v) for v in _args(options))
    return x_shape[:2] + (-(-(x_shape[2] + 2 * ph - kh) // sh) + 1,
                          -(-(x_shape[3] + 2 * pw - kw) // sw) + 1)


def _size_hints(name, x_shape, options):
    return {(name, _rounded_up(x_shape, options)): [
        "the output size is rounded up; Ho = floor((H + 2 ph - kh) / sh) + 1 "
        "(a window that does not fit is dropped)"]}


def _windows(shape, options):
    """Yield ``(n, c, i, j, rows, cols)``: the in-image rows and columns of every window."""
    (kh, kw), (sh, sw), (ph, pw) = (_pair(v) for v in _args(options))
    N, C, H, W = shape
    Ho, Wo = ref.pool_out_size(shape, *_args(options))
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    rows = [r for r in range(i * sh - ph, i * sh - ph + kh) if 0 <= r < H]
                    cols = [q for q in range(j * sw - pw, j * sw - pw + kw) if 0 <= q < W]
                    yield n, c, i, j, rows, cols


def _max_variant(g, x, options, last, assign):
    """The max-pool gradient with the tie going to the last maximum, or written with ``=``."""
    grad_x = np.zeros_like(x)
    for n, c, i, j, rows, cols in _windows(x.shape, options):
        cells = [(r, q) for r in rows for q in cols]
        values = [x[n, c, r, q] for r, q in cells]
        k = len(values) - 1 - int(np.argmax(values[::-1])) if last else int(np.argmax(values))
        r, q = cells[k]
        grad_x[n, c, r, q] = g[n, c, i, j] + (0 if assign else grad_x[n, c, r, q])
    return grad_x


def _avg_variant(g, x, options, assign, exclude_pad):
    """The average-pool gradient written with ``=``, or divided by the in-image count."""
    kh, kw = _pair(options["kernel_size"])
    grad_x = np.zeros_like(x)
    for n, c, i, j, rows, cols in _windows(x.shape, options):
        share = g[n, c, i, j] / (len(rows) * len(cols) if exclude_pad else kh * kw)
        for r in rows:
            for q in cols:
                grad_x[n, c, r, q] = share + (0 if assign else grad_x[n, c, r, q])
    return grad_x


_ASSIGN = ("overlapping windows (stride < kernel_size) send gradient to the same pixel: "
           "accumulate with grad_x[...] += ..., not grad_x[...] = ...")


def _build_max(params):
    _, x, options = params
    case = Case("max_pool2d", {"x": x}, options,
                [("out", ref.max_pool2d(x, *_args(options)))])
    case.shape_hints = _size_hints("out", x.shape, options)
    return case


def _no_hints(case, results):
    return []


def _build_max_backward(params):
    g, x, options = params
    case = Case("max_pool2d_backward", {"grad_out": g, "x": x}, options,
                [("grad_x", ref.max_pool2d_backward(g, x, *_args(options)))])
    return case


def _max_backward_hints(case, results):
    g, x = case.arrays.values()
    got = results[0]
    if close(_max_variant(g, x, case.options, last=True, assign=False), got):
        return ["on a tie the gradient goes to the last maximum; it must go to the first "
                "maximum in row-major order (torch's rule: replace only if strictly larger)"]
    if close(_max_variant(g, x, case.options, last=False, assign=True), got):
        return [_ASSIGN]
    return []


def _build_avg_backward(params):
    g, x, options = params
    return Case("avg_pool2d_backward", {"grad_out": g, "x": x}, options,
                [("grad_x", ref.avg_pool2d_backward(g, x, *_args(options)))])


def _avg_backward_hints(case, results):
    g, x = case.arrays.values()
    got = results[0]
    if close(_avg_variant(g, x, case.options, assign=True, exclude_pad=False), got):
        return [_ASSIGN]
    if close(_avg_variant(g, x, case.options, assign=False, exclude_pad=True), got):
        return ["the share is divided by the number of in-image pixels; padding counts "
                "(count_include_pad=True): divide by kh * kw"]
    return []


_COMMON = """
    Hypothesis draws small shapes, kernel sizes of 1 to 3, strides of 1 or 2, a
    padding of at most ``kernel_size // 2``, and values from ``{0, 1, 2}``
    (sometimes one value everywhere), so that windows overlap and hold ties;
    ``stride`` is always given (never None).  A failure is shrunk to a
    minimal call.

    Parameters
    ----------
    fn : callable
        The implementation to check; plain NumPy is fine.
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
        first differing element (index, expected, got) and a hint when the
        result matches a classic bug; also when ``fn`` raises, returns None,
        modifies its input, or returns the wrong type, shape or dtype.
"""


def check_max_pool2d(fn, *, dtypes=(np.float64,), max_examples=50, seed=None):
    __tracebackhide__ = True  # a failure is reported from the caller's line
    run_checker(fn, _pool_params(tuple(dtypes), False), _build_max, _no_hints,
                max_examples, seed)


def check_max_pool2d_backward(fn, *, dtypes=(np.float64,), max_examples=50, seed=None):
    __tracebackhide__ = True  # a failure is reported from the caller's line
    run_checker(fn, _pool_params(tuple(dtypes), True), _build_max_backward,
                _max_backward_hints, max_examples, seed)


def check_avg_pool2d_backward(fn, *, dtypes=(np.float64,), max_examples=50, seed=None):
    __tracebackhide__ = True  # a failure is reported from the caller's line
    run_checker(fn, _pool_params(tuple(dtypes), True), _build_avg_backward,
                _avg_backward_hints, max_examples, seed)


check_max_pool2d.__doc__ = """Check a learner's ``max_pool2d(x, kernel_size, ...)``.

    ``fn`` is called like :func:`numbacnn.functional.max_pool2d`:
    ``fn(x, kernel_size=k, stride=s, padding=p)``, each of ``k, s, p`` an int
    or a pair ``(along H, along W)``.  It must return ``out (N, C, Ho, Wo)``,
    the maximum of every window (padding never wins), with
    :math:`H_o = \\lfloor (H + 2p_h - k_h)/s_h \\rfloor + 1`, compared with
    :func:`numbacnn.kernels.pool.max_pool2d_reference`.
""" + _COMMON + """
    Examples
    --------
    >>> from numbacnn.functional import max_pool2d
    >>> from numbacnn.testing import check_max_pool2d
    >>> check_max_pool2d(max_pool2d, max_examples=10)
"""

check_max_pool2d_backward.__doc__ = """Check a learner's ``max_pool2d_backward(grad_out, x, ...)``.

    ``fn`` is called like :func:`numbacnn.functional.max_pool2d_backward`:
    ``fn(grad_out, x, kernel_size=k, stride=s, padding=p)``.  It must return
    ``grad_x`` of the shape of ``x``: each ``grad_out[n, c, i, j]`` added to
    the maximum of window ``(i, j)``; where windows overlap, the
    contributions add up.  **Ties follow PyTorch: the gradient goes to the
    first maximum of the window in row-major order** (a later element takes
    over only if it is strictly larger).  Compared with
    :func:`numbacnn.kernels.pool.max_pool2d_backward_reference`; hints
    recognise ties sent to the last maximum and ``=`` instead of ``+=``.
""" + _COMMON + """
    Examples
    --------
    >>> from numbacnn.functional import max_pool2d_backward
    >>> from numbacnn.testing import check_max_pool2d_backward
    >>> check_max_pool2d_backward(max_pool2d_backward, max_examples=10)
"""

check_avg_pool2d_backward.__doc__ = """Check a learner's ``avg_pool2d_backward(grad_out, x, ...)``.

    ``fn`` is called like :func:`numbacnn.functional.avg_pool2d_backward`:
    ``fn(grad_out, x, kernel_size=k, stride=s, padding=p)``.  It must return
    ``grad_x`` of the shape of ``x``: each ``grad_out[n, c, i, j] / (kh kw)``
    added to every in-image pixel of window ``(i, j)`` (padding counts in the
    divisor, ``count_include_pad=True``).  Compared with
    :func:`numbacnn.kernels.pool.avg_pool2d_backward_reference`; hints
    recognise ``=`` instead of ``+=`` and a divisor without the padding.
""" + _COMMON + """
    Examples
    --------
    >>> from numbacnn.functional import avg_pool2d_backward
    >>> from numbacnn.testing import check_avg_pool2d_backward
    >>> check_avg_pool2d_backward(avg_pool2d_backward, max_examples=10)
"""
