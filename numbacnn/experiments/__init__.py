"""The lecture's experiments, reproduced: each a function returning an :class:`ExperimentResult`.

========  ===============================  =============================================
 #        function                          what it reproduces
========  ===============================  =============================================
 1        :func:`digits_grid_search`        Keras digits CNN, grid over eta and lambda
 2        :func:`lecture_cnn_mnist`         the lecture's own NumPy CNN on MNIST
 3        :func:`small_cnn_mnist`           a small CNN on the same MNIST split
 4        :func:`fashion_mnist`             the small CNN on Fashion-MNIST 60k/10k
 5        :func:`noisy_sine`                SimpleRNN on a noisy sine, with baselines
 6        :func:`oscillator`                RNN/LSTM/GRU on a damped driven oscillator
 7        :func:`vanishing_gradients`       gradient norm against lag
 8        :func:`cifar10`                   the lecture's CIFAR-10 model: shapes, cost
 --       :func:`speed_table`               per-layer and per-epoch timings
========  ===============================  =============================================

Every function reads ``NUMBACNN_FAST=1`` (or its ``fast=`` argument) for a
short run, and accepts ``compare_torch=True`` to train the same model in
PyTorch in the same run (torch is imported only then).  From the command
line: ``python -m numbacnn.experiments NAME [--fast] [--compare-torch]``.
Importing this package compiles nothing and never imports torch.
"""

from ._common import ExperimentResult, fast_mode
from .images import cifar10, digits_grid_search, fashion_mnist, lecture_cnn_mnist, small_cnn_mnist
from .sequences import noisy_sine, oscillator, vanishing_gradients
from .speed import speed_table

__all__ = [
    "ExperimentResult",
    "fast_mode",
    "EXPERIMENTS",
    "digits_grid_search",
    "lecture_cnn_mnist",
    "small_cnn_mnist",
    "fashion_mnist",
    "noisy_sine",
    "oscillator",
    "vanishing_gradients",
    "cifar10",
    "speed_table",
]

#: name -> experiment function, in the order of the lecture (and the issue's table)
EXPERIMENTS = {
    "digits_grid_search": digits_grid_search,
    "lecture_cnn_mnist": lecture_cnn_mnist,
    "small_cnn_mnist": small_cnn_mnist,
    "fashion_mnist": fashion_mnist,
    "noisy_sine": noisy_sine,
    "oscillator": oscillator,
    "vanishing_gradients": vanishing_gradients,
    "cifar10": cifar10,
    "speed_table": speed_table,
}
