"""HyperbandSearchCV, BOHB and TPESearchCV inside scikit-learn's search contracts."""

import glob
import math
import os
import re
import tempfile

import numpy as np
import pytest
import scipy.stats
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import skkeras_search.search._optuna_space as optuna_space
from skkeras_search import KerasMLPClassifier, TrainingDivergedError
from skkeras_search.search import HyperbandSearchCV, TPESearchCV, hyperband_brackets, round_sizes
from skkeras_search.search._hyperband import top_k
from skkeras_search.search._optuna_space import bohb_model, to_optuna
from skkeras_search.space import int_range, log_uniform

SPACE = {"hidden_units": int_range(3, 9, 3), "learning_rate": log_uniform(1e-3, 1e-1)}
CV = StratifiedKFold(2)


def clf(**kw):
    return KerasMLPClassifier(**{"hidden_units": 4, "batch_size": 30, "epochs": 3,
                                 "random_state": 0, **kw})


# ------------------------------------------------------------ bracket arithmetic
def test_brackets_equal_li_et_al_table_for_81_and_3():
    # Li et al. (2017), Table 1: R = 81, eta = 3
    table = [
        (4, (81, 27, 9, 3, 1), (1, 3, 9, 27, 81)),
        (3, (34, 11, 3, 1), (3, 9, 27, 81)),
        (2, (15, 5, 1), (9, 27, 81)),
        (1, (8, 2), (27, 81)),
        (0, (5,), (81,)),
    ]
    got = [(b.s, b.n_candidates, b.budgets) for b in hyperband_brackets(81, 3)]
    assert got == table


@pytest.mark.parametrize("max_epochs, factor, min_epochs",
                         [(8, 3, 1), (9, 3, 1), (27, 3, 1), (10, 2, 1), (100, 4, 2), (81, 3, 3),
                          (5, 5, 1), (4, 5, 1), (30, 3, 4)])
def test_brackets_follow_li_et_al_formulas(max_epochs, factor, min_epochs):
    R = max_epochs / min_epochs
    s_max = math.floor(math.log(R) / math.log(factor) + 1e-9)
    B = (s_max + 1) * R
    brackets = hyperband_brackets(max_epochs, factor, min_epochs)
    assert [b.s for b in brackets] == list(range(s_max, -1, -1))
    for b in brackets:
        s = b.s
        n = math.ceil(B / R * factor**s / (s + 1) - 1e-9)
        assert b.n_candidates == tuple(math.floor(n * factor**-i + 1e-9) for i in range(s + 1))
        real = [R * factor ** (i - s) * min_epochs for i in range(s + 1)]
        assert b.budgets[-1] == max_epochs  # finalists get exactly max_epochs
        assert all(min_epochs <= r <= x + 1e-9 and x - r < 1 for r, x in zip(b.budgets, real))
        assert all(a < c for a, c in zip(b.budgets, b.budgets[1:]))
        assert all(k >= 1 for k in b.n_candidates)
    assert len(hyperband_brackets(max_epochs, factor, min_epochs, n_brackets=s_max + 3)) == s_max + 3
    # the promotion rule the search applies reproduces each bracket's table row
    assert all(round_sizes(b.n_candidates[0], len(b.budgets), factor) == b.n_candidates
               for b in brackets)


def test_round_sizes_of_a_capped_bracket_keep_the_top_third_and_at_least_one():
    assert round_sizes(5, 4, 3) == (5, 1, 1, 1)
    assert round_sizes(2, 2, 3) == (2, 1)
    assert round_sizes(30, 3, 3) == (30, 10, 3)


def test_top_k_never_promotes_failures_and_keeps_earlier_ties():
    assert top_k([0.5, np.nan, 0.9, 0.5, 0.1], 3) == [2, 0, 3]
    assert top_k([np.nan, np.nan, 0.2], 2) == [2]


