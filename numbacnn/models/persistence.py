"""Saving and loading :class:`~numbacnn.Sequential` models.

A file written by :func:`save_model` is a NumPy ``.npz`` archive:

* ``config``: a JSON string, :meth:`Sequential.get_config` plus
  ``training_state`` = ``{"optimizer_steps": {key: t}, "shuffle_rng": ...,
  "epochs_done": ...}`` and, for a model with dropout, ``"noise_rng":
  {layer index: generator state}``;
* ``param/{i}/{k}``: parameter ``k`` of layer ``i``;
* ``optim/{i}.{k}/{name}``: the optimizer's buffer ``name`` (e.g. Adam's
  ``m`` and ``s``) for that parameter.

:func:`load_model` opens it with ``allow_pickle=False``, so loading never runs
code from the file.  Files name parameters as the layers did when they were
written; a layer that renamed one lists ``old -> new`` in its class attribute
``_renamed_params``, and older files are translated through it.  A file
without ``data_format`` (written before it existed) loads channels-first.

Faults:

* :func:`save_model` writes a temporary file beside the target and renames it
  into place (``os.replace``), so a save that fails half-way leaves the
  previous file whole and no temporary file behind.  It refuses a model whose
  parameters or optimizer buffers are NaN or infinite unless
  ``allow_nonfinite=True``.
* :func:`load_model` raises :class:`ModelFileError` (a ``ValueError``) naming
  the file and what is wrong for every file it cannot read as a model:
  truncated, corrupted, foreign, of a newer format, or with parameters that are
  not real floating-point numbers of the right shape; also for NaN or infinite
  values unless ``allow_nonfinite=True``.  A missing file raises
  ``FileNotFoundError`` (and other failures to open it their ``OSError``).
"""

import errno
import json
import os
import secrets
import stat

import numpy as np

from ..layers import LAYERS

__all__ = ["ModelFileError", "model_config", "save_model", "load_model"]


class ModelFileError(ValueError):
    """A file that :func:`load_model` cannot read as a numbacnn model.

    Attributes
    ----------
    path : str
        The file.
    what : str
        What is wrong with it.
    """

    def __init__(self, path, what):
        super().__init__(f"{path} is not a numbacnn model file, or is damaged: {what}")
        self.path, self.what = path, what

    def __reduce__(self):  # pickled across processes with both arguments
        return type(self), (self.path, self.what)

#: the ``format`` entry of every file
FORMAT = "numbacnn.Sequential"
#: the newest layout this module writes and reads: 2 added ``data_format``
FORMAT_VERSION = 2


def _version(model):
    """The oldest format version that holds ``model``.

    A channels-last model is written as version 2, which earlier releases
    refuse ("written by a newer numbacnn") instead of reading it as
    channels-first; every other model stays version 1, readable by them.
    """
    return 2 if model.data_format != "channels_first" else 1


def model_config(model):
    """The JSON-compatible description that :meth:`Sequential.get_config` returns."""
    return {
        "format": FORMAT,
        "version": _version(model),
        "layers": [{"class": type(layer).__name__, "config": layer.get_config()}
                   for layer in model.layers],
        "loss": None if model.loss is None else model.loss.get_config(),
        "optimizer": model.optimizer.get_config(),
        "l2": model.l2,
        "seed": model.seed,
        "data_format": model.data_format,
        "input_shape": None if model.input_shape is None else list(model.input_shape),
        "dtype": None if model.dtype is None else model.dtype.name,
    }


