"""The paper's search with each estimator: wall time and best CV score.

Question: how long does the random search the project exists for take with
KerasMLPClassifier, scikit-learn's MLPClassifier, scikeras and Keras's own
SKLearnClassifier, and do they find equally good models?

Data: MNIST's 10k test split (../shared/datasets/mnist-test) when present,
else scikit-learn's digits. Search: 8 candidates from ``paper_space()``
sampled by ``RandomizedSearchCV(random_state=42)``, 3-fold stratified CV,
3 epochs, batch 128, ``n_jobs=1``, refit included. Every estimator gets
exactly the same 8 (hidden_units, learning_rate) pairs, translated to its own
parameter names. Each estimator runs once after a tiny untimed warm-up fit.

Sample output (2 cores)::

    estimator                wall_s  best_cv  ratio_wall  cv_gap
    KerasMLPClassifier          ...
"""

import argparse
import contextlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402
import numpy as np  # noqa: E402

ESTIMATORS = ["KerasMLPClassifier", "sklearn MLPClassifier", "scikeras 0.13",
              "keras SKLearnClassifier"]


def run_search(name, X, y, n_iter, cv, epochs, batch_size, seed, n_jobs=1):
    from sklearn.model_selection import GridSearchCV, ParameterSampler, RandomizedSearchCV

    from skkeras_search import paper_space

    est = _common.make_estimator(name, 16, 1e-3, epochs, batch_size, seed)
    # untimed warm-up: imports, first graph trace
    _common.make_estimator(name, 16, 1e-3, 1, batch_size, seed).fit(X[:300], y[:300])
    if name == "KerasMLPClassifier":
        search = RandomizedSearchCV(est, paper_space(), n_iter=n_iter, cv=cv, random_state=seed,
                                    n_jobs=n_jobs)
    else:  # the very same candidates, in this estimator's parameter names
        candidates = ParameterSampler(paper_space(), n_iter, random_state=seed)
        grid = [{k: [v] for k, v in _common.params_for(name, c).items()} for c in candidates]
        search = GridSearchCV(est, grid, cv=cv, n_jobs=n_jobs)
    # keras's SKLearnClassifier.predict prints progress bars; keep the table readable
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        _, wall = _common.timed(lambda: search.fit(X, y))
    return search, wall


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _common.add_search_args(parser)
    parser.add_argument("--repeats", type=int, default=3,
                        help="searches per estimator, interleaved; the median is reported")
    parser.add_argument("--estimators", nargs="+", default=ESTIMATORS, choices=ESTIMATORS)
    args = parser.parse_args(argv)
    X, y, data_name, env = _common.start(
        args, f"{args.n_iter} candidates x {args.cv}-fold, {args.epochs} epochs, batch "
              f"{args.batch_size}, random_state={args.random_state}, {args.repeats} repeats")
    names = [n for n in args.estimators
             if n != "scikeras 0.13" or _common.have_scikeras() or print(
                 f"{n} skipped: pip install -e '.[bench]'")]
    walls, results = {n: [] for n in names}, {}
    for rep in range(args.repeats):  # interleaved, so drifting machine load hits all alike
        for i, name in enumerate(names, 1):
            search, wall = run_search(name, X, y, args.n_iter, args.cv, args.epochs,
                                      args.batch_size, args.random_state)
            walls[name].append(wall)
            results[name] = search
            print(f"{name} ({i}/{len(names)}, repeat {rep + 1}/{args.repeats}) ... {wall:.1f}s, "
                  f"best CV {search.best_score_:.4f}", flush=True)
    rows = []
    for name in names:
        search = results[name]
        rows.append({"estimator": name, "wall_s": float(np.median(walls[name])),
                     "wall_min_s": min(walls[name]), "wall_max_s": max(walls[name]),
                     "walls_s": walls[name], "best_cv": float(search.best_score_),
                     "mean_test_scores": search.cv_results_["mean_test_score"].tolist(),
                     "mean_fit_times": search.cv_results_["mean_fit_time"].tolist()})
    ours = next((r for r in rows if r["estimator"] == "KerasMLPClassifier"), None)
    for r in rows:
        r["ratio_wall"] = r["wall_s"] / ours["wall_s"] if ours else None
        r["cv_gap"] = r["best_cv"] - ours["best_cv"] if ours else None
    rows.sort(key=lambda r: r["wall_s"])
    return _common.finish(
        __file__, env, rows,
        ["estimator", "wall_s", "wall_min_s", "wall_max_s", "best_cv", "ratio_wall", "cv_gap"],
        "wall_s: median over repeats; ratio_wall: median wall time / KerasMLPClassifier's; "
        "cv_gap: best CV - ours; same run",
        extra={"data": data_name}, out=args.out)


if __name__ == "__main__":
    sys.exit(main())
