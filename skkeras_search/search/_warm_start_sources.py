"""Reading an earlier run for ``TPESearchCV(warm_start=...)``: its rows and what it tells.

A source is a fitted search (anything with ``cv_results_``), a ``cv_results_``
dict, or a folder written by the ``skkeras-search`` command: its
``cv_results.csv`` (a JSON ``params`` column, ``mean_test_*`` and, for a
multi-fidelity search, ``n_resources``) and ``report.json`` (the data's
fingerprint and shape, the space, scoring, epochs and the revision of the
training arithmetic). :mod:`~skkeras_search.search._warm_start` compares them
with the new search. The source is only read.
"""

import json
import os
import re
from collections.abc import Mapping
from numbers import Integral

import numpy as np
from sklearn.compose import TransformedTargetRegressor

__all__ = ["EXPECTED", "UNTOLD", "Earlier", "read_source", "scoring_text", "final_step",
           "final_class", "arithmetic_revision", "epochs_of"]

EXPECTED = ("Give a folder written by the skkeras-search command (it holds cv_results.csv), "
            "a fitted search, or a search's cv_results_ dict")

UNTOLD = object()


class Earlier:
    """A source's rows, and what it tells of its data, space and objective (None: untold)."""

    def __init__(self, label, results, fingerprint=None, space=None, shape=None, *,
                 scoring=None, epochs=None, estimator=None, arithmetic=UNTOLD):
        self.label, self.results, self.fingerprint = label, results, fingerprint
        self.space, self.shape = space, shape
        self.scoring, self.epochs, self.estimator = scoring, epochs, estimator
        #: the revision of the training arithmetic that scored it (None: a report
        #: that does not record it; UNTOLD: a source that cannot say)
        self.arithmetic = arithmetic


def _label(source):
    if isinstance(source, (str, os.PathLike)):
        return f"warm_start={os.fspath(source)!r}"
    if isinstance(source, Mapping):
        return f"warm_start=<cv_results_ dict of {len(source.get('params', ()))} rows>"
    return f"warm_start={type(source).__name__}(...)"


def read_source(source):
    """The source's rows and what is known of its data and space."""
    label = _label(source)
    if isinstance(source, (str, os.PathLike)):
        return _read_folder(os.fspath(source), label)
    if isinstance(source, Mapping):
        if "params" not in source:
            raise ValueError(f"{label} has no 'params' column. {EXPECTED}.")
        return Earlier(label, source)
    if not hasattr(source, "cv_results_"):
        raise ValueError(f"{label} is not fitted (it has no cv_results_; clone() drops a "
                         f"search's results). Fit it first, or pass its cv_results_.")
    space = getattr(source, "param_distributions", getattr(source, "param_grid", None))
    n_features = getattr(source, "n_features_in_", None)
    estimator = getattr(source, "estimator", None)
    return Earlier(label, source.cv_results_, getattr(source, "data_fingerprint_", None), space,
                    (None, n_features),
                    scoring=scoring_text(getattr(source, "scoring", None), estimator,
                                         getattr(source, "refit", True)),
                    epochs=_source_epochs(source), estimator=final_class(estimator),
                    arithmetic=arithmetic_revision(estimator))


def scoring_text(scoring, estimator, refit=True):
    """Text of a search's ``scoring``, for comparing the objectives of two searches.

    A string as is (``'accuracy'``); an object with a ``scoring`` attribute (the
    command's ``ProgressScorer``) by it; None by the estimator's default score
    (``'accuracy'`` for a scikit-learn classifier, ``'r2'`` for a regressor, the final
    step's for a pipeline); several metrics by their names and ``refit``.

    Returns
    -------
    text : str
    """
    from sklearn.base import ClassifierMixin, RegressorMixin

    if isinstance(scoring, str):
        return repr(scoring)
    if scoring is None:
        score = getattr(type(final_step(estimator)), "score", None)
        return {ClassifierMixin.score: "'accuracy'", RegressorMixin.score: "'r2'"}.get(
            score, "the estimator's default score")
    if isinstance(scoring, (Mapping, list, tuple, set)):
        return f"{sorted(map(str, scoring))} (refit={refit!r})"
    if hasattr(scoring, "scoring"):
        return scoring_text(scoring.scoring, estimator, refit)
    name = getattr(scoring, "__qualname__", None)
    return name if name is not None else re.sub(r" at 0x[0-9a-fA-F]+", "", repr(scoring))


def final_step(estimator):
    """A pipeline's final step (recursively), else the estimator."""
    steps = getattr(estimator, "steps", None)
    return final_step(steps[-1][1]) if steps else estimator


