"""The searched parameters of chosen rows, each as a numeric or categorical column.

A parameter's scale comes from ``param_distributions`` when given
(:func:`skkeras_search.space.distribution_bounds`: log-uniform, stepped
integers, scipy's ``loguniform``/``uniform``/``randint``); a list of numbers
is an ordered range over its values. Otherwise it is inferred from the
values observed: integers or floats become a range from their smallest to
their largest value, log-scaled when all are positive and the largest is at
least 100 times the smallest; anything else (strings, tuples, estimators,
None, booleans) is categorical over the distinct values, told apart by ``repr``.

Conditional spaces (``param_distributions`` a list of dicts, or rows whose
``params`` hold different names) follow one rule: the columns are the
parameters every row has, plus a categorical column :data:`BRANCH` naming
which set of parameters the row had (its names, sorted, joined by ``+``).
A parameter missing from some rows is left out; the branch column carries
what choosing its sub-space did. Two branches with the same names cannot
be told apart and count as one.
"""

from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np

from skkeras_search.space import distribution_bounds

__all__ = ["BRANCH", "Column", "columns", "LOG_RATIO"]

BRANCH = "(branch)"
LOG_RATIO = 100.0  # inferred log scale: all values > 0 and max / min >= LOG_RATIO


class Column:
    """One parameter over the chosen rows.

    Attributes
    ----------
    name : str
    kind : {'float', 'int', 'categorical'}
    values : list of length n_rows
        Numbers for numeric columns, ``repr`` labels for categorical ones.
    low, high : float or int or None
        Bounds of a numeric column (the space's, or the observed range).
    step : int or None
        Grid step of an ``int`` column from an ``IntRange``/``randint``.
    log : bool
        Whether the column is read on a log scale.
    choices : list of str or None
        The categories, in order of first appearance.
    """

    def __init__(self, name, kind, values, low=None, high=None, step=None, log=False,
                 choices=None):
        self.name, self.kind, self.values = name, kind, values
        self.low, self.high, self.step, self.log, self.choices = low, high, step, log, choices

    @property
    def varies(self):
        """Whether the rows take at least two distinct values."""
        return len(set(self.values)) > 1

    def __repr__(self):
        scale = ", log" if self.log else ""
        return f"Column({self.name!r}, {self.kind}{scale}, {len(self.values)} rows)"


def _space_entries(space, name):
    """Every entry the space (dict or list of dicts) gives ``name``."""
    dicts = [space] if isinstance(space, Mapping) else list(space or [])
    return [d[name] for d in dicts if isinstance(d, Mapping) and name in d]


def _is_number(v):
    return isinstance(v, (Real, np.number)) and not isinstance(v, (bool, np.bool_))


def _inferred(name, values):
    """A column from observed values alone."""
    if values and all(_is_number(v) for v in values) and all(np.isfinite(float(v)) for v in values):
        integral = all(isinstance(v, (Integral, np.integer)) for v in values)
        low, high = min(values), max(values)
        log = low > 0 and high / low >= LOG_RATIO
        if integral:
            return Column(name, "int", [int(v) for v in values], int(low), int(high), log=log)
        return Column(name, "float", [float(v) for v in values], float(low), float(high),
                      log=log)
    labels = [repr(v) for v in values]
    return Column(name, "categorical", labels, choices=list(dict.fromkeys(labels)))


def _from_bounds(name, values, bounds):
    """A column on the space's scale, or None if a value lies outside it."""
    if not all(_is_number(v) for v in values):
        return None
    low, high, step = bounds["low"], bounds["high"], bounds["step"]
    tol = 1e-9 * max(abs(low), abs(high), 1e-300)
    if any(not low - tol <= float(v) <= high + tol for v in values):
        return None
    if bounds["kind"] == "int":
        ints = [int(round(float(v))) for v in values]
        if any((v - low) % (step or 1) for v in ints):
            return None
        return Column(name, "int", ints, low, high, step=step, log=bounds["log"])
    clipped = [min(max(float(v), low), high) for v in values]
    return Column(name, "float", clipped, float(low), float(high), log=bounds["log"])


def _column(name, values, space):
    """The column of ``name``: the space's scale when it has one that fits, else inferred."""
    entries = _space_entries(space, name)
    if entries and all(isinstance(e, (list, tuple, range, np.ndarray)) for e in entries):
        choices = [v for e in entries for v in e]
        if all(_is_number(v) for v in choices) and len(choices) > 1:
            column = _inferred(name, choices)  # an ordered range over the listed numbers
            return _from_bounds(name, values, {"kind": column.kind, "low": column.low,
                                               "high": column.high, "step": None,
                                               "log": column.log}) or _inferred(name, values)
        return _inferred(name, values)
    bounds = [distribution_bounds(e) for e in entries]
    if bounds and all(b is not None and b == bounds[0] for b in bounds):
        column = _from_bounds(name, values, bounds[0])
        if column is not None:
            return column
    return _inferred(name, values)


def columns(cv, rows, space=None, exclude=()):
    """The searched parameters of ``rows`` as columns, by the module's rule.

    Parameters
    ----------
    cv : dict
        ``cv_results_``.
    rows : array-like of int, shape (n_rows,)
        Rows to read.
    space : dict or list of dict, optional
        ``param_distributions`` or ``param_grid``.
    exclude : collection of str
        Parameters to leave out (the budget).

    Returns
    -------
    columns : list of Column
        In the order of the first row's parameters, then :data:`BRANCH`
        when the rows' parameter names differ; varying or not.
    """
    params = [{k: v for k, v in cv["params"][i].items() if k not in exclude} for i in rows]
    if not params:
        return []
    common = [k for k in params[0] if all(k in p for p in params)]
    out = [_column(k, [p[k] for p in params], space) for k in common]
    names = ["+".join(sorted(p)) for p in params]
    if len(set(names)) > 1:
        out.append(Column(BRANCH, "categorical", names, choices=list(dict.fromkeys(names))))
    return out
