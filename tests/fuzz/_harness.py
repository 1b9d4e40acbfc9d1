"""The property every fuzzed call must satisfy, the hostile-input strategies, and the bookkeeping.

The property (:func:`check_call`): a public function either returns or raises
``ValueError``/``TypeError`` whose message names one of its arguments (or a
``MemoryError`` that names a size); any other exception, a crash, or a hang is a
failure.  Its inputs compare equal before and after the call, and an array result
is float32 exactly when every array input was float32, float64 otherwise.

Every call is counted per entry point; before each call the example is written
(and flushed) to the file named by ``NUMBACNN_FUZZ_LOG``, so that when the
worker process dies the driver (``tests/test_fuzz.py``) can show the example
that killed it.
"""

import collections
import copy
import faulthandler
import os
import re

import numpy as np
from hypothesis import strategies as st

#: entry point -> number of calls made in this process
CALLS = collections.Counter()
#: entry points reached other than through :func:`check_call` (layers built inside a model)
SEEN = set()

#: seconds one example may take before the watchdog dumps the stacks and kills the worker
EXAMPLE_TIMEOUT = float(os.environ.get("NUMBACNN_FUZZ_EXAMPLE_TIMEOUT", "300"))

_LOG = os.environ.get("NUMBACNN_FUZZ_LOG")


class Raised:
    """What :func:`check_call` returns when the call raised an accepted exception."""

    def __init__(self, exc):
        self.exc = exc

    def __repr__(self):
        return f"Raised({self.exc!r})"


def _log(name, args, kwargs):
    if not _LOG:
        return
    with open(_LOG, "w") as fh:
        fh.write(f"{name}\nargs={_describe(args)}\nkwargs={_describe(kwargs)}\n")


def _describe(value):
    """A short repr: arrays by dtype, shape, strides and (when small) values."""
    if isinstance(value, np.ndarray):
        body = np.array2string(value, threshold=40, edgeitems=2) if value.dtype != object else "..."
        return (f"ndarray(dtype={value.dtype}, shape={value.shape}, strides={value.strides}, "
                f"{body})")
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_describe(v) for v in value[:8])
        more = ", ..." if len(value) > 8 else ""
        return f"[{inner}{more}]" if isinstance(value, list) else f"({inner}{more})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_describe(v)}" for k, v in value.items()) + "}"
    text = repr(value)
    return text if len(text) < 200 else text[:200] + "..."


def _snapshot(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, tuple, dict)):
        return copy.deepcopy(value)
    return value


def _same(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        if a.dtype.kind in "fc":
            return bool(np.array_equal(a, b, equal_nan=True))
        if a.dtype == object:
            return all(_same(x, y) for x, y in zip(a.ravel(), b.ravel(), strict=True))
        return bool(np.array_equal(a, b))
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(
            _same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 -- incomparable objects: identity is all we can ask
        return a is b


def names_argument(message, names):
    """True if ``message`` mentions one of ``names`` as a whole word."""
    return any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(n)}(?![A-Za-z0-9_])", message)
               for n in names)


def expected_float_dtype(arrays):
    """float32 if every array-like input is float32, else float64 (the documented rule)."""
    dts = [np.asarray(a).dtype if not isinstance(a, list) else None for a in arrays
           if a is not None]
    if dts and all(d == np.float32 for d in dts):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def _float_outputs(out):
    if isinstance(out, np.ndarray):
        yield out
    elif isinstance(out, (tuple, list)):
        for o in out:
            yield from _float_outputs(o)


def check_call(name, fn, args=(), kwargs=None, *, argnames, arrays=None, mutable=()):
    """Call ``fn(*args, **kwargs)`` and check the property; return its result or :class:`Raised`.

    Parameters
    ----------
    name : str
        The public entry point, for the per-entry-point count.
    argnames : sequence of str
        Names an error message may use to name the argument at fault.
    arrays : sequence, optional
        The array inputs that decide the result dtype; if given, every float
        array in the result must have :func:`expected_float_dtype` of them.
    mutable : sequence of int or str
        Positions/keywords of arguments that the function documents as updated
        in place (an optimizer's ``params``); they are not compared.
    """
    kwargs = {} if kwargs is None else kwargs
    CALLS[name] += 1
    _log(name, args, kwargs)
    before_args = [None if i in mutable else _snapshot(a) for i, a in enumerate(args)]
    before_kwargs = {k: (None if k in mutable else _snapshot(v)) for k, v in kwargs.items()}
    faulthandler.dump_traceback_later(EXAMPLE_TIMEOUT, exit=True)
    try:
        out = fn(*args, **kwargs)
    except MemoryError as exc:
        assert re.search(r"\d", str(exc)), f"MemoryError without a size: {exc!r}"
        return Raised(exc)
    except (ValueError, TypeError) as exc:
        msg = str(exc)
        assert names_argument(msg, argnames), (
            f"{type(exc).__name__} does not name an argument of {name} "
            f"({', '.join(argnames)}): {msg!r}"
        )
        out = Raised(exc)
    finally:
        faulthandler.cancel_dump_traceback_later()
    for i, (a, b) in enumerate(zip(args, before_args, strict=True)):
        if i not in mutable:
            which = argnames[i] if i < len(argnames) else i
            assert _same(a, b), f"{name} modified its argument {which}"
    for k, b in before_kwargs.items():
        if k not in mutable:
            assert _same(kwargs[k], b), f"{name} modified its argument {k}"
    if arrays is not None and not isinstance(out, Raised):
        want = expected_float_dtype(arrays)
        for o in _float_outputs(out):
            if o.dtype.kind == "f":
                assert o.dtype == want, f"{name} returned {o.dtype} for {want} inputs"
    return out