# ------------------------------------------------------------------- Hyperband
def test_hyperband_rows_finalists_and_refit_reach_max_epochs(tiny, trained_epochs, tmp_path,
                                                            monkeypatch):
    X, y = tiny
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where its own cache goes
    made = []
    original_mkdtemp = tempfile.mkdtemp
    monkeypatch.setattr(tempfile, "mkdtemp",
                        lambda *a, **k: made.append(original_mkdtemp(*a, **k)) or made[-1])
    search = HyperbandSearchCV(clf(), SPACE, max_epochs=8, cv=CV, random_state=0).fit(X, y)
    r = search.cv_results_
    for b, bracket in enumerate(search.brackets_):
        for i, (n, budget) in enumerate(zip(bracket.n_candidates, bracket.budgets)):
            rows = (r["bracket"] == b) & (r["round"] == i)
            assert rows.sum() == n
            assert set(r["param_epochs"][rows]) == {budget} == set(r["n_resources"][rows])
    assert list(r["n_resources"]) == [2, 2, 2, 8, 8, 8]
    assert search.best_params_["epochs"] == 8
    assert search.best_estimator_.n_iter_ == 8
    assert trained_epochs[-1] == 8  # the refit trained max_epochs from scratch
    # its own temporary cache is gone, and the estimator is as the user gave it
    assert len(made) == 1 and os.path.basename(made[0]).startswith("skkeras-hyperband-")
    assert os.listdir(tmp_path) == []
    assert search.best_estimator_.cache_dir is None and search.estimator.cache_dir is None


def test_best_index_comes_from_the_full_budget_only(tiny):
    X, y = tiny

    def fewer_epochs_score_higher(estimator, X, y):
        return -float(estimator.n_iter_)

    search = HyperbandSearchCV(clf(), SPACE, max_epochs=8, cv=CV, random_state=0,
                               scoring=fewer_epochs_score_higher).fit(X, y)
    r = search.cv_results_
    assert r["mean_test_score"].max() == -2  # a 2-epoch row has the best score...
    assert r["param_epochs"][search.best_index_] == 8  # ...but is not the best
    assert search.best_score_ == -8 and search.best_estimator_.n_iter_ == 8


def test_continuation_trains_only_the_extra_epochs(tiny, tmp_path, trained_epochs):
    X, y = tiny
    search = HyperbandSearchCV(clf(cache_dir=str(tmp_path)), SPACE, max_epochs=8, cv=CV,
                               random_state=0).fit(X, y)
    r = search.cv_results_
    promoted = r["round"] == 1
    assert list(r["n_epochs_trained"][promoted]) == [6]  # 8 - 2
    assert list(r["n_epochs_trained"][~promoted]) == [2, 2, 2, 8, 8]
    # every training call, counted: the column is what was trained, plus the refit
    assert sum(trained_epochs) == r["n_epochs_trained"].sum() * 2 + 8
    assert sorted(trained_epochs).count(6) == 2  # the promoted candidate, in both folds
    # continued training equals training 8 epochs from scratch, bit for bit
    best = search.cv_results_["params"][int(np.flatnonzero(promoted)[0])]
    scratch = cross_val_score(clf(**best), X, y, cv=CV)
    assert np.array_equal(scratch, [r["split0_test_score"][promoted][0],
                                    r["split1_test_score"][promoted][0]])
    assert glob.glob(str(tmp_path / "*" / "*.npz"))  # the user's cache is kept
    assert search.best_estimator_.cache_dir == str(tmp_path)


def test_rerun_hyperband_with_its_cache_trains_only_the_refit(tiny, tmp_path, trained_epochs):
    X, y = tiny
    search = HyperbandSearchCV(clf(cache_dir=str(tmp_path)), SPACE, max_epochs=8, cv=CV,
                               random_state=0, sampler="tpe")
    first = search.fit(X, y).cv_results_
    trained_epochs.clear()
    second = clone(search).fit(X, y).cv_results_
    assert second["params"] == first["params"]
    assert np.array_equal(second["mean_test_score"], first["mean_test_score"])
    assert trained_epochs == []  # every fit, and the refit, loaded from the cache


def test_without_random_state_nothing_continues_and_a_warning_says_why(tiny, trained_epochs):
    X, y = tiny
    with pytest.warns(UserWarning, match=re.escape("random_state=None")):
        search = HyperbandSearchCV(clf(random_state=None), SPACE, max_epochs=4, factor=2,
                                   n_brackets=1, cv=CV, random_state=0, refit=False).fit(X, y)
    assert list(search.cv_results_["n_epochs_trained"]) == list(search.cv_results_["n_resources"])
    assert sum(trained_epochs) == search.cv_results_["n_resources"].sum() * 2


