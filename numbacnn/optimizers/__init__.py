r"""Gradient-descent optimizers: the lecture's schedulers with explicit state.

The lecture's ``Scheduler`` classes return a *change* that the network
subtracts from its weights.  Here an optimizer owns the whole update::

    opt = Adam(eta=1e-3)
    opt.step(params, grads)   # params[k] -= update(grads[k]), in place

``params`` and ``grads`` are dicts with the same keys, mapping a name to an
array.  The parameter arrays belong to the model and are updated **in place**
(the layer that holds them sees the new values without any reassignment);
the gradients are never modified.  Everything an optimizer remembers between
steps (velocities, accumulated squares, moments, the step counter) lives in
``opt.state[key]``, a dict of arrays of the parameter's shape and dtype, so a
float32 model stays float32.  State is keyed by the dict key, so the keys must
be unique across the model (``"conv1.W"``, ``"dense2.b"``, ...); a key that
comes back with a different shape raises ``ValueError``.  :meth:`reset` clears
the state, for a fresh training run.  The equations are derived in
:doc:`/theory/optimizers`.

**Regularisation.**  The lecture's L2 term :math:`\lambda W` (strength
``lmbd``, numbacnn's ``l2``) is added to the weight gradients by the model,
``Sequential(l2=...)``, so the optimizers see the already regularised gradient
:math:`g = \nabla_W C + \lambda W`.  This is L2 regularisation inside Adam's
moments; AdamW's decoupled decay is different and not offered.

How the formulas differ from the lecture's code (Adagrad's row sums, Adam's
per-epoch reset, where ``delta`` sits) is shown in :doc:`/theory/optimizers`.
"""

import numpy as np

from numbacnn._registry import resolve

from ..kernels.optim import adam_update
from .base import Optimizer, _check_delta, _check_momentum, _check_rate

__all__ = [
    "Optimizer",
    "SGD",
    "Momentum",
    "Adagrad",
    "AdagradMomentum",
    "RMSprop",
    "Adam",
    "get_optimizer",
    "OPTIMIZERS",
]


class SGD(Optimizer):
    r"""Plain gradient descent (the lecture's ``Constant`` scheduler).

    .. math::

        \theta_{t} = \theta_{t-1} - \eta\, g_t.

    See :doc:`/theory/optimizers`.

    Parameters
    ----------
    eta : float, default 0.01
        Learning rate, > 0.

    Examples
    --------
    >>> import numpy as np
    >>> from numbacnn.optimizers import SGD
    >>> W = np.array([1.0, 2.0])
    >>> SGD(eta=0.1).step({"W": W}, {"W": np.array([1.0, -1.0])})
    >>> W
    array([0.9, 2.1])
    """

    name = "sgd"

    def __init__(self, eta=0.01):
        super().__init__(eta)

    def _update(self, p, g, st):
        p -= p.dtype.type(self.eta) * g


class Momentum(Optimizer):
    r"""Gradient descent with momentum (the lecture's ``Momentum``).

    .. math::

        v_t = \mu\, v_{t-1} + \eta\, g_t, \qquad
        \theta_t = \theta_{t-1} - v_t, \qquad v_0 = 0,

    with :math:`\mu` = ``momentum``.  (PyTorch's ``SGD(momentum=mu)`` keeps
    :math:`v/\eta` instead; for a constant :math:`\eta` the steps are equal.)

    See :doc:`/theory/optimizers`.

    Parameters
    ----------
    eta : float, default 0.01
        Learning rate, > 0.
    momentum : float, default 0.9
        :math:`0 \le \mu < 1`.

    Examples
    --------
    >>> import numpy as np
    >>> from numbacnn.optimizers import Momentum
    >>> W, opt = np.array([0.0]), Momentum(eta=0.1, momentum=0.5)
    >>> for _ in range(2):
    ...     opt.step({"W": W}, {"W": np.array([1.0])})
    >>> W  # -(0.1) - (0.5*0.1 + 0.1)
    array([-0.25])
    """

    name = "momentum"
    buffers = ("v",)

    def __init__(self, eta=0.01, momentum=0.9):
        super().__init__(eta)
        self.momentum = _check_momentum(momentum)

    def _update(self, p, g, st):
        v = self._buffer(st, "v", p)
        dt = p.dtype.type
        v *= dt(self.momentum)
        v += dt(self.eta) * g
        p -= v

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum}


