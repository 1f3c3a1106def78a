"""Do low budgets rank candidates as the full budget does? Spearman's rho per budget step.

Multi-fidelity searches (successive halving, Hyperband, BOHB, ASHA) promote
the candidates that score best after few epochs, which pays only when those
ranks hold at more epochs. For each pair of consecutive budgets this
compares the ranks of the candidates scored at both (Spearman 1904, by
``scipy.stats.spearmanr``): rho near 1 means cheap rounds picked well, near
0 or below means the early rounds discarded on noise.
"""

import numpy as np
from scipy import stats

from skkeras_search.analysis import _rows

__all__ = ["budget_rank_correlation", "METHOD", "MIN_CANDIDATES"]

METHOD = "Spearman rank correlation"
MIN_CANDIDATES = 3  # fewer than 3 pairs have no rank correlation worth reading


def _pairs(keys, budgets, scores):
    """``[{"from", "to", "rho", "n"}, ...]`` for consecutive budgets among these rows."""
    at = {}
    for key, b, s in zip(keys, budgets, scores):
        if np.isfinite(s):
            at.setdefault(b, {}).setdefault(key, s)  # first row of a candidate at a budget
    levels = sorted(at)
    out = []
    for low, high in zip(levels, levels[1:]):
        common = [k for k in at[low] if k in at[high]]
        x = np.asarray([at[low][k] for k in common])
        y = np.asarray([at[high][k] for k in common])
        rho = None
        if len(common) >= MIN_CANDIDATES and np.ptp(x) > 0 and np.ptp(y) > 0:
            rho = float(stats.spearmanr(x, y).statistic)
        out.append({"from": _rows.number(low), "to": _rows.number(high), "rho": rho,
                    "n": len(common)})
    return out


def budget_rank_correlation(results, metric=None):
    """Spearman's rho between the scores at consecutive budgets, overall and per bracket.

    A candidate is its parameters without the budget parameter, within its
    Hyperband/BOHB ``bracket`` (each bracket draws its own), or ASHA's
    ``candidate`` number. Rows with a non-finite score are left out.

    Parameters
    ----------
    results : fitted BaseSearchCV or dict
        A fitted search or its ``cv_results_``.
    metric : str, optional
        Which score; None is ``"score"`` or the refit name.

    Returns
    -------
    correlation : dict or None
        None for a single-fidelity search (no ``n_resources``, or one budget).
        Else ``{"method": "Spearman rank correlation", "overall": [{"from":
        b_low, "to": b_high, "rho": float or None, "n": int}, ...],
        "per_bracket": {str(bracket): [...]}}`` for each pair of consecutive
        budgets; ``rho`` is None with fewer than 3 candidates at both budgets
        or constant scores at either; ``per_bracket`` only when the results
        have a ``bracket`` column.
    """
    cv = _rows.cv_results_of(results)
    metric = _rows.resolve_metric(results, metric)
    budgets = _rows.budgets(cv)
    if budgets is None or len(np.unique(budgets)) < 2:
        return None
    keys = _rows.candidate_keys(cv, exclude=_rows.budget_params(cv))
    scores = _rows.mean_scores(cv, metric)
    out = {"method": METHOD, "overall": _pairs(keys, budgets, scores)}
    if "bracket" in cv:
        brackets = np.asarray(cv["bracket"])
        out["per_bracket"] = {}
        for bracket in sorted(set(brackets.tolist())):
            rows = np.flatnonzero(brackets == bracket)
            out["per_bracket"][str(bracket)] = _pairs([keys[i] for i in rows], budgets[rows],
                                                      scores[rows])
    return out