def test_hyperband_pipeline_prefix_and_multimetric_refit_name(tiny):
    X, y = tiny
    pipe = Pipeline([("scale", StandardScaler()), ("classifier", clf())])
    space = {"classifier__" + k: v for k, v in SPACE.items()}
    scoring = {"acc": "accuracy", "bal": "balanced_accuracy"}
    search = HyperbandSearchCV(pipe, space, max_epochs=8, resource="classifier__epochs",
                               scoring=scoring, refit="bal", cv=CV, random_state=0).fit(X, y)
    r = search.cv_results_
    full = np.flatnonzero(r["param_classifier__epochs"] == 8)
    assert search.best_index_ == full[np.argmax(r["mean_test_bal"][full])]
    assert search.best_score_ == r["mean_test_bal"][search.best_index_]
    assert "mean_test_acc" in r and list(r["n_epochs_trained"][r["round"] == 1]) == [6]
    final = search.best_estimator_.named_steps["classifier"]
    assert final.n_iter_ == 8 and final.cache_dir is None
    assert search.predict(X).shape == (60,)
    with pytest.raises(ValueError, match="multi-metric"):
        HyperbandSearchCV(pipe, space, max_epochs=8, resource="classifier__epochs",
                          scoring=scoring, cv=CV).fit(X, y)


def test_resource_and_budget_errors_name_the_parameter(tiny):
    X, y = tiny
    with pytest.raises(ValueError, match=re.escape("resource='epoch'") + ".*'epochs'"):
        HyperbandSearchCV(clf(), SPACE, max_epochs=8, resource="epoch").fit(X, y)
    with pytest.raises(ValueError, match=re.escape("resource='epochs' is also in")):
        HyperbandSearchCV(clf(), {**SPACE, "epochs": [1, 2]}, max_epochs=8).fit(X, y)
    with pytest.raises(ValueError, match=re.escape("min_epochs=9 exceeds max_epochs=8")):
        HyperbandSearchCV(clf(), SPACE, max_epochs=8, min_epochs=9).fit(X, y)


# ------------------------------------------------------------------------ BOHB
def test_bohb_models_the_largest_budget_with_enough_results():
    dims = to_optuna(SPACE, "test")  # d = 2: N_min + 2 = 5 finite results needed
    rng = np.random.RandomState(0)

    def results(counts):
        budgets = [b for b, n in counts for _ in range(n)]
        params = [{"hidden_units": int(rng.choice([3, 6, 9])),
                   "learning_rate": float(rng.uniform(1e-3, 1e-1)), "epochs": b} for b in budgets]
        return {"n_resources": np.array(budgets), "params": params,
                "mean_test_score": rng.uniform(size=len(budgets))}

    assert bohb_model(None, "mean_test_score", dims, 0) is None
    assert bohb_model(results([(1, 4)]), "mean_test_score", dims, 0) is None
    res = results([(1, 9), (3, 4), (9, 1)])
    study = bohb_model(res, "mean_test_score", dims, 0)
    assert len(study.trials) == 9  # budget 3 has too few
    res = results([(1, 9), (3, 5), (9, 1)])
    res["mean_test_score"][9] = np.nan  # a failed fit on budget 3 does not count...
    assert len(bohb_model(res, "mean_test_score", dims, 0).trials) == 9
    res = results([(1, 9), (3, 6), (9, 1)])
    res["mean_test_score"][9] = np.nan
    study = bohb_model(res, "mean_test_score", dims, 0)
    assert len(study.trials) == 6  # ...but is modelled as a bad (pruned) one once it does
    assert sum(t.state.name == "PRUNED" for t in study.trials) == 1
    assert sorted(t.value for t in study.trials if t.value is not None) == \
        sorted(res["mean_test_score"][10:15])


