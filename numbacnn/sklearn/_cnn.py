"""The lecture's Keras digits CNN as a scikit-learn classifier."""

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_X_y

from .. import architectures
from ..models import Sequential
from ._base import _DEPRECATED, _FLOATS, _NumbacnnEstimator, _optimizer

__all__ = ["CNNClassifier"]


class CNNClassifier(ClassifierMixin, _NumbacnnEstimator):
    """The lecture's Keras digits CNN as a scikit-learn classifier.

    Architecture: :func:`numbacnn.architectures.lecture_cnn`,
    ``Conv2D(n_filters, receptive_field, padding="same", activation="relu") ->
    MaxPool2D(pool_size) -> Flatten -> Dense(n_hidden, "relu") ->
    Dense(n_classes, "softmax")``, trained with categorical cross-entropy.
    The defaults are the lecture's (10 filters of 3x3, 50 hidden neurons,
    plain SGD, 100 epochs of batches of 100; its Keras ``SGD`` default
    learning rate 0.01).  A pooling window taller or wider than the images
    is cut to their height or width (a one-row image pools along its row).

    ``X`` is images ``(n_samples, C, H, W)``, or rows ``(n_samples,
    n_features)``: reshaped to ``image_shape`` when it is given, else read as
    one-row grayscale images ``(n_samples, 1, 1, n_features)``.

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
    random_state : int, numpy.random.RandomState or None, default None
        Seeds weights and shuffling: an integer gives reproducible fits.
    verbose : int, default 0
        Passed to :meth:`numbacnn.Sequential.fit`.
    lmbd : float, optional
        Deprecated name of ``l2``; when given it is used (with a
        ``DeprecationWarning`` at ``fit``).
    seed : int, optional
        Deprecated name of ``random_state``; when given it is used (with a
        ``DeprecationWarning`` at ``fit``).

    Attributes
    ----------
    classes_ : ndarray
        The class labels seen by ``fit`` (any sortable labels).
    n_features_in_ : int
        The size of ``X``'s axis 1 at ``fit`` (features of 2-D ``X``,
        channels of images).
    model_ : numbacnn.Sequential
    history_ : numbacnn.History
    loss_curve_ : list of float

    Examples
    --------
    >>> from numbacnn.datasets import load_digits_images
    >>> from numbacnn.sklearn import CNNClassifier
    >>> X, y = load_digits_images()
    >>> clf = CNNClassifier(epochs=3, random_state=0).fit(X[:200], y[:200])
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
        random_state=None,
        verbose=0,
        lmbd=_DEPRECATED,
        seed=_DEPRECATED,
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
        self.random_state = random_state
        self.verbose = verbose
        self.lmbd = lmbd
        self.seed = seed

    def _images(self, X):
        if X.ndim == 2:
            if self.image_shape is None:
                return X.reshape(X.shape[0], 1, 1, X.shape[1])
            shape = tuple(int(s) for s in self.image_shape)
            if int(np.prod(shape)) != X.shape[1]:
                raise ValueError(
                    f"image_shape {shape} has {int(np.prod(shape))} pixels but X has "
                    f"{X.shape[1]} features"
                )
            return X.reshape((X.shape[0],) + shape)
        if X.ndim != 4:
            raise ValueError(
                f"CNNClassifier needs images X of shape (n_samples, C, H, W), or rows "
                f"(n_samples, n_features); got shape {X.shape}"
            )
        return X

    def _pool(self, image_size):
        """``pool_size`` per axis, cut to the image (after the size-keeping convolution)."""
        return tuple(min(int(self.pool_size), s) for s in image_size)

    def fit(self, X, y):
        """Build a fresh model and train it on images (or rows) ``X`` and labels ``y``."""
        X, y = check_X_y(X, y, allow_nd=True, dtype=_FLOATS)
        check_classification_targets(y)
        self._remember_input(X)
        X = self._images(X)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"CNNClassifier needs at least 2 classes in y; got 1 class: "
                f"{self.classes_.tolist()}"
            )
        model = Sequential(
            architectures.lecture_cnn(
                len(self.classes_), self.n_filters, self.receptive_field,
                self._pool(X.shape[2:]), self.n_hidden,
            ),
            loss="categorical_crossentropy",
            optimizer=_optimizer(self.optimizer, self.eta),
            l2=self._l2(),
            seed=self._seed(),
        )
        return self._fit_model(model, X, codes)

    def predict_proba(self, X):
        """Class probabilities, shape ``(n_samples, n_classes)`` in ``classes_`` order."""
        X = self._images(self._check_input(X))
        return self._model_output("predict_proba", X)

    def predict(self, X):
        """The most probable class label for every sample."""
        check_is_fitted(self, "model_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
