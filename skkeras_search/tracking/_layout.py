"""What each run holds: the parent's and each child's parameters, metrics and tags.

Plain functions of the fitted search, no MLflow: the layout is
``mlflow.sklearn.autolog``'s for ``GridSearchCV`` (``best_<param>``,
``best_cv_score``, ``estimator_name``/``estimator_class`` tags, children tagged
``mlflow.parentRunId``), taken from ``cv_results_`` alone, so that any search
with that attribute (scikit-learn's, ours, a multi-fidelity search's rows per
budget) gets it.
"""

import re

import numpy as np

from skkeras_search._version import __version__
from skkeras_search.tracking._values import metric_value, param_text

__all__ = ["ROW_COLUMNS", "parent_params", "parent_metrics", "parent_tags", "child_rows",
           "child_params", "child_metrics", "child_tags", "check_names"]

#: Columns that say where a row stands in a multi-fidelity or batched search; logged as
#: parameters of its child run (HalvingRandomSearchCV: iter, n_resources; Hyperband: bracket,
#: round; ASHA: rung, candidate; TPE: batch).
ROW_COLUMNS = ("n_resources", "bracket", "round", "rung", "candidate", "iter", "batch")

#: MLflow's rule for parameter and metric names (``validate_param_and_metric_name``, POSIX).
_NAME = re.compile(r"^[/\w.\- :]*$")


def _class_tags(estimator, prefix=""):
    cls = type(estimator)
    return {f"{prefix}estimator_name": cls.__name__,
            f"{prefix}estimator_class": f"{cls.__module__}.{cls.__qualname__}"}


def parent_params(search):
    """The search's own parameters (``get_params(deep=False)``) and ``best_<param>``."""
    params = {k: param_text(v) for k, v in search.get_params(deep=False).items()}
    best = getattr(search, "best_params_", None) or {}
    params.update({f"best_{k}": param_text(v) for k, v in best.items()})
    return params


def _scorer_names(results):
    return [k.removeprefix("mean_test_") for k in results if k.startswith("mean_test_")]


def parent_metrics(search):
    """``best_cv_score`` (``best_score_``) and, with several scorers, ``best_cv_score_<name>``:
    each scorer's ``mean_test_<name>`` at ``best_index_``."""
    results = search.cv_results_
    out = {"best_cv_score": metric_value(getattr(search, "best_score_", None))}
    names = _scorer_names(results)
    index = getattr(search, "best_index_", None)
    if index is not None and names != ["score"]:
        out.update({f"best_cv_score_{name}": metric_value(results[f"mean_test_{name}"][index])
                    for name in names})
    return {k: v for k, v in out.items() if v is not None}


def parent_tags(search):
    """The search's class (autolog's ``estimator_name``/``estimator_class``), the searched
    estimator's (``base_estimator_name``/``base_estimator_class``), and who logged it."""
    tags = _class_tags(search)
    if getattr(search, "estimator", None) is not None:
        tags.update(_class_tags(search.estimator, "base_"))
    tags["skkeras_search.version"] = __version__
    return tags


def _rank_column(search):
    """``rank_test_score``, or the refit scorer's rank, or the first rank column (as autolog)."""
    results = search.cv_results_
    refit = getattr(search, "refit", None)
    if isinstance(refit, str) and f"rank_test_{refit}" in results:
        return f"rank_test_{refit}"
    ranks = [k for k in results if k.startswith("rank_test_")]
    return "rank_test_score" if "rank_test_score" in results else (ranks[0] if ranks else None)


def child_rows(search, max_child_runs):
    """Indices of the ``cv_results_`` rows that get a child run, in row order.

    All rows, or the ``max_child_runs`` best by rank (ties: the earlier row).
    """
    n = len(search.cv_results_["params"])
    if max_child_runs is None or max_child_runs >= n:
        return list(range(n))
    column = _rank_column(search)
    if column is None:
        raise ValueError(
            f"max_child_runs={max_child_runs!r} needs a rank_test_* column to pick the best rows, "
            "and this search's cv_results_ has none. Use max_child_runs=None (every row)."
        )
    ranks = np.asarray(search.cv_results_[column], dtype=float)
    return sorted(np.argsort(ranks, kind="stable")[:max_child_runs].tolist())


def child_params(results, i):
    """Row ``i``'s own parameters (a masked one is absent) and its place (:data:`ROW_COLUMNS`)."""
    params = {k: param_text(v) for k, v in results["params"][i].items()}
    for column in ROW_COLUMNS:
        if column in results and column not in params and results[column][i] is not np.ma.masked:
            params[column] = param_text(results[column][i])
    return params


def child_metrics(results, i):
    """Every number of row ``i`` but its parameters and place: scores (each split, train
    scores, every scorer), ranks, times, any other numeric column. NaN (a failed fit) is kept."""
    out = {}
    for key, column in results.items():
        if key == "params" or key.startswith("param_") or key in ROW_COLUMNS:
            continue
        value = metric_value(column[i])
        if value is not None:
            out[key] = value
    return out


def child_tags(search, parent_id, i):
    """``mlflow.parentRunId``, the searched estimator's class (as autolog) and the row index."""
    tags = {"mlflow.parentRunId": parent_id, "cv_results_index": str(i)}
    if getattr(search, "estimator", None) is not None:
        tags.update(_class_tags(search.estimator))
    return tags


def check_names(search):
    """Refuse, before any run exists, a column or parameter name that MLflow would refuse.

    Raises
    ------
    ValueError
        A scorer's name (``scoring={'acc@1': ...}``) or a parameter name holds a
        character outside letters, digits, ``_ - . : /`` and space.
    """
    results = search.cv_results_
    names = [k for k in results if k != "params" and not k.startswith("param_")]
    names += sorted({f"best_{k}" for p in results["params"] for k in p})
    bad = [n for n in names if not _NAME.match(n)]
    if bad:
        raise ValueError(
            f"cv_results_ names {bad!r} hold characters MLflow refuses in a metric or parameter "
            "name; nothing was logged. Rename the scorer or parameter to letters, digits and "
            "_ - . : / or space (scoring={'acc_1': ...})."
        )
