"""Search strategies against random search: score per training epoch, and the refit model.

Question: on the paper's space (``paper_space()``: ``hidden_units`` 16..496
step 32, ``learning_rate`` log-uniform on [1e-5, 1]), how many training
epochs (and how much time) does each strategy need to reach the best CV score
random search finds with 60 candidates, and is its refit model as good on
held-out data?

* random: ``RandomizedSearchCV``, ``--n-iter`` (60) candidates, ``--epochs`` each;
* grid: ``GridSearchCV`` over ``paper_grid(10, 6)``: 6 widths x 10 learning
  rates log-spaced from 1e-5 to 1, endpoints included (60 candidates);
* halving: ``HyperbandSearchCV(n_brackets=1)``, successive halving (factor 3);
* hyperband: ``HyperbandSearchCV``, ``--hb-iterations`` Hyperband iterations
  (``n_brackets = iterations * (s_max + 1)``), factor 3, min 1 epoch;
* tpe: ``TPESearchCV``, ``--n-iter`` candidates, the class's defaults
  (``batch_size=5``, ``n_startup=5``);
* bohb: ``HyperbandSearchCV(sampler="tpe")``, as many brackets as hyperband;
* asha: ``ASHASearchCV`` (asynchronous successive halving in promotion mode,
  Li et al. 2020), ``max_epochs=--epochs``, factor 3, min 1 epoch, with
  ``n_candidates`` set so that synchronous successive halving's epochs would
  be 15% of random search's (see below). With ``n_jobs=1`` its fits end in
  submission order, so the run is as deterministic as the others.

ASHA's ``n_candidates`` (``--asha-candidates`` overrides it): successive
halving from ``n`` candidates trains ``n * r0 * (1 + s_max * (1 - 1/3))``
epochs per fold (``r0``: rung 0's epochs, ``s_max``: the number of
promotions), so ``n = floor(0.15 * n_iter * epochs / (r0 * (1 + s_max * 2/3)))``,
at least 1: 81 for 27 epochs and 60 candidates (243 of random's 1,620 epochs
per fold). The share is 15%, not 20%, because promotion mode promotes more
than successive halving: a candidate that enters a rung's top third after
others were promoted from it is promoted too, and when the candidates run
out the best of the highest rung is promoted until one reaches the top. A
simulation of the policy with random scores (81 candidates, 27 epochs)
trained a median 18% of random's epochs, 15% to 31% over 200 draws.

Data: MNIST's 10k test split (``../shared/datasets/mnist-test``, pixels / 255
as float32), or scikit-learn's digits (pixels / 16) when it is missing, which
the output says. A stratified subset of ``--n-samples`` (3000) is searched,
and the remaining samples are held out (7000 for MNIST). That is the default
``--workload mnist``; two others measure whether the efficiency generalises:

* ``--workload mnist-slice2``: the next 3000 digits, drawn (stratified) from
  the first slice's held-out 7000, so the two searched slices share no digit;
  the last 4000 are held out;
* ``--workload table:NAME``: a classification table of the tabular benchmark
  (:mod:`_tables`, e.g. ``table:churn``) with its fixed held-out 25%; the
  searched model is the package's table pipeline around the network
  (imputation, scaling, one-hot encoding fitted inside each fold), the space
  the paper's under ``classifier__``.

All strategies use
the very same 3 folds (``StratifiedKFold(3, shuffle=True, random_state)``),
batch 128, ``n_jobs=1`` and ``error_score=nan`` (learning rates near 1
diverge; failed fits are counted and reported, never dropped silently). Each
seed (``--repeats`` of them, from ``--random-state``) seeds the sampler and
the estimator (``KerasMLPClassifier(random_state=seed)``); every search gets a
fresh fit-cache folder, so the multi-fidelity ones continue training a
promoted candidate instead of restarting it. Strategies are interleaved
within each seed; one untimed warm-up fit comes first. Defaults (3000
samples, 9 epochs, 60 candidates, 5 seeds, 4 Hyperband iterations) keep one
run under 25 minutes on 2 cores.

Hyperband needs a wide range of budgets to pay off. With 9 epochs (rounds of
1, 3 and 9 epochs) Hyperband and BOHB end within 0.003 of random search but
reach its best in only 2 of 5 seeds: a candidate promoted from 3 to 9 epochs
is good, but not better than the luckiest of random search's 60. The
multi-fidelity claims are therefore measured by a second run, also under 25
minutes, at 27 epochs (rounds of 1, 3, 9 and 27) against random search at 27
epochs on the same data and folds (all six strategies at 27 epochs would take
about 40 minutes)::

    python benchmarks/bench_strategies.py --epochs 27 --hb-iterations 2 \
        --strategies random halving hyperband bohb --tag epochs27

Training epochs count, per ``cv_results_`` row in evaluation order, the
epochs scheduled for each fold (``n_epochs_trained``: continuation counts
only the extra epochs; ``--epochs`` for random, grid and TPE) times the
folds; the refit is not counted. A strategy's history is the best mean CV
score so far among full-budget rows against cumulative epochs. Wall time to
a row is the time since the search started when that row's round finished,
interpolated within a round by the rows' fit and score times. The target is
random search's median (over seeds) final best CV; a run reaches it at the
first row whose best so far is within 0.002 of it.

Sample output (2 cores, MNIST, 3000 searched, 9 epochs, 5 seeds, defaults: 15.9 min
unloaded, 24 min with other work on the machine; columns abridged, full run in
``results/bench_strategies.txt``; a rerun gives the same scores, only times differ)::

    strategy   epochs  wall_s  best_cv  reached  epochs_to_target  epochs_frac  cands_to_target  heldout
    random       1620   40.13   0.9337      4/5               216       0.1333                8   0.9373
    tpe          1620   47.74    0.935      5/5               459       0.2833               17   0.9389
    grid         1620   42.42    0.932      3/5              1242       0.7667               46   0.9407
    halving        63   2.819   0.9237      0/5       not reached            -                -   0.9359
    hyperband     828   28.31   0.9313      2/5       not reached            -                -    0.936
    bohb          828   30.65   0.9317      2/5       not reached            -                -    0.941

At 27 epochs (the second command above, 19.5 min, ``results/bench_strategies-epochs27.txt``)::

    strategy   epochs  wall_s  best_cv  reached  epochs_to_target  epochs_frac  cands_to_target  heldout
    bohb         2142   58.94   0.9317      5/5               693       0.1426               45   0.9407
    hyperband    2142   55.31   0.9333      4/5               747       0.1537               45    0.937
    random       4860   107.3    0.932      4/5              2349       0.4833               29   0.9417
    halving       243   10.16   0.9153      0/5       not reached            -                -   0.9266

ASHA against random search at 27 epochs (36 min with other work on the machine,
``results/bench_strategies-asha-epochs27.txt``; random's rows equal the run above)::

    python benchmarks/bench_strategies.py --epochs 27 --strategies random asha --tag asha-epochs27

    strategy  epochs  wall_s  best_cv  reached  epochs_to_target  epochs_frac  cands_to_target  heldout
    asha         825   113.3   0.9313      4/5               465      0.09568               47   0.9393
    random      4860   281.2    0.932      4/5              2349       0.4833               29   0.9417

ASHA trained 15% to 21% of random's epochs (741 to 1029) and reached random's
target in 4 seeds of 5 within 4.9% to 16.5% of them. Its refit model scores
below random's in every seed (by 0.0024 to 0.026; the medians differ by 0.0024): the
candidates it carries to 27 epochs are chosen on 1-, 3- and 9-epoch scores,
which favour larger learning rates (median 0.0072 against random's 0.0050),
and those refit less reliably on all 3000 samples.
"""

