"""The report's content, built once at the end, and the summary text. Never prints.

:func:`finished_report` builds ``report.json``'s content from the inputs, the
plan, the outcome and the scored search (:func:`interrupted_report` after
Ctrl-C): nothing is added to it along the way. A failed row (NaN mean score)
is explained by the fit cache's structured records
(:func:`skkeras_search._core.fit_cache.failures`): the first failure whose
parameters equal the row's searched parameters gives the reason.
:func:`summary` is the command's stdout, read off the report.

An asynchronous search (asha, ``--asynchronous``) has its rows in the order
they finished (``finish_order``, ``finish_time``) instead of Hyperband's
``bracket`` and ``round`` or TPE's ``batch``; ASHA's rows carry ``rung``,
summarised per rung by :func:`rung_rows` as the report's ``rungs``.
"""

import json
import math
import time

import numpy as np

from skkeras_search._core import backend as _backend
from skkeras_search._core.files import json_value, versions
from skkeras_search._core.fit_cache import data_fingerprint, disk_usage, key_params
from skkeras_search.cli._args import MULTI_FIDELITY, ORDER_NOTE
from skkeras_search.search._warm_start_sources import arithmetic_revision

__all__ = ["finished_report", "interrupted_report", "failed_rows", "top_rows",
           "format_table", "summary", "preprocessing_text", "final_budget", "fit_counts",
           "reason", "rung_rows", "analysis_lines"]

#: The reason of a failed row that no record explains.
FIT_FAILED = ("fit failed, reason not recorded. The fit cache records diverged fits; "
              "scikit-learn's FitFailedWarning, in report.json's fit_failed_warnings, has "
              "every error as it was raised.")


def _header(inputs, plan):
    args, ds = inputs.args, inputs.dataset
    return {
        "command": ["skkeras-search", *inputs.argv],
        "versions": {**versions(full=True), "keras_backend": _backend.keras().backend.backend()},
        "data": {"name": ds.name, "n_samples": int(len(ds.y)), "n_features": inputs.n_features,
                 "task": ds.task, "n_classes": inputs.n_classes,
                 "n_train": int(len(inputs.y_tr)), "n_test": int(len(inputs.y_te)),
                 # what --warm-start-from compares (TPESearchCV's data_fingerprint_)
                 "fingerprint": data_fingerprint(np.asarray(inputs.X_tr), np.asarray(inputs.y_tr))},
        "random_state": args.random_state,
        "search": {"space": plan.space_text, "space_name": inputs.choices.space,
                   "table_defaults": list(inputs.choices.table_defaults),
                   "n_iter": inputs.choices.n_iter,
                   "cv": args.cv, "epochs": inputs.choices.epochs, "batch_size": inputs.batch_size,
                   "target_transform": args.target_transform,
                   "cv_splits_digest": plan.cv_digest,
                   "n_jobs": args.n_jobs, "scoring": inputs.scoring, "strategy": plan.strategy,
                   "asynchronous": plan.asynchronous, "gpus": args.gpus,
                   **({"rung_epochs": list(plan.rungs)} if plan.rungs else {}),
                   "scheduler": args.scheduler, "resume": args.resume,
                   "warm_start_from": args.warm_start_from,
                   # what --warm-start-from compares: the arithmetic that scored this run
                   "arithmetic_revision": arithmetic_revision(plan.search.estimator),
                   "cache_dir": inputs.cache_dir, "tensorboard": args.tensorboard},
    }


def interrupted_report(inputs, plan, outcome):
    """The report of a search stopped by Ctrl-C: what it was, and the fits that finished."""
    return {**_header(inputs, plan), "status": "interrupted",
            "fits_finished": len(outcome.fits), "finished_fits": list(outcome.fits),
            "elapsed_s": time.time() - inputs.started}


def finished_report(inputs, plan, outcome, scored):
    """The report of a finished search, from the inputs, the plan, the outcome and the scores
    (``scored``: the outputs stage's ``Scored``)."""
    results, failures = scored.results, outcome.failures
    means = np.asarray(results["mean_test_score"], float)
    budgeted = "n_resources" in results  # one candidate, a row per budget
    candidates = {repr(sorted((k, v) for k, v in p.items() if not (budgeted and k == "epochs")))
                  for p in results["params"]}
    return {
        **_header(inputs, plan),
        "failures": sorted({f.message for f in failures}),
        "fit_failed_warnings": list(outcome.fit_failed_warnings),
        "search_warnings": list(outcome.search_warnings),
        "status": "finished",
        "preprocessing": scored.preprocessing,
        "best_params": scored.best_params,
        "best_cv_score": float(outcome.search.best_score_),
        "test_score": scored.test_score,
        "refit_epochs": int(scored.network.n_iter_),
        "n_candidates": len(candidates),
        "n_failed_candidates": int(np.isnan(means).sum()),
        "failed_candidates": failed_rows(results, failures),
        "cache_bytes": disk_usage(inputs.cache_dir) if inputs.cache_dir else None,
        "top": _mark_ties(top_rows(final_budget(results), inputs.args.top, failures),
                          results, scored.analysis.get("ties")),
        "importance": scored.analysis.get("importance"),
        "ties": scored.analysis.get("ties"),
        "budget_correlation": scored.analysis.get("budget_correlation"),
        **({"rungs": rung_rows(results, plan.rungs)} if "rung" in results else {}),
        "fits": fit_counts(outcome.fits, scored.network),
        "files": scored.files,
        "elapsed_s": time.time() - inputs.started,
    }


