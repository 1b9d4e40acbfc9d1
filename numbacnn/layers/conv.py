"""Two-dimensional convolution layer over :func:`numbacnn.functional.conv2d`'s kernels."""

import numpy as np

from .._deprecation import keyword_aliases
from .._validation import as_pair, check_int
from ..activations import ReLU
from ..functional._geometry import conv_geometry, conv_padding
from ..functional.conv import _conv2d_backward, _conv2d_forward
from .base import ActivatedLayer, glorot_uniform, he_normal

__all__ = ["Conv2D"]


class Conv2D(ActivatedLayer):
    r"""Convolutional layer: ``F`` learned filters slid over a ``(C, H, W)`` image.

    .. math::

        z_{n,f,i,j} = b_f + \sum_{c}\sum_{p}\sum_{q} W_{f,c,p,q}\,
            x^{\mathrm{pad}}_{n,c,\,i s_h + p,\, j s_w + q},
        \qquad a = \sigma(z),

    with output size :math:`H_\mathrm{out} = \lfloor (H + 2p_h - k_h)/s_h \rfloor + 1`
    (likewise for the width).  Forward and backward run the kernels of
    :func:`numbacnn.functional.conv2d` and
    :func:`numbacnn.functional.conv2d_backward`, through their private entries:
    the geometry is resolved once, when the layer is built, and batches are
    not checked again.  See :doc:`/theory/cnn-layers`.

    Parameters
    ----------
    out_channels : int
        Number of filters ``F`` (the lecture's feature maps).
    kernel_size : int or (int, int)
        Filter size ``(kh, kw)``.
    stride : int or (int, int), default 1
        Also accepted as ``strides=`` (Keras's name; passing both is a ``TypeError``).
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

    @keyword_aliases(strides="stride")
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
        self.out_channels = check_int(out_channels, "out_channels", minimum=1)
        self.kernel_size = as_pair(kernel_size, "kernel_size", minimum=1)
        self.stride = as_pair(stride, "stride", minimum=1)
        self.padding = conv_padding(padding, self.stride)
        self.in_channels = (
            None if in_channels is None else check_int(in_channels, "in_channels", minimum=1)
        )
        self._x = None
        self._geom = None

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
        geom = conv_geometry((H, W), self.kernel_size, self.stride, self.padding)
        if not geom.fits:
            kh, kw = self.kernel_size
            raise ValueError(
                f"Conv2D kernel_size ({kh}, {kw}) is larger than its input image "
                f"({H}, {W}) ({geom.padded_size} after padding={self.padding!r}); use a "
                "smaller kernel_size, padding='same', or fewer pooling layers before it"
            )
        return (self.out_channels, *geom.out_size)

    def build(self, input_shape, rng=None, dtype=np.float64):
        output_shape = super().build(input_shape, rng, dtype)
        self._geom = conv_geometry(self.input_shape[1:], self.kernel_size, self.stride,
                                   self.padding)
        return output_shape

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
        self._guard_batch(x)
        self._x = x
        return _conv2d_forward(x, self.params["W"], self.params["b"], self._geom)

    def backward(self, grad_out):
        z = self._z
        if (isinstance(self.activation, ReLU) and self.activation._is_plain()
                and z is not None and grad_out.shape == z.shape and grad_out.dtype == z.dtype
                and grad_out.flags.c_contiguous):
            # the ReLU's mask z > 0 is applied while the kernels copy grad_out,
            # which saves a pass over the largest arrays of a CNN
            return self._affine_backward(grad_out, relu_z=z)
        return super().backward(grad_out)

    def _affine_backward(self, grad_z, relu_z=None):
        grad_x, grad_W, grad_b = _conv2d_backward(grad_z, self._x, self.params["W"], self._geom,
                                                  input_grad=self._input_grad, relu_z=relu_z)
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
