"""Scaling: how busy do the workers stay, and how much faster is a search on more of them?

Question: on 1 to 1,024 workers, which fraction of the workers' time do the
searches spend fitting (utilisation), and how much faster than on one worker
do they end (speed-up)? Asynchronous ASHA and TPE against the synchronous
searches, which wait at every round (Hyperband) or batch (TPE) for the
slowest fit.

(a) Real runs on a ``dask.distributed`` ``LocalCluster`` (processes, 1 thread
each, 127.0.0.1) with 2, 4 and 8 workers, ``joblib.parallel_config(backend=
'dask')``, ``n_jobs=-1``, 3 folds, ``refit=False``, ``paper_space()``, of
:class:`SleepClassifier` (below): ``fit`` sleeps 0.03 s per epoch it trains
(a promoted candidate continues its shorter run through ``cache_dir``, as the
fit cache does) and the score is a fixed function of the parameters. Sizes on
W workers: random search ``n_iter=2W`` at 27 epochs; TPE ``n_iter=4W``,
``batch_size=W``; asynchronous TPE ``n_iter=4W``; Hyperband one iteration
(4 brackets, 49 candidates; ``max_epochs=27, factor=3``); ASHA
``n_candidates=16W`` (rungs of 1, 3, 9 and 27 epochs). Utilisation = fit and
score seconds of all fold fits (``cv_results_``) / (W x wall). The "dask
floor" rows are a loop that keeps 1 (or 2) sleeps of 30 ms (one rung-0 fit)
in flight per worker and submits one as each ends: what any scheduler that
decides per finished fit gets from Dask on this machine. (a') A real
``KerasMLPClassifier`` on the digits, 2 workers: ``RandomizedSearchCV``
(``n_iter=8``, 9 epochs) and ``ASHASearchCV`` (``max_epochs=9``,
``n_candidates=27``).

(b) The simulator (``skkeras_search.search._simulation``, whose docstring
gives the replay model and its limits): each search class's own scheduling
code on W = 1, 2, 4, ..., 1,024 virtual workers, replaying a recorded
``cv_results_``: ``RandomizedSearchCV`` of ``KerasMLPClassifier(batch_size=128,
n_iter_no_change=10**6)`` over ``paper_space()`` and ``epochs`` in
{1, 3, 9, 27}, 120 candidates, 3 stratified folds, 3000 MNIST samples
(``results/bench_scaling-recording.json``; 466 s with ``n_jobs=1`` on a
machine with load ~7, so the times include that load). Sizes on W workers,
so that every worker has work: ASHA ``n_candidates = max(81, 16 W)``;
Hyperband as many candidates in whole Hyperband iterations (49 each:
``n_brackets = 4 ceil(n / 49)``); batched TPE (``batch_size=W``),
asynchronous TPE and random search ``n_iter = min(max(60, 4 W), 1024)``, 27
epochs. The cap: Optuna's ask (constant liar) took 8 to 18 ms a trial at 500
to 1000 trials here, and grows with the trials. Speed-up = one worker's wall
time for the same settings / wall time; random search, batched TPE and
Hyperband fit the same candidates whatever W (the replayed scores do not
depend on the order), so one worker's time is the sum of their fit times;
ASHA and asynchronous TPE decide by finishing order and are simulated again
on one worker. ``to_target_s``: virtual seconds until a 27-epoch row reaches
random search's best at the same W (with nearest-row scores this is the best
recorded 27-epoch row's score, 0.9317, for every search: a weak target).
``end_game_s``: wall time after the last new candidate started. The last
table adds the searches' own decision time, measured here with
``time.perf_counter``, to the virtual clock (one driver deciding while the
workers wait).

Command (about 13 minutes on 2 shared cores; it records first when the
recording is missing, ``--record`` records again: 8 minutes more)::

    python benchmarks/bench_scaling.py

A second run shows what the simulated ASHA loses to its end game (64
candidates per worker, ``results/bench_scaling-per-worker-64.txt``)::

    python benchmarks/bench_scaling.py --parts sim --searches asha \
        --workers-sim 64 128 256 --per-worker 64 --latency-workers --tag per-worker-64

Output (2 shared cores, load 2.4 at the start; ``results/bench_scaling.txt``,
abridged; the simulated figures repeat exactly, the real ones vary with the
machine's load: a run at load ~7 gave ASHA 21% and asynchronous TPE 84% on 8
workers)::

    utilisation by workers (simulated)
    search        W=1     W=2    W=4    W=8   W=16   W=32   W=64  W=128  W=256  W=512  W=1024
    asha       100.0%   98.3%  97.5%  96.7%  92.8%  91.7%  91.9%  90.0%  87.8%  87.8%   86.3%
    tpe-async  100.0%  100.0%  99.6%  99.0%  96.9%  96.0%  92.2%  91.2%  91.5%  83.5%   67.9%
    hyperband  100.0%   92.1%  88.9%  66.3%  43.5%  23.4%  11.9%   6.0%   3.0%   1.5%    0.8%
    tpe        100.0%   93.4%  89.1%  83.4%  79.6%  77.6%  75.6%  75.7%  73.9%  70.8%   68.8%
    random     100.0%   99.8%  99.5%  98.3%  91.6%  90.2%  90.2%  92.0%  90.4%  81.7%   69.0%

    speed-up by workers (simulated)
    search     W=1  W=2  W=4  W=8  W=16  W=32  W=64  W=128  W=256  W=512  W=1024
    asha       1.0  2.0  3.9  7.3  15.0  28.9  58.2  113.6  220.8  442.6   867.6
    tpe-async  1.0  2.0  4.0  8.3  15.2  31.3  60.6  119.3  239.1  441.8   794.4
    hyperband  1.0  1.8  3.6  5.3   7.0   7.5   7.6    7.7    7.7    7.7     7.7
    tpe        1.0  1.9  3.6  6.7  12.7  24.8  48.4   96.9  189.2  362.3   704.6
    random     1.0  2.0  4.0  7.9  14.7  28.9  57.8  117.8  231.4  418.2   706.2

    real (LocalCluster)               workers  wall_s  fits  utilisation  idle_per_fit_ms
    dask floor, 1 in flight a worker        8   2.353   160        0.255            87.63
    dask floor, 2 in flight a worker        8   1.787   160       0.3358            59.35
    random                                  8   5.451    48       0.8945            95.89
    tpe                                     8    13.5    96       0.7211            313.7
    tpe-async                               8   10.29    96        0.946            46.28
    hyperband                               8   10.89   207       0.3744            263.3
    asha                                    8   13.93   597       0.3762            116.4
    keras asha                              2   6.377   138       0.7316             24.8

Findings. Simulated ASHA keeps every worker busy until its last new candidate
starts (``utilisation_before_end_game`` 1.0 at every W); what it loses is the
end game, 2.2 to 4.4 virtual seconds in which the last promotions (2, 6 and 18
more epochs) run on few workers. With 16 candidates per worker (about 25 s of
work each) that costs 7 to 14 points from 16 workers up: 89.98% at W=128 and
87.8% at W=256, under the 90% goal, while the speed-up stays above 0.8 W up to 1,024 workers (0.86 W at
256, 0.85 W at 1,024). With 64 candidates per worker (the second command) the
same end game is 3 to 4% of 90 s: 96.6% and 0.96 W at 256 workers.
Hyperband's rounds cap it at a speed-up of 7.7 (its rounds hold 81 fits or
fewer), batched TPE loses a quarter to each batch's slowest fit, and at 512
and more workers the 1,024-trial cap leaves random search and both TPEs too
few fits per worker. Their decision time barely matters for ASHA (0.15 to 0.25
ms a row, the candidate draw included); TPE's 3 to 5 ms a trial costs batched
TPE 7 points at 256 workers. On real Dask workers on these 2 cores, fits of
0.81 s keep asynchronous TPE 95% busy on 8 workers, but ASHA's 30 ms rung-0
fits meet Dask's own round trip (about 90 ms a task on 8 workers: the dask
floor is 25% busy); ASHA measures 38%, above that floor, far below 85%.
"""

