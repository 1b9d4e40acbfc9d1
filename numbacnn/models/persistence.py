"""Saving and loading :class:`~numbacnn.Sequential` models.

A file written by :func:`save_model` is a NumPy ``.npz`` archive:

* ``config``: a JSON string, :meth:`Sequential.get_config` plus
  ``training_state`` = ``{"optimizer_steps": {key: t}, "shuffle_rng": ...,
  "epochs_done": ...}``;
* ``param/{i}/{k}``: parameter ``k`` of layer ``i``;
* ``optim/{i}.{k}/{name}``: the optimizer's buffer ``name`` (e.g. Adam's
  ``m`` and ``s``) for that parameter.

:func:`load_model` opens it with ``allow_pickle=False``, so loading never runs
code from the file.  Files name parameters as the layers did when they were
written; a layer that renamed one lists ``old -> new`` in its class attribute
``_renamed_params``, and older files are translated through it.
"""

import json
import os

import numpy as np

from ..layers import LAYERS

__all__ = ["model_config", "save_model", "load_model"]

#: the ``format`` entry of every file
FORMAT = "numbacnn.Sequential"
#: the newest layout this module writes and reads
FORMAT_VERSION = 1


def model_config(model):
    """The JSON-compatible description that :meth:`Sequential.get_config` returns."""
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "layers": [{"class": type(layer).__name__, "config": layer.get_config()}
                   for layer in model.layers],
        "loss": None if model.loss is None else model.loss.get_config(),
        "optimizer": model.optimizer.get_config(),
        "l2": model.l2,
        "seed": model.seed,
        "input_shape": None if model.input_shape is None else list(model.input_shape),
        "dtype": None if model.dtype is None else model.dtype.name,
    }


def save_model(model, path):
    """Write a built ``model`` to ``path``; see :meth:`Sequential.save`.

    The file holds the parameters, the config (layers, loss, optimizer
    settings, ``l2``, ``seed``, input shape, dtype) and the training state:
    the optimizer's buffers and step counters, the shuffling generator and the
    number of epochs done, so that training a loaded model continues exactly
    where this one stopped (bit for bit).  No Python object is pickled.  NumPy
    appends ``.npz`` to a ``path`` without that suffix.
    """
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
    config = {**model_config(model), "training_state": {
        "optimizer_steps": steps, **model.training_state.state_dict(),
    }}
    arrays["config"] = np.array(json.dumps(config))
    np.savez(path, **arrays)


def load_model(path):
    """Read a model written by :meth:`Sequential.save`.

    The file is opened with ``np.load(allow_pickle=False)``.  ``path`` may
    omit the ``.npz`` suffix that :meth:`Sequential.save` (through NumPy)
    appends.  Raises ``ValueError`` if it is not a numbacnn model file.
    """
    from .sequential import Sequential  # Sequential.save imports this module

    path = os.fspath(path)
    if not os.path.exists(path) and os.path.exists(path + ".npz"):
        path += ".npz"
    try:
        archive = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise ValueError(f"{path} is not a numbacnn model file (.npz): {exc}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} is not a numbacnn model file: it holds a single array")
    with archive:
        if "config" not in archive.files:
            raise ValueError(f"{path} is not a numbacnn model file: no 'config' entry")
        config = json.loads(str(archive["config"]))
        if config.get("format") != FORMAT:
            raise ValueError(
                f"{path} is not a numbacnn model file (format {config.get('format')!r})"
            )
        if config.get("version", 0) > FORMAT_VERSION:
            raise ValueError(
                f"{path} was written by a newer numbacnn (format version {config['version']})"
            )
        layers = []
        for spec in config["layers"]:
            if spec["class"] not in LAYERS:
                raise ValueError(f"{path} names an unknown layer class {spec['class']!r}")
            layers.append(LAYERS[spec["class"]].from_config(spec["config"]))
        model = Sequential(
            layers, loss=config["loss"], optimizer=config["optimizer"], l2=config["l2"],
            seed=config["seed"],
        )
        if config["input_shape"] is not None:
            model.build(config["input_shape"], dtype=np.dtype(config["dtype"]))
            _load_parameters(model, archive, path)
            _load_training_state(model, config.get("training_state"), archive, path)
    return model


def _stored_param(archive, i, layer, key):
    """The archive entry of ``layer``'s parameter ``key``: under its name, else its old one.

    A renamed parameter's new name is never the old name of another, so the
    two cannot be confused.
    """
    name = f"param/{i}/{key}"
    if name not in archive.files:
        for old, new in type(layer)._renamed_params.items():
            if new == key:
                return archive[f"param/{i}/{old}"]
    return archive[name]


def _current_key(model, stored_key):
    """``"<layer>.<param>"`` of a file, with an old parameter name translated."""
    i, _, k = stored_key.partition(".")
    try:
        layer = model.layers[int(i)]
    except (ValueError, IndexError):
        return stored_key
    return f"{i}.{type(layer)._renamed_params.get(k, k)}"


def _load_parameters(model, archive, path):
    for i, layer in enumerate(model.layers):
        for k, ref in layer.params.items():
            arr = _stored_param(archive, i, layer, k)
            if arr.shape != ref.shape:
                raise ValueError(
                    f"{path}: parameter {i}/{k} has shape {arr.shape}, expected {ref.shape}"
                )
            ref[...] = arr


def _load_training_state(model, state, archive, path):
    """Optimizer buffers, shuffling generator and epoch count saved by :func:`save_model`."""
    if state is None:  # a file without it: training starts afresh
        return
    params = model.parameters()
    optimizer_state = {}
    for stored_key, t in state["optimizer_steps"].items():
        key = _current_key(model, stored_key)
        if key not in params:
            raise ValueError(f"{path}: optimizer state for unknown parameter {stored_key!r}")
        p = params[key]
        entry = {"t": int(t), "shape": p.shape, "dtype": p.dtype.name}
        prefix = f"optim/{stored_key}/"
        for name in archive.files:
            if name.startswith(prefix):
                buf = archive[name]
                if buf.shape != p.shape:
                    raise ValueError(f"{path}: optimizer buffer {name} has shape {buf.shape}, "
                                     f"expected {p.shape}")
                entry[name[len(prefix):]] = buf.astype(p.dtype, copy=False)
        optimizer_state[key] = entry
    model.optimizer.load_state_dict(optimizer_state)
    model.training_state.load_state_dict(
        {"shuffle_rng": state["shuffle_rng"], "epochs_done": state["epochs_done"]}
    )
