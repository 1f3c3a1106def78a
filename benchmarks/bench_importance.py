"""Which of the paper's two hyperparameters matters: PED-ANOVA and fANOVA on random searches.

Question: Bergstra and Bengio (2012) argue that random search beats grid
search because few hyperparameters matter; for a one-layer MLP the learning
rate should. Do both of the analysis wing's evaluators (Optuna's PED-ANOVA,
Watanabe et al. 2023, and fANOVA, Hutter et al. 2014, through
``skkeras_search.analysis.param_importances``) find ``learning_rate`` more
important than ``hidden_units`` on both data sets?

Search: scikit-learn's ``RandomizedSearchCV`` (plain random search, every
candidate at the full budget) of ``KerasMLPClassifier`` over
``paper_space()`` (``hidden_units`` 16..496 step 32, ``learning_rate``
log-uniform on [1e-5, 1]), ``--n-iter`` (32) candidates, 3-fold
``StratifiedKFold(shuffle=True, random_state=seed)``, ``--epochs`` (10)
epochs, batch 128, ``error_score=nan`` (diverged fits at learning rates near
1 are counted and reported; the evaluators see the finite rows only),
``refit=False``, ``n_jobs=1``. Each seed of ``--repeats`` (3, from
``--random-state``) seeds the sampler, the folds and the estimator.

Data: (a) scikit-learn's digits (1797 x 64, pixels / 16); (b) a stratified
``--n-samples`` (3000) of MNIST's 10k test split
(``../shared/datasets/mnist-test``, pixels / 255), skipped with a note when
missing. Timing does not matter here; all runs share one process.

Output: one row per (data, seed) with both evaluators' learning_rate share,
the best CV score and the failed fits; a summary line per data set; the raw
rows with every ``analyse()`` result in ``results/bench_importance.json``,
a markdown table in ``results/bench_importance.md`` and the importance plot
of each data set's first seed (``results/bench_importance-<data>.png``).

Sample output (2 cores shared with other work, defaults, 4.8 min; full run in
``results/bench_importance.txt``)::

    data        seed  lr_ped  lr_fanova        top_ped     top_fanova  best_cv  n_rows  failed  tied  wall_s
    digits        42  0.9856     0.9261  learning_rate  learning_rate   0.9722      32       0    18   22.45
    digits        43  0.8092     0.9717  learning_rate  learning_rate   0.9655      32       0    10   16.19
    digits        44  0.8092     0.9387  learning_rate  learning_rate   0.9672      32       0    18   14.94
    mnist-3000    42  0.9932     0.9928  learning_rate  learning_rate   0.9323      32       0    12   87.85
    mnist-3000    43  0.9578     0.9264  learning_rate  learning_rate   0.9327      32       0    13   76.67
    mnist-3000    44  0.9008     0.8858  learning_rate  learning_rate   0.9383      32       0    15   71.82

learning_rate came first in every seed on both data sets by both evaluators
(shares 0.81 to 0.99); no fit diverged at 10 epochs, so every row counted.
Three folds test weakly: 10 to 18 of the 32 candidates are tied with the best.
"""

import argparse
import contextlib
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402
import numpy as np  # noqa: E402


def datasets(n_samples, seed):
    """``[(name, X, y)]``: digits, and a stratified MNIST subset when the files are there."""
    from sklearn.model_selection import train_test_split

    out = []
    X, y, _ = _common.load_data(prefer_mnist=False)
    out.append(("digits", X, y))
    if os.path.isdir(_common.MNIST):
        X, y, _ = _common.load_data(prefer_mnist=True)
        X, _, y, _ = train_test_split(X, y, train_size=n_samples, stratify=y, random_state=seed)
        out.append((f"mnist-{n_samples}", X, y))
    else:
        print(f"# MNIST skipped: not found at {os.path.abspath(_common.MNIST)}")
    return out


def search(X, y, args, seed):
    """One random search of the paper's space; returns the fitted search."""
    from sklearn.model_selection import RandomizedSearchCV, StratifiedKFold

    from skkeras_search import KerasMLPClassifier, paper_space

    est = KerasMLPClassifier(epochs=args.epochs, batch_size=args.batch_size, random_state=seed)
    folds = StratifiedKFold(args.cv, shuffle=True, random_state=seed)
    rs = RandomizedSearchCV(est, paper_space(), n_iter=args.n_iter, cv=folds,
                            random_state=seed, error_score=np.nan, refit=False, n_jobs=1)
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        return rs.fit(X, y)


