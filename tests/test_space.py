"""skkeras_search.space: bounds, steps, reproducibility, log-uniformity."""

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from sklearn.model_selection import GridSearchCV, ParameterGrid, ParameterSampler

from skkeras_search import paper_grid, paper_space
from skkeras_search.space import IntRange, LogUniform, int_range, log_uniform

seeds = st.integers(0, 2**32 - 1)


@given(st.integers(-1000, 1000), st.integers(0, 1000), st.integers(1, 64), seeds)
def test_int_range_samples_in_range_and_on_step(low, width, step, seed):
    dist = int_range(low, low + width, step)
    draws = dist.rvs(size=200, random_state=seed)
    assert draws.min() >= low and draws.max() <= low + width
    assert np.all((draws - low) % step == 0)
    assert isinstance(dist.rvs(random_state=seed), int)


@given(st.floats(1e-8, 1e3), st.floats(1.001, 1e6), seeds)
def test_log_uniform_samples_in_range(low, ratio, seed):
    dist = log_uniform(low, low * ratio)
    draws = dist.rvs(size=200, random_state=seed)
    assert np.all((draws >= dist.low) & (draws <= dist.high))
    assert isinstance(dist.rvs(random_state=seed), float)


@given(seeds)
def test_reproducible_for_a_seed_and_generator_kinds(seed):
    for dist in paper_space().values():
        a = dist.rvs(size=20, random_state=seed)
        b = dist.rvs(size=20, random_state=np.random.RandomState(seed))
        assert np.array_equal(a, b)
        c = dist.rvs(size=20, random_state=np.random.default_rng(seed))
        d = dist.rvs(size=20, random_state=np.random.default_rng(seed))
        assert np.array_equal(c, d)


def test_draws_only_from_the_given_generator():
    np.random.seed(0)
    before = np.random.get_state()[1].copy()
    paper_space()["learning_rate"].rvs(size=5, random_state=1)
    paper_space()["hidden_units"].rvs(size=5, random_state=1)
    assert np.array_equal(np.random.get_state()[1], before)


def test_log_uniformity_ks():
    dist = log_uniform(1e-5, 1.0)
    logs = np.log10(dist.rvs(size=5000, random_state=0))
    assert stats.kstest(logs, stats.uniform(loc=-5, scale=5).cdf).pvalue > 0.01
    # and it is not uniform on the raw scale
    raw = dist.rvs(size=5000, random_state=0)
    assert stats.kstest(raw, stats.uniform(loc=1e-5, scale=1).cdf).pvalue < 1e-6


def test_int_range_uniform_over_grid_and_high_inclusive():
    dist = int_range(16, 496, 32)
    assert list(dist.values) == list(range(16, 497, 32))
    draws = dist.rvs(size=16000, random_state=0)
    counts = np.array([np.sum(draws == v) for v in dist.values])
    assert stats.chisquare(counts).pvalue > 0.01
    assert int_range(0, 10, 4).values.tolist() == [0, 4, 8]  # 10 is off the grid


