"""A search made of many small ``evaluate_candidates`` calls (rounds, batches).

scikit-learn's ``BaseSearchCV`` hands ``_run_search`` one function,
``evaluate_candidates``, that cross-validates a list of candidates and appends
their rows to ``cv_results_``. Hyperband calls it once per round and TPE once
per batch, and one call can easily hold a single candidate that diverges. For a
call in which every fit failed scikit-learn raises "All the N fits failed"
(whatever ``error_score`` is) and stores no rows, so the search would die and
the failed candidate would vanish from ``cv_results_``.

:class:`Rounds` turns such a call into failed trials (NaN scores) and evaluates
its candidates again at the front of the next call, with their own
``more_results`` (bracket, round, epochs trained), so their rows land in
``cv_results_`` exactly where they belong. With the estimator's fit cache the
next evaluation is free (a cached failure fails again at once); without one
(``cache_dir=None``, or ``random_state=None``, which turns it off) the failing
fits run again in each following call until one succeeds, which is cheap when
a network diverges in its first epochs. Only a search whose last calls fail
entirely still misses those rows, and it says so.

A failed call's candidates get ``error_score`` as their score (NaN by
default), as they would in a call where only some fits failed.
"""

import warnings

import numpy as np

from skkeras_search.exceptions import SearchWarning

__all__ = ["Rounds", "SearchWarning", "objective_key"]


def objective_key(refit, results, owner):
    """The ``cv_results_`` column the search maximises.

    Raises
    ------
    ValueError
        With several metrics, when ``refit`` does not name one of them.
    """
    if "mean_test_score" in results:
        return "mean_test_score"
    if isinstance(refit, str) and f"mean_test_{refit}" in results:
        return f"mean_test_{refit}"
    names = sorted(k[len("mean_test_"):] for k in results if k.startswith("mean_test_"))
    raise _no_objective(refit, names, owner)


def _check_objective(search):
    """Refuse, before any fit, several metrics without ``refit=name`` (nothing to optimise)."""
    scoring = search.scoring
    if isinstance(scoring, (list, tuple, set, dict)) and not isinstance(search.refit, str):
        raise _no_objective(search.refit, sorted(scoring), type(search).__name__)


def _no_objective(refit, names, owner):
    return ValueError(
        f"refit={refit!r} does not name one of the scorers {names}, so {owner} does not know "
        f"which score to optimise. Set refit to one of {names}."
    )


class Rounds:
    """Calls ``evaluate_candidates`` one round at a time and scores each round.

    Parameters
    ----------
    evaluate_candidates : callable
        The function scikit-learn passes to ``_run_search``.
    search : BaseSearchCV
        The search (for ``error_score``, ``refit`` and ``n_splits_``).
    callback_ctx : sklearn.callback.CallbackContext or None, default=None
        scikit-learn >= 1.9's callback context of the search task. When given,
        the search is a task whose subtasks are the calls (one per round or
        batch, each holding its candidate-fold fits), so callbacks such as
        ``sklearn.callback.ProgressBar`` follow it.

    Attributes
    ----------
    results : dict or None
        ``cv_results_`` so far (None until a call stored rows).
    objective : str or None
        The column that is maximised (``mean_test_score`` or ``mean_test_<refit>``).
    """

    def __init__(self, evaluate_candidates, search, callback_ctx=None):
        _check_objective(search)
        self._evaluate = evaluate_candidates
        self._search = search
        self._ctx = None
        if callback_ctx is not None:
            self._ctx = callback_ctx.subcontext(
                task_name="search", max_subtasks=None, sequential_subtasks=True,
            ).call_on_fit_task_begin(estimator=search)
        self._pending = []  # calls whose fits all failed: (candidates, more_results, where)
        self._failure = None
        self.results = None
        self.objective = None

    def __call__(self, candidates, more_results, where):
        """Evaluate ``candidates``; return their objective scores (NaN: failed).

        Parameters
        ----------
        candidates : list of dict
        more_results : dict of str to list
            Extra ``cv_results_`` columns, one value per candidate.
        where : str
            The round, for messages ("bracket 2, round 0").

        Returns
        -------
        scores : ndarray of shape (len(candidates),)
        """
        n = len(candidates)
        calls = self._pending + [(list(candidates), more_results, where)]
        merged = [c for call in calls for c in call[0]]
        more = {k: [v for call in calls for v in call[1][k]] for k in more_results}
        try:
            results = self._call(merged, more, where)
        except ValueError as exc:
            if isinstance(self._search.error_score, str) or "fits failed" not in str(exc):
                raise
            self._failure = exc
            self._pending.append(calls[-1])
            return np.full(n, float(self._search.error_score))
        self._pending = []
        self.results = results
        owner = type(self._search).__name__
        self.objective = self.objective or objective_key(self._search.refit, results, owner)
        return np.asarray(results[self.objective][-n:], dtype=float)

    def _call(self, candidates, more_results, where):
        if self._ctx is None:  # scikit-learn < 1.9, or no callbacks
            return self._evaluate(candidates, more_results=more_results)
        ctx = self._ctx.subcontext(
            task_name=where, max_subtasks=len(candidates) * self._search.n_splits_,
            sequential_subtasks=False,
        ).call_on_fit_task_begin(estimator=self._search)
        try:
            return self._evaluate(candidates, more_results=more_results, callback_ctx=ctx)
        finally:
            ctx.call_on_fit_task_end(estimator=self._search)

    def finish(self):
        """End of the search: raise if nothing succeeded, warn about rows left out.

        Raises
        ------
        ValueError
            scikit-learn's "All the N fits failed" when no call stored rows.
        """
        if self._ctx is not None:
            self._ctx.call_on_fit_task_end(estimator=self._search)
        if self.results is None and self._failure is not None:
            raise self._failure
        if self._pending:
            lost = sum(len(call[0]) for call in self._pending)
            where = " / ".join(call[2] for call in self._pending)
            warnings.warn(
                f"Every fit of the search's last call(s) ({where}; {lost} candidates) failed. "
                "scikit-learn keeps no cv_results_ rows for such a call, so these failed "
                "trials are missing from cv_results_. Use error_score='raise' to see why "
                "they fail.",
                SearchWarning, stacklevel=3,
            )
