"""Data sets of the lecture, offline first.

Images come as ``(N, C, H, W)`` arrays with integer labels, ready for
:class:`numbacnn.layers.Conv2D`:

* :func:`load_digits_images` -- scikit-learn's 8x8 digits, raw pixels 0..16;
* :func:`load_mnist` -- the real MNIST 10k test set bundled with the package
  (CC BY-SA 3.0, LeCun, Cortes and Burges), any MNIST idx files on disk, or the
  full 70k from OpenML when online;
* :func:`load_fashion_mnist` -- Fashion-MNIST from the Debian package
  ``dataset-fashion-mnist`` or any folder of its idx files;
* :func:`load_cifar10` -- CIFAR-10's python batch files, given their folder;
* :func:`load_idx` -- the IDX file reader underneath.

Time series for the recurrent networks:

* :func:`sine_series` -- the lecture's noisy sine;
* :func:`damped_oscillator` -- :math:`x'' + \\gamma x' + x = \\cos(\\omega t)`,
  integrated with RK4 (or the lecture's explicit Euler);
* :func:`sliding_windows` -- windows of a series and the value that follows.

Nothing here downloads data except ``load_mnist(source="openml")``.
"""

from numbacnn.datasets._idx import load_idx
from numbacnn.datasets._images import (
    CIFAR10_CLASSES,
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_PATH,
    load_cifar10,
    load_digits_images,
    load_fashion_mnist,
    load_mnist,
)
from numbacnn.datasets._series import damped_oscillator, sine_series, sliding_windows

__all__ = [
    "load_digits_images",
    "load_mnist",
    "load_fashion_mnist",
    "load_cifar10",
    "load_idx",
    "sine_series",
    "damped_oscillator",
    "sliding_windows",
    "FASHION_MNIST_PATH",
    "FASHION_MNIST_CLASSES",
    "CIFAR10_CLASSES",
]
