"""One set of folds per search, repeated proposals, ranks that agree with ``best_*``,
and ``n_epochs_trained`` as measured by the fits.

Replayed from scikit-learn's own search tests with our searches substituted:
a search made of many ``evaluate_candidates`` calls must score every candidate
on the same folds, as ``RandomizedSearchCV`` (one call) does.
"""

import re
import warnings

import numpy as np
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import (
    GroupKFold,
    KFold,
    RandomizedSearchCV,
    ShuffleSplit,
    StratifiedShuffleSplit,
)
from sklearn.tree import DecisionTreeRegressor

from skkeras_search import KerasMLPClassifier
from skkeras_search.search import HyperbandSearchCV, SearchWarning, TPESearchCV
from skkeras_search.search._hyperband_search import budget_first_ranks
from skkeras_search.space import int_range, log_uniform

QUANTILES = [round(q, 2) for q in np.linspace(0.05, 0.95, 19)]  # ignored by strategy='mean'


class OneTimeSplitter:
    """A splitter whose ``split`` can be iterated once (as in scikit-learn's tests)."""

    def __init__(self, n_splits, n_samples):
        self._splits = iter(list(KFold(n_splits).split(np.zeros(n_samples))))
        self.n_splits = n_splits

    def split(self, X=None, y=None, groups=None):
        return self._splits

    def get_n_splits(self, X=None, y=None, groups=None):
        return self.n_splits


def _regression_data(n=90, seed=0):
    rng = np.random.RandomState(seed)
    return rng.normal(size=(n, 3)), rng.normal(size=n)


def _splitters(n):
    return {
        "KFold(shuffle=True)": KFold(3, shuffle=True),
        "ShuffleSplit()": ShuffleSplit(3, test_size=0.3),
        "one-time splitter": OneTimeSplitter(3, n),
    }


def _searches():
    """Searches of a constant-quality estimator: a row's split scores depend on its fold only."""
    return {
        "tpe": lambda cv: TPESearchCV(DummyRegressor(), {"quantile": QUANTILES}, n_iter=8,
                                      batch_size=2, cv=cv, random_state=0),
        "hyperband": lambda cv: HyperbandSearchCV(DummyRegressor(), {"quantile": QUANTILES},
                                                  max_epochs=9, resource="constant", cv=cv,
                                                  random_state=0),
    }


@pytest.mark.parametrize("search_name", ["tpe", "hyperband"])
@pytest.mark.parametrize("cv_name", ["KFold(shuffle=True)", "ShuffleSplit()", "one-time splitter"])
def test_every_candidate_is_scored_on_the_same_folds(search_name, cv_name):
    X, y = _regression_data()
    search = _searches()[search_name](_splitters(len(X))[cv_name]).fit(X, y)
    r = search.cv_results_
    assert len(r["params"]) > 4  # several calls of evaluate_candidates
    for k in range(search.n_splits_):
        scores = r[f"split{k}_test_score"]
        assert np.all(scores == scores[0]), f"split {k} differs across rows: {scores}"
    assert re.fullmatch("[0-9a-f]{64}", search.cv_splits_digest_)


def test_the_digest_names_the_folds():
    X, y = _regression_data()
    seeded = [_searches()["tpe"](KFold(3, shuffle=True, random_state=s)).fit(X, y)
              for s in (0, 0, 1)]
    assert seeded[0].cv_splits_digest_ == seeded[1].cv_splits_digest_
    assert seeded[0].cv_splits_digest_ != seeded[2].cv_splits_digest_


@pytest.mark.parametrize("cv", [ShuffleSplit(2, test_size=0.25), KFold(2, shuffle=True),
                                StratifiedShuffleSplit(2, test_size=0.25)])
def test_promoted_candidates_continue_under_a_random_splitter(tiny, tmp_path, trained_epochs, cv):
    calls = trained_epochs
    X, y = tiny
    est = KerasMLPClassifier(hidden_units=4, batch_size=30, random_state=0, cache_dir=str(tmp_path))
    space = {"hidden_units": int_range(3, 9, 3), "learning_rate": log_uniform(1e-3, 1e-1)}
    search = HyperbandSearchCV(est, space, max_epochs=9, n_brackets=1, cv=cv,
                               random_state=0).fit(X, y)
    r = search.cv_results_
    promoted = r["round"] > 0
    assert promoted.sum() == 4  # 9 -> 3 -> 1
    assert set(r["n_epochs_trained"][promoted]) == {2, 6}  # 1 -> 3, 3 -> 9: the extra epochs
    # every training call, counted: what the column says was trained, plus the refit
    assert sum(calls) == r["n_epochs_trained"].sum() * search.n_splits_ + 9
    keys = {path.name.rsplit("-e", 1)[0] for path in tmp_path.glob("*/*.npz")}
    assert len(keys) == 9 * search.n_splits_ + 1  # one run per (candidate, fold), and the refit


