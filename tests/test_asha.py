"""ASHASearchCV and TPESearchCV(asynchronous=True): the decisions, the rows, resuming."""

import json
import os
import warnings

import joblib
import numpy as np
import pytest
import sklearn
from hypothesis import given
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skkeras_search import KerasMLPClassifier, TrainingDivergedError
from skkeras_search.search import ASHASearchCV, TPESearchCV
from skkeras_search.search._asha import ASHA, rung_budgets
from skkeras_search.search._decision_log import DecisionLog
from skkeras_search.space import int_range, log_uniform

SPACE = {"hidden_units": int_range(3, 9, 3), "learning_rate": log_uniform(1e-3, 1e-1)}
CV = StratifiedKFold(2)


def clf(**kw):
    return KerasMLPClassifier(**{"hidden_units": 4, "batch_size": 30, "epochs": 3,
                                 "random_state": 0, **kw})


def asha(estimator=None, **kw):
    return ASHASearchCV(estimator or clf(), SPACE, **{"max_epochs": 4, "factor": 2,
                                                     "n_candidates": 4, "cv": CV,
                                                     "random_state": 0, **kw})


class _Row:  # what the scheduler tells the policy
    def __init__(self, more, score):
        self.more, self.score = more, score


# ------------------------------------------------------------ the policy alone
def test_rung_budgets_end_at_max_epochs():
    assert rung_budgets(27, 3, 1) == (1, 3, 9, 27)
    assert rung_budgets(8, 3, 1) == (2, 8)
    assert rung_budgets(4, 2, 1) == (1, 2, 4)
    assert rung_budgets(5, 5, 5) == (5,)


def test_promotion_mode_promotes_the_top_third_as_soon_as_it_exists():
    names = iter(range(100))
    policy = ASHA((1, 3, 9), 3, 9, lambda a: {"x": next(names)}, "epochs")
    first = [policy.next_row() for _ in range(3)]  # three workers free: three new candidates
    assert [m["rung"] for _, m in first] == [0, 0, 0]
    for (_params, more), score in zip(first, [0.2, 0.9, 0.5]):
        policy.tell(_Row(more, score))
    params, more = policy.next_row()  # 3 finished on rung 0: the best is promoted at once
    assert (more["candidate"], more["rung"], params) == (1, 1, {"x": 1, "epochs": 3})
    params, more = policy.next_row()  # nothing else in the top third: a new candidate
    assert (more["candidate"], more["rung"]) == (3, 0)


def test_failed_rows_are_never_promoted_and_the_top_rung_is_reached():
    names = iter(range(100))
    policy = ASHA((1, 3), 3, 2, lambda a: {"x": next(names)}, "epochs")
    rows = [policy.next_row(), policy.next_row()]
    policy.tell(_Row(rows[0][1], np.nan))
    policy.tell(_Row(rows[1][1], 0.5))
    # 2 // 3 = 0 would promote nobody; at the end the best successful one goes up
    params, more = policy.next_row()
    assert (more["candidate"], more["rung"]) == (1, 1)
    policy.tell(_Row(more, 0.6))
    assert policy.next_row() is None


@given(st.lists(st.floats(0, 1), min_size=1, max_size=40), st.integers(2, 4),
       st.integers(0, 2**16))
def test_rungs_nest_and_a_promoted_candidate_was_in_the_top_of_its_rung(scores, factor, seed):
    """Any order of finishing: rung k+1 holds only rung-k candidates ranked in the top
    1/factor of the rung-k rows finished when it was promoted (or the end-game promotion)."""
    rng = np.random.RandomState(seed)
    names = iter(range(1000))
    budgets = rung_budgets(factor**2, factor, 1)
    policy = ASHA(budgets, factor, len(scores), lambda a: {"x": next(names)}, "epochs")
    running, heard = [], {}
    while True:
        job = policy.next_row()
        if job is not None:
            running.append(job[1])
            continue
        if not running:
            break
        more = running.pop(rng.randint(len(running)))  # any order of completion
        c, k = more["candidate"], more["rung"]
        if k:
            assert c in heard.get(k - 1, {})
        score = scores[c] + k  # deterministic per candidate
        heard.setdefault(k, {})[c] = score
        policy.tell(_Row(more, score))
    top = len(budgets) - 1
    assert heard.get(top), "the search must end with a full-budget row"
    for k in range(1, top + 1):
        assert set(heard.get(k, {})) <= set(heard[k - 1])


