"""PyTorch interop: :func:`from_torch` and :func:`to_torch` copy a network's weights across.

numbacnn and torch share their layouts: images are ``(N, C, H, W)``,
sequences batch-first ``(N, T, D)``, a convolution's weight is
``(F, C, kh, kw)`` and the recurrent gates are stacked in the same order
(LSTM ``i, f, g, o``; GRU ``r, z, n``).  What differs:

* ``Dense`` computes :math:`z = x W + b` with ``W`` of shape ``(n_in, units)``,
  ``nn.Linear`` :math:`z = x A^\\mathsf{T} + b` with ``A = weight`` of shape
  ``(units, n_in)``: ``W = weight.T``;
* ``SimpleRNN`` and ``LSTM`` have one bias where torch has two, added to the
  same pre-activation: ``b = bias_ih + bias_hh`` (and back: ``bias_ih = b``,
  ``bias_hh = 0``); ``GRU`` keeps both, as torch does, because its
  :math:`b_{hh}` sits inside the reset gate's product;
* numbacnn's activations belong to ``Conv2D``/``Dense`` (so that softmax can
  fuse with the cross-entropy), torch's are modules of their own.  An
  element-wise, non-decreasing activation (ReLU, LeakyReLU, Tanh, Sigmoid)
  commutes with max pooling and with flattening, so one found after those is
  attached to the ``Conv2d``/``Linear`` before them.

torch is an optional dependency (``pip install numbacnn[torch]``), imported
inside these functions only.  See :doc:`/api/index`.
"""

import numpy as np

from . import activations as _act
from .layers import GRU, LSTM, AvgPool2D, Conv2D, Dense, Flatten, MaxPool2D, SimpleRNN
from .layers.base import ActivatedLayer
from .models import Sequential

__all__ = ["from_torch", "to_torch"]


def _torch():
    try:
        import torch
    except ImportError as exc:
        raise ImportError(
            "numbacnn.interop needs PyTorch, an optional dependency: install it with "
            "`pip install numbacnn[torch]`"
        ) from exc
    return torch


# ------------------------------------------------------------------ torch -> numbacnn ---
def _module_dtype(module, torch):
    dtypes = {p.dtype for p in module.parameters()}
    if not dtypes:
        dtypes = {torch.get_default_dtype()}
    if len(dtypes) > 1 or not dtypes <= {torch.float32, torch.float64}:
        raise TypeError(
            f"from_torch needs float32 or float64 parameters, all of one dtype; the module "
            f"has {sorted(str(d) for d in dtypes)} (call module.float() or module.double())"
        )
    return np.float32 if dtypes == {torch.float32} else np.float64


def _numpy(tensor, dtype):
    return tensor.detach().cpu().numpy().astype(dtype, copy=True)


def _refuse(module, what):
    raise ValueError(f"from_torch: {module!r} has {what}, which numbacnn does not implement")


def _conv_layer(m):
    if tuple(m.dilation) != (1, 1):
        _refuse(m, f"dilation={m.dilation}")
    if m.groups != 1:
        _refuse(m, f"groups={m.groups}")
    if m.padding_mode != "zeros":
        _refuse(m, f"padding_mode={m.padding_mode!r} (numbacnn pads with zeros)")
    padding = m.padding if isinstance(m.padding, str) else tuple(m.padding)
    return Conv2D(m.out_channels, tuple(m.kernel_size), stride=tuple(m.stride),
                  padding=padding, in_channels=m.in_channels)


def _pool_layer(m, cls):
    pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    if m.ceil_mode:
        _refuse(m, "ceil_mode=True")
    if pair(m.padding) != (0, 0):
        _refuse(m, f"padding={m.padding}")
    if cls is MaxPool2D and (pair(m.dilation) != (1, 1) or m.return_indices):
        _refuse(m, "dilation or return_indices")
    if cls is AvgPool2D and m.divisor_override is not None:
        _refuse(m, f"divisor_override={m.divisor_override}")
    # torch stores stride=kernel_size when none is given
    return cls(pair(m.kernel_size), stride=pair(m.stride or m.kernel_size))


