"""Checkers for a learner's own kernels, driven by Hypothesis.

Each ``check_*`` function takes a function written by the learner with the
signature of the matching :mod:`numbacnn.functional` function, calls it on
many small inputs drawn by Hypothesis and compares the result with the
*reference* kernels of :mod:`numbacnn.kernels` (the loops the documentation
shows).  It returns None when every call agrees.  Otherwise Hypothesis
shrinks the failure to a minimal call and the checker raises an
``AssertionError`` naming the call, the shapes, the inputs, the first
differing element (index, expected, got) and, when the result matches a
classic bug, a hint.  The learner's function may be plain NumPy.

>>> import numpy as np
>>> from numbacnn.testing import check_max_pool2d_backward
>>> def blank(grad_out, x, kernel_size, stride=None, padding=0):
...     pass  # the exercise starts here
>>> check_max_pool2d_backward(blank)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
AssertionError: max_pool2d_backward: fn returned None (is its body still the blank template? ...

The exercises of :doc:`/notebooks` use them.
"""

from ._conv import check_conv2d, check_conv2d_backward
from ._pool import check_avg_pool2d_backward, check_max_pool2d, check_max_pool2d_backward
from ._recurrent import check_lstm_backward, check_rnn_backward

__all__ = [
    "check_conv2d",
    "check_conv2d_backward",
    "check_max_pool2d",
    "check_max_pool2d_backward",
    "check_avg_pool2d_backward",
    "check_rnn_backward",
    "check_lstm_backward",
]
