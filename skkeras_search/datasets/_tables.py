"""Reading a table: CSV/TSV (plain or compressed) or Parquet into a DataFrame.

Only reading lives here and in the modules it calls, one job each:
:mod:`._files` (suffixes, decompression, the encoding), :mod:`._dialect`
(delimiter and decimal mark), :mod:`._readers` (pandas), :mod:`._cells`
(stripping, missing-value markers), :mod:`._numbers` (thousands separators,
currency, percent) and :mod:`._targets` (the label column). What the
feature columns become (imputation, scaling, one-hot encoding) is decided in
:mod:`._preprocessing`, inside the searched pipeline.
"""

import difflib

from skkeras_search.datasets._dialect import detect_separator
from skkeras_search.datasets._files import PARQUET_SUFFIXES, split_suffix
from skkeras_search.datasets._numbers import formatted_numbers
from skkeras_search.datasets._readers import read_parquet, read_text
from skkeras_search.exceptions import DataError, DataUsageError, literal

__all__ = ["read_table"]


def read_table(path, target, *, sep=None, decimal=None, encoding=None, na_values=()):
    """Read a CSV/TSV (optionally compressed) or Parquet file into a DataFrame.

    Parameters
    ----------
    path : str
        ``.csv``, ``.tsv``, ``.txt`` (optionally ``.gz``, ``.bz2``, ``.zip``,
        ``.xz``, ``.zst``) or ``.parquet`` (needs pyarrow).
    target : str
        The label column; checked to exist.
    sep : str, optional
        Delimiter; detected among ``, ; tab |`` when None.
    decimal : str, optional
        Decimal mark (the other of ``.`` and ``,`` is then the thousands
        separator, in every column); detected when None, see
        :func:`._numbers.formatted_numbers`.
    encoding : str, optional
        Text encoding; UTF-8 with or without byte-order mark when None.
    na_values : sequence of str
        Cell texts read as missing, besides :data:`._cells.MISSING_MARKERS`.

    Returns
    -------
    frame : pandas.DataFrame
        Blank lines removed, the index the data row (0-based), column names
        stripped of surrounding spaces, text cells stripped too. Text columns
        of numbers written with thousands separators, a decimal comma,
        currency or percent signs are numbers
        (:func:`._numbers.formatted_numbers`); with a decimal comma, a column
        of numbers written with a decimal point (``0.5``) stays text, with a
        :class:`DataWarning`.
    lines : ndarray of shape (n_rows,)
        The file line of each row (1 is the header); None for Parquet.
    notes : list of str
        What was detected (delimiter, decimal mark) and converted, for the summary.

    Raises
    ------
    DataUsageError
        The target is not a column, bytes are not valid in the encoding,
        Parquet is asked for without pyarrow, or a column's numbers read
        differently with either decimal mark and ``decimal`` is None.
    DataError
        The file is empty, damaged, or a row has too many fields, or a
        column's numbers mix currencies, or percentages with plain numbers.
    """
    if target is None:
        raise DataUsageError("{data} is a table, so it needs a label column: pass its name, e.g. "
                             "{target}.", data=path, target="label")
    if decimal not in (None, ".", ","):
        raise DataUsageError("{decimal} is not a decimal mark this reader knows. Use "
                             "{decimal='.'} or {decimal=','} (the other is the thousands "
                             "separator).", decimal=decimal)
    ext, compression = split_suffix(path)
    if ext in PARQUET_SUFFIXES:
        frame, lines = read_parquet(path), None
        notes = formatted_numbers(frame, path, lines, decimal=decimal, target=target)
    else:
        frame, lines, notes = read_text(path, ext, compression, sep=sep, decimal=decimal,
                                        encoding=encoding, na_values=na_values, target=target)
    _strip_names(frame, path)
    _check_target(frame, path, target, sep)
    if frame.empty:
        raise DataError(literal(path) + ": the header is there but no data rows follow. Add rows.")
    return frame, lines, notes


def _strip_names(frame, path):
    """Strip the column names of surrounding spaces, in place; refuse two that become one."""
    raw_names = [str(c) for c in frame.columns]
    frame.columns = [name.strip() for name in raw_names]
    seen = {}
    for raw, name in zip(raw_names, frame.columns):
        if name in seen:
            raise DataError(literal(f"{path}: columns {seen[name]!r} and {raw!r} have the same "
                                    "name once surrounding spaces are stripped. Rename one of "
                                    "them."))
        seen[name] = raw


def _check_target(frame, path, target, sep):
    """Refuse a ``target`` that is not a column, with the likely fix."""
    if target in frame.columns:
        return
    columns = list(frame.columns)
    close = difflib.get_close_matches(target, columns, n=1)
    parameters = {"target": target}
    if len(columns) == 1:
        header = columns[0]
        guess = detect_separator(f"{header}\n")
        parameters["sep"] = guess if guess != "," or sep not in (None, ",") else ";"
        hint = (literal(f"The header was read as one column ({header[:60]!r}): pass the "
                        "file's delimiter with") + " {sep}.")
    elif close:
        hint = literal(f"Did you mean {close[0]!r}?")
    else:
        hint = literal(f"Columns: {', '.join(columns[:30])}{', ...' if len(columns) > 30 else ''}.")
    raise DataUsageError("{target} is not a column of " + literal(path) + ". " + hint,
                         **parameters)
