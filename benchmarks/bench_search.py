"""The paper's search with each estimator: wall time and best CV score, cold and warm.

Question: how long does the random search the project exists for take with
KerasMLPClassifier, scikit-learn's MLPClassifier, scikeras and Keras's own
SKLearnClassifier, and do they find equally good models?  Both as a user
runs it once (cold: a fresh Python process that imports everything, traces
its graphs and searches) and as the same search again in that process (warm).

Data: MNIST's 10k test split (../shared/datasets/mnist-test) when present,
else scikit-learn's digits (``--n-samples`` keeps the first N). Search:
``--n-iter`` candidates from ``paper_space()`` sampled by
``ParameterSampler(random_state)``, ``--cv``-fold stratified CV, ``--epochs``
epochs, batch 128, ``n_jobs=1``, refit included, ``error_score="raise"``.
Every estimator gets exactly the same (hidden_units, learning_rate) pairs,
translated to its own parameter names (``RandomizedSearchCV`` for ours, a
``GridSearchCV`` over the listed candidates for the others).

Each (estimator, repeat) is its own fresh process, interleaved, the order
reversed every other repeat. In it the search runs twice: cold is the
process's wall time up to the end of the first search (interpreter start,
imports, first traces, the search, as measured from outside, plus exit),
warm is the second, identical search; peak RSS is the process's. Times and
best CV scores are medians over the repeats.

Sample output (2 cores)::

    phase  estimator              wall_s  min_s  max_s  vs_ours  vs_mlp  best_cv  peak_rss_mb
    cold   KerasMLPClassifier        ...
    warm   KerasMLPClassifier        ...
"""

import argparse
import contextlib
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402
import numpy as np  # noqa: E402

ESTIMATORS = ["KerasMLPClassifier", "sklearn MLPClassifier", "scikeras 0.13",
              "keras SKLearnClassifier"]
MLP = "sklearn MLPClassifier"


def candidates(n_iter, seed):
    """The searched (hidden_units, learning_rate) pairs, as plain Python values."""
    from sklearn.model_selection import ParameterSampler

    from skkeras_search import paper_space

    return [{"hidden_units": int(c["hidden_units"]), "learning_rate": float(c["learning_rate"])}
            for c in ParameterSampler(paper_space(), n_iter, random_state=seed)]


def make_search(name, n_iter, cv, epochs, batch_size, seed, n_jobs=1):
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

    from skkeras_search import paper_space

    est = _common.make_estimator(name, 16, 1e-3, epochs, batch_size, seed)
    if name == "KerasMLPClassifier":
        return RandomizedSearchCV(est, paper_space(), n_iter=n_iter, cv=cv, random_state=seed,
                                  n_jobs=n_jobs, error_score="raise")
    # the very same candidates, in this estimator's parameter names
    grid = [{k: [v] for k, v in _common.params_for(name, c).items()}
            for c in candidates(n_iter, seed)]
    return GridSearchCV(est, grid, cv=cv, n_jobs=n_jobs, error_score="raise")


def run_search(name, X, y, n_iter, cv, epochs, batch_size, seed, n_jobs=1):
    """One warm search in this process (after an untimed tiny warm-up fit); (search, wall_s).

    Used by ``bench_parallel.py``.
    """
    _common.make_estimator(name, 16, 1e-3, 1, batch_size, seed).fit(X[:300], y[:300])
    search = make_search(name, n_iter, cv, epochs, batch_size, seed, n_jobs=n_jobs)
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        _, wall = _common.timed(lambda: search.fit(X, y))
    return search, wall


