"""Conditional spaces (a list of dicts) in the model-based samplers: TPE, BOHB, ASHA's TPE.

Keras is not the point here except in one test: the searches run scikit-learn's
SGDClassifier (milliseconds per fit), whose ``max_iter`` is the budget of BOHB and
ASHA, on the 60-sample ``tiny`` data.
"""

import hashlib
import json
import os
import platform
import re
import subprocess
import sys

import numpy as np
import pytest
import scipy.stats
from joblib import parallel_config
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.pipeline import Pipeline

from skkeras_search import KerasMLPClassifier
from skkeras_search.search import ASHASearchCV, HyperbandSearchCV, TPESearchCV
from skkeras_search.search._conditional import BRANCH, search_space
from skkeras_search.search._optuna_space import bohb_model
from skkeras_search.space import int_range, log_uniform

# branch 0 and branch 1 give alpha different bounds (two Optuna names); only 1 has l1_ratio
SPACE = [{"penalty": ["l2"], "alpha": log_uniform(1e-5, 1e-1)},
         {"penalty": ["elasticnet"], "alpha": log_uniform(1e-4, 1.0),
          "l1_ratio": scipy.stats.uniform(0, 1)}]
BOUNDS = [{"alpha": (1e-5, 1e-1)}, {"alpha": (1e-4, 1.0), "l1_ratio": (0, 1)}]
BUDGET = "max_iter"


def sgd():
    return SGDClassifier(random_state=0, max_iter=5, tol=None, learning_rate="constant", eta0=1)


def searches(n_jobs=1):
    common = {"cv": 2, "random_state": 0}
    budget = {"max_epochs": 9, "resource": BUDGET, "sampler": "tpe", "random_fraction": 0.2}
    return {
        "tpe": TPESearchCV(sgd(), SPACE, n_iter=12, batch_size=3, n_startup=3, n_jobs=n_jobs,
                           **common),
        "tpe_async": TPESearchCV(sgd(), SPACE, n_iter=10, n_startup=3, asynchronous=True,
                                 n_jobs=1, **common),
        "bohb": HyperbandSearchCV(sgd(), SPACE, n_jobs=n_jobs, **budget, **common),
        "asha": ASHASearchCV(sgd(), SPACE, n_candidates=16, n_jobs=1, **budget, **common),
    }


def fit(search, X, y):
    return search.fit(X, y)


def branch_of(params):
    """The one branch whose names are exactly the row's (without the budget), and its values fit."""
    names = set(params) - {BUDGET}
    hits = [b for b, space in enumerate(SPACE) if set(space) == names]
    assert len(hits) == 1, params
    b = hits[0]
    assert params["penalty"] == SPACE[b]["penalty"][0]
    for name, (low, high) in BOUNDS[b].items():
        assert low <= params[name] <= high, (b, params)
    return b


@pytest.mark.parametrize("name", ["tpe", "tpe_async", "bohb", "asha"])
def test_every_row_holds_one_branch_and_the_others_are_masked(tiny, name):
    X, y = tiny
    r = fit(searches()[name], X, y).cv_results_
    branches = [branch_of(p) for p in r["params"]]
    assert set(branches) == {0, 1}  # the model-based proposals visit both
    l1 = r["param_l1_ratio"]
    assert [bool(np.ma.getmaskarray(l1)[i]) for i in range(len(branches))] == \
        [b == 0 for b in branches]
    assert np.isfinite(np.asarray(r["mean_test_score"], float)).all()


@pytest.mark.parametrize("name", ["tpe", "bohb"])
def test_a_conditional_search_does_not_depend_on_n_jobs(tiny, name):
    # two threads (fits end in any order) rather than two loky processes: the same claim
    # without starting a process pool (7 s) for millisecond fits
    X, y = tiny
    a = fit(searches(n_jobs=1)[name], X, y).cv_results_
    with parallel_config(backend="threading"):
        b = fit(searches(n_jobs=2)[name], X, y).cv_results_
    assert a["params"] == b["params"]
    assert np.array_equal(a["mean_test_score"], b["mean_test_score"], equal_nan=True)


