"""Max and average pooling layers over :mod:`numbacnn.functional`'s pooling kernels."""

from .. import functional as F
from .._validation import as_pair
from .base import Layer

__all__ = ["MaxPool2D", "AvgPool2D"]


class _Pool2D(Layer):
    _forward = None
    _backward = None

    def __init__(self, kernel_size, stride=None):
        super().__init__()
        self.kernel_size = as_pair(kernel_size, "kernel_size", minimum=1)
        self.stride = self.kernel_size if stride is None else as_pair(stride, "stride", minimum=1)
        self._x = None

    def compute_output_shape(self, input_shape):
        name = type(self).__name__
        if len(input_shape) != 3:
            raise ValueError(
                f"{name} needs image input of shape (C, H, W) per sample; got a sample "
                f"shape {input_shape}. Pool before Flatten, and give images as (N, C, H, W)"
            )
        C, H, W = input_shape
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        if kh > H or kw > W:
            raise ValueError(
                f"{name} kernel_size ({kh}, {kw}) is larger than its input image ({H}, {W}); "
                "use a smaller kernel_size or remove a pooling layer before it"
            )
        return (C, (H - kh) // sh + 1, (W - kw) // sw + 1)

    def forward(self, x):
        self._x = x
        return type(self)._forward(x, self.kernel_size, stride=self.stride)

    def backward(self, grad_out):
        self._require_forward("_x")
        return type(self)._backward(grad_out, self._x, self.kernel_size, stride=self.stride)

    def get_config(self):
        return {"kernel_size": list(self.kernel_size), "stride": list(self.stride)}


class MaxPool2D(_Pool2D):
    r"""Max pooling: the largest value of each ``kh x kw`` window, no parameters.

    .. math::

        y_{n,c,i,j} = \max_{0 \le p < k_h,\ 0 \le q < k_w} x_{n,c,\,i s_h + p,\, j s_w + q}

    The gradient flows only to the position of each window's maximum
    (:func:`numbacnn.functional.max_pool2d_backward`).  ``stride`` defaults to
    ``kernel_size`` (non-overlapping windows).  See :doc:`/theory/cnn-layers`.
    """

    _forward = staticmethod(F.max_pool2d)
    _backward = staticmethod(F.max_pool2d_backward)


class AvgPool2D(_Pool2D):
    r"""Average pooling: the mean of each ``kh x kw`` window, no parameters.

    .. math::

        y_{n,c,i,j} = \frac{1}{k_h k_w}\sum_{p,q} x_{n,c,\,i s_h + p,\, j s_w + q}

    ``stride`` defaults to ``kernel_size``.  See :doc:`/theory/cnn-layers`.
    """

    _forward = staticmethod(F.avg_pool2d)
    _backward = staticmethod(F.avg_pool2d_backward)
