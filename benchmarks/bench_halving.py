"""Epoch-budget successive halving that continues training, against retraining and random search.

Question: how many epochs, and how much time, does successive halving over
the epoch budget save, and how much of that comes from continuing a promoted
candidate's training instead of retraining it?  Does it find as good a model?

Data: MNIST's 10k test split (75% searched, 25% held out) or digits; 3-fold
stratified CV, batch 128, ``paper_space()``. Three searches, each in its own
fresh process: cold is that process's wall time, warm the search alone after
an untimed 1-epoch warm-up fit (so tracing is not in it):

* halving (continued): ``HyperbandSearchCV(n_brackets=1, factor=3,
  max_epochs=--epochs)``, i.e. one bracket of successive halving, with a
  ``cache_dir`` of ours: a candidate promoted from k to 3k epochs loads its
  k-epoch state and trains only the 2k extra epochs;
* halving (retrained): the very same search, but the estimator's fit cache
  is switched off inside ``fit`` (``RetrainedMLP``), so each promoted
  candidate trains its whole budget from scratch. Training is seeded per
  epoch, so it reaches the same weights, scores and chosen model as the
  continued search: only the cost differs (``HyperbandSearchCV`` would give
  a plain estimator a temporary cache of its own, so ``cache_dir=None`` is
  not a retraining baseline);
* random: a ``GridSearchCV`` over exactly the candidates the bracket
  started with, every one trained the full ``--epochs``: what the bracket's
  exploration costs without halving.

The number of candidates is Hyperband's for one bracket, ``factor**s_max``
with ``s_max = floor(log_factor(--epochs / --min-epochs))`` (9 for 9 epochs
from 1). Epochs are counted as actually trained (one line per epoch from
``verbose=1``), summed over all fits including the refit.

Sample output (2 cores)::

    search               epochs_trained  wall_s  best_cv  test_score  epochs_ratio  wall_ratio
    random                          ...
"""

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402
import numpy as np  # noqa: E402

from skkeras_search import KerasMLPClassifier  # noqa: E402


class RetrainedMLP(KerasMLPClassifier):
    """KerasMLPClassifier whose fit cache is off: every fit trains from scratch."""

    def fit(self, X, y, sample_weight=None):
        cache_dir, self.cache_dir = self.cache_dir, None
        try:
            return super().fit(X, y, sample_weight=sample_weight)
        finally:
            self.cache_dir = cache_dir


