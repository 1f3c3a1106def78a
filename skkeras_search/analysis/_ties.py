"""Which candidates the folds cannot tell from the best: the corrected resampled t-test.

Cross-validation folds share most of their training rows, so per-fold
score differences are correlated and the plain paired t-test is too ready
to call a difference real. Nadeau and Bengio (2003), "Inference for the
Generalization Error", Machine Learning 52(3), 239-281, correct its variance
by the test-to-train size ratio; Bouckaert and Frank (2004), "Evaluating the
Replicability of Significance Tests for Comparing Learning Algorithms",
PAKDD, apply it to k-fold cross-validation, where that ratio is 1/(k-1).
"""

import numpy as np
from scipy import stats

from skkeras_search.analysis import _rows

__all__ = ["tied_with_best", "corrected_t_test", "METHOD"]

METHOD = "corrected resampled t-test (Nadeau and Bengio 2003)"


def corrected_t_test(best, other, test_train_ratio=None):
    """Two-sided p-value that ``best`` and ``other`` score alike over the same folds.

    With ``d_j = best_j - other_j`` over J folds,
    ``t = mean(d) / sqrt((1/J + test_train_ratio) * var(d, ddof=1))``,
    Student's t with J - 1 degrees of freedom (Nadeau and Bengio 2003).

    Parameters
    ----------
    best, other : array-like of shape (n_folds,)
        Per-fold test scores of the two candidates, fold by fold.
    test_train_ratio : float, optional
        Test rows over training rows of a fold; None is 1/(J-1), k-fold's.

    Returns
    -------
    t : float or None
        The statistic (None when every difference is 0, inf when they are
        all equal but not 0).
    p_value : float
        1.0 when every difference is 0; 0.0 when all are equal and not 0
        (equal up to 1e-12 of the scores, so that rounding does not decide).
    """
    best, other = np.asarray(best, dtype=float), np.asarray(other, dtype=float)
    d = best - other
    j = d.size
    ratio = 1.0 / (j - 1) if test_train_ratio is None else float(test_train_ratio)
    mean, var = float(d.mean()), float(d.var(ddof=1))
    # differences equal up to rounding (1e-12 of the scores) count as equal
    tol = 1e-12 * max(float(np.max(np.abs(best))), float(np.max(np.abs(other))), 1.0)
    if np.ptp(d) <= tol:
        return (None, 1.0) if abs(mean) <= tol else (float(np.sign(mean) * np.inf), 0.0)
    t = mean / np.sqrt((1.0 / j + ratio) * var)
    return float(t), float(min(1.0, 2.0 * stats.t.sf(abs(t), df=j - 1)))


def tied_with_best(results, *, alpha=0.05, test_train_ratio=None, metric=None):
    """The full-budget candidates not significantly worse than the best one.

    Each full-budget row with finite scores on every fold is compared with
    the best such row (highest mean) by the corrected resampled t-test of
    Nadeau and Bengio (2003), as Bouckaert and Frank (2004) use it for
    k-fold cross-validation. A row is tied when its p-value exceeds ``alpha``.

    Parameters
    ----------
    results : fitted BaseSearchCV or dict
        A fitted search or its ``cv_results_`` with ``split{i}_test_<metric>``.
    alpha : float, default=0.05
        Significance level, in (0, 1).
    test_train_ratio : float, optional
        Test rows over training rows of one fold. None means 1/(J-1) for J
        folds, right for k-fold (``cv=k``); pass ``test_size / train_size``
        for shuffle splits.
    metric : str, optional
        Which score; None is ``"score"`` or the refit name.

    Returns
    -------
    ties : dict
        ``{"method", "alpha", "best_index", "n_folds", "test_train_ratio",
        "rows": [{"index", "mean", "t", "p_value", "tied"}, ...]}``, rows
        sorted by mean descending; the best is tied with itself (p = 1).

    Raises
    ------
    ValueError
        Fewer than 3 folds, no usable row, or ``alpha`` outside (0, 1).
    """
    if not 0.0 < float(alpha) < 1.0:
        raise ValueError(f"alpha={alpha!r} is not a significance level. Use 0 < alpha < 1.")
    cv = _rows.cv_results_of(results)
    metric = _rows.resolve_metric(results, metric)
    folds = _rows.fold_scores(cv, metric)
    if folds.shape[1] < 3:
        raise ValueError(
            f"results have {folds.shape[1]} fold(s) of split{{i}}_test_{metric}; the t-test "
            "compares candidates fold by fold and needs at least 3 (with 2 it has one degree "
            "of freedom, and its verdict only says whether the two fold differences happen to "
            "be equal). Search with cv>=3.")
    rows = [i for i in _rows.usable_rows(cv, metric) if np.isfinite(folds[i]).all()]
    if not rows:
        raise ValueError(f"results have no full-budget row with finite {metric} on every fold. "
                         "Check error_score and the failed fits.")
    means = _rows.mean_scores(cv, metric)
    rows.sort(key=lambda i: (-means[i], i))
    best = rows[0]
    out = []
    for i in rows:
        t, p = (None, 1.0) if i == best else corrected_t_test(folds[best], folds[i],
                                                              test_train_ratio)
        out.append({"index": int(i), "mean": float(means[i]),
                    "t": None if t is None or not np.isfinite(t) else t,
                    "p_value": p, "tied": bool(p > alpha)})
    ratio = 1.0 / (folds.shape[1] - 1) if test_train_ratio is None else float(test_train_ratio)
    return {"method": METHOD, "alpha": float(alpha), "best_index": int(best),
            "n_folds": int(folds.shape[1]), "test_train_ratio": ratio, "rows": out}
