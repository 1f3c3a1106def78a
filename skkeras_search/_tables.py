"""Reading tables with pandas: CSV/TSV (plain or compressed) and Parquet.

Only reading lives here: finding the delimiter and the decimal mark,
reporting bytes that are not valid in the encoding, recognising
missing-value markers, and turning the target column into class labels.
What the feature columns become (imputation, scaling, one-hot encoding) is
decided in :mod:`._preprocessing`, inside the searched pipeline.
"""

import bz2
import codecs
import csv
import difflib
import gzip
import lzma
import os
import re
import zipfile

import numpy as np

__all__ = ["MISSING_MARKERS", "read_table", "is_table", "table_labels", "numeric_target"]

#: Cells read as missing values: pandas's defaults plus ``?`` (UCI's marker).
MISSING_MARKERS = frozenset({
    "", "?", "NA", "N/A", "n/a", "na", "NaN", "nan", "-nan", "-NaN", "NULL", "null", "Null",
    "None", "#N/A", "#N/A N/A", "#NA", "<NA>", "-1.#IND", "1.#QNAN", "1.#IND", "-1.#QNAN",
})
_COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".zip": "zip", ".xz": "xz", ".zst": "zstd"}
_TEXT_SUFFIXES = (".csv", ".tsv", ".tab", ".txt", ".data")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_SEPARATORS = (",", ";", "\t", "|")
_SAMPLE_BYTES = 1 << 16


def _split_suffix(path):
    """('.csv', 'gzip') for 'x.csv.gz'; (suffix, None) when not compressed."""
    lower = os.fspath(path).lower()
    root, ext = os.path.splitext(lower)
    compression = _COMPRESSION.get(ext)
    if compression:
        ext = os.path.splitext(root)[1]
    return ext, compression


def is_table(path):
    """Whether ``path`` names a file :func:`read_table` reads (by its suffix)."""
    ext, _ = _split_suffix(path)
    return ext in _TEXT_SUFFIXES or ext in _PARQUET_SUFFIXES


def _open_binary(path, compression):
    from .datasets import DataError

    if compression == "gzip":
        return gzip.open(path, "rb")
    if compression == "bz2":
        return bz2.open(path, "rb")
    if compression == "xz":
        return lzma.open(path, "rb")
    if compression == "zip":
        archive = zipfile.ZipFile(path)
        names = [n for n in archive.namelist()
                 if not n.endswith("/") and not n.startswith("__MACOSX/")]
        if len(names) != 1:
            raise DataError(f"{path}: the zip archive holds {len(names)} files ({names[:5]}); "
                            "put exactly one table in it.")
        return archive.open(names[0])
    if compression == "zstd":
        import zstandard  # pandas needs it too

        return zstandard.open(path, "rb")
    return open(path, "rb")


def _sample(path, compression):
    """The first bytes of the (decompressed) file, and whether that was all of it."""
    from .datasets import DataError

    try:
        with _open_binary(path, compression) as fh:
            data = fh.read(_SAMPLE_BYTES + 1)
    except ImportError as exc:
        raise DataError(f"{path}: reading {compression} files needs {exc.name}. Install it "
                        f"(pip install {exc.name}) or decompress the file.") from None
    except (OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError) as exc:
        raise DataError(f"{path}: cannot read the {compression or 'file'} "
                        f"({type(exc).__name__}: {exc}). Check the file is complete.") from None
    return data[:_SAMPLE_BYTES], len(data) <= _SAMPLE_BYTES


