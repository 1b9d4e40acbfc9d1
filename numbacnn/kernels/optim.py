r"""Optimizer updates as one loop over the parameters.

:func:`adam_update` is the Adam step of :class:`numbacnn.optimizers.Adam`,
each element's five operations done while the element is in a register
instead of as a sequence of whole-array NumPy operations, each writing a
temporary.  The operations, and their order, are the NumPy ones, so the
result is the same to the last bit.  See :doc:`/theory/optimizers`.
"""

import numpy as np

from ._jit import jit

__all__ = ["adam_update"]


@jit
def adam_update(p, g, m, s, rho, rho2, eta, delta, one_rho, one_rho2, c1, c2):
    r"""One Adam step on flat arrays, in place.

    .. math::

        m \leftarrow \rho\, m + (1-\rho)\, g, \qquad
        s \leftarrow \rho_2\, s + (1-\rho_2)\, g \odot g, \qquad
        p \leftarrow p - \eta\, \frac{m / c_1}{\sqrt{s / c_2} + \delta},

    with :math:`c_1 = 1-\rho^t` and :math:`c_2 = 1-\rho_2^t` at step :math:`t`.
    The caller rounds :math:`1-\rho`, :math:`1-\rho_2`, :math:`c_1` and
    :math:`c_2` to the arrays' dtype from their float64 values (in float32,
    ``1 - rho`` of a rounded ``rho`` is not the rounded ``1 - rho``).

    Parameters
    ----------
    p, m, s : ndarray, shape (n,)
        The parameters and the two moments; updated in place.
    g : ndarray, shape (n,)
        The gradient.
    rho, rho2, eta, delta, one_rho, one_rho2, c1, c2 : scalar of the arrays' dtype
    """
    for k in range(p.size):
        g_k = g[k]
        m_k = m[k] * rho + one_rho * g_k
        s_k = s[k] * rho2 + one_rho2 * (g_k * g_k)
        m[k] = m_k
        s[k] = s_k
        p[k] -= eta * (m_k / c1) / (np.sqrt(s_k / c2) + delta)
