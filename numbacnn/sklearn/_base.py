"""What both estimators share: seeds, deprecated names, input checks, the fit and its threads."""

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_array, check_is_fitted

from .. import optimizers as _optimizers
from .._deprecation import warn_renamed
from ._threads import numba_threads_for_worker

_FLOATS = (np.float64, np.float32)  # float32 input trains a float32 model, the rest float64

# scikit-learn's pattern for a renamed parameter: the old one stays in the signature with
# this sentinel default, so get_params/set_params/clone and grid searches over it still work
_DEPRECATED = "deprecated"


def _is_deprecated_default(value):
    return isinstance(value, str) and value == _DEPRECATED


def _optimizer(name, eta):
    cls = _optimizers.get_optimizer(name).__class__
    return cls(eta=eta)


def _model_seed(random_state):
    """The model's integer seed from scikit-learn's ``random_state`` (None, int or RandomState)."""
    if random_state is None:
        return None
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be None, an integer >= 0 or a "
                             f"numpy.random.RandomState; got {random_state!r}")
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        # scikit-learn's convention for a RandomState: draw from it (it advances)
        return int(random_state.randint(np.iinfo(np.int32).max))
    raise ValueError(f"random_state must be None, an integer >= 0 or a "
                     f"numpy.random.RandomState; got {random_state!r}")


class _NumbacnnEstimator(BaseEstimator):
    def _l2(self):
        """The L2 strength to train with: ``l2``, or the deprecated ``lmbd`` when it is set."""
        if _is_deprecated_default(self.lmbd):
            return self.l2
        warnings.warn(
            f"{type(self).__name__}: 'lmbd' is deprecated and will be removed in the next "
            "release; use 'l2' (the same number: penalty l2/2 * ||W||^2, gradient l2 * W)",
            DeprecationWarning, stacklevel=3,
        )
        return self.lmbd

    def _seed(self):
        """The model's seed: ``random_state``, or the deprecated ``seed`` when it is set."""
        if _is_deprecated_default(self.seed):
            return _model_seed(self.random_state)
        name = type(self).__name__
        if self.random_state is not None:
            raise ValueError(f"{name} got both random_state={self.random_state!r} and the "
                             f"deprecated seed={self.seed!r}; pass only random_state")
        warn_renamed(f"{name}(seed=...)", "random_state=... (scikit-learn's name)",
                     stacklevel=4)
        return _model_seed(self.seed)

    def _fit_model(self, model, X, y):
        self.model_ = model
        with numba_threads_for_worker():
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

    def _model_output(self, method, X):
        with numba_threads_for_worker():
            return getattr(self.model_, method)(X)

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
