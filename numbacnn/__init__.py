"""numbacnn: readable and fast convolutional and recurrent neural networks.

The package mirrors a lecture on CNNs and RNNs.  Its two floors are

* :mod:`numbacnn.kernels` -- pure ``numba.njit`` loop kernels on arrays, and
* the user-facing modules that validate input once and call them:
  :mod:`numbacnn.signal`, :mod:`numbacnn.functional`, and the training stack
  (:mod:`numbacnn.layers`, :mod:`numbacnn.optimizers`, :class:`Sequential`, ...).

Submodules are imported on first use, and no kernel is compiled at import
time: ``import numbacnn`` is cheap, compilation happens (once, then from the
on-disk cache) the first time a kernel runs.
"""

import importlib

__version__ = "0.1.0"

_SUBMODULES = {
    "activations",
    "callbacks",
    "datasets",
    "experiments",
    "functional",
    "interop",
    "layers",
    "losses",
    "optimizers",
    "signal",
    "sklearn",
}

# public name -> module that defines it
_ATTRIBUTES = {
    "gradcheck": "numbacnn._gradcheck",
    "Sequential": "numbacnn.models",
    "History": "numbacnn.models",
    "load_model": "numbacnn.models",
    "ModelFileError": "numbacnn.models",
    "EarlyStopping": "numbacnn.callbacks",
    "TerminateOnNaN": "numbacnn.callbacks",
}

__all__ = sorted(_SUBMODULES | set(_ATTRIBUTES)) + ["__version__"]


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"numbacnn.{name}")
    if name in _ATTRIBUTES:
        return getattr(importlib.import_module(_ATTRIBUTES[name]), name)
    raise AttributeError(f"module 'numbacnn' has no attribute {name!r}")


def __dir__():
    return __all__
