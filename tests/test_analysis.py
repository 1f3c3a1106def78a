"""skkeras_search.analysis on real searches of small synthetic estimators with known answers.

The estimators below score without learning (their ``score`` is a formula
of their parameters), so a search of a hundred candidates costs a fraction
of a second and the right importances, ties and rank correlations are known.
"""

import json
import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pytest import approx
from scipy import stats
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import (
    GridSearchCV,
    HalvingRandomSearchCV,
    KFold,
    RandomizedSearchCV,
    ShuffleSplit,
)

from skkeras_search.analysis import (
    _importance,
    analyse,
    budget_rank_correlation,
    param_importances,
    tied_with_best,
)
from skkeras_search.search import ASHASearchCV, HyperbandSearchCV
from skkeras_search.space import log_uniform

X = np.arange(60, dtype=float).reshape(30, 2)
Y = np.zeros(30)
UNIT = stats.uniform(0, 1)


class Quadratic(RegressorMixin, BaseEstimator):
    """Score strongly depends on ``a``, weakly on ``b``, not at all on ``c``."""

    def __init__(self, a=0.0, b=0.0, c=0.0):
        self.a, self.b, self.c = a, b, c

    def fit(self, X, y):
        return self

    def predict(self, X):
        return np.zeros(len(X))

    def score(self, X, y):
        return -3.0 * (self.a - 0.5) ** 2 - 1.0 * (self.b - 0.5) ** 2


class Staged(RegressorMixin, BaseEstimator):
    """Scores ``quality`` at ``full`` epochs; below it ``sign * quality`` (``sign=-1`` reverses)."""

    def __init__(self, epochs=1, quality=0.0, full=27, sign=1.0):
        self.epochs, self.quality, self.full, self.sign = epochs, quality, full, sign

    def fit(self, X, y):
        return self

    def predict(self, X):
        return np.zeros(len(X))

    def score(self, X, y):
        scale = self.epochs / self.full  # same ranks at every budget, other values
        return self.quality * (1.0 if self.epochs >= self.full else self.sign * scale)


QUALITIES = [float(q) for q in np.linspace(0.0, 1.0, 61)]


@pytest.fixture(scope="module")
def quadratic_search():
    # Measured over 30 seeds at 100 candidates: both evaluators put c last every time, its
    # share at most 0.089 (PED-ANOVA) and 0.005 (fANOVA); a first 29/30 (PED-ANOVA), 30/30.
    space = {"a": UNIT, "b": UNIT, "c": UNIT}
    return RandomizedSearchCV(Quadratic(), space, n_iter=100, cv=3, random_state=0).fit(X, Y)


@pytest.fixture(scope="module")
def quadratic_importances(quadratic_search):
    return {ev: param_importances(quadratic_search, evaluator=ev) for ev in ("ped-anova", "fanova")}


@pytest.fixture(scope="module")
def forty_search():
    # measured over 20 seeds at 40 candidates: a first every time by both evaluators
    space = {"a": UNIT, "b": UNIT, "c": UNIT}
    return RandomizedSearchCV(Quadratic(), space, n_iter=40, cv=3, random_state=1).fit(X, Y)


@pytest.mark.parametrize("evaluator", ["ped-anova", "fanova"])
def test_importances_rank_the_strong_parameter_first_and_the_irrelevant_last(
        quadratic_importances, evaluator):
    got = quadratic_importances[evaluator]
    values = got["values"]
    assert list(values) == ["a", "b", "c"]
    assert values["c"] < (0.12 if evaluator == "ped-anova" else 0.02)
    assert math.isclose(sum(values.values()), 1.0) and min(values.values()) >= 0
    assert list(values.values()) == sorted(values.values(), reverse=True)
    assert got["n_rows"] == 100
    assert ("Watanabe" if evaluator == "ped-anova" else "Hutter") in got["method"]