def worker(args):
    """One fresh process: the search twice; prints JSON (times in seconds)."""
    start = time.perf_counter()
    X, y, _ = _common.load_data(n_samples=args.n_samples)
    results, setup_s = [], time.perf_counter() - start
    for _ in range(2):  # cold (first in this process), then warm (identical, again)
        search = make_search(args.worker, args.n_iter, args.cv, args.epochs, args.batch_size,
                             args.random_state)
        # keras's SKLearnClassifier.predict prints progress bars; keep the output parseable
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
            _, wall = _common.timed(lambda: search.fit(X, y))
        results.append((search, wall))
    (first, first_s), (second, warm_s) = results
    assert np.array_equal(first.cv_results_["mean_test_score"],
                          second.cv_results_["mean_test_score"]) or args.worker != \
        "KerasMLPClassifier", "the two identical searches differ"
    print(json.dumps({
        "setup_s": setup_s,  # in-process imports and data before the first search
        "first_search_s": first_s, "warm_s": warm_s,
        "best_cv": float(first.best_score_), "best_cv_warm": float(second.best_score_),
        "best_params": {k: (v if np.isscalar(v) else str(v)) for k, v in first.best_params_.items()},
        "mean_test_scores": first.cv_results_["mean_test_score"].tolist(),
        "mean_fit_times": first.cv_results_["mean_fit_time"].tolist(),
        "peak_rss_mb": _common.peak_rss_mb(),
    }, default=_common._json_default))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _common.add_search_args(parser)
    parser.add_argument("--repeats", type=int, default=3,
                        help="fresh processes per estimator, interleaved; medians are reported")
    parser.add_argument("--estimators", nargs="+", default=ESTIMATORS, choices=ESTIMATORS)
    parser.add_argument("--tag", default=None,
                        help="name this workload's results: bench_search-TAG.json")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)
    X, y, data_name, env = _common.start(
        args, f"{args.n_iter} candidates x {args.cv}-fold, {args.epochs} epochs, batch "
              f"{args.batch_size}, random_state={args.random_state}, {args.repeats} repeats, "
              "each (estimator, repeat) a fresh process")
    names = [n for n in args.estimators
             if n != "scikeras 0.13" or _common.have_scikeras() or print(
                 f"{n} skipped: pip install -e '.[bench]'")]
    worker_args = ["--n-iter", args.n_iter, "--cv", args.cv, "--epochs", args.epochs,
                   "--batch-size", args.batch_size, "--random-state", args.random_state]
    if args.n_samples is not None:
        worker_args += ["--n-samples", args.n_samples]
    runs = []
    for k, (rep, name) in enumerate(_common.interleaved(names, args.repeats), 1):
        result, process_s = _common.fresh_process(__file__, ["--worker", name, *worker_args])
        # cold: the whole process, less the second (warm) search it ran after the first
        result.update(estimator=name, repeat=rep, process_s=process_s,
                      cold_s=process_s - result["warm_s"])
        runs.append(result)
        print(f"{name} ({k}/{len(names) * args.repeats}, repeat {rep + 1}/{args.repeats}) ... "
              f"cold {result['cold_s']:.1f}s, warm {result['warm_s']:.1f}s, best CV "
              f"{result['best_cv']:.4f}, peak {result['peak_rss_mb']:.0f} MB", flush=True)
    rows = []
    for phase in ("cold", "warm"):
        for name in names:
            mine = [r for r in runs if r["estimator"] == name]
            wall, lo, hi = _common.spread([r[f"{phase}_s"] for r in mine])
            rows.append({"phase": phase, "estimator": name, "wall_s": wall, "min_s": lo,
                         "max_s": hi, "walls_s": [r[f"{phase}_s"] for r in mine],
                         "best_cv": float(np.median([r["best_cv"] for r in mine])),
                         "peak_rss_mb": float(np.median([r["peak_rss_mb"] for r in mine]))})
    for r in rows:
        same = {o["estimator"]: o for o in rows if o["phase"] == r["phase"]}
        ours, mlp = same.get("KerasMLPClassifier"), same.get(MLP)
        r["vs_ours"] = r["wall_s"] / ours["wall_s"] if ours else None
        r["vs_mlp"] = r["wall_s"] / mlp["wall_s"] if mlp else None
        r["cv_gap"] = r["best_cv"] - ours["best_cv"] if ours else None
    rows.sort(key=lambda r: (r["phase"], r["wall_s"]))
    return _common.finish(
        __file__, env, rows,
        ["phase", "estimator", "wall_s", "min_s", "max_s", "vs_ours", "vs_mlp", "best_cv",
         "cv_gap", "peak_rss_mb"],
        "cold: wall time of a fresh process up to the end of its first search (interpreter, "
        "imports, first traces, the search, exit); warm: the identical search again in that "
        "process; medians over repeats of wall time, best CV (first search) and peak RSS of "
        "the process; vs_ours/vs_mlp: median wall time / KerasMLPClassifier's or "
        "MLPClassifier's in the same phase; cv_gap: best CV - ours; same run",
        extra={"data": data_name, "n_samples": int(len(X)), "folds": args.cv,
               "epochs": args.epochs, "batch_size": args.batch_size,
               "candidates": candidates(args.n_iter, args.random_state), "runs": runs},
        out=args.out, tag=args.tag)


if __name__ == "__main__":
    sys.exit(main())
