"""Asynchronous searches on real Dask clusters: a killed worker, busy workers, a resumed search.

The cluster of the kill and resume tests is a ``dask scheduler`` and two
``dask worker`` processes (one thread each) started by the test on
127.0.0.1, so that a fit can kill its own worker with SIGKILL and the nanny
starts a new one. Which worker runs which fit, and when fits end, are never
tested: only what must hold in every order.
"""

import glob
import json
import os
import signal
import subprocess
import sys
import time
import warnings

import joblib
import numpy as np
import pytest
from scipy.stats import uniform
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline

from skkeras_search import KerasMLPClassifier
from skkeras_search.exceptions import SearchWarning
from skkeras_search.search import ASHASearchCV, HyperbandSearchCV, TPESearchCV, _async_fit, _executors
from skkeras_search.search._decision_log import row_key
from skkeras_search.space import int_range, log_uniform

distributed = pytest.importorskip("dask.distributed")

HERE = os.path.dirname(os.path.abspath(__file__))
SPACE = {"clf__hidden_units": int_range(8, 40, 16), "clf__learning_rate": log_uniform(1e-3, 1e-1)}
CV = StratifiedKFold(2)
BUDGETS = (1, 3, 9)  # ASHA's rungs for max_epochs=9, factor=3
SCORES = ("split0_test_score", "split1_test_score", "mean_test_score")


# ------------------------------------------------------------ a cluster of processes
def _start(args, log, env):
    with open(log, "w") as fh:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([sys.executable, "-m", *args], stdout=fh, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True)


def _stop(proc):
    """SIGTERM to the process group we started (a nanny and its worker), then SIGKILL."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory):
    """The scheduler file of ``dask scheduler`` with two ``dask worker`` processes (1 thread)."""
    tmp = tmp_path_factory.mktemp("dask")
    file = str(tmp / "scheduler.json")
    path = os.pathsep.join(p for p in (HERE, os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": path}  # workers import Trap
    procs = []
    try:
        procs.append(_start(["distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                             "--port", "0", "--no-dashboard", "--scheduler-file", file],
                            tmp / "scheduler.log", env))
        for i in range(2):
            procs.append(_start(["distributed.cli.dask_worker", "--scheduler-file", file,
                                 "--host", "127.0.0.1", "--nthreads", "1", "--nworkers", "1",
                                 "--no-dashboard", "--memory-limit", "0", "--death-timeout", "60",
                                 "--preload", "tensorflow",  # a restarted worker joins ready
                                 "--local-directory", str(tmp / f"worker{i}")],
                                tmp / f"worker{i}.log", env))
        deadline = time.monotonic() + 60
        while not os.path.exists(file):
            assert time.monotonic() < deadline and procs[0].poll() is None, \
                (tmp / "scheduler.log").read_text()
            time.sleep(0.1)
        with distributed.Client(scheduler_file=file) as client:
            client.wait_for_workers(2, timeout=120)
        yield file
    finally:
        for proc in reversed(procs):
            _stop(proc)


@pytest.fixture
def client(scheduler):
    """A client of the process cluster, with both workers up (the nanny restarts a killed one)."""
    with distributed.Client(scheduler_file=scheduler) as client:
        client.wait_for_workers(2, timeout=120)
        yield client


# ------------------------------------------------------------ a fit that kills its worker
def cache_entries(folder):
    return sorted(glob.glob(os.path.join(folder, "*", "*.npz")))


class Trap(TransformerMixin, BaseEstimator):
    """A pass-through first step whose fit, once ``after`` fit-cache entries exist in
    ``watch``, kills its Dask worker with SIGKILL (``action='kill'``) or raises
    (``'raise'``), once: creating ``marker`` arms it off. The marker holds the
    worker's pid and each cache entry's (inode, mtime) at that moment.
    ``marker=None``: a plain pass-through."""

    def __init__(self, watch=None, marker=None, after=0, action="kill"):
        self.watch, self.marker, self.after, self.action = watch, marker, after, action

    def fit(self, X, y=None):
        if self.marker is None or os.path.exists(self.marker):
            return self
        entries = cache_entries(self.watch)
        if len(entries) < self.after:
            return self
        distributed.get_worker()  # raises outside a worker: never kill the test's process
        try:
            with open(self.marker, "x") as fh:  # one fit wins, on whichever worker
                json.dump({"pid": os.getpid(), "entries": {
                    p: [os.stat(p).st_ino, os.stat(p).st_mtime_ns] for p in entries}}, fh)
        except FileExistsError:
            return self
        if self.action == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        raise RuntimeError("Trap: the interruption this test asked for")

    def transform(self, X):
        return X


def pipeline(cache, trap=None):
    clf = KerasMLPClassifier(hidden_units=8, batch_size=50, epochs=1, random_state=0,
                             cache_dir=str(cache))
    return Pipeline([("trap", trap or Trap()), ("clf", clf)])


def asha(estimator, **kw):
    return ASHASearchCV(estimator, SPACE, **{"max_epochs": 9, "factor": 3, "n_candidates": 6,
                                            "resource": "clf__epochs", "cv": CV,
                                            "random_state": 0, "refit": False, **kw})


@pytest.fixture(scope="module")
def data(digits):
    X, y = digits
    return X[:160], y[:160]


@pytest.fixture(scope="module")
def uninterrupted(scheduler, data, tmp_path_factory):
    """ASHA on the process cluster with nothing killed: its cv_results_."""
    with distributed.Client(scheduler_file=scheduler) as client:
        client.wait_for_workers(2, timeout=120)
        cache = tmp_path_factory.mktemp("uninterrupted")
        return asha(pipeline(cache)).fit(*data).cv_results_


def by_row(results):
    """(params, budget) -> (split0, split1, mean) test scores."""
    return {row_key(p): tuple(results[k][i] for k in SCORES) for i, p in enumerate(results["params"])}


def extra_epochs(results):
    """Per row, the epochs continuation trains per fold: the rung's budget less the one below."""
    rungs = np.asarray(results["rung"])
    return np.asarray([BUDGETS[r] - (BUDGETS[r - 1] if r else 0) for r in rungs], dtype=float)