def test_bohb_is_reproducible_and_proposes_from_the_model(tiny, monkeypatch):
    X, y = tiny
    studies = []

    def recording(*args):
        study = original(*args)
        if study is not None:
            studies.append((study, len(study.trials)))
        return study

    original = optuna_space.bohb_model
    monkeypatch.setattr(optuna_space, "bohb_model", recording)

    def run(random_fraction):
        return HyperbandSearchCV(clf(), SPACE, max_epochs=9, n_brackets=4, sampler="tpe",
                                 random_fraction=random_fraction, cv=CV,
                                 random_state=1).fit(X, y)

    a = run(0.0)
    # bracket 0 is random (no results yet); brackets 1-3 (5 + 3 + 9 new candidates) each ask
    # a model of the largest budget with >= d + 3 = 5 results: before bracket 1 that is
    # 1 epoch (9 results; 3 epochs has 3), before bracket 2 3 epochs (3 + 5), before
    # bracket 3 9 epochs (1 + 1 + 3)
    assert a.n_candidates_ == [9, 5, 3, 9]
    assert [n for _, n in studies] == [9, 8, 5]
    assert sum(len(s.trials) - n for s, n in studies) == 5 + 3 + 9
    b = run(0.0)
    assert a.cv_results_["params"] == b.cv_results_["params"]
    assert np.array_equal(a.cv_results_["mean_test_score"], b.cv_results_["mean_test_score"])
    assert a.best_params_["epochs"] == 9 and a.best_estimator_.n_iter_ == 9
    studies.clear()
    run(1.0)
    assert studies == []  # all random: no model built


def test_bohb_draws_distinct_candidates_within_a_bracket(tiny):
    # A list-only space of 4 candidates: TPE's model and the random share both repeat
    # themselves when asked one candidate at a time; a bracket must not race a twin.
    X, y = tiny
    space = {"hidden_units": [3, 5], "learning_rate": [1e-2, 1e-1]}
    search = HyperbandSearchCV(clf(), space, max_epochs=4, factor=2, n_brackets=9,
                               sampler="tpe", cv=CV, random_state=0).fit(X, y)
    r = search.cv_results_
    first = np.asarray(r["round"]) == 0
    for b in range(9):
        params = [repr(sorted(p.items())) for p, f, bb in zip(r["params"], first, r["bracket"])
                  if f and bb == b]
        assert len(params) == len(set(params)) == min(search.n_candidates_[b], 4)


# ------------------------------------------------------------------------- TPE
def test_tpe_batches_refit_and_multimetric(tiny):
    import logging

    import optuna

    X, y = tiny
    scoring = {"acc": "accuracy", "bal": "balanced_accuracy"}
    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.INFO)
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logging.getLogger("optuna").addHandler(handler)
    try:
        search = TPESearchCV(clf(), SPACE, n_iter=7, batch_size=3, n_startup=3, cv=CV,
                             scoring=scoring, refit="acc", random_state=0).fit(X, y)
        assert optuna.logging.get_verbosity() == optuna.logging.INFO  # put back afterwards
    finally:
        logging.getLogger("optuna").removeHandler(handler)
        optuna.logging.set_verbosity(previous)
    assert records == []  # Optuna kept quiet (no "study created", "trial finished")
    r = search.cv_results_
    assert list(r["batch"]) == [0, 0, 0, 1, 1, 1, 2]
    assert search.best_index_ == np.argmax(r["mean_test_acc"])
    assert search.best_estimator_.get_params()["hidden_units"] == search.best_params_["hidden_units"]
    assert search.best_estimator_.n_iter_ == 3
    again = TPESearchCV(clf(), SPACE, n_iter=7, batch_size=3, n_startup=3, cv=CV,
                        scoring=scoring, refit="acc", random_state=0).fit(X, y)
    assert again.cv_results_["params"] == r["params"]
    other = TPESearchCV(clf(), SPACE, n_iter=7, batch_size=3, n_startup=3, cv=CV,
                        scoring=scoring, refit="acc", random_state=1).fit(X, y)
    assert other.cv_results_["params"] != r["params"]
    with pytest.raises(ValueError, match=re.escape("refit=False does not name one of the scorers")):
        TPESearchCV(clf(), SPACE, n_iter=2, cv=CV, scoring=scoring, refit=False).fit(X, y)


def test_tpe_pipeline_prefixes(tiny):
    X, y = tiny
    pipe = Pipeline([("scale", StandardScaler()), ("classifier", clf())])
    space = {"classifier__" + k: v for k, v in SPACE.items()}
    search = TPESearchCV(pipe, space, n_iter=4, batch_size=2, n_startup=2, cv=CV,
                         random_state=0).fit(X, y)
    assert set(search.best_params_) == set(space)
    assert "param_classifier__learning_rate" in search.cv_results_
    assert search.best_estimator_.named_steps["classifier"].learning_rate == \
        search.best_params_["classifier__learning_rate"]


