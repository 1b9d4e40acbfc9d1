"""Time series of the lecture: a noisy sine, a driven damped oscillator, and windowing."""

import math
import numbers

import numpy as np

from numbacnn._validation import as_float_array, check_choice

__all__ = ["sine_series", "damped_oscillator", "sliding_windows"]


def _positive_real(value, name):
    if (
        not isinstance(value, numbers.Real)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{name} must be a finite number > 0; got {value!r}")
    return float(value)


def _finite_real(value, name):
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite real number; got {value!r}")
    return float(value)


def sine_series(n=1000, noise=2.0, seed=None):
    r"""The lecture's noisy sine wave, :math:`x_t = \sin(0.02\,t) + \text{noise}\cdot u_t`.

    .. math::

        x_t = \sin(0.02\, t) + a\, u_t, \qquad u_t \sim U(0, 1)
        \text{ i.i.d.}, \qquad t = 0, 1, \dots, n-1,

    with :math:`a` = ``noise`` (2 in the lecture's Keras SimpleRNN example,
    which trains on the first 800 points and tests on the last 200).  The noise
    is *not* centred: it adds :math:`a/2` on average and has variance
    :math:`a^2/12` (= 1/3 for :math:`a = 2`), the smallest mean squared error
    any predictor of :math:`x_t` from the past can reach.

    Parameters
    ----------
    n : int, default 1000
        Number of samples, >= 1.
    noise : float, default 2.0
        Amplitude :math:`a \ge 0` of the uniform noise.
    seed : int, numpy.random.Generator or None
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    t : ndarray of float64, shape (n,)
        The times :math:`0, 1, \dots, n-1`.
    x : ndarray of float64, shape (n,)
        The series.

    Examples
    --------
    >>> from numbacnn.datasets import sine_series
    >>> t, x = sine_series(1000, seed=0)
    >>> x.shape, bool(abs(x.mean() - 1.0) < 0.1)
    ((1000,), True)
    """
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be an integer >= 1; got {n!r}")
    noise = _finite_real(noise, "noise")
    if noise < 0:
        raise ValueError(f"noise must be >= 0; got {noise!r}")
    rng = np.random.default_rng(seed)
    t = np.arange(int(n), dtype=np.float64)
    x = np.sin(0.02 * t) + noise * rng.uniform(0.0, 1.0, size=int(n))
    return t, x


def damped_oscillator(t_max, dt=0.05, gamma=0.2, omega=1.2, x0=1.0, v0=0.0, method="rk4"):
    r"""Integrate the driven damped oscillator :math:`x'' + \gamma x' + x = \cos(\omega t)`.

    The lecture's equation (its damping, written :math:`\eta` there, is
    :math:`\gamma` here because :math:`\eta` is the learning rate) as two
    first-order equations for :math:`y = (x, v)`:

    .. math::

        x' = v, \qquad v' = F(t) - \gamma v - x, \qquad F(t) = \cos(\omega t),

    on the grid :math:`t_i = i\,\Delta t`, :math:`i = 0, \dots, n` with
    :math:`n = \operatorname{round}(t_{\max}/\Delta t)`.

    ``method="rk4"`` (default) is the classical fourth-order Runge-Kutta
    scheme, global error :math:`O(\Delta t^4)`: with :math:`f(t, y)` the right
    hand side,

    .. math::

        k_1 &= f(t_i, y_i), &
        k_2 &= f(t_i + \tfrac{\Delta t}{2}, y_i + \tfrac{\Delta t}{2} k_1), \\
        k_3 &= f(t_i + \tfrac{\Delta t}{2}, y_i + \tfrac{\Delta t}{2} k_2), &
        k_4 &= f(t_i + \Delta t, y_i + \Delta t\, k_3), \\
        y_{i+1} &= y_i + \tfrac{\Delta t}{6}(k_1 + 2k_2 + 2k_3 + k_4).

    ``method="euler"`` is the lecture's explicit (forward) Euler step, global
    error :math:`O(\Delta t)`, for comparison:

    .. math::

        x_{i+1} = x_i + \Delta t\, v_i, \qquad
        v_{i+1} = v_i + \Delta t\,(F_i - \gamma v_i - x_i).

    :doc:`/theory/ode-recurrence` writes this Euler step as a linear recurrence
    and compares it with a recurrent network.

    Parameters
    ----------
    t_max : float
        End time, > 0.
    dt : float, default 0.05
        Time step, > 0.
    gamma : float, default 0.2
        Damping :math:`\gamma`.
    omega : float, default 1.2
        Angular frequency of the force.
    x0, v0 : float, default 1.0 and 0.0
        Initial position and velocity at :math:`t = 0`.
    method : {"rk4", "euler"}, default "rk4"

    Returns
    -------
    t, x, v, F : ndarrays of float64, shape (n + 1,)
        Times, position, velocity and force :math:`\cos(\omega t_i)`.

    Examples
    --------
    >>> from numbacnn.datasets import damped_oscillator
    >>> t, x, v, F = damped_oscillator(10.0, dt=0.05)
    >>> t.shape, float(t[-1]), float(x[0]), float(v[0]), float(F[0])
    ((201,), 10.0, 1.0, 0.0, 1.0)
    """
    t_max = _positive_real(t_max, "t_max")
    dt = _positive_real(dt, "dt")
    gamma = _finite_real(gamma, "gamma")
    omega = _finite_real(omega, "omega")
    x, v = _finite_real(x0, "x0"), _finite_real(v0, "v0")
    check_choice(method, "method", ("rk4", "euler"))
    n = int(round(t_max / dt))
    if n < 1:
        raise ValueError(f"t_max must be at least dt; got t_max={t_max!r}, dt={dt!r}")

    def accel(ti, xi, vi):
        return math.cos(omega * ti) - gamma * vi - xi

    t = np.arange(n + 1, dtype=np.float64) * dt
    xs = np.empty(n + 1)
    vs = np.empty(n + 1)
    xs[0], vs[0] = x, v
    half = 0.5 * dt
    for i in range(n):
        ti = i * dt
        if method == "rk4":
            k1x, k1v = v, accel(ti, x, v)
            k2x, k2v = v + half * k1v, accel(ti + half, x + half * k1x, v + half * k1v)
            k3x, k3v = v + half * k2v, accel(ti + half, x + half * k2x, v + half * k2v)
            k4x, k4v = v + dt * k3v, accel(ti + dt, x + dt * k3x, v + dt * k3v)
            x, v = (x + dt / 6 * (k1x + 2 * k2x + 2 * k3x + k4x),
                    v + dt / 6 * (k1v + 2 * k2v + 2 * k3v + k4v))
        else:
            x, v = x + dt * v, v + dt * accel(ti, x, v)
        xs[i + 1], vs[i + 1] = x, v
    return t, xs, vs, np.cos(omega * t)


def sliding_windows(series, steps, horizon=1, return_index=False):
    r"""Cut a series into overlapping windows and the value that follows each.

    Window :math:`i` holds ``steps`` consecutive samples and its target is the
    sample ``horizon`` steps after the window's last one:

    .. math::

        X_i = (s_i, s_{i+1}, \dots, s_{i+\text{steps}-1}), \qquad
        y_i = s_{i+\text{steps}+\text{horizon}-1}, \qquad
        i = 0, \dots, T - \text{steps} - \text{horizon}.

    Every sample :math:`s_j` with :math:`j \ge` ``steps + horizon - 1`` is the
    target of exactly one window, and no window is padded.  This is the
    lecture's ``convertToMatrix`` for ``horizon=1``, without its padding: the
    lecture appends ``steps`` copies of the last value to each of its training
    and test blocks, which adds ``steps`` windows whose targets are made up,
    while the first ``steps`` samples of the test block never become targets.
    To split into training and test data without losing targets, window the
    whole series and split by target time (``return_index=True`` gives it): a
    test window may then look back into the training period, which is what a
    forecaster would do.

    Parameters
    ----------
    series : array_like, shape (T,) or (T, D)
        A univariate series or ``D`` channels (e.g. :math:`x, v, F` of
        :func:`damped_oscillator`, stacked with ``np.column_stack``).
    steps : int
        Window length, >= 1.
    horizon : int, default 1
        How far past the window the target lies, >= 1.
    return_index : bool, default False
        Also return the time index of each target.

    Returns
    -------
    X : ndarray, shape (T - steps - horizon + 1, steps, D)
        The windows, ``D = 1`` for a 1-D series: the ``(N, T, D)`` layout of
        the recurrent layers.  A new array (float; float32 stays float32).
    y : ndarray, shape (n_windows,) for a 1-D series, else (n_windows, D)
        The targets.
    index : ndarray of int64, shape (n_windows,)
        Only if ``return_index``: ``index[i] = i + steps + horizon - 1``, the
        position of ``y[i]`` in ``series``.

    Examples
    --------
    >>> import numpy as np
    >>> from numbacnn.datasets import sliding_windows
    >>> X, y = sliding_windows(np.arange(6.0), steps=3)
    >>> X[:, :, 0]
    array([[0., 1., 2.],
           [1., 2., 3.],
           [2., 3., 4.]])
    >>> y
    array([3., 4., 5.])
    """
    s = as_float_array(series, "series")
    if s.ndim not in (1, 2):
        raise ValueError(
            f"series must be 1-D (T,) or 2-D (T, D); got {s.ndim}-D array of shape {s.shape}"
        )
    for value, name in ((steps, "steps"), (horizon, "horizon")):
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1; got {value!r}")
    steps, horizon = int(steps), int(horizon)
    T = s.shape[0]
    n = T - steps - horizon + 1
    if n < 1:
        raise ValueError(
            f"series of length {T} is too short for windows of steps={steps} with "
            f"horizon={horizon}; it needs at least {steps + horizon} samples"
        )
    s2 = s.reshape(T, -1)
    idx = np.arange(n)[:, None] + np.arange(steps)[None, :]
    X = s2[idx]  # fancy indexing: a new (n, steps, D) array
    target = np.arange(n, dtype=np.int64) + (steps + horizon - 1)
    y = s[target].copy()
    if return_index:
        return X, y, target
    return X, y