def test_importances_from_a_cv_results_dict(quadratic_search, quadratic_importances):
    cv = dict(quadratic_search.cv_results_)
    space = quadratic_search.param_distributions
    from_search = quadratic_importances["ped-anova"]
    assert param_importances(cv, space) == from_search
    # without the space, the ranges are the observed ones: other shares, same leader
    alone = param_importances(cv)["values"]
    assert alone != from_search["values"] and next(iter(alone)) == "a"


class LogRate(RegressorMixin, BaseEstimator):
    """Score peaks at ``learning_rate`` = 1e-3 on a log scale; ``width`` does nothing."""

    def __init__(self, learning_rate=1e-3, width=1):
        self.learning_rate, self.width = learning_rate, width

    def fit(self, X, y):
        return self

    def predict(self, X):
        return np.zeros(len(X))

    def score(self, X, y):
        return -(np.log10(self.learning_rate) + 3.0) ** 2


def test_a_log_scaled_dimension_reaches_optuna_as_log_and_ranks_first():
    space = {"learning_rate": log_uniform(1e-6, 1.0), "width": [8, 16, 32, 64]}
    search = RandomizedSearchCV(LogRate(), space, n_iter=40, cv=2, random_state=0).fit(X, Y)
    rows, scores, columns = _importance.importance_table(search)
    study = _importance.build_study(scores, columns)
    lr = study.trials[0].distributions["learning_rate"]
    assert lr.log and (lr.low, lr.high) == (1e-6, 1.0)
    width = study.trials[0].distributions["width"]  # a list of numbers: an ordered range
    assert (width.low, width.high, width.log) == (8, 64, False)
    for evaluator in ("ped-anova", "fanova"):
        assert next(iter(param_importances(search, evaluator=evaluator)["values"])) == \
            "learning_rate"
    # without the space, the log scale is inferred (all > 0, max/min >= 100)
    inferred = _importance.importance_table(dict(search.cv_results_))[2]
    assert [c.log for c in inferred] == [True, False]


def test_importances_refuse_too_few_rows_and_nothing_varying_by_count():
    few = GridSearchCV(Quadratic(), {"a": [0.1, 0.5, 0.9]}, cv=2).fit(X, Y)
    with pytest.raises(ValueError, match="3 full-budget rows with finite scores; importances "
                                         "need at least 4"):
        param_importances(few)
    flat = GridSearchCV(Quadratic(), {"a": [0.5], "c": [0.1, 0.2, 0.3, 0.4]}, cv=2).fit(X, Y)
    with pytest.raises(ValueError, match="all 4 full-budget rows score"):
        param_importances(flat)
    fixed = GridSearchCV(Quadratic(), [{"a": [0.5], "b": [0.1]}] * 4, cv=2).fit(X, Y)
    with pytest.raises(ValueError, match="no searched parameter takes two values over the 4"):
        param_importances(fixed)
    with pytest.raises(ValueError, match=re.escape("evaluator='mdi' is not known")):
        param_importances(few, evaluator="mdi")


def test_one_varying_parameter_takes_the_whole_share():
    search = GridSearchCV(Quadratic(), {"a": [0.1, 0.3, 0.5, 0.7], "c": [0.2]}, cv=2).fit(X, Y)
    assert param_importances(search)["values"] == {"a": 1.0}


# ----------------------------------------------------------------- ties
def _fold_results(folds):
    folds = np.asarray(folds, dtype=float)
    cv = {"params": [{"k": i} for i in range(len(folds))], "mean_test_score": folds.mean(1)}
    cv.update({f"split{j}_test_score": folds[:, j] for j in range(folds.shape[1])})
    return cv