# --------------------------------------------------------- contracts, all three
def _strategies(estimator, space, **kw):
    return {
        "hyperband": HyperbandSearchCV(estimator, space, max_epochs=4, factor=2, cv=CV,
                                       random_state=0, **kw),
        "bohb": HyperbandSearchCV(estimator, space, max_epochs=4, factor=2, sampler="tpe",
                                  cv=CV, random_state=0, **kw),
        "tpe": TPESearchCV(estimator, space, n_iter=4, batch_size=4, n_startup=2, cv=CV,
                           random_state=0, **kw),
    }


@pytest.mark.parametrize("name", ["hyperband", "bohb", "tpe"])
def test_a_diverging_candidate_is_a_failed_trial(tiny, name, monkeypatch):
    X, y = tiny
    studies = []
    original = optuna_space.new_study
    monkeypatch.setattr(optuna_space, "new_study", lambda s: studies.append(original(s)) or
                        studies[-1])
    # 1e30: diverges in its first update whatever the draw (at 1e3 a dead-ReLU draw may not)
    space = {"learning_rate": [1e30, 1e-2], "hidden_units": [3, 5, 7]}
    search = _strategies(clf(optimizer="sgd"), space)[name]
    with pytest.warns(UserWarning):  # scikit-learn's "fits failed" / non-finite score warnings
        search.fit(X, y)
    r = search.cv_results_
    lr = np.asarray(r["param_learning_rate"], dtype=float)
    failed = np.isnan(r["mean_test_score"])
    assert failed.any() and (lr[failed] == 1e30).all() and not np.isnan(
        r["mean_test_score"][lr == 1e-2]).any()
    assert search.best_params_["learning_rate"] == 1e-2
    if name != "tpe":  # a failed candidate is never promoted
        promoted = np.asarray(r["round"]) > 0
        assert (lr[promoted] == 1e-2).all()
    else:  # and TPE is told it was bad (pruned), not nothing (failed)
        # (repeated proposals of the 6-point space are told their known result too)
        states = [(space["learning_rate"][t.params["learning_rate"]], t.state.name)
                  for t in studies[0].trials]
        assert len(states) >= len(failed)
        assert set(states) == {(1e30, "PRUNED"), (1e-2, "COMPLETE")}
    with pytest.raises(TrainingDivergedError):
        search.set_params(error_score="raise").fit(X, y)


def test_a_call_whose_fits_all_fail_keeps_its_rows(tiny):
    # scikit-learn stores no rows for an evaluate_candidates call in which every fit failed;
    # the searches evaluate such candidates again at the front of their next call.
    X, y = tiny
    # (alpha makes the space infinite, so TPE does not stop at its two learning rates)
    space = {"learning_rate": [1e3, 1e-2], "alpha": log_uniform(1e-5, 1e-3)}
    search = TPESearchCV(clf(optimizer="sgd"), space, n_iter=6, batch_size=1, n_startup=6,
                         cv=CV, random_state=5).fit(X, y)
    r = search.cv_results_
    lr = np.asarray(r["param_learning_rate"], dtype=float)
    failed = np.isnan(r["mean_test_score"])
    assert list(r["batch"]) == list(range(6))  # every batch has its row, in order
    assert failed[:-1].any() and (lr[failed] == 1e3).all() and not failed[lr == 1e-2].any()

    hyperband = HyperbandSearchCV(clf(optimizer="sgd"), {"learning_rate": [1e3, 2e3, 1e-2]},
                                  max_epochs=2, factor=2, n_brackets=6, cv=CV,
                                  random_state=3).fit(X, y)
    r = hyperband.cv_results_
    first = np.asarray(r["round"]) == 0
    lr = np.asarray(r["param_learning_rate"], dtype=float)
    all_failed = [b for b in range(6)
                  if (lr[first & (np.asarray(r["bracket"]) == b)] >= 1e3).all()]
    assert all_failed  # some bracket started with failing candidates only
    for b, bracket in enumerate(hyperband.brackets_):  # and still has its rows
        assert np.sum(first & (np.asarray(r["bracket"]) == b)) == bracket.n_candidates[0]
    assert hyperband.best_params_ == {"learning_rate": 1e-2, "epochs": 2}