def save_model(model, path, allow_nonfinite=False):
    """Write a built ``model`` to ``path``; see :meth:`Sequential.save`.

    The file holds the parameters, the config (layers, loss, optimizer
    settings, ``l2``, ``seed``, input shape, dtype) and the training state:
    the optimizer's buffers and step counters, the shuffling generator and the
    number of epochs done, so that training a loaded model continues exactly
    where this one stopped (bit for bit).  No Python object is pickled.

    ``.npz`` is appended to a ``path`` without that suffix (as NumPy's
    ``savez`` does).  The archive is written to a temporary file in the target
    directory and renamed over ``path`` only once complete: a failed save
    leaves an existing file unchanged.  Raises ``IsADirectoryError`` if
    ``path`` is a directory, and ``ValueError`` naming the parameters if a
    parameter or optimizer buffer is NaN or infinite, unless
    ``allow_nonfinite`` is true.  Returns the path written.
    """
    target = os.fspath(path)
    for candidate in dict.fromkeys([target, _with_suffix(target)]):
        if os.path.isdir(candidate):
            raise IsADirectoryError(
                errno.EISDIR, "cannot save a model to a directory; give a file name such as "
                f"{os.path.join(candidate, 'model.npz')!r}", candidate)
    target = _with_suffix(target)
    arrays = {
        f"param/{i}/{k}": v for i, layer in enumerate(model.layers)
        for k, v in layer.params.items()
    }
    steps = {}
    for key, entry in model.optimizer.state_dict().items():
        steps[key] = entry["t"]
        for name, buf in entry.items():
            if isinstance(buf, np.ndarray):
                arrays[f"optim/{key}/{name}"] = buf
    if not allow_nonfinite:
        bad = [name for name, v in arrays.items() if not np.isfinite(v).all()]
        if bad:
            raise ValueError(
                f"the model has NaN or infinite values in {', '.join(bad)}; refusing to "
                f"save it to {target} (pass allow_nonfinite=True to save it anyway)")
    noise = {str(i): layer.noise_state for i, layer in enumerate(model.layers)
             if layer.stochastic}
    config = {**model_config(model), "training_state": {
        "optimizer_steps": steps, **model.training_state.state_dict(),
        **({"noise_rng": noise} if noise else {}),
    }}
    arrays["config"] = np.array(json.dumps(config))
    _write_atomically(target, arrays)
    return target


def _with_suffix(path):
    return path if path.endswith(".npz") else path + ".npz"


def _write_atomically(target, arrays):
    """``np.savez`` to a new file beside ``target``, then rename it to ``target``.

    A symbolic link is followed (the file it points to is replaced), and an
    existing file's permissions are kept.
    """
    folder, name = os.path.split(os.path.realpath(target))
    if not os.path.isdir(folder):
        raise FileNotFoundError(errno.ENOENT, "no such directory to save the model in", folder)
    tmp = os.path.join(folder, f".{name}.{secrets.token_hex(6)}.tmp")
    # O_EXCL: never reuse a file someone else made; the mode honours the umask
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    final = os.path.join(folder, name)
    try:
        with os.fdopen(fd, "wb") as f:
            if os.path.isfile(final):
                os.chmod(tmp, stat.S_IMODE(os.stat(final).st_mode))
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise


def load_model(path, allow_nonfinite=False):
    """Read a model written by :meth:`Sequential.save`.

    The file is opened with ``np.load(allow_pickle=False)``, so loading never
    runs code from it.  ``path`` may omit the ``.npz`` suffix that
    :meth:`Sequential.save` appends.

    Raises
    ------
    FileNotFoundError
        If there is no such file (other failures to open it raise their
        ``OSError``).
    ModelFileError
        A ``ValueError`` naming the file and what is wrong, for every file
        that is not a complete numbacnn model: truncated or corrupted
        archives, foreign files, a newer format version, unknown layers,
        settings of the wrong type, missing or unexpected entries, arrays of
        the wrong shape, arrays that are not real floating-point numbers
        (never accepted), and NaN or infinite parameters or optimizer buffers
        (accepted with ``allow_nonfinite=True``).
    """
    path = os.fspath(path)
    if not os.path.exists(path) and os.path.exists(path + ".npz"):
        path += ".npz"
    with open(path, "rb") as f:
        try:
            return _read_model(f, path, allow_nonfinite)
        except ModelFileError:
            raise
        except Exception as exc:  # anything a damaged file can make the readers raise
            raise ModelFileError(path, f"{type(exc).__name__}: {exc}") from exc


