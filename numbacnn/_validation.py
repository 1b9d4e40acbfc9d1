"""Input checks shared by the public entry points.

Validation happens once, at the public function, never inside a kernel.
Every message names the argument exactly as it is spelled in the signature
and the sizes involved, so a user can see what to change.
"""

import numbers

import numpy as np

__all__ = [
    "as_float_array",
    "common_float_dtype",
    "check_ndim",
    "check_nonempty",
    "as_pair",
    "check_choice",
]


def as_float_array(a, name, dtype=None):
    """Return ``a`` as a C-contiguous float32/float64 array without touching it.

    float32 stays float32, float64 stays float64, integer and boolean input
    becomes float64; anything else (complex, object, strings) is a
    ``TypeError``.  The result may share memory with ``a`` (it is never
    written to by numbacnn).
    """
    arr = np.asarray(a)
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
    return np.ascontiguousarray(arr, dtype=dtype)


def common_float_dtype(*arrays):
    """The dtype a computation on ``arrays`` runs in: float32 only if all are float32."""
    dts = [np.asarray(a).dtype for a in arrays if a is not None]
    if dts and all(d == np.float32 for d in dts):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


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