def _elementwise_activation(m, nn):
    if isinstance(m, nn.ReLU):
        return _act.ReLU()
    if isinstance(m, nn.Tanh):
        return _act.Tanh()
    if isinstance(m, nn.Sigmoid):
        return _act.Sigmoid()
    if isinstance(m, nn.LeakyReLU):
        if m.negative_slope < 0:
            _refuse(m, "a negative slope (it does not commute with max pooling)")
        return _act.LeakyReLU(alpha=m.negative_slope)
    return None


def _attach(layers, activation, module, i):
    """Give ``activation`` to the last Conv2D/Dense, past max pools and Flatten only."""
    for layer in reversed(layers):
        if isinstance(layer, ActivatedLayer):
            if not isinstance(layer.activation, _act.Identity) or (
                    isinstance(activation, _act.Softmax) and not isinstance(layer, Dense)):
                break
            layer.activation = activation
            return
        if not isinstance(layer, (MaxPool2D, Flatten)) or isinstance(activation, _act.Softmax):
            break
    raise ValueError(
        f"from_torch: module {i} ({module!r}) follows no Conv2d/Linear without an activation "
        "(only MaxPool2d and Flatten may stand between them, softmax needs a Linear right "
        "before it): numbacnn keeps activations inside Conv2D/Dense layers"
    )


def _children(module, nn):
    for child in module.children():
        if isinstance(child, nn.Sequential):
            yield from _children(child, nn)
        else:
            yield child


def _sequential_layers(module, nn):
    layers, sources = [], []
    for i, m in enumerate(_children(module, nn)):
        act = _elementwise_activation(m, nn)
        if act is not None:
            _attach(layers, act, m, i)
        elif isinstance(m, nn.Softmax):
            if m.dim not in (None, 1, -1):
                _refuse(m, f"dim={m.dim} (a Linear's softmax is over dim 1)")
            _attach(layers, _act.Softmax(), m, i)
        elif isinstance(m, nn.Identity):
            continue
        elif isinstance(m, nn.Conv2d):
            layers.append(_conv_layer(m))
            sources.append((layers[-1], m))
        elif isinstance(m, nn.Linear):
            layers.append(Dense(m.out_features))
            sources.append((layers[-1], m))
        elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
            layers.append(_pool_layer(m, MaxPool2D if isinstance(m, nn.MaxPool2d) else AvgPool2D))
        elif isinstance(m, nn.Flatten):
            if (m.start_dim, m.end_dim) != (1, -1):
                _refuse(m, f"start_dim={m.start_dim}, end_dim={m.end_dim} (only 1, -1)")
            layers.append(Flatten())
        else:
            raise TypeError(
                f"from_torch: module {i} is {m!r}; an nn.Sequential may hold Conv2d, Linear, "
                "ReLU, LeakyReLU, Tanh, Sigmoid, Softmax, MaxPool2d, AvgPool2d, Flatten and "
                "Identity (convert nn.RNN/LSTM/GRU one at a time)"
            )
    if not layers:
        raise ValueError(f"from_torch: {module!r} holds no layer numbacnn can run")
    return layers, sources


def _sequential_from_torch(module, input_shape, softmax, torch):
    nn = torch.nn
    dtype = _module_dtype(module, torch)
    layers, sources = _sequential_layers(module, nn)
    if softmax:
        last = layers[-1]
        if not (isinstance(last, Dense) and isinstance(last.activation, _act.Identity)):
            raise ValueError("from_torch(softmax=True) needs a module that ends with a Linear "
                             f"(logits); this one ends with {last!r}")
        last.activation = _act.Softmax()
    if input_shape is None:
        if not isinstance(layers[0], Dense):
            raise ValueError(
                f"from_torch: the module starts with {type(layers[0]).__name__}, whose input "
                "size torch does not store; pass input_shape=(C, H, W), the shape of one image"
            )
        input_shape = (sources[0][1].in_features,)
    model = Sequential(layers)
    model.build(tuple(int(s) for s in input_shape), dtype=dtype)
    for layer, m in sources:
        weight = _numpy(m.weight, dtype)
        if isinstance(layer, Dense):
            if layer.params["W"].shape[0] != m.in_features:
                raise ValueError(
                    f"from_torch: {m!r} takes {m.in_features} features, but the layers "
                    f"before it give {layer.params['W'].shape[0]} for input_shape "
                    f"{tuple(input_shape)}"
                )
            weight = weight.T
        layer.params["W"][...] = weight
        layer.params["b"][...] = 0 if m.bias is None else _numpy(m.bias, dtype)
    return model