import argparse
import inspect
import math
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402
import numpy as np  # noqa: E402

STRATEGIES = ["random", "grid", "halving", "hyperband", "tpe", "bohb", "asha"]
TOLERANCE = 0.002
ASHA_SHARE = 0.15  # of random search's epochs that successive halving from n candidates trains
CHECKPOINTS = (0.05, 0.1, 0.2, 0.3, 0.5, 1.0)  # fractions of random search's epochs
REPO = os.path.dirname(_common.HERE)


def grid_shape(n_iter):
    """(widths, learning rates) with widths * rates == n_iter, widths <= sqrt and <= 16."""
    n_w = max(d for d in range(1, min(16, math.isqrt(n_iter)) + 1) if n_iter % d == 0)
    return n_w, n_iter // n_w


def asha_candidates(args, s_max):
    """ASHA's ``n_candidates``: successive halving's epochs at ASHA_SHARE of random's."""
    if args.asha_candidates is not None:
        return args.asha_candidates
    r0 = args.epochs // 3**s_max
    per_candidate = r0 * (1 + s_max * (1 - 1 / 3))
    return max(1, math.floor(ASHA_SHARE * args.n_iter * args.epochs / per_candidate + 1e-9))


class Workload:
    """One searched data set: its split, and how the network sits in the searched model.

    ``prefix`` names the network's parameters inside ``model`` (``""`` for
    the bare network, ``"classifier__"`` for a table's pipeline); ``model``
    wraps a ``KerasMLPClassifier`` (a table's preprocessing is a step of the
    searched pipeline, so each fold fits it on its own training rows).
    """

    def __init__(self, name, X_tr, y_tr, X_te, y_te, prefix="", wrap=None):
        self.name, self.prefix, self._wrap = name, prefix, wrap
        self.X_tr, self.y_tr, self.X_te, self.y_te = X_tr, y_tr, X_te, y_te

    def model(self, clf):
        return clf if self._wrap is None else self._wrap(clf)

    def space(self, space):
        """``space`` with the network's names under ``prefix`` (the command's ``prefixed``)."""
        from skkeras_search.cli._plan import prefixed

        return prefixed(space, self.prefix)