import argparse
import hashlib
import json
import math
import os
import shutil
import sys
import tempfile
import time

import _common
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone

SIM_WORKERS = [2**k for k in range(11)]  # 1 .. 1024
REAL_WORKERS = [2, 4, 8]
SEARCHES = ["random", "tpe", "tpe-async", "hyperband", "asha"]
RECORDING = os.path.join(_common.RESULTS, "bench_scaling-recording.json")
MAX_EPOCHS, FACTOR, CV = 27, 3, 3
TPE_CAP = 1024  # trials: Optuna's ask grows with the trials told (see the docstring)


# ------------------------------------------------------------------ the sleeping estimator
class SleepClassifier(ClassifierMixin, BaseEstimator):
    """``fit`` sleeps ``seconds_per_epoch`` per epoch it trains; the score is a fixed function.

    With a ``cache_dir`` (the multi-fidelity searches give it one of their own), a fit
    of a candidate already trained on this fold to fewer epochs sleeps only for the
    extra epochs, as the fit cache of :class:`~skkeras_search.KerasMLPClassifier` continues
    a shorter run; ``n_epochs_trained_`` reports what it trained.
    """

    def __init__(self, hidden_units=16, learning_rate=1e-3, epochs=1, seconds_per_epoch=0.03,
                 cache_dir=None, random_state=0):
        self.hidden_units = hidden_units
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.seconds_per_epoch = seconds_per_epoch
        self.cache_dir = cache_dir
        self.random_state = random_state

    def _entry(self, X):
        key = repr((self.hidden_units, self.learning_rate, self.random_state))
        digest = hashlib.sha1(key.encode() + np.ascontiguousarray(X).tobytes()).hexdigest()
        return os.path.join(self.cache_dir, digest)

    def fit(self, X, y):
        before = 0
        if self.cache_dir is not None and os.path.exists(self._entry(X)):
            with open(self._entry(X)) as fh:
                before = int(fh.read())
        self.n_epochs_trained_ = max(self.epochs - before, 0)
        time.sleep(self.seconds_per_epoch * self.n_epochs_trained_)
        if self.cache_dir is not None and self.epochs > before:
            with open(self._entry(X), "w") as fh:
                fh.write(str(self.epochs))
        self.classes_, self.n_iter_ = np.unique(y), self.epochs
        return self

    def score(self, X, y):
        lr = (math.log10(self.learning_rate) + 2.5) / 2.5
        width = math.log2(self.hidden_units / 16) / 5
        return float((1 - 0.5 * lr**2) * (0.6 + 0.4 * (1 - math.exp(-self.epochs / 9)))
                     + 0.02 * width)