def _mark_ties(rows, cv_results, ties):
    """``rows`` (:func:`top_rows`) with ``tied``: whether the t-test ties each with the best
    (None for a row it did not test, or when it could not run)."""
    if not ties or "rows" not in ties:
        return rows
    keys = {json.dumps(cv_results["params"][t["index"]], sort_keys=True, default=repr): t["tied"]
            for t in ties["rows"]}
    return [{**r, "tied": keys.get(json.dumps(r["params"], sort_keys=True, default=repr))}
            for r in rows]


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


def rung_rows(cv_results, budgets=()):
    """ASHA's rungs as the report shows them: epochs, rows, failures and best score of each.

    Parameters
    ----------
    cv_results : dict
        ``cv_results_`` of :class:`~skkeras_search.search.ASHASearchCV`
        (``rung``, ``n_resources``, ``mean_test_score``).
    budgets : sequence of int, optional
        Epochs of every rung (the plan's), so that a rung no row reached is listed too.

    Returns
    -------
    rungs : list of dict
        Per rung, lowest first: ``rung``, ``epochs``, ``rows`` (candidates
        trained to it), ``failed`` and ``best_mean_test_score`` (None when no
        row succeeded).
    """
    rung = np.asarray(cv_results["rung"], dtype=int)
    spent = np.asarray(cv_results["n_resources"], dtype=int)
    means = np.asarray(cv_results["mean_test_score"], dtype=float)
    epochs = dict(enumerate(budgets))
    epochs.update({int(k): int(spent[rung == k][0]) for k in np.unique(rung)})
    rows = []
    for k in sorted(epochs):
        scores = means[rung == k]
        ok = scores[np.isfinite(scores)]
        rows.append({"rung": k, "epochs": epochs[k], "rows": int(len(scores)),
                     "failed": int(len(scores) - len(ok)),
                     "best_mean_test_score": float(ok.max()) if len(ok) else None})
    return rows


def _rungs_line(rungs):
    parts = [f"{r['epochs']} epoch{'s' if r['epochs'] != 1 else ''}: {r['rows']}"
             + (f" ({r['failed']} failed)" if r["failed"] else "") for r in rungs]
    return ("Rungs (rows trained to each budget, in finish order in cv_results.csv): "
            + ", ".join(parts))


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


def _as_recorded(params, default):
    """A row's searched parameters as a failure record holds them: the fit cache's key
    rule (:func:`~skkeras_search._core.fit_cache.key_params`, which leaves out
    ``epochs``, the budget), then JSON, objects JSON lacks written by ``default``."""
    return json.loads(json.dumps(key_params(params), default=default))


def reason(params, failures=()):
    """The message of the first recorded failure of the candidate ``params``, else ``FIT_FAILED``.

    Parameters
    ----------
    params : dict
        A row's searched parameters, without a pipeline prefix.
    failures : sequence of FitFailure
        The fit cache's records; ``params`` match a record when each searched
        parameter in the cache's key has the recorded value (values compared,
        not their text): a record writes what JSON lacks with ``repr``, and
        NumPy scalars are also compared as Python numbers.
    """
    forms = [_as_recorded(params, repr), _as_recorded(params, json_value)]
    for failure in failures:
        if any(all(k in failure.params and failure.params[k] == v for k, v in form.items())
               for form in forms):
            return failure.message
    return FIT_FAILED


def failed_rows(cv_results, failures=()):
    """Candidates whose score is NaN, with the reason their fits failed."""
    means = np.asarray(cv_results["mean_test_score"], dtype=float)
    rows = []
    for i in np.flatnonzero(np.isnan(means)):
        params = dict(cv_results["params"][i])
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
            "params": dict(cv_results["params"][i]),
        })
        if failed:
            rows[-1]["reason"] = reason(rows[-1]["params"], failures)
    return rows


def _fmt_param(value):
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _short_reason(text):
    return text.split(". ")[0][:80]


