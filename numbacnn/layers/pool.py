"""Max and average pooling layers over :mod:`numbacnn.functional`'s pooling kernels."""

import numpy as np

from .._deprecation import keyword_aliases
from .._validation import as_pair
from ..functional import pool as _pool
from ..functional._geometry import pool_geometry
from .base import Layer

__all__ = ["MaxPool2D", "AvgPool2D"]


class _Pool2D(Layer):
    _forward = None
    _backward = None

    @keyword_aliases(pool_size="kernel_size", strides="stride")
    def __init__(self, kernel_size, stride=None):
        super().__init__()
        self.kernel_size = as_pair(kernel_size, "kernel_size", minimum=1)
        self.stride = self.kernel_size if stride is None else as_pair(stride, "stride", minimum=1)
        self._x = None
        self._geom = None

    def compute_output_shape(self, input_shape):
        name = type(self).__name__
        if len(input_shape) != 3:
            raise ValueError(
                f"{name} needs image input of shape (C, H, W) per sample; got a sample "
                f"shape {input_shape}. Pool before Flatten, and give images as (N, C, H, W)"
            )
        C, H, W = input_shape
        geom = pool_geometry((H, W), self.kernel_size, self.stride)
        if not geom.fits:
            kh, kw = self.kernel_size
            raise ValueError(
                f"{name} kernel_size ({kh}, {kw}) is larger than its input image ({H}, {W}); "
                "use a smaller kernel_size or remove a pooling layer before it"
            )
        return (C, *geom.out_size)

    def build(self, input_shape, rng=None, dtype=np.float64):
        output_shape = super().build(input_shape, rng, dtype)
        self._geom = pool_geometry(self.input_shape[1:], self.kernel_size, self.stride)
        return output_shape

    def forward(self, x):
        self._guard_batch(x)
        self._x = x
        return type(self)._forward(x, self._geom)

    def backward(self, grad_out):
        self._require_forward("_x")
        self._guard_grad(grad_out, self._x.shape[:2] + self._geom.out_size)
        return type(self)._backward(grad_out, self._x, self._geom)

    def get_config(self):
        return {"kernel_size": list(self.kernel_size), "stride": list(self.stride)}


class MaxPool2D(_Pool2D):
    r"""Max pooling: the largest value of each ``kh x kw`` window, no parameters.

    .. math::

        y_{n,c,i,j} = \max_{0 \le p < k_h,\ 0 \le q < k_w} x_{n,c,\,i s_h + p,\, j s_w + q}

    The gradient flows only to the position of each window's maximum
    (the kernels of :func:`numbacnn.functional.max_pool2d_backward`, run with
    the geometry resolved when the layer is built).  ``stride`` defaults to
    ``kernel_size`` (non-overlapping windows).  Keras's names ``pool_size=``
    and ``strides=`` are accepted for ``kernel_size`` and ``stride``.  See
    :doc:`/theory/cnn-layers`.
    """

    _forward = staticmethod(_pool._max_pool2d_forward)
    _backward = staticmethod(_pool._max_pool2d_backward)


class AvgPool2D(_Pool2D):
    r"""Average pooling: the mean of each ``kh x kw`` window, no parameters.

    .. math::

        y_{n,c,i,j} = \frac{1}{k_h k_w}\sum_{p,q} x_{n,c,\,i s_h + p,\, j s_w + q}

    ``stride`` defaults to ``kernel_size``; ``pool_size=`` and ``strides=``
    (Keras's names) are accepted too.  See :doc:`/theory/cnn-layers`.
    """

    _forward = staticmethod(_pool._avg_pool2d_forward)
    _backward = staticmethod(_pool._avg_pool2d_backward)