class Adagrad(Optimizer):
    r"""Adagrad: a step size per parameter from the accumulated squared gradients.

    .. math::

        G_t = G_{t-1} + g_t \odot g_t, \qquad
        \theta_t = \theta_{t-1} - \frac{\eta\, g_t}{\delta + \sqrt{G_t}},
        \qquad G_0 = 0.

    (The lecture accumulates the diagonal of :math:`g g^T`, i.e. row sums of
    squares; this is the elementwise form of Duchi et al.)

    See :doc:`/theory/optimizers`.

    Parameters
    ----------
    eta : float, default 0.01
        Learning rate, > 0.
    delta : float, default 1e-8
        Guards the division, > 0.

    Examples
    --------
    >>> import numpy as np
    >>> from numbacnn.optimizers import Adagrad
    >>> W = np.array([0.0, 0.0])
    >>> Adagrad(eta=0.1).step({"W": W}, {"W": np.array([2.0, -0.5])})
    >>> np.round(W, 6)  # first step: -eta * sign(g)
    array([-0.1,  0.1])
    """

    name = "adagrad"
    buffers = ("G",)

    def __init__(self, eta=0.01, delta=1e-8):
        super().__init__(eta)
        self.delta = _check_delta(delta)

    def _scaled(self, p, g, st):
        G = self._buffer(st, "G", p)
        G += g * g
        dt = p.dtype.type
        return dt(self.eta) * g / (dt(self.delta) + np.sqrt(G))

    def _update(self, p, g, st):
        p -= self._scaled(p, g, st)

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}


class AdagradMomentum(Adagrad):
    r"""Adagrad step sizes fed through momentum (the lecture's ``AdagradMomentum``).

    .. math::

        G_t = G_{t-1} + g_t \odot g_t, \qquad
        v_t = \mu\, v_{t-1} + \frac{\eta\, g_t}{\delta + \sqrt{G_t}}, \qquad
        \theta_t = \theta_{t-1} - v_t.

    See :doc:`/theory/optimizers`.

    Parameters
    ----------
    eta : float, default 0.01
        Learning rate, > 0.
    momentum : float, default 0.9
        :math:`0 \le \mu < 1`.
    delta : float, default 1e-8
        Guards the division, > 0.

    Examples
    --------
    >>> import numpy as np
    >>> from numbacnn.optimizers import AdagradMomentum
    >>> W, opt = np.array([0.0]), AdagradMomentum(eta=0.1, momentum=0.5)
    >>> opt.step({"W": W}, {"W": np.array([3.0])})
    >>> np.round(W, 6)
    array([-0.1])
    """

    name = "adagrad_momentum"
    buffers = ("G", "v")

    def __init__(self, eta=0.01, momentum=0.9, delta=1e-8):
        super().__init__(eta, delta)
        self.momentum = _check_momentum(momentum)

    def _update(self, p, g, st):
        v = self._buffer(st, "v", p)
        v *= p.dtype.type(self.momentum)
        v += self._scaled(p, g, st)
        p -= v

    def get_config(self):
        return {"name": self.name, "eta": self.eta, "momentum": self.momentum,
                "delta": self.delta}


class RMSprop(Optimizer):
    r"""RMSprop: divide by a running root-mean-square of the gradients.

    .. math::

        s_t = \rho\, s_{t-1} + (1 - \rho)\, g_t \odot g_t, \qquad
        \theta_t = \theta_{t-1} - \frac{\eta\, g_t}{\sqrt{s_t} + \delta},
        \qquad s_0 = 0.

    See :doc:`/theory/optimizers`.

    Parameters
    ----------
    eta : float, default 0.001
        Learning rate, > 0.
    rho : float, default 0.9
        Decay of the running average, :math:`0 < \rho < 1`.
    delta : float, default 1e-8
        Guards the division, > 0 (the lecture puts it under the root).

    Examples
    --------
    >>> import numpy as np
    >>> from numbacnn.optimizers import RMSprop
    >>> W = np.array([0.0])
    >>> RMSprop(eta=0.01, rho=0.75).step({"W": W}, {"W": np.array([4.0])})
    >>> np.round(W, 6)  # -0.01 * 4 / sqrt(0.25 * 16)
    array([-0.02])
    """

    name = "rmsprop"
    buffers = ("s",)

    def __init__(self, eta=0.001, rho=0.9, delta=1e-8):
        super().__init__(eta)
        self.rho = _check_rate(rho, "rho")
        self.delta = _check_delta(delta)

    def _update(self, p, g, st):
        s = self._buffer(st, "s", p)
        dt = p.dtype.type
        s *= dt(self.rho)
        s += dt(1 - self.rho) * (g * g)
        p -= dt(self.eta) * g / (np.sqrt(s) + dt(self.delta))

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "delta": self.delta}