def arithmetic_revision(estimator):
    """The revision of the training arithmetic of ``estimator``: ``KerasMLPClassifier``'s and
    ``KerasMLPRegressor``'s, found as a pipeline's final step (recursively) and inside a
    ``TransformedTargetRegressor`` (the command's regression pipeline), else None."""
    network = final_step(estimator)
    while isinstance(network, TransformedTargetRegressor):
        network = final_step(network.regressor)
    return getattr(type(network), "_arithmetic_revision", None)


def final_class(estimator):
    return None if estimator is None else type(final_step(estimator)).__name__


def epochs_of(estimator):
    """The estimator's ``epochs`` (or one ``*__epochs`` value of a pipeline); None if it has
    none, or several different ones."""
    try:
        params = estimator.get_params()
    except (AttributeError, TypeError):
        return None
    values = {v for k, v in params.items() if k.rsplit("__", 1)[-1] == "epochs"
              and isinstance(v, Integral) and not isinstance(v, bool)}
    return int(values.pop()) if len(values) == 1 else None


def _source_epochs(source):
    """Epochs per full-budget fit of a search: its largest ``n_resources`` when its budget
    is the epochs, None when its rows search the epochs, else its estimator's."""
    results = source.cv_results_
    resource = str(getattr(source, "resource", ""))
    if "n_resources" in results and resource.rsplit("__", 1)[-1] == "epochs":
        budgets = np.asarray(results["n_resources"], dtype=float)
        return int(np.nanmax(budgets)) if np.isfinite(budgets).any() else None
    if any(k.rsplit("__", 1)[-1] == "epochs" for p in results["params"] for k in p):
        return None
    return epochs_of(getattr(source, "estimator", None))


def _read_folder(path, label):
    import pandas as pd

    if not os.path.isdir(path):
        what = "is not a folder" if os.path.exists(path) else "does not exist"
        raise ValueError(f"{label} {what}. {EXPECTED}.")
    csv = os.path.join(path, "cv_results.csv")
    if not os.path.isfile(csv):
        raise ValueError(f"{label} holds no cv_results.csv (an interrupted run writes none). "
                         f"{EXPECTED}.")
    table = pd.read_csv(csv)
    if "params" not in table:
        raise ValueError(f"{label}: {csv} has no params column. {EXPECTED}.")
    results = {k: _numbers(table[k], label, k) if k.startswith("mean_test_")
               or k == "n_resources" else table[k].to_numpy()
               for k in table.columns if k != "params"}
    results["params"] = [_params(cell, label, row) for row, cell in
                         enumerate(table["params"], start=1)]
    report, report_path = {}, os.path.join(path, "report.json")
    if os.path.isfile(report_path):
        with open(report_path, encoding="utf-8") as f:
            report = json.load(f)
    data, search = report.get("data") or {}, report.get("search") or {}
    scoring, epochs = search.get("scoring"), search.get("epochs")
    revision = search.get("arithmetic_revision")
    return Earlier(label, results, data.get("fingerprint"), search.get("space"),
                    (data.get("n_train"), data.get("n_features")),
                    scoring=repr(scoring) if isinstance(scoring, str) else None,
                    epochs=int(epochs) if isinstance(epochs, Integral) else None,
                    arithmetic=revision if isinstance(revision, Integral) else
                    (None if report else UNTOLD))


def _bad_cell(label, row, column, problem):
    return ValueError(f"{label}: cv_results.csv row {row} (data rows from 1), column {column!r} "
                      f"{problem}. Write the file back as the command wrote it, or remove the "
                      "row.")


def _params(cell, label, row):
    """One ``params`` cell of a folder's table: a JSON object."""
    from pandas import isna as pd_isna

    if not isinstance(cell, str) or not cell.strip():
        if not isinstance(cell, str) and not pd_isna(cell):  # pandas read a number
            cell = str(cell)
        else:
            raise _bad_cell(label, row, "params", "is empty")
    try:
        params = json.loads(cell)
    except json.JSONDecodeError as error:
        raise _bad_cell(label, row, "params", f"is not valid JSON ({error.msg} at character "
                        f"{error.pos}: {cell!r})") from None
    if not isinstance(params, dict):
        raise _bad_cell(label, row, "params", f"is not a JSON object of parameters ({cell!r})")
    return params


def _numbers(column, label, name):
    """A folder's score or budget column as floats (an empty cell: NaN, a failed fit)."""
    import pandas as pd

    values = pd.to_numeric(column, errors="coerce")
    bad = np.flatnonzero(values.isna().to_numpy() & column.notna().to_numpy())
    if len(bad):
        raise _bad_cell(label, int(bad[0]) + 1, name,
                        f"holds {column.iloc[bad[0]]!r}, not a number")
    return values.to_numpy(dtype=float)