def load_workload(args):
    """The ``--workload``: ``mnist``, ``mnist-slice2`` or ``table:NAME`` (see the docstring)."""
    from sklearn.model_selection import train_test_split

    if args.workload.startswith("table:"):
        return _table_workload(args.workload.split(":", 1)[1])
    X, y, data_name = _common.load_data()  # float32 pixels in [0, 1]
    if not data_name.startswith("mnist"):
        print("# MNIST not found at ../shared/datasets/mnist-test: using scikit-learn's digits")
    n_search = min(args.n_samples, int(0.6 * len(X)))
    if n_search != args.n_samples:
        data_name += f" (--n-samples {args.n_samples} reduced)"
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, train_size=n_search, test_size=None if args.workload == "mnist-slice2"
        else args.n_test, stratify=y, random_state=args.random_state)
    if args.workload == "mnist-slice2":  # the next n_search digits, disjoint from mnist's
        n_search = min(n_search, int(0.6 * len(X_te)))
        X_tr, X_te, y_tr, y_te = train_test_split(
            X_te, y_te, train_size=n_search, test_size=args.n_test, stratify=y_te,
            random_state=args.random_state)
        data_name += ", slice 2 (disjoint from slice 1)"
    return Workload(data_name, X_tr, y_tr, X_te, y_te)


def _table_workload(name):
    """A classification table of the tabular benchmark, its fixed held-out split and pipeline."""
    import _tables

    if name not in _tables.TABLES or _tables.TABLES[name].regression:
        choices = sorted(t for t, spec in _tables.TABLES.items() if not spec.regression)
        raise SystemExit(f"--workload table:{name}: not a classification table of "
                         f"benchmarks/_tables.py; choose one of {', '.join(choices)}")
    X_tr, X_te, y_tr, y_te, categorical = _tables.split(name)
    columns = list(X_tr.columns)

    def wrap(clf):
        return _tables.pipeline(clf, name, columns, categorical, random_state=0)

    return Workload(f"table {name} ({_tables.TABLES[name].source}, 25% held out)",
                    X_tr, y_tr, X_te, y_te, prefix="classifier__", wrap=wrap)


def build(strategy, clf, args, seed, cv, s_max, workload):
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

    from skkeras_search import paper_grid, paper_space
    from skkeras_search.search import ASHASearchCV, HyperbandSearchCV, TPESearchCV

    model, space = workload.model(clf), workload.space(paper_space())
    common = {"cv": cv, "scoring": "accuracy", "n_jobs": 1, "error_score": np.nan}
    fidelity = {"max_epochs": args.epochs, "factor": 3, "resource": f"{workload.prefix}epochs"}
    if strategy == "asha":
        return ASHASearchCV(model, space, min_epochs=1, random_state=seed,
                            n_candidates=asha_candidates(args, s_max), **fidelity, **common)
    if strategy == "random":
        return RandomizedSearchCV(model, space, n_iter=args.n_iter, random_state=seed, **common)
    if strategy == "grid":
        n_w, n_lr = grid_shape(args.n_iter)
        grid = paper_grid(n_learning_rates=n_lr, n_hidden_units=n_w)
        return GridSearchCV(model, workload.space(grid), **common)
    if strategy == "tpe":
        return TPESearchCV(model, space, n_iter=args.n_iter, random_state=seed, **common)
    n_brackets = 1 if strategy == "halving" else args.hb_iterations * (s_max + 1)
    return HyperbandSearchCV(model, space, n_brackets=n_brackets,
                             sampler="tpe" if strategy == "bohb" else "random",
                             random_state=seed, **fidelity, **common)