class _Archive:
    """The members of an open ``.npz``, recording which ones were read."""

    def __init__(self, npz, path):
        self.npz, self.path, self.files, self.read = npz, path, set(npz.files), set()

    def __contains__(self, name):
        return name in self.files

    def array(self, name, what, shape=None, dtype=None, allow_nonfinite=True):
        if name not in self.files:
            raise ModelFileError(self.path, f"the entry {name!r} ({what}) is missing")
        arr = self.npz[name]
        self.read.add(name)
        if dtype is not None and (arr.dtype.kind != "f" or arr.dtype.itemsize
                                  != np.dtype(dtype).itemsize):
            raise ModelFileError(self.path, f"{what} ({name}) has dtype {arr.dtype}; "
                                 f"expected {np.dtype(dtype).name}")
        if shape is not None and arr.shape != tuple(shape):
            raise ModelFileError(self.path, f"{what} ({name}) has shape {arr.shape}; "
                                 f"expected {tuple(shape)}")
        if not allow_nonfinite and not np.isfinite(arr).all():
            raise ModelFileError(self.path, f"{what} ({name}) holds NaN or infinite values "
                                 "(load_model(..., allow_nonfinite=True) accepts them)")
        return arr


def _read_model(f, path, allow_nonfinite):
    from .sequential import Sequential  # Sequential.save imports this module

    start = f.read(6)
    f.seek(0)
    if not start:
        raise ModelFileError(path, "the file is empty")
    if not start.startswith((b"PK\x03\x04", b"PK\x05\x06", b"\x93NUMPY")):
        raise ModelFileError(path, f"it is not an .npz archive (it starts with {start!r})")
    npz = np.load(f, allow_pickle=False)
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise ModelFileError(path, "it holds a single array, not an .npz archive")
    with npz:
        archive = _Archive(npz, path)
        config = _read_config(archive)
        layers = []
        for i, spec in enumerate(_typed(config, "layers", list, path)):
            if not isinstance(spec, dict) or not isinstance(spec.get("class"), str):
                raise ModelFileError(path, f"layer {i} is {spec!r}, not {{'class': ..., "
                                     "'config': {...}}")
            if spec["class"] not in LAYERS:
                raise ModelFileError(path, f"layer {i} is of an unknown class {spec['class']!r}")
            layers.append(LAYERS[spec["class"]].from_config(_typed(spec, "config", dict, path)))
        model = Sequential(layers, loss=config["loss"], optimizer=config["optimizer"],
                           l2=config["l2"], seed=config["seed"],
                           data_format=config.get("data_format", "channels_first"))
        if config["input_shape"] is not None:
            shape = _typed(config, "input_shape", list, path)
            if not all(isinstance(n, int) and not isinstance(n, bool) for n in shape):
                raise ModelFileError(path, f"input_shape must be a list of int; got {shape!r}")
            if config["dtype"] not in ("float32", "float64"):
                raise ModelFileError(path, f"dtype must be 'float32' or 'float64'; got "
                                     f"{config['dtype']!r}")
            model.build(shape, dtype=np.dtype(config["dtype"]))
            _load_parameters(model, archive, allow_nonfinite)
            _load_training_state(model, config.get("training_state"), archive, allow_nonfinite)
        unread = sorted(archive.files - archive.read)
        if unread:
            raise ModelFileError(path, f"unexpected entries {unread}")
    return model


def _typed(mapping, key, kind, path):
    value = mapping[key] if key in mapping else None
    if not isinstance(value, kind):
        raise ModelFileError(path, f"{key!r} must be a {kind.__name__}; got {value!r}"[:300])
    return value


