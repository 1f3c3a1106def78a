"""Reading a search's ``cv_results_``: scores, folds, budgets, candidates.

One home for how a fitted scikit-learn search lays out its rows, so every
analysis reads them alike: which column holds the score (``metric``), which
rows ran on the full budget (the largest ``n_resources``, when the search is
multi-fidelity), which parameter is the budget (the one equal to
``n_resources`` in every row), and which rows are the same candidate at
different budgets.
"""

import difflib
from collections.abc import Mapping

import numpy as np

__all__ = ["cv_results_of", "space_of", "resolve_metric", "mean_scores", "fold_scores",
           "budgets", "budget_params", "usable_rows", "candidate_keys", "number"]


def cv_results_of(results):
    """The ``cv_results_`` dict of a fitted search, or ``results`` itself if it is one.

    Raises
    ------
    ValueError
        ``results`` is neither a mapping with ``params`` nor a fitted search.
    """
    cv = getattr(results, "cv_results_", results)
    if not isinstance(cv, Mapping) or "params" not in cv:
        raise ValueError(
            f"results={type(results).__name__} is neither a fitted search nor its cv_results_. "
            "Pass a fitted GridSearchCV, RandomizedSearchCV, HyperbandSearchCV, ... or its "
            "cv_results_ dict.")
    return cv


def space_of(results, param_distributions=None):
    """``param_distributions`` if given, else the search's own space (or None)."""
    if param_distributions is not None:
        return param_distributions
    for name in ("param_distributions", "param_grid"):
        space = getattr(results, name, None)
        if space is not None and not isinstance(results, Mapping):
            return space
    return None


def _metrics(cv):
    return sorted(k[len("mean_test_"):] for k in cv if k.startswith("mean_test_"))


def resolve_metric(results, metric=None):
    """The suffix of the score columns to read: ``"score"``, or a metric's name.

    ``metric=None`` means ``"score"`` for a single-metric search and the refit
    name of a multi-metric search given as an object.

    Raises
    ------
    ValueError
        The named metric has no ``mean_test_<metric>`` column, or
        ``metric=None`` for multi-metric results with no refit name to use.
    """
    cv = cv_results_of(results)
    found = _metrics(cv)
    if metric is None:
        if "score" in found:
            return "score"
        refit = getattr(results, "refit", None)
        if isinstance(refit, str) and refit in found:
            return refit
        raise ValueError(
            f"metric=None finds no mean_test_score: the results were scored with several "
            f"metrics {found}. Pass metric= one of them (the refit name, usually).")
    if metric not in found:
        close = difflib.get_close_matches(str(metric), found, n=1)
        hint = f"Did you mean {close[0]!r}?" if close else f"Use one of {found}."
        raise ValueError(f"metric={metric!r} has no mean_test_{metric} column. {hint}")
    return metric


def mean_scores(cv, metric):
    """Mean CV score per row, as floats (NaN for failed fits); shape (n_rows,)."""
    return np.asarray(cv[f"mean_test_{metric}"], dtype=float)


def fold_scores(cv, metric):
    """Per-fold test scores, shape (n_rows, n_folds), from ``split{i}_test_<metric>``."""
    columns = []
    while f"split{len(columns)}_test_{metric}" in cv:
        columns.append(np.asarray(cv[f"split{len(columns)}_test_{metric}"], dtype=float))
    n = len(cv["params"])
    return np.column_stack(columns) if columns else np.empty((n, 0))


def budgets(cv):
    """Each row's budget (``n_resources``) as floats, or None for a single-fidelity search."""
    if "n_resources" not in cv:
        return None
    return np.asarray(cv["n_resources"], dtype=float)


def budget_params(cv):
    """Names of the parameters whose value equals ``n_resources`` in every row.

    These are the budget (``epochs``, ``classifier__epochs``), set by the
    search, not searched: analyses leave them out.
    """
    b = budgets(cv)
    if b is None or not len(cv["params"]):
        return set()
    names = set(cv["params"][0])
    for params, budget in zip(cv["params"], b):
        names = {k for k in names if k in params and _equals(params[k], budget)}
    return names


def _equals(value, budget):
    try:
        return float(value) == budget
    except (TypeError, ValueError):
        return False


def usable_rows(cv, metric):
    """Indices of the full-budget rows (largest ``n_resources``) with finite mean scores."""
    score = mean_scores(cv, metric)
    ok = np.isfinite(score)
    b = budgets(cv)
    if b is not None and len(b):
        ok &= b == np.max(b)
    return np.flatnonzero(ok)


def candidate_keys(cv, exclude=()):
    """One hashable key per row naming its candidate across budgets.

    ASHA's ``candidate`` column when present; else the parameters without the
    budget, inside their ``bracket`` for Hyperband (each bracket samples its own).
    """
    if "candidate" in cv:
        return [("candidate", int(c)) for c in cv["candidate"]]
    brackets = cv["bracket"] if "bracket" in cv else [None] * len(cv["params"])
    return [(bracket, repr(sorted((k, v) for k, v in params.items() if k not in exclude)))
            for bracket, params in zip(brackets, cv["params"])]


def number(value):
    """A JSON number: int when integral, else float; None for NaN or None."""
    if value is None:
        return None
    value = float(value)
    if not np.isfinite(value):
        return None
    return int(value) if value.is_integer() else value