def test_reprs():
    assert repr(paper_space()) == (
        "{'hidden_units': IntRange(16, 496, step=32), 'learning_rate': LogUniform(1e-05, 1.0)}"
    )
    assert repr(int_range(1, 3)) == "IntRange(1, 3)"


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: log_uniform(1.0, 1e-5), "low=1.0 must be smaller than high=1e-05"),
        (lambda: log_uniform(0, 1), "low=0 is not positive"),
        (lambda: log_uniform(-1.0, 1), "low=-1.0 is not positive"),
        (lambda: int_range(0, 10, 0), "step=0 must be at least 1"),
        (lambda: int_range(10, 0), "low=10 is greater than high=0: the range is empty"),
        (lambda: paper_grid(1), "n_learning_rates=1"),
    ],
)
def test_bad_bounds_fail_at_construction(make, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make()


def test_types_checked():
    with pytest.raises(TypeError, match="step=1.5 is not an integer"):
        IntRange(0, 10, 1.5)
    with pytest.raises(TypeError, match="high='1' is not a finite real number"):
        LogUniform(1e-3, "1")


def test_parameter_sampler_and_grid():
    samples = list(ParameterSampler(paper_space(), n_iter=50, random_state=0))
    assert len(samples) == 50
    assert all(16 <= s["hidden_units"] <= 496 and (s["hidden_units"] - 16) % 32 == 0 for s in samples)
    assert samples == list(ParameterSampler(paper_space(), n_iter=50, random_state=0))
    grid = paper_grid()
    assert len(ParameterGrid(grid)) == 16 * 6
    assert grid["learning_rate"][0] == pytest.approx(1e-5) and grid["learning_rate"][-1] == 1.0
    GridSearchCV(estimator=None, param_grid=grid)  # accepted as a grid


def test_space_from_dict_names_the_owner_of_the_parameters():
    from skkeras_search.space import space_from_dict

    with pytest.raises(ValueError, match=re.escape("'hiden_units' is not a parameter of KerasMLPRegressor. "
                                                   "Did you mean 'hidden_units'?")):
        space_from_dict({"hiden_units": [8]}, valid_names={"hidden_units", "loss"},
                        owner="KerasMLPRegressor")
    assert space_from_dict({"loss": ["huber"]}, valid_names={"loss"}) == {"loss": ["huber"]}


# ------------------------------------------------------------------ tabular_space
def test_tabular_space_branches_hold_only_their_parameters():
    from skkeras_search.space import NUMERIC_SCALING, distribution_bounds, tabular_space

    space = tabular_space()
    base = {"n_layers", "hidden_units", "learning_rate", "batch_size", "alpha", NUMERIC_SCALING}
    assert [set(branch) - base for branch in space] == [
        set(), {"dropout"}, {"optimizer", "weight_decay"}, {"dropout", "optimizer", "weight_decay"}]
    assert all(base <= set(branch) for branch in space)
    first = space[0]
    assert first["n_layers"] == int_range(1, 4) and first["hidden_units"] == int_range(64, 512, 64)
    assert first["learning_rate"] == log_uniform(3e-4, 1e-2)
    assert first["batch_size"] == [32, 64, 128, 256, 512]
    assert first["alpha"] == [0.0]  # TabM: no L2 penalty, dropout and weight decay only
    assert first[NUMERIC_SCALING] == ["standard", "quantile", "robust"]
    assert distribution_bounds(space[1]["dropout"]) == {
        "kind": "float", "low": 0.0, "high": 0.5, "step": None, "log": False}
    assert space[2]["optimizer"] == ["adamw"]
    assert space[2]["weight_decay"] == log_uniform(1e-4, 0.1)
    # the shared parameters are the same in every branch (one Optuna parameter each)
    for name in base:
        assert all(repr(branch[name]) == repr(first[name]) for branch in space)


def test_tabular_space_without_numeric_scaling_and_fresh_each_call():
    from skkeras_search.space import NUMERIC_SCALING, tabular_space

    assert all(NUMERIC_SCALING not in branch for branch in tabular_space(numeric_scaling=False))
    a, b = tabular_space(), tabular_space()
    a[0]["batch_size"].append(1024)
    assert b[0]["batch_size"] == [32, 64, 128, 256, 512]  # no shared mutable state between calls
    with pytest.raises(TypeError, match=re.escape("numeric_scaling='yes' is not a bool")):
        tabular_space(numeric_scaling="yes")


def test_tabular_space_samples_one_branch_per_candidate():
    from skkeras_search.space import tabular_space

    space = tabular_space()
    names = [set(branch) for branch in space]
    samples = list(ParameterSampler(space, n_iter=200, random_state=0))
    assert all(set(s) in names for s in samples)
    assert {frozenset(s) for s in samples} == {frozenset(n) for n in names}  # all four drawn
    assert all(0 <= s.get("dropout", 0) <= 0.5 and 3e-4 <= s["learning_rate"] <= 1e-2
               and 1e-4 <= s.get("weight_decay", 1e-4) <= 0.1 for s in samples)


def test_tabular_training_is_the_presets_recipe_for_each_estimator():
    from skkeras_search import KerasMLPClassifier, KerasMLPRegressor
    from skkeras_search.space import TABULAR_TRAINING, tabular_space, tabular_training

    for cls in (KerasMLPClassifier, KerasMLPRegressor):
        recipe = tabular_training(cls)
        preset = cls.tabular_defaults().get_params()
        # the preset's recipe; a classifier's search stops early, the preset does not
        stopping = {"early_stopping": True} if cls is KerasMLPClassifier else {}
        assert recipe == {**{k: preset[k] for k in TABULAR_TRAINING if k in preset}, **stopping}
        assert preset["early_stopping"] is False
        assert recipe["learning_rate_schedule"] == "cosine" != cls().learning_rate_schedule
        assert tabular_training(cls()) == recipe  # an instance is read the same way
        cls(**recipe)  # legal on the estimator
        # fixed, not searched: no branch of the space holds them
        assert not set(recipe) & {k for branch in tabular_space() for k in branch}
    assert tabular_training(KerasMLPClassifier)["label_smoothing"] == 0.1
    assert "label_smoothing" not in tabular_training(KerasMLPRegressor)
    with pytest.raises(TypeError, match=re.escape("estimator='mlp' has no tabular_defaults()")):
        tabular_training("mlp")
