"""The tracking stage (``--mlflow-uri``): the finished search logged to MLflow, last.

It runs after every file is written, so a tracking server that is down or
refuses the runs costs nothing already in ``--out``: the error says so.
The parent run gets the command's own artefacts (``report.json``,
``report.html``, the PNGs, ``best_model/``) beside what
:func:`skkeras_search.tracking.log_search` logs for any search
(parameters, ``best_cv_score``, ``cv_results.csv``, one child run per row).
"""

import os

from skkeras_search.cli._outputs import write_report
from skkeras_search.tracking import log_search

__all__ = ["TrackingError", "log_to_mlflow"]


class TrackingError(Exception):
    """Logging to MLflow failed after the results were written (exit status 1)."""


def _artifacts(out, report):
    names = ["report.json", *sorted({f for f in report["files"].values()
                                     if isinstance(f, str) and f.endswith((".png", ".html"))}),
             "best_model"]
    return [os.path.join(out, name) for name in names if os.path.exists(os.path.join(out, name))]


def log_to_mlflow(inputs, plan, outcome, report):
    """Log the search to ``--mlflow-uri``; returns the report with ``mlflow`` (rewritten).

    Raises
    ------
    TrackingError
        MLflow refused or could not be reached; the message names the URI
        and says the results in ``--out`` are complete.
    """
    args = inputs.args
    try:
        run_id = log_search(outcome.search, tracking_uri=args.mlflow_uri,
                            experiment=args.mlflow_experiment, model=False,
                            artifacts=_artifacts(args.out, report),
                            run_name=f"skkeras-search {plan.strategy} {inputs.dataset.name}")
    except Exception as exc:  # any failure of the tracking store, after the files are safe
        text = " ".join(str(exc).split())[:300]
        raise TrackingError(f"--mlflow-uri {args.mlflow_uri}: logging failed "
                            f"({type(exc).__name__}: {text}). The results in {args.out}/ are "
                            "complete; check the URI and the server, then rerun the same command "
                            "with --resume (its fits load from the fit cache).") from exc
    report = {**report, "mlflow": {"tracking_uri": args.mlflow_uri,
                                   "experiment": args.mlflow_experiment, "parent_run_id": run_id}}
    write_report(args.out, report)
    return report