# --------------------------------------------------------------------------- strategies

#: sizes that must be refused or handled: zero, negative, past every integer width
HOSTILE_INTS = [0, -1, -(2**31), 2**31 - 1, 2**31, 2**32, 2**62, 2**63 - 1, 2**63, 2**64,
                10**5, 3000, 10**30, -(2**63)]
HOSTILE_SCALARS = [1.5, float("nan"), float("inf"), True, None, "2", np.int64(2), np.float64(2.0),
                   np.uint64(2**64 - 1), 2 + 0j, (), (1,), (1, 2, 3), [1, 2]]


def hostile_size():
    """A stride/padding/size argument: mostly hostile, sometimes a small valid one."""
    one = st.one_of(st.sampled_from(HOSTILE_INTS), st.integers(-3, 4))
    return st.one_of(
        one,
        st.tuples(one, one),
        st.tuples(st.integers(1, 3), st.sampled_from(HOSTILE_INTS)),
        st.sampled_from(HOSTILE_SCALARS),
    )


MUTATIONS = ["nonfinite", "huge", "dtype", "noncontig", "negstride", "fortran", "zero_d",
             "empty", "ndim_up", "ndim_down", "ragged", "list", "scalar"]
ODD_DTYPES = [np.float16, np.int64, np.int32, np.uint8, np.bool_, np.complex128, object,
              np.longdouble, "U3"]


def values(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def mutate(draw, arr, rng):
    """``arr`` after one hostile mutation, and the mutation's name."""
    kind = draw(st.sampled_from(MUTATIONS))
    a = np.array(arr)
    if kind == "nonfinite":
        if a.dtype.kind in "biu":  # an integer array cannot hold NaN: the value becomes float
            a = a.astype(np.float64)
        elif a.dtype.kind != "f":  # text (a model file's config): nothing to make non-finite
            return a, kind
        if a.size:
            flat = a.reshape(-1)
            for _ in range(draw(st.integers(1, 3))):
                flat[draw(st.integers(0, a.size - 1))] = draw(
                    st.sampled_from([np.nan, np.inf, -np.inf]))
        return a, kind
    if kind == "huge":
        big = 1e100 if a.dtype == np.float64 else 1e15
        if a.size:
            a.reshape(-1)[draw(st.integers(0, a.size - 1))] = draw(st.sampled_from([big, -big]))
        return a, kind
    if kind == "dtype":
        dt = draw(st.sampled_from(ODD_DTYPES))
        return (a.astype(dt) if dt != "U3" else a.astype(str)), kind
    if kind == "noncontig":
        big = np.zeros(tuple(2 * s for s in a.shape), dtype=a.dtype)
        view = big[tuple(slice(None, None, 2) for _ in a.shape)]
        view[...] = a
        return view, kind
    if kind == "negstride":
        rev = np.ascontiguousarray(a[tuple(slice(None, None, -1) for _ in a.shape)])
        return rev[tuple(slice(None, None, -1) for _ in a.shape)], kind
    if kind == "fortran":
        return np.asfortranarray(a), kind
    if kind == "zero_d":
        return np.array(a.reshape(-1)[0] if a.size else 1.0, dtype=a.dtype), kind
    if kind == "empty":
        if a.ndim == 0:
            return np.empty(0, a.dtype), kind
        shape = list(a.shape)
        shape[draw(st.integers(0, a.ndim - 1))] = 0
        return np.empty(shape, a.dtype), kind
    if kind == "ndim_up":
        return a[None], kind
    if kind == "ndim_down":
        return (a[0] if a.ndim and a.shape[0] else a.reshape(-1)), kind
    if kind == "ragged":
        rows = a.tolist() if a.ndim else [a.item()]
        if isinstance(rows, list) and rows:
            rows = [rows[0], rows[0] + [0.0] if isinstance(rows[0], list) else [rows[0], 1.0]]
        return rows, kind
    if kind == "list":
        return a.tolist(), kind
    return (float(a.reshape(-1)[0]) if a.size else 1.0), kind


@st.composite
def maybe_mutated(draw, arrays, p_valid=0.4):
    """``(arrays, mutated_name, mutation)``: valid, or one entry replaced by a hostile one."""
    out = dict(arrays)
    if draw(st.floats(0, 1)) < p_valid:
        return out, None, None
    key = draw(st.sampled_from(sorted(k for k, v in arrays.items() if v is not None)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    out[key], kind = mutate(draw, arrays[key], rng)
    return out, key, kind


def float_dtypes():
    return st.sampled_from([np.float64, np.float32])


#: mutations after which the arguments still hold the same numbers (an oracle applies)
SAME_NUMBERS = {None, "nonfinite", "huge", "noncontig", "negstride", "fortran", "list"}


def as_f64(a):
    return np.asarray(a, dtype=np.float64)


def sum_bound(terms, dtype, *magnitudes):
    """Rounding-error bound of a sum of ``terms`` products (both sides round).

    The bound of tests/test_signal.py: ``2 (k + 1) eps`` times the largest product sum.
    """
    eps = np.finfo(dtype).eps
    return 2 * (terms + 1) * eps * float(np.prod(magnitudes)) + 1e-300


def assert_close(got, expected, rtol, atol, what):
    """Same shape, same non-finite positions, values within tolerance."""
    got = np.asarray(got)
    expected = np.asarray(expected)
    assert got.shape == expected.shape, f"{what}: shape {got.shape}, oracle {expected.shape}"
    np.testing.assert_allclose(got.astype(np.float64), expected.astype(np.float64),
                               rtol=rtol, atol=atol, equal_nan=True, err_msg=what)
