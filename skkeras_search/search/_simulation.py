"""Replaying a search on 1 to 1,024 virtual workers: the scaling simulator.

A recorded ``cv_results_`` (a real search's rows: ``params``, the budget,
``mean_fit_time``, ``mean_score_time``, the fold scores and, where measured,
``n_epochs_trained``) becomes a :class:`ReplayModel` of what any fit would
cost and score. :func:`simulate` then runs a search class's *own* scheduling
code against that model on ``n_workers`` virtual workers and a virtual clock:

* asynchronous searches (:class:`~skkeras_search.search.ASHASearchCV`,
  ``TPESearchCV(asynchronous=True)``): ``search._policy()`` and the real
  :func:`~skkeras_search.search._scheduler.run`, with a
  :class:`SimulatedExecutor` (the executors' interface) that keeps a heap of
  completion times; ``wait_any`` moves the clock to the next completion.
* synchronous searches (:class:`~skkeras_search.search.HyperbandSearchCV`,
  batched :class:`~skkeras_search.search.TPESearchCV`,
  ``RandomizedSearchCV``): the class's ``_run_search`` with a simulated
  ``evaluate_candidates`` that list-schedules the call's candidate x fold fits
  in scikit-learn's order (candidate-major) on the workers, each fit on the
  first worker free (Graham's list scheduling, SIAM J. Appl. Math. 17(2), 1969),
  and moves the clock by the call's makespan: the next call starts when the
  slowest fit ends. ``RandomizedSearchCV`` gets the single
  call its ``_run_search`` makes (``ParameterSampler(param_distributions,
  n_iter, random_state)``); scikit-learn >= 1.9's version needs a callback
  context, so it is not called itself.

The replay model (and its limits):

* Distance: parameters are scaled to [0, 1] over the recorded range, on a log
  scale for log-uniform ones (``log_uniform``, ``scipy.stats.loguniform``);
  a categorical parameter adds 1 when the values differ.
* Duration of a fold fit = per-epoch time x epochs trained + score time. The
  per-epoch time is ``mean_fit_time / n_epochs_trained`` of the nearest
  recorded row of the same budget (any budget if none has one), so the fixed
  cost of a fit (building the network) is spread over that row's epochs: a
  1-epoch fit costs what the recorded 1-epoch fits cost, a continued fit a
  share of it. Epochs trained are the extra epochs when the same candidate
  (parameters without the budget) already trained this fold to a smaller
  budget (the fit cache continues it), 0 when it trained that budget already,
  else the budget. Rows that failed or trained nothing give no time.
* Score of a fold fit = the fold's score of the nearest recorded row of that
  budget; a budget not recorded is interpolated linearly in log budget
  between the nearest rows of the recorded budgets around it, and held at the
  nearest recorded budget outside their range. A failed recorded row (NaN)
  replays as a failed fit (charged its full duration).
* Not modelled: the recorded spread of fit times (every fit of a row takes its
  mean), the learning curve of one candidate (a candidate's scores at two
  budgets come from its nearest rows at each, which are usually different
  points), load on the workers, data transfer, and the driver's own decision
  time, unless ``policy_timer`` charges it (then the run depends on this
  machine's speed).
"""

import bisect
import heapq
import math
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import ParameterSampler, RandomizedSearchCV

from skkeras_search.search import _optuna_space
from skkeras_search.search._candidates import candidate_key
from skkeras_search.search._decision_log import DecisionLog
from skkeras_search.search._scheduler import run
from skkeras_search.space import LogUniform

__all__ = ["ReplayModel", "SimulatedExecutor", "Simulation", "simulate"]


def _log_scaled(dist):
    if isinstance(dist, LogUniform):
        return True
    return getattr(getattr(dist, "dist", None), "name", None) in ("loguniform", "reciprocal")


