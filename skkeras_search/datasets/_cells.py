"""The cells of a table as read: missing-value markers, stripped text, numeric columns.

One list of markers (:data:`MISSING_MARKERS`) is shared by the reader, the
target column and the pipeline's :class:`._preprocessing.TableSchema`, so a
cell missing in training is missing at predict time too.
"""

import numpy as np

__all__ = ["MISSING_MARKERS", "strip_text"]

#: Cells read as missing values: pandas's defaults plus ``?`` (UCI's marker).
MISSING_MARKERS = frozenset({
    "", "?", "NA", "N/A", "n/a", "na", "NaN", "nan", "-nan", "-NaN", "NULL", "null", "Null",
    "None", "#N/A", "#N/A N/A", "#NA", "<NA>", "-1.#IND", "1.#QNAN", "1.#IND", "-1.#QNAN",
})


def strip_text(frame, na_values=(), decimal="."):
    """Strip text cells; markers become NaN; a column left with only numbers becomes numeric.

    ``"NA "`` or a cell of spaces only is a missing value like ``NA``, and a
    column whose other cells are all numbers is then a numeric column, as
    pandas would have read it without the stray spaces. With a ``decimal``
    comma a column with a ``.`` in it is left to :func:`._numbers.formatted_numbers`
    (``1.234`` is 1234 there, ``0.5`` is not a number). Nullable (``<NA>``)
    cells become NaN.
    """
    import pandas as pd

    markers = sorted(MISSING_MARKERS | set(na_values))
    for column in frame.columns:
        values = frame[column]
        if values.dtype.kind in "biufcmM":
            continue
        kind = pd.api.types.infer_dtype(values, skipna=True)
        if kind == "string":  # the usual case: vectorised (Arrow strings under pandas 3)
            stripped = values.str.strip()
        else:  # booleans with gaps, mixed objects
            values = values.astype(object).where(values.notna(), np.nan)
            stripped = values.map(lambda v: v.strip() if isinstance(v, str) else v)
        stripped = stripped.mask(stripped.isin(markers))
        if kind == "string":
            present = stripped.dropna()
            # a text column shows itself in its first cells; parse all only if those are numbers
            if len(present) and pd.to_numeric(present.head(1000), errors="coerce").notna().all() \
                    and pd.to_numeric(present, errors="coerce").notna().all() \
                    and not (decimal == "," and present.str.contains(".", regex=False).any()):
                frame[column] = pd.to_numeric(stripped)
                continue
        frame[column] = stripped.astype(object).where(stripped.notna(), np.nan)
    return frame
