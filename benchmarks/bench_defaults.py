"""Default settings: is ``KerasMLPClassifier()`` as accurate as ``MLPClassifier()``?

Question: a user who swaps scikit-learn's MLPClassifier for ours in a
pipeline, both with default parameters, must not lose accuracy. Data:
scikit-learn's bundled small tables (iris, wine, breast cancer, digits), each
in ``make_pipeline(StandardScaler(), estimator)``, 5-fold stratified CV with
the seed also passed as ``random_state``; median over the seeds.

Each (estimator, seed) runs in its own fresh Python process, interleaved, so
the cold figure is what a user pays (interpreter, imports, TensorFlow's first
trace, all four datasets) and the warm figure is the cross-validation time
inside that process.

Sample output (2 cores)::

    dataset        estimator              accuracy  min     max     warm_s
    iris           KerasMLPClassifier     0.9467    ...
"""

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402
import numpy as np  # noqa: E402

DATASETS = ("iris", "wine", "breast_cancer", "digits")
ESTIMATORS = ("sklearn MLPClassifier", "KerasMLPClassifier")


def _estimator(name, seed):
    if name == "KerasMLPClassifier":
        from skkeras_search import KerasMLPClassifier

        return KerasMLPClassifier(random_state=seed)
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(random_state=seed)


def worker(name, seed, folds):
    """One fresh process: every dataset for one (estimator, seed); prints JSON."""
    import warnings

    from sklearn import datasets
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    warnings.filterwarnings("ignore", category=ConvergenceWarning)  # MLPClassifier's max_iter
    out = {}
    for data in DATASETS:
        X, y = getattr(datasets, f"load_{data}")(return_X_y=True)
        cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
        start = time.perf_counter()
        scores = cross_val_score(make_pipeline(StandardScaler(), _estimator(name, seed)), X, y,
                                 cv=cv, error_score="raise")
        out[data] = {"accuracy": float(scores.mean()), "warm_s": time.perf_counter() - start}
    print(json.dumps(out))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="seeds (default: 5)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--random-state", type=int, default=0, help="first seed")
    parser.add_argument("--estimators", nargs="+", default=list(ESTIMATORS))
    parser.add_argument("--out", default=None)
    parser.add_argument("--worker", nargs=2, metavar=("ESTIMATOR", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker[0], int(args.worker[1]), args.folds)
    env = _common.environment()
    print(_common.env_line(env))
    print(f"# data: scikit-learn's {', '.join(DATASETS)}; StandardScaler pipeline, "
          f"{args.folds}-fold stratified CV, {args.repeats} seeds, each (estimator, seed) in a "
          "fresh process", flush=True)
    seeds = [args.random_state + i for i in range(args.repeats)]
    runs = []
    for i, seed in enumerate(seeds):
        order = args.estimators if i % 2 == 0 else args.estimators[::-1]  # interleaved
        for name in order:
            start = time.perf_counter()
            result = subprocess.run(
                [sys.executable, __file__, "--worker", name, str(seed), "--folds", str(args.folds)],
                capture_output=True, text=True, check=True,
                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
            cold = time.perf_counter() - start
            runs.append({"estimator": name, "seed": seed, "cold_s": cold,
                         "results": json.loads(result.stdout.strip().splitlines()[-1])})
            print(f"{name} seed={seed} ({len(runs)}/{len(seeds) * len(order)}) ... {cold:.1f}s",
                  flush=True)
    rows = []
    for data in DATASETS:
        for name in args.estimators:
            acc = [r["results"][data]["accuracy"] for r in runs if r["estimator"] == name]
            warm = [r["results"][data]["warm_s"] for r in runs if r["estimator"] == name]
            rows.append({"dataset": data, "estimator": name, "accuracy": float(np.median(acc)),
                         "min": float(min(acc)), "max": float(max(acc)),
                         "warm_s": float(np.median(warm)), "cold_s": None, "seeds": acc})
    for name in args.estimators:
        cold = [r["cold_s"] for r in runs if r["estimator"] == name]
        rows.append({"dataset": "(all four, whole process)", "estimator": name, "accuracy": None,
                     "min": None, "max": None, "warm_s": None,
                     "cold_s": float(np.median(cold))})
    reference = {r["dataset"]: r["accuracy"] for r in rows if r["estimator"] == ESTIMATORS[0]}
    for r in rows:
        if r["accuracy"] is not None and r["dataset"] in reference:
            r["vs_mlp"] = r["accuracy"] - reference[r["dataset"]]
    return _common.finish(
        __file__, env, rows,
        ["dataset", "estimator", "accuracy", "vs_mlp", "min", "max", "warm_s", "cold_s"],
        "accuracy: median over seeds of the mean 5-fold accuracy; vs_mlp: difference to "
        "MLPClassifier's median; warm_s: median cross-validation seconds inside the process; "
        "cold_s: median wall seconds of a whole fresh process (imports, first trace, 4 datasets)",
        extra={"seeds": seeds, "folds": args.folds, "runs": runs}, out=args.out)


if __name__ == "__main__":
    sys.exit(main())
