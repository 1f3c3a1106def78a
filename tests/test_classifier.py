"""Behaviour of KerasMLPClassifier beyond scikit-learn's generic checks."""

import copy
import pickle
import random
import re

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from skkeras_search import KerasMLPClassifier, TrainingDivergedError


def small(**params):
    defaults = dict(hidden_units=8, epochs=5, learning_rate=0.01, random_state=0)
    return KerasMLPClassifier(**{**defaults, **params})


@pytest.fixture(scope="module")
def fitted(tiny):
    X, y = tiny
    return small().fit(X, y)


def test_string_and_noncontiguous_labels(tiny):
    X, y = tiny
    names = np.array(["zebra", "ant", "moose"])[y]
    clf = small().fit(X, names)
    assert list(clf.classes_) == ["ant", "moose", "zebra"]
    assert set(clf.predict(X)) <= set(names)
    odd = np.array([7, -3, 42])[y]
    clf = small().fit(X, odd)
    assert list(clf.classes_) == [-3, 7, 42]
    assert clf.predict(X).dtype == odd.dtype


def test_binary_predict_proba_has_two_columns(tiny):
    X, y = tiny
    clf = small().fit(X, y == 1)
    assert clf.predict_proba(X).shape == (len(X), 2)
    assert list(clf.classes_) == [False, True]


def test_refit_and_clone_give_identical_probabilities(tiny, fitted):
    X, y = tiny
    again = clone(fitted).fit(X, y)
    assert np.array_equal(fitted.predict_proba(X), again.predict_proba(X))
    fitted_twice = small().fit(X, y).fit(X, y)
    assert np.array_equal(fitted.predict_proba(X), fitted_twice.predict_proba(X))


def test_training_precision_follows_input(tiny):
    X, y = tiny
    assert small().fit(X.astype(np.float32), y).coefs_[0].dtype == np.float32
    assert small().fit(X, y).coefs_[0].dtype == np.float64
    assert small().fit(X.astype(np.int64), y).coefs_[0].dtype == np.float64


def test_fitted_attributes(tiny, fitted):
    X, y = tiny
    assert fitted.n_features_in_ == 5
    assert fitted.n_iter_ == 5 == len(fitted.loss_curve_)
    assert fitted.validation_scores_ is None and fitted.best_validation_score_ is None
    assert [c.shape for c in fitted.coefs_] == [(5, 8), (8, 3)]
    # the loss decreases on this easy problem
    assert fitted.loss_curve_[-1] < fitted.loss_curve_[0]


def test_model_is_a_keras_model_matching_predict_proba(tiny, fitted):
    import keras

    X, _ = tiny
    model = fitted.model_
    assert isinstance(model, keras.Model)
    assert model is fitted.model_  # built once
    np.testing.assert_allclose(model.predict(X, verbose=0), fitted.predict_proba(X), atol=1e-6)


def test_model_attribute_absent_before_fit():
    assert not hasattr(small(), "model_")


def test_feature_names_in_from_dataframe(tiny):
    pd = pytest.importorskip("pandas")
    X, y = tiny
    df = pd.DataFrame(X, columns=list("abcde"))
    clf = small().fit(df, y)
    assert list(clf.feature_names_in_) == list("abcde")
    with pytest.warns(UserWarning, match="feature names"):
        clf.predict(X)


def test_early_stopping_attributes(digits):
    X, y = digits
    clf = KerasMLPClassifier(
        hidden_units=32, epochs=30, learning_rate=0.01, early_stopping=True, n_iter_no_change=3,
        random_state=0,
    ).fit(X[:600], y[:600])
    assert len(clf.validation_scores_) == clf.n_iter_ <= 30
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_validation_score_ > 0.8


def test_partial_fit_equals_fit_epoch_by_epoch(tiny):
    X, y = tiny
    full = small(epochs=3, n_iter_no_change=100).fit(X, y)
    inc = small(n_iter_no_change=100)
    for _ in range(3):
        inc.partial_fit(X, y, classes=np.unique(y))
    assert inc.n_iter_ == 3
    assert np.array_equal(full.predict_proba(X), inc.predict_proba(X))


def test_warm_start_continues_exactly(tiny):
    X, y = tiny
    full = small(epochs=6, n_iter_no_change=100).fit(X, y)
    warm = small(epochs=2, n_iter_no_change=100, warm_start=True).fit(X, y)
    warm.set_params(epochs=4).fit(X, y)
    assert warm.n_iter_ == 6
    assert np.array_equal(full.predict_proba(X), warm.predict_proba(X))


def test_partial_fit_needs_classes_first(tiny):
    X, y = tiny
    with pytest.raises(ValueError, match=re.escape("classes=None")):
        small().partial_fit(X, y)


def test_sparse_input_equals_dense(tiny):
    X, y = tiny
    dense = small().fit(X, y)
    sparse = small().fit(sp.csr_matrix(X), y)
    assert np.array_equal(dense.predict_proba(X), sparse.predict_proba(sp.csr_matrix(X)))


