"""Where a sliding window lands: padding, output size and stride of conv and pooling.

The one place that turns ``stride``/``padding``/``dilation`` arguments into
per-side paddings and an output size.  :func:`numbacnn.functional.conv2d`,
:class:`numbacnn.layers.Conv2D`, the pooling functions and the pooling layers
all ask here, once per call (functions) or once at build time (layers), and
hand the result to the private entries that run the kernels.

A window of ``k`` taps ``d`` apart spans :math:`d (k - 1) + 1` input pixels,
so along one axis of length :math:`n` padded by :math:`p_0 + p_1`

.. math::

    n_\\mathrm{out} = \\left\\lfloor \\frac{n + p_0 + p_1 - d (k - 1) - 1}{s} \\right\\rfloor + 1 .

The kernels index with int64, so every size argument must be at most
:data:`INT64_MAX` and the span of a window and the padded extent at most
:data:`EXTENT_MAX` (so that the sum of any two of them still fits); what is
larger is a ``ValueError`` naming the argument, raised before anything is
allocated.  Within that range every index a kernel computes lies between minus
the padding and the padded extent.  A stride
only matters along an axis with two or more output pixels: along an axis with
one, :attr:`ConvGeometry.kernel_stride` is 1, so that a stride of ``2**62`` on a
small image costs nothing.
"""

from typing import NamedTuple

from .._validation import as_pair, check_choice

__all__ = [
    "INT64_MAX",
    "EXTENT_MAX",
    "ConvGeometry",
    "PoolGeometry",
    "conv_padding",
    "conv_geometry",
    "pool_geometry",
]

PADDING_STRINGS = ("valid", "same")
#: The largest size argument (and average-pooling divisor): the kernels compute in int64.
INT64_MAX = 2**63 - 1
#: The largest padded extent or window span, so that two of them add up within int64.
EXTENT_MAX = 2**62


def _check_int64(values, name, value, what=None, limit=INT64_MAX):
    """Raise ``ValueError`` naming ``name`` unless every int in ``values`` is <= ``limit``."""
    if max(values) > limit:
        detail = f"; {what} = {tuple(values)}" if what else ""
        bound = "2**63 - 1" if limit == INT64_MAX else "2**62"
        raise ValueError(
            f"{name} is too large: the kernels index with int64, so this must be at most "
            f"{bound} = {limit}; got {name}={value!r}{detail}"
        )


def _out_len(padded, span, stride):
    return (padded - span) // stride + 1


class ConvGeometry(NamedTuple):
    """A checked convolution geometry for one input size.

    Attributes
    ----------
    in_size : (int, int)
        ``(H, W)`` of the unpadded input.
    kernel : (int, int)
        ``(kh, kw)``.
    stride, dilation : (int, int)
    pads : (int, int, int, int)
        Zeros added ``(top, bottom, left, right)``.
    out_size : (int, int)
        ``(Ho, Wo)``; meaningful only when :attr:`fits`.
    """

    in_size: tuple
    kernel: tuple
    stride: tuple
    dilation: tuple
    pads: tuple
    out_size: tuple

    @property
    def span(self):
        """``(d_h (k_h - 1) + 1, d_w (k_w - 1) + 1)``: the input pixels one window covers."""
        (kh, kw), (dh, dw) = self.kernel, self.dilation
        return dh * (kh - 1) + 1, dw * (kw - 1) + 1

    @property
    def padded_size(self):
        """``(H + top + bottom, W + left + right)``."""
        top, bottom, left, right = self.pads
        return self.in_size[0] + top + bottom, self.in_size[1] + left + right

    @property
    def fits(self):
        """True if the (dilated) kernel fits inside the padded input."""
        (span_h, span_w), (Hp, Wp) = self.span, self.padded_size
        return span_h <= Hp and span_w <= Wp

    @property
    def kernel_stride(self):
        """The stride the kernels use: :attr:`stride`, with 1 along an axis of one output pixel.

        With a single output row only window 0 exists, whatever the stride, so
        the result is the same whichever stride the kernels are given for it.
        """
        (sh, sw), (Ho, Wo) = self.stride, self.out_size
        return (sh if Ho > 1 else 1), (sw if Wo > 1 else 1)


