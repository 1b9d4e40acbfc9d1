"""Single-image 2-D convolution and cross-correlation loops.

Three kinds of kernels live here:

* :func:`convolve2d_full_reference` -- the lecture's discrete 2-D convolution
  sum, transcribed index for index (the docs show it next to the equation).
* :func:`correlate2d_valid_reference` -- the plain "slide the kernel and sum"
  loop that every other mode reduces to, with a stride.
* :func:`correlate2d_valid_fast` and the two 1-D passes
  :func:`correlate_columns_valid_fast` / :func:`correlate_rows_valid_fast` -- the fast
  loops used by :mod:`numbacnn.signal`.  The loops over kernel taps are outside
  and a long, contiguous loop over one output row is innermost, so the compiler
  can vectorise it.

Every mode and boundary of :mod:`numbacnn.signal` is turned into a *valid*
cross-correlation of an extended image by the entry points (they build the
padded/wrapped/reflected image and flip the kernel for a convolution), so the
fast kernels only need to know one thing.  Every kernel writes into the
``out`` array the caller allocates and returns nothing.
"""

from ._jit import jit

__all__ = [
    "convolve2d_full_reference",
    "correlate2d_valid_reference",
    "correlate2d_valid_fast",
    "correlate_columns_valid_fast",
    "correlate_rows_valid_fast",
]


@jit
def convolve2d_full_reference(f, g, out):
    r"""Full linear convolution :math:`(f * g)(i, j) = \sum_m \sum_n f(m, n)\, g(i - m, j - n)`.

    ``f`` is the ``(M, N)`` image, ``g`` the ``(kh, kw)`` kernel and ``out`` the
    ``(M + kh - 1, N + kw - 1)`` result, overwritten.  The sum runs over every
    image pixel ``(m, n)`` for which the kernel index ``(i - m, j - n)`` exists,
    i.e. ``0 <= i - m < kh`` and ``0 <= j - n < kw``: outside the image and
    outside the kernel both functions are zero.
    """
    M, N = f.shape
    kh, kw = g.shape
    for i in range(M + kh - 1):
        for j in range(N + kw - 1):
            total = out.dtype.type(0)
            for m in range(M):
                for n in range(N):
                    if 0 <= i - m < kh and 0 <= j - n < kw:
                        total += f[m, n] * g[i - m, j - n]
            out[i, j] = total


@jit
def correlate2d_valid_reference(image, kernel, sh, sw, out):
    r"""Strided valid cross-correlation, the plain four-loop version.

    .. math::

        \mathrm{out}(i, j) = \sum_{a=0}^{k_h - 1} \sum_{b=0}^{k_w - 1}
            \mathrm{image}(i s_h + a,\, j s_w + b)\; \mathrm{kernel}(a, b)

    with the strides :math:`s_h` = ``sh`` down the rows (along H) and
    :math:`s_w` = ``sw`` along the columns (along W).  ``out`` has shape
    ``(Ho, Wo)`` with ``(Ho - 1) sh + kh <= H`` and ``(Wo - 1) sw + kw <= W``;
    it is overwritten.
    """
    Ho, Wo = out.shape
    kh, kw = kernel.shape
    for i in range(Ho):
        for j in range(Wo):
            total = out.dtype.type(0)
            for a in range(kh):
                for b in range(kw):
                    total += image[i * sh + a, j * sw + b] * kernel[a, b]
            out[i, j] = total


@jit
def correlate2d_valid_fast(image, kernel, sh, sw, out):
    """Fast strided valid cross-correlation; same contract as the reference.

    For every output row the kernel taps are looped over outside, and the
    innermost loop runs along one contiguous output row, adding
    ``kernel[a, b] * image[row, b + j * sw]``.  Each output row is accumulated
    in place (it stays in L1 cache for all ``kh * kw`` taps) and the unit
    stride case indexes a 1-D slice by the bare loop variable, which numba
    turns into packed SIMD loads.
    """
    Ho, Wo = out.shape
    kh, kw = kernel.shape
    zero = out.dtype.type(0)
    for i in range(Ho):
        orow = out[i]
        for j in range(Wo):
            orow[j] = zero
        for a in range(kh):
            irow = image[i * sh + a]
            for b in range(kw):
                w = kernel[a, b]
                if sw == 1:
                    src = irow[b:b + Wo]
                    for j in range(Wo):
                        orow[j] += w * src[j]
                else:
                    for j in range(Wo):
                        orow[j] += w * irow[b + j * sw]


@jit
def correlate_columns_valid_fast(image, taps, out):
    r"""1-D valid correlation down each column: ``out(i, j) = sum_a image(i + a, j) taps(a)``.

    ``image`` is ``(H, W)``, ``taps`` ``(k,)``, ``out`` ``(H - k + 1, W)``
    (overwritten).  The innermost loop runs along a contiguous row.
    """
    Ho, Wo = out.shape
    k = taps.shape[0]
    zero = out.dtype.type(0)
    for i in range(Ho):
        orow = out[i]
        for j in range(Wo):
            orow[j] = zero
        for a in range(k):
            w = taps[a]
            irow = image[i + a]
            for j in range(Wo):
                orow[j] += w * irow[j]


@jit
def correlate_rows_valid_fast(image, taps, out):
    r"""1-D valid correlation along each row: ``out(i, j) = sum_b image(i, j + b) taps(b)``.

    ``image`` is ``(H, W)``, ``taps`` ``(k,)``, ``out`` ``(H, W - k + 1)``
    (overwritten).
    """
    Ho, Wo = out.shape
    k = taps.shape[0]
    zero = out.dtype.type(0)
    for i in range(Ho):
        orow = out[i]
        irow = image[i]
        for j in range(Wo):
            orow[j] = zero
        for b in range(k):
            w = taps[b]
            src = irow[b:b + Wo]
            for j in range(Wo):
                orow[j] += w * src[j]