def record_rounds(search):
    """Wrap the search's ``evaluate_candidates`` to log each round's time and size.

    A call whose fits all fail raises inside scikit-learn and leaves no
    ``cv_results_`` rows; the search evaluates those candidates again at the
    front of its next call (where their rows land), and the log keeps the
    failed call so that a search whose last calls fail still counts them.
    """
    log, run_search = [], search._run_search

    def evaluating(evaluate_candidates):
        def evaluate(candidate_params, cv=None, more_results=None, **kwargs):
            candidate_params = list(candidate_params)
            start = time.perf_counter()
            try:
                out = evaluate_candidates(candidate_params, cv, more_results, **kwargs)
            except Exception:
                log.append({"start": start, "end": time.perf_counter(), "ok": False,
                            "candidates": candidate_params, "more": more_results or {}})
                raise
            log.append({"start": start, "end": time.perf_counter(), "ok": True,
                        "candidates": candidate_params, "more": more_results or {}})
            return out

        return evaluate

    if "callback_ctx" in inspect.signature(run_search).parameters:  # scikit-learn >= 1.9
        def patched(evaluate_candidates, *, callback_ctx=None):
            return run_search(evaluating(evaluate_candidates), callback_ctx=callback_ctx)
    else:
        def patched(evaluate_candidates):
            return run_search(evaluating(evaluate_candidates))
    search._run_search = patched
    return log


def is_epochs(name):
    """Whether ``name`` is the network's ``epochs`` (bare or under a pipeline's prefix)."""
    return name.rsplit("__", 1)[-1] == "epochs"


def without_epochs(params):
    return {p: v for p, v in params.items() if not is_epochs(p)}


def async_history(search):
    """History entries of an asynchronous search (ASHA): its rows, in finish order.

    Such a search calls no ``evaluate_candidates``; each row records its own
    finish time. A row whose folds all failed measured no epochs: it counts
    the epochs its rung schedules beyond the rung below.
    """
    res, k = search.cv_results_, search.n_splits_
    budgets = dict(enumerate(search.rung_budgets_))
    fold_scores = np.column_stack([res[f"split{i}_test_score"] for i in range(k)])
    out = []
    for i in np.argsort(res["finish_order"], kind="stable"):
        score, rung = float(res["mean_test_score"][i]), int(res["rung"][i])
        trained = float(res["n_epochs_trained"][i])
        if not np.isfinite(trained):
            trained = budgets[rung] - budgets.get(rung - 1, 0)
        out.append({
            "params": without_epochs(res["params"][i]),
            "budget": int(res["n_resources"][i]), "epochs": int(round(trained * k)),
            "score": score if np.isfinite(score) else None,
            "failed_folds": int(np.sum(~np.isfinite(fold_scores[i]))),
            "wall_s": float(res["finish_time"][i]),
        })
    return out