# ------------------------------------------------------------ the search class
def test_asha_rows_continuation_and_refit(tiny, trained_epochs):
    X, y = tiny
    search = asha(n_jobs=1).fit(X, y)
    r = search.cv_results_
    assert search.rung_budgets_ == (1, 2, 4) and search.n_candidates_ == 4
    assert list(r["finish_order"]) == list(range(len(r["params"])))
    assert (np.diff(r["finish_time"]) >= 0).all()
    for rung, budget in enumerate((1, 2, 4)):
        rows = np.asarray(r["rung"]) == rung
        assert set(r["n_resources"][rows]) <= {budget}
        assert set(np.asarray(r["param_epochs"][rows], dtype=int)) <= {budget}
    # promoted candidates continue: they train only the extra epochs
    expected = {0: 1, 1: 1, 2: 2}
    assert [expected[k] for k in r["rung"]] == list(r["n_epochs_trained"])
    assert search.best_params_["epochs"] == 4 and r["rank_test_score"][search.best_index_] == 1
    assert search.best_estimator_.n_iter_ == 4 and trained_epochs[-1] == 4
    for c in set(r["candidate"]):  # one candidate, one set of parameters, at every rung
        ps = [{k: v for k, v in p.items() if k != "epochs"}
              for p, cc in zip(r["params"], r["candidate"]) if cc == c]
        assert all(p == ps[0] for p in ps)


def test_asha_with_one_worker_is_deterministic_and_threads_find_the_same_scores(tiny):
    X, y = tiny
    a = asha(n_jobs=1).fit(X, y).cv_results_
    b = asha(n_jobs=1).fit(X, y).cv_results_
    assert a["params"] == b["params"]
    assert np.array_equal(a["mean_test_score"], b["mean_test_score"])
    with joblib.parallel_config(backend="threading"):
        c = asha(n_jobs=2).fit(X, y).cv_results_
    # the order may differ; the score of one (candidate, budget) may not
    first = {repr(sorted(p.items())): s for p, s in zip(a["params"], a["mean_test_score"])}
    for p, s in zip(c["params"], c["mean_test_score"]):
        key = repr(sorted(p.items()))
        if key in first:
            assert first[key] == s
    assert len(set(c["candidate"])) == 4


def test_asha_pipeline_prefix_and_multimetric_refit_name(tiny):
    X, y = tiny
    pipe = Pipeline([("scale", StandardScaler()), ("clf", clf())])
    search = ASHASearchCV(pipe, {"clf__learning_rate": log_uniform(1e-3, 1e-1)}, max_epochs=2,
                          factor=2, n_candidates=2, resource="clf__epochs", cv=CV,
                          scoring=["accuracy", "neg_log_loss"], refit="neg_log_loss",
                          random_state=0, n_jobs=1).fit(X, y)
    r = search.cv_results_
    assert "mean_test_accuracy" in r and "rank_test_neg_log_loss" in r
    assert search.best_params_["clf__epochs"] == 2
    assert search.best_score_ == r["mean_test_neg_log_loss"][search.best_index_]
    with pytest.raises(ValueError, match="refit"):
        ASHASearchCV(pipe, {}, max_epochs=2, resource="clf__epochs", cv=CV,
                     scoring=["accuracy", "neg_log_loss"]).fit(X, y)


def test_a_diverging_candidate_fails_and_is_never_promoted(tiny):
    X, y = tiny
    # 1e30: diverges in its first update whatever the draw (at 1e6 a dead-ReLU draw may not)
    space = {"learning_rate": [1e30, 1e-2], "hidden_units": [3, 5]}
    search = ASHASearchCV(clf(optimizer="sgd"), space, max_epochs=4, factor=2, n_candidates=4,
                          cv=CV, random_state=0, n_jobs=1)
    with pytest.warns(UserWarning):
        search.fit(X, y)
    r = search.cv_results_
    lr = np.asarray(r["param_learning_rate"], dtype=float)
    failed = np.isnan(r["mean_test_score"])
    assert failed.any() and (lr[failed] == 1e30).all()
    assert (lr[np.asarray(r["rung"]) > 0] == 1e-2).all()
    assert search.best_params_["learning_rate"] == 1e-2
    with pytest.raises(TrainingDivergedError):
        search.set_params(error_score="raise").fit(X, y)


def test_a_small_list_space_starts_each_point_once(tiny):
    X, y = tiny
    search = ASHASearchCV(clf(), {"hidden_units": [3, 5]}, max_epochs=2, factor=2,
                          n_candidates=5, cv=CV, random_state=0, n_jobs=1)
    with pytest.warns(UserWarning, match="smaller than n_candidates=5"):
        search.fit(X, y)
    r = search.cv_results_
    assert search.n_candidates_ == 2
    assert sorted(p["hidden_units"] for p, k in zip(r["params"], r["rung"]) if k == 0) == [3, 5]


