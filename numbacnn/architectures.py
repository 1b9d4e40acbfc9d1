"""The lecture's model architectures, each defined once, as lists of unbuilt layers.

Every function returns a fresh ``list`` of layers for
:class:`numbacnn.Sequential`, which adds the loss, optimizer, L2 strength
and seed::

    from numbacnn import Sequential
    from numbacnn.architectures import lecture_cnn
    model = Sequential(lecture_cnn(10), optimizer="sgd", l2=2e-4, seed=0)

The command line (``numbacnn train --model ...``), the experiments
(:mod:`numbacnn.experiments`) and the scikit-learn estimators
(:mod:`numbacnn.sklearn`) build their models from these functions.

* :func:`lecture_cnn` -- Conv2D 10@3x3 same ReLU, MaxPool 2, Dense 50 ReLU, Dense softmax;
* :func:`lecture_numpy_cnn` -- Conv2D 1@3x3 same leaky ReLU, Dense 30 and 20 (leaky
  ReLU), Dense softmax;
* :func:`small_cnn` -- Conv2D 32@3x3, MaxPool 2, Conv2D 64@3x3, MaxPool 2, Dense 128,
  Dense softmax (ReLU);
* :func:`cifar_cnn` -- Conv2D 32, MaxPool 2, Conv2D 64, MaxPool 2, Conv2D 64, Dense 64,
  Dense softmax (3x3, ReLU);
* :func:`recurrent_net` -- one recurrent layer (last state), one Dense output layer;
* :func:`rnn_regressor` -- one recurrent layer (last state), Dense ReLU, Dense linear.
"""

__all__ = [
    "lecture_cnn",
    "lecture_numpy_cnn",
    "small_cnn",
    "cifar_cnn",
    "recurrent_net",
    "rnn_regressor",
    "RECURRENT_CELLS",
]

#: the recurrent layer behind each ``cell`` name
RECURRENT_CELLS = ("rnn", "lstm", "gru")


def lecture_cnn(n_classes=10, n_filters=10, kernel_size=3, pool_size=2, n_hidden=50):
    """The lecture's Keras CNN (its digits model).

    ``Conv2D(n_filters, kernel_size, padding="same", ReLU) -> MaxPool2D(pool_size)
    -> Flatten -> Dense(n_hidden, ReLU) -> Dense(n_classes, softmax)``; the
    defaults are the lecture's.

    Returns
    -------
    list of Layer
    """
    from .layers import Conv2D, Dense, Flatten, MaxPool2D

    return [
        Conv2D(n_filters, kernel_size, padding="same", activation="relu"),
        MaxPool2D(pool_size),
        Flatten(),
        Dense(n_hidden, activation="relu"),
        Dense(n_classes, activation="softmax"),
    ]


def lecture_numpy_cnn(n_classes=10, alpha=1e-3):
    """The lecture's own NumPy CNN: one feature map and a 30-20 perceptron.

    ``Conv2D(1, 3, padding="same", LeakyReLU(alpha), l2=0) -> Flatten ->
    Dense(30, LeakyReLU) -> Dense(20, LeakyReLU) -> Dense(n_classes, softmax)``.
    The lecture's leaky ReLU has slope ``10e-4 = 1e-3``, and its ``lam`` is
    added to the dense layers' weight gradients only, hence ``l2=0`` on the
    convolution: the model's ``l2`` then acts on the dense layers alone.

    Returns
    -------
    list of Layer
    """
    from .activations import LeakyReLU
    from .layers import Conv2D, Dense, Flatten

    return [
        Conv2D(1, 3, padding="same", activation=LeakyReLU(alpha), l2=0.0),
        Flatten(),
        Dense(30, activation=LeakyReLU(alpha)),
        Dense(20, activation=LeakyReLU(alpha)),
        Dense(n_classes, activation="softmax"),
    ]


def small_cnn(n_classes=10):
    """A small modern CNN ('valid' 3x3 convolutions, ReLU).

    ``Conv2D(32, 3) -> MaxPool2D(2) -> Conv2D(64, 3) -> MaxPool2D(2) -> Flatten
    -> Dense(128) -> Dense(n_classes, softmax)``.

    Returns
    -------
    list of Layer
    """
    from .layers import Conv2D, Dense, Flatten, MaxPool2D

    return [
        Conv2D(32, 3, activation="relu"),
        MaxPool2D(2),
        Conv2D(64, 3, activation="relu"),
        MaxPool2D(2),
        Flatten(),
        Dense(128, activation="relu"),
        Dense(n_classes, activation="softmax"),
    ]


def cifar_cnn(n_classes=10):
    """The lecture's Keras CIFAR-10 model ('valid' 3x3 convolutions, ReLU).

    ``Conv2D(32) -> MaxPool2D(2) -> Conv2D(64) -> MaxPool2D(2) -> Conv2D(64)
    -> Flatten -> Dense(64) -> Dense(n_classes, softmax)``.

    Returns
    -------
    list of Layer
    """
    from .layers import Conv2D, Dense, Flatten, MaxPool2D

    return [
        Conv2D(32, 3, activation="relu"),
        MaxPool2D(2),
        Conv2D(64, 3, activation="relu"),
        MaxPool2D(2),
        Conv2D(64, 3, activation="relu"),
        Flatten(),
        Dense(64, activation="relu"),
        Dense(n_classes, activation="softmax"),
    ]


def _cell(cell, units, activation):
    from .layers import GRU, LSTM, SimpleRNN

    if cell not in RECURRENT_CELLS:
        raise ValueError(f"cell must be one of 'rnn', 'lstm', 'gru'; got {cell!r}")
    if cell == "rnn":
        return SimpleRNN(units) if activation is None else SimpleRNN(units, activation=activation)
    return {"lstm": LSTM, "gru": GRU}[cell](units)


def recurrent_net(cell, n_outputs, units=64, activation=None, cell_activation=None):
    """A recurrent layer (its last state) and one Dense output layer.

    ``cell`` is ``"rnn"`` (:class:`~numbacnn.layers.SimpleRNN`), ``"lstm"``
    or ``"gru"``; ``activation`` is the output layer's (``"softmax"`` for a
    classifier, ``None`` for a linear regression head); ``cell_activation``
    the SimpleRNN's hidden activation (default tanh; LSTM and GRU have fixed
    gate nonlinearities and ignore it).  The command line's row-by-row image
    classifiers are ``recurrent_net(cell, n_classes, 64, "softmax")``.

    Returns
    -------
    list of Layer
    """
    from .layers import Dense

    return [_cell(cell, units, cell_activation), Dense(n_outputs, activation=activation)]


def rnn_regressor(cell="rnn", units=32, n_hidden=8, n_outputs=1, cell_activation="relu"):
    """The lecture's Keras RNN regressor: recurrent layer, Dense ReLU, linear Dense.

    ``cell(units) (last state) -> Dense(n_hidden, ReLU) -> Dense(n_outputs)``;
    the defaults are the lecture's noisy-sine model (a ReLU SimpleRNN of 32
    units, 8 hidden neurons, one output).  ``cell_activation`` is the
    SimpleRNN's hidden activation (LSTM and GRU ignore it).

    Returns
    -------
    list of Layer
    """
    from .layers import Dense

    return [_cell(cell, units, cell_activation), Dense(n_hidden, activation="relu"),
            Dense(n_outputs)]
