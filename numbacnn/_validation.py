"""Input checks shared by the public entry points.

Validation happens once, at the public function, never inside a kernel.
Every message names the argument exactly as it is spelled in the signature
and the sizes involved, so a user can see what to change.
"""

import numbers

import numpy as np

__all__ = [
    "as_rectangular_array",
    "as_float_array",
    "common_float_dtype",
    "check_ndim",
    "check_nonempty",
    "as_pair",
    "check_choice",
    "check_int",
    "check_real",
    "check_finite_array",
    "check_seed",
    "check_bool",
    "as_float_ndarray",
    "check_shape",
    "check_conv_operands",
]


def as_rectangular_array(a, name):
    """``np.asarray(a)``, with a ``ValueError`` naming ``name`` for a ragged nested list."""
    try:
        return np.asarray(a)
    except ValueError as exc:
        raise ValueError(
            f"{name} must be a rectangular array (nested sequences of equal lengths); "
            f"NumPy could not convert it: {exc}"
        ) from None


def as_float_array(a, name, dtype=None):
    """Return ``a`` as a C-contiguous float32/float64 array without touching it.

    float32 stays float32, float64 stays float64, integer and boolean input
    becomes float64; anything else (complex, object, strings) is a
    ``TypeError``, and a ragged nested list a ``ValueError`` naming ``name``.
    The number of dimensions is kept (a 0-d value stays 0-d, so the caller's
    shape check refuses it where a vector is expected).  The result may share
    memory with ``a`` (it is never written to by numbacnn).
    """
    arr = as_rectangular_array(a, name)
    if dtype is None:
        if arr.dtype == np.float32 or arr.dtype == np.float64:
            dtype = arr.dtype
        elif arr.dtype.kind in "biu":
            dtype = np.dtype(np.float64)
        elif arr.dtype.kind == "f":
            # float16 / longdouble: compute in float64, the closest supported type
            dtype = np.dtype(np.float64)
        else:
            raise TypeError(
                f"{name} must be a real numeric array; got dtype {arr.dtype}"
            )
    elif arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real numeric array; got dtype {arr.dtype}")
    # np.asarray rather than np.ascontiguousarray, which would turn a 0-d value into shape (1,)
    return np.asarray(arr, dtype=dtype, order="C")


def common_float_dtype(*arrays):
    """The dtype a computation on ``arrays`` runs in: float32 only if all are float32.

    A value NumPy cannot convert (a ragged nested list) counts as not float32;
    :func:`as_float_array` then refuses it with a message naming it.
    """
    dts = [_dtype_or_none(a) for a in arrays if a is not None]
    if dts and all(d == np.float32 for d in dts):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def _dtype_or_none(a):
    """``np.asarray(a).dtype``, or None when NumPy refuses ``a`` (ragged nesting)."""
    try:
        return np.asarray(a).dtype
    except ValueError:
        return None


def check_ndim(arr, name, ndim, layout=None):
    """Raise ``ValueError`` unless ``arr.ndim == ndim``; ``layout`` describes the axes."""
    if arr.ndim != ndim:
        what = f" {layout}" if layout else ""
        raise ValueError(
            f"{name} must be {ndim}-D{what}; got {arr.ndim}-D array of shape {arr.shape}"
        )


def check_nonempty(arr, name):
    """Raise ``ValueError`` if ``arr`` has a zero-length axis."""
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty; got shape {arr.shape}")


