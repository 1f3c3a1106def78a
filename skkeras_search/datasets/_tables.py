"""Reading tables with pandas: CSV/TSV (plain or compressed) and Parquet.

Only reading lives here: finding the delimiter and the decimal mark,
reporting bytes that are not valid in the encoding, recognising
missing-value markers, and turning the target column into class labels.
What the feature columns become (imputation, scaling, one-hot encoding) is
decided in :mod:`._preprocessing`, inside the searched pipeline.
"""

import bz2
import codecs
import collections
import csv
import difflib
import functools
import gzip
import lzma
import os
import re
import unicodedata
import zipfile

import numpy as np

__all__ = ["MISSING_MARKERS", "read_table", "is_table", "table_labels", "numeric_target",
           "number_like"]

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
    from skkeras_search.exceptions import DataError

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
    from skkeras_search.exceptions import DataError

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
    from skkeras_search.exceptions import DataUsageError

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
# 3,417: a thousands separator or a decimal comma, so evidence for neither
_GROUPED_OR_COMMA = re.compile(r"^[+-]?[1-9]\d{0,2}(,\d{3})+$")
# 1,234.5 and 1,234,567: commas that can only be thousands separators
_COMMA_GROUPED = re.compile(r"^[+-]?\d{1,3}((,\d{3})+\.\d+|(,\d{3}){2,})$")


def _detect_decimal(text, sep):
    """The sample's decimal mark and thousands separator, or None for what it does not say.

    ``','`` when numbers are written ``1,5`` or ``1.234,5``, ``'.'`` when
    ``1.5`` or ``1,234.5``; None when the sample does not say (``3,417`` is
    either). A comma-separated file is not looked at: there a comma needs
    quotes, and each quoted column is judged on its own
    (:func:`_formatted_numbers`).
    """
    if sep == ",":
        return None, None
    cells = [c.strip() for row in csv.reader(text.splitlines()[1:], delimiter=sep) for c in row]
    comma = [c for c in cells if _COMMA_NUMBER.match(c) and not _GROUPED_OR_COMMA.match(c)]
    dotted = any(_DOTTED_THOUSANDS.match(c) for c in comma)
    dot = sum(bool(_DOT_NUMBER.match(c) or _COMMA_GROUPED.match(c)) for c in cells)
    if comma and (len(comma) > dot or dotted):  # the majority decides, not one stray cell
        return ",", "." if dotted else None
    return ("." if dot else None), None


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
        :func:`_formatted_numbers`.
    encoding : str, optional
        Text encoding; UTF-8 with or without byte-order mark when None.
    na_values : sequence of str
        Cell texts read as missing, besides :data:`MISSING_MARKERS`.

    Returns
    -------
    frame : pandas.DataFrame
        Blank lines removed, the index the data row (0-based), column names
        stripped of surrounding spaces, text cells stripped too. Text columns
        of numbers written with thousands separators, a decimal comma,
        currency or percent signs are numbers (:func:`_formatted_numbers`);
        with a decimal comma, a column of numbers written with a decimal point
        (``0.5``) stays text, with a :class:`DataWarning`.
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
    from skkeras_search.exceptions import DataError, DataUsageError

    if target is None:
        raise DataUsageError(f"--data {path} is a table but --target is missing. Name the label "
                             "column, e.g. --target label.")
    if decimal not in (None, ".", ","):
        raise DataUsageError(f"--decimal {decimal!r} is not a decimal mark this reader knows. Use "
                             "--decimal . or --decimal , (the other is the thousands separator).")
    ext, compression = _split_suffix(path)
    if ext in _PARQUET_SUFFIXES:
        frame, lines = _read_parquet(path), None
        notes = _formatted_numbers(frame, path, lines, decimal=decimal, target=target)
    else:
        frame, lines, notes = _read_text(path, ext, compression, sep, decimal, encoding,
                                         na_values, target)
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

    from skkeras_search.exceptions import DataError, DataUsageError

    try:
        frame = pd.read_parquet(path)
    except ImportError:
        raise DataUsageError(f"--data {path}: reading Parquet needs pyarrow. Install it with "
                             "pip install 'skkeras-search[parquet]'.") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the Parquet file ({type(exc).__name__}: "
                        f"{' '.join(str(exc).split())[:200]}). Check the file.") from None
    return _strip_text(frame)


