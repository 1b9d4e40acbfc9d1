"""Layers a :class:`numbacnn.Sequential` model is built from.

Every layer has ``forward(x)``, ``backward(grad_out) -> grad_x`` and
``params``/``grads`` dicts with the same keys; input sizes are inferred when
the model is built from the first data it sees.  See
:mod:`numbacnn.layers.base` for the protocol.
"""

from .base import Layer
from .conv import Conv2D
from .dense import Dense, Flatten
from .dropout import Dropout
from .pool import AvgPool2D, MaxPool2D
from .recurrent import GRU, LSTM, SimpleRNN

__all__ = [
    "Layer",
    "Conv2D",
    "MaxPool2D",
    "AvgPool2D",
    "Flatten",
    "Dense",
    "Dropout",
    "SimpleRNN",
    "LSTM",
    "GRU",
]

#: name -> class, used by :func:`numbacnn.load_model` to rebuild saved models
LAYERS = {name: globals()[name] for name in __all__ if name != "Layer"}