def test_settings_are_checked_by_name(tiny):
    X, y = tiny
    with pytest.raises(ValueError, match="min_epochs=5 exceeds max_epochs=4"):
        asha(min_epochs=5).fit(X, y)
    with pytest.raises(ValueError, match="resource='epoch' is not a parameter"):
        asha(resource="epoch").fit(X, y)
    with pytest.raises(ValueError, match="n_candidates"):
        asha(n_candidates=0).fit(X, y)


# ------------------------------------------------------------ resuming
def test_a_rerun_replays_the_recorded_decisions_and_trains_nothing(tiny, tmp_path,
                                                                   trained_epochs):
    X, y = tiny
    est = clf(cache_dir=str(tmp_path))
    with joblib.parallel_config(backend="threading"):
        first = asha(est, n_jobs=2).fit(X, y).cv_results_
    [log] = list((tmp_path / "searches").glob("*.jsonl"))
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["row"] for e in events if e["event"] == "tell"] == list(range(len(first["params"])))
    trained_epochs.clear()
    again = asha(est, n_jobs=1).fit(X, y).cv_results_  # another worker count, same decisions
    assert again["params"] == [first["params"][i] for i in range(len(first["params"]))]
    assert np.array_equal(again["mean_test_score"], first["mean_test_score"])
    assert not np.any(again["n_epochs_trained"])  # every fit loaded from the cache
    assert trained_epochs == []  # nothing trained: the refit was cached by the first run too
    assert log.read_text().count("\n") == len(events)  # replayed, not written again


def test_a_torn_log_line_is_dropped_and_a_changed_history_is_cut(tmp_path):
    path = tmp_path / "searches" / "x.jsonl"
    path.parent.mkdir()
    path.write_text('{"event": "start", "row": 0, "key": "a"}\n{"event": "te')
    log = DecisionLog(str(path))
    assert log.events == [{"event": "start", "row": 0, "key": "a"}]
    assert path.read_text().count("\n") == 1
    with pytest.warns(UserWarning, match="decided differently"):
        log.diverged(0)
    assert log.events == [] and path.read_text() == ""


def test_an_unseeded_search_or_one_without_cache_dir_writes_no_log(tiny, tmp_path):
    X, y = tiny
    asha(clf(cache_dir=str(tmp_path)), random_state=None, n_jobs=1).fit(X, y)
    asha(n_jobs=1).fit(X, y)
    assert not os.path.exists(tmp_path / "searches")


# ------------------------------------------------------------ asynchronous TPE
def test_asynchronous_tpe_with_one_worker_is_tpe_with_batches_of_one(tiny):
    X, y = tiny
    kw = dict(n_iter=6, n_startup=2, cv=CV, random_state=0, n_jobs=1)
    a = TPESearchCV(clf(), SPACE, asynchronous=True, **kw).fit(X, y)
    b = TPESearchCV(clf(), SPACE, batch_size=1, **kw).fit(X, y)
    assert a.cv_results_["params"] == b.cv_results_["params"]
    assert np.array_equal(a.cv_results_["mean_test_score"], b.cv_results_["mean_test_score"])
    assert "batch" not in a.cv_results_ and list(a.cv_results_["finish_order"]) == list(range(6))
    assert a.best_params_ == b.best_params_


def test_asynchronous_tpe_on_threads_evaluates_n_iter_distinct_candidates(tiny):
    X, y = tiny
    with joblib.parallel_config(backend="threading"):
        search = TPESearchCV(clf(), {"hidden_units": [3, 5, 7], "learning_rate": [0.01, 0.1]},
                             n_iter=5, n_startup=2, cv=CV, random_state=0, n_jobs=2,
                             asynchronous=True).fit(X, y)
    keys = {tuple(sorted(p.items())) for p in search.cv_results_["params"]}
    assert len(keys) == len(search.cv_results_["params"]) == 5


# ------------------------------------------------------------ worker processes
class _SeesTheParent(ClassifierMixin, BaseEstimator):
    """Scores 1.0 where the fit saw the parent's scikit-learn config and warning filters."""

    def __init__(self, epochs=1, c=0):
        self.epochs, self.c = epochs, c

    def fit(self, X, y):
        import sklearn

        first = warnings.filters[0]
        self.saw_ = float(sklearn.get_config()["assume_finite"] and first[0] == "ignore"
                          and first[2] is _SearchProbeWarning)
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])

    def score(self, X, y):
        return self.saw_


class _SearchProbeWarning(UserWarning):
    pass


