"""Checkers for a learner's backpropagation through time: the simple RNN and the LSTM."""

import numpy as np
from hypothesis import strategies as st

from . import _reference as ref
from ._conv import small_ints
from ._harness import Case, close, first_difference, run_checker

__all__ = ["check_rnn_backward", "check_lstm_backward"]

_RNN_OUTPUTS = ("grad_x", "grad_h0", "grad_W_ih", "grad_W_hh", "grad_b", "grad_V", "grad_c")
_LSTM_OUTPUTS = ("grad_x", "grad_h0", "grad_c0", "grad_W_ih", "grad_W_hh", "grad_b")
_GATES = ("input gate i", "forget gate f", "candidate g", "output gate o")
_GATE_RULES = (
    "nabla z_i = nabla c * g * i (1 - i)",
    "nabla z_f = nabla c * c^(t-1) * f (1 - f)",
    "nabla z_g = nabla c * i * (1 - g^2)",
    "nabla z_o = nabla h * tanh(c) * o (1 - o)",
)


def _halves(dtype, shape):
    """Multiples of 1/2 in [-1, 1]: exact in float32 and float64, and they shrink to zeros."""
    return small_ints(dtype, shape, -2, 2).map(lambda a: a / a.dtype.type(2))


def _sizes(draw):
    return tuple(draw(st.integers(1, high)) for high in (2, 4, 2, 3))  # N, T, D, H


def _optional(draw, flag, dtype, shape):
    return draw(st.none() | _halves(dtype, shape)) if flag else None


@st.composite
def _rnn_params(draw, dtypes, grad_h_last, relu):
    dtype = draw(st.sampled_from(dtypes))
    N, T, D, H = _sizes(draw)
    O = draw(st.integers(1, 2))
    x, h0 = draw(_halves(dtype, (N, T, D))), draw(_halves(dtype, (N, H)))
    W_ih, W_hh = draw(_halves(dtype, (H, D))), draw(_halves(dtype, (H, H)))
    b, V, c = draw(_halves(dtype, (H,))), draw(_halves(dtype, (O, H))), draw(_halves(dtype, (O,)))
    grad_y = draw(_halves(dtype, (N, T, O)))
    last = _optional(draw, grad_h_last, dtype, (N, H))
    activation = draw(st.sampled_from(["tanh", "relu"])) if relu else None
    return grad_y, x, h0, W_ih, W_hh, b, V, c, last, activation


def _build_rnn(params, grad_h_last):
    grad_y, x, h0, W_ih, W_hh, b, V, c, last, activation = params
    relu = activation == "relu"
    h, _ = ref.rnn_forward(x, h0, W_ih, W_hh, b, V, c, relu)
    last_or_zeros = np.zeros_like(h0) if last is None else last
    grads = ref.rnn_backward(grad_y, x, h0, h, W_ih, W_hh, V, last_or_zeros, relu)
    arrays = {"grad_y": grad_y, "x": x, "h0": h0, "h": h, "W_ih": W_ih, "W_hh": W_hh, "V": V}
    keywords = ()
    if grad_h_last:
        arrays["grad_h_last"] = last
        keywords = ("grad_h_last",)
    options = {} if activation is None else {"activation": activation}
    case = Case("rnn_backward", arrays, options, list(zip(_RNN_OUTPUTS, grads, strict=True)),
                keywords)
    case.grad_h_last = last_or_zeros
    return case


def _time_hint(case, results, carried):
    """A hint when the last step of ``grad_x`` is right and an earlier step wrong."""
    want, got = case.outputs[0][1], results[0]
    index, _ = first_difference(want, got)
    T = want.shape[1]
    if index is None or T < 2 or not close(want[:, T - 1], got[:, T - 1]):
        return []
    return [f"grad_x is right at the last step t = {T - 1} but wrong at t = {index[1]}: "
            f"check what step t + 1 sends back to step t ({carried})"]