def test_groups_reach_the_splitter_once():
    X, y = _regression_data(60)
    groups = np.repeat(np.arange(6), 10)
    search = TPESearchCV(DummyRegressor(), {"quantile": QUANTILES}, n_iter=4, batch_size=2,
                         cv=GroupKFold(3), random_state=0).fit(X, y, groups=groups)
    reference = RandomizedSearchCV(DummyRegressor(), {"quantile": QUANTILES}, n_iter=4,
                                   cv=GroupKFold(3), random_state=0).fit(X, y, groups=groups)
    assert search.cv_results_["split0_test_score"][0] == reference.cv_results_["split0_test_score"][0]


# ---------------------------------------------------------------- TPE on finite spaces
def test_tpe_on_a_two_point_space_fits_two_candidates_and_warns(tiny, trained_epochs):
    calls = trained_epochs
    X, y = tiny
    est = KerasMLPClassifier(hidden_units=4, epochs=2, batch_size=30, random_state=0)
    with pytest.warns(UserWarning, match="The total space of parameters 2 is smaller than n_iter=10"):
        search = TPESearchCV(est, {"learning_rate": [0.01, 0.1]}, n_iter=10, batch_size=3,
                             cv=2, random_state=0).fit(X, y)
    params = search.cv_results_["params"]
    assert sorted(p["learning_rate"] for p in params) == [0.01, 0.1]
    assert len(calls) == 2 * 2 + 1  # 2 candidates x 2 folds, and the refit


def test_tpe_never_fits_a_candidate_twice_on_a_finite_space():
    X, y = _regression_data()
    search = TPESearchCV(DummyRegressor(), {"quantile": QUANTILES[:6], "strategy": ("mean",)},
                         n_iter=6, batch_size=4, n_startup=2, cv=3, random_state=0).fit(X, y)
    keys = [p["quantile"] for p in search.cv_results_["params"]]
    assert sorted(keys) == QUANTILES[:6]


@pytest.mark.parametrize("space, size", [({"C": range(1, 4)}, 3),
                                         ({"C": range(1, 3), "fit_intercept": (True, False)}, 4),
                                         ({}, 1)])
def test_tpe_takes_range_tuple_and_empty_spaces_like_randomized_search(space, size):
    X, y = _regression_data()
    y = (y > 0).astype(int)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        ours = TPESearchCV(LogisticRegression(), space, n_iter=10, cv=3, random_state=0).fit(X, y)
        theirs = RandomizedSearchCV(LogisticRegression(), space, n_iter=10, cv=3,
                                    random_state=0).fit(X, y)
    assert len(ours.cv_results_["params"]) == len(theirs.cv_results_["params"]) == size
    key = lambda p: sorted(p.items())  # noqa: E731
    assert sorted(map(key, ours.cv_results_["params"])) == sorted(map(key, theirs.cv_results_["params"]))
    assert sum("smaller than n_iter=10" in str(w.message) for w in seen) == 2


def test_tpe_warns_when_a_space_with_repeated_values_runs_out():
    X, y = _regression_data()
    with pytest.warns(SearchWarning, match="exhausted"):
        search = TPESearchCV(DummyRegressor(), {"quantile": [0.5, 0.5, 0.5]}, n_iter=3,
                             batch_size=1, cv=3, random_state=0).fit(X, y)
    assert len(search.cv_results_["params"]) == 1


# ---------------------------------------------------------------- ranks
def test_rank_one_is_the_best_row_even_when_a_smaller_budget_scores_higher():
    # depth is the resource; on a pure-noise target deeper trees score worse
    X, y = _regression_data(120)
    search = HyperbandSearchCV(DecisionTreeRegressor(random_state=0),
                               {"min_samples_leaf": [1, 2, 3, 4, 5, 6, 7, 8, 9]},
                               max_epochs=9, resource="max_depth", cv=3, random_state=0).fit(X, y)
    r = search.cv_results_
    assert r["mean_test_score"].max() > search.best_score_  # a shallower row scores higher...
    assert r["rank_test_score"][search.best_index_] == 1  # ...but rank 1 is best_*
    first = r["rank_test_score"] == 1
    assert np.all(r["mean_test_score"][first] == search.best_score_)  # ties only
    full = r["n_resources"] == 9
    assert r["rank_test_score"][full].max() < r["rank_test_score"][~full].min()


