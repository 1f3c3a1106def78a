"""scikit-learn's own estimator checks, with no expected failures, for both estimators.

One configuration is declared apart: with ``dropout > 0`` sample-weight
equivalence does not hold (a repeated row gets two dropout masks, a row of
weight 2 one), so those two checks are expected to fail for it, and do.

Dropout acts only in training, so the default run gives the dropout
configuration the checks that judge or compare trainings (scores, refits,
pickles, invariances); the checks blind to training (construction, tags,
parameters, input validation, shapes) run for it in the extended run only:
the configuration without dropout runs each of them by default.
"""

import pytest
from sklearn.utils.estimator_checks import (
    check_param_validation,
    check_sample_weight_equivalence_on_dense_data,
    check_sample_weight_equivalence_on_sparse_data,
    parametrize_with_checks,
)

from skkeras_search import KerasMLPClassifier, KerasMLPRegressor

# 20 epochs: at 10, check_regressors_train's score and check_class_weight_classifiers fail, so
# the checks that judge training still need it to work.
SMALL = [
    KerasMLPClassifier(hidden_units=16, epochs=20, learning_rate=0.01, random_state=0),
    KerasMLPRegressor(hidden_units=16, epochs=20, learning_rate=0.01, random_state=0),
]


DROPOUT = [
    KerasMLPClassifier(hidden_units=16, epochs=20, learning_rate=0.01, dropout=0.3, random_state=0),
    KerasMLPRegressor(hidden_units=16, epochs=20, learning_rate=0.01, dropout=0.3, random_state=0),
]


_DROPOUT_REASON = ("dropout masks are drawn per row position: a repeated row gets two masks, "
                   "a row of weight 2 one")


def _declared(estimator):
    if estimator.dropout > 0:
        return {"check_sample_weight_equivalence_on_dense_data": _DROPOUT_REASON,
                "check_sample_weight_equivalence_on_sparse_data": _DROPOUT_REASON}
    return {}


# Checks that never compare one training's outcome with another's nor judge one: they pass or
# fail alike with and without dropout (which the same estimator without dropout shows).
_BLIND_TO_TRAINING = {
    "check_estimator_cloneable", "check_estimator_tags_renamed", "check_valid_tag_types",
    "check_estimator_repr", "check_no_attributes_set_in_init", "check_fit_score_takes_y",
    "check_estimators_overwrite_params", "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self", "check_estimators_unfitted",
    "check_do_not_raise_errors_in_init_or_set_params", "check_n_features_in_after_fitting",
    "check_mixin_order", "check_positive_only_tag_during_fit", "check_estimators_dtypes",
    "check_sample_weights_pandas_series", "check_sample_weights_not_an_array",
    "check_sample_weights_list", "check_all_zero_sample_weights_error",
    "check_sample_weights_shape", "check_sample_weights_not_overwritten", "check_complex_data",
    "check_dtype_object", "check_estimators_empty_data_messages", "check_estimators_nan_inf",
    "check_estimator_sparse_tag", "check_estimator_sparse_array", "check_estimator_sparse_matrix",
    "check_f_contiguous_array_estimator", "check_classifiers_one_label",
    "check_estimators_partial_fit_n_features", "check_classifiers_regression_target",
    "check_supervised_y_no_nan", "check_non_transformer_estimators_n_iter",
    "check_decision_proba_consistency", "check_parameters_default_constructible",
    "check_fit2d_1sample", "check_fit2d_1feature", "check_get_params_invariance",
    "check_set_params", "check_fit_check_is_fitted", "check_n_features_in", "check_fit1d",
    "check_fit2d_predict1d", "check_requires_y_none", "check_regressors_no_decision_function",
    # declared failures, asserted to fail by test_dropout_breaks_sample_weight_equivalence_...
    "check_sample_weight_equivalence_on_dense_data",
    "check_sample_weight_equivalence_on_sparse_data",
}


def _with_dropout_blind_checks_extended(parametrize):
    """``parametrize_with_checks``'s cases, the dropout ones of _BLIND_TO_TRAINING extended."""
    cases = []
    for case in parametrize.mark.args[1]:
        estimator, check = case.values if hasattr(case, "marks") else case
        marks = list(getattr(case, "marks", ()))
        if estimator.dropout > 0 and getattr(check, "func", check).__name__ in _BLIND_TO_TRAINING:
            marks += [pytest.mark.slow, pytest.mark.extended]
        cases.append(pytest.param(estimator, check, marks=marks))
    return pytest.mark.parametrize(parametrize.mark.args[0], cases, **parametrize.mark.kwargs)


@_with_dropout_blind_checks_extended(
    parametrize_with_checks(SMALL + DROPOUT, expected_failed_checks=_declared))
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", SMALL, ids=lambda e: type(e).__name__)
def test_param_validation(estimator):
    check_param_validation(type(estimator).__name__, estimator)


@pytest.mark.parametrize("check", [check_sample_weight_equivalence_on_dense_data,
                                   check_sample_weight_equivalence_on_sparse_data],
                         ids=lambda c: c.__name__)
@pytest.mark.parametrize("estimator", DROPOUT, ids=lambda e: type(e).__name__)
def test_dropout_breaks_sample_weight_equivalence_as_documented(estimator, check):
    # declared (strictly: they must fail) in the README and the dropout docstring
    with pytest.raises(AssertionError, match="equivalent|Not equal|mismatch"):
        check(type(estimator).__name__, estimator)