def test_tied_with_best_matches_the_formula_by_hand():
    folds = [[0.90, 0.85, 0.88, 0.92, 0.86], [0.89, 0.80, 0.87, 0.90, 0.84],
             [0.70, 0.72, 0.69, 0.71, 0.73]]
    got = tied_with_best(_fold_results(folds))
    assert got["method"] == "corrected resampled t-test (Nadeau and Bengio 2003)"
    assert got["best_index"] == 0 and [r["index"] for r in got["rows"]] == [0, 1, 2]
    for row, other in zip(got["rows"][1:], folds[1:]):
        d = np.subtract(folds[0], other)
        t = d.mean() / math.sqrt((1 / 5 + 1 / 4) * d.var(ddof=1))  # k-fold: n_test/n_train
        p = 2 * stats.t.sf(abs(t), df=4)
        assert math.isclose(row["t"], t) and math.isclose(row["p_value"], p)
    assert [r["tied"] for r in got["rows"]] == [True, True, False]
    assert got["rows"][0]["p_value"] == 1.0
    ratio = tied_with_best(_fold_results(folds), test_train_ratio=0.25)["rows"][1]
    d = np.subtract(folds[0], folds[1])
    t = d.mean() / math.sqrt((1 / 5 + 0.25) * d.var(ddof=1))
    assert math.isclose(ratio["p_value"], 2 * stats.t.sf(abs(t), df=4))


def test_identical_candidates_are_tied_and_a_constant_gap_is_not():
    same = tied_with_best(_fold_results([[0.8, 0.7, 0.9], [0.8, 0.7, 0.9]]))
    assert [r["tied"] for r in same["rows"]] == [True, True]
    assert same["rows"][1]["p_value"] == 1.0
    # 0.8 - 0.7 and 0.9 - 0.8 differ by rounding only: the same gap on every fold
    gap = tied_with_best(_fold_results([[0.8, 0.7, 0.9], [0.7, 0.6, 0.8]]))
    assert gap["rows"][1]["p_value"] == 0.0 and not gap["rows"][1]["tied"]


class FoldNoise(RegressorMixin, BaseEstimator):
    """``quality`` plus noise that depends on the fold's rows (the same for every candidate)."""

    def __init__(self, quality=0.0):
        self.quality = quality

    def fit(self, X, y):
        return self

    def predict(self, X):
        return np.zeros(len(X))

    def score(self, X, y):
        return self.quality + 0.01 * np.sin(X[:, 0].sum()) + 0.002 * np.cos(7 * X[:, 1].sum()
                                                                            * self.quality)


def test_a_real_search_ties_its_near_twins_and_not_a_clearly_worse_candidate():
    search = GridSearchCV(FoldNoise(), {"quality": [0.5, 0.5005, 0.3]}, cv=KFold(5)).fit(X, Y)
    got = tied_with_best(search)
    tied = {search.cv_results_["params"][r["index"]]["quality"]: r["tied"] for r in got["rows"]}
    assert tied == {0.5005: True, 0.5: True, 0.3: False}
    assert got["best_index"] == search.best_index_


fold_values = st.integers(-40, 40).map(lambda v: v / 8)


@given(st.integers(3, 6).flatmap(lambda j: st.lists(st.lists(fold_values, min_size=j,
                                                             max_size=j), min_size=2, max_size=5)),
       st.integers(-100, 100))
def test_tied_with_best_properties(folds, shift):
    got = tied_with_best(_fold_results(folds))
    assert all(0.0 <= r["p_value"] <= 1.0 for r in got["rows"])
    assert got["rows"][0]["index"] == got["best_index"] and got["rows"][0]["tied"]
    shifted = tied_with_best(_fold_results(np.asarray(folds) + shift))
    assert [(r["index"], r["p_value"]) for r in shifted["rows"]] == \
        [(r["index"], r["p_value"]) for r in got["rows"]]


def test_tied_with_best_needs_three_folds():
    one = GridSearchCV(Quadratic(), {"a": [0.1, 0.5]},
                       cv=ShuffleSplit(1, test_size=0.5, random_state=0)).fit(X, Y)
    with pytest.raises(ValueError, match="1 fold"):
        tied_with_best(one)
    two = GridSearchCV(Quadratic(), {"a": [0.1, 0.5]}, cv=2).fit(X, Y)
    with pytest.raises(ValueError, match=r"2 fold\(s\).*needs at least 3.*cv>=3"):
        tied_with_best(two)


