"""The scaling simulator: searches' own scheduling code replayed on virtual workers."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import KFold, RandomizedSearchCV

from skkeras_search.search import ASHASearchCV, HyperbandSearchCV, TPESearchCV
from skkeras_search.search._asha import ASHA, rung_budgets
from skkeras_search.search._simulation import ReplayModel, simulate
from skkeras_search.space import log_uniform

SPACE = {"x": log_uniform(1e-4, 1.0)}


class Toy(ClassifierMixin, BaseEstimator):
    """No training: the score is a fixed function of ``x`` and ``epochs`` (and the data size)."""

    def __init__(self, x=0.01, epochs=1):
        self.x = x
        self.epochs = epochs

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def score(self, X, y):
        return float(1 - abs(math.log10(self.x) + 2) / 4 - 1 / (1 + self.epochs) + len(y) / 1e4)


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    return rng.rand(20, 2), np.arange(20) % 2


def recording(n=30, budgets=(1, 2, 4, 8), seconds_per_epoch=0.1, score_time=0.0):
    """A hand-made cv_results_: ``n`` points per budget, each fit ``seconds_per_epoch`` an epoch."""
    xs = np.logspace(-4, 0, n)
    rows = [(x, b) for b in budgets for x in xs]
    score = [1 - abs(math.log10(x) + 2) / 4 - 1 / (1 + b) for x, b in rows]
    return {"params": [{"x": float(x), "epochs": b} for x, b in rows],
            "n_resources": np.array([b for _, b in rows]),
            "mean_fit_time": np.array([seconds_per_epoch * b for _, b in rows]),
            "mean_score_time": np.full(len(rows), score_time),
            "split0_test_score": np.array(score), "split1_test_score": np.array(score)}


def asha(**kw):
    return ASHASearchCV(Toy(), SPACE, **{"max_epochs": 8, "factor": 2, "n_candidates": 24,
                                         "cv": KFold(2), "random_state": 0, "refit": False,
                                         "n_jobs": 1, **kw})


def busy_workers(intervals, t):
    return sum(start <= t < end for start, end in intervals)


# ------------------------------------------------------------ the simulator runs the class's code
@pytest.mark.parametrize("factor", [2, 3])
def test_simulated_asha_makes_the_real_searchs_decisions(data, factor):
    """One worker, the real search's own rows as the recording: the same (candidate, rung)
    sequence and scores, and a change of factor changes both alike."""
    X, y = data
    real = asha(factor=factor, max_epochs=9).fit(X, y)
    model = ReplayModel(real.cv_results_, SPACE)
    sim = simulate(asha(factor=factor, max_epochs=9), model, 1, n_splits=2)
    r = real.cv_results_
    assert [(m["more"]["candidate"], m["more"]["rung"]) for m in sim.rows] == \
        list(zip(r["candidate"], r["rung"]))
    np.testing.assert_allclose([m["score"] for m in sim.rows], r["mean_test_score"])
    assert sim.search.rung_budgets_ == real.rung_budgets_


def test_factor_changes_the_simulated_rows(data):
    X, y = data
    model = ReplayModel(asha(factor=2).fit(X, y).cv_results_, SPACE)
    two = [(m["more"]["candidate"], m["more"]["rung"]) for m in simulate(asha(factor=2), model, 1,
                                                                        n_splits=2).rows]
    four = [(m["more"]["candidate"], m["more"]["rung"]) for m in simulate(asha(factor=4), model, 1,
                                                                         n_splits=2).rows]
    assert two != four and max(k for _, k in two) == 3 and max(k for _, k in four) == 1


def test_the_simulation_is_deterministic():
    model = ReplayModel(recording(), SPACE)
    tpe = TPESearchCV(Toy(epochs=8), SPACE, n_iter=12, asynchronous=True, cv=2, random_state=0)
    for search in (asha(), tpe):
        a, b = simulate(search, model, 5, n_splits=2), simulate(search, model, 5, n_splits=2)
        assert a.wall == b.wall and a.intervals == b.intervals
        assert [(r["params"], r["score"], r["finish_time"]) for r in a.rows] == \
            [(r["params"], r["score"], r["finish_time"]) for r in b.rows]


# ------------------------------------------------------------ clock, workers, utilisation
def test_one_worker_takes_the_sum_of_the_durations():
    model = ReplayModel(recording(score_time=0.01), SPACE)
    random = RandomizedSearchCV(Toy(epochs=4), SPACE, n_iter=7, random_state=0)
    for search in (asha(), random, HyperbandSearchCV(Toy(), SPACE, max_epochs=8, factor=2,
                                                     random_state=0)):
        sim = simulate(search, model, 1, n_splits=2)
        durations = [end - start for start, end in sim.intervals]
        assert sim.wall == pytest.approx(sum(durations)) and sim.utilisation == pytest.approx(1)
    assert len(simulate(random, model, 1, n_splits=2).intervals) == 14
    assert durations[0] == pytest.approx(0.1 + 0.01)  # Hyperband's first fit: 1 epoch


def test_equal_fits_that_divide_among_the_workers_use_every_worker():
    model = ReplayModel(recording(), SPACE)  # 0.1 s an epoch everywhere
    search = RandomizedSearchCV(Toy(epochs=4), SPACE, n_iter=8, random_state=0)
    sim = simulate(search, model, 4, n_splits=2)  # 16 fits of 0.4 s on 4 workers
    assert sim.wall == pytest.approx(1.6) and sim.utilisation == pytest.approx(1.0)


def test_a_synchronous_search_waits_for_its_slowest_fit():
    rec = recording()
    rec["mean_fit_time"] = rec["mean_fit_time"] * (1 + 10 * np.array([p["x"] for p in rec["params"]]))
    model = ReplayModel(rec, SPACE)  # large x trains up to 11 times slower
    search = HyperbandSearchCV(Toy(), SPACE, max_epochs=8, factor=2, n_brackets=1, random_state=0)
    sim = simulate(search, model, 64, n_splits=2)  # more workers than fits in any round
    starts = sorted({s for s, _ in sim.intervals})
    assert len(starts) == 4  # one call per round, every fit of a call starts with it
    for before, after in zip(starts, starts[1:]):
        assert after == max(e for s, e in sim.intervals if s == before)  # the makespan
    assert sim.utilisation < 0.5  # the workers wait for the slowest fit and for few fits


def test_asha_keeps_every_worker_busy_while_candidates_are_left():
    model = ReplayModel(recording(), SPACE)
    for n_workers in (3, 7):
        sim = simulate(asha(n_candidates=60), model, n_workers, n_splits=2)
        last_new = max(r["start_time"] for r in sim.rows if r["more"]["rung"] == 0)
        events = sorted({t for iv in sim.intervals for t in iv if t < last_new})
        assert events and all(busy_workers(sim.intervals, t) == n_workers for t in events)
        assert max(busy_workers(sim.intervals, t) for t, _ in sim.intervals) == n_workers


# ------------------------------------------------------------ the replay model
def test_continued_fits_train_only_their_extra_epochs():
    model = ReplayModel(recording(), SPACE)
    sim = simulate(asha(), model, 2, n_splits=2)
    budgets = sim.search.rung_budgets_
    for r in sim.rows:
        k = r["more"]["rung"]
        assert r["epochs"] == 2 * (budgets[k] - (budgets[k - 1] if k else 0))
    assert sim.epochs == sum(r["epochs"] for r in sim.rows)


def test_scores_come_from_the_nearest_row_of_the_budget_or_are_interpolated():
    model = ReplayModel(recording(n=5, budgets=(1, 4)), SPACE)  # x = 1e-4, 1e-3, ..., 1
    assert model.score({"x": 0.011}, 4, 0) == pytest.approx(1 - 0 - 1 / 5)  # nearest: 0.01
    assert model.score({"x": 0.011}, 2, 1) == pytest.approx((1 - 1 / 2 + 1 - 1 / 5) / 2)
    assert model.score({"x": 0.011}, 8, 0) == model.score({"x": 0.011}, 4, 0)
    assert model.fit_seconds({"x": 0.5}, 4, 3) == pytest.approx((0.3, 0.0))


def test_failed_recorded_rows_replay_as_failures():
    rec = recording(n=4, budgets=(1, 2, 4, 8))
    bad = np.array([p["x"] > 0.5 for p in rec["params"]])
    rec["split0_test_score"] = np.where(bad, np.nan, rec["split0_test_score"])
    sim = simulate(asha(n_candidates=40), ReplayModel(rec, SPACE), 4, n_splits=2)
    failed = [r for r in sim.rows if not np.isfinite(r["score"])]
    assert failed and all(r["params"]["x"] > 0.2 and r["more"]["rung"] == 0 for r in failed)
    rec["split1_test_score"] = rec["split0_test_score"] * np.nan
    with pytest.raises(ValueError, match="no successful row"):
        ReplayModel(rec, SPACE)


def test_decision_time_can_be_charged_to_the_clock():
    model = ReplayModel(recording(), SPACE)
    ticks = iter(range(10**6))
    free = simulate(asha(), model, 1, n_splits=2)
    charged = simulate(asha(), model, 1, n_splits=2, policy_timer=lambda: float(next(ticks)))
    assert charged.wall >= free.wall + len(free.rows)  # at least 1 s a decision
    with pytest.raises(ValueError, match="n_workers=0"):
        simulate(asha(), model, 0)


# ------------------------------------------------------------ the faster ASHA decides as before
class SortingASHA(ASHA):
    """ASHA's decisions as first written: the rung sorted at every decision."""

    def tell(self, row):
        candidate, rung = row.more["candidate"], row.more["rung"]
        self._running.discard((candidate, rung))
        self.scores[rung][candidate] = float(row.score)

    def _ranked(self, rung):
        done = self.scores[rung]
        return sorted((c for c, s in done.items() if np.isfinite(s)), key=lambda c: (-done[c], c))

    def _promotable(self, rung):
        keep = len(self.scores[rung]) // self.factor
        for candidate in self._ranked(rung)[:keep]:
            if candidate not in self._promoted[rung]:
                return candidate
        return None

    def _final_promotion(self):
        top = len(self.budgets) - 1
        if any(np.isfinite(s) for s in self.scores[top].values()):
            return None
        for rung in range(top - 1, -1, -1):
            for candidate in self._ranked(rung):
                if candidate not in self._promoted[rung]:
                    return self._row(candidate, rung + 1)
        return None