@pytest.mark.slow
def test_worker_processes_see_the_parents_filters_and_config_and_leave_loky_usable(tiny):
    X, y = tiny
    search = ASHASearchCV(_SeesTheParent(), {"c": [0, 1, 2]}, max_epochs=2, factor=2,
                          n_candidates=3, cv=CV, random_state=0, n_jobs=2)
    with warnings.catch_warnings(), sklearn.config_context(assume_finite=True):
        warnings.simplefilter("ignore", _SearchProbeWarning)
        search.fit(X, y)
    assert (search.cv_results_["mean_test_score"] == 1.0).all()
    # joblib's own loky backend still works after our pool (it is joblib's memmapping one)
    grid = GridSearchCV(_SeesTheParent(), {"c": [0, 1]}, cv=CV, n_jobs=2).fit(X, y)
    assert len(grid.cv_results_["params"]) == 2


# ------------------------------------------------------------ found by a new user's review
def test_a_list_of_list_only_dicts_is_drawn_without_repeats(tiny):
    X, y = tiny
    space = [{"hidden_units": [3], "learning_rate": [0.01]},
             {"hidden_units": [5], "learning_rate": [0.1]}]
    search = ASHASearchCV(clf(), space, max_epochs=2, factor=2, n_candidates=6, cv=CV,
                          random_state=0, n_jobs=1)
    with pytest.warns(UserWarning, match="total space of parameters 2 is smaller"):
        search.fit(X, y)
    r = search.cv_results_
    first = [p["hidden_units"] for p, k in zip(r["params"], r["rung"]) if k == 0]
    assert search.n_candidates_ == 2 and sorted(first) == [3, 5]


@pytest.mark.parametrize("refit", [True, False])
def test_a_callable_scoring_that_returns_a_dict_needs_refit_to_name_one(tiny, refit):
    X, y = tiny

    def two(est, X, y):
        return {"acc": float(np.mean(est.predict(X) == y)), "one": 1.0}

    for search in (asha(n_jobs=1, scoring=two, refit=refit),
                   TPESearchCV(clf(), SPACE, n_iter=2, cv=CV, scoring=two, refit=refit,
                               asynchronous=True, random_state=0, n_jobs=1)):
        with pytest.raises(ValueError, match=r"refit=.* does not name one of the scorers "
                                             r"\['acc', 'one'\].*Set refit to one of"):
            search.fit(X, y)
    named = asha(n_jobs=1, scoring=two, refit="acc").fit(X, y)
    assert named.best_score_ == named.cv_results_["mean_test_acc"][named.best_index_]


@pytest.mark.parametrize("space, match", [([], r"param_distributions=\[\] holds no dict"),
                                          ({"hidden_units": []},
                                           r"param_distributions\['hidden_units'\] is an empty")])
def test_an_empty_space_is_refused_by_name(tiny, space, match):
    X, y = tiny
    with pytest.raises(ValueError, match=match):
        ASHASearchCV(clf(), space, max_epochs=2, cv=CV).fit(*tiny)


def test_the_decision_log_tells_scipy_distributions_apart(tiny, tmp_path):
    import scipy.stats

    from skkeras_search.search._decision_log import log_key

    def key(low, high):
        search = ASHASearchCV(clf(cache_dir=str(tmp_path)),
                              {"learning_rate": scipy.stats.loguniform(low, high)}, max_epochs=2)
        return log_key(search, "folds", "data")

    assert key(1e-3, 1e-2) == key(1e-3, 1e-2) != key(1e-1, 1.0)


class _DiesOnce(ClassifierMixin, BaseEstimator):
    """Kills its own (worker) process in the first fit of ``c == 1``, once (a marker file)."""

    def __init__(self, epochs=1, c=0, marker=None):
        self.epochs, self.c, self.marker = epochs, c, marker

    def fit(self, X, y):
        if self.c == 1 and self.marker and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            os.kill(os.getpid(), 9)
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])

    def score(self, X, y):
        return self.c / 10 + self.epochs / 100


@pytest.mark.slow
def test_a_loky_worker_killed_mid_search_has_its_fit_resubmitted(tiny, tmp_path):
    X, y = tiny
    marker = str(tmp_path / "killed")
    search = ASHASearchCV(_DiesOnce(marker=marker), {"c": [0, 1, 2, 3]}, max_epochs=2,
                          factor=2, n_candidates=4, cv=CV, random_state=0, n_jobs=2).fit(X, y)
    assert os.path.exists(marker)  # a worker died
    r = search.cv_results_
    assert not np.isnan(r["mean_test_score"]).any()
    expected = [p["c"] / 10 + p["epochs"] / 100 for p in r["params"]]
    assert np.allclose(r["mean_test_score"], expected)
    assert search.best_params_ == {"c": 3, "epochs": 2}
