"""The first run's compilation, said out loud and timed apart from training.

numba compiles each kernel the first time it is called with a new kind of
argument (dtype, number of dimensions, memory layout) and, because every
kernel is ``cache=True``, stores the machine code on disk; later processes
load it in a fraction of a second.  On an empty cache a training run would
otherwise sit silently at "0%" while that happens.

:func:`warm_up` is called once by :func:`numbacnn.models.training.fit` before
the first mini-batch.  It runs one optimizer step (and, with validation data,
one evaluation) on a deep copy of the model, so every kernel the training
will call is compiled or loaded now, and the model itself (parameters,
optimizer buffers, random generators, training state) is not touched.  It
listens to numba's ``numba:compile`` event, which fires only when a kernel is
really compiled (not when it is loaded from the cache): at the first such
event it prints one line saying what is compiled, why and where it is
cached, and when the warm-up ends, how long it took.  Nothing is printed when
everything came from the cache, at ``verbose=0``, or with
``NUMBA_DISABLE_JIT=1`` (nothing compiles then).  The seconds are returned
either way (``History.compile_time``).  See ``docs/getting-started.rst``,
"The first run".
"""

import copy
import sys
import time

import numba
import numpy as np
from numba.core import event

__all__ = ["CompileNotice", "warm_up"]

#: models already warmed up in this process, by :func:`_model_key`
_WARM = set()


def _jit_disabled():
    return bool(numba.config.DISABLE_JIT)


def _describe(model):
    """``"Conv2D, MaxPool2D, Dense (float32)"``: the layer kinds in order of first use."""
    kinds = list(dict.fromkeys(type(layer).__name__ for layer in model.layers))
    return f"{', '.join(kinds)} ({np.dtype(model.dtype).name})"


def _cache_dir(dispatcher):
    """Where numba caches ``dispatcher``'s machine code, or None if it does not say."""
    cache = getattr(dispatcher, "_cache", None)
    return getattr(cache, "_cache_path", None)


class CompileNotice(event.Listener):
    """A ``numba:compile`` listener: one line before the first compilation, one after.

    Parameters
    ----------
    what : str
        What is compiled, for the notice (e.g. ``"Conv2D, Dense (float32)"``).
    stream : file-like or None
        Where the lines go; ``None`` keeps quiet (the kernels are still counted).

    Attributes
    ----------
    compiled : list of str
        The names of the kernels compiled, in order (nested ones included).
    """

    def __init__(self, what, stream):
        self.what, self.stream, self.compiled = what, stream, []

    def on_start(self, event):
        dispatcher = event.data.get("dispatcher") if isinstance(event.data, dict) else None
        name = getattr(getattr(dispatcher, "py_func", None), "__name__", "?")
        if not self.compiled and self.stream is not None:
            where = _cache_dir(dispatcher)
            where = f" in {where}" if where else ""
            print(f"numbacnn: compiling the kernels for {self.what}: numba compiles once per "
                  f"machine and numba version and caches the result{where}, so this wait "
                  "happens only on the first run ...", file=self.stream, flush=True)
        self.compiled.append(name)

    def on_end(self, event):
        pass

    def done(self, seconds):
        """Say how long the compilation took (if anything compiled)."""
        if self.compiled and self.stream is not None:
            print(f"numbacnn: compiled {len(self.compiled)} kernels in {seconds:.1f} s "
                  "(cached for the next run)", file=self.stream, flush=True)


def _model_key(model, batch_size, with_validation):
    """What decides which kernels (and kernel signatures) a training run calls."""
    return (tuple(repr(layer) for layer in model.layers), np.dtype(model.dtype).name,
            tuple(model.input_shape), type(model.optimizer).__name__,
            type(model.loss).__name__, bool(model.fused), int(batch_size), with_validation)


def _twin(model):
    """A deep copy of ``model`` that runs its class's methods."""
    twin = copy.deepcopy(model)
    # a method replaced on the instance (a wrapper around the original model's bound method:
    # a test's fault injection, a profiler) would call back into the original or count the
    # warm-up step as one of its own; the twin runs its class's methods
    for name in [n for n in vars(twin) if callable(getattr(type(twin), n, None))]:
        delattr(twin, name)
    return twin


def warm_up(model, X, y, batch_size, val, verbose, run):
    """Compile (or load) every kernel that training ``model`` will call; return the seconds.

    ``X, y`` and ``val`` are the checked training data and validation pair
    (or ``None``) of :func:`numbacnn.models.training.fit`; ``run(twin, X, y,
    batch_size, val)`` is what the training calls once (the step, and an
    evaluation with ``val``), here called on a deep copy of ``model``, so the
    model is not changed.  Returns 0.0 without doing anything
    when the same kind of model (layers, dtype, input shape, optimizer, loss,
    batch size) was warmed up before in this process, and with
    ``NUMBA_DISABLE_JIT=1``.
    """
    key = _model_key(model, batch_size, val is not None)
    if _jit_disabled() or key in _WARM:
        return 0.0
    notice = CompileNotice(_describe(model), sys.stderr if verbose else None)
    start = time.perf_counter()
    with event.install_listener("numba:compile", notice):
        run(_twin(model), X, y, batch_size, val)
    seconds = time.perf_counter() - start
    notice.done(seconds)
    _WARM.add(key)
    return seconds
