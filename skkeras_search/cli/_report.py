"""cv_results_ -> rows -> table, CSV and JSON text. Never prints.

A failed row (NaN mean score) is explained by the fit cache's structured
records (:func:`skkeras_search._core.fit_cache.failures`): the first failure
whose parameters equal the row's searched parameters gives the reason.
"""

import csv
import io
import json
import math

import numpy as np

from skkeras_search._core.files import json_value
from skkeras_search.cli._args import MULTI_FIDELITY

__all__ = ["failed_rows", "top_rows", "format_table", "cv_results_csv", "predictions_csv", "to_json",
           "unprefixed", "summary", "preprocessing_text", "final_budget", "fit_counts", "reason"]

#: The reason of a failed row that no record explains.
FIT_FAILED = "fit failed"


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


def _budget_line(full, shown):
    if shown is None or shown == full:
        return f"Candidates at the full budget of {full} epochs (every budget is in cv_results.csv):\n"
    return (f"Candidates at {shown} epochs: none succeeded at the full budget of {full} epochs "
            "(every budget is in cv_results.csv):\n")


def final_budget(cv_results):
    """The rows of the budget the best comes from (all rows unless ``n_resources`` varied).

    That is the full epoch budget, or, when no candidate succeeded there,
    the largest budget with a success (as ``HyperbandSearchCV`` chooses).
    """
    if "n_resources" not in cv_results:
        return cv_results
    budgets = np.asarray(cv_results["n_resources"])
    ok = np.isfinite(np.asarray(cv_results.get("mean_test_score", budgets), dtype=float))
    rows = np.flatnonzero(budgets == (budgets[ok] if ok.any() else budgets).max())
    out = {}
    for key, value in cv_results.items():
        if isinstance(value, np.ndarray):
            out[key] = value[rows]
        else:
            out[key] = [value[i] for i in rows]
    return out  # HyperbandSearchCV ranks budget first: these rows hold ranks 1, 2, ...


def fit_counts(records, refit=None):
    """Fits run and loaded from the fit cache, and epochs trained, from progress records.

    Parameters
    ----------
    records : list of dict
        ``progress.jsonl`` records (one per scored fold).
    refit : KerasMLPClassifier, optional
        The refit best model, whose epochs are added.

    Returns
    -------
    counts : dict
        ``fits`` (scored cross-validation fits), ``loaded_from_cache`` (those
        that trained nothing), ``training_epochs`` (epochs actually trained,
        continuation counting only the extra ones, refit included) and
        ``refit_epochs_trained``.
    """
    refit_epochs = int(getattr(refit, "n_epochs_trained_", 0)) if refit is not None else 0
    trained = [int(r.get("epochs_trained", r.get("epochs_run", 0))) for r in records]
    return {"fits": len(records), "loaded_from_cache": sum(t == 0 for t in trained),
            "training_epochs": sum(trained) + refit_epochs, "refit_epochs_trained": refit_epochs}


def _recorded(value):
    """``value`` as a failure record holds it (JSON, written with ``default=repr``)."""
    return json.loads(json.dumps(json_value(value), default=repr))


def reason(params, failures=()):
    """The message of the first recorded failure of the candidate ``params``, else "fit failed".

    Parameters
    ----------
    params : dict
        A row's searched parameters, without a pipeline prefix.
    failures : sequence of FitFailure
        The fit cache's records; ``params`` match a record when every searched
        parameter but ``epochs`` (the budget, not part of the record's key)
        has the recorded value.
    """
    searched = {k: _recorded(v) for k, v in params.items() if k != "epochs"}
    for failure in failures:
        if all(k in failure.params and failure.params[k] == v for k, v in searched.items()):
            return failure.message
    return FIT_FAILED


def failed_rows(cv_results, failures=()):
    """Candidates whose score is NaN, with the reason their fits failed."""
    means = np.asarray(cv_results["mean_test_score"], dtype=float)
    rows = []
    for i in np.flatnonzero(np.isnan(means)):
        params = {k: json_value(v) for k, v in cv_results["params"][i].items()}
        rows.append({"params": params, "reason": reason(params, failures)})
    return rows


def top_rows(cv_results, k=5, failures=()):
    """The ``k`` best candidates as dicts; failed ones (NaN score) last, with a reason."""
    means = np.asarray(cv_results["mean_test_score"], dtype=float)
    order = sorted(range(len(means)), key=lambda i: (math.isnan(means[i]), -np.nan_to_num(means[i])))
    rows = []
    for i in order[:k]:
        failed = math.isnan(means[i])
        rows.append({
            "rank": None if failed else int(cv_results["rank_test_score"][i]),
            "mean_test_score": None if failed else float(means[i]),
            "std_test_score": None if failed else float(cv_results["std_test_score"][i]),
            "mean_fit_time": float(cv_results["mean_fit_time"][i]),
            "params": {k: json_value(v) for k, v in cv_results["params"][i].items()},
        })
        if failed:
            rows[-1]["reason"] = reason(rows[-1]["params"], failures)
    return rows


