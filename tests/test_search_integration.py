"""KerasMLPClassifier driven by real scikit-learn meta-estimators."""

import numpy as np
import pytest
from sklearn.base import is_classifier
from sklearn.calibration import CalibratedClassifierCV
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import (
    RandomizedSearchCV,
    StratifiedKFold,
    check_cv,
    cross_validate,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skkeras_search import KerasMLPClassifier, paper_space
from skkeras_search.search import HyperbandSearchCV
from skkeras_search.space import int_range, log_uniform

SPACE = {"hidden_units": int_range(8, 40, 16), "learning_rate": log_uniform(1e-3, 1e-1)}


@pytest.fixture(scope="module")
def data(digits):
    X, y = digits
    return X[:300], y[:300]


def clf(**params):
    return KerasMLPClassifier(**{"epochs": 3, "random_state": 0, **params})


def test_is_a_classifier_so_integer_cv_is_stratified():
    assert is_classifier(clf())
    assert isinstance(check_cv(3, y=np.array([0, 1] * 5), classifier=is_classifier(clf())),
                      StratifiedKFold)


def test_randomized_search_over_paper_names(data):
    X, y = data
    search = RandomizedSearchCV(clf(), SPACE, n_iter=3, cv=3, random_state=0, error_score="raise")
    search.fit(X, y)
    assert {"param_hidden_units", "param_learning_rate", "mean_test_score"} <= set(search.cv_results_)
    assert len(search.cv_results_["params"]) == 3
    assert search.best_estimator_.predict(X).shape == (len(X),)
    assert search.best_score_ > 0.3  # 10 classes: chance is 0.1


def test_paper_space_in_halving_search(data):
    X, y = data
    search = HyperbandSearchCV(
        clf(), paper_space(), max_epochs=4, factor=2, min_epochs=1, n_brackets=1, cv=2,
        random_state=0, error_score=np.nan,
    ).fit(X, y)
    assert set(search.cv_results_["param_epochs"]) <= {1, 2, 4}
    assert hasattr(search, "best_estimator_")


def test_pipeline_inside_search(data):
    X, y = data
    pipe = make_pipeline(StandardScaler(), clf())
    space = {f"kerasmlpclassifier__{k}": v for k, v in SPACE.items()}
    search = RandomizedSearchCV(pipe, space, n_iter=2, cv=2, random_state=0, error_score="raise")
    search.fit(X, y)
    assert search.predict(X).shape == (len(X),)


def test_cross_validate_neg_log_loss(data):
    X, y = data
    scores = cross_validate(clf(), X, y, cv=3, scoring="neg_log_loss", error_score="raise")
    assert np.all(np.isfinite(scores["test_score"])) and np.all(scores["test_score"] < 0)


def test_calibrated_classifier(data):
    X, y = data
    cal = CalibratedClassifierCV(clf(), cv=2).fit(X, y)
    proba = cal.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_n_jobs_2_equals_n_jobs_1(data):
    X, y = data
    results = [
        RandomizedSearchCV(clf(), SPACE, n_iter=3, cv=2, random_state=0, n_jobs=n_jobs,
                           error_score="raise").fit(X, y).cv_results_
        for n_jobs in (1, 2)
    ]
    for key in ("mean_test_score", "split0_test_score", "split1_test_score"):
        assert np.array_equal(results[0][key], results[1][key]), key


def test_diverging_candidate_becomes_failed_trial(data):
    X, y = data
    search = RandomizedSearchCV(
        clf(optimizer="sgd"), {"learning_rate": [1e-2, 1e30]}, n_iter=2, cv=2,
        random_state=0, error_score=np.nan,
    )
    with pytest.warns(FitFailedWarning, match="diverged"):
        search.fit(X * 1e3, y)
    scores = dict(zip(search.cv_results_["param_learning_rate"], search.cv_results_["mean_test_score"]))
    assert np.isnan(scores[1e30]) and np.isfinite(scores[1e-2])
