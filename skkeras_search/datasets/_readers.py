"""pandas reads the table: CSV/TSV text (plain or compressed) and Parquet.

The text reader takes its dialect from :mod:`._dialect`, its bytes from
:mod:`._files`, strips cells and recognises missing values with
:mod:`._cells`, and leaves text columns of formatted numbers to
:mod:`._numbers`. pandas is given no thousands separator: it would drop it in
every column (01.02.2024 would be 1022024), so each column is judged on its
own.
"""

import numpy as np

from skkeras_search.datasets._cells import MISSING_MARKERS, strip_text
from skkeras_search.datasets._dialect import dialect
from skkeras_search.datasets._files import (
    check_encoding,
    decoded_sample,
    encoding_error,
    open_binary,
)
from skkeras_search.datasets._numbers import formatted_numbers
from skkeras_search.exceptions import DataError, DataUsageError, literal

__all__ = ["read_parquet", "read_text"]


def read_parquet(path):
    """A Parquet file as a DataFrame, text cells stripped (needs pyarrow)."""
    import pandas as pd

    try:
        frame = pd.read_parquet(path)
    except ImportError:
        raise DataUsageError("{data}: reading Parquet needs pyarrow. Install it with "
                             "pip install 'skkeras-search[parquet]'.", data=path) from None
    except (OSError, ValueError) as exc:
        raise DataError(literal(f"{path}: cannot read the Parquet file ({type(exc).__name__}: "
                                f"{' '.join(str(exc).split())[:200]}). Check the file.")) \
            from None
    return strip_text(frame)


def read_text(path, ext, compression, *, sep=None, decimal=None, encoding=None, na_values=(),
              target=None):
    """A text table as a DataFrame, its file lines, and notes on what was detected.

    See :func:`._tables.read_table` for the parameters and what the frame
    holds; ``ext`` and ``compression`` come from :func:`._files.split_suffix`.
    """
    check_encoding(encoding)
    text, encoding, notes = decoded_sample(path, compression, encoding)
    found = dialect(text, ext, sep, decimal)
    notes += found.notes
    mark = decimal or found.detected or "."
    frame = _read_csv(path, compression, found, mark, encoding, na_values)
    lines = np.arange(len(frame)) + 2 + found.skiprows
    frame = strip_text(frame, na_values, decimal=mark)
    blank = frame.isna().all(axis=1).to_numpy()
    frame = frame.loc[~blank].reset_index(drop=True)
    lines = lines[~blank]
    notes += formatted_numbers(frame, path, lines, decimal=decimal, detected=found.detected,
                               sep=found.sep, target=target)
    return frame, lines, notes


def _read_csv(path, compression, found, mark, encoding, na_values):
    """``pandas.read_csv`` with the :class:`._dialect.Dialect` ``found``; errors as DataErrors."""
    import pandas as pd

    # A zip is opened here (its one table, macOS's __MACOSX/ metadata skipped); pandas
    # decompresses the other formats itself.
    source = open_binary(path, "zip") if compression == "zip" else path
    try:
        return pd.read_csv(
            source, sep=found.sep, decimal=mark, encoding=encoding,
            compression=None if compression == "zip" else compression,
            na_values=sorted(MISSING_MARKERS | set(na_values)), keep_default_na=True,
            skipinitialspace=True, skip_blank_lines=False, engine="c", low_memory=False,
            index_col=False,  # a trailing delimiter must not turn the first column into the index
            skiprows=found.skiprows,
        )
    except UnicodeError:
        raise encoding_error(path, compression, encoding) from None
    except pd.errors.EmptyDataError:
        raise DataError(literal(path) + ": the file is empty. Pass a table with a header row.") \
            from None
    except pd.errors.ParserError as exc:
        reason = " ".join(str(exc).split()).replace("Error tokenizing data. C error: ", "")
        raise DataError(literal(f"{path}: {reason}.") + " Fix that row, or pass the file's "
                        "delimiter (it was read with {sep}).", sep=found.sep) from None
    finally:
        if source is not path:
            source.close()