@pytest.mark.parametrize("roundtrip", ["pickle", "joblib", "deepcopy", "clone"])
def test_roundtrips(tiny, fitted, roundtrip, tmp_path):
    X, y = tiny
    _ = fitted.model_  # a built Keras model must not break pickling
    if roundtrip == "pickle":
        other = pickle.loads(pickle.dumps(fitted))
    elif roundtrip == "joblib":
        joblib.dump(fitted, tmp_path / "clf.joblib")
        other = joblib.load(tmp_path / "clf.joblib")
    elif roundtrip == "deepcopy":
        other = copy.deepcopy(fitted)
    else:
        other = clone(fitted)
        assert not hasattr(other, "classes_")
        other.fit(X, y)
    assert other.get_params() == fitted.get_params()
    assert np.array_equal(other.predict_proba(X), fitted.predict_proba(X))
    np.testing.assert_allclose(other.model_.predict(X, verbose=0), fitted.predict_proba(X), atol=1e-6)


def test_unfitted_roundtrips():
    clf = small(hidden_units=12)
    for other in (pickle.loads(pickle.dumps(clf)), copy.deepcopy(clf), clone(clf)):
        assert other.get_params() == clf.get_params()


def test_fit_is_silent_by_default(tiny, capfd):
    X, y = tiny
    small().fit(X, y).predict(X)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_verbose_prints_one_line_per_epoch(tiny, capsys):
    X, y = tiny
    small(epochs=3, verbose=1, n_iter_no_change=100).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("Epoch 1 - loss:")


def test_fit_leaves_global_rngs_alone(tiny):
    X, y = tiny
    np.random.seed(123)
    random.seed(123)
    expected_np, expected_py = np.random.get_state()[1].copy(), random.getstate()
    small(random_state=None, dropout=0.2).fit(X, y).model_
    assert np.array_equal(np.random.get_state()[1], expected_np)
    assert random.getstate() == expected_py


# --------------------------------------------------------------- bad input
def test_nan_and_inf_rejected(tiny):
    X, y = tiny
    for bad in (np.nan, np.inf):
        X_bad = X.copy()
        X_bad[3, 2] = bad
        with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
            small().fit(X_bad, y)


def test_wrong_number_of_features_at_predict(tiny, fitted):
    X, _ = tiny
    with pytest.raises(ValueError, match="X has 4 features, but KerasMLPClassifier is expecting 5"):
        fitted.predict(X[:, :4])


def test_three_dimensional_input_says_reshape(tiny):
    X, y = tiny
    images = np.zeros((60, 4, 4))
    with pytest.raises(ValueError, match=re.escape("X.reshape(len(X), -1)")):
        small().fit(images, y)


def test_single_class_rejected(tiny):
    X, _ = tiny
    with pytest.raises(ValueError, match="only one class"):
        small().fit(X, np.zeros(len(X)))


def test_predict_before_fit(tiny):
    with pytest.raises(NotFittedError):
        small().predict(tiny[0])


@pytest.mark.parametrize(
    "param, value",
    [("hidden_units", 0), ("learning_rate", -1.0), ("activation", "swish"), ("batch_size", "big")],
)
def test_invalid_parameters_name_themselves(tiny, param, value):
    X, y = tiny
    with pytest.raises(ValueError, match=f"The '{param}' parameter of KerasMLPClassifier"):
        small(**{param: value}).fit(X, y)


def test_batch_size_larger_than_data_is_clipped_with_warning(tiny):
    X, y = tiny
    with pytest.warns(UserWarning, match=re.escape("batch_size=512 exceeds the 60 training")):
        clipped = small(batch_size=512).fit(X, y)
    exact = small(batch_size=60).fit(X, y)
    assert np.array_equal(clipped.predict_proba(X), exact.predict_proba(X))


def test_divergence_raises_and_leaves_estimator_unchanged(tiny):
    X, y = tiny
    clf = small(warm_start=True).fit(X, y)
    before = clf.predict_proba(X)
    clf.set_params(learning_rate=1e30, optimizer="sgd")
    with pytest.raises(TrainingDivergedError, match=r"epoch 6: the loss became inf.*learning_rate=1e\+30"):
        clf.fit(X.astype(np.float32), y)
    assert np.array_equal(clf.predict_proba(X), before)
    assert clf.n_iter_ == 5


def test_exploding_loss_counts_as_divergence(tiny):
    X, y = tiny  # float64: the loss grows past 1e6 long before it overflows
    with pytest.raises(TrainingDivergedError, match=r"epoch 1: the loss became .*e\+"):
        small(learning_rate=1e30, optimizer="sgd").fit(X, y)


def test_sample_weight_zero_everywhere_rejected(tiny):
    X, y = tiny
    with pytest.raises(ValueError, match="(?i)sample.weight"):
        small().fit(X, y, sample_weight=np.zeros(len(X)))