def test_a_search_whose_last_call_fails_says_the_rows_are_missing(tiny):
    X, y = tiny
    failing = {"learning_rate": [1e3], "alpha": log_uniform(1e-5, 1e-3)}
    with pytest.raises(ValueError, match="All the 4 fits failed"):  # batch 0 again, batch 1
        TPESearchCV(clf(optimizer="sgd"), failing, n_iter=2, batch_size=1, cv=CV).fit(X, y)
    search = TPESearchCV(clf(optimizer="sgd"),
                         {"learning_rate": [1e3, 1e-2], "alpha": log_uniform(1e-5, 1e-3)},
                         n_iter=6, batch_size=1, n_startup=6, cv=CV, random_state=4)
    with pytest.warns(UserWarning, match=r"last call\(s\) \(batch 5; 1 candidates\) failed"):
        search.fit(X, y)
    assert list(search.cv_results_["batch"]) == list(range(5))


@pytest.mark.parametrize("name", ["hyperband", "bohb", "tpe"])
def test_n_jobs_2_equals_n_jobs_1(tiny, name):
    X, y = tiny
    one = _strategies(clf(), SPACE, n_jobs=1)[name].fit(X, y)
    two = _strategies(clf(), SPACE, n_jobs=2)[name].fit(X, y)
    assert one.cv_results_["params"] == two.cv_results_["params"]
    for key in ("split0_test_score", "split1_test_score", "mean_test_score"):
        assert np.array_equal(one.cv_results_[key], two.cv_results_[key]), key
    assert one.best_params_ == two.best_params_


@pytest.mark.parametrize("name", ["hyperband", "bohb", "tpe"])
def test_spaces_scipy_lists_and_ours_work_unchanged(tiny, name):
    X, y = tiny
    space = {"learning_rate": scipy.stats.loguniform(1e-3, 1e-1),
             "alpha": scipy.stats.uniform(0, 1e-3), "hidden_units": scipy.stats.randint(3, 6),
             "activation": ["relu", "tanh"], "n_layers": int_range(1, 2)}
    search = _strategies(clf(), space)[name].fit(X, y)
    for p in search.cv_results_["params"]:
        assert 1e-3 <= p["learning_rate"] <= 1e-1 and 0 <= p["alpha"] <= 1e-3
        assert p["hidden_units"] in (3, 4, 5) and p["activation"] in ("relu", "tanh")
        assert p["n_layers"] in (1, 2)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


@pytest.mark.parametrize("make", [
    lambda space: TPESearchCV(clf(), space, n_iter=2, cv=CV),
    lambda space: HyperbandSearchCV(clf(), space, max_epochs=2, sampler="tpe", cv=CV),
])
def test_unsupported_distribution_is_refused_by_name(tiny, trained_epochs, make):
    X, y = tiny
    for bad in (scipy.stats.norm(0.01, 0.001), scipy.stats.loguniform(1e-3, 1e-1, loc=1), 0.01):
        with pytest.raises(ValueError, match=re.escape("param_distributions['learning_rate']")
                           + ".*log_uniform"):
            make({"learning_rate": bad, "hidden_units": [3, 4]}).fit(X, y)
    # a conditional space (a list of dicts) is accepted; its messages name the branch
    with pytest.raises(ValueError, match=re.escape("param_distributions[1]['learning_rate']=0.01")
                       + ".*log_uniform"):
        make([SPACE, {"learning_rate": bad}]).fit(X, y)
    assert trained_epochs == []  # refused before any fit


def test_optuna_conversion_keeps_bounds():
    dims = to_optuna({"a": log_uniform(1e-4, 1e-1), "b": int_range(16, 500, 32),
                      "c": scipy.stats.loguniform(1e-3, 1.0), "d": scipy.stats.uniform(2, 3),
                      "e": scipy.stats.randint(1, 4), "f": [(8,), (8, 8), None]}, "test")
    d = {k: v.distribution for k, v in dims.items()}
    assert (d["a"].low, d["a"].high, d["a"].log) == (1e-4, 1e-1, True)
    assert (d["b"].low, d["b"].high, d["b"].step) == (16, 496, 32)
    assert (d["c"].low, d["c"].high, d["c"].log) == pytest.approx((1e-3, 1.0, True))
    assert (d["d"].low, d["d"].high, d["d"].log) == (2, 5, False)
    assert (d["e"].low, d["e"].high) == (1, 3)
    assert dims["f"].decode(1) == (8, 8) and dims["f"].encode(None) == 2


