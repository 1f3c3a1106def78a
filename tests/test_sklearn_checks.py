"""scikit-learn's own estimator checks, with no expected failures."""

from sklearn.utils.estimator_checks import check_param_validation, parametrize_with_checks

from skkeras_search import KerasMLPClassifier


def _small():
    return KerasMLPClassifier(hidden_units=16, epochs=40, learning_rate=0.01, random_state=0)


@parametrize_with_checks([_small()])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_param_validation():
    check_param_validation("KerasMLPClassifier", _small())
