"""What every multi-fidelity search shares: a budget parameter, its own fit cache,
epochs measured per row, and ``best_*`` chosen from the full budget.

Used by :class:`~skkeras_search.search.HyperbandSearchCV` (rounds) and
:class:`~skkeras_search.search.ASHASearchCV` (asynchronous rungs).
"""

import contextlib
import difflib
import shutil
import tempfile
import warnings

import numpy as np
from sklearn.base import clone

from skkeras_search._core.fit_cache import cache_blocker
from skkeras_search._core.validation import BaseSearchCV
from skkeras_search.exceptions import SearchWarning
from skkeras_search.search._trained_epochs import epochs_per_row, recording
from skkeras_search.search._trained_epochs import original as original_scorer

__all__ = ["BudgetSearchMixin", "budget_first_ranks"]


def budget_first_ranks(scores, budgets):
    """Ranks of rows by budget first, then score: the successful full-budget rows lead.

    Rank 1 is the best successful row of the largest budget with a success,
    which is the row ``best_*`` describes; rows of a smaller budget rank
    below every row of a larger one. Failed rows (NaN) tie for the last rank,
    as in scikit-learn. Ties share the smallest rank (``method='min'``).

    Parameters
    ----------
    scores : ndarray of shape (n_rows,)
    budgets : ndarray of shape (n_rows,)

    Returns
    -------
    ranks : ndarray of shape (n_rows,), dtype int32
    """
    ok = np.isfinite(scores)
    if not ok.any():
        return np.ones(len(scores), dtype=np.int32)
    ranks = np.full(len(scores), ok.sum() + 1, dtype=np.int32)
    b, v = budgets[ok], scores[ok]
    better = (b[None, :] > b[:, None]) | ((b[None, :] == b[:, None]) & (v[None, :] > v[:, None]))
    ranks[ok] = 1 + better.sum(axis=1)
    return ranks


class BudgetSearchMixin:
    """A search whose estimator parameter ``resource`` is the budget (epochs).

    Needs ``resource``, ``max_epochs``, ``min_epochs`` and
    ``param_distributions``. Put it left of the other bases.
    """

    def fit(self, X, y=None, **params):
        """Run the search with a fit cache of its own when the estimator has none.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,), default=None
            Targets.
        **params : dict
            Passed to the estimator's ``fit`` (and split by the folds), as in
            ``GridSearchCV.fit``.

        Returns
        -------
        self : object
        """
        self._validate_params()
        self._check_settings()
        with self._own_cache() as own:
            super().fit(X, y, **params)
        self.scorer_ = original_scorer(self.scorer_)
        if own and hasattr(self, "best_estimator_"):
            self.best_estimator_.set_params(**{self._prefix() + "cache_dir": None})
        return self

    @contextlib.contextmanager
    def _own_cache(self):
        """While the search runs, an estimator without ``cache_dir`` gets a temporary one.

        Yields True when it did (the folder is removed afterwards).
        """
        key = self._prefix() + "cache_dir"
        estimator_params = self.estimator.get_params()
        if key not in estimator_params or estimator_params[key] is not None:
            yield False
            return
        name = type(self).__name__.lower().replace("searchcv", "")  # skkeras-hyperband-...
        own = tempfile.mkdtemp(prefix=f"skkeras-{name}-")
        original = self.estimator
        self.estimator = clone(original).set_params(**{key: own})  # BaseSearchCV clones it per fit
        try:
            yield True
        finally:
            self.estimator = original
            shutil.rmtree(own, ignore_errors=True)

    def _prefix(self):
        return self.resource.rsplit("__", 1)[0] + "__" if "__" in self.resource else ""

    def _check_settings(self):
        if self.min_epochs > self.max_epochs:
            raise ValueError(f"min_epochs={self.min_epochs!r} exceeds max_epochs="
                             f"{self.max_epochs!r}. Use min_epochs<=max_epochs.")
        names = self.estimator.get_params()
        if self.resource not in names:
            close = difflib.get_close_matches(self.resource, list(names), n=1)
            hint = f"Did you mean {close[0]!r}?" if close else \
                "Name the estimator parameter that sets the number of epochs."
            raise ValueError(f"resource={self.resource!r} is not a parameter of "
                             f"{type(self.estimator).__name__}. {hint}")
        spaces = self.param_distributions
        for space in [spaces] if isinstance(spaces, dict) else spaces:
            if isinstance(space, dict) and self.resource in space:
                raise ValueError(
                    f"resource={self.resource!r} is also in param_distributions; the search sets "
                    "the budget itself. Remove it from param_distributions."
                )
        p = self._prefix()
        step = {k[len(p):]: v for k, v in names.items() if k.startswith(p) and "__" not in k[len(p):]}
        # the search gives the estimator a cache_dir of its own when it has none
        if "cache_dir" in step and cache_blocker({**step, "cache_dir": "own"}) == "random_state":
            warnings.warn(
                f"{p}random_state=None turns the estimator's fit cache off, so promoted candidates "
                f"train from scratch. Set {p}random_state to an int to continue them.",
                UserWarning, stacklevel=3,
            )

    def _get_scorers(self, *args, **kwargs):
        """scikit-learn's scorers, wrapped so that each score brings back the epochs its fit trained."""
        scorers, refit_metric = super()._get_scorers(*args, **kwargs)
        return recording(scorers), refit_metric

    def _format_results(self, candidate_params, n_splits, out, more_results=None):
        """scikit-learn's results, with the epochs each row's fits trained (measured), ranked
        budget first so that rank 1 is ``best_*``."""
        results = super()._format_results(candidate_params, n_splits, out, more_results)
        budgets = np.asarray(results["n_resources"])
        results["n_epochs_trained"] = epochs_per_row(out, n_splits, budgets)
        for key in [k for k in results if k.startswith("rank_test_")]:
            scores = np.asarray(results["mean_test_" + key[len("rank_test_"):]], dtype=float)
            results[key] = budget_first_ranks(scores, budgets)
        return results

    def _select_best_index(self, refit, refit_metric, results):
        """Best row among the successful ones with the largest budget (``max_epochs``).

        That is the row ranked 1 (see :func:`budget_first_ranks`). If no
        candidate succeeded at ``max_epochs``, the best comes from the largest
        budget that has a success, with a warning: the refit then trains that
        budget. Failed rows (NaN) are never chosen while any row succeeded.
        """
        if callable(refit):
            return BaseSearchCV._select_best_index(refit, refit_metric, results)
        budgets = np.asarray(results["n_resources"])
        ok = np.isfinite(np.asarray(results[f"mean_test_{refit_metric}"], dtype=float))
        if not ok.any():  # nothing succeeded: scikit-learn's choice (its refit will say why)
            return BaseSearchCV._select_best_index(refit, refit_metric, results)
        best_budget = budgets[ok].max()
        if best_budget < self.max_epochs:
            warnings.warn(
                f"No candidate succeeded at the full budget (max_epochs={self.max_epochs}); the best "
                f"comes from the {best_budget}-epoch rows (a refit trains {best_budget} "
                "epochs). Use error_score='raise' to see why the full-budget fits fail.",
                SearchWarning, stacklevel=2,
            )
        return int(np.argmin(np.asarray(results[f"rank_test_{refit_metric}"])))
