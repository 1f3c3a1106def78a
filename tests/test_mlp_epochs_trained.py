"""``n_epochs_trained_``: the epochs the last fit or partial_fit call trained, and ``FitMode``."""

import numpy as np
import pytest

from skkeras_search import KerasMLPClassifier, KerasMLPRegressor
from skkeras_search.mlp._base import FitMode


def clf(**params):
    return KerasMLPClassifier(**{"hidden_units": 8, "epochs": 5, "learning_rate": 0.01,
                                 "random_state": 0, "n_iter_no_change": 100, **params})


def test_a_fresh_fit_trains_its_epochs(tiny):
    X, y = tiny
    assert clf().fit(X, y).n_epochs_trained_ == 5


def test_a_fit_the_cache_supplies_trains_none(tiny, tmp_path, trained_epochs):
    X, y = tiny
    first = clf(cache_dir=str(tmp_path)).fit(X, y)
    again = clf(cache_dir=str(tmp_path)).fit(X, y)
    assert (first.n_epochs_trained_, again.n_epochs_trained_) == (5, 0)
    assert trained_epochs == [5]  # the second fit ran no training call
    assert again.n_iter_ == 5


def test_a_continued_cached_fit_trains_the_extra_epochs(tiny, tmp_path, trained_epochs):
    X, y = tiny
    clf(cache_dir=str(tmp_path), epochs=3).fit(X, y)
    longer = clf(cache_dir=str(tmp_path), epochs=8).fit(X, y)
    assert longer.n_epochs_trained_ == 5 and longer.n_iter_ == 8
    assert trained_epochs == [3, 5]


def test_early_stopping_trains_fewer(tiny):
    X, y = tiny
    est = clf(epochs=200, early_stopping=True, n_iter_no_change=2, tol=10.0).fit(X, y)
    assert est.n_epochs_trained_ == est.n_iter_ < 200
    assert est.n_epochs_trained_ == len(est.loss_curve_)


def test_the_training_loss_rule_trains_fewer(tiny):
    X, y = tiny
    est = clf(epochs=200, n_iter_no_change=2, tol=10.0).fit(X, y)
    assert est.n_epochs_trained_ == 3 < 200  # the first epoch improves on inf, two more do not


def test_partial_fit_and_warm_start_count_this_call_only():
    X = np.random.default_rng(0).normal(size=(40, 3))
    y = X @ [1.0, -1.0, 0.5]
    reg = KerasMLPRegressor(hidden_units=8, epochs=4, random_state=0, warm_start=True)
    assert reg.partial_fit(X, y).n_epochs_trained_ == 1
    assert reg.partial_fit(X, y).n_epochs_trained_ == 1 and reg.n_iter_ == 2
    assert reg.fit(X, y).n_epochs_trained_ == 4 and reg.n_iter_ == 6  # warm_start: 4 more


def test_partial_fit_never_uses_the_cache(tiny, tmp_path):
    X, y = tiny
    est = clf(cache_dir=str(tmp_path))
    est.partial_fit(X, y, classes=np.unique(y))
    est.partial_fit(X, y)
    assert est.n_epochs_trained_ == 1 and list(tmp_path.iterdir()) == []


def test_fit_modes_say_what_a_call_trains():
    fit, partial = FitMode.fit(7), FitMode.partial_fit(1)
    assert (fit.epochs, fit.stopping, fit.cached) == (7, True, True)
    assert (partial.epochs, partial.stopping, partial.cached) == (1, False, False)
    with pytest.raises(AttributeError):
        fit.epochs = 3  # frozen


def test_a_first_fit_with_warm_start_is_cached_and_its_continuation_is_not(tiny, tmp_path):
    X, y = tiny
    warm = clf(cache_dir=str(tmp_path), warm_start=True)
    warm.fit(X, y)
    assert warm.fit(X, y).n_epochs_trained_ == 5 and warm.n_iter_ == 10  # continued: trained
    loaded = clf(cache_dir=str(tmp_path)).fit(X, y)
    assert loaded.n_epochs_trained_ == 0
    assert np.array_equal(loaded.predict_proba(X), clf().fit(X, y).predict_proba(X))