# ----------------------------------------------------------------- budgets
def _hyperband(sign):
    search = HyperbandSearchCV(Staged(sign=sign), {"quality": QUALITIES}, max_epochs=27,
                               factor=3, resource="epochs", cv=2, random_state=0)
    return search.fit(X, Y)


def test_budget_ranks_equal_give_rho_one_overall_and_per_bracket():
    got = budget_rank_correlation(_hyperband(1.0))
    assert got["method"] == "Spearman rank correlation"
    # Hyperband, R = 27, eta = 3: bracket 0 runs 27, 9, 3, 1 candidates at 1, 3, 9, 27
    # epochs, bracket 1 runs 12, 4, 1 at 3, 9, 27, bracket 2 runs 6, 2 at 9, 27
    assert [(p["from"], p["to"], p["n"]) for p in got["overall"]] == \
        [(1, 3, 9), (3, 9, 7), (9, 27, 4)]
    assert [p["rho"] for p in got["overall"]] == pytest.approx([1.0, 1.0, 1.0])
    per = got["per_bracket"]
    assert sorted(per) == ["0", "1", "2", "3"]
    assert [(p["n"], p["rho"]) for p in per["0"]] == [(9, approx(1)), (3, approx(1)), (1, None)]
    assert [(p["n"], p["rho"]) for p in per["1"]] == [(4, approx(1)), (1, None)]
    assert [(p["n"], p["rho"]) for p in per["2"]] == [(2, None)] and per["3"] == []
    json.dumps(got)


def test_budget_ranks_reversed_at_the_full_budget_give_rho_minus_one():
    got = budget_rank_correlation(_hyperband(-1.0))
    assert [(p["from"], p["to"], p["rho"]) for p in got["overall"]] == \
        [(1, 3, approx(1)), (3, 9, approx(1)), (9, 27, approx(-1))]
    assert [p["rho"] for p in got["per_bracket"]["0"]] == [approx(1), approx(1), None]


def test_budget_correlation_reads_asha_and_sklearn_halving_rows():
    asha = ASHASearchCV(Staged(full=9), {"quality": QUALITIES}, max_epochs=9, factor=3,
                        resource="epochs", cv=2, random_state=0).fit(X, Y)
    got = budget_rank_correlation(asha)
    assert "per_bracket" not in got
    assert [(p["from"], p["to"]) for p in got["overall"]] == [(1, 3), (3, 9)]
    assert all(p["rho"] == approx(1) for p in got["overall"] if p["n"] >= 3)
    assert got["overall"][0]["n"] >= 3
    halving = HalvingRandomSearchCV(Staged(full=9), {"quality": QUALITIES}, n_candidates=9,
                                    resource="epochs", min_resources=1, max_resources=9,
                                    factor=3, cv=2, random_state=0).fit(X, Y)
    got = budget_rank_correlation(halving)
    assert [(p["from"], p["to"], p["n"], p["rho"]) for p in got["overall"]] == \
        [(1, 3, 3, approx(1)), (3, 9, 1, None)]


def test_budget_correlation_is_none_for_a_single_fidelity_search(quadratic_search):
    assert budget_rank_correlation(quadratic_search) is None


def test_multi_fidelity_importances_use_the_full_budget_and_leave_out_the_budget():
    search = _hyperband(1.0)
    full = int(np.sum(np.asarray(search.cv_results_["n_resources"]) == 27))
    got = param_importances(search)
    assert got["values"] == {"quality": 1.0} and got["n_rows"] == full


# ----------------------------------------------------------------- analyse
def test_analyse_at_forty_candidates_is_json_ready_with_every_part(forty_search):
    got = analyse(forty_search)
    assert set(got) == {"importance", "ties", "budget_correlation"}
    assert set(got["importance"]["fanova"]) == {"method", "values", "n_rows"}
    for part in (got["importance"], got["importance"]["fanova"]):
        assert next(iter(part["values"])) == "a"
    assert got["ties"]["best_index"] == forty_search.best_index_
    assert got["budget_correlation"] is None
    assert json.loads(json.dumps(got, allow_nan=False)) == got