def _is_number(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


class ReplayModel:
    """Durations and scores of any fit, replayed from a recorded ``cv_results_``.

    Parameters
    ----------
    cv_results : dict
        ``params`` (list of dict), ``mean_fit_time``, ``mean_score_time``
        (seconds per fold fit), ``split<k>_test_score`` or ``mean_test_score``,
        the budget as ``n_resources`` or ``param_<resource>`` and, optionally,
        ``n_epochs_trained`` (the budget when missing).
    param_distributions : dict
        The searched space (names and which are log-uniform).
    resource : str, default='epochs'
        The budget parameter.

    Raises
    ------
    ValueError
        If no recorded row trained an epoch and succeeded (nothing to time).
    """

    def __init__(self, cv_results, param_distributions, resource="epochs"):
        self.resource, self.names = resource, sorted(param_distributions)
        params = [dict(p) for p in cv_results["params"]]
        budgets = cv_results.get("n_resources")
        if budgets is None:
            budgets = [p[resource] for p in params]
        self.budgets = np.asarray(budgets, dtype=float)
        folds = sorted(int(k[5:-11]) for k in cv_results if k.startswith("split")
                       and k.endswith("_test_score"))
        scores = [cv_results[f"split{k}_test_score"] for k in folds] or \
            [cv_results["mean_test_score"]]
        self._scores = np.column_stack([np.asarray(s, dtype=float) for s in scores])
        trained = np.asarray(cv_results.get("n_epochs_trained", self.budgets), dtype=float)
        fit_time = np.asarray(cv_results["mean_fit_time"], dtype=float)
        ok = np.isfinite(trained) & (trained > 0) & np.isfinite(self._scores).all(axis=1)
        if not ok.any():
            raise ValueError("cv_results has no successful row that trained an epoch, so fit "
                             "durations cannot be replayed. Record a search with successful fits.")
        self._epoch_time = np.where(ok, fit_time / np.where(ok, trained, 1), np.nan)
        self._score_time = np.asarray(cv_results["mean_score_time"], dtype=float)
        self._coords, self._cats = self._encode(params, param_distributions)
        self.recorded_budgets = sorted(set(self.budgets.tolist()))
        self._memo, self._rows = {}, {}  # nearest row per query; candidate rows per budget

    def _encode(self, params, space):
        numeric = [n for n in self.names if all(_is_number(p.get(n)) for p in params)]
        self._numeric = numeric
        self._scale = {}
        cols = []
        for n in numeric:
            v = np.asarray([p[n] for p in params], dtype=float)
            log = _log_scaled(space[n])
            v = np.log10(v) if log else v
            lo, hi = float(v.min()), float(v.max())
            self._scale[n] = (log, lo, hi - lo if hi > lo else 1.0)
            cols.append((v - lo) / self._scale[n][2])
        coords = np.column_stack(cols) if cols else np.zeros((len(params), 0))
        self._categorical = [n for n in self.names if n not in numeric]
        cats = [[candidate_key({n: p.get(n)}) for n in self._categorical] for p in params]
        return coords, cats

    def _point(self, params):
        out = []
        for n in self._numeric:
            log, lo, width = self._scale[n]
            v = float(params[n])
            out.append(((math.log10(v) if log else v) - lo) / width)
        return np.asarray(out), [candidate_key({n: params.get(n)}) for n in self._categorical]

    def _nearest(self, params, rows):
        """The recorded row nearest ``params`` among the indices ``rows`` (first of ties)."""
        point, cats = self._point(params)
        d = ((self._coords[rows] - point) ** 2).sum(axis=1)
        if self._categorical:
            d = d + np.asarray([sum(a != b for a, b in zip(self._cats[i], cats)) for i in rows],
                               dtype=float)
        return int(rows[int(np.argmin(d))])

    def _row_at(self, params, budget, timing, key=None):
        key = (candidate_key(params) if key is None else key, budget, timing)
        if key not in self._memo:
            if (budget, timing) not in self._rows:
                mask = self.budgets == budget
                if timing:
                    usable = np.isfinite(self._epoch_time)
                    mask = mask & usable if (mask & usable).any() else usable
                self._rows[budget, timing] = np.flatnonzero(mask)
            self._memo[key] = self._nearest(params, self._rows[budget, timing])
        return self._memo[key]

    def fit_seconds(self, params, budget, epochs, key=None):
        """``(fit, score)`` seconds of one fold fit training ``epochs`` at ``budget``.

        ``key`` is ``candidate_key(params)`` when the caller has it.
        """
        i = self._row_at(params, float(budget), True, key)
        return float(self._epoch_time[i] * epochs), float(self._score_time[i])

    def score(self, params, budget, fold, key=None):
        """The replayed test score of ``fold`` (NaN: a failed fit) at ``budget``."""
        budget, known = float(budget), self.recorded_budgets
        column = fold % self._scores.shape[1]
        if budget in known:
            return float(self._scores[self._row_at(params, budget, False, key), column])
        k = bisect.bisect_left(known, budget)
        if k == 0 or k == len(known):
            return self.score(params, known[min(k, len(known) - 1)], fold, key)
        lo, hi = known[k - 1], known[k]
        s_lo, s_hi = self.score(params, lo, fold, key), self.score(params, hi, fold, key)
        w = (math.log(budget) - math.log(lo)) / (math.log(hi) - math.log(lo))
        return float(s_lo + w * (s_hi - s_lo))


class VirtualClock:
    """Seconds on the simulated cluster (``now``); calling it reads the time."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class SimulatedExecutor:
    """The executors' interface on ``n_workers`` virtual workers and a :class:`VirtualClock`.

    ``submit(key, fn, *args)`` calls ``fn(*args)``, which returns
    ``(seconds, result)``: the fit is replayed at once and ends ``seconds``
    after the clock's time. ``wait_any`` returns the earliest end (ties: the
    earliest submitted) and moves the clock there.

    Attributes
    ----------
    intervals : list of tuple of float
        ``(start, end)`` of every fit, in submission order.
    """

    def __init__(self, n_workers, clock):
        self.n_workers, self.clock = n_workers, clock
        self._heap, self.intervals = [], []

    def submit(self, key, fn, *args):
        if len(self._heap) >= self.n_workers:
            raise RuntimeError(f"A fit was submitted with all {self.n_workers} workers busy.")
        seconds, result = fn(*args)
        end = self.clock.now + seconds
        heapq.heappush(self._heap, (end, len(self.intervals), key, result))
        self.intervals.append((self.clock.now, end))

    def running(self):
        return len(self._heap)

    def wait_any(self):
        end, _, key, result = heapq.heappop(self._heap)
        self.clock.now = max(self.clock.now, end)
        return key, result

    def close(self):
        self._heap.clear()


class _Replayer:
    """One fold fit replayed: its seconds and ``_fit_and_score``-like result; counts epochs.

    The fit cache's continuation is kept per (candidate, fold): the largest
    budget submitted so far (in these searches a shorter fit has always ended
    before a longer one of the same candidate starts).
    """

    def __init__(self, model, resource, default_budget):
        self.model, self.resource, self.default = model, resource, default_budget
        self._trained, self.epochs = {}, 0

    def __call__(self, params, fold):
        budget = params.get(self.resource, self.default)
        if budget is None:
            raise ValueError(f"resource={self.resource!r} is neither searched nor set on the "
                             "estimator, so a fit has no budget. Set it on the estimator.")
        rest = {k: v for k, v in params.items() if k != self.resource}
        key = candidate_key(rest)
        before = self._trained.get((key, fold), 0)
        epochs = max(budget - before, 0)
        self._trained[key, fold] = max(before, budget)
        self.epochs += epochs
        fit, score_time = self.model.fit_seconds(rest, budget, epochs, key)
        score = self.model.score(rest, budget, fold, key)
        out = {"test_scores": score, "fit_time": fit, "score_time": score_time, "epochs": epochs,
               "budget": budget}
        return fit + score_time, out


@dataclass
class Simulation:
    """What one simulated search did on ``n_workers`` virtual workers.

    Attributes
    ----------
    search : BaseSearchCV
        The (cloned) search whose code ran, with the attributes it set.
    n_workers : int
    wall : float
        Virtual seconds from the start to the end of the last fit.
    busy : float
        Sum over fold fits of their fit and score seconds.
    epochs : int
        Epochs trained by all fold fits (continuations count their extra epochs).
    rows : list of dict
        One per (candidate, budget) row, in finish order: ``params``,
        ``budget``, ``score`` (NaN: failed), ``start_time`` (its first fold's)
        and ``finish_time`` (its last fold's; virtual seconds), ``epochs``
        (over the folds), ``more`` (the search's own columns) and, for an
        asynchronous search, ``finish_order``.
    intervals : list of tuple of float
        ``(start, end)`` of every fold fit.
    decision_s : float
        Seconds of the search's own decisions charged to the clock
        (``policy_timer``; 0 without one).
    """

    search: object
    n_workers: int
    wall: float
    busy: float
    epochs: int
    rows: list
    intervals: list = field(repr=False)
    decision_s: float = 0.0

    @property
    def utilisation(self):
        """``busy / (n_workers * wall)``: the fraction of worker time spent fitting."""
        return self.busy / (self.n_workers * self.wall) if self.wall > 0 else 1.0

    def best_score(self, full_budget):
        """Best successful score among the rows of ``full_budget`` (NaN if none)."""
        scores = [r["score"] for r in self.rows
                  if r["budget"] == full_budget and np.isfinite(r["score"])]
        return max(scores) if scores else float("nan")

    def time_to_reach(self, target, full_budget):
        """Virtual seconds until a ``full_budget`` row scores ``target`` or more, or None."""
        hits = [r["finish_time"] for r in self.rows
                if r["budget"] == full_budget and r["score"] >= target]
        return min(hits) if hits else None


class _Evaluator:
    """A synchronous ``evaluate_candidates``: list scheduling, the clock moved by the makespan."""

    def __init__(self, replayer, clock, n_workers, n_splits, timer):
        self.replay, self.clock = replayer, clock
        self.n_workers, self.n_splits = n_workers, n_splits
        self.timer, self._left, self.seconds = timer, timer() if timer else None, 0.0
        self.rows, self.intervals, self.columns = [], [], {}
        self.params, self.folds = [], []  # rows kept by "scikit-learn" (not all-failed calls)

    def __call__(self, candidate_params, cv=None, more_results=None, **kwargs):
        if self.timer:  # the search's own time between two calls, on the driver
            elapsed = self.timer() - self._left
            self.seconds += elapsed
            self.clock.now += elapsed
        candidates, more = list(candidate_params), dict(more_results or {})
        start, free = self.clock.now, [self.clock.now] * self.n_workers
        rows = []
        for i, params in enumerate(candidates):  # scikit-learn's order: candidate-major
            outs, end, first = [], start, None
            for fold in range(self.n_splits):
                seconds, out = self.replay(params, fold)
                begin = heapq.heappop(free)
                first = begin if first is None else first
                heapq.heappush(free, begin + seconds)
                self.intervals.append((begin, begin + seconds))
                outs.append(out)
                end = max(end, begin + seconds)
            rows.append(_row(params, outs, first, end, {k: v[i] for k, v in more.items()}))
        self.clock.now = max(free)
        self.rows.extend(rows)
        if rows and all(not np.isfinite(o["test_scores"]) for r in rows for o in r["outs"]):
            n = len(rows) * self.n_splits  # scikit-learn keeps no row, and says so
            self._left = self.timer() if self.timer else None
            raise ValueError(f"\nAll the {n} fits failed.\nIt is very likely that your model "
                             "is misconfigured.")
        self._keep(rows, more)
        results = self.results()
        self._left = self.timer() if self.timer else None
        return results

    def _keep(self, rows, more):
        for name in more:
            self.columns.setdefault(name, [])
        for r in rows:
            self.params.append(r["params"])
            self.folds.append([o["test_scores"] for o in r["outs"]])
            for name, values in self.columns.items():
                values.append(r["more"].get(name))

    def results(self):
        """The rows kept so far, with the ``cv_results_`` columns the searches read."""
        folds = np.asarray(self.folds, dtype=float).reshape(len(self.folds), self.n_splits)
        out = {"params": list(self.params), "mean_test_score": folds.mean(axis=1)}
        out.update({f"split{k}_test_score": folds[:, k] for k in range(self.n_splits)})
        out.update({name: np.asarray(v) for name, v in self.columns.items()})
        return out


def _row(params, outs, start_time, finish_time, more):
    score = float(np.mean([o["test_scores"] for o in outs]))
    return {"params": params, "budget": outs[0]["budget"], "score": score,
            "start_time": start_time, "finish_time": finish_time,
            "epochs": sum(o["epochs"] for o in outs),
            "more": more, "outs": outs}


class _ChargedPolicy:
    """A policy whose decisions take their measured time on the virtual clock."""

    def __init__(self, policy, clock, timer):
        self._policy, self._clock, self._timer = policy, clock, timer
        self.seconds = 0.0

    @property
    def rows_started(self):
        return self._policy.rows_started

    def _timed(self, fn, *args):
        start = self._timer()
        out = fn(*args)
        elapsed = self._timer() - start
        self._clock.now += elapsed
        self.seconds += elapsed
        return out

    def next_row(self):
        return self._timed(self._policy.next_row)

    def tell(self, row):
        return self._timed(self._policy.tell, row)


def _simulate_async(search, replayer, clock, n_workers, n_splits, timer):
    executor = SimulatedExecutor(n_workers, clock)
    policy = search._policy()
    if timer is not None:
        policy = _ChargedPolicy(policy, clock, timer)

    starts = {}

    def submit_fold(executor, row, fold):
        starts.setdefault(row.index, clock.now)
        executor.submit((row.index, fold), replayer, row.params, fold)

    finished = run(policy, executor, submit_fold, n_splits, "score", DecisionLog(None),
                   clock=clock)
    rows = [{**_row(r.params, r.outs, starts[r.index], r.finish_time, dict(r.more)),
             "finish_order": r.finish_order} for r in finished]
    return rows, executor.intervals, getattr(policy, "seconds", 0.0)


def _simulate_sync(search, replayer, clock, n_workers, n_splits, timer):
    evaluate = _Evaluator(replayer, clock, n_workers, n_splits, timer)
    search.n_splits_ = n_splits
    if isinstance(search, RandomizedSearchCV):  # what its _run_search evaluates, in one call
        evaluate(ParameterSampler(search.param_distributions, search.n_iter,
                                  random_state=search.random_state))
    else:
        search._run_search(evaluate)
    rows = sorted(evaluate.rows, key=lambda r: r["finish_time"])  # stable: call order on ties
    return rows, evaluate.intervals, evaluate.seconds


def simulate(search, model, n_workers, *, n_splits=3, policy_timer=None):
    """Run ``search``'s scheduling code on ``n_workers`` virtual workers against ``model``.

    Parameters
    ----------
    search : BaseSearchCV
        ``ASHASearchCV``, ``TPESearchCV`` (batched or ``asynchronous=True``),
        ``HyperbandSearchCV`` or ``RandomizedSearchCV``; cloned, never fitted.
    model : ReplayModel
        The recorded durations and scores.
    n_workers : int
        Virtual workers (one fold fit each at a time).
    n_splits : int, default=3
        Folds per candidate.
    policy_timer : callable or None, default=None
        If given (``time.perf_counter``), the search's own decision time,
        measured with it, is added to the virtual clock (a single driver
        deciding while workers wait); the result then depends on this machine.

    Returns
    -------
    simulation : Simulation

    Raises
    ------
    ValueError
        If ``n_workers < 1``, or a fit has no budget.
    """
    if n_workers < 1:
        raise ValueError(f"n_workers={n_workers!r} leaves no worker to fit on. Use n_workers>=1.")
    search, clock = clone(search), VirtualClock()
    resource = getattr(search, "resource", model.resource)
    replayer = _Replayer(model, resource, search.estimator.get_params().get(resource))
    asynchronous = getattr(search, "_runs_asynchronously", lambda: False)()
    driver = _simulate_async if asynchronous else _simulate_sync
    with _optuna_space.quiet_optuna():
        rows, intervals, decision_s = driver(search, replayer, clock, n_workers, n_splits,
                                             policy_timer)
    for r in rows:
        r.pop("outs", None)
    wall = max((end for _, end in intervals), default=0.0)
    busy = float(sum(end - start for start, end in intervals))
    return Simulation(search, n_workers, wall, busy, replayer.epochs, rows, intervals, decision_s)