_RECURRENT = {"RNN": SimpleRNN, "LSTM": LSTM, "GRU": GRU}


def _recurrent_from_torch(m, input_shape, return_sequences, torch):
    name = type(m).__name__
    if m.num_layers != 1:
        _refuse(m, f"num_layers={m.num_layers} (stack numbacnn layers with "
                   "return_sequences=True instead)")
    if m.bidirectional:
        _refuse(m, "bidirectional=True")
    if getattr(m, "proj_size", 0):
        _refuse(m, f"proj_size={m.proj_size}")
    if input_shape is None or len(input_shape) != 2:
        raise ValueError(f"from_torch({name}) needs input_shape=(T, {m.input_size}): the "
                         f"number of steps and features of one sequence; got {input_shape!r}")
    T, D = (int(s) for s in input_shape)
    if D != m.input_size:
        raise ValueError(f"from_torch: input_shape {tuple(input_shape)} has {D} features per "
                         f"step, but {m!r} has input_size={m.input_size}")
    dtype = _module_dtype(m, torch)
    if name == "RNN":
        layer = SimpleRNN(m.hidden_size, return_sequences, activation=m.nonlinearity)
    else:
        layer = _RECURRENT[name](m.hidden_size, return_sequences)
    layer.build((T, D), dtype=dtype)
    p = layer.params
    p["W_ih"][...] = _numpy(m.weight_ih_l0, dtype)
    p["W_hh"][...] = _numpy(m.weight_hh_l0, dtype)
    b_ih = _numpy(m.bias_ih_l0, dtype) if m.bias else 0
    b_hh = _numpy(m.bias_hh_l0, dtype) if m.bias else 0
    if name == "GRU":
        p["b_ih"][...], p["b_hh"][...] = b_ih, b_hh
    else:
        p["b"][...] = b_ih + b_hh
    return layer