def history(search, log, t0, epochs):
    """One entry per evaluated (candidate, budget), in evaluation order."""
    res, k = search.cv_results_, search.n_splits_
    if "finish_order" in res:
        return cumulate(async_history(search), epochs)
    n_rows = len(res["params"])
    fold_scores = np.column_stack([res[f"split{i}_test_score"] for i in range(k)])
    trained = res.get("n_epochs_trained")
    budgets = res.get("n_resources")
    out, row = [], 0
    last_ok = max((c for c, call in enumerate(log) if call["ok"]), default=-1)
    for c, call in enumerate(log):
        n = len(call["candidates"])
        if not call["ok"] and c < last_ok:
            continue  # evaluated again, with rows, at the front of the next call
        if call["ok"]:
            idx = range(row, row + n)
            row += n
            cost = np.array([(res["mean_fit_time"][i] + res["mean_score_time"][i]) * k
                             for i in idx])
            share = np.cumsum(cost) / cost.sum() if cost.sum() > 0 else np.arange(1, n + 1) / n
            for j, i in enumerate(idx):
                score = float(res["mean_test_score"][i])
                out.append({
                    "params": without_epochs(res["params"][i]),
                    "budget": int(budgets[i]) if budgets is not None else epochs,
                    "epochs": int(trained[i] if trained is not None else epochs) * k,
                    "score": score if np.isfinite(score) else None,
                    "failed_folds": int(np.sum(~np.isfinite(fold_scores[i]))),
                    "wall_s": call["start"] - t0 + share[j] * (call["end"] - call["start"]),
                })
        else:  # the search's last calls failed entirely: no rows, scheduled epochs counted
            sched = call["more"].get("n_epochs_trained", [epochs] * n)
            for j, c in enumerate(call["candidates"]):
                out.append({
                    "params": without_epochs(c),
                    "budget": int(next((v for p, v in c.items() if is_epochs(p)), epochs)),
                    "epochs": int(sched[j]) * k,
                    "score": None, "failed_folds": k,
                    "wall_s": call["start"] - t0 + (j + 1) / n * (call["end"] - call["start"]),
                })
    if row != n_rows:
        raise RuntimeError(f"{n_rows} cv_results_ rows but {row} logged ({type(search).__name__})")
    return cumulate(out, epochs)


def cumulate(out, epochs):
    """Add cumulative epochs, the best full-budget score so far and candidates seen."""
    cum, best, seen = 0, -np.inf, set()
    for h in out:
        key = repr(sorted(h["params"].items()))
        seen.add(key)
        cum += h["epochs"]
        if h["score"] is not None and h["budget"] == epochs:
            best = max(best, h["score"])
        h.update(cum_epochs=cum, best_so_far=best if np.isfinite(best) else None,
                 n_candidates=len(seen))
    return out


def run_one(strategy, seed, args, workload, cv, s_max):
    from skkeras_search import KerasMLPClassifier

    X_tr, y_tr, X_te, y_te = workload.X_tr, workload.y_tr, workload.X_te, workload.y_te
    cache = tempfile.mkdtemp(prefix="bench-strategies-")
    try:
        clf = KerasMLPClassifier(epochs=args.epochs, batch_size=args.batch_size,
                                 random_state=seed, n_iter_no_change=10**6, cache_dir=cache)
        search = build(strategy, clf, args, seed, cv, s_max, workload)
        log = record_rounds(search)
        t0 = time.perf_counter()
        search.fit(X_tr, y_tr)
        wall = time.perf_counter() - t0
        heldout = float(search.score(X_te, y_te))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    hist = history(search, log, t0, args.epochs)
    finals = [h["score"] for h in hist if h["budget"] == args.epochs and h["score"] is not None]
    if not np.isclose(max(finals), search.best_score_):
        raise RuntimeError(f"{strategy}: best_score_ {search.best_score_} is not the best "
                           f"full-budget row {max(finals)}")
    return {
        "strategy": strategy, "seed": seed, "wall_s": wall,
        "best_cv": float(search.best_score_),
        "best_params": {k.removeprefix(workload.prefix): v
                        for k, v in search.best_params_.items()},
        "heldout": heldout, "epochs": hist[-1]["cum_epochs"],
        "candidates": hist[-1]["n_candidates"], "evaluations": len(hist),
        "failed": sum(h["score"] is None for h in hist),
        "failed_fits": sum(h["failed_folds"] for h in hist),
        "history": hist,
    }


def reach(run, threshold):
    """(epochs, wall_s, candidates) at the first row within reach of the target, or None."""
    for h in run["history"]:
        if h["best_so_far"] is not None and h["best_so_far"] >= threshold:
            return h["cum_epochs"], h["wall_s"], h["n_candidates"]
    return None


def best_at(run, epochs):
    best = [h["best_so_far"] for h in run["history"]
            if h["cum_epochs"] <= epochs and h["best_so_far"] is not None]
    return best[-1] if best else -np.inf


def median(values):
    """Median where inf (not reached) and -inf (nothing yet) are ordinary values."""
    m = float(np.median(np.asarray(values, dtype=float)))
    return None if not np.isfinite(m) else m


