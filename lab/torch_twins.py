"""PyTorch twins of the numbacnn architectures, for same-run comparisons.

Used by ``compare_experiments.py`` and ``speed_table.py`` (needs the
``bench`` extra, i.e. torch); nothing in ``numbacnn/`` imports this module.
Each builder mirrors a function of :mod:`numbacnn.architectures` layer for
layer (its docstring names it), with the same initialisation scheme
(He-normal before ReLU-type activations, Glorot-uniform otherwise, zero
biases, orthogonal recurrent weights), the same loss, optimizer and batch
order conventions, so that accuracy and time are compared like for like.

Layout conventions are PyTorch's (``(N, C, H, W)`` images, batch-first
sequences), the same as numbacnn's, so the arrays pass through unchanged.
"""

import time

import numpy as np
import torch
from torch import nn

__all__ = [
    "lecture_cnn",
    "lecture_numpy_cnn",
    "small_cnn",
    "cifar_cnn",
    "rnn_regressor",
    "recurrent_net",
    "train",
    "predict",
    "time_layer",
]


def _affine(layer, he):
    """numbacnn's initialisation: He-normal before a ReLU-type activation, else Glorot."""
    if he:
        nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
    else:
        nn.init.xavier_uniform_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


def _conv(c, f, k, padding=0, he=True):
    return _affine(nn.Conv2d(c, f, k, padding=padding), he)


def _lin(n_in, n_out, he=True):
    return _affine(nn.Linear(n_in, n_out), he)


def _recurrent(cls, n_in, hidden, **kw):
    """Glorot input weights and orthogonal recurrent weights per gate block, zero biases."""
    m = cls(n_in, hidden, batch_first=True, **kw)
    gates = {nn.RNN: 1, nn.LSTM: 4, nn.GRU: 3}[cls]
    H = hidden
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.startswith("weight_ih"):
                for k in range(gates):
                    nn.init.xavier_uniform_(p[k * H:(k + 1) * H])
            elif name.startswith("weight_hh"):
                for k in range(gates):
                    nn.init.orthogonal_(p[k * H:(k + 1) * H])
            else:
                nn.init.zeros_(p)
        if cls is nn.LSTM:
            # forget-gate bias 1, as numbacnn's LSTM (torch keeps two bias vectors)
            m.bias_ih_l0[H:2 * H] = 1.0
    return m


class _Flatten(nn.Module):
    def forward(self, x):
        return x.reshape(x.shape[0], -1)