@pytest.mark.slow
@pytest.mark.extended  # a scheduler and workers of its own: ~70 s; tests/test_distributed.py
# kills a Dask worker in the default run
def test_uninterrupted_asha_on_dask_continues_every_promotion(uninterrupted):
    res = uninterrupted
    assert np.array_equal(res["n_epochs_trained"], extra_epochs(res))  # nothing from scratch
    assert set(res["rung"]) == {0, 1, 2} and sorted(res["finish_order"]) == list(range(len(res["rung"])))


@pytest.mark.slow
@pytest.mark.extended  # a scheduler and workers of its own: ~70 s; tests/test_distributed.py
# kills a Dask worker in the default run
def test_a_worker_killed_mid_asha_retrains_no_finished_fit(client, data, uninterrupted, tmp_path):
    cache, marker = tmp_path / "cache", tmp_path / "killed.json"
    pids = set(client.run(os.getpid).values())
    res = asha(pipeline(cache, Trap(str(cache), str(marker), after=4))).fit(*data).cv_results_
    at_kill = json.loads(marker.read_text())  # a worker was killed after 4 fold fits ended
    assert at_kill["pid"] in pids and at_kill["pid"] not in client.run(os.getpid).values()
    # every fit that had finished when the worker died is still the entry it wrote
    assert at_kill["entries"] and all([os.stat(p).st_ino, os.stat(p).st_mtime_ns] == v
                                      for p, v in at_kill["entries"].items())
    assert len(cache_entries(str(cache))) == len(res["params"]) * CV.n_splits  # one per fit
    # each fold trained the continuation's extra epochs, or nothing when Dask recomputed a
    # result lost with the worker (loaded whole from the cache); never the budget from scratch
    folds = np.asarray(res["n_epochs_trained"]) * CV.n_splits / extra_epochs(res)
    assert np.all(np.isin(folds, np.arange(CV.n_splits + 1))), res["n_epochs_trained"]
    # rows of the same (params, budget) as the run without a kill score the same, bit for bit
    killed, clean = by_row(res), by_row(uninterrupted)
    common = set(killed) & set(clean)
    assert len(common) >= 6  # at least every candidate's first rung
    assert all(killed[k] == clean[k] for k in common)


