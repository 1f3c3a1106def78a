"""Epoch-budget halving that continues training, against plain random search.

Question: how many epochs, and how much time, does successive halving over
the epoch budget save, and does it find as good a model?  Three searches
over the same ``paper_space()`` candidates (``random_state``), 3-fold CV,
batch 128, on MNIST's 10k test split (75% searched, 25% held out) or digits:

* random: ``RandomizedSearchCV``, every candidate trained ``--epochs`` epochs;
* halving (scratch): ``HalvingRandomSearchCV(resource="epochs", factor=3)``,
  each promoted candidate retrained from scratch (no fit cache);
* halving (continued): the same with a fit cache, so a candidate promoted
  from k to 3k epochs trains only the 2k extra epochs.

Epochs are counted as actually trained (one line per epoch from
``verbose=1``), summed over all fits including the refit.

Sample output (2 cores)::

    search               epochs_trained  wall_s  best_cv  test_score  epochs_ratio  wall_ratio
    random                          ...
"""

import argparse
import contextlib
import io
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _common.add_search_args(parser, n_iter=27, epochs=9)
    args = parser.parse_args(argv)
    from sklearn.model_selection import StratifiedKFold, train_test_split

    from skkeras_search import KerasMLPClassifier, paper_space
    from skkeras_search._search import build_search

    X, y, data_name = _common.load_data(n_samples=args.n_samples)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, stratify=y,
                                              random_state=args.random_state)
    env = _common.environment()
    print(_common.env_line(env))
    print(f"# data: {data_name}, {len(X_tr)} searched, {len(X_te)} held out; {args.n_iter} "
          f"candidates, {args.cv}-fold, up to {args.epochs} epochs, batch {args.batch_size}",
          flush=True)
    KerasMLPClassifier(epochs=1).fit(X_tr[:300], y_tr[:300])  # untimed warm-up: tracing
    rows = []
    runs = [("random", "random", False), ("halving (scratch)", "halving", False),
            ("halving (continued)", "halving", True)]
    for i, (label, strategy, cached) in enumerate(runs, 1):
        with tempfile.TemporaryDirectory() as cache_dir:
            clf = KerasMLPClassifier(epochs=args.epochs, batch_size=args.batch_size, verbose=1,
                                     random_state=args.random_state, n_iter_no_change=10**6,
                                     cache_dir=cache_dir if cached else None)
            search = build_search(
                strategy, clf, paper_space(), n_iter=args.n_iter,
                cv=StratifiedKFold(args.cv, shuffle=True, random_state=args.random_state),
                scoring="accuracy", n_jobs=1, random_state=args.random_state,
                epochs=args.epochs,
            )
            log = io.StringIO()
            with contextlib.redirect_stdout(log):
                _, wall = _common.timed(lambda: search.fit(X_tr, y_tr))
                test = search.score(X_te, y_te)
        trained = sum(line.startswith("Epoch ") for line in log.getvalue().splitlines())
        rows.append({"search": label, "epochs_trained": trained, "wall_s": wall,
                     "best_cv": float(search.best_score_), "test_score": float(test),
                     "best_params": search.best_params_})
        print(f"{label} ({i}/{len(runs)}) ... {wall:.1f}s, {trained} epochs", flush=True)
    base = rows[0]
    for r in rows:
        r["epochs_ratio"] = r["epochs_trained"] / base["epochs_trained"]
        r["wall_ratio"] = r["wall_s"] / base["wall_s"]
    return _common.finish(
        __file__, env, rows,
        ["search", "epochs_trained", "wall_s", "best_cv", "test_score", "epochs_ratio",
         "wall_ratio"],
        "ratios: this search / random search, same run; epochs counted over all fits of all "
        "folds and the refit",
        extra={"data": data_name}, out=args.out)


if __name__ == "__main__":
    sys.exit(main())