def test_budget_first_ranks_ties_and_failures():
    scores = np.array([0.5, 0.9, np.nan, 0.5, 0.7, np.nan])
    budgets = np.array([9, 3, 9, 9, 9, 1])
    assert list(budget_first_ranks(scores, budgets)) == [2, 4, 5, 2, 1, 5]
    assert list(budget_first_ranks(np.array([np.nan, np.nan]), np.array([1, 3]))) == [1, 1]


# ---------------------------------------------------------------- epochs, as measured
def _hyperband(tmp_path, **est):
    est = KerasMLPClassifier(**{"hidden_units": 4, "batch_size": 30, "random_state": 0,
                                "cache_dir": str(tmp_path), **est})
    space = {"hidden_units": int_range(3, 9, 3), "learning_rate": log_uniform(1e-3, 1e-1)}
    return HyperbandSearchCV(est, space, max_epochs=9, n_brackets=1, cv=2, random_state=0)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_rerun_reports_the_zero_epochs_it_trained(tiny, tmp_path, n_jobs):
    X, y = tiny
    first = _hyperband(tmp_path).set_params(n_jobs=n_jobs).fit(X, y).cv_results_
    assert list(first["n_epochs_trained"]) == [1] * 9 + [2] * 3 + [6]
    second = _hyperband(tmp_path).set_params(n_jobs=n_jobs).fit(X, y).cv_results_
    assert np.array_equal(second["mean_test_score"], first["mean_test_score"])
    assert list(second["n_epochs_trained"]) == [0] * 13  # everything loaded from the cache


def test_a_fit_that_stops_early_reports_the_epochs_it_ran(tiny, tmp_path):
    X, y = tiny
    # tol so large that no epoch counts as an improvement: training stops after 1 + 2 epochs
    search = _hyperband(tmp_path, n_iter_no_change=2, tol=1e6).fit(X, y)
    r = search.cv_results_
    assert (r["n_epochs_trained"][r["n_resources"] == 9] < 6).all()
    assert (r["n_epochs_trained"] <= r["n_resources"]).all()


def test_failed_rows_measure_nothing(tiny, tmp_path):
    X, y = tiny
    est = KerasMLPClassifier(hidden_units=4, batch_size=30, optimizer="sgd", random_state=0,
                             cache_dir=str(tmp_path))
    with pytest.warns(UserWarning):
        search = HyperbandSearchCV(est, {"learning_rate": [1e3, 2e3, 1e-2, 3e-3]}, max_epochs=8,
                                   min_epochs=2, factor=2, n_brackets=1, cv=2, random_state=0,
                                   refit=False).fit(X, y)
    r = search.cv_results_
    failed = np.isnan(r["mean_test_score"])
    assert failed.any() and np.isnan(r["n_epochs_trained"][failed]).all()
    assert np.isfinite(r["n_epochs_trained"][~failed]).all()
    assert not hasattr(search.scorer_, "scorer")  # scikit-learn's own scorer, unwrapped
    assert type(search.scorer_).__module__.startswith("sklearn.")


# ---------------------------------------------------------------- scikit-learn's contracts kept
def _classification(n=90, seed=0):
    X, y = _regression_data(n, seed)
    return X, (y > 0).astype(int)


@pytest.mark.parametrize("make", [
    lambda cv: TPESearchCV(LogisticRegression(), {"C": [0.01, 0.1, 1.0]}, n_iter=3,
                           batch_size=1, cv=cv, random_state=0),
    lambda cv: HyperbandSearchCV(LogisticRegression(), {"C": [0.01, 0.1, 1.0]}, max_epochs=9,
                                 resource="max_iter", cv=cv, random_state=0),
], ids=["tpe", "hyperband"])
def test_groups_are_routed_to_the_splitter_with_metadata_routing(make):
    import sklearn

    X, y = _classification()
    groups = np.repeat(np.arange(9), 10)
    with sklearn.config_context(enable_metadata_routing=True):
        search = make(GroupKFold(3)).fit(X, y, groups=groups)
    test_groups = [set(groups[test]) for _, test in GroupKFold(3).split(X, y, groups)]
    assert search.n_splits_ == 3 and len(test_groups) == 3
    assert isinstance(search.cv, GroupKFold)  # the user's cv is given back