# The candidates of a single dict, recorded from the code before conditional spaces
# (commit a20e338, `git archive a20e338` run with this environment): blake2b(8) of the JSON of
# every row's params. They are not CPU-independent as such: Optuna's Parzen estimator sorts the
# observations with np.argsort (an unstable sort) and an integer parameter (eta0) has ties, whose
# order is the sort kernel's: numpy dispatches AVX-512 (Intel Xeon), AVX2 (AMD EPYC) or baseline
# code, and the three order ties differently, so a TPE proposal changes whole (BOHB's row 16
# here: eta0 3 -> 1, l1_ratio 0.430 -> 0.565). The searches therefore run in a subprocess with
# numpy's dispatched kernels off (baseline x86-64-v2 code on any x86-64 CPU) and OpenBLAS on its
# Haswell kernels. Recorded 2026-12-02 on optuna 5.1.0 (5.0.0: the same; 4.0.0 proposes
# other candidates), numpy 2.4.6, scipy 1.17.1, scikit-learn 1.9.1.
SINGLE = {"alpha": log_uniform(1e-5, 1e-1), "l1_ratio": scipy.stats.uniform(0, 1),
          "penalty": ["l2", "elasticnet"], "eta0": int_range(1, 5)}
BEFORE = {"tpe": (10, "ed688bb38a70706e"), "tpe_async": (8, "67f1faea68cf028a"),
          "bohb": (22, "7f3af9f261045ae7"), "asha": (17, "605836b86bb132a6")}
FIRST_TPE_ROWS = [
    {"alpha": 0.0015676677195506068, "l1_ratio": 0.7151893663724195, "penalty": "l2", "eta0": 3},
    {"alpha": 0.0038333321561566623, "l1_ratio": 0.4375872112626925, "penalty": "elasticnet",
     "eta0": 2},
]
# numpy's dispatch targets above the x86-64 baseline (numpy 2.4 names; unknown names are ignored)
FIXED_KERNELS = {"NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR",
                 "OPENBLAS_CORETYPE": "Haswell"}


def single_dict_rows(X, y, space):
    """Every search's rows of params (floats as Python floats) for ``space``."""
    common = {"cv": 2, "random_state": 0}
    budget = {"max_epochs": 9, "resource": BUDGET, "sampler": "tpe", "random_fraction": 0.2}
    runs = {
        "tpe": TPESearchCV(sgd(), space, n_iter=10, batch_size=3, n_startup=3, **common),
        "tpe_async": TPESearchCV(sgd(), space, n_iter=8, n_startup=3, asynchronous=True,
                                 n_jobs=1, **common),
        "bohb": HyperbandSearchCV(sgd(), space, **budget, **common),
        "asha": ASHASearchCV(sgd(), space, n_candidates=12, n_jobs=1, **budget, **common),
    }
    return {name: [{k: float(v) if isinstance(v, float) else v for k, v in p.items()}
                   for p in fit(search, X, y).cv_results_["params"]]
            for name, search in runs.items()}


# run in the subprocess: the rows of the single dict and of the same dict as a one-branch list
_ROWS_PROGRAM = """
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from test_conditional_space import SINGLE, single_dict_rows
data = np.load(sys.argv[2])
X, y = data["X"], data["y"]
print(json.dumps([single_dict_rows(X, y, SINGLE), single_dict_rows(X, y, [SINGLE])]))
"""


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"),
                    reason="the digests were recorded with numpy's x86-64 baseline kernels")