def worker(args):
    """One search in this fresh process, after an untimed warm-up fit; prints a JSON row."""
    from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split

    from skkeras_search import HyperbandSearchCV, paper_space

    X, y, _ = _common.load_data(n_samples=args.n_samples)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, stratify=y,
                                              random_state=args.random_state)
    KerasMLPClassifier(epochs=1).fit(X_tr[:300], y_tr[:300])  # untimed warm-up: tracing
    cv = StratifiedKFold(args.cv, shuffle=True, random_state=args.random_state)

    def classifier(cls, **kw):
        return cls(epochs=args.epochs, batch_size=args.batch_size, verbose=1,
                   random_state=args.random_state, n_iter_no_change=10**6, **kw)

    with tempfile.TemporaryDirectory() as cache_dir:
        if args.worker == "random":  # the bracket's starting candidates, each at the full budget
            grid = [{k: [v] for k, v in c.items()} for c in json.loads(args.candidates)]
            search = GridSearchCV(classifier(KerasMLPClassifier), grid, cv=cv,
                                  scoring="accuracy", n_jobs=1, error_score="raise")
        else:  # retrained: the cache folder is given but never written (RetrainedMLP)
            cls = KerasMLPClassifier if args.worker == "halving (continued)" else RetrainedMLP
            search = HyperbandSearchCV(
                classifier(cls, cache_dir=cache_dir), paper_space(), max_epochs=args.epochs,
                factor=3, min_epochs=args.min_epochs, n_brackets=1, cv=cv, scoring="accuracy",
                n_jobs=1, random_state=args.random_state, error_score="raise")
        log = io.StringIO()
        with contextlib.redirect_stdout(log):
            _, wall = _common.timed(lambda: search.fit(X_tr, y_tr))
            test = search.score(X_te, y_te)
    results = search.cv_results_
    if args.worker == "random":
        started = json.loads(args.candidates)
    else:
        first = min(results["param_epochs"])
        started = [{k: (int(v) if k == "hidden_units" else float(v))
                    for k, v in p.items() if k != "epochs"}
                   for p, e in zip(results["params"], results["param_epochs"]) if e == first]
    print(json.dumps({
        "search": args.worker, "candidates": len(started), "started": started,
        "epochs_trained": sum(line.startswith("Epoch ") for line in log.getvalue().splitlines()),
        "warm_s": wall, "best_cv": float(search.best_score_), "test_score": float(test),
        "best_params": {k: v for k, v in search.best_params_.items() if k != "epochs"},
        "mean_test_scores": np.asarray(results["mean_test_score"]).tolist(),
        "peak_rss_mb": _common.peak_rss_mb()}, default=_common._json_default))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _common.add_search_args(parser, n_iter=None, epochs=9)
    parser.add_argument("--min-epochs", type=int, default=1)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--candidates", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)
    X, y, data_name = _common.load_data(n_samples=args.n_samples)
    n_searched = len(X) - int(np.ceil(0.25 * len(X)))
    env = _common.environment()
    print(_common.env_line(env))
    print(f"# data: {data_name}, {n_searched} searched, {len(X) - n_searched} held out; one "
          f"halving bracket, factor 3, {args.min_epochs} to {args.epochs} epochs, {args.cv}-fold, "
          f"batch {args.batch_size}; each search a fresh process", flush=True)
    if args.n_iter is not None:
        print("# --n-iter is ignored: one bracket's candidates are set by the epoch budgets")
    common = ["--cv", args.cv, "--epochs", args.epochs, "--min-epochs", args.min_epochs,
              "--batch-size", args.batch_size, "--random-state", args.random_state]
    if args.n_samples is not None:
        common += ["--n-samples", args.n_samples]
    rows, started = [], None
    labels = ["halving (continued)", "halving (retrained)", "random"]
    for i, label in enumerate(labels, 1):
        extra = ["--candidates", json.dumps(started)] if label == "random" else []
        row, process_s = _common.fresh_process(__file__, ["--worker", label, *common, *extra])
        started = started or row["started"]
        row["cold_s"] = process_s
        rows.append(row)
        print(f"{label} ({i}/{len(labels)}) ... cold {process_s:.1f}s, warm {row['warm_s']:.1f}s, "
              f"{row['epochs_trained']} epochs", flush=True)
    base = rows[-1]  # random
    for r in rows:
        r["epochs_ratio"] = r["epochs_trained"] / base["epochs_trained"]
        r["warm_ratio"] = r["warm_s"] / base["warm_s"]
        r["cold_ratio"] = r["cold_s"] / base["cold_s"]
    same = rows[0]["mean_test_scores"] == rows[1]["mean_test_scores"]
    print(f"# continued and retrained halving: identical scores: {same}")
    return _common.finish(
        __file__, env, rows,
        ["search", "candidates", "epochs_trained", "cold_s", "warm_s", "best_cv", "test_score",
         "epochs_ratio", "cold_ratio", "warm_ratio"],
        "cold: wall time of the search's fresh process (imports, an untimed 1-epoch warm-up "
        "fit, the search, the held-out score, exit); warm: the search alone in that process; "
        "ratios: this search / random search over the same starting candidates, same run; "
        "epochs counted over all fits of all folds and the refit",
        extra={"data": data_name, "folds": args.cv, "max_epochs": args.epochs,
               "min_epochs": args.min_epochs, "factor": 3, "candidates": started,
               "continued_equals_retrained": same}, out=args.out)


if __name__ == "__main__":
    sys.exit(main())