def _bad_byte(path, compression, encoding):
    """(offset, byte, line) of the first byte that is not valid in ``encoding``, or None."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset, line = 0, 1
    with _open_binary(path, compression) as fh:
        while True:
            chunk = fh.read(1 << 20)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                good = chunk[: max(exc.start, 0)]
                return offset + exc.start, chunk[exc.start:exc.start + 1], line + good.count(b"\n")
            except UnicodeError:  # e.g. UTF-16 without a byte-order mark: wrong from the start
                return offset, chunk[:1], line
            if not chunk:
                return None
            offset += len(chunk)
            line += chunk.count(b"\n")


def _encoding_error(path, compression, encoding):
    from .datasets import DataUsageError

    found = _bad_byte(path, compression, encoding)
    where = "" if found is None else (
        f" at byte offset {found[0]}{' of the decompressed data' if compression else ''} "
        f"(line {found[2]}, byte 0x{found[1].hex()})")
    name = "UTF-8" if encoding.lower().replace("-", "").startswith("utf8") else encoding
    return DataUsageError(
        f"{path}: not valid {name}{where}. Pass the file's encoding, e.g. --encoding latin-1 "
        "(or cp1252, utf-16)."
    )


def detect_separator(text):
    """The delimiter among ``, ; tab |`` that splits the sample's lines most consistently.

    Parameters
    ----------
    text : str
        The first lines of the file (a trailing partial line is ignored).

    Returns
    -------
    sep : str
        ``','`` when no candidate splits the header into two or more fields.
    """
    lines = [line for line in text.splitlines() if line.strip()][:50]
    best, best_key = ",", (0.0, 1)
    for sep in _SEPARATORS:
        counts = [len(row) for row in csv.reader(lines, delimiter=sep)]
        if not counts or counts[0] < 2:
            continue
        agreement = sum(c == counts[0] for c in counts) / len(counts)
        key = (round(agreement, 2), counts[0])
        if key > best_key:
            best, best_key = sep, key
    return best


_COMMA_NUMBER = re.compile(r"^[+-]?(\d+|\d{1,3}(\.\d{3})+),\d+$")
_DOTTED_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+,\d+$")
_DOT_NUMBER = re.compile(r"^[+-]?(\d+\.\d*|\.\d+)([eE][+-]?\d+)?$")


def _detect_decimal(text, sep):
    """(',', thousands) when the sample writes numbers as ``1,5`` or ``1.234,5``, else ('.', None).

    A comma-separated file cannot use a decimal comma without quoting, so
    only other delimiters are looked at.
    """
    if sep == ",":
        return ".", None
    cells = [c.strip() for row in csv.reader(text.splitlines()[1:], delimiter=sep) for c in row]
    comma = [c for c in cells if _COMMA_NUMBER.match(c)]
    dotted = any(_DOTTED_THOUSANDS.match(c) for c in comma)
    dot = sum(bool(_DOT_NUMBER.match(c)) for c in cells)
    if comma and (len(comma) > dot or dotted):  # the majority decides, not one stray cell
        return ",", "." if dotted else None
    return ".", None


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
        Decimal mark; ``','`` is detected for non-comma files when None.
    encoding : str, optional
        Text encoding; UTF-8 with or without byte-order mark when None.
    na_values : sequence of str
        Cell texts read as missing, besides :data:`MISSING_MARKERS`.

    Returns
    -------
    frame : pandas.DataFrame
        Blank lines removed, the index the data row (0-based), column names
        stripped of surrounding spaces, text cells stripped too.
    lines : ndarray of shape (n_rows,)
        The file line of each row (1 is the header); None for Parquet.
    notes : list of str
        What was detected (delimiter, decimal mark), for the summary.

    Raises
    ------
    DataUsageError
        The target is not a column, bytes are not valid in the encoding, or
        Parquet is asked for without pyarrow.
    DataError
        The file is empty, damaged, or a row has too many fields.
    """
    from .datasets import DataError, DataUsageError

    if target is None:
        raise DataUsageError(f"--data {path} is a table but --target is missing. Name the label "
                             "column, e.g. --target label.")
    ext, compression = _split_suffix(path)
    if ext in _PARQUET_SUFFIXES:
        frame, lines, notes = _read_parquet(path), None, []
    else:
        frame, lines, notes = _read_text(path, ext, compression, sep, decimal, encoding,
                                         na_values)
    raw_names = [str(c) for c in frame.columns]
    frame.columns = [name.strip() for name in raw_names]
    seen = {}
    for raw, name in zip(raw_names, frame.columns):
        if name in seen:
            raise DataError(f"{path}: columns {seen[name]!r} and {raw!r} have the same name once "
                            "surrounding spaces are stripped. Rename one of them.")
        seen[name] = raw
    if target not in frame.columns:
        columns = list(frame.columns)
        close = difflib.get_close_matches(target, columns, n=1)
        if len(columns) == 1:
            hint = (f"The header was read as one column ({columns[0][:60]!r}): pass the file's "
                    "delimiter with --sep, e.g. --sep ';'.")
        elif close:
            hint = f"Did you mean --target {close[0]}?"
        else:
            hint = f"Columns: {', '.join(columns[:30])}{', ...' if len(columns) > 30 else ''}."
        raise DataUsageError(f"--target {target!r} is not a column of {path}. {hint}")
    if frame.empty:
        raise DataError(f"{path}: the header is there but no data rows follow. Add rows.")
    return frame, lines, notes


def _read_parquet(path):
    import pandas as pd

    from .datasets import DataError, DataUsageError

    try:
        frame = pd.read_parquet(path)
    except ImportError:
        raise DataUsageError(f"--data {path}: reading Parquet needs pyarrow. Install it with "
                             "pip install 'skkeras-search[parquet]'.") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the Parquet file ({type(exc).__name__}: "
                        f"{' '.join(str(exc).split())[:200]}). Check the file.") from None
    return _strip_text(frame)


