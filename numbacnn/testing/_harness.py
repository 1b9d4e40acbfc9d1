"""What every checker shares: run Hypothesis, call the learner's function, compare, report.

A checker draws a *case* (the arguments of one call) from a strategy, calls
``fn`` with them, and compares what comes back with the reference kernels.
Every way to fail is an ``AssertionError`` raised from inside the Hypothesis
test, so Hypothesis shrinks it to the smallest case that still fails and
raises the error of that case.  The message names the call, the shapes and
options, the first differing element, and the inputs when they are small.
"""

import textwrap

import numpy as np
from hypothesis import HealthCheck, Verbosity, given, settings
from hypothesis import seed as _seed

__all__ = []

#: inputs with at most this many elements are printed in full in a message
_SHOW_LIMIT = 48

_TOLERANCE = {np.dtype(np.float64): (1e-7, 1e-9), np.dtype(np.float32): (1e-4, 1e-5)}


class Case:
    """One call of the function under test: its arrays, its options and the expected result.

    Parameters
    ----------
    name : str
        The numbacnn.functional function ``fn`` stands in for.
    arrays : dict of str to ndarray or None
        The positional arguments, in order, by name.
    options : dict
        The keyword arguments (stride, padding, ...).
    outputs : list of (str, ndarray)
        The reference result, by name; one entry for a function returning an array.
    keywords : tuple of str
        Names in ``arrays`` passed by keyword (the optional arrays of the signature).
    """

    def __init__(self, name, arrays, options, outputs, keywords=()):
        self.name = name
        self.arrays = arrays
        self.options = options
        self.outputs = outputs
        self.keywords = keywords
        self.shape_hints = {}

    def call_text(self):
        args = [k if k not in self.keywords else f"{k}={k}" for k in self.arrays]
        args += [f"{k}={v!r}" for k, v in self.options.items()]
        return f"fn({', '.join(args)})"

    def describe(self):
        """The call, the shapes and dtype, and the small inputs, one per line."""
        lines = [f"  call:   {self.call_text()}", "  shapes: " + ", ".join(
            f"{k} {v.shape}" if v is not None else f"{k} None" for k, v in self.arrays.items())]
        dtypes = {v.dtype.name for v in self.arrays.values() if v is not None}
        lines.append(f"  dtype:  {', '.join(sorted(dtypes))}")
        for k, v in self.arrays.items():
            if v is not None and v.size <= _SHOW_LIMIT:
                text = np.array2string(v, separator=", ", prefix=f"  {k} = ")
                # numpy separates the blocks of a 3-D or 4-D array by blank lines
                text = "\n".join(line for line in text.splitlines() if line.strip())
                lines.append(f"  {k} = {text}")
        return lines


def hint_lines(hints):
    """Each hint as ``  hint: ...``, wrapped to stay readable in a notebook."""
    return [textwrap.fill(text, 88, initial_indent="  hint: ", subsequent_indent="    ")
            for text in hints]


def fail(case, headline, extra=()):
    """Raise the AssertionError that reports ``case``."""
    # IPython and pytest hide the checker's own frames: the learner sees the call and
    # the message (and, when fn raised, fn's traceback chained before it)
    __tracebackhide__ = True
    lines = [f"{case.name}: {headline}", *case.describe(), *extra]
    raise AssertionError("\n".join(lines))


def call(fn, case):
    """Call ``fn`` on copies of the case's arrays; report an exception or an edit in place."""
    __tracebackhide__ = True
    copies = {k: None if v is None else v.copy() for k, v in case.arrays.items()}
    try:
        positional = [v for k, v in copies.items() if k not in case.keywords]
        keyword = {k: v for k, v in copies.items() if k in case.keywords}
        result = fn(*positional, **keyword, **case.options)
    except Exception as exc:  # noqa: BLE001 - any failure of the learner's code is reported
        fail(case, f"fn raised {type(exc).__name__}: {exc}")
    for k, v in case.arrays.items():
        if v is not None and not np.array_equal(copies[k], v, equal_nan=True):
            fail(case, f"fn modified its input {k} in place; compute into a new array")
    return result


