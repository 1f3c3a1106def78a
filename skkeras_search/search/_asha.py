"""Asynchronous successive halving in promotion mode (Li et al. 2020, Algorithm 2).

The decisions only, with no fits and no clock: :class:`ASHA` is the policy
:func:`~skkeras_search.search._scheduler.run` asks whenever a worker is free,
and the same object drives the scaling simulator. Rung ``k`` trains
``max_epochs // factor**(s_max - k)`` epochs (the budgets of Hyperband's
most exploratory bracket, ending at ``max_epochs``).

``next_row`` promotes the best not-yet-promoted candidate of the highest rung
that has one among its top ``floor(n_k / factor)`` finished rows (``n_k``:
rows finished in rung ``k``; failed rows are never promoted); else it starts a
new candidate on rung 0, until ``n_candidates`` have started. Li et al.'s
ASHA runs without end; a search with a fixed number of candidates ends, and
could end with no full-budget row when few candidates reach the top. So once
nothing can start and nothing runs, the best unpromoted candidate of the
highest rung below the top is promoted, one at a time, until the top rung has
a successful row.
"""

import bisect
import heapq

import numpy as np

from skkeras_search.search._hyperband import max_halvings

__all__ = ["ASHA", "rung_budgets"]


def rung_budgets(max_epochs, factor, min_epochs):
    """Epochs of each rung, smallest first, ending at ``max_epochs``."""
    s_max = max_halvings(max_epochs, min_epochs, factor)
    return tuple(max_epochs // factor ** (s_max - k) for k in range(s_max + 1))


class ASHA:
    """ASHA's decisions for ``n_candidates`` candidates over ``budgets``.

    Parameters
    ----------
    budgets : tuple of int
        Epochs of each rung (see :func:`rung_budgets`).
    factor : int
        Li et al.'s ``eta``.
    n_candidates : int
        Candidates started on rung 0.
    propose : callable
        ``propose(asha)`` returns the next new candidate (a dict of
        parameters) or None when the space has no unseen point left.
    resource : str
        The parameter that receives the budget.

    Attributes
    ----------
    params : list of dict
        The candidates, in start order (``candidate`` column).
    scores : list of dict
        Per rung, candidate -> score (NaN: failed) of the finished rows.
    """

    def __init__(self, budgets, factor, n_candidates, propose, resource):
        self.budgets, self.factor, self.n_candidates = tuple(budgets), factor, n_candidates
        self.propose, self.resource = propose, resource
        self.params = []
        self.scores = [{} for _ in self.budgets]
        self._promoted = [set() for _ in self.budgets]
        self._ranked_keys = [[] for _ in self.budgets]  # (-score, candidate), finite, sorted
        self._unpromoted = [[] for _ in self.budgets]  # heap of the same keys, not promoted
        self._running = set()
        self.rows_started = 0

    def next_row(self):
        """``(params, more)`` of the next row to start, or None (nothing to start now)."""
        for k in range(len(self.budgets) - 2, -1, -1):
            candidate = self._promotable(k)
            if candidate is not None:
                return self._row(candidate, k + 1)
        if len(self.params) < self.n_candidates:
            params = self.propose(self)
            if params is not None:
                self.params.append(params)
                return self._row(len(self.params) - 1, 0)
            self.n_candidates = len(self.params)  # the space is exhausted
        if not self._running:
            return self._final_promotion()
        return None

    def tell(self, row):
        """Hear a finished row (its ``more`` names the candidate and rung)."""
        candidate, rung = row.more["candidate"], row.more["rung"]
        self._running.discard((candidate, rung))
        done = self.scores[rung]
        if candidate in done and np.isfinite(done[candidate]):  # told again: forget the old key
            self._ranked_keys[rung].remove((-done[candidate], candidate))
        score = done[candidate] = float(row.score)
        if np.isfinite(score):
            bisect.insort(self._ranked_keys[rung], (-score, candidate))
            heapq.heappush(self._unpromoted[rung], (-score, candidate))

    def _ranked(self, rung):
        """The rung's successful candidates, best first (ties: the earlier candidate)."""
        return [c for _, c in self._ranked_keys[rung]]

    def _best_unpromoted(self, rung):
        """``(key, candidate)`` of the rung's best unpromoted successful row, or None."""
        heap, done = self._unpromoted[rung], self.scores[rung]
        while heap:
            key = heap[0]
            c = key[1]
            if c not in self._promoted[rung] and (-done[c], c) == key:
                return key, c
            heapq.heappop(heap)  # promoted since, or told again with another score
        return None

    def _promotable(self, rung):
        keep = len(self.scores[rung]) // self.factor
        best = self._best_unpromoted(rung)
        if best is None:
            return None
        key, candidate = best
        return candidate if bisect.bisect_left(self._ranked_keys[rung], key) < keep else None

    def _final_promotion(self):
        top = len(self.budgets) - 1
        if self._ranked_keys[top]:
            return None
        for rung in range(top - 1, -1, -1):
            best = self._best_unpromoted(rung)
            if best is not None:
                return self._row(best[1], rung + 1)
        return None

    def _row(self, candidate, rung):
        if rung:
            self._promoted[rung - 1].add(candidate)
        self._running.add((candidate, rung))
        self.rows_started += 1
        budget = self.budgets[rung]
        return ({**self.params[candidate], self.resource: budget},
                {"candidate": candidate, "rung": rung, "n_resources": budget})

    def results(self, objective="objective"):
        """The finished rows as ``bohb_model`` reads them: ``params``, ``n_resources``, scores."""
        params, budgets, scores = [], [], []
        for rung, done in enumerate(self.scores):
            for candidate, score in done.items():
                params.append(self.params[candidate])
                budgets.append(self.budgets[rung])
                scores.append(score)
        return {"params": params, "n_resources": np.asarray(budgets), objective: np.asarray(scores)}