class Adam(Optimizer):
    r"""Adam (Kingma and Ba): bias-corrected first and second moments.

    .. math::

        m_t &= \rho\, m_{t-1} + (1 - \rho)\, g_t, \\
        s_t &= \rho_2\, s_{t-1} + (1 - \rho_2)\, g_t \odot g_t, \\
        \hat m_t &= \frac{m_t}{1 - \rho^t}, \qquad
        \hat s_t = \frac{s_t}{1 - \rho_2^t}, \\
        \theta_t &= \theta_{t-1} - \frac{\eta\, \hat m_t}{\sqrt{\hat s_t} + \delta},

    with :math:`m_0 = s_0 = 0` and :math:`t` the number of *steps* (mini-batch
    updates) taken so far for this parameter.

    **No per-epoch reset.**  The lecture calls ``reset()`` after every epoch,
    which zeroes :math:`m, s` and increments a counter that it then uses as
    :math:`t`.  The bias correction :math:`1/(1-\rho^t)` exists to undo the
    zero initialisation of the moments after :math:`t` *updates*, so counting
    epochs gets it wrong in both directions.  During the first epoch the
    factors stay at :math:`1/(1-\rho) = 10` and :math:`1/(1-\rho_2) = 1000`
    for every mini-batch: right for the first one only, and once the moments
    have warmed up every step is :math:`10/\sqrt{1000} \approx 0.32` times
    Adam's.  In epoch :math:`e` the factors are :math:`1/(1-\rho^e)` and
    :math:`1/(1-\rho_2^e)` for moments that were just zeroed, so for a
    constant gradient each epoch opens with a step of :math:`0.74\,\eta`
    (:math:`e = 2`), :math:`0.48\,\eta` (:math:`e = 10`), :math:`0.98\,\eta`
    (:math:`e = 100`), tending to :math:`(1-\rho)/\sqrt{1-\rho_2} \approx 3.2\,\eta`
    only after thousands of epochs.  Zeroing :math:`s` also throws away the
    per-parameter scale that Adam spends the epoch estimating.  Here the state
    persists until :meth:`reset` is called for a new training run.

    See :doc:`/theory/optimizers`.

    Parameters
    ----------
    eta : float, default 0.001
        Learning rate, > 0.
    rho : float, default 0.9
        Decay of the first moment (PyTorch's ``beta1``), :math:`0 < \rho < 1`.
    rho2 : float, default 0.999
        Decay of the second moment (``beta2``), :math:`0 < \rho_2 < 1`.
    delta : float, default 1e-8
        Guards the division, > 0 (the lecture puts it under the root).

    Examples
    --------
    >>> import numpy as np
    >>> from numbacnn.optimizers import Adam
    >>> W = np.array([0.0, 0.0])
    >>> Adam(eta=0.1).step({"W": W}, {"W": np.array([5.0, -0.01])})
    >>> np.round(W, 6)  # first step is -eta * sign(g)
    array([-0.1,  0.1])
    """

    name = "adam"
    buffers = ("m", "s")

    def __init__(self, eta=0.001, rho=0.9, rho2=0.999, delta=1e-8):
        super().__init__(eta)
        self.rho = _check_rate(rho, "rho")
        self.rho2 = _check_rate(rho2, "rho2")
        self.delta = _check_delta(delta)

    def _update(self, p, g, st):
        m = self._buffer(st, "m", p)
        s = self._buffer(st, "s", p)
        t = st["t"]
        dt = p.dtype.type
        # the kernel walks flat C-contiguous arrays (the buffers always are); a
        # parameter of another layout is updated through a contiguous copy
        flat = p if p.flags.c_contiguous else np.ascontiguousarray(p)
        adam_update(flat.reshape(-1), np.ascontiguousarray(g).reshape(-1), m.reshape(-1),
                    s.reshape(-1), dt(self.rho), dt(self.rho2), dt(self.eta), dt(self.delta),
                    dt(1 - self.rho), dt(1 - self.rho2), dt(1 - self.rho**t),
                    dt(1 - self.rho2**t))
        if flat is not p:
            p[...] = flat

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "rho2": self.rho2,
                "delta": self.delta}


#: name -> class; lecture spellings ("constant", "rms_prop") are aliases.
OPTIMIZERS = {
    "sgd": SGD, "constant": SGD, "momentum": Momentum, "adagrad": Adagrad,
    "adagrad_momentum": AdagradMomentum, "adagradmomentum": AdagradMomentum,
    "rmsprop": RMSprop, "rms_prop": RMSprop, "adam": Adam,
}


def get_optimizer(spec):
    """Return an :class:`Optimizer` for a name, a config dict, a class or an instance.

    Parameters
    ----------
    spec : None, str, dict, Optimizer subclass or Optimizer instance
        ``None`` gives ``Adam()`` (the default of :class:`numbacnn.Sequential`).
        Names (case-insensitive): ``"sgd"`` (alias ``"constant"``),
        ``"momentum"``, ``"adagrad"``, ``"adagrad_momentum"``, ``"rmsprop"``
        (``"rms_prop"``), ``"adam"``, with default hyperparameters.  A dict is
        what :meth:`Optimizer.get_config` returns, e.g.
        ``{"name": "adam", "eta": 2e-3}``.  An instance is returned as is
        (with its state).

    Returns
    -------
    Optimizer

    Examples
    --------
    >>> from numbacnn.optimizers import get_optimizer
    >>> get_optimizer({"name": "momentum", "eta": 0.1})
    Momentum(eta=0.1, momentum=0.9)
    """
    return resolve(spec, base=Optimizer, registry=OPTIMIZERS, kind="optimizer", default=Adam)