def space():
    from skkeras_search import paper_space

    return paper_space()


def fit_seconds(search):
    """Seconds the workers spent in fits and scoring, from ``cv_results_`` (all folds)."""
    r = search.cv_results_
    return float(np.nansum(np.asarray(r["mean_fit_time"]) + np.asarray(r["mean_score_time"]))
                 * search.n_splits_)


# ------------------------------------------------------------------ (a) real Dask workers
def real_searches(n_workers, seed, estimator):
    """The five searches at ``n_workers``, sized as the docstring says."""
    from sklearn.model_selection import RandomizedSearchCV

    from skkeras_search.search import ASHASearchCV, HyperbandSearchCV, TPESearchCV

    full = clone(estimator).set_params(epochs=MAX_EPOCHS)
    common = {"cv": CV, "random_state": seed, "refit": False, "n_jobs": -1}
    return {
        "random": RandomizedSearchCV(full, space(), n_iter=2 * n_workers, **common),
        "tpe": TPESearchCV(full, space(), n_iter=4 * n_workers, batch_size=n_workers, **common),
        "tpe-async": TPESearchCV(full, space(), n_iter=4 * n_workers, asynchronous=True,
                                 **common),
        "hyperband": HyperbandSearchCV(estimator, space(), max_epochs=MAX_EPOCHS, factor=FACTOR,
                                       **common),
        "asha": ASHASearchCV(estimator, space(), max_epochs=MAX_EPOCHS, factor=FACTOR,
                             n_candidates=16 * n_workers, **common),
    }