def _read_config(archive):
    path = archive.path
    raw = archive.array("config", "the config")
    if raw.shape != () or raw.dtype.kind != "U":
        raise ModelFileError(path, f"the config is a {raw.dtype} array of shape {raw.shape}, "
                             "not a JSON string")
    config = json.loads(str(raw))
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        got = config.get("format") if isinstance(config, dict) else config
        raise ModelFileError(path, f"its format is {got!r}, not {FORMAT!r}"[:300])
    version = config.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise ModelFileError(path, f"its format version is {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(path, f"it was written by a newer numbacnn (format version "
                             f"{version}; this one reads up to {FORMAT_VERSION})")
    missing = sorted({"layers", "loss", "optimizer", "l2", "seed", "input_shape", "dtype"}
                     - set(config))
    if missing:
        raise ModelFileError(path, f"the config lacks {missing}")
    return config


def _stored_param(archive, i, layer, key, ref, allow_nonfinite):
    """The archive entry of ``layer``'s parameter ``key``: under its name, else its old one.

    A renamed parameter's new name is never the old name of another, so the
    two cannot be confused.
    """
    name = f"param/{i}/{key}"
    if name not in archive:
        for old, new in type(layer)._renamed_params.items():
            if new == key and f"param/{i}/{old}" in archive:
                name = f"param/{i}/{old}"
    return archive.array(name, f"parameter {i}.{key}", ref.shape, ref.dtype, allow_nonfinite)


def _current_key(model, stored_key):
    """``"<layer>.<param>"`` of a file, with an old parameter name translated."""
    i, _, k = stored_key.partition(".")
    try:
        layer = model.layers[int(i)]
    except (ValueError, IndexError):
        return stored_key
    return f"{i}.{type(layer)._renamed_params.get(k, k)}"


def _load_parameters(model, archive, allow_nonfinite):
    for i, layer in enumerate(model.layers):
        for k, ref in layer.params.items():
            ref[...] = _stored_param(archive, i, layer, k, ref, allow_nonfinite)


def _load_training_state(model, state, archive, allow_nonfinite):
    """Optimizer buffers, shuffling generator and epoch count saved by :func:`save_model`."""
    if state is None:  # a file without it: training starts afresh
        return
    path = archive.path
    keys = {"optimizer_steps", "shuffle_rng", "epochs_done"}
    if not isinstance(state, dict) or set(state) - {"noise_rng"} != keys:
        raise ModelFileError(path, "training_state must be a dict with keys "
                             "'optimizer_steps', 'shuffle_rng', 'epochs_done' and, for a "
                             "model with dropout, 'noise_rng'")
    params = model.parameters()
    optimizer_state = {}
    for stored_key, t in _typed(state, "optimizer_steps", dict, path).items():
        key = _current_key(model, stored_key)
        if key not in params:
            raise ModelFileError(path, f"optimizer state for unknown parameter {stored_key!r}")
        if not isinstance(t, int) or isinstance(t, bool) or t < 1:
            raise ModelFileError(path, f"optimizer step count of {stored_key!r} is {t!r}")
        p = params[key]
        entry = {"t": t, "shape": p.shape, "dtype": p.dtype.name}
        for name in model.optimizer.buffers:
            buf = archive.array(f"optim/{stored_key}/{name}", f"optimizer buffer {name!r} of "
                                f"{key}", p.shape, p.dtype, allow_nonfinite)
            entry[name] = buf.astype(p.dtype, copy=False)
        optimizer_state[key] = entry
    model.optimizer.load_state_dict(optimizer_state)
    model.training_state.load_state_dict(
        {"shuffle_rng": state["shuffle_rng"], "epochs_done": state["epochs_done"]}
    )
    _load_noise_state(model, state.get("noise_rng", {}), path)


def _load_noise_state(model, noise, path):
    """The mask generators of the stochastic layers (a file has one per such layer)."""
    expected = {str(i) for i, layer in enumerate(model.layers) if layer.stochastic}
    if not isinstance(noise, dict) or set(noise) != expected:
        got = sorted(noise) if isinstance(noise, dict) else noise
        raise ModelFileError(path, f"training_state['noise_rng'] must hold the generator "
                             f"states of layers {sorted(expected)}; got {got!r}"[:300])
    for i, layer_state in noise.items():
        model.layers[int(i)].noise_state = layer_state
