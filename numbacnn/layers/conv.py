"""Two-dimensional convolution layer over :func:`numbacnn.functional.conv2d`."""

import numpy as np

from .. import functional as F
from .._validation import as_pair, check_choice
from .base import ActivatedLayer, _check_positive_int, glorot_uniform, he_normal

__all__ = ["Conv2D"]


def _conv_geometry(H, W, kernel, stride, padding):
    """Per-side paddings and output size, or ``None`` if the kernel does not fit."""
    (kh, kw), (sh, sw) = kernel, stride
    if padding == "same":
        ph_total, pw_total = kh - 1, kw - 1
    elif padding == "valid":
        ph_total = pw_total = 0
    else:
        ph_total, pw_total = 2 * padding[0], 2 * padding[1]
    Hp, Wp = H + ph_total, W + pw_total
    if kh > Hp or kw > Wp:
        return None, (Hp, Wp)
    return ((Hp - kh) // sh + 1, (Wp - kw) // sw + 1), (Hp, Wp)


class Conv2D(ActivatedLayer):
    r"""Convolutional layer: ``F`` learned filters slid over a ``(C, H, W)`` image.

    .. math::

        z_{n,f,i,j} = b_f + \sum_{c}\sum_{p}\sum_{q} W_{f,c,p,q}\,
            x^{\mathrm{pad}}_{n,c,\,i s_h + p,\, j s_w + q},
        \qquad a = \sigma(z),

    with output size :math:`H_\mathrm{out} = \lfloor (H + 2p_h - k_h)/s_h \rfloor + 1`
    (likewise for the width).  Forward and backward are
    :func:`numbacnn.functional.conv2d` and
    :func:`numbacnn.functional.conv2d_backward`.  See :doc:`/theory/cnn-layers`.

    Parameters
    ----------
    out_channels : int
        Number of filters ``F`` (the lecture's feature maps).
    kernel_size : int or (int, int)
        Filter size ``(kh, kw)``.
    stride : int or (int, int), default 1
    padding : int or (int, int) or {"valid", "same"}, default 0
        Zeros around the image; ``"same"`` keeps ``H`` and ``W`` (stride 1
        only; an even kernel puts the extra row/column at the bottom/right).
    activation : str or activation object, optional
        ``None`` means identity.  ReLU-type activations get He
        initialisation, all others Glorot.
    in_channels : int, optional
        Checked against the data at build time; inferred when omitted.
    l2 : float, optional
        Per-layer L2 strength overriding the model's ``l2`` (``0`` exempts
        this layer).

    Attributes
    ----------
    params : dict
        ``"W"`` of shape ``(F, C, kh, kw)`` and ``"b"`` of shape ``(F,)``.
    """

    weight_keys = ("W",)

    def __init__(
        self,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        activation=None,
        in_channels=None,
        *,
        l2=None,
    ):
        super().__init__(activation, l2)
        self.out_channels = _check_positive_int(out_channels, "out_channels")
        self.kernel_size = as_pair(kernel_size, "kernel_size", minimum=1)
        self.stride = as_pair(stride, "stride", minimum=1)
        if isinstance(padding, str):
            check_choice(padding, "padding", ("valid", "same"))
            if padding == "same" and self.stride != (1, 1):
                raise ValueError(
                    f"padding='same' needs stride=1; got stride={stride!r} "
                    "(use an integer padding with a larger stride)"
                )
            self.padding = padding
        else:
            self.padding = as_pair(padding, "padding", minimum=0)
        self.in_channels = (
            None if in_channels is None else _check_positive_int(in_channels, "in_channels")
        )
        self._x = None

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(
                f"Conv2D needs image input of shape (C, H, W) per sample; got a sample "
                f"shape {input_shape}. Give the data as (N, C, H, W), e.g. "
                "X.reshape(N, 1, H, W) for grayscale images"
            )
        C, H, W = input_shape
        if self.in_channels is not None and self.in_channels != C:
            raise ValueError(
                f"Conv2D(in_channels={self.in_channels}) receives input with {C} channels "
                f"(sample shape {input_shape}); set in_channels={C} or leave it out to "
                "infer it"
            )
        out, (Hp, Wp) = _conv_geometry(H, W, self.kernel_size, self.stride, self.padding)
        if out is None:
            kh, kw = self.kernel_size
            raise ValueError(
                f"Conv2D kernel_size ({kh}, {kw}) is larger than its input image "
                f"({H}, {W}) (({Hp}, {Wp}) after padding={self.padding!r}); use a smaller "
                "kernel_size, padding='same', or fewer pooling layers before it"
            )
        return (self.out_channels, out[0], out[1])

    def _init_params(self, input_shape, rng):
        C = input_shape[0]
        kh, kw = self.kernel_size
        shape = (self.out_channels, C, kh, kw)
        fan_in, fan_out = C * kh * kw, self.out_channels * kh * kw
        if self._init_scale_is_he():
            W = he_normal(rng, shape, fan_in, self.dtype)
        else:
            W = glorot_uniform(rng, shape, fan_in, fan_out, self.dtype)
        self.in_channels = C
        self.params = {"W": W, "b": np.zeros(self.out_channels, dtype=self.dtype)}

    def _affine_forward(self, x):
        self._x = x
        return F.conv2d(
            x, self.params["W"], self.params["b"], stride=self.stride, padding=self.padding
        )

    def _affine_backward(self, grad_z):
        grad_x, grad_W, grad_b = F.conv2d_backward(
            grad_z, self._x, self.params["W"], stride=self.stride, padding=self.padding
        )
        self.grads = {"W": grad_W, "b": grad_b}
        return grad_x

    def get_config(self):
        return {
            "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": self.padding if isinstance(self.padding, str) else list(self.padding),
            "activation": self._activation_config(),
            "in_channels": self.in_channels,
            "l2": self.l2,
        }
