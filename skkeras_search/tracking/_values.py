"""Values as MLflow holds them: short parameter text and the ``cv_results.csv`` table.

MLflow keeps a parameter as a string of at most 6,000 characters and a
metric as a float. :func:`param_text` writes any parameter value (numbers,
strings, tuples, estimators, scipy and our distributions, functions) as a
short, stable text: NumPy scalars as Python numbers, no memory addresses, so
two runs of the same search log the same text. :func:`cv_results_csv`
writes ``cv_results_`` as the command's ``cv_results.csv`` does (the same few
lines, copied: ``cli`` sits a floor above).
"""

import numbers
import re

import numpy as np
from sklearn.base import BaseEstimator

from skkeras_search._core.files import cv_results_csv as _cv_results_csv

__all__ = ["MAX_PARAM_LENGTH", "param_text", "metric_value", "cv_results_csv"]

#: MLflow's longest parameter value (``mlflow.utils.validation.MAX_PARAM_VAL_LENGTH``).
MAX_PARAM_LENGTH = 6000
_ADDRESS = re.compile(r" at 0x[0-9A-Fa-f]+")


def param_text(value, limit=MAX_PARAM_LENGTH):
    """``value`` as a parameter's text: a string as it is, anything else as a short repr.

    Parameters
    ----------
    value : object
        A search parameter or a candidate's parameter value.
    limit : int, default=6000
        At most this many characters; longer text ends with ``'...'``.

    Returns
    -------
    text : str
    """
    text = value if isinstance(value, str) else _short(value)
    text = _ADDRESS.sub("", text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _short(value):
    """A repr without memory addresses, NumPy scalar types or scipy's frozen-object text."""
    if isinstance(value, np.generic):
        return repr(value.item())
    if isinstance(value, BaseEstimator):  # scikit-learn's compact repr, on one line
        return " ".join(repr(value).split())
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_short(k)}: {_short(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_short(v) for v in value)
        if isinstance(value, list):
            return f"[{inner}]"
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, np.ndarray):
        return _short(value.tolist())
    dist = getattr(value, "dist", None)
    if dist is not None and hasattr(value, "args") and hasattr(dist, "name"):  # a scipy frozen dist
        args = [_short(a) for a in value.args]
        args += [f"{k}={_short(v)}" for k, v in getattr(value, "kwds", {}).items()]
        return f"{dist.name}({', '.join(args)})"
    if callable(value) and hasattr(value, "__qualname__"):  # a function or a class
        return f"{getattr(value, '__module__', '?')}.{value.__qualname__}"
    return repr(value)


def metric_value(value):
    """``value`` as a metric (a float, NaN kept), or None if it is no real number (a bool,
    a string, a masked entry)."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (numbers.Real, np.floating, np.integer)):
        return float(value)
    return None


def cv_results_csv(cv_results):
    """``cv_results.csv``'s text (:func:`skkeras_search._core.files.cv_results_csv`), a value
    JSON cannot hold written as :func:`param_text` (no memory address)."""
    return _cv_results_csv(cv_results, text=param_text)
