"""``skkeras-search``: the paper's random search, end to end, as one command.

The only module that prints or exits. ``main(argv)`` returns the exit code:
0 on success, 2 on usage errors (bad flags, missing files, unknown
columns), 1 on runtime failures (unusable data, every fit failed), 130 on
Ctrl-C after keeping what was finished.
"""

import argparse
import contextlib
import os
import sys
import time
import traceback
import warnings

import numpy as np

from skkeras_search.cli._plan import STRATEGIES

EXAMPLES = """\
examples:
  # the paper's search on scikit-learn's bundled digits (no download)
  skkeras-search --out results

  # MNIST-format IDX files, 30 candidates, 2 worker processes
  skkeras-search --data path/to/mnist-folder --n-iter 30 --n-jobs 2 --out mnist-results

  # your own CSV with a label column
  skkeras-search --data table.csv --target label --cv 5 --scoring balanced_accuracy

  # Hyperband over up to 27 epochs; after a crash or Ctrl-C, add --resume
  skkeras-search --strategy hyperband --epochs 27 --out hyperband
  skkeras-search --strategy hyperband --epochs 27 --out hyperband --resume

  # model-based: TPE (Optuna) with 40 candidates, or BOHB; TensorBoard HParams too
  skkeras-search --strategy tpe --n-iter 40 --tensorboard --out tpe

  # on a Dask cluster (pip install 'skkeras-search[dask]')
  skkeras-search --scheduler tcp://scheduler-host:8786 --n-iter 100 --out big

Load the saved best model and predict on raw features:
  from skkeras_search.persistence import load_model
  model = load_model("results/best_model"); model.predict(X_raw)
"""