def unpack(result, case):
    """The arrays ``fn`` returned, checked for count, type, shape and dtype."""
    __tracebackhide__ = True
    names = [name for name, _ in case.outputs]
    if result is None:
        fail(case, "fn returned None\n  (is its body still the blank template? it must return "
                   + (f"the tuple ({', '.join(names)})" if len(names) > 1 else names[0]) + ")")
    if len(names) > 1:
        if not isinstance(result, (tuple, list)) or len(result) != len(names):
            got = (f"a {type(result).__name__} of length {len(result)}"
                   if isinstance(result, (tuple, list)) else f"a {type(result).__name__}")
            fail(case, f"fn must return a tuple of {len(names)} arrays ({', '.join(names)}); "
                       f"got {got}")
        results = list(result)
    else:
        results = [result]
    for (name, want), got in zip(case.outputs, results, strict=True):
        if not isinstance(got, np.ndarray):
            fail(case, f"{name} must be a numpy.ndarray; got {type(got).__name__}")
        if got.shape != want.shape:
            fail(case, f"{name} has shape {got.shape}; expected {want.shape}",
                 hint_lines(case.shape_hints.get((name, got.shape), ())))
        if got.dtype != want.dtype:
            fail(case, f"{name} has dtype {got.dtype}; expected {want.dtype} "
                       "(the dtype of the inputs: float32 stays float32, float64 stays float64)")
    return results


def first_difference(want, got):
    """``(index, count)`` of the first element (row-major) where ``got`` is not close to ``want``.

    ``index`` is None when all elements agree.
    """
    rtol, atol = _TOLERANCE[want.dtype]
    scale = atol + rtol * max(1.0, float(np.max(np.abs(want), initial=0.0)))
    bad = ~np.isclose(got, want, rtol=rtol, atol=scale, equal_nan=True)
    if not bad.any():
        return None, 0
    return tuple(int(i) for i in np.argwhere(bad)[0]), int(bad.sum())


def close(want, got):
    """True if ``got`` agrees with ``want`` elementwise (the checkers' tolerance)."""
    return want.shape == got.shape and first_difference(want, got)[0] is None


def compare(case, results, hints):
    """Compare every output with the reference; report the first one that differs.

    ``hints(case, results)`` returns lines explaining a recognisable bug.
    """
    __tracebackhide__ = True
    for (name, want), got in zip(case.outputs, results, strict=True):
        index, count = first_difference(want, got)
        if index is None:
            continue
        where = ", ".join(map(str, index))
        extra = [f"  first differing element: {name}[{where}]: "
                 f"expected {want[index].item()!r}, got {got[index].item()!r}",
                 f"  ({count} of {want.size} elements of {name} differ)"]
        right = [n for (n, w), g in zip(case.outputs, results, strict=True) if close(w, g)]
        if len(case.outputs) > 1:
            extra.append("  correct outputs: " + (", ".join(right) if right else "none"))
        extra += hint_lines(hints(case, results))
        fail(case, f"{name} differs from the reference", extra)


def run_checker(fn, strategy, build, hints, max_examples, seed):
    """Run the Hypothesis test that calls ``fn`` on every case ``build`` makes.

    ``strategy`` draws the raw parameters; ``build(params)`` turns them into a
    :class:`Case` with the reference result.  Returns None when no case fails.
    """
    if not callable(fn):
        raise TypeError(f"fn must be a function; got {type(fn).__name__}")

    @settings(max_examples=max_examples, database=None, deadline=None,
              derandomize=seed is None, verbosity=Verbosity.quiet,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much])
    @given(params=strategy)
    def check(params):
        __tracebackhide__ = True
        case = build(params)
        compare(case, unpack(call(fn, case), case), hints)

    if seed is not None:
        check = _seed(seed)(check)
    __tracebackhide__ = True
    try:
        check()
    except AssertionError as err:
        # the frames of Hypothesis and of the checker say nothing to the learner: the
        # report starts here (a traceback of fn itself stays chained before it)
        raise err.with_traceback(None)  # noqa: B904 - the same error, shorter traceback
