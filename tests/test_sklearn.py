"""CNNClassifier and RNNRegressor as scikit-learn estimators."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from numbacnn import Sequential
from numbacnn.activations import ReLU, Softmax
from numbacnn.datasets import load_digits_images
from numbacnn.layers import Conv2D, Dense, MaxPool2D
from numbacnn.optimizers import SGD, RMSprop
from numbacnn.sklearn import CNNClassifier, RNNRegressor


def small_digits(n=120, seed=0):
    X, y = load_digits_images()
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(y))[:n]
    return X[idx] / 16.0, y[idx]


def fast_cnn(**kw):
    params = dict(n_filters=3, n_hidden=10, epochs=2, batch_size=20, eta=0.05, random_state=0)
    params.update(kw)
    return CNNClassifier(**params)


# scikit-learn's own checks, all of them, on instances small enough to train in a blink;
# the checks fix random_state and need no less than these to fit their data well
# (check_classifiers_train asks for 83 % training accuracy on three blobs,
# check_regressors_train for R^2 > 0.5 with one informative feature of ten, here
# read as the one informative step of a ten-step sequence)
@parametrize_with_checks([
    CNNClassifier(n_filters=2, n_hidden=8, optimizer="adam", eta=0.05, epochs=15, batch_size=32),
    RNNRegressor(activation="tanh", units=8, n_hidden=8, eta=0.03, epochs=10, batch_size=40),
])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_cnn_defaults_reproduce_the_lecture_keras_model():
    clf = CNNClassifier()
    p = clf.get_params()
    assert (p["n_filters"], p["receptive_field"], p["pool_size"], p["n_hidden"]) == (10, 3, 2, 50)
    assert (p["optimizer"], p["eta"], p["epochs"], p["batch_size"]) == ("sgd", 0.01, 100, 100)
    X, y = small_digits(40)
    model = clf.set_params(epochs=1).fit(X, y).model_
    conv, pool, _, hidden, out = model.layers
    assert isinstance(conv, Conv2D) and conv.out_channels == 10 and conv.kernel_size == (3, 3)
    assert conv.padding == "same" and isinstance(conv.activation, ReLU)
    assert isinstance(pool, MaxPool2D) and pool.kernel_size == (2, 2)
    assert isinstance(hidden, Dense) and hidden.units == 50 and isinstance(hidden.activation, ReLU)
    assert out.units == 10 and isinstance(out.activation, Softmax)
    assert isinstance(model.optimizer, SGD) and model.optimizer.eta == 0.01


def test_params_round_trip_through_clone():
    clf = fast_cnn(eta=0.3, l2=1e-3, n_filters=4)
    twin = clone(clf)
    assert twin.get_params() == clf.get_params()
    twin.set_params(eta=0.1, n_hidden=7)
    assert twin.eta == 0.1 and twin.n_hidden == 7 and clf.eta == 0.3


def test_fit_predict_score_with_any_labels():
    X, y = small_digits(100)
    names = np.array(list("abcdefghij"))[y]
    clf = fast_cnn(epochs=10, optimizer="adam", eta=0.01).fit(X, names)
    assert list(clf.classes_) == sorted(set(names))
    pred = clf.predict(X)
    assert pred.dtype == names.dtype and set(pred) <= set(names)
    proba = clf.predict_proba(X)
    assert proba.shape == (100, len(clf.classes_))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert clf.score(X, names) == np.mean(pred == names) > 0.5
    assert clf.n_features_in_ == 1 and len(clf.loss_curve_) == 10  # axis 1: channels
    assert clf.model_.l2 == 0.0


def test_random_state_makes_fits_reproducible():
    X, y = small_digits(60)
    a = fast_cnn(random_state=3).fit(X, y).predict_proba(X)
    b = fast_cnn(random_state=3).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, fast_cnn(random_state=4).fit(X, y).predict_proba(X))
    # a RandomState is drawn from, as scikit-learn's estimators do: equal states, equal fits
    c = fast_cnn(random_state=np.random.RandomState(7)).fit(X, y).predict_proba(X)
    d = fast_cnn(random_state=np.random.RandomState(7)).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(c, d)
    for bad in (-1, 1.5, "0"):
        with pytest.raises(ValueError, match="random_state must be None, an integer"):
            fast_cnn(random_state=bad).fit(X, y)


@pytest.mark.parametrize("Estimator", [CNNClassifier, RNNRegressor])
def test_deprecated_seed_still_seeds(Estimator):
    assert Estimator().get_params()["seed"] == "deprecated"
    assert Estimator().get_params()["random_state"] is None
    est = Estimator(seed=5)
    assert clone(est).seed == 5 and est.set_params(seed=6).seed == 6
    with pytest.warns(DeprecationWarning, match=r"seed=\.\.\.\) is deprecated.*random_state"):
        assert est._seed() == 6
    with pytest.raises(ValueError, match="both random_state=1 and the deprecated seed=6"):
        Estimator(seed=6, random_state=1)._seed()


def test_deprecated_seed_fits_as_random_state():
    X, y = small_digits(40)
    params = fast_cnn(epochs=1).get_params()
    del params["random_state"]
    with pytest.warns(DeprecationWarning, match="seed"):
        old = CNNClassifier(**{**params, "seed": 3}).fit(X, y).predict_proba(X)
    new = CNNClassifier(**{**params, "random_state": 3}).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(old, new)


def test_l2_is_the_model_l2_strength():
    X, y = small_digits(40)
    clf = fast_cnn(l2=0.25, epochs=1).fit(X, y)
    assert clf.model_.l2 == 0.25
    reg = RNNRegressor(units=2, n_hidden=2, epochs=1, random_state=0, l2=0.5)
    assert reg.fit(np.ones((6, 3)), np.arange(6.0)).model_.l2 == 0.5


def test_grid_search_over_eta_and_l2():
    X, y = small_digits(90)
    search = GridSearchCV(fast_cnn(), {"eta": [0.01, 0.1], "l2": [0.0, 1e-3]}, cv=2)
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_params_["eta"] in (0.01, 0.1)
    assert search.best_estimator_.model_ is not None


@pytest.mark.parametrize("Estimator", [CNNClassifier, RNNRegressor])
def test_deprecated_lmbd_still_sets_l2(Estimator):
    assert Estimator().get_params()["lmbd"] == "deprecated"
    est = Estimator(lmbd=0.125)
    # stored unchanged: get_params, clone and set_params see the old name
    assert est.get_params()["lmbd"] == 0.125 and clone(est).lmbd == 0.125
    assert est.set_params(lmbd=0.25).lmbd == 0.25
    with pytest.warns(DeprecationWarning, match="'lmbd' is deprecated.*'l2'"):
        assert est._l2() == 0.25
    X, y = small_digits(40)
    with pytest.warns(DeprecationWarning, match="lmbd"):
        clf = fast_cnn(lmbd=0.25, epochs=1).fit(X, y)
    assert clf.model_.l2 == 0.25
    # bit-identical to the new name
    np.testing.assert_array_equal(clf.predict_proba(X),
                                  fast_cnn(l2=0.25, epochs=1).fit(X, y).predict_proba(X))


def test_grid_search_over_deprecated_lmbd_still_works():
    X, y = small_digits(60)
    with pytest.warns(DeprecationWarning, match="lmbd"):
        search = GridSearchCV(fast_cnn(epochs=1), {"lmbd": [0.0, 1e-3]}, cv=2).fit(X, y)
    assert search.best_estimator_.model_.l2 in (0.0, 1e-3)


def test_new_l2_name_warns_nothing():
    import warnings

    X, y = small_digits(40)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        fast_cnn(l2=1e-3, epochs=1).fit(X, y)


def test_cross_val_score():
    X, y = small_digits(90)
    scores = cross_val_score(fast_cnn(), X, y, cv=3)
    assert scores.shape == (3,) and np.all((0 <= scores) & (scores <= 1))


def test_pipeline_with_a_scaler_and_image_shape():
    X, y = small_digits(80)
    flat = X.reshape(80, -1)
    pipe = make_pipeline(StandardScaler(), fast_cnn(image_shape=(1, 8, 8)))
    pipe.fit(flat, y)
    assert pipe.predict(flat).shape == (80,)
    assert pipe[-1].n_features_in_ == 64
    with pytest.raises(ValueError, match="X has 63 features, but CNNClassifier is expecting 64"):
        pipe[-1].predict(flat[:, :63])
    with pytest.raises(ValueError, match="has 64 pixels but X has 63"):
        fast_cnn(image_shape=(1, 8, 8)).fit(flat[:, :63], y)


def test_rows_without_image_shape_are_one_row_images():
    X, y = small_digits(60)
    flat = X.reshape(60, -1)
    clf = fast_cnn().fit(flat, y)
    conv, pool = clf.model_.layers[:2]
    assert clf.model_.input_shape == (1, 1, 64) and clf.n_features_in_ == 64
    # the 2x2 pooling window is cut to the one-row image: it pools along the row
    assert pool.kernel_size == (1, 2) and pool.output_shape == (3, 1, 32)
    np.testing.assert_array_equal(clf.predict_proba(flat),
                                  clf.model_.predict_proba(flat.reshape(60, 1, 1, 64)))
    # a single feature: a 1x1 image, the window cut to 1x1
    one = fast_cnn().fit(flat[:, 36:37], y)
    assert one.model_.layers[1].kernel_size == (1, 1)
    with pytest.raises(ValueError, match=r"images X of shape \(n_samples, C, H, W\), or rows"):
        fast_cnn().fit(X[:, 0], y)


def test_classifier_input_errors():
    X, y = small_digits(20)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        fast_cnn().fit(X, y[:-1])
    with pytest.raises(ValueError, match="NaN"):
        fast_cnn().fit(np.where(X > 0.5, np.nan, X), y)
    with pytest.raises(ValueError, match="at least 2 classes in y; got 1 class"):
        fast_cnn().fit(X, np.zeros(20, dtype=int))
    with pytest.raises(ValueError, match="Unknown label type"):
        fast_cnn().fit(X, np.linspace(0, 1, 20))


def sine_windows(n=60, steps=4, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n + steps)
    series = np.sin(0.3 * t) + 0.05 * rng.standard_normal(n + steps)
    X = np.lib.stride_tricks.sliding_window_view(series[:-1], steps)[:n]
    return X, series[steps : steps + n]


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_rnn_regressor_learns_a_sine(cell):
    X, y = sine_windows()
    reg = RNNRegressor(cell=cell, units=8, n_hidden=8, eta=0.01, epochs=30, batch_size=10,
                       random_state=0)
    reg.fit(X, y)
    assert reg.predict(X).shape == (60,)
    assert reg.score(X, y) > 0.5
    assert isinstance(reg.model_.optimizer, RMSprop)


def test_rnn_regressor_multi_output_and_3d_input():
    X, y = sine_windows(30)
    Y = np.column_stack([y, -y])
    reg = RNNRegressor(units=4, n_hidden=4, epochs=2, random_state=0).fit(X[:, :, None], Y)
    assert reg.predict(X[:, :, None]).shape == (30, 2)
    with pytest.raises(ValueError, match="cell must be one of"):
        RNNRegressor(cell="transformer").fit(X, y)
    with pytest.raises(ValueError, match="activation must be 'relu' or 'tanh'; got 'elu'"):
        RNNRegressor(cell="lstm", activation="elu").fit(X, y)
    tanh = RNNRegressor(units=4, n_hidden=4, epochs=2, random_state=0, activation="tanh").fit(X, y)
    assert tanh.model_.layers[0].activation == "tanh"
    with pytest.raises(ValueError, match=r"\(n_samples, T, D\)"):
        RNNRegressor().fit(X[:, :, None, None], y)


def test_rnn_regressor_in_grid_search():
    X, y = sine_windows(40)
    search = GridSearchCV(RNNRegressor(units=4, n_hidden=4, epochs=3, random_state=0),
                          {"eta": [1e-3, 1e-2]}, cv=2)
    search.fit(X, y)
    assert isinstance(search.best_estimator_.model_, Sequential)


def test_fitted_estimator_pickles_for_joblib():
    import pickle

    X, y = small_digits(40)
    clf = fast_cnn(epochs=1).fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))


def test_a_diverged_fit_fails_for_a_search():
    # fit keeps the last finite weights and stops; the estimator still reports
    # the fit as failed, so GridSearchCV records error_score for that cell
    X, y = load_digits_images()
    # float32, and a step eta * l2 = 100 that multiplies the weights by -99: the
    # cost overflows within a few epochs
    X, y = (X[:60] / 16.0).astype(np.float32), y[:60]
    clf = CNNClassifier(eta=10.0, l2=10.0, epochs=10, batch_size=20, random_state=0)
    with pytest.warns(RuntimeWarning), pytest.raises(FloatingPointError, match="stopped"):
        clf.fit(X, y)
    assert all(np.isfinite(w).all() for w in clf.model_.get_weights())
    search = GridSearchCV(CNNClassifier(l2=10.0, epochs=10, batch_size=20, random_state=0),
                          {"eta": [1e-2, 10.0]}, cv=2, error_score=np.nan)
    with pytest.warns(Warning):
        search.fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores[0]) and np.isnan(scores[1])
