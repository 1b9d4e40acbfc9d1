"""Single 2-D images: a drop-in for the 2-D functions of :mod:`scipy.signal`.

:func:`correlate2d` and :func:`convolve2d` take the same arguments as their
scipy namesakes (plus a ``stride``) and return the same numbers, including
scipy's corner cases (``'same'`` with even kernels, ``'valid'`` with a kernel
larger than the image, ``'wrap'``/``'symm'`` boundaries with kernels larger
than the image).  :func:`fftconvolve2d` computes the same full/same/valid
convolution with FFTs, :func:`separable_convolve2d` with two 1-D passes.
:func:`gaussian_kernel` and :func:`sobel_kernels` build the classic filters.

Inputs are validated here once; the loops live in
:mod:`numbacnn.kernels.correlate`.  float32 stays float32, float64 stays
float64, integer input is computed in float64 (scipy would keep integers),
and no function writes into its inputs.  See :doc:`/theory/convolution`.
"""

import math
import numbers

import numpy as np

from ._validation import (
    as_float_array,
    as_float_ndarray,
    as_pair,
    check_choice,
    check_int,
    check_ndim,
    check_nonempty,
)
from ._validation import common_float_dtype as _common_float_dtype
from .kernels import correlate as _k

__all__ = [
    "correlate2d",
    "convolve2d",
    "fftconvolve2d",
    "separable_convolve2d",
    "gaussian_kernel",
    "sobel_kernels",
]

_MODES = ("full", "same", "valid")
_BOUNDARIES = ("fill", "wrap", "symm")


# --------------------------------------------------------------------------- helpers


def _check_valid_shapes(shape1, shape2, name1="in1", name2="in2"):
    """scipy's rule for 'valid': one input must be at least as large as the other in every axis."""
    ok1 = all(a >= b for a, b in zip(shape1, shape2, strict=True))
    ok2 = all(b >= a for a, b in zip(shape1, shape2, strict=True))
    if not (ok1 or ok2):
        raise ValueError(
            f"mode='valid' needs one of {name1} and {name2} to be at least as large as the "
            f"other in every dimension; got {name1} shape {shape1} and {name2} shape {shape2}"
        )


