"""The asynchronous loop: keep every worker busy with (candidate, fold) fits, decide as rows end.

A *policy* (ASHA's rungs, asynchronous TPE) decides what to evaluate; this
module runs it. Whenever a worker is free, the next fold fit of a row already
decided is submitted, or the policy is asked for a new row (a candidate at a
budget) whose fold fits then queue up. When the last fold of a row ends, the
policy is told the row's score and may start or promote candidates. The loop
ends when the policy has nothing to start and no fit is running.

The sequence of decisions (a row started, a row told) is the whole history of
the search: :class:`DecisionLog` writes it to a file as it happens, and a
resumed search replays it, so that fits loaded from the fit cache (which all
end at once) are told in the order the first run saw. Decisions then repeat
exactly, and only what the first run had not finished is trained.

A policy has three methods: ``next_row()`` returns ``(params, more)`` (the
candidate's parameters and its extra ``cv_results_`` columns) or None;
``tell(row)`` hears a finished :class:`Row`; ``rows_started`` counts rows.
"""

import collections
import time

import numpy as np

from skkeras_search.search._decision_log import row_key

__all__ = ["Row", "run"]


class Row:
    """One candidate at one budget: its fold fits and, once they end, its score.

    Attributes
    ----------
    index : int
        Start order (0-based).
    params : dict
        The estimator parameters of this row (the budget included).
    more : dict
        Extra ``cv_results_`` columns of this row (one value each).
    outs : list of dict or None
        ``_fit_and_score``'s result per fold, None while running.
    score : float
        Mean objective over the folds (NaN if a fold failed), once finished.
    finish_order : int or None
    finish_time : float or None
        Seconds since the search started.
    """

    def __init__(self, index, params, more, n_splits):
        self.index, self.params, self.more = index, params, dict(more)
        self.outs = [None] * n_splits
        self.score = np.nan
        self.finish_order = self.finish_time = None

    @property
    def finished(self):
        return all(out is not None for out in self.outs)


def objective(outs, refit):
    """Mean test score of a row's folds for the metric optimised (NaN if any failed).

    ``refit`` is the search's: a metric's name, or anything else for a single
    score. A scorer that returns a dict (a callable ``scoring``) is only known
    to do so now, after the row's fits.

    Raises
    ------
    ValueError
        If the scores are a dict and ``refit`` does not name one of its metrics.
    """
    key = refit if isinstance(refit, str) else "score"
    values = []
    for out in outs:
        score = out["test_scores"]
        if isinstance(score, dict):
            if key not in score:
                names = sorted(score)
                raise ValueError(
                    f"refit={refit!r} does not name one of the scorers {names} (the callable "
                    "scoring returns a dict), so the search does not know which score to "
                    f"optimise. Set refit to one of {names}."
                )
            score = score[key]
        values.append(float(score))
    return float(np.mean(values))


class _Loop:
    def __init__(self, policy, executor, submit_fold, n_splits, refit, log,
                 clock=time.perf_counter):
        self.policy, self.executor, self.n_splits, self.refit = policy, executor, n_splits, refit
        self.submit_fold, self.log, self.clock = submit_fold, log, clock
        self.rows, self.finished = [], []  # start order; finish (tell) order
        self.queue = collections.deque()  # (row, fold) decided, not submitted yet
        self.untold = collections.deque()  # finished rows the policy has not heard
        self.start = clock()

    # -- rows
    def start_row(self, job):
        params, more = job
        row = Row(len(self.rows), params, more, self.n_splits)
        self.rows.append(row)
        self.queue.extend((row, fold) for fold in range(self.n_splits))
        return row

    def tell(self, row):
        self.untold.remove(row)
        row.finish_order = len(self.finished)
        self.finished.append(row)
        self.policy.tell(row)

    # -- workers
    def fill(self, ask):
        """Submit queued fold fits while workers are free; ask the policy for rows if ``ask``."""
        while self.executor.running() < self.executor.n_workers:
            if not self.queue:
                job = self.policy.next_row() if ask else None
                if job is None:
                    return
                row = self.start_row(job)
                self.log.started(row)
            row, fold = self.queue.popleft()
            self.submit_fold(self.executor, row, fold)

    def wait_one(self):
        """Wait for one fold fit; a row whose last fold ended joins ``untold``."""
        (index, fold), out = self.executor.wait_any()
        row = self.rows[index]
        row.outs[fold] = out
        if row.finished:
            row.score = objective(row.outs, self.refit)
            row.finish_time = self.clock() - self.start
            self.untold.append(row)

    # -- the two modes
    def replay(self, events):
        """Repeat a recorded history; where the policy decides otherwise, cut it there.

        Returns the number of events repeated.
        """
        for n, event in enumerate(events):
            if event["event"] == "start":
                job = self.policy.next_row()
                if job is None or row_key(job[0]) != event["key"]:
                    self.log.diverged(n)
                    if job is not None:  # the policy has decided: keep its decision
                        self.log.started(self.start_row(job))
                    return n
                self.start_row(job)
            else:
                index = event["row"]
                if index >= len(self.rows) or self.rows[index] not in self.untold and \
                        self.rows[index].finish_order is not None:
                    self.log.diverged(n)
                    return n
                row = self.rows[index]
                while not row.finished:
                    self.fill(ask=False)
                    self.wait_one()
                self.tell(row)
        return len(events)

    def live(self):
        while True:
            while self.untold:
                row = self.untold[0]
                self.tell(row)
                self.log.told(row)
            self.fill(ask=True)
            if not self.executor.running() and not self.queue:
                return
            self.wait_one()


def run(policy, executor, submit_fold, n_splits, refit, log, clock=time.perf_counter):
    """Run ``policy`` on ``executor`` until it has nothing left; the rows in finish order.

    Parameters
    ----------
    policy : object
        ``next_row()`` and ``tell(row)``, see the module's text.
    executor : Inline, Futures or Dask
    submit_fold : callable
        ``submit_fold(executor, row, fold)`` submits one fold fit under the
        key ``(row.index, fold)``.
    n_splits : int
    refit : bool, str or callable
        The search's ``refit``: it names the metric optimised when the scores
        are dicts (several metrics).
    log : DecisionLog
        Replayed first, then written as decisions are made.
    clock : callable, default=time.perf_counter
        Seconds (float) for ``finish_time``; the scaling simulator passes its
        virtual clock.

    Returns
    -------
    rows : list of Row
        In the order the policy heard them (``finish_order``).
    """
    loop = _Loop(policy, executor, submit_fold, n_splits, refit, log, clock)
    try:
        loop.replay(log.events)
        loop.live()
    finally:
        executor.close()
    return loop.finished
