"""scikit-learn estimators: :class:`CNNClassifier` and :class:`RNNRegressor`.

Both are ordinary scikit-learn estimators: every hyperparameter is a
constructor argument stored unchanged, so ``get_params``/``set_params``/
``clone``, :class:`~sklearn.model_selection.GridSearchCV`,
:func:`~sklearn.model_selection.cross_val_score` and
:class:`~sklearn.pipeline.Pipeline` work.  The lecture's grid search over the
learning rate :math:`\\eta` and the regularisation :math:`\\lambda` becomes::

    from sklearn.model_selection import GridSearchCV
    search = GridSearchCV(CNNClassifier(epochs=20),
                          {"eta": np.logspace(-3, 0, 4), "l2": np.logspace(-5, -1, 5)},
                          n_jobs=2)
    search.fit(X, y)

and a joblib backend (``n_jobs``, ``joblib.parallel_config``) spreads the grid
over cores or a cluster.  Each ``fit`` builds a fresh
:class:`numbacnn.Sequential` model, available afterwards as ``model_``.
"""

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, check_X_y

from . import architectures
from . import optimizers as _optimizers
from .models import Sequential

__all__ = ["CNNClassifier", "RNNRegressor"]


def _optimizer(name, eta):
    cls = _optimizers.get_optimizer(name).__class__
    return cls(eta=eta)


_FLOATS = (np.float64, np.float32)  # float32 input trains a float32 model, the rest float64


def _seed(seed):
    if seed is None or isinstance(seed, numbers.Integral):
        return seed
    if isinstance(seed, np.random.RandomState):
        # sklearn-style random_state objects: draw a seed from them
        return int(seed.randint(2**31 - 1))
    raise ValueError(f"seed must be None or an integer; got {seed!r}")


# scikit-learn's pattern for a renamed parameter: the old one stays in the signature with
# this sentinel default, so get_params/set_params/clone and grid searches over it still work
_DEPRECATED = "deprecated"


class _NumbacnnEstimator(BaseEstimator):
    def _l2(self):
        """The L2 strength to train with: ``l2``, or the deprecated ``lmbd`` when it is set."""
        if isinstance(self.lmbd, str) and self.lmbd == _DEPRECATED:
            return self.l2
        warnings.warn(
            f"{type(self).__name__}: 'lmbd' is deprecated and will be removed in the next "
            "release; use 'l2' (the same number: penalty l2/2 * ||W||^2, gradient l2 * W)",
            DeprecationWarning, stacklevel=3,
        )
        return self.lmbd

    def _fit_model(self, model, X, y):
        self.model_ = model
        self.history_ = model.fit(
            X, y, epochs=self.epochs, batch_size=self.batch_size, verbose=self.verbose
        )
        self.loss_curve_ = list(self.history_.history.get("loss", []))
        if self.history_.nonfinite:
            # the model keeps its last finite weights, but a search must see a failed fit
            # (GridSearchCV's error_score), not the score of an unfinished one
            raise FloatingPointError(
                f"{type(self).__name__}: {self.history_.stopped_reason}"
            )
        return self

    def _remember_input(self, X):
        # scikit-learn's convention: the size of axis 1 (features for 2-D input)
        self.n_features_in_ = int(X.shape[1])
        self._sample_shape = X.shape[1:]

    def _check_input(self, X):
        check_is_fitted(self, "model_")
        X = check_array(X, allow_nd=True, dtype=_FLOATS)
        if X.shape[1:] != self._sample_shape:
            if X.ndim == 2 and len(self._sample_shape) == 1:
                raise ValueError(
                    f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                    f"{self.n_features_in_} features as input."
                )
            raise ValueError(
                f"X has samples of shape {X.shape[1:]}, but {type(self).__name__} was "
                f"fitted on samples of shape {self._sample_shape}"
            )
        return X


