"""The target column of a table: class labels or regression targets.

Numbers are compared as numbers (``1``, ``1.0`` and `` 1`` are one class),
text is stripped, True/False columns stay booleans, and a row without a
label is refused (naming its line) unless asked to be left out.
"""

import numpy as np

from skkeras_search.datasets._cells import MISSING_MARKERS
from skkeras_search.exceptions import DataError, literal

__all__ = ["AUTO_REGRESSION_DISTINCT", "numeric_target", "table_labels"]


def table_labels(values, name, lines, *, decimal=".", drop_missing=False,
                 task="classification"):
    """Class labels from a target column: numbers compared as numbers, text stripped.

    Parameters
    ----------
    values : pandas.Series
        The target column as read.
    name : str
        The file, for messages.
    lines : ndarray or None
        File line of each row, for messages.
    decimal : str, default='.'
        Decimal mark of labels written as text.
    drop_missing : bool, default=False
        Drop rows whose label is missing instead of raising.
    task : {'classification', 'regression', 'auto'}, default='classification'
        See :func:`numeric_target`.

    Returns
    -------
    y : ndarray of shape (n_kept,)
        float64 for regression; else int64 when every label is a whole number,
        str when some are fractions (``'3.5'``, ``'4'``: equal numbers give one
        class) or text, bool for a column of True/False.
    keep : ndarray of bool, shape (n_rows,)
        The rows that have a label.

    Raises
    ------
    DataError
        Some labels are missing and ``drop_missing`` is False, or a regression
        target holds text.
    """
    import pandas as pd

    numeric = values.dtype.kind in "biuf"
    text = values if numeric else values.astype(object).where(values.notna(), None).astype(
        "string").str.strip()
    missing = text.isna().to_numpy().copy()
    if not numeric:
        missing |= text.isin(sorted(MISSING_MARKERS)).fillna(False).to_numpy(dtype=bool)
    if missing.any() and not drop_missing:
        where = (np.asarray(lines)[missing] if lines is not None
                 else np.flatnonzero(missing) + 1)
        shown = ", ".join(str(int(n)) for n in where[:5]) + (", ..." if len(where) > 5 else "")
        unit = "line" if lines is not None else "row"
        raise DataError(literal(
            f"{name}: {int(missing.sum())} row(s) have no label in column {values.name!r} "
            f"({unit}{'s' if len(where) > 1 else ''} {shown}). Fill them in, or pass ")
            + "{drop_missing_target} to leave those rows out.", drop_missing_target=True)
    keep = ~missing
    kept = text[keep]
    if values.dtype.kind == "b" and task != "regression":  # True/false/TRUE columns
        return kept.to_numpy(dtype=bool), keep
    if numeric:
        numbers = kept.to_numpy(dtype=np.float64)
    else:
        if decimal != ".":
            kept = kept.str.replace(decimal, ".", regex=False)
        # a text column shows itself in its first rows; parse the rest only if needed
        numbers = pd.to_numeric(kept.head(1000), errors="coerce").to_numpy(dtype=np.float64)
        if np.all(np.isfinite(numbers)):
            numbers = pd.to_numeric(kept, errors="coerce").to_numpy(dtype=np.float64)
    if kept.size and np.all(np.isfinite(numbers)):
        return numeric_target(numbers, task), keep
    if task == "regression":
        bad = int(np.flatnonzero(~np.isfinite(numbers))[0])
        where = f"line {int(np.asarray(lines)[keep][bad])}" if lines is not None else f"row {bad}"
        raise DataError(literal(name) + ": {task} needs a number in every row of column "
                        + literal(f"{values.name!r}, but {where} has {kept.iloc[bad]!r}.")
                        + " Fix the value, or leave out {task} to read the column as class "
                        "labels.", task=task)
    return text[keep].to_numpy(dtype=str), keep


#: With ``task='auto'``, a numeric target with more distinct values than this is regression.
AUTO_REGRESSION_DISTINCT = 20


def numeric_target(numbers, task="classification"):
    """A numeric target for ``task``: float64 for regression, class labels otherwise.

    ``task='auto'`` is regression when the target has more than
    :data:`AUTO_REGRESSION_DISTINCT` distinct values. Class labels are int64
    when all are whole numbers, else their shortest text (``'3.5'``, ``'4'``):
    scikit-learn reads a float target as continuous, and equal numbers must
    stay one class.
    """
    numbers = np.asarray(numbers, dtype=np.float64)
    if task == "regression" or (task == "auto"
                                and len(np.unique(numbers)) > AUTO_REGRESSION_DISTINCT):
        return numbers
    if np.all(numbers == np.round(numbers)) and np.all(np.abs(numbers) < 2**53):
        return numbers.astype(np.int64)
    return np.asarray([repr(float(v)).removesuffix(".0") for v in numbers])