def test_a_single_dict_proposes_what_it_proposed_before(tiny, tmp_path):
    X, y = tiny
    np.savez(tmp_path / "tiny.npz", X=X, y=y)
    done = subprocess.run(
        [sys.executable, "-c", _ROWS_PROGRAM, os.path.dirname(__file__), str(tmp_path / "tiny.npz")],
        env={**os.environ, **FIXED_KERNELS}, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    single, one_branch = json.loads(done.stdout.splitlines()[-1])
    assert single["tpe"][:2] == FIRST_TPE_ROWS
    assert one_branch == single  # a list of one dict is that dict
    got = {name: (len(rows), hashlib.blake2b(json.dumps(rows, sort_keys=True).encode(),
                                             digest_size=8).hexdigest())
           for name, rows in single.items()}
    assert got == BEFORE


def test_names_are_shared_where_branches_agree_and_split_where_they_differ():
    shared = log_uniform(1e-4, 1e-1)
    space = search_space([{"optimizer": ["sgd"], "learning_rate": shared, "momentum": [0.0, 0.9]},
                          {"optimizer": ["adam"], "learning_rate": shared},
                          {"optimizer": ["adam"], "learning_rate": log_uniform(1e-3, 1.0)}],
                         "test")
    names = [{k: d.name for k, d in b.items()} for b in space.branches]
    # learning_rate: branches 0 and 1 agree but 2 differs, so each has its own name;
    # optimizer: ['sgd'] vs ['adam'] are different choices (same index distribution)
    assert names == [{"optimizer": "optimizer@0", "learning_rate": "learning_rate@0",
                      "momentum": "momentum"},
                     {"optimizer": "optimizer@1", "learning_rate": "learning_rate@1"},
                     {"optimizer": "optimizer@2", "learning_rate": "learning_rate@2"}]
    same = search_space([{"a": log_uniform(1e-3, 1.0), "b": [1, 2]}, {"a": log_uniform(1e-3, 1.0)}],
                        "test")
    assert [d.name for b in same.branches for d in b.values()] == ["a", "b", "a"]
    assert space.n_dims == 4 and space.n_points() is None and same.conditional
    # decoding gives the estimator's names back
    assert space.decode({BRANCH: 2, "optimizer@2": 0, "learning_rate@2": 0.5}) == \
        {"optimizer": "adam", "learning_rate": 0.5}
    # a list of one dict is that dict (no branch choice)
    assert not search_space([{"a": [1, 2]}], "test").conditional


def test_rows_are_credited_to_the_branch_they_fit():
    space = search_space(SPACE + [{}], "test")
    row = {"penalty": "elasticnet", "alpha": 0.5, "l1_ratio": 0.3, BUDGET: 9}
    params, distributions = space.observation(row)  # the budget is not a parameter of the space
    assert params == {BRANCH: 1, "penalty@1": 0, "alpha@1": 0.5, "l1_ratio": 0.3}
    assert set(distributions) == set(params)
    assert space.observation({"penalty": "l2", "alpha": 1e-3})[0][BRANCH] == 0
    assert space.observation({BUDGET: 3})[0] == {BRANCH: 2}  # the estimator as given
    assert space.observation({"penalty": "l2", "alpha": 0.5}) is None  # outside branch 0's alpha
    assert space.observation(row, strict=True) is None  # strict: the budget is an extra name
    assert space.mismatch({"penalty": "l2", "alpha": 0.5}) == \
        ("alpha", 0.5, "is outside LogUniform(1e-05, 0.1)")
    # overlapping branches: the first that fits
    overlap = search_space([{"a": [1, 2]}, {"a": [2, 3]}], "test")
    assert overlap.observation({"a": 2})[0] == {BRANCH: 0, "a@0": 1}
    assert overlap.observation({"a": 3})[0] == {BRANCH: 1, "a@1": 1}


def test_bohb_models_a_conditional_space_from_its_rows():
    space = search_space(SPACE, "test")  # d = 1 + 3: N_min + 2 = 7 finite results needed
    rng = np.random.RandomState(0)
    params = [{"penalty": "l2", "alpha": float(rng.uniform(1e-4, 1e-2)), BUDGET: 1}
              if i % 2 else {"penalty": "elasticnet", "alpha": float(rng.uniform(1e-3, 1)),
                             "l1_ratio": float(rng.uniform()), BUDGET: 1} for i in range(8)]
    results = {"params": params, "n_resources": np.ones(8), "score": rng.uniform(size=8)}
    results["score"][3] = np.nan
    study = bohb_model(results, "score", space, 0)
    assert len(study.trials) == 8 and sum(t.state.name == "PRUNED" for t in study.trials) == 1
    assert [t.params[BRANCH] for t in study.trials] == [1, 0] * 4
    assert all(("l1_ratio" in t.params) == (t.params[BRANCH] == 1) for t in study.trials)
    # grouped (group=True): each branch's parameters are modelled, not only the branch choice
    modelled = study.sampler.infer_relative_search_space(study, study.trials[0])
    assert set(modelled) == {BRANCH, "alpha@0", "alpha@1", "l1_ratio"}
    results["score"][5] = np.nan  # 6 finite: fewer than N_min + 2
    assert bohb_model(results, "score", space, 0) is None
    trial, candidate = space.ask(bohb_model({**results, "score": np.ones(8)}, "score", space, 0))
    assert branch_of(candidate) in (0, 1)


def test_a_finite_conditional_space_is_evaluated_once_per_point(tiny):
    X, y = tiny
    space = [{"penalty": ["l2"], "alpha": [1e-4, 1e-3]},
             {"penalty": ["elasticnet"], "alpha": [1e-4], "l1_ratio": [0.2, 0.8]}, {}]
    assert search_space(space, "test").n_points() == 5
    search = TPESearchCV(sgd(), space, n_iter=8, batch_size=2, n_startup=2, cv=2, random_state=0)
    with pytest.warns(UserWarning, match="total space of parameters 5 is smaller than n_iter=8"):
        fit(search, X, y)
    rows = search.cv_results_["params"]
    assert len(rows) == 5 and {} in rows
    assert len({json.dumps(p, sort_keys=True) for p in rows}) == 5


def test_errors_name_the_branch_and_come_before_any_fit(tiny):
    X, y = tiny
    bad = [{"alpha": log_uniform(1e-4, 1e-1)}, {"alpha": scipy.stats.norm(0.01, 0.001)}]
    for make, owner in [
        (lambda s: TPESearchCV(sgd(), s, n_iter=2, cv=2), "TPESearchCV"),
        (lambda s: TPESearchCV(sgd(), s, n_iter=2, cv=2, asynchronous=True), "TPESearchCV"),
        (lambda s: HyperbandSearchCV(sgd(), s, max_epochs=3, resource=BUDGET, sampler="tpe",
                                     cv=2), "HyperbandSearchCV(sampler='tpe')"),
        (lambda s: ASHASearchCV(sgd(), s, max_epochs=3, resource=BUDGET, sampler="tpe", cv=2),
         "ASHASearchCV(sampler='tpe')"),
    ]:
        with pytest.raises(ValueError, match=re.escape(
                f"param_distributions[1]['alpha']=scipy.stats.norm(0.01, 0.001) is not "
                f"supported by {owner}")):
            make(bad).fit(X, y)
        with pytest.raises(ValueError, match=re.escape("param_distributions=[] holds no dict")):
            make([]).fit(X, y)
        if owner == "TPESearchCV":  # the budget searches check their resource first (TypeError)
            with pytest.raises(ValueError, match=re.escape("param_distributions[1]=5 is not a "
                                                           "dict")):
                make([{"alpha": [0.1]}, 5]).fit(X, y)
        with pytest.raises(ValueError, match=re.escape("param_distributions[0]['alpha'] is an "
                                                       "empty list")):
            make([{"alpha": []}, {}]).fit(X, y)


def test_a_conditional_space_over_pipeline_steps(tiny):
    # scikit-learn's conditional space over a pipeline's step: the dummy branch has one
    # point, so TPE proposing it again is told its score without a fit
    X, y = tiny
    pipe = Pipeline([("clf", DummyClassifier())])
    space = [{"clf": [DummyClassifier()]},
             {"clf": [LogisticRegression(max_iter=50)], "clf__C": log_uniform(1e-2, 1e2)}]
    search = TPESearchCV(pipe, space, n_iter=12, batch_size=4, n_startup=4, cv=2,
                         random_state=0).fit(X, y)
    r = search.cv_results_
    is_lr = ["clf__C" in p for p in r["params"]]
    assert len(is_lr) == 12 and is_lr.count(False) <= 1
    assert all(set(p) == ({"clf", "clf__C"} if lr else {"clf"}) for p, lr in zip(r["params"], is_lr))
    assert isinstance(search.best_params_["clf"], LogisticRegression)
    assert isinstance(search.best_estimator_.named_steps["clf"], LogisticRegression)


def test_a_conditional_keras_space_in_tpe(tiny):
    X, y = tiny
    space = [{"optimizer": ["sgd"], "learning_rate": log_uniform(1e-2, 1.0)},
             {"optimizer": ["adam"], "learning_rate": log_uniform(1e-3, 1e-1),
              "hidden_units": [3, 6]}]
    clf = KerasMLPClassifier(hidden_units=4, epochs=2, batch_size=30, random_state=0)
    search = TPESearchCV(clf, space, n_iter=4, batch_size=2, n_startup=2, cv=2,
                         random_state=0).fit(X, y)
    r = search.cv_results_
    for p in r["params"]:
        if p["optimizer"] == "sgd":
            assert set(p) == {"optimizer", "learning_rate"} and 1e-2 <= p["learning_rate"]
        else:
            assert set(p) == {"optimizer", "learning_rate", "hidden_units"}
            assert p["learning_rate"] <= 1e-1
    assert np.isfinite(np.asarray(r["mean_test_score"], float)).all()