class CNNClassifier(ClassifierMixin, _NumbacnnEstimator):
    """The lecture's Keras digits CNN as a scikit-learn classifier.

    Architecture: :func:`numbacnn.architectures.lecture_cnn`,
    ``Conv2D(n_filters, receptive_field, padding="same", activation="relu") ->
    MaxPool2D(pool_size) -> Flatten -> Dense(n_hidden, "relu") ->
    Dense(n_classes, "softmax")``, trained with categorical cross-entropy.
    The defaults are the lecture's (10 filters of 3x3, 50 hidden neurons,
    plain SGD, 100 epochs of batches of 100; its Keras ``SGD`` default
    learning rate 0.01).

    Parameters
    ----------
    n_filters : int, default 10
    receptive_field : int, default 3
        Filter size (square).
    pool_size : int, default 2
    n_hidden : int, default 50
        Neurons of the hidden Dense layer.
    eta : float, default 0.01
        Learning rate.
    l2 : float, default 0.0
        L2 strength on all weights (not biases): the penalty
        ``l2/2 * ||W||^2``, which adds ``l2 * W`` to each weight gradient
        (:class:`numbacnn.Sequential`'s ``l2``).  Keras'
        ``regularizers.l2(a)`` equals ``l2 = 2 a``.
    optimizer : str, default "sgd"
        ``"sgd"``, ``"momentum"``, ``"adagrad"``, ``"adagrad_momentum"``,
        ``"rmsprop"`` or ``"adam"`` (with ``eta``, other settings default).
    epochs : int, default 100
    batch_size : int, default 100
    image_shape : tuple (C, H, W), optional
        If given, 2-D ``X`` of shape ``(n, C*H*W)`` is reshaped to images,
        so that the classifier can follow a scaler in a pipeline.
    seed : int, optional
        Seeds weights and shuffling (reproducible fits).
    verbose : int, default 0
        Passed to :meth:`numbacnn.Sequential.fit`.
    lmbd : float, optional
        Deprecated name of ``l2``; when given it is used (with a
        ``DeprecationWarning`` at ``fit``).

    Attributes
    ----------
    classes_ : ndarray
        The class labels seen by ``fit`` (any sortable labels).
    model_ : numbacnn.Sequential
    history_ : numbacnn.History
    loss_curve_ : list of float

    Examples
    --------
    >>> from numbacnn.datasets import load_digits_images
    >>> from numbacnn.sklearn import CNNClassifier
    >>> X, y = load_digits_images()
    >>> clf = CNNClassifier(epochs=3, seed=0).fit(X[:200], y[:200])
    >>> clf.predict(X[:5]).shape, clf.predict_proba(X[:5]).shape
    ((5,), (5, 10))
    """

    def __init__(
        self,
        n_filters=10,
        receptive_field=3,
        pool_size=2,
        n_hidden=50,
        eta=0.01,
        l2=0.0,
        optimizer="sgd",
        epochs=100,
        batch_size=100,
        image_shape=None,
        seed=None,
        verbose=0,
        lmbd=_DEPRECATED,
    ):
        self.n_filters = n_filters
        self.receptive_field = receptive_field
        self.pool_size = pool_size
        self.n_hidden = n_hidden
        self.eta = eta
        self.l2 = l2
        self.optimizer = optimizer
        self.epochs = epochs
        self.batch_size = batch_size
        self.image_shape = image_shape
        self.seed = seed
        self.verbose = verbose
        self.lmbd = lmbd

    def _images(self, X):
        if X.ndim == 2 and self.image_shape is not None:
            shape = tuple(int(s) for s in self.image_shape)
            if int(np.prod(shape)) != X.shape[1]:
                raise ValueError(
                    f"image_shape {shape} has {int(np.prod(shape))} pixels but X has "
                    f"{X.shape[1]} features"
                )
            X = X.reshape((X.shape[0],) + shape)
        if X.ndim != 4:
            hint = (
                "; pass image_shape=(C, H, W) to reshape 2-D rows"
                if X.ndim == 2 else ""
            )
            raise ValueError(
                f"CNNClassifier needs images X of shape (n_samples, C, H, W); got shape "
                f"{X.shape}{hint}"
            )
        return X

    def fit(self, X, y):
        """Build a fresh model and train it on images ``X`` and labels ``y``."""
        X, y = check_X_y(X, y, allow_nd=True, dtype=_FLOATS)
        check_classification_targets(y)
        self._remember_input(X)
        X = self._images(X)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"CNNClassifier needs at least 2 classes in y; got only {self.classes_.tolist()}"
            )
        model = Sequential(
            architectures.lecture_cnn(
                len(self.classes_), self.n_filters, self.receptive_field, self.pool_size,
                self.n_hidden,
            ),
            loss="categorical_crossentropy",
            optimizer=_optimizer(self.optimizer, self.eta),
            l2=self._l2(),
            seed=_seed(self.seed),
        )
        return self._fit_model(model, X, codes)

    def predict_proba(self, X):
        """Class probabilities, shape ``(n_samples, n_classes)`` in ``classes_`` order."""
        X = self._images(self._check_input(X))
        return self.model_.predict_proba(X)

    def predict(self, X):
        """The most probable class label for every image."""
        check_is_fitted(self, "model_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


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
    seed : int, optional
    verbose : int, default 0
    lmbd : float, optional
        Deprecated name of ``l2``.

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
        seed=None,
        verbose=0,
        lmbd=_DEPRECATED,
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
        self.seed = seed
        self.verbose = verbose
        self.lmbd = lmbd

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
            seed=_seed(self.seed),
        )
        return self._fit_model(model, X, y)

    def predict(self, X):
        """Predicted targets, ``(n_samples,)`` if ``y`` was 1-D in ``fit``."""
        X = self._sequences(self._check_input(X))
        out = self.model_.predict(X)
        return out[:, 0] if self._y_1d else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # y may be (n_samples, n_outputs)
        return tags

    def _more_tags(self):  # the same for scikit-learn < 1.6
        return {"multioutput": True}