def from_torch(module, input_shape=None, *, softmax=False, return_sequences=False):
    """A numbacnn model (or recurrent layer) computing what a torch module computes.

    Parameters
    ----------
    module : torch.nn.Sequential, torch.nn.RNN, torch.nn.LSTM or torch.nn.GRU
        An ``nn.Sequential`` of ``Conv2d``, ``Linear``, ``ReLU``,
        ``LeakyReLU``, ``Tanh``, ``Sigmoid``, ``Softmax``, ``MaxPool2d``,
        ``AvgPool2d``, ``Flatten`` and ``Identity`` (nested ``nn.Sequential``
        are read through) becomes a :class:`~numbacnn.Sequential`; a
        one-layer, one-direction recurrent module becomes a built
        :class:`~numbacnn.layers.SimpleRNN`, :class:`~numbacnn.layers.LSTM`
        or :class:`~numbacnn.layers.GRU` (an ``nn.Sequential`` cannot hold
        those, as they return a tuple).
    input_shape : tuple of int, optional
        The shape of one sample: ``(C, H, W)`` for a module that starts with
        a convolution or a pool (torch does not store image sizes), ``(T, D)``
        for a recurrent module (the layer is built for ``T`` steps).  A module
        starting with ``Linear`` needs none.
    softmax : bool, default False
        For a module that ends with a ``Linear`` giving logits (trained with
        ``nn.CrossEntropyLoss``): put a softmax on the last ``Dense``, so that
        the model is a classifier whose ``predict_proba`` is
        ``softmax(module(x))``.
    return_sequences : bool, default False
        Recurrent modules only: return every state (torch's ``output``)
        instead of the last one (``h_n[0]``, or ``output[:, -1]``).

    Returns
    -------
    numbacnn.Sequential or numbacnn.layers.Layer
        Built, in the module's dtype (float32 or float64), weights copied.
        The module's output equals, to round-off, ``predict_proba`` for a
        softmax output, ``predict_proba(x)[:, 1]`` for one sigmoid output
        (a binary classifier) and ``predict`` for any other output (a
        regressor).  The loss is numbacnn's default for the last activation
        (categorical cross-entropy fused with a softmax).

    Raises
    ------
    ImportError
        Without torch (``pip install numbacnn[torch]``).
    TypeError
        For a module numbacnn has no layer for, or parameters that are
        neither float32 nor float64.
    ValueError
        For options numbacnn does not implement (dilation, groups, padding
        modes other than zeros, pools with padding or ``ceil_mode``,
        ``num_layers > 1``, ``bidirectional``, ``proj_size``), an activation
        with no ``Conv2d``/``Linear`` to belong to, or a missing or wrong
        ``input_shape``.

    Notes
    -----
    A :class:`~numbacnn.Sequential` builds its layers again when it is
    built, so a converted recurrent layer's weights reach a model through
    ``model.layers[i].params[key][...] = layer.params[key]`` after
    ``model.build``.
    """
    torch = _torch()
    nn = torch.nn
    if isinstance(module, nn.Sequential):
        if return_sequences:
            raise ValueError("from_torch: return_sequences is for recurrent modules")
        return _sequential_from_torch(module, input_shape, softmax, torch)
    if type(module).__name__ in _RECURRENT and isinstance(module, nn.RNNBase):
        if softmax:
            raise ValueError("from_torch: softmax is for an nn.Sequential ending in Linear")
        return _recurrent_from_torch(module, input_shape, return_sequences, torch)
    raise TypeError(f"from_torch takes an nn.Sequential, nn.RNN, nn.LSTM or nn.GRU; got "
                    f"{type(module).__name__}")


# ------------------------------------------------------------------ numbacnn -> torch ---
def _activation_module(activation, nn):
    if isinstance(activation, _act.Identity):
        return None
    if isinstance(activation, _act.ReLU):
        return nn.ReLU()
    if isinstance(activation, _act.LeakyReLU):
        return nn.LeakyReLU(activation.alpha)
    if isinstance(activation, _act.Tanh):
        return nn.Tanh()
    if isinstance(activation, _act.Sigmoid):
        return nn.Sigmoid()
    if isinstance(activation, _act.Softmax):
        return nn.Softmax(dim=activation.axis)
    raise TypeError(f"to_torch: torch has no module for the activation {activation!r}")


def _tensor(array, torch):
    return torch.from_numpy(np.array(array, copy=True))


def _affine_module(layer, nn, torch):
    if isinstance(layer, Conv2D):
        padding = layer.padding if isinstance(layer.padding, str) else tuple(layer.padding)
        m = nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size,
                      stride=layer.stride, padding=padding)
        weight = layer.params["W"]
    else:
        n_in = layer.params["W"].shape[0]
        m = nn.Linear(n_in, layer.units)
        weight = layer.params["W"].T
    m = m.to(torch.float32 if layer.dtype == np.float32 else torch.float64)
    with torch.no_grad():
        m.weight.copy_(_tensor(weight, torch))
        m.bias.copy_(_tensor(layer.params["b"], torch))
    return m


