"""The outputs stage: one function per artefact, and the report built once at the end.

:func:`write_outputs` scores the refit best model on the held-out rows and
writes, in this order, ``cv_results.csv``, ``test_predictions.csv``, the
plots, the TensorBoard runs, ``best_model/`` and last ``report.json``, which
:func:`finished_report` builds from the inputs, the plan and the outcome
(:func:`interrupted_report` after Ctrl-C). Files are replaced atomically;
only the command's own plots and TensorBoard folder are removed from a
reused ``--out``. :func:`summary_text` is the command's stdout.
"""

import os
import shutil
import time
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import get_scorer

from skkeras_search._core import backend as _backend
from skkeras_search._core.files import atomic_write, versions
from skkeras_search._core.fit_cache import disk_usage
from skkeras_search._core.validation import fitted_network
from skkeras_search.cli import _plots, _report
from skkeras_search.cli._progress import read_progress
from skkeras_search.cli._tensorboard import write_hparams
from skkeras_search.datasets import describe
from skkeras_search.persistence import save_model
from skkeras_search.search._candidates import candidate_key

__all__ = ["Scored", "write_outputs", "finished_report", "interrupted_report",
           "write_interrupted", "summary_text", "interrupted_text"]

#: Files and folders of --out that the command writes (only some in a given run).
_OWNED_OUTPUTS = ("score_vs_learning_rate.png", "score_vs_hidden_units.png", "search_history.png",
                  "best_loss_curve.png", "predicted_vs_true.png", "tensorboard")
_PAPER_PLOTS = {"score_vs_learning_rate": "score_vs_learning_rate.png",
                "score_vs_hidden_units": "score_vs_hidden_units.png"}


@dataclass(frozen=True)
class Scored:
    """The finished search as the outputs see it.

    ``results`` is ``cv_results_`` without the pipeline prefix; ``best`` the
    refit pipeline and ``network`` its fitted network; ``files`` the
    artefacts written, by name.
    """

    results: dict
    best: object
    network: object
    best_params: dict
    test_score: float
    preprocessing: dict
    files: dict


def write_outputs(inputs, plan, outcome):
    """Write every artefact of a finished search; returns the report (written last)."""
    out = inputs.args.out
    _remove_stale_outputs(out)
    search = outcome.search
    best = search.best_estimator_
    results = _report.unprefixed(search.cv_results_, plan.prefix)
    predictions = best.predict(inputs.X_te)
    test_score = float(get_scorer(inputs.scoring)(best, inputs.X_te, inputs.y_te))
    network = fitted_network(best)
    write_cv_results(out, results)
    write_test_predictions(out, inputs.idx_te, inputs.y_te, predictions)
    plots = write_plots(out, results, inputs, network, predictions, test_score)
    if inputs.args.tensorboard:
        write_tensorboard(out, results, inputs)
    preprocessing = write_best_model(out, best, inputs)
    files = {**plots, "cv_results": "cv_results.csv", "best_model": "best_model/",
             "test_predictions": "test_predictions.csv",
             **({"tensorboard": "tensorboard/"} if inputs.args.tensorboard else {})}
    scored = Scored(results=results, best=best, network=network,
                    best_params={k.removeprefix(plan.prefix): v
                                 for k, v in search.best_params_.items()},
                    test_score=test_score, preprocessing=preprocessing, files=files)
    report = finished_report(inputs, plan, outcome, scored)
    write_report(out, report)
    return report


def _remove_stale_outputs(out):
    """Remove what an earlier run wrote and this one may not rewrite (a reused --out).

    Only the command's own plots and its TensorBoard folder; everything else in
    --out is the user's, and the other result files are replaced atomically.
    """
    for name in _OWNED_OUTPUTS:
        path = os.path.join(out, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)


# -------------------------------------------------------------- artefacts
def write_cv_results(out, results):
    """``cv_results.csv``: every row of the search."""
    atomic_write(os.path.join(out, "cv_results.csv"), _report.cv_results_csv(results))


def write_test_predictions(out, index, y_true, y_pred):
    """``test_predictions.csv``: each held-out row's index, true and predicted target."""
    atomic_write(os.path.join(out, "test_predictions.csv"),
                 _report.predictions_csv(index, y_true, y_pred))


def write_plots(out, results, inputs, network, predictions, test_score):
    """The PNG plots; returns them by name (for the report's ``files``)."""
    args, scoring = inputs.args, inputs.scoring
    plots = {}
    if {"param_learning_rate", "param_hidden_units"} <= set(results):
        plots.update(_PAPER_PLOTS)  # not for a custom --space without both of those
        _plots.plot_search(results, os.path.join(out, plots["score_vs_learning_rate"]),
                           os.path.join(out, plots["score_vs_hidden_units"]), scoring,
                           args.strategy, args.epochs)
    plots["search_history"] = "search_history.png"
    _plots.plot_history(results, os.path.join(out, plots["search_history"]), scoring,
                        args.strategy, args.epochs, args.cv)
    plots["best_loss_curve"] = "best_loss_curve.png"
    _plots.plot_loss_curve(network.loss_curve_, os.path.join(out, plots["best_loss_curve"]))
    if inputs.regression:
        plots["predicted_vs_true"] = "predicted_vs_true.png"
        _plots.plot_predicted_vs_true(inputs.y_te, predictions,
                                      os.path.join(out, plots["predicted_vs_true"]),
                                      scoring, test_score)
    return plots


