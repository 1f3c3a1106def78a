"""skkeras_search.analysis plots: real PNG files, log axes where the space is log."""

import os

import matplotlib.image
import matplotlib.pyplot as plt
import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

from skkeras_search.analysis import (
    _plots,
    analyse,
    plot_budget_correlation,
    plot_importances,
    plot_marginals,
    plot_pairwise,
    write_analysis_plots,
)
from skkeras_search.search import HyperbandSearchCV
from skkeras_search.space import log_uniform

X = np.arange(40, dtype=float).reshape(20, 2)
Y = np.zeros(20)


class Rate(RegressorMixin, BaseEstimator):
    """Score peaks at ``learning_rate`` = 1e-3 (log scale), a little better for ``act='relu'``."""

    def __init__(self, learning_rate=1e-3, width=8, act="relu", epochs=9):
        self.learning_rate, self.width, self.act, self.epochs = learning_rate, width, act, epochs

    def fit(self, X, y):
        return self

    def predict(self, X):
        return np.zeros(len(X))

    def score(self, X, y):
        peak = -(np.log10(self.learning_rate) + 3.0) ** 2 + 0.1 * (self.act == "relu")
        return peak * (self.epochs / 9) + 0.01 * self.width / 64


SPACE = {"learning_rate": log_uniform(1e-5, 1.0), "width": [8, 16, 32, 64],
         "act": ["relu", "tanh"]}


@pytest.fixture(scope="module")
def search():
    return RandomizedSearchCV(Rate(), SPACE, n_iter=24, cv=2, random_state=0).fit(X, Y)


@pytest.fixture(scope="module")
def hyperband():
    return HyperbandSearchCV(Rate(), SPACE, max_epochs=9, factor=3, resource="epochs", cv=2,
                             random_state=0).fit(X, Y)


@pytest.fixture(scope="module")
def analysis(search):
    return analyse(search)


def _png(path):
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    return image


def test_marginals_use_a_log_axis_where_the_space_is_log(search):
    fig = _plots._figure_marginals(search)
    try:
        axes = {ax.get_xlabel(): ax for ax in fig.axes if ax.get_visible()}
        assert set(axes) == {"learning_rate (log)", "width", "act"}
        assert axes["learning_rate (log)"].get_xscale() == "log"
        assert axes["width"].get_xscale() == "linear"
        assert [t.get_text() for t in axes["act"].get_xticklabels()] == ["'relu'", "'tanh'"]
    finally:
        plt.close(fig)


def test_pairwise_axes_follow_the_space(search):
    fig = _plots._figure_pairwise(search, ["learning_rate", "width"])
    try:
        ax = fig.axes[0]
        assert (ax.get_xscale(), ax.get_yscale()) == ("log", "linear")
    finally:
        plt.close(fig)
    with pytest.raises(ValueError, match="params=\\['learning_rate', 'depth'\\]"):
        _plots._figure_pairwise(search, ["learning_rate", "depth"])


def test_each_plot_writes_a_real_png(search, analysis, hyperband, tmp_path):
    assert plot_importances(analysis["importance"], str(tmp_path / "i.png")) == \
        str(tmp_path / "i.png")
    plot_marginals(search, str(tmp_path / "m.png"))
    plot_pairwise(search, str(tmp_path / "p.png"), ["learning_rate", "act"])
    correlation = analyse(hyperband)["budget_correlation"]
    plot_budget_correlation(correlation, str(tmp_path / "b.png"))
    for name in ("i.png", "m.png", "p.png", "b.png"):
        _png(tmp_path / name)
    assert plt.get_fignums() == []  # every figure closed


def test_importance_figure_shows_both_evaluators_side_by_side(analysis):
    importance = analysis["importance"]
    fig = _plots._figure_importances(importance)
    try:
        assert len(fig.axes) == 2
        assert "Watanabe" in fig.axes[0].get_title() and "Hutter" in fig.axes[1].get_title()
        assert [t.get_text() for t in fig.axes[0].get_yticklabels()][-1] == \
            next(iter(importance["values"]))  # most important on top
    finally:
        plt.close(fig)


def test_write_analysis_plots_writes_all_four_for_a_multi_fidelity_search(hyperband, tmp_path):
    analysis = analyse(hyperband)
    names = write_analysis_plots(str(tmp_path), hyperband, analysis)
    assert names == ["importance.png", "marginals.png", "pairwise.png", "budget_correlation.png"]
    assert sorted(os.listdir(tmp_path)) == sorted(names)
    for name in names:
        _png(tmp_path / name)


def test_write_analysis_plots_skips_what_a_degenerate_search_lacks(tmp_path):
    single = GridSearchCV(Rate(), {"learning_rate": [1e-3]}, cv=2).fit(X, Y)
    analysis = analyse(single)
    assert "error" in analysis["importance"]
    assert write_analysis_plots(str(tmp_path), single, analysis) == []
    assert os.listdir(tmp_path) == []