def _read_text(path, ext, compression, sep, decimal, encoding, na_values):
    import pandas as pd

    from .datasets import DataError

    decimal_given = decimal

    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            from .datasets import DataUsageError

            raise DataUsageError(f"--encoding {encoding!r} is not an encoding Python knows. Use "
                                 "e.g. utf-8, latin-1 or cp1252.") from None
    sample, whole = _sample(path, compression)
    if not sample.strip():
        raise DataError(f"{path}: the file is empty. Pass a table with a header row.")
    notes = []
    if encoding is None:
        # UTF-8 with or without BOM; a UTF-16 BOM is Excel's "Unicode text" export
        utf16 = sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        encoding = "utf-16" if utf16 else "utf-8-sig"
        if utf16:
            notes.append("UTF-16 detected (byte-order mark)")
    try:
        text = sample.decode(encoding)
    except UnicodeDecodeError as exc:
        if whole or exc.start < len(sample) - 4:  # not merely a character cut by the sample
            raise _encoding_error(path, compression, encoding) from None
        text = sample[:exc.start].decode(encoding)
    except UnicodeError:  # e.g. utf-16 asked for, but the file has no byte-order mark
        raise _encoding_error(path, compression, encoding) from None
    if not whole:
        text = text[: text.rfind("\n") + 1] or text
    skiprows = 0
    excel = re.match(r"\ufeff?sep=(.)\r?\n", text)  # Excel's "sep=;" first line
    if excel:
        skiprows, text = 1, text[excel.end():]
        if sep is None:
            sep = excel.group(1)
            notes.append(f"delimiter {sep!r} from the file's 'sep=' line")
    if sep is None:
        sep = "\t" if ext in (".tsv", ".tab") else detect_separator(text)
        if sep != ",":
            notes.append(f"delimiter {sep!r} detected")
    thousands = None
    if decimal is None:
        decimal, thousands = _detect_decimal(text, sep)
        if decimal != ".":
            notes.append(f"decimal mark {decimal!r} detected"
                         + (f", thousands separator {thousands!r}" if thousands else ""))
    # A zip is opened here (its one table, macOS's __MACOSX/ metadata skipped); pandas
    # decompresses the other formats itself.
    source = _open_binary(path, "zip") if compression == "zip" else path
    try:
        frame = pd.read_csv(
            source, sep=sep, decimal=decimal, thousands=thousands, encoding=encoding,
            compression=None if compression == "zip" else compression,
            na_values=sorted(MISSING_MARKERS | set(na_values)), keep_default_na=True,
            skipinitialspace=True, skip_blank_lines=False, engine="c", low_memory=False,
            index_col=False,  # a trailing delimiter must not turn the first column into the index
            skiprows=skiprows,
        )
    except UnicodeError:
        raise _encoding_error(path, compression, encoding) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty. Pass a table with a header row.") from None
    except pd.errors.ParserError as exc:
        reason = " ".join(str(exc).split()).replace("Error tokenizing data. C error: ", "")
        raise DataError(f"{path}: {reason}. Fix that row, or pass the delimiter with --sep "
                        f"(read with {sep!r}).") from None
    finally:
        if source is not path:
            source.close()
    lines = np.arange(len(frame)) + 2 + skiprows
    frame = _strip_text(frame, na_values)
    if decimal == "." and decimal_given is None:
        for column in _comma_decimal_columns(frame):
            frame[column] = pd.to_numeric(frame[column].str.replace(",", ".", regex=False))
            notes.append(f"column {column!r}: decimal commas read as numbers")
    blank = frame.isna().all(axis=1).to_numpy()
    frame = frame.loc[~blank].reset_index(drop=True)
    return frame, lines[~blank], notes


def _comma_decimal_columns(frame):
    """Text columns whose every value is a number written with a decimal comma (``"60,0"``)."""
    import pandas as pd

    found = []
    for column in frame.columns:
        values = frame[column].dropna()
        if values.empty or pd.api.types.infer_dtype(values) != "string":
            continue
        pattern = r"[+-]?\d+,\d+|[+-]?\d+"
        if values.head(200).str.fullmatch(pattern).all() and values.str.fullmatch(pattern).all() \
                and values.str.contains(",", regex=False).any():
            found.append(column)
    return found


def _strip_text(frame, na_values=()):
    """Strip text cells; markers become NaN; a column left with only numbers becomes numeric.

    ``"NA "`` or a cell of spaces only is a missing value like ``NA``, and a
    column whose other cells are all numbers is then a numeric column, as
    pandas would have read it without the stray spaces. Nullable (``<NA>``)
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
                    and pd.to_numeric(present, errors="coerce").notna().all():
                frame[column] = pd.to_numeric(stripped)
                continue
        frame[column] = stripped.astype(object).where(stripped.notna(), np.nan)
    return frame


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

    from .datasets import DataError

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
        raise DataError(
            f"{name}: {int(missing.sum())} row(s) have no label in column {values.name!r} "
            f"({unit}{'s' if len(where) > 1 else ''} {shown}). Fill them in, or pass "
            "--drop-missing-target to leave those rows out."
        )
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
        raise DataError(f"{name}: --task regression needs a number in every row of column "
                        f"{values.name!r}, but {where} has {kept.iloc[bad]!r}. Fix the value, or "
                        "use --task classification.")
    return text[keep].to_numpy(dtype=str), keep


#: With --task auto, a numeric target with more distinct values than this is regression.
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