def row_of(name, seed, rs, analysis, wall):
    """The table row of one search."""
    scores = np.asarray(rs.cv_results_["mean_test_score"], dtype=float)
    imp = analysis["importance"]
    ped = imp.get("values", {})
    fan = imp.get("fanova", {}).get("values", {})
    ties = analysis["ties"]
    return {"data": name, "seed": seed, "lr_ped": ped.get("learning_rate"),
            "lr_fanova": fan.get("learning_rate"), "top_ped": next(iter(ped), None),
            "top_fanova": next(iter(fan), None), "best_cv": float(np.nanmax(scores)),
            "n_rows": imp.get("n_rows"), "failed": int((~np.isfinite(scores)).sum()),
            "tied": sum(r["tied"] for r in ties.get("rows", [])), "wall_s": wall,
            "error": imp.get("error")}


def summary(rows):
    """One line per data set: how often learning_rate came first, by each evaluator."""
    lines = []
    for name in dict.fromkeys(r["data"] for r in rows):
        mine = [r for r in rows if r["data"] == name]
        ped = sum(r["top_ped"] == "learning_rate" for r in mine)
        fan = sum(r["top_fanova"] == "learning_rate" for r in mine)
        share = [r["lr_ped"] for r in mine if r["lr_ped"] is not None]
        fshare = [r["lr_fanova"] for r in mine if r["lr_fanova"] is not None]
        lines.append(
            f"{name}: learning_rate first in {ped}/{len(mine)} seeds by PED-ANOVA (share "
            f"{min(share):.3f}-{max(share):.3f}), {fan}/{len(mine)} by fANOVA (share "
            f"{min(fshare):.3f}-{max(fshare):.3f})")
    return lines


def markdown(rows, columns, lines, env, args):
    out = ["# bench_importance", "", _common.env_line(env).lstrip("# "), "",
           f"RandomizedSearchCV, paper_space(), {args.n_iter} candidates, {args.cv}-fold, "
           f"{args.epochs} epochs, batch {args.batch_size}", "",
           "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    out += ["| " + " | ".join(_common._fmt(r.get(c)) for c in columns) + " |" for r in rows]
    out += [""] + [f"- {line}" for line in lines]
    path = os.path.join(args.out or _common.RESULTS, "bench_importance.md")
    with open(path, "w") as fh:
        fh.write("\n".join(out) + "\n")
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _common.add_search_args(parser, n_iter=32, epochs=10)
    parser.set_defaults(n_samples=3000)
    parser.add_argument("--repeats", type=int, default=3, help="seeds per data set")
    args = parser.parse_args(argv)
    from skkeras_search.analysis import analyse, plot_importances

    env = _common.environment()
    print(_common.env_line(env))
    print(f"# RandomizedSearchCV of KerasMLPClassifier over paper_space(): {args.n_iter} "
          f"candidates x {args.cv}-fold, {args.epochs} epochs, batch {args.batch_size}, "
          f"{args.repeats} seeds from {args.random_state}", flush=True)
    rows, runs = [], []
    os.makedirs(args.out or _common.RESULTS, exist_ok=True)
    for name, X, y in datasets(args.n_samples, args.random_state):
        for rep in range(args.repeats):
            seed = args.random_state + rep
            start = time.perf_counter()
            rs = search(X, y, args, seed)
            wall = time.perf_counter() - start
            analysis = analyse(rs, random_state=seed)
            row = row_of(name, seed, rs, analysis, wall)
            rows.append(row)
            runs.append({"data": name, "seed": seed, "shape": list(X.shape),
                         "cv_results": {"params": rs.cv_results_["params"],
                                        "mean_test_score": rs.cv_results_["mean_test_score"]},
                         "analysis": analysis})
            if rep == 0 and "values" in analysis["importance"]:
                plot_importances(analysis["importance"], os.path.join(
                    args.out or _common.RESULTS, f"bench_importance-{name.split('-')[0]}.png"))
            print(f"{name} {X.shape} seed {seed} ... {wall:.0f}s, best CV {row['best_cv']:.4f}, "
                  f"learning_rate share {row['lr_ped']} (PED-ANOVA), {row['lr_fanova']} "
                  f"(fANOVA), {row['failed']} failed", flush=True)
    columns = ["data", "seed", "lr_ped", "lr_fanova", "top_ped", "top_fanova", "best_cv",
               "n_rows", "failed", "tied", "wall_s"]
    lines = summary(rows)
    print("\n".join([""] + lines))
    markdown(rows, columns, lines, env, args)
    return _common.finish(
        __file__, env, rows, columns,
        "lr_ped / lr_fanova: learning_rate's share of importance by PED-ANOVA / fANOVA "
        "(hidden_units has the rest); top_*: the most important parameter; n_rows: finite "
        "full-budget rows the evaluators saw; failed: fits that diverged (NaN); tied: "
        "candidates the corrected t-test cannot tell from the best at alpha=0.05",
        extra={"summary": lines, "runs": runs, "n_iter": args.n_iter, "folds": args.cv,
               "epochs": args.epochs, "batch_size": args.batch_size}, out=args.out)


if __name__ == "__main__":
    sys.exit(main())
