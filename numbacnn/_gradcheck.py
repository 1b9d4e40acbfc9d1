"""Check a hand-written backward pass against central finite differences.

Exported as :func:`numbacnn.gradcheck`.  See :doc:`/theory/training`.
"""

import numpy as np

from ._validation import as_rectangular_array, check_real

__all__ = ["gradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """Raised by :func:`gradcheck` when an analytic gradient disagrees with the numeric one.

    ``errors`` holds the relative error of every input (``None`` where the
    backward pass returned no gradient), as returned by :func:`gradcheck`.
    """

    def __init__(self, message, errors):
        super().__init__(message)
        self.errors = errors


def _relative_error(analytic, numeric):
    if analytic.size == 0:
        return 0.0
    scale = max(np.max(np.abs(analytic)), np.max(np.abs(numeric)))
    if scale == 0.0:
        return 0.0  # both exactly zero (diff <= scale)
    return float(np.max(np.abs(analytic - numeric)) / scale)


def gradcheck(forward, backward, inputs, *, eps=1e-6, rtol=1e-6, seed=0, raise_exception=True):
    r"""Compare ``backward`` with central finite differences of ``forward``.

    For a function :math:`y = f(x_1, \dots, x_k)` with an array output, pick a
    random upstream gradient :math:`\bar y` (what a loss would send back) and
    look at the scalar :math:`L = \sum \bar y \odot f(x_1, \dots, x_k)`.  Its
    gradient with respect to each input is exactly what a backward pass
    computes, :math:`\partial L / \partial x_i = \bar x_i`.  Numerically, entry
    by entry,

    .. math::

        \frac{\partial L}{\partial x_i[m]} \approx
        \sum \bar y \odot \frac{f(\dots, x_i + \epsilon e_m, \dots)
                                - f(\dots, x_i - \epsilon e_m, \dots)}{2 \epsilon},

    which is accurate to :math:`O(\epsilon^2)` (CS231n's
    ``eval_numerical_gradient_array``).  The error reported per input is

    .. math::

        \mathrm{err}_i = \frac{\max_m |\bar x_i[m] - \tilde x_i[m]|}
                              {\max\left(\max_m |\bar x_i[m]|, \max_m |\tilde x_i[m]|\right)},

    the largest deviation relative to the size of the gradient (0 when both
    are exactly zero).  A correct float64 backward pass typically gives
    :math:`10^{-10}` to :math:`10^{-8}`; a wrong one gives order 1.

    Parameters
    ----------
    forward : callable
        ``forward(*inputs) -> y``, an array (or a float).  Must be a
        deterministic function of the arrays in ``inputs`` (fix any dropout
        mask or random seed outside).
    backward : callable
        ``backward(grad_out) -> grads``: given :math:`\bar y` (shape of ``y``)
        return one gradient per input, a tuple or list in the order of
        ``inputs`` (a bare array is accepted when there is one input).  Use
        ``None`` for an input that is not differentiated (integer labels, a
        mask); it is then neither perturbed nor checked.  ``backward`` is
        called once, right after ``forward(*inputs)`` at the unperturbed
        inputs, so a layer that caches its forward state works as is.
    inputs : sequence of ndarray
        The point where the gradients are checked.  Every input with a
        gradient must be a **writeable float64 ndarray**: it is perturbed *in
        place* (each entry by :math:`\pm\epsilon`, one at a time) and restored
        bit for bit before ``gradcheck`` returns, even on an exception.  This is
        what lets a model check its parameters: pass the very arrays the model
        reads (``layer.W``), and ``forward`` sees the perturbation even if it
        ignores its arguments.
    eps : float
        Finite-difference step :math:`\epsilon`.
    rtol : float
        Largest acceptable ``err_i``.
    seed : int
        Seed of the random upstream gradient :math:`\bar y` (standard normal).
    raise_exception : bool
        If true (default), raise :class:`GradcheckError` when an error exceeds
        ``rtol``; otherwise just return the errors.

    Returns
    -------
    errors : tuple of float or None
        ``err_i`` for every input (``None`` where ``backward`` returned ``None``).

    Raises
    ------
    GradcheckError
        (an ``AssertionError``) when ``raise_exception`` and an error exceeds
        ``rtol``; the message lists every input's error.
    TypeError, ValueError
        when an input with a gradient is not a writeable float64 array, or
        ``backward`` returns the wrong number or shapes of gradients.

    Notes
    -----
    The cost is ``2 * x.size`` forward calls per checked input: use small
    shapes.  Kinks (ReLU at 0, ties in a max) make finite differences
    meaningless where a perturbation crosses them; use distinct, generic
    values (e.g. ``rng.standard_normal``) and a small ``eps``.

    Examples
    --------
    A functional pair: the backward pass closes over the same ``x``.

    >>> import numpy as np
    >>> from numbacnn import gradcheck
    >>> from numbacnn.functional import max_pool2d, max_pool2d_backward
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((2, 3, 4, 4))
    >>> errors = gradcheck(lambda x: max_pool2d(x, 2),
    ...                    lambda g: max_pool2d_backward(g, x, 2), [x])
    >>> errors[0] < 1e-8
    True

    Several inputs, one of them not differentiated, and a deliberately wrong
    gradient:

    >>> A, B = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    >>> def forward(A, B, scale):
    ...     return scale * (A @ B)
    >>> def backward(g):
    ...     return 2 * g @ B.T, 2 * A.T @ g, None
    >>> errors = gradcheck(forward, backward, [A, B, 2.0])
    >>> [e < 1e-8 if e is not None else e for e in errors]
    [True, True, None]
    >>> gradcheck(forward, lambda g: (g @ B.T, 2 * A.T @ g, None),
    ...           [A, B, 2.0])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    numbacnn._gradcheck.GradcheckError: gradcheck failed (rtol=1e-06): input 0: 5.0e-01, ...
    """
    eps = check_real(eps, "eps", low=0, low_open=True)
    rtol = check_real(rtol, "rtol", low=0)
    if isinstance(inputs, np.ndarray):
        inputs = [inputs]
    try:
        inputs = list(inputs)
    except TypeError:
        raise TypeError(f"inputs must be a sequence of arrays; got {inputs!r}") from None
    if not callable(forward) or not callable(backward):
        raise TypeError("forward and backward must be callables")
    for k, x in enumerate(inputs):
        if isinstance(x, (list, tuple)):
            as_rectangular_array(x, f"inputs[{k}]")
    rng = np.random.default_rng(seed)
    try:
        y = np.asarray(forward(*inputs), dtype=np.float64)
    except (TypeError, ValueError) as exc:
        # name the call: the message alone may not say that forward or inputs is at fault
        kind = TypeError if isinstance(exc, TypeError) else ValueError
        raise kind(f"forward(*inputs) raised {type(exc).__name__}: {exc}") from exc
    grad_out = rng.standard_normal(y.shape)
    grads = backward(grad_out.copy() if y.ndim else float(grad_out))
    if isinstance(grads, np.ndarray) or not isinstance(grads, (tuple, list)):
        grads = (grads,)
    if len(grads) != len(inputs):
        raise ValueError(
            f"backward must return one gradient per input ({len(inputs)}); got {len(grads)}"
        )
    # copy: a backward pass may hand out views of buffers the next forward call overwrites
    grads = [None if g is None else np.array(g, dtype=np.float64) for g in grads]
    for k, (x, g) in enumerate(zip(inputs, grads, strict=True)):
        if g is None:
            continue
        if not isinstance(x, np.ndarray) or x.dtype != np.float64:
            raise TypeError(
                f"inputs[{k}] must be a float64 ndarray (finite differences need double "
                f"precision); got {type(x).__name__} {getattr(x, 'dtype', '')}"
            )
        if not x.flags.writeable:
            raise ValueError(f"inputs[{k}] must be writeable (it is perturbed in place)")
        if g.shape != x.shape:
            raise ValueError(
                f"backward returned a gradient of shape {g.shape} for inputs[{k}] "
                f"of shape {x.shape}"
            )

    errors = []
    for x, g in zip(inputs, grads, strict=True):
        if g is None:
            errors.append(None)
            continue
        numeric = np.zeros(x.shape)
        for m in np.ndindex(*x.shape):
            old = x[m]
            try:
                x[m] = old + eps
                y_plus = np.asarray(forward(*inputs), dtype=np.float64)
                x[m] = old - eps
                y_minus = np.asarray(forward(*inputs), dtype=np.float64)
            finally:
                x[m] = old
            # subtract the outputs first: keeps the rounding error of a large sum out
            numeric[m] = np.sum((y_plus - y_minus) * grad_out) / (2 * eps)
        errors.append(_relative_error(g, numeric))

    bad = [k for k, e in enumerate(errors) if e is not None and not e <= rtol]
    if raise_exception and bad:
        report = ", ".join(
            f"input {k}: {e:.1e}" for k, e in enumerate(errors) if e is not None
        )
        raise GradcheckError(f"gradcheck failed (rtol={rtol:g}): {report}", tuple(errors))
    return tuple(errors)