def build_parser():
    from skkeras_search._version import __version__

    parser = argparse.ArgumentParser(
        prog="skkeras-search",
        description=(
            "Random search over a Keras MLP's hidden_units (16..496, step 32) and "
            "learning_rate (log-uniform on [1e-5, 1]) with scikit-learn's "
            "RandomizedSearchCV, cross-validated; the best model is refit and scored on a "
            "held-out test split. Tables are imputed, standardised and one-hot encoded inside "
            "the searched pipeline (each fold fits its own preprocessing). Writes "
            "cv_results.csv, report.json, PNG plots and the best model (best_model/: the "
            "whole pipeline as pipeline.skops, the network as model.keras, metadata.json) to "
            "--out. Progress goes to stderr, the summary to stdout."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    data = parser.add_argument_group("data")
    data.add_argument("--dataset", choices=["digits", "mnist"], default="digits",
                      help="bundled dataset when --data is not given (default: digits; "
                           "mnist downloads through Keras)")
    data.add_argument("--data", metavar="PATH",
                      help="your data: a table (.csv, .tsv, .txt, optionally .gz/.zip/.bz2/.xz, "
                           "or .parquet) with --target, an .npz holding X and y, or a folder "
                           "of MNIST-format IDX files")
    data.add_argument("--target", metavar="COLUMN", help="label column of a table")
    data.add_argument("--drop", metavar="COL[,COL...]", type=_names, action="extend", default=[],
                      help="table columns to leave out (e.g. an identifier); repeatable")
    data.add_argument("--categorical", metavar="COL[,COL...]", type=_names, action="extend", default=[],
                      help="numeric-looking table columns to one-hot encode as categories "
                           "(e.g. a code); repeatable")
    data.add_argument("--drop-missing-target", action="store_true",
                      help="leave out rows whose label is missing (default: refuse them)")
    data.add_argument("--sep", metavar="CHAR",
                      help="table delimiter (default: detected among , ; tab |)")
    data.add_argument("--decimal", metavar="CHAR",
                      help="decimal mark (default: '.', or ',' when the file writes 1,5)")
    data.add_argument("--encoding", metavar="NAME",
                      help="table text encoding (default: UTF-8, with or without BOM)")
    data.add_argument("--na-values", metavar="TEXT[,TEXT...]", type=_names, action="extend", default=[],
                      help="more cell texts meaning 'missing' (always: empty, ?, NA, NaN, "
                           "null, N/A, None); repeatable")
    data.add_argument("--task", choices=["auto", "classification", "regression"],
                      default="auto",
                      help="what the target is; auto: a numeric target with more than 20 "
                           "distinct values is regression (KerasMLPRegressor on standardised "
                           "targets), anything else classification (default: auto)")
    data.add_argument("--test-size", type=float, default=0.25,
                      help="fraction held out (stratified) for the final test (default: 0.25)")
    search = parser.add_argument_group("search")
    search.add_argument("--n-iter", type=int, default=20,
                        help="candidates sampled from the space (default: 20)")
    search.add_argument("--cv", type=int, default=3, help="stratified folds (default: 3)")
    search.add_argument("--epochs", type=int, default=30,
                        help="training epochs per fit (default: 30)")
    search.add_argument("--batch-size", default="auto",
                        help="minibatch size, or 'auto' = min(200, n_samples) (default: auto)")
    search.add_argument("--n-jobs", type=int, default=1,
                        help="worker processes; each imports TensorFlow once (default: 1)")
    search.add_argument("--random-state", type=int, default=0,
                        help="seed of the sampling, the splits and every fit (default: 0)")
    search.add_argument("--scoring", default=None,
                        help="any scikit-learn scorer name (default: accuracy, or r2 for "
                             "regression)")
    search.add_argument("--space", metavar="FILE.json",
                        help="search space instead of the paper's, e.g. "
                             '{"hidden_units": {"int_range": [16, 496, 32]}, '
                             '"learning_rate": {"log_uniform": [1e-5, 1.0]}, '
                             '"optimizer": ["adam", "sgd"]}')
    search.add_argument("--strategy", choices=list(STRATEGIES), default="random",
                        help="random: RandomizedSearchCV; grid: GridSearchCV over about --n-iter "
                             "points; tpe: Optuna's TPE, --n-iter candidates in fixed batches; "
                             "halving, hyperband, bohb: Hyperband's brackets over the epoch "
                             "budget (one bracket, all brackets, TPE proposals), --epochs is the "
                             "full budget and promoted candidates continue training "
                             "(default: random)")
    search.add_argument("--scheduler", metavar="ADDRESS",
                        help="run the fits on a Dask cluster: a scheduler address such as "
                             "tcp://10.0.0.5:8786, or 'local' for a cluster on this machine "
                             "(needs the dask extra)")
    search.add_argument("--resume", action="store_true",
                        help="reuse the fits an earlier, interrupted run with the same --out "
                             "finished (from its fit cache) instead of training them again")
    search.add_argument("--cache-dir", metavar="DIR",
                        help="fit cache folder (default: OUT/fit-cache)")
    search.add_argument("--no-cache", action="store_true",
                        help="keep no fit cache (no --resume, halving retrains from scratch)")
    out = parser.add_argument_group("output")
    out.add_argument("--out", default="skkeras-search-out", metavar="DIR",
                     help="folder for the results (default: skkeras-search-out)")
    out.add_argument("--top", type=int, default=5, help="rows of the summary table (default: 5)")
    out.add_argument("--tensorboard", action="store_true",
                     help="also write the search to OUT/tensorboard in TensorBoard's HParams "
                          "format (needs the tensorboard package)")
    out.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    out.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def _names(text):
    """'a,b' -> ['a', 'b'] (argparse type of the column-list flags)."""
    return [name.strip() for name in text.split(",") if name.strip()]


def run(args, argv, stdout, stderr):
    """The experiment; returns the exit code."""
    from skkeras_search._core.fit_cache import clear
    from skkeras_search.cli import _report
    from skkeras_search.cli._inputs import check_args, check_writable, make_dir

    check_args(args)
    check_writable(args.out)
    cache_dir = None if args.no_cache else (args.cache_dir or os.path.join(args.out, "fit-cache"))
    if cache_dir is not None:
        check_writable(cache_dir, flag="--cache-dir")
    started = time.time()
    data = _prepare_data(args, stderr)
    space = _space(args)
    _warn_small_space(args, space, stderr)
    search, total_fits = _build_search(args, data, space, cache_dir)
    # Every argument and the data are valid: only now touch --out and earlier
    # results. progress.jsonl describes this run only (a resumed run re-scores
    # what it loads from the cache); without --resume the cache starts empty.
    make_dir(args.out)
    if cache_dir is not None:
        make_dir(cache_dir, flag="--cache-dir")
        if not args.resume:
            clear(cache_dir)
    progress_path = os.path.join(args.out, "progress.jsonl")
    if os.path.exists(progress_path):
        os.remove(progress_path)
    if not args.quiet:
        stderr.write(_header(args, data, space, total_fits))
    report = _report_header(args, argv, data, space, cache_dir)
    if args.resume:
        _check_resumed_folds(args.out, report["search"]["cv_splits_digest"], stderr)
    code = _fit(search, data, args, report, progress_path, total_fits, cache_dir, started, stderr)
    if code:
        return code
    results = _write_results(search, data, args, report, cache_dir, started)
    stdout.write(_report.summary(results, args.out, cache_dir, time.time() - started))
    stdout.flush()
    return 0


def _space(args):
    """The searched space: --space's file or the paper's (a grid of it for --strategy grid)."""
    from skkeras_search.cli._inputs import UsageError, load_space
    from skkeras_search.cli._plan import MULTI_FIDELITY, grid_for
    from skkeras_search.space import paper_space

    if not args.space:
        return grid_for(args.n_iter) if args.strategy == "grid" else paper_space()
    space = load_space(args.space)
    if args.strategy == "grid":
        ranges = [k for k, v in space.items() if not isinstance(v, list)]
        if ranges:
            raise UsageError(f"--strategy grid needs a list of values for every parameter of "
                             f"--space, but {ranges[0]!r} is a distribution. Write it as a list, "
                             "e.g. [0.001, 0.01, 0.1].")
    if args.strategy in MULTI_FIDELITY and "epochs" in space:
        raise UsageError(f"--strategy {args.strategy} sets the epoch budget itself, but --space "
                         "has 'epochs'. Remove it from the space and use --epochs for the full "
                         "budget.")
    return space


def _warn_small_space(args, space, stderr):
    from skkeras_search.cli._plan import MULTI_FIDELITY, brackets_for, space_size

    size = space_size(space)
    if size is None:
        return
    if args.strategy in MULTI_FIDELITY:
        asked = max(b.n_candidates[0] for b in brackets_for(args.strategy, args.epochs))
        why = f"with --epochs {args.epochs} its largest bracket starts {asked} candidates"
    elif args.strategy == "random":
        asked, why = args.n_iter, f"--n-iter {args.n_iter} asks for more"
    else:
        return
    if size < asked:
        stderr.write(f"skkeras-search: warning: --space has only {size} points; "
                     f"{args.strategy} search evaluates each at most once per round "
                     f"({why}). Widen the space, or use --strategy grid to evaluate each "
                     "point once.\n")


def _prepare_data(args, stderr):
    """Load, choose columns, split and check the scorer; warnings go to stderr."""
    from types import SimpleNamespace

    from skkeras_search import datasets
    from skkeras_search.cli._inputs import UsageError, check_scoring, split
    from skkeras_search.datasets._preprocessing import DataWarning, select_features

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataWarning)
        ds = datasets.load(args.dataset, args.data, args.target, sep=args.sep,
                           decimal=args.decimal, encoding=args.encoding,
                           na_values=args.na_values, drop_missing_target=args.drop_missing_target,
                           task=args.task)
        columns, categorical, dropped = None, [], {}
        if ds.kind == "table":
            columns, categorical, dropped = select_features(
                ds.X, args.target, drop=args.drop, categorical=args.categorical, lines=ds.lines,
                name=args.data or ds.name)
            ds.X = ds.X[columns]
        elif args.drop or args.categorical:
            raise UsageError(f"--drop and --categorical name table columns, but {ds.name} holds "
                             "images. Drop those flags.")
    messages = [" ".join(str(w.message).split()) for w in caught
                if issubclass(w.category, DataWarning)]
    for message in messages:
        stderr.write(f"skkeras-search: warning: {message}\n")
    regression = ds.task == "regression"
    if args.scoring is None:
        args.scoring = "r2" if regression else "accuracy"
    X_tr, X_te, y_tr, y_te, idx_te = split(ds, args)
    check_scoring(args.scoring, y_tr, ds.task)
    return SimpleNamespace(ds=ds, columns=columns, categorical=categorical, dropped=dropped,
                           warnings=messages, X_tr=X_tr, X_te=X_te, y_tr=y_tr, y_te=y_te,
                           idx_te=idx_te, regression=regression,
                           n_classes=None if regression else len(np.unique(ds.y)),
                           prefix="regressor__regressor__" if regression else "classifier__")


def _build_search(args, data, space, cache_dir):
    from sklearn.model_selection import KFold, StratifiedKFold

    from skkeras_search.cli._plan import MULTI_FIDELITY, build_search, expected_fits
    from skkeras_search.cli._progress import ProgressScorer
    from skkeras_search.datasets._preprocessing import build_pipeline
    from skkeras_search.mlp._classifier import KerasMLPClassifier
    from skkeras_search.mlp._regressor import KerasMLPRegressor

    settings = dict(epochs=args.epochs, batch_size=args.batch_size,
                    random_state=args.random_state, cache_dir=cache_dir)
    if data.regression:  # targets standardised inside each fold, predictions in their units
        from sklearn.compose import TransformedTargetRegressor
        from sklearn.preprocessing import StandardScaler

        estimator = TransformedTargetRegressor(KerasMLPRegressor(**settings),
                                               transformer=StandardScaler())
    else:
        estimator = KerasMLPClassifier(**settings)
    pipeline = build_pipeline(estimator, columns=data.columns, categorical=data.categorical,
                              na_values=args.na_values, final="regressor" if data.regression
                              else "classifier",
                              image_max=data.ds.image_max if data.ds.kind == "images" else None)
    p = data.prefix
    space = {f"{p}{name}": dist for name, dist in space.items()}
    keys = list(space) + ([f"{p}epochs"] if args.strategy in MULTI_FIDELITY else [])
    folds = (KFold if data.regression else StratifiedKFold)(args.cv, shuffle=True,
                                                           random_state=args.random_state)
    search = build_search(
        args.strategy, pipeline, space, n_iter=args.n_iter, cv=folds,
        scoring=ProgressScorer(args.scoring, os.path.join(args.out, "progress.jsonl"), keys=keys),
        n_jobs=-1 if args.scheduler else args.n_jobs,  # Dask decides where fits run
        random_state=args.random_state, epochs=args.epochs, resource=f"{p}epochs",
    )
    return search, expected_fits(args.strategy, args.n_iter, args.cv, args.epochs, space)


def _header(args, data, space, total_fits):
    ds = data.ds
    if ds.kind == "table":
        columns = (f"{len(data.columns)} feature columns ({len(data.columns) - len(data.categorical)}"
                   f" numeric, {len(data.categorical)} categorical)")
    else:
        columns = f"{ds.n_features} features"
    from skkeras_search.cli._plan import MULTI_FIDELITY, n_candidates

    notes = "".join(f"; {note}" for note in ds.notes)
    count = n_candidates(args.strategy, args.n_iter, args.epochs, space)
    budget = (f"Hyperband brackets up to {args.epochs} epochs, candidate counts from --epochs"
              if args.strategy in MULTI_FIDELITY else f"{args.epochs} epochs each")
    return (
        f"skkeras-search: {ds.name}, {len(ds.y)} samples x {columns}, {_target_text(args, data)}"
        f"{notes}; {len(data.y_tr)} for the search, {len(data.y_te)} held out. "
        f"{args.strategy} search: {count} candidates ({budget}), {args.cv} folds, "
        f"{total_fits} fits.\n"
    )


def _target_text(args, data):
    if not data.regression:
        return f"{data.n_classes} classes"
    how = (f"auto: {len(np.unique(data.ds.y))} distinct numeric values; --task classification "
           "to override" if args.task == "auto" else "--task regression")
    return f"regression target ({how})"


def _cv_digest(cv, data):
    """The digest of the folds every candidate is scored on (the searches split once)."""
    from sklearn.model_selection import check_cv

    from skkeras_search.search._folds import splits_digest

    folds = check_cv(cv, data.y_tr, classifier=not data.regression)
    return splits_digest(list(folds.split(data.X_tr, data.y_tr)), len(data.y_tr))


def _check_resumed_folds(out, digest, stderr):
    """Warn when --resume scores on other folds than the run it continues (per its report)."""
    import json

    try:
        with open(os.path.join(out, "report.json")) as fh:
            earlier = json.load(fh).get("search", {}).get("cv_splits_digest")
    except (OSError, ValueError, AttributeError):
        return
    if earlier is not None and earlier != digest:
        stderr.write(
            "skkeras-search: warning: --resume: the folds differ from those of the run in "
            f"{out}/report.json (the data, --cv, --test-size or --random-state changed), so its "
            "cached fits are not reused; every fit runs on the new folds.\n"
        )


def _report_header(args, argv, data, space, cache_dir):
    from skkeras_search.cli._inputs import versions

    ds = data.ds
    return {
        "command": ["skkeras-search", *argv],
        "versions": versions(),
        "data": {"name": ds.name, "n_samples": int(len(ds.y)), "n_features": ds.n_features,
                 "task": ds.task,
                 "n_classes": None if data.regression else int(data.n_classes),
                 "n_train": int(len(data.y_tr)),
                 "n_test": int(len(data.y_te))},
        "random_state": args.random_state,
        "search": {"space": {k: repr(v) for k, v in space.items()}, "n_iter": args.n_iter,
                   "cv": args.cv, "epochs": args.epochs, "batch_size": args.batch_size,
                   "cv_splits_digest": _cv_digest(args.cv, data),
                   "n_jobs": args.n_jobs, "scoring": args.scoring, "strategy": args.strategy,
                   "scheduler": args.scheduler, "resume": args.resume, "cache_dir": cache_dir,
                   "tensorboard": args.tensorboard},
    }


def _fit(search, data, args, report, progress_path, total_fits, cache_dir, started, stderr):
    """Run the search; returns None, or 130 after Ctrl-C (having written report.json)."""
    from sklearn.exceptions import ConvergenceWarning, FitFailedWarning

    from skkeras_search.cli import _report
    from skkeras_search.cli._plan import execution
    from skkeras_search.cli._progress import ProgressMonitor, read_progress
    from skkeras_search.search import SearchWarning

    monitor = None
    if not args.quiet:
        monitor = ProgressMonitor(progress_path, total_fits, args.cv, stderr)
        monitor.start()
    try:
        with warnings.catch_warnings(record=True) as caught, \
                contextlib.redirect_stdout(stderr):
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("always", FitFailedWarning)
            warnings.simplefilter("always", SearchWarning)  # even under python -W ignore
            with execution(args.scheduler):
                search.fit(data.X_tr, data.y_tr)
    except KeyboardInterrupt:
        if monitor:
            monitor.stop()
        done = read_progress(progress_path)
        report.update(status="interrupted", fits_finished=len(done), finished_fits=done,
                      elapsed_s=time.time() - started)
        _write(os.path.join(args.out, "report.json"), _report.to_json(report))
        stderr.write(f"\ninterrupted: {len(done)} finished fits kept in "
                     f"{os.path.join(args.out, 'progress.jsonl')} and report.json"
                     + ("; rerun the same command with --resume to continue\n"
                        if cache_dir else "\n"))
        return 130
    except ValueError as exc:
        if "fits failed" not in str(exc):
            raise
        reasons = _failure_reasons([warnings.WarningMessage(str(exc), FitFailedWarning, "", 0)],
                                   FitFailedWarning)
        raise RuntimeError(
            f"every fit failed; the first reason: {reasons[0] if reasons else str(exc)[:300]}"
        ) from exc
    except Exception as exc:
        if type(exc).__name__ in ("TerminatedWorkerError", "BrokenProcessPool"):
            done = read_progress(progress_path)
            raise RuntimeError(
                f"a worker process died (killed, or out of memory) after {len(done)} finished "
                "fits. "
                + ("They are cached: rerun the same command with --resume to finish without "
                   "redoing them." if cache_dir else "Rerun without --no-cache to make "
                   "searches resumable.")
            ) from exc
        raise
    finally:
        if monitor and monitor.is_alive():
            monitor.stop()
    report["failures"] = _failure_reasons(caught, FitFailedWarning)
    report["search_warnings"] = _search_warnings(caught, stderr)
    return None


def _search_warnings(caught, stderr):
    """The search's own warnings (rows it could not keep, a best below the full budget):
    written to stderr and returned for report.json."""
    from skkeras_search.search import SearchWarning

    messages = list(dict.fromkeys(str(w.message) for w in caught
                                  if issubclass(w.category, SearchWarning)))
    for message in messages:
        stderr.write(f"skkeras-search: warning: {message}\n")
    return messages


def _write_results(search, data, args, report, cache_dir, started):
    """Score the refit pipeline on the held-out rows; write every file; returns the report."""
    from sklearn.metrics import get_scorer

    from skkeras_search._core.fit_cache import disk_usage
    from skkeras_search._core.validation import fitted_network
    from skkeras_search.cli import _plots, _report
    from skkeras_search.cli._progress import read_progress
    from skkeras_search.datasets._preprocessing import describe
    from skkeras_search.persistence import save_model

    _remove_stale_outputs(args.out)
    best = search.best_estimator_
    classifier = fitted_network(best)
    results = _report.unprefixed(search.cv_results_, data.prefix)
    failures = report["failures"]
    test_score = float(get_scorer(args.scoring)(best, data.X_te, data.y_te))
    _write(os.path.join(args.out, "cv_results.csv"), _report.cv_results_csv(results))
    _write(os.path.join(args.out, "test_predictions.csv"),
           _report.predictions_csv(data.idx_te, data.y_te, best.predict(data.X_te)))
    plots = {"score_vs_learning_rate": "score_vs_learning_rate.png",
             "score_vs_hidden_units": "score_vs_hidden_units.png",
             "search_history": "search_history.png",
             "best_loss_curve": "best_loss_curve.png"}
    if {"param_learning_rate", "param_hidden_units"} <= set(results):
        _plots.plot_search(results, os.path.join(args.out, plots["score_vs_learning_rate"]),
                           os.path.join(args.out, plots["score_vs_hidden_units"]), args.scoring,
                           args.strategy, args.epochs)
    else:  # a custom --space without both of the paper's parameters
        del plots["score_vs_learning_rate"], plots["score_vs_hidden_units"]
    _plots.plot_history(results, os.path.join(args.out, plots["search_history"]), args.scoring,
                        args.strategy, args.epochs, args.cv)
    _plots.plot_loss_curve(classifier.loss_curve_,
                           os.path.join(args.out, plots["best_loss_curve"]))
    if data.regression:
        plots["predicted_vs_true"] = "predicted_vs_true.png"
        _plots.plot_predicted_vs_true(data.y_te, best.predict(data.X_te),
                                      os.path.join(args.out, plots["predicted_vs_true"]),
                                      args.scoring, test_score)
    if args.tensorboard:
        from skkeras_search.cli._tensorboard import write_hparams

        write_hparams(results, os.path.join(args.out, "tensorboard"), args.scoring, args.epochs)
    preprocessing = describe(best, data.X_tr, data.dropped)
    preprocessing.update(notes=data.ds.notes, warnings=data.warnings)
    save_model(os.path.join(args.out, "best_model"), best,
               extra={"data": data.ds.name, "image_shape": data.ds.image_shape,
                      "preprocessing": preprocessing})
    best_params = {k.removeprefix(data.prefix): v for k, v in search.best_params_.items()}
    n_failed = int(np.isnan(np.asarray(results["mean_test_score"], float)).sum())
    report.update(
        status="finished",
        preprocessing=preprocessing,
        best_params=best_params,
        best_cv_score=float(search.best_score_),
        test_score=test_score,
        refit_epochs=int(classifier.n_iter_),
        n_candidates=len({repr(sorted(p.items())) for p in _candidate_params(results)}),
        n_failed_candidates=n_failed,
        failed_candidates=_report.failed_rows(results, failures),
        cache_bytes=disk_usage(cache_dir) if cache_dir else None,
        top=_report.top_rows(_report.final_budget(results), args.top, failures),
        fits=_report.fit_counts(read_progress(os.path.join(args.out, "progress.jsonl")),
                                classifier),
        files={**plots, "cv_results": "cv_results.csv", "best_model": "best_model/",
               "test_predictions": "test_predictions.csv",
               **({"tensorboard": "tensorboard/"} if args.tensorboard else {})},
        elapsed_s=time.time() - started,
    )
    _write(os.path.join(args.out, "report.json"), _report.to_json(report))
    return report


#: Files and folders of --out that the command writes (only some in a given run).
_OWNED_OUTPUTS = ("score_vs_learning_rate.png", "score_vs_hidden_units.png", "search_history.png",
                  "best_loss_curve.png", "predicted_vs_true.png", "tensorboard")


def _remove_stale_outputs(out):
    """Remove what an earlier run wrote and this one may not rewrite (a reused --out).

    Only the command's own plots and its TensorBoard folder; everything else in
    --out is the user's, and the other result files are replaced atomically.
    """
    import shutil

    for name in _OWNED_OUTPUTS:
        path = os.path.join(out, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)


def _candidate_params(cv_results):
    """Each row's parameters without the epoch budget (one candidate may have several rows)."""
    budgeted = "n_resources" in cv_results
    return [{k: v for k, v in p.items() if not (budgeted and k == "epochs")}
            for p in cv_results["params"]]


def _failure_reasons(caught, category):
    """Distinct one-line reasons from scikit-learn's FitFailedWarning messages."""
    reasons = set()
    for w in caught:
        if issubclass(w.category, category):
            for line in str(w.message).splitlines():
                if "Error:" in line:
                    reasons.add(line.split("Error:", 1)[1].strip())
    return sorted(reasons)


def _write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _own_stderr():
    """A private copy of stderr, so silencing TensorFlow's fd 2 spares our output."""
    try:
        fd = os.dup(sys.stderr.fileno())
    except (AttributeError, OSError, ValueError):
        return sys.stderr  # not a real file (in-process capture)
    return os.fdopen(fd, "w", buffering=1)


def main(argv=None):
    """Entry point of ``skkeras-search``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 on usage errors, 0 on --help
    from skkeras_search.cli._inputs import UsageError
    from skkeras_search.cli._plan import SchedulerError
    from skkeras_search.exceptions import DataError, DataUsageError

    stderr = _own_stderr()
    try:
        return run(args, argv, sys.stdout, stderr)
    except (UsageError, DataUsageError, SchedulerError) as exc:
        if args.debug:
            traceback.print_exc()
        parser.print_usage(sys.stderr)
        sys.stderr.write(f"skkeras-search: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted\n")
        return 130
    except (DataError, Exception) as exc:  # noqa: B014 - one line, no traceback
        if args.debug:
            traceback.print_exc()
        kind = "" if isinstance(exc, DataError) else f"{type(exc).__name__}: "
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        sys.stderr.write(f"skkeras-search: error: {kind}{first}"
                         f"{'' if args.debug else ' (run with --debug for the traceback)'}\n")
        return 1


def console_main():
    """The ``skkeras-search`` console script: :func:`main`, then a quick exit.

    Everything is written and closed when ``main`` returns. Freezing the
    garbage collector then spares the process a one-by-one teardown of
    TensorFlow's objects at exit (about 0.9 s of a cold run, measured in
    ``benchmarks/bench_search.py``'s whole-process timings). Only the
    command's own process does this; ``main`` called from Python does not.
    """
    import gc

    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    gc.freeze()
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(console_main())