def write_tensorboard(out, results, inputs):
    """``tensorboard/``: one HParams run per row."""
    write_hparams(results, os.path.join(out, "tensorboard"), inputs.scoring, inputs.args.epochs)


def write_best_model(out, best, inputs):
    """``best_model/``: the refit pipeline; returns the preprocessing it describes."""
    preprocessing = describe(best, inputs.X_tr, inputs.dropped)
    preprocessing.update(notes=inputs.dataset.notes, warnings=list(inputs.warnings))
    save_model(os.path.join(out, "best_model"), best,
               extra={"data": inputs.dataset.name, "image_shape": inputs.dataset.image_shape,
                      "preprocessing": preprocessing})
    return preprocessing


def write_report(out, report):
    """``report.json``."""
    atomic_write(os.path.join(out, "report.json"), _report.to_json(report))


def write_interrupted(inputs, plan, outcome):
    """After Ctrl-C: ``report.json`` saying what finished; returns the report."""
    report = interrupted_report(inputs, plan, outcome)
    write_report(inputs.args.out, report)
    return report


# ----------------------------------------------------------------- report
def _header(inputs, plan):
    args, ds = inputs.args, inputs.dataset
    return {
        "command": ["skkeras-search", *inputs.argv],
        "versions": {**versions(full=True), "keras_backend": _backend.keras().backend.backend()},
        "data": {"name": ds.name, "n_samples": int(len(ds.y)), "n_features": inputs.n_features,
                 "task": ds.task, "n_classes": inputs.n_classes,
                 "n_train": int(len(inputs.y_tr)), "n_test": int(len(inputs.y_te))},
        "random_state": args.random_state,
        "search": {"space": {k: repr(v) for k, v in plan.space.items()}, "n_iter": args.n_iter,
                   "cv": args.cv, "epochs": args.epochs, "batch_size": inputs.batch_size,
                   "cv_splits_digest": plan.cv_digest,
                   "n_jobs": args.n_jobs, "scoring": inputs.scoring, "strategy": args.strategy,
                   "scheduler": args.scheduler, "resume": args.resume,
                   "cache_dir": inputs.cache_dir, "tensorboard": args.tensorboard},
    }


def interrupted_report(inputs, plan, outcome):
    """The report of a search stopped by Ctrl-C: what it was, and the fits that finished."""
    return {**_header(inputs, plan), "status": "interrupted",
            "fits_finished": len(outcome.fits), "finished_fits": list(outcome.fits),
            "elapsed_s": time.time() - inputs.started}


def finished_report(inputs, plan, outcome, scored):
    """The report of a finished search, from the inputs, the plan, the outcome and the scores."""
    results, failures = scored.results, outcome.failures
    means = np.asarray(results["mean_test_score"], float)
    budgeted = "n_resources" in results
    candidates = {candidate_key({k: v for k, v in p.items() if not (budgeted and k == "epochs")})
                  for p in results["params"]}
    return {
        **_header(inputs, plan),
        "failures": sorted({f.message for f in failures}),
        "search_warnings": list(outcome.search_warnings),
        "status": "finished",
        "preprocessing": scored.preprocessing,
        "best_params": scored.best_params,
        "best_cv_score": float(outcome.search.best_score_),
        "test_score": scored.test_score,
        "refit_epochs": int(scored.network.n_iter_),
        "n_candidates": len(candidates),
        "n_failed_candidates": int(np.isnan(means).sum()),
        "failed_candidates": _report.failed_rows(results, failures),
        "cache_bytes": disk_usage(inputs.cache_dir) if inputs.cache_dir else None,
        "top": _report.top_rows(_report.final_budget(results), inputs.args.top, failures),
        "fits": _report.fit_counts(read_progress(plan.progress_path), scored.network),
        "files": scored.files,
        "elapsed_s": time.time() - inputs.started,
    }


# ------------------------------------------------------------------- text
def summary_text(inputs, report):
    """The command's stdout: objective, top table, best model, files."""
    return _report.summary(report, inputs.args.out, inputs.cache_dir,
                           time.time() - inputs.started)


def interrupted_text(inputs, report):
    """The line said on stderr after Ctrl-C."""
    out = inputs.args.out
    return (f"\ninterrupted: {report['fits_finished']} finished fits kept in "
            f"{os.path.join(out, 'progress.jsonl')} and report.json"
            + ("; rerun the same command with --resume to continue\n"
               if inputs.cache_dir else "\n"))