def conv_padding(padding, stride):
    """Check a convolution's ``padding`` argument against its ``stride``.

    Returns ``"valid"``, ``"same"`` or a pair ``(ph, pw)`` of ints ``>= 0``.
    ``"same"`` needs stride 1 (as in torch).
    """
    if isinstance(padding, str):
        check_choice(padding, "padding", PADDING_STRINGS)
        if padding == "same" and as_pair(stride, "stride", minimum=1) != (1, 1):
            raise ValueError(
                f"padding='same' needs stride=1, as in torch; got stride={stride!r} "
                "(use an integer padding with a larger stride)"
            )
        return padding
    return as_pair(padding, "padding", minimum=0)


def conv_geometry(in_size, kernel, stride=1, padding=0, dilation=1):
    """Check ``stride``, ``padding`` and ``dilation``; return the :class:`ConvGeometry`.

    ``"same"`` pads a total of :math:`d (k - 1)` per axis so that the output
    keeps the input size; an odd total puts the extra row/column at the
    bottom/right, exactly as torch does.  Whether the kernel fits is left to
    the caller (:attr:`ConvGeometry.fits`), which knows what to tell the user.
    """
    H, W = in_size
    kh, kw = kernel
    sh, sw = as_pair(stride, "stride", minimum=1)
    _check_int64((sh, sw), "stride", stride)
    dh, dw = as_pair(dilation, "dilation", minimum=1)
    _check_int64((dh, dw), "dilation", dilation)
    padding = conv_padding(padding, (sh, sw))
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    _check_int64((span_h, span_w), "dilation", dilation,
                 f"the kernel ({kh}, {kw}) then spans (d (k - 1) + 1)", EXTENT_MAX)
    if padding == "valid":
        pads = (0, 0, 0, 0)
    elif padding == "same":
        top, left = (span_h - 1) // 2, (span_w - 1) // 2
        pads = (top, span_h - 1 - top, left, span_w - 1 - left)
    else:
        ph, pw = padding
        pads = (ph, ph, pw, pw)
    top, bottom, left, right = pads
    _check_int64(pads, "padding", padding, "(top, bottom, left, right)")
    _check_int64((H + top + bottom, W + left + right), "padding", padding,
                 f"the padded size of the ({H}, {W}) input", EXTENT_MAX)
    out = (_out_len(H + top + bottom, span_h, sh), _out_len(W + left + right, span_w, sw))
    return ConvGeometry((H, W), (kh, kw), (sh, sw), (dh, dw), pads, out)


class PoolGeometry(NamedTuple):
    """A checked pooling geometry: ``kernel``, ``stride``, ``padding`` ``(ph, pw)``, ``out_size``.

    ``out_size`` is meaningful only when :attr:`fits`.  The pooling kernels
    clip every window to the input, so they allocate nothing and loop over no
    more than the input and output pixels, whatever the sizes.
    """

    in_size: tuple
    kernel: tuple
    stride: tuple
    padding: tuple
    out_size: tuple

    @property
    def fits(self):
        """True if the window fits inside the padded input."""
        (kh, kw), (ph, pw) = self.kernel, self.padding
        return kh <= self.in_size[0] + 2 * ph and kw <= self.in_size[1] + 2 * pw


def pool_geometry(in_size, kernel_size, stride=None, padding=0):
    """Check the pooling arguments; return the :class:`PoolGeometry`.

    ``stride=None`` means ``kernel_size``; ``padding`` may be at most
    ``kernel_size // 2`` (torch's rule).  The average's divisor ``kh * kw``
    must fit in int64.
    """
    kh, kw = as_pair(kernel_size, "kernel_size", minimum=1)
    _check_int64((kh, kw, kh * kw), "kernel_size", kernel_size, "(kh, kw, kh * kw)")
    sh, sw = (kh, kw) if stride is None else as_pair(stride, "stride", minimum=1)
    _check_int64((sh, sw), "stride", stride)
    ph, pw = as_pair(padding, "padding", minimum=0)
    if ph > kh // 2 or pw > kw // 2:
        raise ValueError(
            f"padding must be at most half the kernel size (kernel_size // 2 = "
            f"({kh // 2}, {kw // 2})); got padding=({ph}, {pw}) for kernel_size=({kh}, {kw})"
        )
    H, W = in_size
    _check_int64((H + 2 * ph, W + 2 * pw), "padding", padding,
                 f"the padded size of the ({H}, {W}) input", EXTENT_MAX)
    out = (_out_len(H + 2 * ph, kh, sh), _out_len(W + 2 * pw, kw, sw))
    return PoolGeometry((H, W), (kh, kw), (sh, sw), (ph, pw), out)