def _rnn_hints(case, results):
    grad_y, x, h0, h, W_ih, W_hh, V = list(case.arrays.values())[:7]
    relu = case.options.get("activation") == "relu"
    right = {name for (name, want), got in zip(case.outputs, results, strict=True)
             if close(want, got)}
    no_carry = ref.rnn_backward(grad_y, x, h0, h, W_ih, np.zeros_like(W_hh), V,
                                case.grad_h_last, relu)
    if x.shape[1] > 1 and all(close(no_carry[k], results[k]) for k in (0, 2, 3, 4)):
        return ["your gradients are those of a BPTT that does not carry the gradient "
                "through time: nabla h^(t) = V^T nabla y^(t) + W_hh^T delta^(t+1), and the "
                "second term is missing"]
    hints = _time_hint(case, results, "W_hh^T delta^(t+1), added to nabla h^(t)")
    if {"grad_V", "grad_c"} <= right and "grad_b" not in right:
        hints.append("grad_V and grad_c are right, grad_b is not: the error is in "
                     "delta^(t) = nabla h^(t) * phi'(a^(t)), with phi' written through the "
                     "stored h: 1 - h^2 for tanh, [h > 0] for relu")
    if right >= set(_RNN_OUTPUTS) - {"grad_h0"}:
        hints.append("only grad_h0 is wrong: nabla h^(0) = W_hh^T delta^(1)")
    return hints


def check_rnn_backward(fn, *, grad_h_last=False, relu=False, dtypes=(np.float64,),
                       max_examples=50, seed=None):
    """Check a learner's backpropagation through time for the simple RNN.

    ``fn`` is called like :func:`numbacnn.functional.rnn_backward`:
    ``fn(grad_y, x, h0, h, W_ih, W_hh, V)``, with ``h`` the hidden states of
    the forward pass :math:`h^{(t)} = \\tanh(U x^{(t)} + W h^{(t-1)} + b)`
    (``W_ih`` is the lecture's :math:`U`, ``W_hh`` its :math:`W`) and
    ``grad_y (N, T, O)`` the loss gradient on every output
    :math:`y^{(t)} = V h^{(t)} + c`.  It must return the tuple
    ``(grad_x, grad_h0, grad_W_ih, grad_W_hh, grad_b, grad_V, grad_c)`` of
    :doc:`/theory/rnn`, compared with
    :func:`numbacnn.kernels.rnn.rnn_backward_reference`.

    Hypothesis draws ``N <= 2`` sequences of ``T <= 4`` steps, sizes
    ``D, O <= 2``, ``H <= 3`` and values that are multiples of 1/2 in
    ``[-1, 1]``, and shrinks a failure to a minimal call.

    Parameters
    ----------
    fn : callable
        The implementation to check; plain NumPy is fine.
    grad_h_last : bool, default False
        Also pass ``grad_h_last=`` (an extra gradient on :math:`h^{(T)}`, or None).
    relu : bool, default False
        Also pass ``activation="tanh"`` or ``"relu"``.
    dtypes : sequence of numpy dtypes, default (float64,)
        The dtypes of the inputs; include ``np.float32`` to check that float32 stays float32.
    max_examples : int, default 50
        How many calls Hypothesis tries.
    seed : int, optional
        None runs a fixed (derandomized) sequence of examples; an int runs the
        reproducible sequence of that seed.

    Returns
    -------
    None
        When every call agrees with the reference.

    Raises
    ------
    AssertionError
        For the smallest failing call: the call, the shapes, the inputs, the
        first differing element (index, expected, got), which gradients are
        right, and hints (gradient not carried through time, the error
        confined to :math:`\\delta^{(t)}`, the last step right and earlier ones
        wrong); also when ``fn`` raises, returns None, modifies its input, or
        returns the wrong type, shape or dtype.

    Examples
    --------
    >>> from numbacnn.functional import rnn_backward
    >>> from numbacnn.testing import check_rnn_backward
    >>> check_rnn_backward(rnn_backward, grad_h_last=True, relu=True, max_examples=10)
    """
    __tracebackhide__ = True  # a failure is reported from the caller's line
    run_checker(fn, _rnn_params(tuple(dtypes), grad_h_last, relu),
                lambda params: _build_rnn(params, grad_h_last), _rnn_hints, max_examples, seed)


@st.composite
def _lstm_params(draw, dtypes, grad_c_last):
    dtype = draw(st.sampled_from(dtypes))
    N, T, D, H = _sizes(draw)
    x, h0, c0 = (draw(_halves(dtype, shape)) for shape in ((N, T, D), (N, H), (N, H)))
    W_ih, W_hh = draw(_halves(dtype, (4 * H, D))), draw(_halves(dtype, (4 * H, H)))
    b = draw(_halves(dtype, (4 * H,)))
    grad_h = draw(_halves(dtype, (N, T, H)))
    last = _optional(draw, grad_c_last, dtype, (N, H))
    return grad_h, x, h0, c0, W_ih, W_hh, b, last