def lecture_cnn(side=8, n_classes=10):
    """Twin of :func:`numbacnn.architectures.lecture_cnn` for ``(N, 1, side, side)`` input."""
    flat = 10 * (side // 2) ** 2
    return nn.Sequential(
        _conv(1, 10, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), _Flatten(),
        _lin(flat, 50), nn.ReLU(), _lin(50, n_classes, he=False))


def lecture_numpy_cnn(alpha=1e-3):
    """Twin of :func:`numbacnn.architectures.lecture_numpy_cnn` for 28x28 input."""
    return nn.Sequential(
        _conv(1, 1, 3, padding=1), nn.LeakyReLU(alpha), _Flatten(),
        _lin(784, 30), nn.LeakyReLU(alpha), _lin(30, 20), nn.LeakyReLU(alpha),
        _lin(20, 10, he=False))


def small_cnn(in_channels=1, side=28):
    """Twin of :func:`numbacnn.architectures.small_cnn` for ``(N, C, side, side)`` input."""
    s = ((side - 2) // 2 - 2) // 2
    return nn.Sequential(
        _conv(in_channels, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        _conv(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), _Flatten(),
        _lin(64 * s * s, 128), nn.ReLU(), _lin(128, 10, he=False))


def cifar_cnn():
    """Twin of :func:`numbacnn.architectures.cifar_cnn` for ``(N, 3, 32, 32)`` input."""
    return nn.Sequential(
        _conv(3, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        _conv(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        _conv(64, 64, 3), nn.ReLU(), _Flatten(),
        _lin(1024, 64), nn.ReLU(), _lin(64, 10, he=False))


class _RecurrentHead(nn.Module):
    """A recurrent layer (last hidden state) followed by a dense head."""

    def __init__(self, cell, head):
        super().__init__()
        self.cell = cell
        self.head = head

    def forward(self, x):
        out, _ = self.cell(x)
        return self.head(out[:, -1, :])


def rnn_regressor(n_features, hidden=32):
    """Twin of :func:`numbacnn.architectures.rnn_regressor` (ReLU SimpleRNN, Dense 8, Dense 1)."""
    head = nn.Sequential(_lin(hidden, 8), nn.ReLU(), _lin(8, 1, he=False))
    return _RecurrentHead(_recurrent(nn.RNN, n_features, hidden, nonlinearity="relu"), head)


def recurrent_net(kind, n_in=3, hidden=32, n_out=2):
    """Twin of :func:`numbacnn.architectures.recurrent_net` with a linear head.

    ``kind`` is ``'rnn'`` (tanh), ``'lstm'`` or ``'gru'``; the last state
    feeds a linear Dense ``n_out``.
    """
    cls = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind]
    return _RecurrentHead(_recurrent(cls, n_in, hidden), _lin(hidden, n_out, he=False))


def _weights(model):
    return [p for n, p in model.named_parameters() if "weight" in n]


def _optimizer(name, params, eta):
    if name == "sgd":
        return torch.optim.SGD(params, lr=eta)
    if name == "adam":
        return torch.optim.Adam(params, lr=eta, betas=(0.9, 0.999), eps=1e-8)
    if name == "rmsprop":
        # Keras' RMSprop: rho 0.9, eps 1e-7
        return torch.optim.RMSprop(params, lr=eta, alpha=0.9, eps=1e-7)
    raise ValueError(f"unknown optimizer {name!r}")


def train(model, X, y, *, task, optimizer, eta, epochs, batch_size, l2=0.0,
          seed=0, dtype=np.float32, X_test=None, y_test=None):
    """Train ``model`` with mini-batches reshuffled each epoch; return numbers.

    ``task`` is ``'classify'`` (cross-entropy on logits, integer labels) or
    ``'regress'`` (mean squared error).  ``l2`` has numbacnn's meaning: the
    penalty ``l2/2 * sum(W**2)`` on the weights, not the biases (gradient
    ``l2 * W``).

    Returns a dict with ``seconds`` (training only), ``epoch_seconds`` (list),
    ``diverged`` (the loss became NaN/inf: training stopped there, as
    numbacnn's ``fit`` does), the training score and, when test data are
    given, ``test_accuracy`` or ``test_mse``.
    """
    torch.manual_seed(seed)
    tdtype = torch.float32 if np.dtype(dtype) == np.float32 else torch.float64
    model = model.to(tdtype)
    Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=dtype))
    if task == "classify":
        yt = torch.from_numpy(np.asarray(y, dtype=np.int64))
        loss_fn = nn.CrossEntropyLoss()
    else:
        yt = torch.from_numpy(np.ascontiguousarray(y, dtype=dtype))
        loss_fn = nn.MSELoss()
    opt = _optimizer(optimizer, model.parameters(), eta)
    weights = _weights(model)
    rng = np.random.default_rng(seed)
    n = len(Xt)
    epoch_seconds = []
    diverged = False
    model.train()
    for _ in range(epochs):
        if diverged:
            break
        t0 = time.perf_counter()
        order = torch.from_numpy(rng.permutation(n))
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            opt.zero_grad()
            loss = loss_fn(model(Xt[idx]), yt[idx])
            if l2:
                loss = loss + 0.5 * l2 * sum((w * w).sum() for w in weights)
            if not torch.isfinite(loss):
                # stop as numbacnn's fit does (it refuses the non-finite step and stops)
                diverged = True
                break
            loss.backward()
            opt.step()
        epoch_seconds.append(time.perf_counter() - t0)
    out = {"seconds": float(sum(epoch_seconds)), "epoch_seconds": epoch_seconds,
           "diverged": diverged}
    out["train_" + ("accuracy" if task == "classify" else "mse")] = _score(
        model, X, y, task, dtype)
    if X_test is not None:
        out["test_" + ("accuracy" if task == "classify" else "mse")] = _score(
            model, X_test, y_test, task, dtype)
    out["model"] = model
    return out


def predict(model, X, dtype=np.float32):
    """Model output for ``X`` as a NumPy array (no gradient tracking)."""
    tdtype = torch.float32 if np.dtype(dtype) == np.float32 else torch.float64
    model.eval()
    with torch.no_grad():
        out = model(torch.from_numpy(np.ascontiguousarray(X)).to(tdtype))
    return out.numpy()


def _score(model, X, y, task, dtype):
    out = predict(model, X, dtype)
    if task == "classify":
        return float(np.mean(out.argmax(axis=1) == np.asarray(y)))
    return float(np.mean((out - np.asarray(y)) ** 2))


def time_layer(kind, x, repeat=5, **kw):
    """Median seconds of one forward and one forward+backward of a single layer.

    ``kind``: ``'conv'`` (``out_channels``, ``kernel``), ``'maxpool'``,
    ``'dense'`` (``units``), ``'rnn'`` (``hidden``).  ``x`` is a NumPy array.
    """
    xt = torch.from_numpy(np.ascontiguousarray(x)).requires_grad_(True)
    if kind == "conv":
        layer = nn.Conv2d(x.shape[1], kw["out_channels"], kw["kernel"])
    elif kind == "maxpool":
        layer = nn.MaxPool2d(2)
    elif kind == "dense":
        layer = nn.Linear(x.shape[1], kw["units"])
    elif kind == "rnn":
        layer = nn.RNN(x.shape[2], kw["hidden"], batch_first=True)
    else:
        raise ValueError(kind)
    layer = layer.to(xt.dtype)

    def fwd():
        out = layer(xt)
        return out[0] if isinstance(out, tuple) else out

    fwd()
    f_times, fb_times = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        with torch.no_grad():
            fwd()
        f_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        out = fwd()
        out.backward(torch.ones_like(out))
        fb_times.append(time.perf_counter() - t0)
    return float(np.median(f_times)), float(np.median(fb_times))
