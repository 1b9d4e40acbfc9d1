"""scikit-learn estimators: :class:`CNNClassifier` and :class:`RNNRegressor`.

Both are ordinary scikit-learn estimators: every hyperparameter is a
constructor argument stored unchanged, so ``get_params``/``set_params``/
``clone``, :class:`~sklearn.model_selection.GridSearchCV`,
:func:`~sklearn.model_selection.cross_val_score` and
:class:`~sklearn.pipeline.Pipeline` work, and both pass scikit-learn's own
:func:`~sklearn.utils.estimator_checks.check_estimator`.  The lecture's grid
search over the learning rate :math:`\\eta` and the regularisation
:math:`\\lambda` becomes::

    from sklearn.model_selection import GridSearchCV
    search = GridSearchCV(CNNClassifier(epochs=20, random_state=0),
                          {"eta": np.logspace(-3, 0, 4), "l2": np.logspace(-5, -1, 5)},
                          n_jobs=2)
    search.fit(X, y)

and a joblib backend (``n_jobs``, ``joblib.parallel_config``, a Dask
cluster) spreads the grid over cores or machines; inside a joblib worker
process each fit runs numba on the threads joblib grants that worker (see
:doc:`/parallel-grid-search`).  Each ``fit`` builds a fresh
:class:`numbacnn.Sequential` model, available afterwards as ``model_``.
"""

from ._cnn import CNNClassifier
from ._rnn import RNNRegressor

__all__ = ["CNNClassifier", "RNNRegressor"]