def _axis_plan(n, k, mode, flip, s):
    """Where along one axis the extended image starts, and how long the output is.

    Every mode is a *valid* correlation of an extended image ``E`` with the
    (for a convolution: flipped) kernel.  Let ``a`` be the index of the first
    requested output inside scipy's 'full' output and ``L`` the number of
    outputs.  Full output ``t`` reads image samples ``t - (k - 1) ... t``, so
    ``E`` starts at image index ``off = a - (k - 1)`` and the strided output
    needs ``span = (Lo - 1) * s + k`` samples of it.
    """
    if mode == "full":
        a, L = 0, n + k - 1
    elif mode == "same":
        # scipy centres 'same' differently for the two operations when k is even:
        # convolve2d keeps full[(k-1)//2 :], correlate2d keeps full[k//2 :].
        a, L = ((k - 1) // 2 if flip else k // 2), n
    else:
        # For 'valid' with a kernel larger than the image scipy swaps the inputs;
        # both operations then keep full[n-1 : k], the same rule as n >= k.
        a, L = min(n, k) - 1, abs(n - k) + 1
    Lo = (L - 1) // s + 1
    return a - (k - 1), Lo, (Lo - 1) * s + k


def _extended_indices(off, span, n, boundary):
    """Image index for each position of the extended axis (``-1`` marks fill)."""
    j = np.arange(off, off + span)
    if boundary == "wrap":
        return j % n
    if boundary == "symm":
        # reflect about the edges, repeating the edge sample: ... 1 0 | 0 1 ... n-1 | n-1 n-2 ...
        r = np.where(j >= 0, j, -j - 1) % (2 * n)
        return np.where(r >= n, 2 * n - 1 - r, r)
    return np.where((j >= 0) & (j < n), j, -1)


def _extend(img, offs, spans, boundary, fillvalue):
    """The extended image ``E`` covering ``offs[d] ... offs[d] + spans[d] - 1`` of ``img``."""
    (o0, o1), (s0, s1) = offs, spans
    H, W = img.shape
    if o0 >= 0 and o1 >= 0 and o0 + s0 <= H and o1 + s1 <= W:
        if o0 == 0 and o1 == 0:
            return img  # the kernel reads only the part it needs; no copy
        return np.ascontiguousarray(img[o0:o0 + s0, o1:o1 + s1])
    if boundary == "fill":
        E = np.full((s0, s1), fillvalue, dtype=img.dtype)
        r0, r1 = max(0, -o0), min(s0, H - o0)
        c0, c1 = max(0, -o1), min(s1, W - o1)
        if r0 < r1 and c0 < c1:
            E[r0:r1, c0:c1] = img[o0 + r0:o0 + r1, o1 + c0:o1 + c1]
        return E
    rows = _extended_indices(o0, s0, H, boundary)
    cols = _extended_indices(o1, s1, W, boundary)
    return np.ascontiguousarray(img.take(rows, axis=0).take(cols, axis=1))


def _check_fillvalue(fillvalue):
    """``fillvalue`` as a float: a real scalar or a one-element real array (scipy's rule).

    What scipy refuses (complex, several or no elements, text) is a ``ValueError``
    as there; so is a bool, which scipy would take as 0 or 1.
    """
    try:
        arr = None if isinstance(fillvalue, (bool, np.bool_)) else np.asarray(fillvalue)
    except ValueError:
        arr = None
    if arr is None or arr.size != 1 or arr.dtype.kind not in "iuf":
        raise ValueError(
            f"fillvalue must be a real scalar or an array with one real element; got {fillvalue!r}"
        )
    return float(arr.reshape(()))


def _correlate_or_convolve(in1, in2, mode, boundary, fillvalue, stride, flip):
    check_choice(mode, "mode", _MODES)
    check_choice(boundary, "boundary", _BOUNDARIES)
    fill = _check_fillvalue(fillvalue)
    sh, sw = as_pair(stride, "stride", minimum=1)
    dtype = _common_float_dtype(in1, in2)
    img = as_float_ndarray(in1, "in1", 2, dtype=dtype)
    ker = as_float_ndarray(in2, "in2", 2, dtype=dtype)
    if mode == "valid":
        _check_valid_shapes(img.shape, ker.shape)
        # 'valid' never reads outside the larger input; the swapped case (kernel
        # larger than image) is the zero-padded full result cropped.
        boundary, fill = "fill", 0.0
    if flip:
        ker = np.ascontiguousarray(ker[::-1, ::-1])
    off0, Ho, span0 = _axis_plan(img.shape[0], ker.shape[0], mode, flip, sh)
    off1, Wo, span1 = _axis_plan(img.shape[1], ker.shape[1], mode, flip, sw)
    sh, sw = (1 if Ho == 1 else sh), (1 if Wo == 1 else sw)  # one output: any stride is 1
    E = _extend(img, (off0, off1), (span0, span1), boundary, fill)
    out = np.empty((Ho, Wo), dtype=dtype)
    _k.correlate2d_valid_fast(E, ker, sh, sw, out)
    return out


# --------------------------------------------------------------------------- public API


def correlate2d(in1, in2, mode="full", boundary="fill", fillvalue=0, stride=1):
    r"""Cross-correlate two 2-D arrays, like :func:`scipy.signal.correlate2d`, with a stride.

    .. math::

        \mathrm{out}(i, j) = \sum_{a} \sum_{b}
            \mathrm{in1}(i + a - o_v,\; j + b - o_h)\, \mathrm{in2}(a, b)

    where the offsets :math:`o_v, o_h` depend on ``mode`` and samples outside
    ``in1`` are supplied by ``boundary``.  The kernel is *not* flipped (that is
    the difference from :func:`convolve2d`).  See :doc:`/theory/convolution`.

    Parameters
    ----------
    in1 : array_like, shape (H, W)
        The image.  Real (integer input is computed in float64).
    in2 : array_like, shape (kh, kw)
        The kernel.  Any size; for ``'valid'`` one of the two inputs must be at
        least as large as the other in both dimensions.
    mode : {'full', 'same', 'valid'}
        ``'full'``: ``(H + kh - 1, W + kw - 1)``, every overlap.  ``'same'``:
        ``(H, W)``, centred on the full output the way scipy does it (for an
        even kernel the extra sample lies before the centre, i.e. the output
        starts at full index ``kh // 2``).  ``'valid'``:
        ``(|H - kh| + 1, |W - kw| + 1)``, only complete overlaps.
    boundary : {'fill', 'wrap', 'symm'}
        Samples outside ``in1``: ``fillvalue``, periodic repetition, or
        mirror images repeating the edge sample (``d c b a | a b c d | d c b a``).
        Kernels larger than the image wrap/reflect repeatedly, as in scipy.
        Irrelevant for ``'valid'``.
    fillvalue : real scalar or one-element real array
        Value outside ``in1`` for ``boundary='fill'``.
    stride : int or (int, int)
        Keep every ``sh``-th row and ``sw``-th column of the scipy result:
        the output equals ``scipy.signal.correlate2d(...)[::sh, ::sw]`` and is
        computed without the skipped samples.

    Returns
    -------
    ndarray, shape (ceil(Lh / sh), ceil(Lw / sw))
        ``Lh, Lw`` the unstrided sizes above.  float32 if both inputs are
        float32, otherwise float64.

    Raises
    ------
    TypeError
        complex, object or string input (scipy computes in complex; see
        :doc:`/conventions`); a non-integer ``stride``.
    ValueError
        an input that is not 2-D or is empty, an unknown ``mode`` or
        ``boundary``, ``stride < 1``, a ``fillvalue`` that is not one real
        number, or ``'valid'`` with inputs where neither is at least as large
        as the other in every dimension (where scipy raises, it raises ``ValueError`` too).

    Examples
    --------
    A template found by correlation peaks where it sits in the image:

    >>> import numpy as np
    >>> from numbacnn.signal import correlate2d
    >>> image = np.zeros((5, 5)); image[1:3, 2:4] = [[1, 2], [3, 4]]
    >>> out = correlate2d(image, np.array([[1.0, 2.0], [3.0, 4.0]]), mode="valid")
    >>> np.unravel_index(out.argmax(), out.shape)
    (np.int64(1), np.int64(2))
    >>> correlate2d(np.arange(16).reshape(4, 4), np.ones((2, 2)), mode="valid", stride=2)
    array([[10., 18.],
           [42., 50.]])
    """
    return _correlate_or_convolve(in1, in2, mode, boundary, fillvalue, stride, flip=False)


def convolve2d(in1, in2, mode="full", boundary="fill", fillvalue=0, stride=1):
    r"""Convolve two 2-D arrays, like :func:`scipy.signal.convolve2d`, with a stride.

    The lecture's discrete 2-D convolution (full mode, zero outside the image)

    .. math::

        (f * g)(i, j) = \sum_{m} \sum_{n} f(m, n)\, g(i - m, j - n)

    with ``f = in1`` and ``g = in2``.  **Convolution vs cross-correlation:**
    substituting :math:`a = i - m` shows that each output is the image patch
    multiplied by the kernel *rotated by 180 degrees*; cross-correlation
    (:func:`correlate2d`) multiplies by the kernel as it is.  Hence
    ``convolve2d(f, g, 'full') == correlate2d(f, g[::-1, ::-1], 'full')``.
    Convolution is commutative and associative (``f * g == g * f``), which is
    why signal processing prefers it; the "convolutional" layers of neural
    networks actually compute cross-correlations (the learned kernel absorbs the
    flip).  For ``'same'`` with an even kernel scipy centres the two operations
    differently (convolution keeps full indices from ``(kh - 1) // 2``,
    correlation from ``kh // 2``); we do the same.  See :doc:`/theory/convolution`.

    Parameters
    ----------
    in1, in2, mode, boundary, fillvalue, stride
        As in :func:`correlate2d`.

    Returns
    -------
    ndarray
        ``scipy.signal.convolve2d(in1, in2, mode, boundary, fillvalue)[::sh, ::sw]``.

    Raises
    ------
    TypeError, ValueError
        As in :func:`correlate2d`.

    Examples
    --------
    The lecture's worked example: a 6x6 image filtered with the 3x3 averaging
    (low-pass) kernel.  The kernel is symmetric, so flipping it changes
    nothing, and 'valid' keeps the 4x4 positions where it fits completely:

    >>> import numpy as np
    >>> from numbacnn.signal import convolve2d
    >>> f = np.array([[4, 1, 2, 9, 8, 6],
    ...               [9, 5, 9, 5, 8, 5],
    ...               [1, 5, 9, 7, 6, 4],
    ...               [2, 9, 8, 3, 7, 1],
    ...               [8, 1, 6, 4, 2, 2],
    ...               [1, 0, 5, 7, 8, 2]])
    >>> g = np.ones((3, 3)) / 9
    >>> np.round(convolve2d(f, g, mode="valid"), 2)
    array([[5.  , 5.78, 7.  , 6.44],
           [6.33, 6.67, 6.89, 5.11],
           [5.44, 5.78, 5.78, 4.  ],
           [4.44, 4.78, 5.56, 4.  ]])

    With stride 2 only every second position is computed:

    >>> np.round(convolve2d(f, g, mode="valid", stride=2), 2)
    array([[5.  , 7.  ],
           [5.44, 5.78]])
    """
    return _correlate_or_convolve(in1, in2, mode, boundary, fillvalue, stride, flip=True)


def _next_fast_len(n):
    """Smallest 5-smooth integer ``>= n`` (2, 3, 5 are the FFT's cheapest radices)."""
    best = 2 * n if n > 1 else 1
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35
            while m < n:
                m *= 2
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


def fftconvolve2d(in1, in2, mode="full"):
    r"""Convolve two 2-D arrays with FFTs, like :func:`scipy.signal.fftconvolve`.

    By the convolution theorem the full linear convolution of an ``(H, W)``
    and a ``(kh, kw)`` array is

    .. math::

        f * g = \mathcal{F}^{-1}\!\left[\mathcal{F}[f]\;\mathcal{F}[g]\right]

    when both are zero-padded to at least ``(H + kh - 1, W + kw - 1)`` (so the
    cyclic convolution computed by the DFT does not wrap around).  The padded
    size is rounded up to a product of 2, 3 and 5 for speed, the result is
    cropped to the full size and then to ``mode`` exactly as scipy does
    ('same': centred with ``start = (full - H) // 2``; 'valid': centred, size
    ``|H - kh| + 1``).  Like scipy, an axis where either input has length 1 is
    not transformed but multiplied with broadcasting (so, unlike
    :func:`convolve2d`, ``'valid'`` only checks the other axis).  Cost
    :math:`O(HW \log(HW))`, independent of the kernel size, but rounding errors
    are of the order of ``eps * max|f| * sum|g|`` even where the exact result
    is 0.  Boundary is always zero fill; there is no stride.
    See :doc:`/theory/convolution`.

    Parameters
    ----------
    in1 : array_like, shape (H, W)
    in2 : array_like, shape (kh, kw)
    mode : {'full', 'same', 'valid'}

    Returns
    -------
    ndarray
        float32 if both inputs are float32, otherwise float64.

    Examples
    --------
    >>> import numpy as np
    >>> from numbacnn.signal import convolve2d, fftconvolve2d
    >>> rng = np.random.default_rng(0)
    >>> f, g = rng.random((20, 30)), rng.random((7, 5))
    >>> np.allclose(fftconvolve2d(f, g, "same"), convolve2d(f, g, "same"))
    True
    """
    check_choice(mode, "mode", _MODES)
    dtype = _common_float_dtype(in1, in2)
    a = as_float_ndarray(in1, "in1", 2, dtype=dtype)
    b = as_float_ndarray(in2, "in2", 2, dtype=dtype)
    axes = [d for d in (0, 1) if a.shape[d] != 1 and b.shape[d] != 1]
    if mode == "valid":
        ok1 = all(a.shape[d] >= b.shape[d] for d in axes)
        ok2 = all(b.shape[d] >= a.shape[d] for d in axes)
        if not (ok1 or ok2):
            raise ValueError(
                "mode='valid' needs one of in1 and in2 to be at least as large as the other "
                f"in every dimension; got in1 shape {a.shape} and in2 shape {b.shape}"
            )
        if not ok1:
            a, b = b, a  # convolution is commutative; 'valid' keeps the larger input's frame
    s1, s2 = a.shape, b.shape
    full = tuple(s1[d] + s2[d] - 1 if d in axes else max(s1[d], s2[d]) for d in (0, 1))
    if axes:
        fshape = [_next_fast_len(full[d]) for d in axes]
        spectrum = np.fft.rfftn(a, fshape, axes=axes) * np.fft.rfftn(b, fshape, axes=axes)
        ret = np.fft.irfftn(spectrum, fshape, axes=axes)
        ret = ret[tuple(slice(n) for n in full)]
    else:
        ret = a * b
    if mode == "full":
        keep = full
    elif mode == "same":
        keep = s1
    else:
        keep = tuple(s1[d] - s2[d] + 1 if d in axes else full[d] for d in (0, 1))
    start = [(full[d] - keep[d]) // 2 for d in (0, 1)]
    ret = ret[start[0]:start[0] + keep[0], start[1]:start[1] + keep[1]]
    return np.array(ret, dtype=dtype, order="C")


def separable_convolve2d(image, column, row, mode="full"):
    r"""Convolve with the rank-one kernel ``np.outer(column, row)`` in two 1-D passes.

    A kernel :math:`g(a, b) = c(a)\, r(b)` factorises the double sum:

    .. math::

        (f * g)(i, j) = \sum_b r(b) \Big[\sum_a c(a)\, f(i - a, j - b)\Big],

    a convolution of every column with ``column`` followed by a convolution of
    every row with ``row``: :math:`k_h + k_w` instead of :math:`k_h k_w`
    multiply-adds per output.  The result equals
    ``convolve2d(image, np.outer(column, row), mode)`` (zero fill), up to
    rounding.  Gaussian kernels (:func:`gaussian_kernel`) and the Sobel
    kernels are separable.  See :doc:`/theory/convolution`.

    Parameters
    ----------
    image : array_like, shape (H, W)
    column : array_like, shape (kh,)
        Taps applied along axis 0 (down the columns).
    row : array_like, shape (kw,)
        Taps applied along axis 1 (along the rows).
    mode : {'full', 'same', 'valid'}
        As in :func:`convolve2d` with the kernel of shape ``(kh, kw)``.

    Returns
    -------
    ndarray
        float32 if all inputs are float32, otherwise float64.

    Examples
    --------
    >>> import numpy as np
    >>> from numbacnn.signal import convolve2d, separable_convolve2d
    >>> f = np.arange(30.0).reshape(5, 6)
    >>> c, r = np.array([1.0, 2.0, 1.0]), np.array([-1.0, 0.0, 1.0])
    >>> np.allclose(separable_convolve2d(f, c, r, "same"),
    ...             convolve2d(f, np.outer(c, r), "same"))
    True
    """
    check_choice(mode, "mode", _MODES)
    dtype = _common_float_dtype(image, column, row)
    img = as_float_ndarray(image, "image", 2, dtype=dtype)
    taps = []
    for name, v in (("column", column), ("row", row)):
        t = as_float_array(v, name, dtype=dtype)
        check_ndim(t, name, 1)
        check_nonempty(t, name)
        taps.append(np.ascontiguousarray(t[::-1]))  # a convolution correlates with flipped taps
    c, r = taps
    kshape = (c.shape[0], r.shape[0])
    if mode == "valid":
        _check_valid_shapes(img.shape, kshape, "image", "np.outer(column, row)")
    off0, Ho, span0 = _axis_plan(img.shape[0], kshape[0], mode, True, 1)
    off1, Wo, span1 = _axis_plan(img.shape[1], kshape[1], mode, True, 1)
    E = _extend(img, (off0, off1), (span0, span1), "fill", 0.0)
    tmp = np.empty((Ho, E.shape[1]), dtype=dtype)
    _k.correlate_columns_valid_fast(E, c, tmp)
    out = np.empty((Ho, Wo), dtype=dtype)
    _k.correlate_rows_valid_fast(tmp, r, out)
    return out


def gaussian_kernel(sigma, size=None):
    r"""A normalised, symmetric 2-D Gaussian kernel.

    .. math::

        g(a, b) \propto \exp\!\left(-\frac{(a - c)^2 + (b - c)^2}{2\sigma^2}\right),
        \qquad c = \frac{\mathrm{size} - 1}{2},

    scaled so that the entries sum to 1 (a blur that keeps the mean
    brightness).  It is the outer product of the 1-D kernel
    ``g1 = g.sum(axis=1)`` with itself, so
    ``separable_convolve2d(f, g1, g1)`` applies it in two cheap passes.

    Parameters
    ----------
    sigma : float
        Standard deviation in pixels, ``> 0``.
    size : int, optional
        Side length, ``>= 1``.  Default ``2 * ceil(3 * sigma) + 1``: odd, so the
        kernel has a centre pixel, and wide enough to reach three standard
        deviations on each side (the truncated tails weigh less than 0.3%).
        A ``ValueError`` names ``sigma`` when that default is too large for a
        ``size x size`` array to be addressed, and ``size`` when it is.

    Notes
    -----
    Exact at both ends of the range of ``sigma``: as ``sigma`` shrinks the
    kernel tends to all weight on the centre pixel (for an even ``size``, 1/4
    on each of the four centre pixels), and that limit is what a ``sigma`` too
    small for the taps to be represented gives; as ``sigma`` grows it tends to
    the uniform kernel ``1 / size**2``, which an overflowing
    :math:`\\sigma^2` gives.

    Returns
    -------
    ndarray, shape (size, size), float64
        Symmetric: ``g == g.T == g[::-1] == g[:, ::-1]``.

    Examples
    --------
    >>> from numbacnn.signal import gaussian_kernel
    >>> g = gaussian_kernel(1.0)
    >>> g.shape, round(float(g.sum()), 12)
    ((7, 7), 1.0)
    """
    if isinstance(sigma, (bool, np.bool_)) or not isinstance(sigma, numbers.Real):
        raise TypeError(f"sigma must be a real number; got {sigma!r}")
    if not (math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a finite number > 0; got {sigma!r}")
    sigma = float(sigma)
    if size is None:
        if not math.isfinite(3 * sigma):
            raise ValueError(
                f"sigma = {sigma!r} is too large for the default size 2 * ceil(3 * sigma) + 1; "
                "pass size explicitly"
            )
        size = 2 * math.ceil(3 * sigma) + 1
        if size > _MAX_GAUSSIAN_SIZE:
            raise ValueError(
                f"sigma = {sigma!r} gives the default size 2 * ceil(3 * sigma) + 1 = "
                f"{float(size):.4g}, more than the largest size {_MAX_GAUSSIAN_SIZE} (a "
                "size x size float64 kernel must be addressable); pass a smaller sigma or "
                "an explicit size"
            )
    else:
        size = check_int(size, "size", minimum=1)
        if size > _MAX_GAUSSIAN_SIZE:
            raise ValueError(
                f"size must be <= {_MAX_GAUSSIAN_SIZE} (a size x size float64 kernel must be "
                f"addressable); got {size}"
            )
    g1 = _gaussian_taps(size, sigma)
    g1 /= g1.sum()
    try:
        return np.outer(g1, g1)
    except MemoryError:
        raise MemoryError(
            f"gaussian_kernel: a {size} x {size} float64 kernel needs {8 * size * size} bytes"
        ) from None


# the largest side length whose size x size float64 kernel has a byte count that fits in intp
_MAX_GAUSSIAN_SIZE = math.isqrt(np.iinfo(np.intp).max // 8)


def _gaussian_taps(size, sigma):
    """Unnormalised 1-D taps :math:`e^{-t^2/(2\\sigma^2)}`, ``t = k - (size - 1)/2``.

    Where the centre tap is a normal float (it is 1 for odd ``size``), the
    plain formula.  Otherwise (``sigma`` so small that every tap underflows,
    or :math:`2\\sigma^2` itself does) the taps are taken relative to the
    centre one, :math:`e^{-(t^2 - t_0^2)/(2\\sigma^2)}` with :math:`t_0^2` the
    smallest :math:`t^2`, divided by ``sigma`` twice so that no intermediate
    underflows to 0: the centre tap (two for even ``size``) is then exactly 1
    and the normalised kernel reaches its limit, all weight on the centre.
    A :math:`\\sigma^2` that overflows makes every tap 1 (the uniform limit).
    """
    t = np.arange(size, dtype=np.float64) - (size - 1) / 2
    t2 = t * t
    two_var = 2.0 * (sigma * sigma)
    t0_sq = 0.25 if size % 2 == 0 else 0.0
    if two_var >= np.finfo(np.float64).tiny and t0_sq / two_var < 700.0:
        return np.exp(-t2 / two_var)
    with np.errstate(over="ignore"):  # an overflow to inf gives the tap exp(-inf) = 0
        return np.exp(-0.5 * (((t2 - t0_sq) / sigma) / sigma))


def sobel_kernels():
    r"""The 3x3 Sobel kernels ``(gx, gy)`` for use with :func:`correlate2d`.

    .. math::

        g_x = \begin{bmatrix} -1 & 0 & 1 \\ -2 & 0 & 2 \\ -1 & 0 & 1 \end{bmatrix},
        \qquad g_y = g_x^{\mathsf T}.

    Orientation and sign: ``x`` is the column index (increasing to the right),
    ``y`` the row index (increasing *downwards*, image convention).
    ``correlate2d(f, gx)`` is positive where brightness increases to the right,
    ``correlate2d(f, gy)`` where it increases downwards; on a linear ramp of
    slope 1 both respond with 8 (a central difference, weight 2, smoothed
    across with weights 1, 2, 1).  :func:`convolve2d` flips the kernel and so
    the sign: ``convolve2d(f, gx) == -correlate2d(f, gx)``.  Both kernels are
    separable: ``gx == np.outer([1, 2, 1], [-1, 0, 1])``.

    Returns
    -------
    gx, gy : ndarray, shape (3, 3), float64

    Examples
    --------
    >>> import numpy as np
    >>> from numbacnn.signal import correlate2d, sobel_kernels
    >>> gx, gy = sobel_kernels()
    >>> ramp = np.tile(np.arange(5.0), (5, 1))     # brightness grows to the right
    >>> correlate2d(ramp, gx, mode="valid")
    array([[8., 8., 8.],
           [8., 8., 8.],
           [8., 8., 8.]])
    >>> correlate2d(ramp, gy, mode="valid")
    array([[0., 0., 0.],
           [0., 0., 0.],
           [0., 0., 0.]])
    """
    gx = np.outer([1.0, 2.0, 1.0], [-1.0, 0.0, 1.0])
    return gx, np.ascontiguousarray(gx.T)
