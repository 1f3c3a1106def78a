"""What each fit of a search trained, as measured by the fit, brought back with its score.

scikit-learn's ``_fit_and_score`` returns scores and times only, and with
``n_jobs`` or Dask the fitted fold estimators live and die in other
processes. The one value that travels back from every fit is its score, so
the search wraps its scorer: the score comes back as a :class:`MeasuredScore`
(a ``float``, equal to the score) that also carries the epochs the fitted
network says this fit trained (``0`` when the fit cache loaded it whole, the
extra epochs when it continued a shorter run, fewer when it stopped early).
``cv_results_`` then reports what was trained, not what a schedule expected.
"""

import inspect
import numbers

import numpy as np
from sklearn.utils.metadata_routing import get_routing_for_object

from skkeras_search._core.validation import _MultimetricScorer, fitted_network

__all__ = ["MeasuredScore", "recording", "original", "epochs_per_row"]


class MeasuredScore(float):
    """A score (a ``float``) with the epochs its fit trained (``epochs_trained``, or None)."""

    def __new__(cls, value, epochs_trained):
        score = super().__new__(cls, value)
        score.epochs_trained = epochs_trained
        return score

    def __reduce__(self):
        return MeasuredScore, (float(self), self.epochs_trained)


def _trained(estimator):
    """Epochs the estimator's last fit trained, if the network reports it (our estimators do)."""
    value = getattr(fitted_network(estimator), "n_epochs_trained_", None)
    return None if value is None else int(value)


def _carry(value, epochs):
    # Only real numbers carry the epochs: anything else (None, a string, a failed
    # scorer's message) goes back untouched, so scikit-learn's own check refuses it.
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return MeasuredScore(value, epochs)
    return value


def _measured(scores, estimator):
    epochs = _trained(estimator)
    if isinstance(scores, dict):
        return {k: _carry(v, epochs) for k, v in scores.items()}
    return _carry(scores, epochs)


class _Recording:
    """A single scorer (or a callable ``scoring``) whose scores carry the epochs trained."""

    def __init__(self, scorer):
        self.scorer = scorer

    def __call__(self, estimator, *args, **kwargs):
        return _measured(self.scorer(estimator, *args, **kwargs), estimator)

    def get_metadata_routing(self):
        return get_routing_for_object(self.scorer)

    def _accept_sample_weight(self):  # scikit-learn asks before routing sample_weight
        if hasattr(self.scorer, "_accept_sample_weight"):
            return self.scorer._accept_sample_weight()
        return "sample_weight" in inspect.signature(self.scorer).parameters

    def __repr__(self):
        return repr(self.scorer)


class _RecordingMultimetric(_MultimetricScorer):
    """scikit-learn's multi-metric scorer (so ``_score`` treats it as one), recording."""

    def __call__(self, estimator, *args, **kwargs):
        return _measured(super().__call__(estimator, *args, **kwargs), estimator)


def recording(scorers):
    """``scorers`` as ``BaseSearchCV._get_scorers`` returns them, wrapped to record epochs."""
    if isinstance(scorers, _MultimetricScorer):
        return _RecordingMultimetric(scorers=scorers._scorers, raise_exc=scorers._raise_exc)
    return _Recording(scorers)


def original(scorer):
    """The scorer :func:`recording` wrapped (for ``scorer_``); anything else unchanged."""
    return scorer.scorer if isinstance(scorer, _Recording) else scorer


def _fit_epochs(test_scores):
    scores = test_scores.values() if isinstance(test_scores, dict) else [test_scores]
    for score in scores:  # any metric that was scored carries them (a failed one does not)
        if isinstance(score, MeasuredScore):
            return score.epochs_trained
    return None


def epochs_per_row(out, n_splits, budgets):
    """Mean epochs trained per fold fit, for each row of ``cv_results_``.

    Parameters
    ----------
    out : list of dict
        ``_fit_and_score``'s results, candidate-major (``n_splits`` per row).
    n_splits : int
    budgets : array-like of shape (n_rows,)
        The rows' budgets: what a fit of an estimator that does not report
        its epochs trains (it has no cache to continue from).

    Returns
    -------
    epochs : ndarray of shape (n_rows,), float
        NaN for a row whose fits all failed (nothing measured).
    """
    rows = []
    for i, budget in enumerate(budgets):
        fits = out[i * n_splits:(i + 1) * n_splits]
        measured = [_fit_epochs(f["test_scores"]) for f in fits if not f.get("fit_error")]
        if not measured:
            rows.append(np.nan)
        elif all(m is None for m in measured):  # not one of ours: trained from scratch
            rows.append(float(budget))
        else:
            rows.append(float(np.mean([m for m in measured if m is not None])))
    return np.asarray(rows, dtype=float)
