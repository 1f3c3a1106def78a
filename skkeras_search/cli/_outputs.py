"""The outputs stage: one function per artefact, the report written last.

:func:`write_outputs` scores the refit best model on the held-out rows and
writes, in this order, ``cv_results.csv``, ``test_predictions.csv``, the
plots (``_plots``, and the analysis's: importances, marginals, budget
correlation), the TensorBoard runs (``_tensorboard``), ``best_model/``,
``report.html`` (``_html``) and last ``report.json``, whose content ``_report`` builds once from the
inputs, the plan, the outcome and the scores (:func:`write_interrupted`
after Ctrl-C). Files are replaced atomically; only the command's own plots
and TensorBoard folder are removed from a reused ``--out``.
:func:`summary_text` is the command's stdout.
"""

import csv
import io
import json
import math
import os
import shutil
import time
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import get_scorer

from skkeras_search._core.files import atomic_write, json_value
from skkeras_search._core.files import cv_results_csv as _cv_results_csv
from skkeras_search._core.validation import fitted_network
from skkeras_search.analysis import analyse, write_analysis_plots
from skkeras_search.cli import _plots
from skkeras_search.cli._html import write_html_report
from skkeras_search.cli._report import finished_report, interrupted_report, summary
from skkeras_search.cli._tensorboard import write_hparams
from skkeras_search.datasets import describe
from skkeras_search.persistence import save_model

__all__ = ["write_outputs", "write_interrupted", "summary_text", "interrupted_text",
           "unprefixed", "cv_results_csv", "predictions_csv", "to_json"]

#: Files and folders of --out that the command writes (only some in a given run).
_OWNED_OUTPUTS = ("score_vs_learning_rate.png", "score_vs_hidden_units.png", "search_history.png",
                  "best_loss_curve.png", "predicted_vs_true.png", "importance.png",
                  "marginals.png", "pairwise.png", "budget_correlation.png", "report.html",
                  "tensorboard")


@dataclass(frozen=True)
class Scored:
    """The finished search as the outputs see it.

    ``results`` is ``cv_results_`` without the pipeline prefix; ``network``
    the refit pipeline's fitted network; ``test_score`` its score on the
    held-out rows; ``files`` the artefacts written, by name; ``analysis``
    what the search learned (:func:`skkeras_search.analysis.analyse`:
    importances, ties with the best, budget rank correlations).
    """

    results: dict
    network: object
    best_params: dict
    test_score: float
    preprocessing: dict
    files: dict
    analysis: dict


def write_outputs(inputs, plan, outcome):
    """Write every artefact of a finished search; returns the report (written last)."""
    out = inputs.args.out
    _remove_stale_outputs(out)
    search = outcome.search
    best = search.best_estimator_
    results = unprefixed(search.cv_results_, plan.prefix)
    predictions = best.predict(inputs.X_te)
    test_score = float(get_scorer(inputs.scoring)(best, inputs.X_te, inputs.y_te))
    network = fitted_network(best)
    write_cv_results(out, results)
    write_test_predictions(out, inputs.idx_te, inputs.y_te, predictions)
    plots = write_plots(out, results, inputs, network, predictions, test_score)
    analysis = analyse(results, plan.space, random_state=inputs.args.random_state)
    plots.update({name[:-4]: name for name in
                  write_analysis_plots(out, results, analysis, plan.space)})
    if inputs.args.tensorboard:
        write_tensorboard(out, results, inputs)
    preprocessing = write_best_model(out, best, inputs)
    files = {**plots, "cv_results": "cv_results.csv", "best_model": "best_model/",
             "test_predictions": "test_predictions.csv", "report_html": "report.html",
             **({"tensorboard": "tensorboard/"} if inputs.args.tensorboard else {})}
    scored = Scored(results=results, network=network,
                    best_params={k.removeprefix(plan.prefix): v
                                 for k, v in search.best_params_.items()},
                    test_score=test_score, preprocessing=preprocessing, files=files,
                    analysis=analysis)
    report = finished_report(inputs, plan, outcome, scored)
    write_html_report(out, report)
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
    atomic_write(os.path.join(out, "cv_results.csv"), cv_results_csv(results))


def write_test_predictions(out, index, y_true, y_pred):
    """``test_predictions.csv``: each held-out row's index, true and predicted target."""
    atomic_write(os.path.join(out, "test_predictions.csv"),
                 predictions_csv(index, y_true, y_pred))


def write_plots(out, results, inputs, network, predictions, test_score):
    """The PNG plots; returns them by name (for the report's ``files``)."""
    args = inputs.args
    held_out = (inputs.y_te, predictions, test_score) if inputs.regression else None
    chosen = inputs.choices  # the strategy and budget the run took (a table's defaults)
    return _plots.write_plots(out, results, inputs.scoring, chosen.strategy, chosen.epochs, args.cv,
                              network.loss_curve_, held_out,
                              asynchronous=bool(args.asynchronous))


def write_tensorboard(out, results, inputs):
    """``tensorboard/``: one HParams run per row."""
    write_hparams(results, os.path.join(out, "tensorboard"), inputs.scoring, inputs.choices.epochs)


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
    atomic_write(os.path.join(out, "report.json"), to_json(report))


def write_interrupted(inputs, plan, outcome):
    """After Ctrl-C: ``report.json`` saying what finished; returns the report."""
    report = interrupted_report(inputs, plan, outcome)
    write_report(inputs.args.out, report)
    return report


# ------------------------------------------------------------------- text
def summary_text(inputs, report):
    """The command's stdout: objective, top table, best model, files."""
    return summary(report, inputs.args.out, inputs.cache_dir, time.time() - inputs.started)


def interrupted_text(inputs, report):
    """The line said on stderr after Ctrl-C."""
    out = inputs.args.out
    return (f"\ninterrupted: {report['fits_finished']} finished fits kept in "
            f"{os.path.join(out, 'progress.jsonl')} and report.json"
            + ("; rerun the same command with --resume to continue\n"
               if inputs.cache_dir else "\n"))


# ---------------------------------------------------------------- formats
def unprefixed(cv_results, prefix="classifier__"):
    """``cv_results_`` of a searched pipeline with the step prefix dropped from parameter names.

    ``param_classifier__hidden_units`` becomes ``param_hidden_units`` and the
    ``params`` dicts lose the prefix too, so reports read as for a bare
    estimator. Other keys are unchanged.
    """
    out = {}
    for key, value in cv_results.items():
        if key == "params":
            value = [{k.removeprefix(prefix): v for k, v in p.items()} for p in value]
        out[key.replace("param_" + prefix, "param_", 1) if key.startswith("param_") else key] = value
    return out


def cv_results_csv(cv_results):
    """All of ``cv_results_`` as CSV text, one row per candidate (the one format,
    :func:`skkeras_search._core.files.cv_results_csv`)."""
    return _cv_results_csv(cv_results)


def predictions_csv(index, y_true, y_pred):
    """Held-out predictions: row index in the dataset, true and predicted label."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["index", "y_true", "y_pred"])
    writer.writerows(zip(*(np.asarray(v).tolist() for v in (index, y_true, y_pred))))
    return out.getvalue()


def to_json(obj):
    """JSON text with NumPy values and NaN handled (NaN -> null)."""
    def finite(o):
        if isinstance(o, dict):
            return {str(k): finite(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [finite(v) for v in o]
        if isinstance(o, np.ndarray):
            return finite(o.tolist())
        if isinstance(o, (float, np.floating)) and not math.isfinite(o):
            return None
        return o  # NumPy scalars: json_value, as the encoder meets them
    return json.dumps(finite(obj), indent=2, default=json_value)