def timed_fit(search, X, y, n_workers):
    import joblib

    start = time.perf_counter()
    with joblib.parallel_config(backend="dask"):
        search.fit(X, y)
    wall = time.perf_counter() - start
    busy, n_fits = fit_seconds(search), len(search.cv_results_["params"]) * search.n_splits_
    return {"workers": n_workers, "wall_s": wall, "fit_s": busy, "fits": n_fits,
            "candidates": len({repr(sorted((k, v) for k, v in p.items() if k != "epochs"))
                               for p in search.cv_results_["params"]}),
            "utilisation": busy / (n_workers * wall),
            "idle_per_fit_ms": 1000 * (n_workers * wall - busy) / n_fits}


def cluster(n_workers):
    from distributed import Client, LocalCluster

    c = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                     host="127.0.0.1", dashboard_address=None, silence_logs=50)
    return c, Client(c)


def _sleep(seconds):
    time.sleep(seconds)
    return seconds


def dask_floor(client, n_workers, per_worker, seconds=0.03, per_task=20):
    """Utilisation of a loop that keeps ``per_worker`` sleeps of ``seconds`` in flight per
    worker and submits one as each ends (as the asynchronous searches do, with 1)."""
    from distributed import wait

    n = per_task * n_workers
    futures = [client.submit(_sleep, seconds, pure=False) for _ in range(per_worker * n_workers)]
    submitted, start = len(futures), time.perf_counter()
    while futures:
        done = wait(futures, return_when="FIRST_COMPLETED").done
        future = next(f for f in futures if f in done)
        futures.remove(future)
        future.result()
        if submitted < n:
            futures.append(client.submit(_sleep, seconds, pure=False))
            submitted += 1
    wall = time.perf_counter() - start
    return {"search": f"dask floor, {per_worker} in flight a worker", "workers": n_workers,
            "wall_s": wall, "fits": n, "fit_s": n * seconds,
            "utilisation": n * seconds / (n_workers * wall),
            "idle_per_fit_ms": 1000 * (n_workers * wall - n * seconds) / n}


def run_real(args):
    rows = []
    X, y = np.random.RandomState(0).rand(300, 4), np.arange(300) % 3
    for n_workers in args.workers_real:
        c, client = cluster(n_workers)
        try:
            warm = real_searches(n_workers, args.random_state, SleepClassifier())["random"]
            timed_fit(warm.set_params(n_iter=n_workers), X, y, n_workers)  # untimed: imports
            for per_worker in (1, 2):
                rows.append(dask_floor(client, n_workers, per_worker))
            for name, search in real_searches(n_workers, args.random_state,
                                              SleepClassifier()).items():
                row = {"search": name, **timed_fit(search, X, y, n_workers)}
                rows.append(row)
                print(f"real {name} workers={n_workers} ... {row['wall_s']:.1f}s, "
                      f"{row['fits']} fits, {row['utilisation']:.0%} busy", flush=True)
        finally:
            client.close()
            c.close()
    return rows