class _Row:
    def __init__(self, more, score):
        self.more, self.score = more, score


@given(st.lists(st.sampled_from([0.1, 0.3, 0.3, 0.5, 0.9, float("nan")]), min_size=1,
                max_size=60),
       st.integers(2, 4), st.integers(1, 6), st.integers(0, 2**16))
def test_the_faster_asha_makes_the_same_decisions_as_the_sorting_one(scores, factor, workers,
                                                                      seed):
    """Same scores (ties and failures included), same completion order: same decisions."""
    budgets = rung_budgets(factor**3, factor, 1)
    decisions = []
    for cls in (ASHA, SortingASHA):
        names = iter(range(10**4))
        policy = cls(budgets, factor, len(scores), lambda a: {"x": next(names)}, "epochs")
        rng, running, made = np.random.RandomState(seed), [], []
        while True:
            job = policy.next_row() if len(running) < workers else None
            made.append(None if job is None else job[1])
            if job is not None:
                running.append(job[1])
                continue
            if not running:
                break
            more = running.pop(rng.randint(len(running)))
            c, k = more["candidate"], more["rung"]
            policy.tell(_Row(more, scores[c] if k == 0 else scores[(c * 7 + k) % len(scores)]))
        decisions.append(made)
    assert decisions[0] == decisions[1]