def format_table(rows):
    """An aligned text table: rank, mean, std, fit time, tied (when tested), params.

    ``tied`` is ``=`` for a row statistically tied with the best (see
    :func:`skkeras_search.analysis.tied_with_best`), blank otherwise.
    """
    tested = any(r.get("tied") is not None for r in rows)
    header = ["rank", "mean", "std", "fit time", *(["tied"] if tested else []), "params"]
    body = []
    for r in rows:
        body.append([
            "-" if r["rank"] is None else str(r["rank"]),
            "failed" if r["mean_test_score"] is None else f"{r['mean_test_score']:.4f}",
            "" if r["std_test_score"] is None else f"{r['std_test_score']:.4f}",
            f"{r['mean_fit_time']:.2f}s",
            *(["=" if r.get("tied") else ""] if tested else []),
            " ".join(f"{k}={_fmt_param(v)}" for k, v in r["params"].items())
            + (f"  ({_short_reason(r['reason'])})" if r.get("reason") else ""),
        ])
    n = len(header) - 1
    widths = [max(len(row[c]) for row in [header, *body]) for c in range(n)]
    lines = []
    for row in [header, *body]:
        cells = [row[c].rjust(widths[c]) for c in range(n)] + [row[n]]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def analysis_lines(report):
    """What the search learned, in a few lines: ties, importances, budget correlations."""
    lines = []
    ties = report.get("ties") or {}
    if "error" in ties:  # the library's keyword as this command's flag
        lines.append("Ties with the best not tested: "
                     + ties["error"].replace("Search with cv>=3", "Use --cv 3 or more"))
    elif ties.get("rows"):
        n = sum(t["tied"] for t in ties["rows"]) - 1
        lines.append(f"Tied with the best ('='): {n} other candidate{'s' if n != 1 else ''} "
                     f"({ties['method']}, p > {ties['alpha']})"
                     + ("; the best is not clearly better than them." if n else "."))
    imp = report.get("importance") or {}
    if imp.get("values"):
        methods = [imp] + ([imp["fanova"]] if (imp.get("fanova") or {}).get("values") else [])
        lines.append("Importance, " + "; ".join(
            f"{m['method'].split(' (')[0]}: " + ", ".join(f"{k} {v:.2f}" for k, v in m["values"].items())
            for m in methods) + " (shares of the importance; report.json, importance.png)")
    corr = report.get("budget_correlation") or {}
    if corr.get("overall"):
        pairs = ", ".join(f"{p['from']}->{p['to']} epochs "
                          + ("n/a" if p["rho"] is None else f"{p['rho']:.2f}")
                          for p in corr["overall"])
        lines.append(f"Budget rank correlation ({corr['method']}): {pairs}")
    return lines


def preprocessing_text(description):
    """One line saying what the features became (from ``_preprocessing.describe``)."""
    d = description
    if d["kind"] == "images":
        return f"pixels {d['scaling']} (fixed), {d['n_features_out']} features"
    parts = [f"{len(d['columns'])} columns -> {d['n_features_out']} features"]
    if d["numeric"]:
        imputed = [f"{c} {n}" for c, n in d["imputed"].items() if c in set(d["numeric"])]
        scaled = {"standard": "standardised", "quantile": "quantile-transformed (normal)",
                  "robust": "robust-scaled, smooth-clipped"}[d.get("numeric_scaling") or "standard"]
        parts.append(f"{len(d['numeric'])} numeric {scaled}"
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
    note = f" ({ORDER_NOTE})" if search.get("asynchronous") else ""
    lines = [
        f"Objective: mean CV {search['scoring']} ({search['cv']}-fold), {search['strategy']} "
        f"search{note}, {report['n_candidates']} candidates, {report['n_failed_candidates']} failed, "
        f"{elapsed:.1f}s",
        f"Fits: {fits['fits']} scored ({fits['loaded_from_cache']} loaded from the fit cache), "
        f"{fits['training_epochs']} training epochs in all (refit included)",
        *([_rungs_line(report["rungs"])] if report.get("rungs") else []),
        "",
        (_budget_line(search["epochs"], report["best_params"].get("epochs"))
         if multi else "") + format_table(report["top"]),
        "",
        *analysis_lines(report),
        f"Best parameters: {best}",
        f"Best CV {search['scoring']}: {report['best_cv_score']:.4f}",
        f"Held-out test {search['scoring']} of the refit best model: {report['test_score']:.4f} "
        f"({report['data']['n_test']} samples)",
        f"Preprocessing: {preprocessing_text(report['preprocessing'])}",
    ]
    lines += [f"Data: {note}" for note in report["preprocessing"].get("notes", [])]
    if search.get("target_transform"):
        lines.append(f"Target: the network fits {search['target_transform']}(y), standardised; "
                     "predictions and scores are in the target's units")
    lines.append(f"Results written to {out}/")
    for row in report["failed_candidates"]:
        params = " ".join(f"{k}={_fmt_param(v)}" for k, v in row["params"].items())
        lines.append(f"failed: {params}: {row['reason']}")
    if cache_dir:
        lines.append(f"Fit cache: {report['cache_bytes'] / 2**20:.1f} MB in {cache_dir}/ "
                     "(delete it freely; --resume needs it)")
    return "\n".join(lines) + "\n"