def _fmt_param(value):
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _short_reason(text):
    return text.split(". ")[0][:80]


def format_table(rows):
    """An aligned text table: rank, mean, std, fit time, params."""
    header = ["rank", "mean", "std", "fit time", "params"]
    body = []
    for r in rows:
        body.append([
            "-" if r["rank"] is None else str(r["rank"]),
            "failed" if r["mean_test_score"] is None else f"{r['mean_test_score']:.4f}",
            "" if r["std_test_score"] is None else f"{r['std_test_score']:.4f}",
            f"{r['mean_fit_time']:.2f}s",
            " ".join(f"{k}={_fmt_param(v)}" for k, v in r["params"].items())
            + (f"  ({_short_reason(r['reason'])})" if r.get("reason") else ""),
        ])
    widths = [max(len(row[c]) for row in [header, *body]) for c in range(len(header))]
    lines = []
    for row in [header, *body]:
        cells = [row[c].rjust(widths[c]) for c in range(4)] + [row[4]]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def cv_results_csv(cv_results):
    """All of ``cv_results_`` as CSV text, one row per candidate."""
    keys = list(cv_results)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(keys)
    for i in range(len(cv_results["params"])):
        row = []
        for k in keys:
            v = cv_results[k][i]
            row.append(json.dumps({a: json_value(b) for a, b in v.items()}) if k == "params"
                       else json_value(v))
        writer.writerow(row)
    return out.getvalue()


def predictions_csv(index, y_true, y_pred):
    """Held-out predictions: row index in the dataset, true and predicted label."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["index", "y_true", "y_pred"])
    for row in zip(index, y_true, y_pred):
        writer.writerow([json_value(v) for v in row])
    return out.getvalue()


def to_json(obj):
    """JSON text with NumPy scalars and NaN handled (NaN -> null)."""
    def clean(o):
        if isinstance(o, dict):
            return {str(k): clean(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [clean(v) for v in o]
        if isinstance(o, np.ndarray):
            return clean(o.tolist())
        o = json_value(o)
        if isinstance(o, float) and not math.isfinite(o):
            return None
        return o
    return json.dumps(clean(obj), indent=2)


def preprocessing_text(description):
    """One line saying what the features became (from ``_preprocessing.describe``)."""
    d = description
    if d["kind"] == "images":
        return f"pixels {d['scaling']} (fixed), {d['n_features_out']} features"
    parts = [f"{len(d['columns'])} columns -> {d['n_features_out']} features"]
    if d["numeric"]:
        imputed = [f"{c} {n}" for c, n in d["imputed"].items() if c in set(d["numeric"])]
        parts.append(f"{len(d['numeric'])} numeric standardised"
                     + (f", median-imputed ({', '.join(imputed[:5])}"
                        f"{', ...' if len(imputed) > 5 else ''} missing)" if imputed else ""))
    if d["categorical"]:
        shown = [f"{c} {n}" for c, n in list(d["categorical"].items())[:5]]
        parts.append(f"{len(d['categorical'])} categorical one-hot ({', '.join(shown)}"
                     f"{', ...' if len(d['categorical']) > 5 else ''} categories)")
    if d["dropped"]:
        parts.append("dropped: " + ", ".join(f"{c} ({why})" for c, why in d["dropped"].items()))
    return "; ".join(parts) + " (fitted on each fold's training rows)"


def summary(report, out, cache_dir, elapsed):
    """The command's stdout text: objective, top table, best model, files."""
    best = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in report["best_params"].items())
    search, fits = report["search"], report["fits"]
    multi = search["strategy"] in MULTI_FIDELITY
    lines = [
        f"Objective: mean CV {search['scoring']} ({search['cv']}-fold), {search['strategy']} "
        f"search, {report['n_candidates']} candidates, {report['n_failed_candidates']} failed, "
        f"{elapsed:.1f}s",
        f"Fits: {fits['fits']} scored ({fits['loaded_from_cache']} loaded from the fit cache), "
        f"{fits['training_epochs']} training epochs in all (refit included)",
        "",
        (_budget_line(search["epochs"], report["best_params"].get("epochs"))
         if multi else "") + format_table(report["top"]),
        "",
        f"Best parameters: {best}",
        f"Best CV {search['scoring']}: {report['best_cv_score']:.4f}",
        f"Held-out test {search['scoring']} of the refit best model: {report['test_score']:.4f} "
        f"({report['data']['n_test']} samples)",
        f"Preprocessing: {preprocessing_text(report['preprocessing'])}",
    ]
    lines += [f"Data: {note}" for note in report["preprocessing"].get("notes", [])]
    lines.append(f"Results written to {out}/")
    for row in report["failed_candidates"]:
        params = " ".join(f"{k}={_fmt_param(v)}" for k, v in row["params"].items())
        lines.append(f"failed: {params}: {row['reason']}")
    if cache_dir:
        lines.append(f"Fit cache: {report['cache_bytes'] / 2**20:.1f} MB in {cache_dir}/ "
                     "(delete it freely; --resume needs it)")
    return "\n".join(lines) + "\n"
