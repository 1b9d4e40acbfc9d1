"""The lecture's Keras RNN regressor for scikit-learn."""

from sklearn.base import RegressorMixin
from sklearn.utils.validation import check_X_y

from .. import architectures
from ..models import Sequential
from ._base import _DEPRECATED, _FLOATS, _NumbacnnEstimator, _optimizer

__all__ = ["RNNRegressor"]


class RNNRegressor(RegressorMixin, _NumbacnnEstimator):
    """The lecture's Keras RNN regressor (``SimpleRNN -> Dense -> Dense(1)``) for scikit-learn.

    Architecture: :func:`numbacnn.architectures.rnn_regressor`, a recurrent
    layer (``cell`` of ``units`` states, last state only) ->
    ``Dense(n_hidden, "relu")`` -> ``Dense(n_outputs)``, trained with
    mean squared error.  The defaults follow the lecture's example (32 units,
    8 hidden neurons, RMSprop, 100 epochs of batches of 16, a ReLU SimpleRNN).

    Parameters
    ----------
    cell : {"rnn", "lstm", "gru"}, default "rnn"
    activation : {"relu", "tanh"}, default "relu"
        The hidden activation of the ``"rnn"`` cell (the LSTM and GRU gates
        have their fixed nonlinearities and ignore it).
    units : int, default 32
    n_hidden : int, default 8
    eta : float, default 0.001
    l2 : float, default 0.0
        L2 strength on all weights (penalty ``l2/2 * ||W||^2``, gradient
        ``l2 * W``).
    optimizer : str, default "rmsprop"
    epochs : int, default 100
    batch_size : int, default 16
    random_state : int, numpy.random.RandomState or None, default None
        Seeds weights and shuffling: an integer gives reproducible fits.
    verbose : int, default 0
    lmbd : float, optional
        Deprecated name of ``l2``.
    seed : int, optional
        Deprecated name of ``random_state``.

    ``X`` is ``(n_samples, T, D)`` sequences, or ``(n_samples, T)`` read as
    ``T`` steps of one feature each (e.g. the output of
    :func:`numbacnn.datasets.sliding_windows`).  ``y`` is ``(n_samples,)`` or
    ``(n_samples, n_outputs)``.
    """

    def __init__(
        self,
        cell="rnn",
        activation="relu",
        units=32,
        n_hidden=8,
        eta=0.001,
        l2=0.0,
        optimizer="rmsprop",
        epochs=100,
        batch_size=16,
        random_state=None,
        verbose=0,
        lmbd=_DEPRECATED,
        seed=_DEPRECATED,
    ):
        self.cell = cell
        self.activation = activation
        self.units = units
        self.n_hidden = n_hidden
        self.eta = eta
        self.l2 = l2
        self.optimizer = optimizer
        self.epochs = epochs
        self.batch_size = batch_size
        self.random_state = random_state
        self.verbose = verbose
        self.lmbd = lmbd
        self.seed = seed

    @staticmethod
    def _sequences(X):
        if X.ndim == 2:
            X = X[:, :, None]
        if X.ndim != 3:
            raise ValueError(
                f"RNNRegressor needs sequences X of shape (n_samples, T, D) or (n_samples, T); "
                f"got shape {X.shape}"
            )
        return X

    def fit(self, X, y):
        """Build a fresh model and train it on sequences ``X`` and targets ``y``."""
        if self.cell not in architectures.RECURRENT_CELLS:
            raise ValueError(f"cell must be one of 'rnn', 'lstm', 'gru'; got {self.cell!r}")
        if self.activation not in ("relu", "tanh"):
            raise ValueError(f"activation must be 'relu' or 'tanh'; got {self.activation!r}")
        X, y = check_X_y(X, y, allow_nd=True, dtype=_FLOATS, multi_output=True, y_numeric=True)
        self._remember_input(X)
        X = self._sequences(X)
        y = y.astype(X.dtype, copy=False)
        self._y_1d = y.ndim == 1
        n_out = 1 if y.ndim == 1 else y.shape[1]
        model = Sequential(
            architectures.rnn_regressor(
                self.cell, self.units, self.n_hidden, n_out, cell_activation=self.activation
            ),
            loss="mse",
            optimizer=_optimizer(self.optimizer, self.eta),
            l2=self._l2(),
            seed=self._seed(),
        )
        return self._fit_model(model, X, y)

    def predict(self, X):
        """Predicted targets, ``(n_samples,)`` if ``y`` was 1-D in ``fit``."""
        X = self._sequences(self._check_input(X))
        out = self._model_output("predict", X)
        return out[:, 0] if self._y_1d else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # y may be (n_samples, n_outputs)
        tags.input_tags.three_d_array = True  # sequences (n_samples, T, D)
        return tags

    def _more_tags(self):  # the same for scikit-learn < 1.6
        return {"multioutput": True, "X_types": ["2darray", "3darray"]}