def run_keras(args):
    """(a') ASHA and random search of KerasMLPClassifier on the digits, 2 Dask workers."""
    from sklearn.model_selection import RandomizedSearchCV

    from skkeras_search import KerasMLPClassifier
    from skkeras_search.search import ASHASearchCV

    X, y, _ = _common.load_data(prefer_mnist=False)
    c, client = cluster(2)
    rows = []
    try:
        client.run(lambda: KerasMLPClassifier(epochs=1).fit(X[:100], y[:100]) and None)  # TF
        clf = KerasMLPClassifier(random_state=args.random_state)
        common = {"cv": CV, "random_state": args.random_state, "refit": False, "n_jobs": -1}
        searches = {
            "random": RandomizedSearchCV(clone(clf).set_params(epochs=9), space(), n_iter=8,
                                         **common),
            "asha": ASHASearchCV(KerasMLPClassifier(random_state=args.random_state), space(),
                                 max_epochs=9, factor=FACTOR, n_candidates=27, **common),
        }
        for name, search in searches.items():
            row = {"search": f"keras {name}", **timed_fit(search, X, y, 2)}
            rows.append(row)
            print(f"keras {name} workers=2 ... {row['wall_s']:.1f}s, {row['fits']} fits, "
                  f"{row['utilisation']:.0%} busy", flush=True)
    finally:
        client.close()
        c.close()
    return rows