def as_pair(value, name, minimum=None):
    """Turn an int or a pair of ints into a tuple ``(a, b)``, checking ``>= minimum``."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        pair = (int(value), int(value))
    else:
        try:
            pair = tuple(value)
        except TypeError:
            raise TypeError(
                f"{name} must be an int or a pair of ints; got {value!r}"
            ) from None
        if len(pair) != 2 or not all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in pair
        ):
            raise TypeError(f"{name} must be an int or a pair of ints; got {value!r}")
        pair = (int(pair[0]), int(pair[1]))
    if minimum is not None and min(pair) < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value!r}")
    return pair


def check_choice(value, name, choices):
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        opts = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {opts}; got {value!r}")


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_int(value, name, minimum=None):
    """Return ``value`` as an ``int``, raising unless it is an integer ``>= minimum``.

    ``bool`` is refused: ``True`` is an ``int`` to Python but never a sensible size.
    """
    if not _is_int(value):
        raise TypeError(f"{name} must be an integer; got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def check_real(value, name, low=None, high=None, low_open=False, high_open=False,
               allow_none=False):
    """Return ``value`` as a finite ``float`` inside the stated interval.

    ``low``/``high`` are bounds (``None``: unbounded); ``low_open``/``high_open``
    exclude the bound itself.  With ``allow_none``, ``None`` is passed through.
    """
    if value is None and allow_none:
        return None
    if (not isinstance(value, numbers.Real) or isinstance(value, bool)
            or not np.isfinite(value)):
        raise ValueError(f"{name} must be a finite real number; got {value!r}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise ValueError(f"{name} must lie in {left}{lo}, {hi}{right}; got {value!r}")
    return float(value)


def check_finite_array(X, name):
    """Raise ``ValueError`` naming the first sample (axis 0) that holds NaN or inf."""
    bad = ~np.isfinite(X)
    if bad.any():
        first = int(np.argwhere(bad.reshape(X.shape[0], -1).any(axis=1))[0, 0])
        raise ValueError(
            f"{name} contains {int(bad.sum())} NaN or infinite values (first in sample "
            f"{first}); remove or impute them before training"
        )


def check_seed(seed, name="seed"):
    """``None`` or an integer ``>= 0`` (what ``numpy.random.SeedSequence`` accepts)."""
    if seed is None:
        return None
    if not _is_int(seed) or seed < 0:
        raise ValueError(f"{name} must be None or an integer >= 0; got {seed!r}")
    return int(seed)


def check_bool(value, name):
    """Return ``value`` as a ``bool``, raising ``TypeError`` unless it is ``True`` or ``False``."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def check_shape(arr, name, layout, expected, where):
    """Raise ``ValueError`` unless ``arr.shape == expected``.

    ``layout`` spells the axes (``"(4H, D)"``), ``where`` says where the sizes
    come from (``"H = 8 from h0.shape[1]"``).
    """
    check_ndim(arr, name, len(expected), layout)
    if arr.shape != tuple(expected):
        raise ValueError(
            f"{name} must have shape {layout} = {tuple(expected)} ({where}); "
            f"got shape {arr.shape}"
        )


def check_conv_operands(x, weight, bias=None):
    """Check that ``x (N, C, H, W)``, ``weight (F, C, kh, kw)`` and ``bias (F,)`` fit together."""
    check_ndim(x, "x", 4, "(N, C, H, W)")
    check_ndim(weight, "weight", 4, "(F, C, kh, kw)")
    check_nonempty(x, "x")
    check_nonempty(weight, "weight")
    if weight.shape[1] != x.shape[1]:
        raise ValueError(
            f"weight has {weight.shape[1]} input channels (shape {weight.shape}) but x has "
            f"{x.shape[1]} channels (shape {x.shape})"
        )
    F = weight.shape[0]
    if bias is not None and bias.shape != (F,):
        raise ValueError(
            f"bias must have shape (F,) = ({F},) to match weight of shape {weight.shape}; "
            f"got shape {bias.shape}"
        )


def as_float_ndarray(a, name, ndim, layout=None, dtype=None):
    """:func:`as_float_array`, then :func:`check_ndim` and :func:`check_nonempty`."""
    arr = as_float_array(a, name, dtype=dtype)
    check_ndim(arr, name, ndim, layout)
    check_nonempty(arr, name)
    return arr


def allocate(shape, dtype, name, fill=None):
    """``numpy.empty(shape, dtype)`` (or ``full`` with ``fill``), or a ``MemoryError`` naming it.

    The size in bytes is computed with Python integers first, so an array that
    no address space could hold fails with the same clear ``MemoryError`` as
    one the machine cannot spare; the message names the array, its shape and
    its size in bytes.
    """
    dtype = np.dtype(dtype)
    shape = tuple(int(s) for s in shape)
    nbytes = dtype.itemsize
    for s in shape:
        nbytes *= s
    try:
        if nbytes > np.iinfo(np.intp).max:
            raise MemoryError
        if fill is None:
            return np.empty(shape, dtype=dtype)
        return np.full(shape, fill, dtype=dtype)
    except MemoryError:
        raise MemoryError(
            f"cannot allocate {name} of shape {shape} and dtype {dtype}: {nbytes} bytes "
            f"({nbytes / 2**30:.3g} GiB)"
        ) from None