def _sequential_to_torch(model, logits, torch):
    nn = torch.nn
    if not model.built:
        raise ValueError("to_torch needs a built model (torch layers store their input "
                         "sizes): call model.build(input_shape) or fit it first")
    modules = []
    for i, layer in enumerate(model.layers):
        if isinstance(layer, (Conv2D, Dense)):
            modules.append(_affine_module(layer, nn, torch))
            activation = layer.activation
            if logits and i == len(model.layers) - 1:
                if not isinstance(activation, _act.Softmax):
                    raise ValueError(f"to_torch(logits=True) drops a final softmax; the last "
                                     f"layer's activation is {activation.name!r}")
                activation = _act.Identity()
            act = _activation_module(activation, nn)
            if act is not None:
                modules.append(act)
        elif isinstance(layer, MaxPool2D):
            modules.append(nn.MaxPool2d(layer.kernel_size, stride=layer.stride))
        elif isinstance(layer, AvgPool2D):
            modules.append(nn.AvgPool2d(layer.kernel_size, stride=layer.stride))
        elif isinstance(layer, Flatten):
            modules.append(nn.Flatten())
        else:
            raise TypeError(
                f"to_torch: layer {i} is {layer!r}; an nn.Sequential can hold Conv2D, Dense, "
                "MaxPool2D, AvgPool2D and Flatten (convert recurrent layers one at a time "
                "with to_torch(layer))"
            )
    return nn.Sequential(*modules)


def _recurrent_to_torch(layer, torch):
    nn = torch.nn
    if not layer.built:
        raise ValueError(f"to_torch needs a built {type(layer).__name__} (its input size): "
                         "call layer.build((T, D)) or use it in a fitted model first")
    D, H = layer.params["W_ih"].shape[1], layer.units
    kwargs = dict(batch_first=True)
    if isinstance(layer, SimpleRNN):
        m = nn.RNN(D, H, nonlinearity=layer.activation, **kwargs)
    else:
        m = (nn.LSTM if isinstance(layer, LSTM) else nn.GRU)(D, H, **kwargs)
    m = m.to(torch.float32 if layer.dtype == np.float32 else torch.float64)
    p = layer.params
    if isinstance(layer, GRU):
        b_ih, b_hh = p["b_ih"], p["b_hh"]
    else:
        b_ih, b_hh = p["b"], np.zeros_like(p["b"])
    with torch.no_grad():
        m.weight_ih_l0.copy_(_tensor(p["W_ih"], torch))
        m.weight_hh_l0.copy_(_tensor(p["W_hh"], torch))
        m.bias_ih_l0.copy_(_tensor(b_ih, torch))
        m.bias_hh_l0.copy_(_tensor(b_hh, torch))
    return m


def to_torch(model, *, logits=False):
    """The torch module computing what a numbacnn model (or recurrent layer) computes.

    Parameters
    ----------
    model : numbacnn.Sequential or SimpleRNN, LSTM, GRU
        A built :class:`~numbacnn.Sequential` of ``Conv2D``, ``Dense``,
        ``MaxPool2D``, ``AvgPool2D`` and ``Flatten`` becomes an
        ``nn.Sequential`` (each activation a module after its layer); a built
        recurrent layer becomes a batch-first ``nn.RNN``, ``nn.LSTM`` or
        ``nn.GRU`` whose ``output`` is the layer's output with
        ``return_sequences=True`` (``output[:, -1]`` without).
    logits : bool, default False
        Leave out the last layer's softmax, so that the module gives logits
        for ``nn.CrossEntropyLoss``.

    Returns
    -------
    torch.nn.Module
        In the model's dtype (float32 or float64), weights copied (the
        arrays are not shared).

    Raises
    ------
    ImportError
        Without torch (``pip install numbacnn[torch]``).
    TypeError
        For a layer or activation torch's ``nn.Sequential`` has no module for.
    ValueError
        For an unbuilt model or layer, or ``logits=True`` without a final
        softmax.
    """
    torch = _torch()
    if isinstance(model, Sequential):
        return _sequential_to_torch(model, logits, torch)
    if isinstance(model, (SimpleRNN, LSTM, GRU)):
        if logits:
            raise ValueError("to_torch: logits is for a Sequential ending in a softmax")
        return _recurrent_to_torch(model, torch)
    raise TypeError(f"to_torch takes a numbacnn Sequential or a SimpleRNN, LSTM or GRU layer; "
                    f"got {type(model).__name__}")