# ------------------------------------------------------- resume, distributed
def test_interrupted_tpe_search_resumes_from_its_cache(tiny, tmp_path, trained_epochs):
    X, y = tiny
    calls = []

    def interrupting(estimator, X, y):
        calls.append(1)
        if len(calls) == 7:  # in the second batch: 3 candidates (6 fits) finished
            raise KeyboardInterrupt
        return estimator.score(X, y)

    def search(cache_dir, scoring=None):
        return TPESearchCV(clf(cache_dir=cache_dir), SPACE, n_iter=8, batch_size=4, n_startup=4,
                           cv=CV, random_state=0, scoring=scoring)

    reference = search(None).fit(X, y)
    with pytest.raises(KeyboardInterrupt):
        search(str(tmp_path), scoring=interrupting).fit(X, y)
    finished = {p: os.stat(p).st_mtime_ns for p in glob.glob(str(tmp_path / "*" / "*.npz"))}
    assert len(finished) == 7  # the 7th fit finished before its scorer was interrupted
    trained_epochs.clear()
    resumed = search(str(tmp_path)).fit(X, y)
    assert resumed.cv_results_["params"] == reference.cv_results_["params"]
    for key in ("split0_test_score", "split1_test_score", "mean_test_score"):
        assert np.array_equal(resumed.cv_results_[key], reference.cv_results_[key]), key
    assert len(trained_epochs) == 16 - 7 + 1  # the unfinished fits and the refit only
    assert {p: os.stat(p).st_mtime_ns for p in finished} == finished  # none rewritten


@pytest.mark.slow
def test_tpe_on_a_dask_cluster_equals_local(tiny, dask_cluster):
    distributed = pytest.importorskip("dask.distributed")
    import joblib

    X, y = tiny
    with distributed.Client(dask_cluster) as client:  # the session's cluster (conftest.py)
        client.wait_for_workers(2, timeout=60)
        with joblib.parallel_config(backend="dask"):
            on_dask = TPESearchCV(clf(), SPACE, n_iter=6, batch_size=3, n_startup=3, cv=CV,
                                  random_state=0, n_jobs=-1).fit(X, y)
            bohb_dask = HyperbandSearchCV(clf(), SPACE, max_epochs=4, factor=2, sampler="tpe",
                                          cv=CV, random_state=0, n_jobs=-1).fit(X, y)
    local = TPESearchCV(clf(), SPACE, n_iter=6, batch_size=3, n_startup=3, cv=CV,
                        random_state=0).fit(X, y)
    bohb_local = HyperbandSearchCV(clf(), SPACE, max_epochs=4, factor=2, sampler="tpe", cv=CV,
                                   random_state=0).fit(X, y)
    for a, b in ((on_dask, local), (bohb_dask, bohb_local)):
        assert a.cv_results_["params"] == b.cv_results_["params"]
        assert np.array_equal(a.cv_results_["mean_test_score"], b.cv_results_["mean_test_score"])


class _RecordingCallback:
    """A scikit-learn >= 1.9 fit callback that logs task names (class-level: copies share it)."""

    log = []

    def setup(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context, **kwargs):
        self.log.append(("begin", context.task_name))

    def on_fit_task_end(self, estimator, context, **kwargs):
        self.log.append(("end", context.task_name))

    def teardown(self, estimator, context):
        pass


@pytest.mark.parametrize("name", ["hyperband", "tpe"])
def test_scikit_learn_callbacks_follow_every_round(tiny, name):
    pytest.importorskip("sklearn.callback", reason="callbacks are new in scikit-learn 1.9")
    X, y = tiny
    _RecordingCallback.log = []
    search = _strategies(clf(), SPACE)[name]
    if name == "tpe":
        search.set_params(batch_size=2)
    search.set_callbacks(_RecordingCallback()).fit(X, y)
    r = search.cv_results_
    calls = {(b, i) for b, i in zip(r["bracket"], r["round"])} if name == "hyperband" \
        else set(r["batch"])
    begun = [task for hook, task in _RecordingCallback.log if hook == "begin"]
    assert begun.count("search") == 1 and len(calls) > 1
    # the search's root, the search, the refit, one task per call, one per (candidate, fold)
    assert len(begun) == 3 + len(calls) + len(r["params"]) * search.n_splits_
    assert sorted(begun) == sorted(task for hook, task in _RecordingCallback.log if hook == "end")


