"""Numbers written for people: thousands separators, decimal commas, currency, percent.

A text column becomes numbers only when every present cell is a number
written one way (one currency, all or none as percentages, one decimal
mark whose thousands groups are of three digits); otherwise it stays text,
whole, and the messages name the column and the first cell that decides.
"""

import collections
import functools
import re
import unicodedata
import warnings
from dataclasses import dataclass

from skkeras_search.exceptions import DataError, DataUsageError, DataWarning, literal

__all__ = ["formatted_numbers", "number_like"]


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
    """Whether each cell of ``values`` is a number as :func:`._tables.read_table` reads one.

    That is plain or with thousands separators, a decimal comma, a currency
    sign or code, a percent sign, or accounting parentheses (``3,417``,
    ``$4,494.33``, ``19.1%``, ``(1,200)``); for the "mostly numbers" warning.
    """
    number, decorations = _split_numbers(values.astype(str).str.strip())
    valid = decorations.map({d: _decoration(d) is not None for d in decorations.unique()})
    return valid & number.str.fullmatch(f"{_NUMBER['.']}|{_NUMBER[',']}").astype(bool)


@dataclass(frozen=True)
class _Reading:
    """How the file is read, for each column's decision and its messages."""

    path: str
    lines: object  # the file line of each row, or None (Parquet)
    decimal: str  # the mark every column is read with, or None to decide per column
    given: bool  # whether ``decimal`` was given (else a detected comma)
    detected: str
    sep: str

    def where(self, i):
        return f"line {int(self.lines[i])}" if self.lines is not None else f"row {i}"


#: A text column's present cells split by :func:`_split_numbers`, with each decoration's kind.
_Cells = collections.namedtuple("_Cells", "column texts number decorations kinds")


def formatted_numbers(frame, path, lines, *, decimal=None, detected=None, sep=None,
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
    ``target``, whose labels :func:`._targets.table_labels` reads).
    """
    reading = _Reading(path, lines, decimal or ("," if detected == "," else None),
                       decimal is not None, detected, sep)
    notes = []
    for column in frame.columns:
        cells = _number_cells(frame[column], column)
        if cells is None:
            continue
        numbers, how = _formatted_column(cells, reading)
        if numbers is not None:
            frame[column] = numbers.reindex(frame[column].index)
        elif how is not None and str(column).strip() != target:
            how, warning = _left_as_text(cells, reading)
            warnings.warn(warning, stacklevel=4)
        if how:
            notes.append(f"column {column!r}: {how}")
    return notes


def _number_cells(values, column):
    """The :class:`_Cells` of a text column whose every cell is number-like, else None."""
    import pandas as pd

    if values.dtype.kind != "O" or pd.api.types.infer_dtype(values, skipna=True) != "string":
        return None
    present = values.dropna()
    if not number_like(present.head(1000)).all():  # a text column shows itself early
        return None
    number, decorations = _split_numbers(present)
    kinds = {d: _decoration(d) for d in decorations.unique()}
    if None in kinds.values():  # text further down: the column stays text, whole
        return None
    return _Cells(column, present, number, decorations, kinds)


def _left_as_text(cells, reading):
    """(note, warning) for a column of numbers none of which is written with the decimal mark."""
    texts, decimal = cells.texts, reading.decimal
    i = (~cells.number.str.fullmatch(_NUMBER[decimal]).astype(bool)).idxmax()
    group = "," if decimal == "." else "."
    swapped = texts[i].translate({ord("."): ",", ord(","): "."})
    told = "" if reading.given else " detected in the file"
    note = (f"left as text, {texts[i]!r} on {reading.where(i)} is not a number with the decimal "
            f"mark {decimal!r}{told}")
    mark = "{decimal}" if reading.given else f"the decimal mark {decimal!r} detected in the file"
    parameters = {"decimal": decimal} if reading.given else {}
    return note, DataWarning(
        literal(f"column {cells.column!r} is left as text (categorical): {texts[i]!r} on "
                f"{reading.where(i)} is not a number with ") + mark
        + literal(f" (then {group!r} separates thousands, in groups of three). Write the "
                  f"column's numbers with {decimal!r} as decimal mark (e.g. {swapped!r}) so "
                  "they are read as numbers."), **parameters)


def _first(cells, reading, test):
    """The first cell whose decoration's kind passes ``test``, shown with its line."""
    i = cells.decorations.map({d: test(k) for d, k in cells.kinds.items()}).idxmax()
    return f"{cells.texts[i]!r} on {reading.where(i)}"


def _check_one_writing(cells, reading):
    """Refuse a column mixing currencies, or percentages with plain numbers; its units."""
    kinds, column = cells.kinds.values(), cells.column
    units = {k.unit for k in kinds} - {None}
    if len(units) > 1:
        shown = ", ".join(_first(cells, reading, lambda k, u=u: k.unit == u)
                          for u in sorted(units)[:2])
        raise DataError(literal(f"{reading.path}: column {column!r} mixes currencies "
                                f"({shown}), whose amounts are not comparable. Write the "
                                "column in one currency."))
    if len({k.percent for k in kinds}) > 1:
        shown = (f"{_first(cells, reading, lambda k: k.percent)}, "
                 f"{_first(cells, reading, lambda k: not k.percent)}")
        raise DataError(literal(f"{reading.path}: column {column!r} writes some numbers as "
                                f"percentages and some not ({shown}). Write them all one way."))
    return units


def _formatted_column(cells, reading):
    """(numbers, how they were written) for one column's :class:`_Cells`;
    (None, None or a note) when they are not numbers written one way.
    """
    import pandas as pd

    units = _check_one_writing(cells, reading)
    number = cells.number
    mark = _number_mark(cells, reading)
    if mark is None:
        if reading.decimal and number.str.fullmatch(f"{_NUMBER['.']}|{_NUMBER[',']}").all():
            return None, "left as text"  # numbers, some written with the other mark: see caller
        return None, None  # versions, dates, addresses: 1.2.3 is text
    group = "," if mark == "." else "."
    numbers = pd.to_numeric(number.str.replace(group, "", regex=False)
                            .str.replace(mark, ".", regex=False)).astype("float64")
    kinds = cells.kinds
    negative = cells.decorations.map({d: k.negative for d, k in kinds.items()}).astype(bool)
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
    texts = cells.texts
    sample = (~texts.head(1000).str.fullmatch(r"[+-]?\d*\.?\d+")).idxmax()  # first not plain
    return numbers, f"{how} read as numbers, e.g. {texts[sample]!r} as {numbers[sample]:.15g}"


def _number_mark(cells, reading):
    """The decimal mark that reads every number text, or None when none does."""
    number, decimal, detected = cells.number, reading.decimal, reading.detected

    def fits(mark):
        return bool(number.str.fullmatch(_NUMBER[mark]).all())

    if decimal:
        return decimal if fits(decimal) else None
    dot, commas = fits("."), number.str.contains(",", regex=False)
    if dot and (not commas.any() or reading.sep == "," or detected == "."):
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
        literal(f"{reading.path}: column {cells.column!r} has {cells.texts[i]!r} "
                f"({reading.where(i)}), which is {thousands:.15g} with ',' as thousands "
                f"separator and {comma:.15g} with a decimal comma.")
        + " Pass {decimal=','} if the comma is a decimal mark, or {decimal='.'} if it "
        "separates thousands.")