# ------------------------------------------------------------------ (b) the simulator
def record(args):
    """A RandomizedSearchCV of KerasMLPClassifier over the paper's space and four budgets."""
    from sklearn.model_selection import RandomizedSearchCV, StratifiedKFold, train_test_split

    from skkeras_search import KerasMLPClassifier

    X, y, name = _common.load_data()
    if args.n_samples < len(X):
        X, _, y, _ = train_test_split(X, y, train_size=args.n_samples, stratify=y,
                                      random_state=args.random_state)
    clf = KerasMLPClassifier(batch_size=128, random_state=args.random_state,
                             n_iter_no_change=10**6)
    budgets = [MAX_EPOCHS // FACTOR**k for k in range(3, -1, -1)]  # 1, 3, 9, 27
    search = RandomizedSearchCV(clf, {**space(), "epochs": budgets}, n_iter=args.record_n_iter,
                                cv=StratifiedKFold(CV, shuffle=True, random_state=args.random_state),
                                random_state=args.random_state, refit=False, n_jobs=1)
    print(f"# recording: {name} {X.shape}, RandomizedSearchCV n_iter={args.record_n_iter}, "
          f"epochs in {budgets}, {CV} folds, n_jobs=1 ...", flush=True)
    start = time.perf_counter()
    KerasMLPClassifier(epochs=1).fit(X[:300], y[:300])  # untimed warm-up: tracing
    search.fit(X, y)
    r = search.cv_results_
    keep = ["mean_fit_time", "std_fit_time", "mean_score_time", "mean_test_score"] + \
        [f"split{k}_test_score" for k in range(CV)]
    out = {"data": name, "n_samples": len(X), "cv": CV, "n_iter": args.record_n_iter,
           "seconds": time.perf_counter() - start, "load_average": os.getloadavg(),
           "environment": _common.environment(),
           "cv_results": {"params": [{k: (int(v) if k != "learning_rate" else float(v))
                                      for k, v in p.items()} for p in r["params"]],
                          "n_resources": [int(p["epochs"]) for p in r["params"]],
                          **{k: [float(v) for v in r[k]] for k in keep}}}
    with open(args.recording, "w") as fh:
        json.dump(out, fh, indent=1)
    print(f"# recorded {len(r['params'])} rows in {out['seconds']:.0f}s: "
          f"{os.path.relpath(args.recording, os.path.join(_common.HERE, '..'))}", flush=True)
    return out


def sizes(n_workers, per_worker):
    """Candidates of each search at ``n_workers`` (see the docstring)."""
    from skkeras_search.search import hyperband_brackets

    n_asha = max(FACTOR ** 4, per_worker * n_workers)
    per_iteration = sum(b.n_candidates[0] for b in hyperband_brackets(MAX_EPOCHS, FACTOR))
    return {"asha": n_asha, "hb_iterations": -(-n_asha // per_iteration),
            "tpe": min(max(60, 4 * n_workers), TPE_CAP)}


def sim_searches(n_workers, seed, per_worker, names=SEARCHES):
    from sklearn.model_selection import RandomizedSearchCV

    from skkeras_search import KerasMLPClassifier
    from skkeras_search.search import ASHASearchCV, HyperbandSearchCV, TPESearchCV

    n = sizes(n_workers, per_worker)
    est = KerasMLPClassifier(random_state=seed)
    full = clone(est).set_params(epochs=MAX_EPOCHS)
    n_brackets = n["hb_iterations"] * 4  # s_max + 1 = 4 brackets an iteration
    searches = {
        "random": RandomizedSearchCV(full, space(), n_iter=n["tpe"], random_state=seed),
        "tpe": TPESearchCV(full, space(), n_iter=n["tpe"], batch_size=n_workers,
                           random_state=seed),
        "tpe-async": TPESearchCV(full, space(), n_iter=n["tpe"], asynchronous=True,
                                 random_state=seed),
        "hyperband": HyperbandSearchCV(est, space(), max_epochs=MAX_EPOCHS, factor=FACTOR,
                                       n_brackets=n_brackets, random_state=seed),
        "asha": ASHASearchCV(est, space(), max_epochs=MAX_EPOCHS, factor=FACTOR,
                             n_candidates=n["asha"], random_state=seed),
    }
    return {k: v for k, v in searches.items() if k in names}


def end_game(sim):
    """Seconds after the last new candidate started, and the utilisation before then."""
    seen, last = set(), 0.0
    for r in sorted(sim.rows, key=lambda r: r["start_time"]):
        key = repr(sorted((k, v) for k, v in r["params"].items() if k != "epochs"))
        if key not in seen:
            seen.add(key)
            last = r["start_time"]
    busy = sum(min(end, last) - start for start, end in sim.intervals if start < last)
    return sim.wall - last, busy / (sim.n_workers * last) if last > 0 else 1.0, len(seen)


def sim_row(name, sim, serial_wall, target):
    tail, before, n_candidates = end_game(sim)
    speed_up = serial_wall / sim.wall
    return {"search": name, "workers": sim.n_workers, "rows": len(sim.rows),
            "candidates": n_candidates, "fits": len(sim.intervals), "wall_s": sim.wall,
            "utilisation": sim.utilisation, "speed_up": speed_up,
            "efficiency": speed_up / sim.n_workers,
            "to_target_s": sim.time_to_reach(target, MAX_EPOCHS),
            "epochs": sim.epochs, "best": sim.best_score(MAX_EPOCHS), "end_game_s": tail,
            "utilisation_before_end_game": before, "decision_s": sim.decision_s}


def run_sim(args, recording):
    from skkeras_search.search._simulation import ReplayModel, simulate

    model = ReplayModel(recording["cv_results"], space())
    rows, latency = [], []
    for n_workers in args.workers_sim:
        start = time.perf_counter()
        searches = sim_searches(n_workers, args.random_state, args.per_worker,
                                ["random"] + args.searches)  # random: the target
        sims = {name: simulate(s, model, n_workers, n_splits=CV) for name, s in searches.items()}
        target = sims["random"].best_score(MAX_EPOCHS)
        for name, sim in sims.items():
            if name in ("asha", "tpe-async") and n_workers > 1:  # decisions depend on the order
                serial = simulate(searches[name], model, 1, n_splits=CV).wall
            else:  # the same fits whatever the workers: one worker runs them back to back
                serial = sim.busy
            rows.append(sim_row(name, sim, serial, target))
        if n_workers in args.latency_workers:
            for name in [n for n in ("asha", "tpe-async", "hyperband", "tpe") if n in searches]:
                charged = simulate(searches[name], model, n_workers, n_splits=CV,
                                   policy_timer=time.perf_counter)
                latency.append({"search": name, "workers": n_workers, "rows": len(charged.rows),
                                "utilisation_free": sims[name].utilisation,
                                "utilisation_charged": charged.utilisation,
                                "decision_s": charged.decision_s,
                                "ms_per_row": 1000 * charged.decision_s / len(charged.rows),
                                "wall_free_s": sims[name].wall, "wall_charged_s": charged.wall})
        print(f"sim workers={n_workers} ... {time.perf_counter() - start:.1f}s; " + ", ".join(
            f"{r['search']} {r['utilisation']:.0%}" for r in rows[-len(sims):]), flush=True)
    return rows, latency


def pivot(rows, key, names, fmt):
    workers = sorted({r["workers"] for r in rows})
    out = []
    for name in names:
        by = {r["workers"]: r[key] for r in rows if r["search"] == name}
        out.append({"search": name, **{f"W={w}": fmt(by[w]) if w in by else None
                                       for w in workers}})
    return out


def goals(real, sim):
    """The issue's targets, measured: (goal, value, met)."""
    out = []
    for r in sim:
        if r["search"] == "asha" and r["workers"] <= 256:
            out.append((f"sim ASHA W={r['workers']}: utilisation >= 90%",
                        f"{r['utilisation']:.2%}", r["utilisation"] >= 0.9))
            out.append((f"sim ASHA W={r['workers']}: speed-up >= 0.8 x W",
                        f"{r['speed_up']:.1f} ({r['efficiency']:.3f} x W)",
                        r["efficiency"] >= 0.8))
    for r in real:
        if r["search"] in ("asha", "tpe-async") and r["workers"] == 8:
            out.append((f"real Dask {r['search']} 8 workers: >= 85% busy",
                        f"{r['utilisation']:.2%}", r["utilisation"] >= 0.85))
    return out


class _Tee:
    def __init__(self, *streams):
        self.streams = streams

    def write(self, text):
        for s in self.streams:
            s.write(text)

    def flush(self):
        for s in self.streams:
            s.flush()


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", nargs="+", default=["real", "keras", "sim"],
                        choices=["real", "keras", "sim"])
    parser.add_argument("--record", action="store_true",
                        help="record the simulator's cv_results_ again (else read --recording)")
    parser.add_argument("--recording", default=RECORDING)
    parser.add_argument("--n-samples", type=int, default=3000, help="MNIST samples recorded")
    parser.add_argument("--record-n-iter", type=int, default=120)
    parser.add_argument("--workers-real", type=int, nargs="+", default=REAL_WORKERS)
    parser.add_argument("--workers-sim", type=int, nargs="+", default=SIM_WORKERS)
    parser.add_argument("--latency-workers", type=int, nargs="*", default=[64, 256, 1024])
    parser.add_argument("--searches", nargs="+", default=SEARCHES, choices=SEARCHES,
                        help="simulated searches (random search always runs: the target)")
    parser.add_argument("--per-worker", type=int, default=16,
                        help="ASHA candidates per worker (at least 81)")
    parser.add_argument("--random-state", type=int, default=42)
    parser.add_argument("--out", default=None, help="results folder (default: benchmarks/results)")
    parser.add_argument("--tag", default=None, help="suffix of the results files")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: 2 real workers, 1..8 simulated, a tiny recording")
    args = parser.parse_args(argv)
    if args.quick:
        args.workers_real, args.workers_sim, args.latency_workers = [2], [1, 2, 4, 8], [8]
        args.per_worker, args.n_samples, args.record_n_iter = 4, 500, 16
        args.tag = args.tag or "quick"
        if args.recording == RECORDING:
            args.recording = os.path.join(tempfile.mkdtemp(prefix="bench-scaling-"), "rec.json")
            args.record = True
    return args


def report(real, keras, sim, latency):
    names = [n for n in ("asha", "tpe-async", "hyperband", "tpe", "random")
             if any(r["search"] == n for r in sim)]
    if real or keras:
        print("\nreal runs on a LocalCluster (processes, 1 thread each, 127.0.0.1)")
        print(_common.table(real + keras, ["search", "workers", "wall_s", "fits", "candidates",
                                           "fit_s", "utilisation", "idle_per_fit_ms"]))
        print("(utilisation: fit and score seconds of all fold fits (cv_results_) / (workers x "
              "wall); idle_per_fit_ms: (workers x wall - those seconds) / fits)")
    if sim:
        print("\nsimulated (replayed recording, virtual clock)")
        print(_common.table(sim, ["search", "workers", "candidates", "fits", "wall_s",
                                  "utilisation", "speed_up", "efficiency", "to_target_s",
                                  "epochs", "best", "end_game_s",
                                  "utilisation_before_end_game"]))
        print("(speed_up: one worker's wall time for the same settings / this wall time; "
              "efficiency: speed_up / workers; to_target_s: virtual seconds until a 27-epoch row "
              "reaches random search's best at these workers, '-' never; end_game_s: wall time "
              "after the last new candidate started)")
        print("\nutilisation by workers")
        print(_common.table(pivot(sim, "utilisation", names, lambda v: f"{v:.1%}"),
                            ["search"] + [f"W={w}" for w in sorted({r["workers"] for r in sim})]))
        print("\nspeed-up by workers")
        print(_common.table(pivot(sim, "speed_up", names, lambda v: f"{v:.1f}"),
                            ["search"] + [f"W={w}" for w in sorted({r["workers"] for r in sim})]))
    if latency:
        print("\nthe search's own decision time charged to the clock (this machine, measured)")
        print(_common.table(latency, ["search", "workers", "rows", "ms_per_row",
                                      "utilisation_free", "utilisation_charged", "wall_free_s",
                                      "wall_charged_s"]))


def run(args):
    env = _common.environment()
    print(_common.env_line(env))
    print(f"# load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          "(other work shares this machine)", flush=True)
    real = run_real(args) if "real" in args.parts else []
    keras = run_keras(args) if "keras" in args.parts else []
    sim, latency, recording = [], [], None
    if "sim" in args.parts:
        if args.record or not os.path.exists(args.recording):
            recording = record(args)
        else:
            with open(args.recording) as fh:
                recording = json.load(fh)
        print(f"# recording: {recording['data']}, {recording['n_samples']} samples, "
              f"{len(recording['cv_results']['params'])} rows ({recording['seconds']:.0f}s)",
              flush=True)
        sim, latency = run_sim(args, recording)
    report(real, keras, sim, latency)
    met = goals(real, sim)
    if met:
        print("\ngoals")
        print(_common.table([{"goal": g, "measured": v, "met": "yes" if ok else "NO"}
                             for g, v, ok in met], ["goal", "measured", "met"]))
    rows = [{"part": "real", **r} for r in real] + [{"part": "keras", **r} for r in keras] + \
        [{"part": "sim", **r} for r in sim]
    path = _common.write_results(__file__, env, rows, out=args.out, tag=args.tag, extra={
        "latency": latency, "goals": met, "sizes": {w: sizes(w, args.per_worker)
                                                    for w in args.workers_sim},
        "recording": None if recording is None else {
            k: recording[k] for k in ("data", "n_samples", "cv", "n_iter", "seconds")}})
    print(f"raw rows: {os.path.relpath(path, os.path.join(_common.HERE, '..'))}")
    return 0


def main(argv=None):
    args = parse(argv)
    out = args.out or _common.RESULTS
    os.makedirs(out, exist_ok=True)
    name = "bench_scaling" + (f"-{args.tag}" if args.tag else "")
    stdout = sys.stdout
    with open(os.path.join(out, f"{name}.txt"), "w") as txt:
        sys.stdout = _Tee(stdout, txt)
        try:
            return run(args)
        finally:
            sys.stdout = stdout
            if args.quick and args.recording.startswith(tempfile.gettempdir()):
                shutil.rmtree(os.path.dirname(args.recording), ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