def test_failed_full_budget_rows_are_never_the_best(tiny):
    # learning rates of 100 and 300 with SGD score after 1 epoch and diverge by the third,
    # so every 3-epoch fit fails: the failed 3-epoch rows of brackets 0 and 1 land in
    # bracket 2's first (1-epoch) call, and no full-budget row succeeds.
    X, y = tiny
    search = HyperbandSearchCV(clf(optimizer="sgd"), {"learning_rate": [100.0, 300.0]},
                               max_epochs=3, n_brackets=3, cv=CV, random_state=0)
    with pytest.warns(UserWarning, match=r"No candidate succeeded at the full budget "
                                         r"\(max_epochs=3\)"):
        search.fit(X, y)
    r = search.cv_results_
    full = np.asarray(r["n_resources"]) == 3
    assert full.any() and np.isnan(r["mean_test_score"][full]).all()
    assert r["n_resources"][search.best_index_] == 1 and np.isfinite(search.best_score_)
    assert search.best_params_["epochs"] == 1 and search.best_estimator_.n_iter_ == 1


@pytest.mark.parametrize("refit", [False, lambda results: 0])
def test_several_metrics_without_refit_name_are_refused_before_any_fit(tiny, refit,
                                                                        trained_epochs):
    X, y = tiny
    for search in _strategies(clf(), SPACE, scoring=["accuracy", "balanced_accuracy"],
                              refit=refit).values():
        with pytest.raises(ValueError, match=r"does not name one of the scorers "
                                             r"\['accuracy', 'balanced_accuracy'\].*Set refit"):
            search.fit(X, y)
    assert trained_epochs == []


def test_a_numeric_error_score_scores_a_wholly_failed_call_like_a_partly_failed_one(
        tiny, monkeypatch):
    X, y = tiny
    studies = []
    original = optuna_space.new_study
    monkeypatch.setattr(optuna_space, "new_study", lambda s: studies.append(original(s)) or
                        studies[-1])
    search = TPESearchCV(clf(optimizer="sgd"),
                         {"learning_rate": [1e3, 1e-2], "alpha": log_uniform(1e-5, 1e-3)},
                         n_iter=6, batch_size=1, n_startup=6, cv=CV, random_state=5,
                         error_score=0.0)
    with pytest.warns(UserWarning):  # scikit-learn's "fits failed"
        search.fit(X, y)
    r = search.cv_results_
    lr = np.asarray(r["param_learning_rate"], dtype=float)
    assert list(r["batch"]) == list(range(6)) and (r["mean_test_score"][lr == 1e3] == 0).all()
    # batches 1 to 4 failed whole; TPE is told their score, 0, as for any other trial
    assert [t.state.name for t in studies[0].trials] == ["COMPLETE"] * 6
    assert [t.value for t in studies[0].trials] == list(r["mean_test_score"])


def test_bohb_races_each_point_of_a_small_list_space_once(tiny):
    X, y = tiny
    search = HyperbandSearchCV(clf(), {"hidden_units": [3, 5]}, max_epochs=4, factor=2,
                               sampler="tpe", cv=CV, random_state=0)
    with pytest.warns(UserWarning, match="only 2 points, fewer than the 4 candidates"):
        search.fit(X, y)
    assert search.n_candidates_ == [2, 2, 2]
    r = search.cv_results_
    for b in range(3):
        first = [p["hidden_units"] for p, bb, i in zip(r["params"], r["bracket"], r["round"])
                 if bb == b and i == 0]
        assert sorted(first) == [3, 5]
    # a list that repeats a value has fewer distinct points than entries: the search runs
    # (the repeat is raced, as ParameterSampler does for Hyperband)
    with pytest.warns(UserWarning, match="only 3 points"):
        search.set_params(param_distributions={"hidden_units": [3, 3, 5]}).fit(X, y)
    assert search.n_candidates_ == [3, 3, 3]