def hyperband(cache, trap=None):
    return HyperbandSearchCV(pipeline(cache, trap), SPACE, max_epochs=9, factor=3, n_brackets=1,
                             resource="clf__epochs", cv=CV, random_state=0, n_jobs=-1,
                             refit=False)


@pytest.mark.slow
@pytest.mark.extended  # a scheduler and workers of its own: ~70 s; tests/test_distributed.py
# kills a Dask worker in the default run
def test_a_worker_killed_mid_hyperband_on_joblib_dask_changes_nothing(client, data, tmp_path):
    marker = tmp_path / "killed.json"
    with joblib.parallel_config(backend="dask"):
        clean = hyperband(tmp_path / "clean").fit(*data).cv_results_
        killed = hyperband(tmp_path / "killed",
                           Trap(str(tmp_path / "killed"), str(marker), after=6)).fit(*data)
    killed = killed.cv_results_
    assert json.loads(marker.read_text())["pid"] not in client.run(os.getpid).values()
    assert killed["params"] == clean["params"]
    for key in [k for k in clean if "test_score" in k or k in ("n_resources", "iter")]:
        assert np.array_equal(killed[key], clean[key], equal_nan=True), key
    # a fold recomputed after the kill loads its fit whole: trained no more, maybe less
    assert np.all(killed["n_epochs_trained"] <= clean["n_epochs_trained"])


# ------------------------------------------------------------ every worker busy
class Sleeper(ClassifierMixin, BaseEstimator):
    """A cheap deterministic classifier: sleeps a little per epoch; its score is
    ``quality * epochs / (epochs + 1)``, whatever the data."""

    def __init__(self, quality=0.5, epochs=1):
        self.quality, self.epochs = quality, epochs

    def fit(self, X, y):
        time.sleep(0.002 * self.epochs)
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])

    def score(self, X, y):
        return self.quality * self.epochs / (self.epochs + 1)


class Recording(_executors.Dask):
    """The real executor, recording at each ``wait_any`` how many fits ran and what had
    started and finished by then (all rows finished by then were told to the policy)."""

    def __init__(self, inner):
        self.inner, self.n_workers = inner, inner.n_workers
        self.params, self.scores, self.waits = {}, {}, []

    def share(self, value):
        return self.inner.share(value)

    def submit(self, key, fn, *args):
        self.params[key[0]] = args[5]  # fit_fold(estimator, X, y, train, test, params, ...)
        self.scores.setdefault(key[0], {})
        self.inner.submit(key, fn, *args)

    def running(self):
        return self.inner.running()

    def wait_any(self):
        done = {i: float(np.mean(list(s.values()))) for i, s in self.scores.items()
                if len(s) == CV.n_splits}
        self.waits.append((self.inner.running(), dict(self.params), done))
        key, out = self.inner.wait_any()
        self.scores[key[0]][key[1]] = float(out["test_scores"])
        return key, out

    def close(self):
        self.inner.close()


