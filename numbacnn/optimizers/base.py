"""The :class:`Optimizer` base class: validated steps over per-parameter state.

The update rules are in :mod:`numbacnn.optimizers`; this module holds what
they share (checking ``step``'s arguments, the state and its (de)serialisation,
setting the state aside for a refused step) and the checks of their settings.
"""

import numpy as np

from numbacnn._deprecation import deprecated_alias, keyword_aliases
from numbacnn._validation import as_rectangular_array, check_int, check_real

__all__ = ["Optimizer"]


def _check_momentum(momentum):
    return check_real(momentum, "momentum", low=0, high=1, high_open=True)


def _check_rate(value, name):
    return check_real(value, name, low=0, high=1, low_open=True, high_open=True)


def _check_delta(delta):
    return check_real(delta, "delta", low=0, low_open=True)


class Optimizer:
    """Base class: validated ``step(params, grads)`` over per-key state.

    Subclasses implement ``_update(param, grad, state)``, which receives one
    parameter array (to modify in place), its gradient already converted to
    the parameter's dtype, and the dict of state for that key (created empty
    on the first step; ``state["t"]`` is the number of the current step,
    starting at 1).

    Attributes
    ----------
    eta : float
        Learning rate :math:`\\eta`; every optimizer also accepts it as
        ``learning_rate=`` (Keras's name, the same argument: passing both is a
        ``TypeError``), and :attr:`learning_rate` reads and sets it.
    state : dict
        ``state[key]`` holds that parameter's buffers (e.g. ``"m"``, ``"s"``),
        its step counter ``"t"`` and the ``"shape"``/``"dtype"`` it was made for.
        Read and restore it with :meth:`state_dict` / :meth:`load_state_dict`.
    """

    name = None
    #: names of the arrays kept per parameter between steps
    buffers = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # every optimizer also takes Keras's name for the learning rate
        if "__init__" in cls.__dict__:
            cls.__init__ = keyword_aliases(learning_rate="eta")(cls.__dict__["__init__"])

    def __init__(self, eta):
        self.eta = check_real(eta, "eta", low=0, low_open=True)
        self.state = {}

    @property
    def learning_rate(self):
        """Keras's name for :attr:`eta` (reading and setting it is the same)."""
        return self.eta

    @learning_rate.setter
    def learning_rate(self, value):
        self.eta = check_real(value, "learning_rate", low=0, low_open=True)

    def step(self, params, grads):
        """Update every array in ``params`` in place from the matching ``grads``.

        Parameters
        ----------
        params : dict of str -> ndarray
            Model parameters (float32 or float64, writable).  Modified in place.
        grads : dict of str -> array_like
            Gradients of the (regularised) cost, same keys and shapes.  Not
            modified; converted to each parameter's dtype.

        Raises
        ------
        ValueError
            If the keys differ, a shape differs from its parameter, a parameter
            is read-only, or a key's shape changed since an earlier step.
        TypeError
            If a parameter is not a floating NumPy array.
        """
        if set(params) != set(grads):
            missing, extra = sorted(set(params) - set(grads)), sorted(set(grads) - set(params))
            raise ValueError(f"params and grads must have the same keys; missing in grads: "
                             f"{missing}, not in params: {extra}")
        for key, p in params.items():
            if not isinstance(p, np.ndarray) or p.dtype.kind != "f":
                raise TypeError(
                    f"params[{key!r}] must be a floating-point numpy array "
                    f"(updated in place); got {type(p).__name__}"
                    + (f" of dtype {p.dtype}" if isinstance(p, np.ndarray) else "")
                )
            if not p.flags.writeable:
                raise ValueError(f"params[{key!r}] is read-only; the optimizer updates the "
                                 "parameters in place")
            g = as_rectangular_array(grads[key], f"grads[{key!r}]")
            if g.shape != p.shape:
                raise ValueError(
                    f"grads[{key!r}] has shape {g.shape} but params[{key!r}] has "
                    f"shape {p.shape}"
                )
            st = self.state.get(key)
            if st is not None and (st["shape"] != p.shape or st["dtype"] != p.dtype):
                raise ValueError(
                    f"params[{key!r}] has shape {p.shape} ({p.dtype}) but the optimizer "
                    f"state for {key!r} was made for {st['shape']} ({st['dtype']}); keys "
                    f"must be unique across the model, or call reset() for a new model"
                )
        self._step(params, {k: np.asarray(grads[k]).astype(p.dtype, copy=False)
                            for k, p in params.items()})

    def _step(self, params, grads):
        """:meth:`step` unchecked: each ``grads[k]`` has ``params[k]``'s shape and dtype."""
        for key, p in params.items():
            st = self.state.get(key)
            if st is None:
                st = self.state[key] = {"t": 0, "shape": p.shape, "dtype": p.dtype}
            st["t"] += 1
            self._update(p, grads[key], st)

    def _update(self, p, g, st):
        raise NotImplementedError

    @staticmethod
    def _buffer(st, name, p):
        buf = st.get(name)
        if buf is None:
            # C order whatever p's layout: kernels walk the buffers as flat arrays
            buf = st[name] = np.zeros(p.shape, p.dtype)
        return buf

    def reset(self):
        """Forget all state (buffers and step counters), e.g. before a new training run."""
        self.state = {}

    def state_dict(self):
        """A copy of the state, in plain values.

        Returns
        -------
        dict of str -> dict
            For every parameter key: ``"t"`` (int, steps taken), ``"shape"``
            (tuple of int), ``"dtype"`` (``"float32"`` or ``"float64"``) and a
            copy of each buffer of :attr:`buffers` created so far.
        """
        out = {}
        for key, st in self.state.items():
            entry = {"t": int(st["t"]), "shape": tuple(st["shape"]),
                     "dtype": np.dtype(st["dtype"]).name}
            entry.update({k: v.copy() for k, v in st.items() if isinstance(v, np.ndarray)})
            out[key] = entry
        return out

    def load_state_dict(self, state):
        """Replace the state by a copy of ``state`` (as returned by :meth:`state_dict`).

        Raises
        ------
        ValueError
            Naming the key, if an entry lacks ``t``/``shape``/``dtype``, names a
            buffer this optimizer does not keep, or holds a buffer whose shape
            or dtype differs from the entry's.
        """
        if not isinstance(state, dict):
            raise TypeError(f"state must be a dict as returned by state_dict(); got {state!r}")
        loaded = {}
        for key, entry in state.items():
            if not isinstance(entry, dict) or not {"t", "shape", "dtype"} <= set(entry):
                raise ValueError(
                    f"state[{key!r}] must be a dict with 't', 'shape', 'dtype' and the "
                    f"buffers; got {entry!r}"
                )
            shape = tuple(check_int(n, f"state[{key!r}]['shape']", minimum=0)
                          for n in entry["shape"])
            dtype = np.dtype(entry["dtype"])
            if dtype not in (np.float32, np.float64):
                raise ValueError(f"state[{key!r}] has dtype {dtype}; expected float32 or float64")
            st = {"t": check_int(entry["t"], f"state[{key!r}]['t']", minimum=0),
                  "shape": shape, "dtype": dtype}
            for name, buf in entry.items():
                if name in st:
                    continue
                if name not in self.buffers:
                    raise ValueError(
                        f"state[{key!r}] has a buffer {name!r}, but {type(self).__name__} keeps "
                        f"{list(self.buffers)}"
                    )
                if not isinstance(buf, np.ndarray) or buf.shape != shape or buf.dtype != dtype:
                    got = f"{getattr(buf, 'dtype', type(buf).__name__)} of shape {np.shape(buf)}"
                    raise ValueError(f"state[{key!r}][{name!r}] must be a {dtype} array of "
                                     f"shape {shape}; got {got}")
                st[name] = buf.copy()
            loaded[key] = st
        self.state = loaded

    def _save_state(self):
        """Set the state aside for :meth:`_restore_state` (into copies reused between calls)."""
        old, self._held = getattr(self, "_held", {}), {}
        for key, st in self.state.items():
            kept = self._held[key] = dict(st)
            for name, buf in st.items():
                if isinstance(buf, np.ndarray):
                    copy = old.get(key, {}).get(name)
                    if copy is None or copy.shape != buf.shape or copy.dtype != buf.dtype:
                        copy = np.empty_like(buf)
                    np.copyto(copy, buf)
                    kept[name] = copy

    def _restore_state(self):
        """Return to the state of the last :meth:`_save_state`; live buffers are refilled."""
        restored = {}
        for key, kept in self._held.items():
            st = restored[key] = dict(kept)
            for name, copy in kept.items():
                live = self.state.get(key, {}).get(name)
                if isinstance(live, np.ndarray):
                    np.copyto(live, copy)
                    st[name] = live
                elif isinstance(copy, np.ndarray):
                    st[name] = copy.copy()
        self.state = restored

    def get_config(self):
        """Return ``{"name": ..., **hyperparameters}``, accepted by :func:`get_optimizer`."""
        return {"name": self.name, "eta": self.eta}

    to_config = deprecated_alias("to_config", "get_config")

    def __repr__(self):
        params = {k: v for k, v in self.get_config().items() if k != "name"}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in params.items())})"