def _read_text(path, ext, compression, sep, decimal, encoding, na_values, target):
    import pandas as pd

    from skkeras_search.exceptions import DataError

    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            from skkeras_search.exceptions import DataUsageError

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
    detected, thousands = (None, None) if decimal else _detect_decimal(text, sep)
    if detected == ",":
        notes.append("decimal mark ',' detected"
                     + (f", thousands separator {thousands!r}" if thousands else ""))
    mark = decimal or detected or "."
    # A zip is opened here (its one table, macOS's __MACOSX/ metadata skipped); pandas
    # decompresses the other formats itself.
    source = _open_binary(path, "zip") if compression == "zip" else path
    try:
        # No thousands separator for pandas: it would drop it in every column (01.02.2024 would
        # be 1022024). Cells with one stay text, and each column is judged on its own by
        # _formatted_numbers, which checks the groups of three digits.
        frame = pd.read_csv(
            source, sep=sep, decimal=mark, encoding=encoding,
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
    frame = _strip_text(frame, na_values, decimal=mark)
    blank = frame.isna().all(axis=1).to_numpy()
    frame = frame.loc[~blank].reset_index(drop=True)
    lines = lines[~blank]
    notes += _formatted_numbers(frame, path, lines, decimal=decimal, detected=detected, sep=sep,
                                target=target)
    return frame, lines, notes


#: Currency codes read as currency signs (``EUR 12``, ``12 CHF``), besides Unicode's
#: currency symbols (``$ € £ ¥ ₹ ...``) and ``US$``-style prefixes.
_CURRENCY_CODES = ("USD", "EUR", "GBP", "JPY", "CNY", "RMB", "CHF", "CAD", "AUD", "NZD", "HKD",
                   "SGD", "INR", "KRW", "RUB", "BRL", "MXN", "ZAR", "SEK", "NOK", "DKK", "PLN",
                   "CZK", "HUF", "TRY", "ILS", "AED", "SAR", "THB", "IDR", "MYR", "PHP", "kr",
                   "zł", "Kč")
_MINUS = ("-", "\u2212")
#: The number in a cell, replaced by '#' to leave its decoration (``$#``, ``(#)``, ``#%``).
_RUN = r"[0-9][0-9.,]*|[.,][0-9]+"
#: The number in each writing: '.' decimal with ',' thousands, and the other way round.
#: (Grouped whole so that an engine anchoring the pattern's ends keeps the alternatives.)
_NUMBER = {".": r"(?:(?:[1-9]\d{0,2}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)",
           ",": r"(?:(?:[1-9]\d{0,2}(?:\.\d{3})+|\d+)(?:,\d+)?|,\d+)"}
_Decoration = collections.namedtuple("_Decoration", "negative unit percent parentheses")


@functools.cache
def _decoration_pattern():
    """Signs, one currency (Unicode's symbols, ``US$``, a code), '%' and parentheses around '#'."""
    symbols = "".join(chr(i) for i in range(0x10000) if unicodedata.category(chr(i)) == "Sc")
    currency = "|".join([r"[A-Z]{1,3}\$", f"[{re.escape(symbols)}]",
                         *map(re.escape, _CURRENCY_CODES)])
    sign = "[-+\u2212]"
    return re.compile(
        rf"(?P<open>\()?\s*(?P<sign>{sign})?\s*(?P<pre>{currency})?\s*(?P<sign2>{sign})?\s*#\s*"
        rf"(?P<post>{currency})?\s*(?P<pct>%)?\s*(?P<close>\))?")


@functools.lru_cache(maxsize=4096)
def _decoration(text):
    """What surrounds a number ('#'), e.g. ``-$#``, ``(#)``, ``# %``; None if no number's."""
    found = _decoration_pattern().fullmatch(text) if "#" in text else None
    if found is None:
        return None
    opened, sign, pre, sign2, post, percent, closed = found.groups()
    if bool(opened) != bool(closed) or [opened, sign, sign2].count(None) < 2 or (pre and post):
        return None  # "(#", "-(#)", "--#", "$#€"
    return _Decoration(bool(opened) or (sign or sign2) in _MINUS, pre or post, bool(percent),
                       bool(opened))


def _split_numbers(texts):
    """(number texts, decorations) of text cells: ``'-$1,200.50'`` -> ``'1,200.50'``, '-$#'."""
    decorations = texts.str.replace(_RUN, "#", regex=True)
    return texts.str.replace(r"[^0-9.,]+", "", regex=True), decorations


def number_like(values):
    """Whether each cell of ``values`` is a number as :func:`read_table` reads one.

    That is plain or with thousands separators, a decimal comma, a currency
    sign or code, a percent sign, or accounting parentheses (``3,417``,
    ``$4,494.33``, ``19.1%``, ``(1,200)``); for the "mostly numbers" warning.
    """
    number, decorations = _split_numbers(values.astype(str).str.strip())
    valid = decorations.map({d: _decoration(d) is not None for d in decorations.unique()})
    return valid & number.str.fullmatch(f"{_NUMBER['.']}|{_NUMBER[',']}").astype(bool)


def _formatted_numbers(frame, path, lines, *, decimal=None, detected=None, sep=None,
                       target=None):
    """Make text columns of formatted numbers numeric, in place; one note per column converted.

    A column is converted only when every present cell is a number written
    one way: ``3,417`` and ``1,234,567`` (thousands separators), ``1,5`` (a
    decimal comma), ``$4,494.33``, ``-€12``, ``12 CHF`` (one currency),
    ``19.1%`` (becomes 19.1: the sign is dropped, the number is not divided
    by 100), ``(1,200)`` (accounting negative, -1200). A column where some
    cells are text stays text, whole. The decimal mark is ``decimal`` when
    given, or a comma when that was ``detected`` in the file; else the one
    that reads every cell; when both do and a cell has a comma (``3,417``),
    the file's ``detected`` mark decides, or in a comma-separated file the
    comma is a thousands separator, or else the reading is refused. The
    other of ``.`` and ``,`` is the thousands separator, and its groups must
    be of three digits: with a decimal comma ``1.234`` is 1234, and a column
    of numbers written with a decimal point (``0.5``, ``12.30``) stays text,
    with a :class:`DataWarning` naming the column and the cell (not for the
    ``target``, whose labels :func:`table_labels` reads).
    """
    import warnings

    import pandas as pd

    from skkeras_search.exceptions import DataWarning

    def where(i):
        return f"line {int(lines[i])}" if lines is not None else f"row {i}"

    given = decimal is not None
    decimal = decimal or ("," if detected == "," else None)
    notes = []
    for column in frame.columns:
        values = frame[column]
        if values.dtype.kind != "O" or pd.api.types.infer_dtype(values, skipna=True) != "string":
            continue
        present = values.dropna()
        if not number_like(present.head(1000)).all():  # a text column shows itself early
            continue
        number, decorations = _split_numbers(present)
        kinds = {d: _decoration(d) for d in decorations.unique()}
        if None in kinds.values():  # text further down: the column stays text, whole
            continue
        numbers, how = _formatted_column(number, decorations, kinds, present, column, path,
                                         where, decimal, detected, sep)
        if numbers is not None:
            frame[column] = numbers.reindex(values.index)
        elif how is not None and str(column).strip() != target:
            how, warning = _left_as_text(number, present, where, decimal, given)
            warnings.warn(f"column {column!r} {warning}", DataWarning, stacklevel=4)
        if how:
            notes.append(f"column {column!r}: {how}")
    return notes


def _left_as_text(number, texts, where, decimal, given):
    """(note, warning) for a column of numbers none of which is written with ``decimal``."""
    i = (~number.str.fullmatch(_NUMBER[decimal]).astype(bool)).idxmax()
    group = "," if decimal == "." else "."
    mark = f"--decimal {decimal!r}" if given else f"the decimal mark {decimal!r} detected in the file"
    swapped = texts[i].translate({ord("."): ",", ord(","): "."})
    note = f"left as text, {texts[i]!r} on {where(i)} is not a number with {mark}"
    return note, (
        f"is left as text (categorical): {texts[i]!r} on {where(i)} is not a number with {mark}, "
        f"where {group!r} separates thousands in groups of three. Write the column's numbers with "
        f"{decimal!r} as decimal mark (e.g. {swapped!r}) so they are read as numbers.")


def _formatted_column(number, decorations, kinds, texts, column, path, where, decimal, detected,
                      sep):
    """(numbers, how they were written) for one column's cells split by :func:`_split_numbers`;
    (None, None or a note) when they are not numbers written one way.
    """
    import pandas as pd

    from skkeras_search.exceptions import DataError

    def first(test):  # the first cell whose decoration passes ``test``, shown with its line
        i = decorations.map({d: test(k) for d, k in kinds.items()}).idxmax()
        return f"{texts[i]!r} on {where(i)}"

    units = {k.unit for k in kinds.values()} - {None}
    if len(units) > 1:
        shown = ", ".join(first(lambda k, u=u: k.unit == u) for u in sorted(units)[:2])
        raise DataError(f"{path}: column {column!r} mixes currencies ({shown}), whose amounts are "
                        "not comparable. Write the column in one currency.")
    if len({k.percent for k in kinds.values()}) > 1:
        shown = f"{first(lambda k: k.percent)}, {first(lambda k: not k.percent)}"
        raise DataError(f"{path}: column {column!r} writes some numbers as percentages and some "
                        f"not ({shown}). Write them all one way.")
    mark = _number_mark(number, texts, column, path, where, decimal, detected, sep)
    if mark is None:
        if decimal and number.str.fullmatch(f"{_NUMBER['.']}|{_NUMBER[',']}").all():
            return None, "left as text"  # numbers, some written with the other mark: see caller
        return None, None  # versions, dates, addresses: 1.2.3 is text
    group = "," if mark == "." else "."
    numbers = pd.to_numeric(number.str.replace(group, "", regex=False)
                            .str.replace(mark, ".", regex=False)).astype("float64")
    negative = decorations.map({d: k.negative for d, k in kinds.items()}).astype(bool)
    numbers = numbers.where(~negative, -numbers)
    how = []
    if mark == "," and number.str.contains(",", regex=False).any():
        how.append("decimal commas")
    if number.str.contains(group, regex=False).any():
        how.append(f"thousands separators {group!r}")
    how += [f"{unit!r} amounts" for unit in units]
    if any(k.percent for k in kinds.values()):
        how.append("percentages")
    if any(k.parentheses for k in kinds.values()):
        how.append("negatives in parentheses")
    how = ", ".join(how[:-1]) + " and " * (len(how) > 1) + how[-1] if how else "numbers"
    head = texts.head(1000)
    sample = (~head.str.fullmatch(r"[+-]?\d*\.?\d+")).idxmax()  # the first not written plainly
    return numbers, f"{how} read as numbers, e.g. {texts[sample]!r} as {numbers[sample]:.15g}"


def _number_mark(number, texts, column, path, where, decimal, detected, sep):
    """The decimal mark that reads every number text, or None when none does."""
    from skkeras_search.exceptions import DataUsageError

    def fits(mark):
        return bool(number.str.fullmatch(_NUMBER[mark]).all())

    if decimal:
        return decimal if fits(decimal) else None
    dot, commas = fits("."), number.str.contains(",", regex=False)
    if dot and (not commas.any() or sep == "," or detected == "."):
        return "."  # 1.234 reads as pandas reads it; 3,417 in a comma file is thousands
    comma = fits(",")
    if dot != comma:
        return "." if dot else ","
    if not dot:  # neither mark reads every cell
        return None
    if detected:
        return detected
    i = commas.idxmax()
    thousands = float(number[i].replace(",", ""))
    comma = float(number[i].replace(".", "").replace(",", "."))
    raise DataUsageError(
        f"{path}: column {column!r} has {texts[i]!r} ({where(i)}), which is {thousands:.15g} "
        f"with ',' as thousands separator and {comma:.15g} with a decimal comma. Pass --decimal "
        ". or --decimal , to say which.")


def _strip_text(frame, na_values=(), decimal="."):
    """Strip text cells; markers become NaN; a column left with only numbers becomes numeric.

    ``"NA "`` or a cell of spaces only is a missing value like ``NA``, and a
    column whose other cells are all numbers is then a numeric column, as
    pandas would have read it without the stray spaces. With a ``decimal``
    comma a column with a ``.`` in it is left to :func:`_formatted_numbers`
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

    from skkeras_search.exceptions import DataError

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