def asha_can_start(params, done, n_candidates, factor=3):
    """Whether ASHA (promotion mode) has a row to start: a new candidate, or a candidate in
    the top ``1/factor`` of a rung's finished rows with no row on the next rung."""
    def cand(p):
        return tuple(sorted((k, v) for k, v in p.items() if k != "epochs"))

    rung = {i: BUDGETS.index(p["epochs"]) for i, p in params.items()}
    if sum(r == 0 for r in rung.values()) < n_candidates:
        return True
    for k in range(len(BUDGETS) - 1):
        finished = sorted((-s, cand(params[i])) for i, s in done.items() if rung[i] == k)
        above = {cand(params[i]) for i in params if rung[i] == k + 1}
        if any(c not in above for _, c in finished[:len(finished) // factor]):
            return True
    return False


@pytest.fixture
def recorded(monkeypatch):
    """The executors the searches get, each wrapped in a :class:`Recording`."""
    made = []

    def executor_for(n_jobs):
        real = _executors.executor_for(n_jobs)
        assert isinstance(real, _executors.Dask)
        made.append(Recording(real))
        return made[-1]

    monkeypatch.setattr(_async_fit, "executor_for", executor_for)
    return made


@pytest.fixture
def four_workers():
    with distributed.LocalCluster(n_workers=4, threads_per_worker=1, processes=False, protocol="tcp",
                                  host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                  silence_logs=50) as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.mark.parametrize("kind", ["asha", "tpe"])
def test_every_worker_is_busy_while_the_policy_has_work(kind, four_workers, recorded):
    X, y = np.zeros((40, 2)), np.arange(40) % 2
    space = {"quality": uniform(0, 1)}
    if kind == "asha":
        search = ASHASearchCV(Sleeper(), space, max_epochs=9, factor=3, n_candidates=12, cv=CV,
                              random_state=0, refit=False)
    else:
        search = TPESearchCV(Sleeper(epochs=3), space, n_iter=12, n_startup=4, cv=CV,
                             random_state=0, asynchronous=True, refit=False)
    search.fit(X, y)
    [executor] = recorded
    assert executor.n_workers == 4
    for running, params, done in executor.waits:
        if kind == "asha":
            idle_allowed = not asha_can_start(params, done, n_candidates=12)
        else:
            idle_allowed = len(params) == 12  # every candidate started
        assert running == 4 or (idle_allowed and 0 < running < 4), (running, len(params))
    assert executor.waits[0][0] == 4  # 24 first-rung fits to start: all workers at once
    assert len(executor.params) == len(search.cv_results_["params"])


# ------------------------------------------------------------ resuming on Dask
def events_of(cache):
    [log] = glob.glob(os.path.join(cache, "searches", "*.jsonl"))
    with open(log) as fh:
        return [json.loads(line) for line in fh]


@pytest.mark.slow
@pytest.mark.extended  # a scheduler and workers of its own: ~70 s; tests/test_distributed.py
# kills a Dask worker in the default run
def test_an_interrupted_asha_on_dask_resumes_its_record(client, data, uninterrupted, tmp_path):
    cache, marker = str(tmp_path / "cache"), str(tmp_path / "raised.json")
    search = asha(pipeline(cache, Trap(cache, marker, after=8, action="raise")),
                  error_score="raise")
    with pytest.raises(RuntimeError, match="Trap"):
        search.fit(*data)
    first = events_of(cache)
    keys = {e["row"]: e["key"] for e in first if e["event"] == "start"}
    told = [e["row"] for e in first if e["event"] == "tell"]
    assert told and len(keys) > len(told)  # interrupted with rows told and a row running
    with warnings.catch_warnings():
        warnings.simplefilter("error", SearchWarning)  # the record is never cut
        res = search.fit(*data).cv_results_
    final = events_of(cache)
    assert final[:len(first)] == first  # replayed, then continued
    # the rows the first run told come first, in its order, all loaded from the fit cache
    T = len(told)
    assert [row_key(p) for p in res["params"][:T]] == [keys[r] for r in told]
    assert not np.any(res["n_epochs_trained"][:T])
    rest = np.asarray(res["n_epochs_trained"][T:]) * CV.n_splits / extra_epochs(res)[T:]
    assert np.all(np.isin(rest, np.arange(CV.n_splits + 1)))  # never a budget from scratch
    assert np.any(rest)  # and the continuation trained what the first run had not
    # the whole record is an ASHA history: a fresh policy, told the scores in the recorded
    # order, starts exactly the recorded rows
    policy, rows, n_told = asha(pipeline(cache))._policy(), {}, 0
    for event in final:
        if event["event"] == "start":
            params, more = policy.next_row()
            assert row_key(params) == event["key"]
            rows[event["row"]] = (event["key"], more)
        else:  # the n-th row told is cv_results_'s n-th row (finish order)
            key, more = rows[event["row"]]
            assert row_key(res["params"][n_told]) == key and res["rung"][n_told] == more["rung"]
            policy.tell(_Told(more, res["mean_test_score"][n_told]))
            n_told += 1
    assert policy.next_row() is None and n_told == len(res["params"])
    # and each row scores as the same (params, budget) of a run never interrupted
    resumed, clean = by_row(res), by_row(uninterrupted)
    assert all(resumed[k] == clean[k] for k in set(resumed) & set(clean))
    assert len(set(resumed) & set(clean)) >= 6


class _Told:  # what the scheduler tells the policy
    def __init__(self, more, score):
        self.more, self.score = more, score