def test_unseen_label_in_warm_start(tiny):
    X, y = tiny
    clf = small(warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match=r"labels \[9\]"):
        clf.fit(X, np.where(y == 0, 9, y))


def test_no_stdout_from_tensorflow_import():
    """Importing the package does not import TensorFlow (fast CLI --help)."""
    import subprocess
    import sys

    code = "import sys, skkeras_search; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert out.stderr == ""


def test_input_not_modified(tiny):
    X, y = tiny
    X_ro = X.copy()
    X_ro.setflags(write=False)
    sw = np.ones(len(X))
    small().fit(X_ro, y, sample_weight=sw)
    assert np.array_equal(X_ro, X) and np.array_equal(sw, np.ones(len(X)))




def test_failed_fresh_fit_leaves_estimator_unchanged(tiny):
    X, y = tiny
    clf = small().fit(X[:, :4], y)
    before = clf.predict_proba(X[:, :4])
    with pytest.raises(ValueError, match="only one class"):
        clf.fit(X, np.zeros(len(X)))  # 5 features this time, and one class
    assert clf.n_features_in_ == 4
    assert np.array_equal(clf.predict_proba(X[:, :4]), before)


def test_warm_start_refuses_a_changed_architecture(tiny):
    X, y = tiny
    clf = small(warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match=re.escape("hidden_units=16 and n_layers=2 do not match")):
        clf.set_params(hidden_units=16, n_layers=2).fit(X, y)
    assert [c.shape for c in clf.coefs_] == [(5, 8), (8, 3)]


def test_class_weight_dict_and_balanced(tiny):
    X, y = tiny
    heavy = small(class_weight={np.int64(2): 10.0}).fit(X, y)
    plain = small().fit(X, y)
    assert (heavy.predict(X) == 2).sum() >= (plain.predict(X) == 2).sum()
    with pytest.raises(ValueError, match=r"class_weight has labels \[7\]"):
        small(class_weight={7: 2.0}).fit(X, y)
    # partial_fit: a batch without class 2 still uses the dict; 'balanced' is refused
    clf = small(class_weight={1: 5.0, 2: 5.0})
    clf.partial_fit(X[y != 2], y[y != 2], classes=[0, 1, 2])
    assert clf.n_iter_ == 1
    with pytest.raises(ValueError, match="class_weight='balanced' is not supported by partial_fit"):
        small(class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])


def test_stderr_silencing_is_thread_safe(capfd, monkeypatch):
    import os
    import sys
    import threading

    from skkeras_search._core.backend import stderr_silenced

    monkeypatch.setattr(sys, "stderr", open(2, "w", closefd=False))  # the real fd 2

    barrier = threading.Barrier(2)

    def enter_together(pause):
        with stderr_silenced():
            barrier.wait()
            os.write(2, b"swallowed\n")
            threading.Event().wait(pause)

    threads = [threading.Thread(target=enter_together, args=(p,)) for p in (0.01, 0.05)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    os.write(2, b"visible\n")
    err = capfd.readouterr().err
    assert "visible" in err and "swallowed" not in err


def test_early_stopping_trains_on_small_data_like_mlpclassifier():
    from sklearn.datasets import make_classification
    from sklearn.model_selection import RandomizedSearchCV

    X, y = make_classification(30, n_features=5, n_informative=3, n_classes=3, random_state=0)
    clf = KerasMLPClassifier(hidden_units=8, epochs=5, early_stopping=True, random_state=0)
    search = RandomizedSearchCV(clf, {"learning_rate": [0.01, 0.05]}, n_iter=2, cv=3,
                                random_state=0, error_score="raise").fit(X, y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    # 20 rows, 3 classes, validation 2 rows: unstratified, like MLPClassifier
    assert len(clf.fit(X[:20], y[:20]).validation_scores_) >= 1
    with pytest.raises(ValueError) as err:
        clf.fit(X[:9], y[:9])
    message = str(err.value)
    assert "early_stopping=True with validation_fraction=0.1 holds out 1 of the 9" in message
    assert "set early_stopping=False" in message and "test_size" not in message


def test_warm_start_on_one_class_names_the_classes_not_the_weights(tiny):
    X, y = tiny
    clf = KerasMLPClassifier(hidden_units=4, epochs=2, warm_start=True, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=re.escape("y contains only one class (0) but fit")) as err:
        clf.fit(X[y == 0], y[y == 0])
    assert "sample_weight" not in str(err.value) and "partial_fit" in str(err.value)


def test_cache_dir_without_random_state_warns(tiny, tmp_path):
    X, y = tiny
    with pytest.warns(UserWarning, match="caching needs an integer random_state"):
        KerasMLPClassifier(hidden_units=4, epochs=1, cache_dir=str(tmp_path)).fit(X, y)
    assert list(tmp_path.iterdir()) == []
