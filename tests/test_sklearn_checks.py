"""scikit-learn's own estimator checks, with no expected failures, for both estimators."""

import pytest
from sklearn.utils.estimator_checks import check_param_validation, parametrize_with_checks

from skkeras_search import KerasMLPClassifier, KerasMLPRegressor

SMALL = [
    KerasMLPClassifier(hidden_units=16, epochs=40, learning_rate=0.01, random_state=0),
    KerasMLPRegressor(hidden_units=16, epochs=40, learning_rate=0.01, random_state=0),
]


@parametrize_with_checks(SMALL)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", SMALL, ids=lambda e: type(e).__name__)
def test_param_validation(estimator):
    check_param_validation(type(estimator).__name__, estimator)