def test_sample_weight_reaches_a_single_scorer_in_hyperband():
    from sklearn.model_selection import GridSearchCV, PredefinedSplit

    X, y = _classification()
    weights = np.where(y == 1, 5.0, 1.0)
    folds = PredefinedSplit(np.arange(len(y)) % 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no "does not support sample_weight"
        ours = HyperbandSearchCV(LogisticRegression(), {"C": [0.01, 0.1, 1.0]}, max_epochs=9,
                                 resource="max_iter", min_epochs=9, cv=folds, scoring="accuracy",
                                 random_state=0).fit(X, y, sample_weight=weights)
    grid = GridSearchCV(LogisticRegression(max_iter=9), {"C": [0.01, 0.1, 1.0]}, cv=folds,
                        scoring="accuracy").fit(X, y, sample_weight=weights)
    by_c = lambda r: {p["C"]: m for p, m in zip(r["params"], r["mean_test_score"])}  # noqa: E731
    ours, theirs = by_c(ours.cv_results_), by_c(grid.cv_results_)
    assert ours and all(ours[c] == theirs[c] for c in ours)


@pytest.mark.parametrize("bad", [lambda est, X, y: None, lambda est, X, y: "0.5"],
                         ids=["returns None", "returns a string"])
def test_a_scorer_that_returns_no_number_is_refused_as_in_scikit_learn(bad):
    X, y = _classification()
    search = HyperbandSearchCV(LogisticRegression(), {"C": [0.01, 0.1, 1.0]}, max_epochs=3,
                               resource="max_iter", cv=3, scoring=bad, random_state=0)
    with pytest.raises(ValueError, match="scoring must return a number"):
        search.fit(X, y)


def test_epochs_are_measured_when_the_first_of_several_metrics_fails(tiny, tmp_path):
    def broken(est, X, y):
        raise RuntimeError("broken metric")

    X, y = tiny
    est = KerasMLPClassifier(hidden_units=4, batch_size=30, random_state=0, cache_dir=str(tmp_path))
    with pytest.warns(UserWarning, match="Scoring failed"):
        search = HyperbandSearchCV(est, {"hidden_units": [3, 5, 7]}, max_epochs=3, cv=2,
                                   scoring={"bad": broken, "acc": "accuracy"}, refit="acc",
                                   random_state=0).fit(X, y)
    r = search.cv_results_
    assert set(r["n_epochs_trained"][r["n_resources"] == 3]) == {2.0}  # continued 1 -> 3


def test_distinct_candidates_with_equal_reprs_are_both_evaluated():
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    def prep(with_mean):  # 30 steps: scikit-learn elides the repr, so both look the same
        steps = [(f"scale_{i:02d}", StandardScaler()) for i in range(30)]
        steps[15] = ("scale_15", StandardScaler(with_mean=with_mean))
        return Pipeline(steps)

    a, b = prep(True), prep(False)
    assert repr(a) == repr(b)
    X, y = _classification()
    est = Pipeline([("prep", "passthrough"), ("clf", LogisticRegression())])
    search = TPESearchCV(est, {"prep": [a, b]}, n_iter=2, cv=2, random_state=0).fit(X, y)
    assert {id(p["prep"]) for p in search.cv_results_["params"]} == {id(a), id(b)}


def test_sparse_X_is_split_once_too():
    import scipy.sparse as sp

    X, y = _classification()
    search = TPESearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, n_iter=2, cv=KFold(3, shuffle=True),
                         random_state=0).fit(sp.csr_matrix(X), y)
    assert np.all(search.cv_results_["split0_test_score"] >= 0)


def test_tpe_evaluates_every_point_of_a_finite_int_range():
    from sklearn.tree import DecisionTreeClassifier

    X, y = _classification()
    with warnings.catch_warnings():
        warnings.simplefilter("error", SearchWarning)
        search = TPESearchCV(DecisionTreeClassifier(random_state=0), {"max_depth": int_range(1, 40)},
                             n_iter=40, batch_size=8, cv=2, random_state=0).fit(X, y)
    assert sorted(p["max_depth"] for p in search.cv_results_["params"]) == list(range(1, 41))
