"""Everything the wing says about one search, as one JSON-ready dict."""

from skkeras_search.analysis import _rows
from skkeras_search.analysis._budget import budget_rank_correlation
from skkeras_search.analysis._importance import param_importances
from skkeras_search.analysis._ties import tied_with_best

__all__ = ["analyse"]


def _or_error(fn, *args, **kwargs):
    """``fn(...)``, or ``{"error": reason}`` when the search is too small for it."""
    try:
        return fn(*args, **kwargs)
    except ValueError as exc:
        return {"error": str(exc)}


def analyse(results, param_distributions=None, *, metric=None, alpha=0.05, random_state=0):
    """What a finished search learned: importances, ties with the best, budget ranks.

    Parameters
    ----------
    results : fitted BaseSearchCV or dict
        A fitted scikit-learn search or its ``cv_results_``.
    param_distributions : dict or list of dict, optional
        The searched space; defaults to the search's own.
    metric : str, optional
        Which score; None is ``"score"`` or the refit name.
    alpha : float, default=0.05
        Significance level of the ties.
    random_state : int or None, default=0
        Seed of fANOVA's random forest.

    Returns
    -------
    analysis : dict
        JSON-ready::

            {"importance": {"method": <PED-ANOVA>, "values": {param: share}, "n_rows": n,
                            "fanova": {"method": <fANOVA>, "values": {...}, "n_rows": n}},
             "ties": <tied_with_best(...)>,
             "budget_correlation": <budget_rank_correlation(...)> or None}

        A part the search is too small or too degenerate for (one candidate,
        one fold, constant scores) is ``{"error": reason}`` instead; fANOVA's
        part alone can be one too.

    Raises
    ------
    ValueError
        Only for arguments: results that are no search, an unknown ``metric``.
    """
    metric = _rows.resolve_metric(results, metric)
    importance = _or_error(param_importances, results, param_distributions,
                           evaluator="ped-anova", metric=metric, random_state=random_state)
    if "error" not in importance:
        importance["fanova"] = _or_error(param_importances, results, param_distributions,
                                         evaluator="fanova", metric=metric,
                                         random_state=random_state)
    return {
        "importance": importance,
        "ties": _or_error(tied_with_best, results, alpha=alpha, metric=metric),
        "budget_correlation": budget_rank_correlation(results, metric=metric),
    }