def summarise(runs, strategies, random_epochs):
    by = {s: [r for r in runs if r["strategy"] == s] for s in strategies}
    target = float(np.median([r["best_cv"] for r in by["random"]]))
    threshold = target - TOLERANCE
    held_random = float(np.median([r["heldout"] for r in by["random"]]))
    rows, curve = [], []
    for s in strategies:
        rs = by[s]
        hits = [reach(r, threshold) for r in rs]
        e_hit = median([h[0] if h else np.inf for h in hits])
        held = float(np.median([r["heldout"] for r in rs]))
        rows.append({
            "strategy": s,
            "candidates": median([r["candidates"] for r in rs]),
            "epochs": median([r["epochs"] for r in rs]),
            "wall_s": median([r["wall_s"] for r in rs]),
            "best_cv": median([r["best_cv"] for r in rs]),
            "best_cv_spread": max(r["best_cv"] for r in rs) - min(r["best_cv"] for r in rs),
            "reached": f"{sum(h is not None for h in hits)}/{len(rs)}",
            "epochs_to_target": e_hit if e_hit is not None else "not reached",
            "epochs_frac": e_hit / random_epochs if e_hit is not None else None,
            "wall_to_target_s": median([h[1] if h else np.inf for h in hits]),
            "cands_to_target": median([h[2] if h else np.inf for h in hits]),
            "heldout": held, "heldout_diff": held - held_random,
            "heldout_spread": max(r["heldout"] for r in rs) - min(r["heldout"] for r in rs),
            "failed": sum(r["failed"] for r in rs),
            "failed_fits": sum(r["failed_fits"] for r in rs),
            "per_seed_epochs_to_target": [h[0] if h else None for h in hits],
            "per_seed_cands_to_target": [h[2] if h else None for h in hits],
        })
        c = {"strategy": s}
        for f in CHECKPOINTS:
            c[f"@{round(f * random_epochs)}"] = median([best_at(r, f * random_epochs) for r in rs])
        curve.append(c)
    rows.sort(key=lambda r: (r["epochs_frac"] is None, r["epochs_frac"] or 0))
    return target, rows, curve


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", default="mnist",
                        help="mnist (default), mnist-slice2 (the next --n-samples digits, "
                             "disjoint), or table:NAME (a classification table of "
                             "benchmarks/_tables.py, e.g. table:churn)")
    parser.add_argument("--n-samples", type=int, default=3000,
                        help="stratified subset searched; the rest is held out")
    parser.add_argument("--n-test", type=int, default=None,
                        help="held-out samples (default: all not searched)")
    parser.add_argument("--repeats", "--seeds", type=int, default=5, dest="repeats",
                        help="seeds, from --random-state on; medians are over seeds")
    parser.add_argument("--n-iter", type=int, default=60,
                        help="candidates of random, grid and TPE search")
    parser.add_argument("--epochs", type=int, default=9, help="full budget (max_epochs)")
    parser.add_argument("--hb-iterations", type=int, default=4,
                        help="Hyperband iterations of hyperband and bohb")
    parser.add_argument("--asha-candidates", type=int, default=None,
                        help="n_candidates of asha (default: the rule in the docstring)")
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--random-state", type=int, default=42,
                        help="data split and folds; first seed")
    parser.add_argument("--strategies", nargs="+", default=STRATEGIES, choices=STRATEGIES)
    parser.add_argument("--out", default=None, help="results folder (default: benchmarks/results)")
    parser.add_argument("--tag", default=None,
                        help="suffix of the results file (bench_strategies-TAG.json)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: 400 samples, 2 seeds, 6 candidates, 3 epochs")
    args = parser.parse_args(argv)
    if args.quick:
        args.n_samples, args.repeats, args.n_iter, args.epochs = 400, 2, 6, 3
        args.hb_iterations, args.n_test = 1, args.n_test or 400
    strategies = ["random"] + [s for s in args.strategies if s != "random"]

    from sklearn.model_selection import StratifiedKFold

    from skkeras_search import KerasMLPClassifier
    from skkeras_search.search._hyperband import max_halvings

    workload = load_workload(args)
    X_tr, y_tr, X_te = workload.X_tr, workload.y_tr, workload.X_te
    cv = StratifiedKFold(args.cv, shuffle=True, random_state=args.random_state)
    s_max = max_halvings(args.epochs, 1, 3)
    seeds = [args.random_state + i for i in range(args.repeats)]
    random_epochs = args.n_iter * args.epochs * args.cv
    env = _common.environment()
    print(_common.env_line(env))
    n_w, n_lr = grid_shape(args.n_iter)
    print(f"# data: {workload.name}, {len(X_tr)} searched (stratified), {len(X_te)} held out; "
          f"{args.cv}-fold (StratifiedKFold, random_state={args.random_state}, same for all), "
          f"{args.epochs} epochs full budget, batch {args.batch_size}, seeds {seeds}", flush=True)
    print(f"# candidates: random and tpe {args.n_iter}, grid {n_w} widths x {n_lr} learning "
          f"rates; halving 1 bracket, hyperband and bohb {args.hb_iterations} iteration(s) = "
          f"{args.hb_iterations * (s_max + 1)} brackets (factor 3, 1..{args.epochs} epochs); "
          f"asha {asha_candidates(args, s_max)} (factor 3, n_jobs=1); error_score=nan", flush=True)
    workload.model(KerasMLPClassifier(epochs=1)).fit(X_tr[:300], y_tr[:300])  # warm-up: tracing
    runs, total, k = [], len(seeds) * len(strategies), 0
    start = time.perf_counter()
    for seed in seeds:  # strategies interleaved, so drifting machine load hits all alike
        for s in strategies:
            k += 1
            run = run_one(s, seed, args, workload, cv, s_max)
            runs.append(run)
            print(f"{s} seed={seed} ({k}/{total}) ... {run['wall_s']:.1f}s, {run['epochs']} "
                  f"epochs, {run['candidates']} candidates, best CV {run['best_cv']:.4f}, "
                  f"held-out {run['heldout']:.4f}, {run['failed']} failed", flush=True)
    elapsed = time.perf_counter() - start

    target, rows, curve = summarise(runs, strategies, random_epochs)
    print(f"\ntotal {elapsed / 60:.1f} min; target: random search's median final best CV "
          f"{target:.4f}, reached at best >= {target - TOLERANCE:.4f}")
    print("\nmedian best CV so far (full-budget rows) after N cumulative training epochs")
    print(_common.table(curve, list(curve[0])))
    print(f"(N: {', '.join(f'{f:.0%}' for f in CHECKPOINTS)} of random search's "
          f"{random_epochs} epochs; '-': no full-budget result yet in most seeds; a search that "
          "ended earlier keeps its final best)")
    print()
    columns = ["strategy", "candidates", "epochs", "wall_s", "best_cv", "best_cv_spread",
               "reached", "epochs_to_target", "epochs_frac", "wall_to_target_s",
               "cands_to_target", "heldout", "heldout_diff", "failed"]
    print(_common.table(rows, columns))
    print(f"(medians over {len(seeds)} seeds; *_to_target: to reach random's median final best "
          f"within {TOLERANCE}, a seed that never does counts as infinite; epochs_frac: "
          f"epochs_to_target / random search's {random_epochs} epochs; epochs: training epochs of "
          "all folds, refit not counted; heldout: accuracy of the refit best model on the "
          "held-out samples; heldout_diff: heldout - random's; *_spread: max - min over seeds; "
          "failed: (candidate, budget) evaluations with a failed fold, summed over seeds)")
    for r in rows:
        if r["failed"]:
            print(f"{r['strategy']}: {r['failed']} failed evaluations ({r['failed_fits']} fits) "
                  "over all seeds")
    path = _common.write_results(__file__, env, rows, out=args.out, tag=args.tag, extra={
        "workload": args.workload, "data": workload.name, "n_searched": len(X_tr),
        "n_heldout": len(X_te), "seeds": seeds,
        "epochs": args.epochs, "n_iter": args.n_iter, "cv": args.cv,
        "hb_iterations": args.hb_iterations, "grid": [n_w, n_lr], "tolerance": TOLERANCE,
        "asha_candidates": asha_candidates(args, s_max),
        "target_best_cv": target, "random_epochs": random_epochs, "total_s": elapsed,
        "curve": curve, "runs": runs})
    print(f"raw rows: {os.path.relpath(path, REPO) if args.out is None else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
