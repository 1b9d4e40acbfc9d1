"""Batched kernels with PyTorch semantics: validated entry points over :mod:`numbacnn.kernels`.

Images are ``(N, C, H, W)``, convolution weights ``(F, C, kh, kw)``, sequences
batch-first ``(N, T, D)``.  Every ``*_forward``/``*_backward`` pair returns
fresh arrays; no function writes into its inputs.  float32 stays float32,
float64 stays float64, integer input becomes float64.

The convolution, pooling and recurrent functions take ``reference=True`` to
run the readable reference loops of :mod:`numbacnn.kernels` (the ones the
documentation shows) instead of the fast kernels.
"""

# Each topic lives in its own module; the names are re-exported here.
# (conv: conv2d, conv2d_backward; im2col: the same as matrix products; pool:
# max/avg pooling; rnn, lstm, gru: the recurrent cells; _geometry: conv/pool
# padding and output sizes)
from .conv import conv2d, conv2d_backward  # noqa: E402,F401
from .gru import gru_backward, gru_forward  # noqa: E402,F401
from .im2col import conv2d_im2col, conv2d_im2col_backward  # noqa: E402,F401
from .lstm import lstm_backward, lstm_forward, lstm_gradient_norms  # noqa: E402,F401
from .pool import (  # noqa: E402,F401
    avg_pool2d,
    avg_pool2d_backward,
    max_pool2d,
    max_pool2d_backward,
)
from .rnn import rnn_backward, rnn_forward, rnn_gradient_norms  # noqa: E402,F401
