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

EXAMPLES = """\
examples:
  # the paper's search on scikit-learn's bundled digits (no download)
  skkeras-search --out results

  # MNIST-format IDX files, 30 candidates, 2 worker processes
  skkeras-search --data path/to/mnist-folder --n-iter 30 --n-jobs 2 --out mnist-results

  # your own CSV with a label column
  skkeras-search --data table.csv --target label --cv 5 --scoring balanced_accuracy

  # successive halving over epochs; after a crash or Ctrl-C, add --resume
  skkeras-search --strategy halving --n-iter 27 --epochs 27 --out halving
  skkeras-search --strategy halving --n-iter 27 --epochs 27 --out halving --resume

  # on a Dask cluster (pip install 'skkeras-search[dask]')
  skkeras-search --scheduler tcp://scheduler-host:8786 --n-iter 100 --out big

Load the saved best model and predict on raw features:
  from skkeras_search.persistence import load_model
  model = load_model("results/best_model"); model.predict(X_raw)
"""


def build_parser():
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="skkeras-search",
        description=(
            "Random search over a Keras MLP's hidden_units (16..496, step 32) and "
            "learning_rate (log-uniform on [1e-5, 1]) with scikit-learn's "
            "RandomizedSearchCV, cross-validated; the best model is refit and scored on a "
            "held-out test split. Writes cv_results.csv, report.json, PNG plots and the "
            "best model (best_model/: model.keras + metadata.json) to --out. Progress goes "
            "to stderr, the summary to stdout."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    data = parser.add_argument_group("data")
    data.add_argument("--dataset", choices=["digits", "mnist"], default="digits",
                      help="bundled dataset when --data is not given (default: digits; "
                           "mnist downloads through Keras)")
    data.add_argument("--data", metavar="PATH",
                      help="your data: a .csv (with --target), an .npz holding X and y, or a "
                           "folder of MNIST-format IDX files")
    data.add_argument("--target", metavar="COLUMN", help="label column of a CSV file")
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
    search.add_argument("--scoring", default="accuracy",
                        help="any scikit-learn scorer name (default: accuracy)")
    search.add_argument("--space", metavar="FILE.json",
                        help="search space instead of the paper's, e.g. "
                             '{"hidden_units": {"int_range": [16, 496, 32]}, '
                             '"learning_rate": {"log_uniform": [1e-5, 1.0]}, '
                             '"optimizer": ["adam", "sgd"]}')
    search.add_argument("--strategy", choices=["random", "halving"], default="random",
                        help="random: RandomizedSearchCV; halving: HalvingRandomSearchCV over "
                             "the epoch budget, promoted candidates continue training "
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
    out.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    out.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def run(args, argv, stdout, stderr):
    """The experiment; returns the exit code."""
    from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
    from sklearn.metrics import get_scorer
    from sklearn.model_selection import StratifiedKFold

    from . import _plots, _report, datasets
    from ._cache import disk_usage
    from ._classifier import KerasMLPClassifier
    from ._prepare import check_args, check_scoring, load_space, prepare_out, split, versions
    from ._progress import ProgressMonitor, ProgressScorer, read_progress
    from ._search import build_search, execution, expected_fits
    from .persistence import save_model
    from .space import paper_space

    check_args(args)
    prepare_out(args.out)
    cache_dir = None if args.no_cache else (args.cache_dir or os.path.join(args.out, "fit-cache"))
    if cache_dir is not None:
        prepare_out(cache_dir, flag="--cache-dir")
    started = time.time()
    ds = datasets.load(args.dataset, args.data, args.target)
    X_tr, X_te, y_tr, y_te, idx_te = split(ds, args)
    check_scoring(args.scoring, X_tr, y_tr)
    n_classes = len(np.unique(ds.y))
    say = (lambda text: None) if args.quiet else stderr.write
    say(
        f"skkeras-search: {ds.name}, {len(ds.X)} samples x {ds.X.shape[1]} features, "
        f"{n_classes} classes; {len(X_tr)} for the search, {len(X_te)} held out. "
        f"{args.strategy} search: {args.n_iter} candidates, {args.cv} folds, "
        f"{expected_fits(args.strategy, args.n_iter, args.cv, args.epochs)} fits.\n"
    )
    space = load_space(args.space) if args.space else paper_space()
    # Every argument and the data are valid: only now touch earlier results.
    # progress.jsonl describes this run only (a resumed run re-scores what it
    # loads from the cache); without --resume the cache starts empty.
    progress_path = os.path.join(args.out, "progress.jsonl")
    if os.path.exists(progress_path):
        os.remove(progress_path)
    if cache_dir is not None and not args.resume:
        from ._cache import clear

        clear(cache_dir)
    estimator = KerasMLPClassifier(epochs=args.epochs, batch_size=args.batch_size,
                                   random_state=args.random_state, cache_dir=cache_dir)
    keys = list(space) + (["epochs"] if args.strategy == "halving" else [])
    search = build_search(
        args.strategy, estimator, space, n_iter=args.n_iter,
        cv=StratifiedKFold(args.cv, shuffle=True, random_state=args.random_state),
        scoring=ProgressScorer(args.scoring, progress_path, keys=keys),
        n_jobs=-1 if args.scheduler else args.n_jobs,  # Dask decides where fits run
        random_state=args.random_state, epochs=args.epochs,
    )
    total_fits = expected_fits(args.strategy, args.n_iter, args.cv, args.epochs)
    report = {
        "command": ["skkeras-search", *argv],
        "versions": versions(),
        "data": {"name": ds.name, "n_samples": int(len(ds.X)), "n_features": int(ds.X.shape[1]),
                 "n_classes": int(n_classes), "n_train": int(len(X_tr)),
                 "n_test": int(len(X_te))},
        "random_state": args.random_state,
        "search": {"space": {k: repr(v) for k, v in space.items()}, "n_iter": args.n_iter,
                   "cv": args.cv, "epochs": args.epochs, "batch_size": args.batch_size,
                   "n_jobs": args.n_jobs, "scoring": args.scoring, "strategy": args.strategy,
                   "scheduler": args.scheduler, "resume": args.resume, "cache_dir": cache_dir},
    }
    monitor = None
    if not args.quiet:
        monitor = ProgressMonitor(progress_path, total_fits, args.cv, stderr)
        monitor.start()
    try:
        with warnings.catch_warnings(record=True) as caught, \
                contextlib.redirect_stdout(stderr):
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("always", FitFailedWarning)
            with execution(args.scheduler):
                search.fit(X_tr, y_tr)
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
    failures = _failure_reasons(caught, FitFailedWarning)
    best = search.best_estimator_
    test_score = float(get_scorer(args.scoring)(best, X_te, y_te))

    # Files
    _write(os.path.join(args.out, "cv_results.csv"), _report.cv_results_csv(search.cv_results_))
    _write(os.path.join(args.out, "test_predictions.csv"),
           _report.predictions_csv(idx_te, y_te, best.predict(X_te)))
    plots = {"score_vs_learning_rate": "score_vs_learning_rate.png",
             "score_vs_hidden_units": "score_vs_hidden_units.png",
             "best_loss_curve": "best_loss_curve.png"}
    if {"param_learning_rate", "param_hidden_units"} <= set(search.cv_results_):
        _plots.plot_search(search.cv_results_,
                           os.path.join(args.out, plots["score_vs_learning_rate"]),
                           os.path.join(args.out, plots["score_vs_hidden_units"]), args.scoring)
    else:  # a custom --space without both of the paper's parameters
        del plots["score_vs_learning_rate"], plots["score_vs_hidden_units"]
    _plots.plot_loss_curve(best.loss_curve_, os.path.join(args.out, plots["best_loss_curve"]))
    save_model(os.path.join(args.out, "best_model"), best, scaling=ds.scaling,
               extra={"data": ds.name, "feature_names": ds.feature_names,
                      "image_shape": ds.image_shape})
    rows = _report.top_rows(search.cv_results_, args.top, failures)
    n_failed = int(np.isnan(np.asarray(search.cv_results_["mean_test_score"], float)).sum())
    report.update(
        status="finished",
        best_params=search.best_params_,
        best_cv_score=float(search.best_score_),
        test_score=test_score,
        refit_epochs=int(best.n_iter_),
        n_failed_candidates=n_failed,
        failures=failures,
        failed_candidates=_report.failed_rows(search.cv_results_, failures),
        cache_bytes=disk_usage(cache_dir) if cache_dir else None,
        top=rows,
        files={**plots, "cv_results": "cv_results.csv", "best_model": "best_model/",
               "test_predictions": "test_predictions.csv"},
        elapsed_s=time.time() - started,
    )
    _write(os.path.join(args.out, "report.json"), _report.to_json(report))

    # Summary
    best_txt = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in search.best_params_.items())
    stdout.write(
        f"Objective: mean CV {args.scoring} ({args.cv}-fold), {args.n_iter} candidates, "
        f"{n_failed} failed, {time.time() - started:.1f}s\n\n"
        f"{_report.format_table(rows)}\n\n"
        f"Best parameters: {best_txt}\n"
        f"Best CV {args.scoring}: {search.best_score_:.4f}\n"
        f"Held-out test {args.scoring} of the refit best model: {test_score:.4f} "
        f"({len(X_te)} samples)\n"
        f"Results written to {args.out}/\n"
    )
    for row in _report.failed_rows(search.cv_results_, failures):
        params = " ".join(f"{k}={_report._fmt_param(v)}" for k, v in row["params"].items())
        stdout.write(f"failed: {params}: {row['reason']}\n")
    if cache_dir:
        stdout.write(f"Fit cache: {disk_usage(cache_dir) / 2**20:.1f} MB in {cache_dir}/ "
                     "(delete it freely; --resume needs it)\n")
    stdout.flush()
    return 0


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
    from ._prepare import UsageError
    from ._search import SchedulerError
    from .datasets import DataError, DataUsageError

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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