def test_analyse_records_reasons_for_degenerate_searches_instead_of_raising():
    single = GridSearchCV(Quadratic(), {"a": [0.5]}, cv=3).fit(X, Y)
    got = analyse(single)
    assert "at least 4" in got["importance"]["error"]
    assert [r["index"] for r in got["ties"]["rows"]] == [0]
    one_fold = GridSearchCV(Quadratic(), {"a": [0.1, 0.5]},
                            cv=ShuffleSplit(1, test_size=0.5, random_state=0)).fit(X, Y)
    got = analyse(one_fold)
    assert "needs at least 3" in got["ties"]["error"] and "error" in got["importance"]
    json.dumps(got, allow_nan=False)


def test_metric_none_reads_the_refit_metric_and_a_wrong_name_is_refused():
    scoring = {"r2": "r2", "own": lambda est, X, y: est.score(X, y)}
    search = RandomizedSearchCV(Quadratic(), {"a": UNIT, "b": UNIT}, n_iter=12, cv=3,
                                scoring=scoring, refit="own", random_state=0).fit(X, Y)
    assert tied_with_best(search)["best_index"] == search.best_index_
    with pytest.raises(ValueError, match="metric=None finds no mean_test_score"):
        tied_with_best(dict(search.cv_results_))
    with pytest.raises(ValueError, match=re.escape("metric='onw' has no mean_test_onw column. "
                                                   "Did you mean 'own'?")):
        analyse(search, metric="onw")


# ----------------------------------------------------------------- conditional spaces
class Branchy(RegressorMixin, BaseEstimator):
    """Two sub-spaces: without ``gamma`` (scores <= 0) and with it (scores >= 0.2)."""

    def __init__(self, a=0.5, gamma=None):
        self.a, self.gamma = a, gamma

    def fit(self, X, y):
        return self

    def predict(self, X):
        return np.zeros(len(X))

    def score(self, X, y):
        with_gamma = 0.5 + 0.1 * np.log10(self.gamma) if self.gamma is not None else 0.0
        return with_gamma - 0.2 * (self.a - 0.5) ** 2


@pytest.fixture(scope="module")
def conditional_search():
    space = [{"a": UNIT}, {"a": UNIT, "gamma": log_uniform(1e-3, 1.0)}]
    return RandomizedSearchCV(Branchy(), space, n_iter=40, cv=2, random_state=0).fit(X, Y)


def test_conditional_space_importances_cover_common_parameters_and_the_branch(
        conditional_search):
    assert np.ma.is_masked(conditional_search.cv_results_["param_gamma"])
    runs = [(conditional_search, "ped-anova"), (conditional_search, "fanova"),
            (dict(conditional_search.cv_results_), "ped-anova")]
    for source, evaluator in runs:
        values = param_importances(source, evaluator=evaluator)["values"]
        assert set(values) == {"a", "(branch)"}  # gamma: only some rows have it
        assert next(iter(values)) == "(branch)"
        assert math.isclose(sum(values.values()), 1.0)
    columns = _importance.importance_table(conditional_search)[2]
    assert columns[-1].name == "(branch)" and sorted(columns[-1].choices) == ["a", "a+gamma"]


def test_distribution_bounds_read_scipy_and_our_distributions():
    from skkeras_search.space import distribution_bounds, int_range

    assert distribution_bounds(stats.loguniform(1e-4, 1e-1))["log"] is True
    assert distribution_bounds(stats.uniform(2, 3))[  # uniform(loc, scale): [2, 5]
        "high"] == 5.0
    assert distribution_bounds(stats.randint(1, 5)) == {"kind": "int", "low": 1, "high": 4,
                                                        "step": 1, "log": False}
    assert distribution_bounds(int_range(16, 500, 32))["high"] == 496
    assert distribution_bounds(stats.norm()) is None and distribution_bounds([1, 2]) is None
