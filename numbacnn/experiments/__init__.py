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
========  ===============================  =============================================

Every function reads ``NUMBACNN_FAST=1`` (or its ``fast=`` argument) for a
short run and uses numbacnn alone; the models come from
:mod:`numbacnn.architectures`.  From the command line:
``python -m numbacnn.experiments NAME [--fast]``.  Importing this package
compiles nothing.  The same experiments side by side with PyTorch, and the
speed table, live outside the package, in the repository's ``lab/`` folder.
"""

from ._common import ExperimentResult, fast_mode
from .images import cifar10, digits_grid_search, fashion_mnist, lecture_cnn_mnist, small_cnn_mnist
from .sequences import noisy_sine, oscillator, vanishing_gradients

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
]

#: name -> experiment function, in the order of the lecture
EXPERIMENTS = {
    "digits_grid_search": digits_grid_search,
    "lecture_cnn_mnist": lecture_cnn_mnist,
    "small_cnn_mnist": small_cnn_mnist,
    "fashion_mnist": fashion_mnist,
    "noisy_sine": noisy_sine,
    "oscillator": oscillator,
    "vanishing_gradients": vanishing_gradients,
    "cifar10": cifar10,
}