def _build_lstm(params, grad_c_last):
    grad_h, x, h0, c0, W_ih, W_hh, b, last = params
    h, c, gates = ref.lstm_forward(x, h0, c0, W_ih, W_hh, b)
    last_or_zeros = np.zeros_like(h0) if last is None else last
    grads = ref.lstm_backward(grad_h, x, h0, c0, W_ih, W_hh, h, c, gates, last_or_zeros)
    arrays = {"grad_h": grad_h, "x": x, "h0": h0, "c0": c0, "W_ih": W_ih, "W_hh": W_hh,
              "h": h, "c": c, "gates": gates}
    keywords = ()
    if grad_c_last:
        arrays["grad_c_last"] = last
        keywords = ("grad_c_last",)
    return Case("lstm_backward", arrays, {}, list(zip(_LSTM_OUTPUTS, grads, strict=True)),
                keywords)


def _lstm_hints(case, results):
    hints = _time_hint(case, results, "W_hh^T nabla z^(t+1) into nabla h^(t), and "
                                      "f^(t+1) * nabla c^(t+1) into nabla c^(t)")
    right = {name for (name, want), got in zip(case.outputs, results, strict=True)
             if close(want, got)}
    if "grad_c0" not in right and "grad_h0" in right:
        hints.append("grad_c0 is wrong while grad_h0 is right: the cell-state gradient is off; "
                     "nabla c^(t) = f^(t+1) * nabla c^(t+1) + nabla h^(t) * o * (1 - tanh^2 c^(t))")
    want_b, got_b = case.outputs[5][1], results[5]
    index, _ = first_difference(want_b, got_b)
    if index is not None:
        H = want_b.shape[0] // 4
        gate = index[0] // H
        hints.append(f"the first wrong entry of grad_b, {index[0]}, is in the block of the "
                     f"{_GATES[gate]} (rows {gate * H} to {gate * H + H - 1} of W_ih, W_hh "
                     f"and b): check {_GATE_RULES[gate]}")
    if right == set(_LSTM_OUTPUTS) - {"grad_c0"}:
        hints.append("only grad_c0 is wrong: nabla c^(0) = f^(1) * nabla c^(1)")
    return hints


def check_lstm_backward(fn, *, grad_c_last=False, dtypes=(np.float64,), max_examples=50,
                        seed=None):
    """Check a learner's backpropagation through time for the LSTM.

    ``fn`` is called like :func:`numbacnn.functional.lstm_backward`:
    ``fn(grad_h, x, h0, c0, W_ih, W_hh, h, c, gates)`` with ``h, c, gates``
    the outputs of :func:`numbacnn.functional.lstm_forward` (gates stacked
    ``i, f, g, o`` after their activations, shape ``(N, T, 4H)``).  It must
    return ``(grad_x, grad_h0, grad_c0, grad_W_ih, grad_W_hh, grad_b)`` of
    :doc:`/theory/lstm`, compared with
    :func:`numbacnn.kernels.lstm.lstm_backward_reference`.

    Parameters
    ----------
    fn : callable
        The implementation to check; plain NumPy is fine.
    grad_c_last : bool, default False
        Also pass ``grad_c_last=`` (an extra gradient on :math:`c^{(T)}`, or None).
    dtypes, max_examples, seed
        As in :func:`check_rnn_backward`.

    Returns
    -------
    None
        When every call agrees with the reference.

    Raises
    ------
    AssertionError
        As in :func:`check_rnn_backward`; the hints name the gate whose block
        of ``grad_b`` goes wrong first (with its derivative) and say when only
        the earlier steps are wrong.

    Examples
    --------
    >>> from numbacnn.functional import lstm_backward
    >>> from numbacnn.testing import check_lstm_backward
    >>> check_lstm_backward(lstm_backward, grad_c_last=True, max_examples=10)
    """
    __tracebackhide__ = True  # a failure is reported from the caller's line
    run_checker(fn, _lstm_params(tuple(dtypes), grad_c_last),
                lambda params: _build_lstm(params, grad_c_last), _lstm_hints, max_examples,
                seed)
