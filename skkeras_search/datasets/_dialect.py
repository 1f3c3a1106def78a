"""How a text table is written, read from its first lines: delimiter and decimal mark.

Excel's ``sep=;`` first line names the delimiter; otherwise it is the one
among ``, ; tab |`` that splits the lines most consistently. The decimal mark
is decided by the majority of the sample's numbers (``1,5`` against
``1.5``), and only outside comma-separated files, where a comma in a number
needs quotes and each quoted column is judged on its own
(:func:`._numbers.formatted_numbers`).
"""

import csv
import re
from dataclasses import dataclass, field

__all__ = ["Dialect", "detect_separator", "dialect"]

_SEPARATORS = (",", ";", "\t", "|")
_COMMA_NUMBER = re.compile(r"^[+-]?(\d+|\d{1,3}(\.\d{3})+),\d+$")
_DOTTED_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+,\d+$")
_DOT_NUMBER = re.compile(r"^[+-]?(\d+\.\d*|\.\d+)([eE][+-]?\d+)?$")
# 3,417: a thousands separator or a decimal comma, so evidence for neither
_GROUPED_OR_COMMA = re.compile(r"^[+-]?[1-9]\d{0,2}(,\d{3})+$")
# 1,234.5 and 1,234,567: commas that can only be thousands separators
_COMMA_GROUPED = re.compile(r"^[+-]?\d{1,3}((,\d{3})+\.\d+|(,\d{3}){2,})$")
_EXCEL_SEP_LINE = re.compile(r"\ufeff?sep=(.)\r?\n")  # Excel's "sep=;" first line


@dataclass
class Dialect:
    """What the sample says: ``sep`` used, ``skiprows`` (1 after a ``sep=`` line),
    the ``detected`` decimal mark (None when the sample does not say) and notes."""

    sep: str
    skiprows: int = 0
    detected: str = None
    notes: list = field(default_factory=list)


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


def _detect_decimal(text, sep):
    """The sample's decimal mark and thousands separator, or None for what it does not say.

    ``','`` when numbers are written ``1,5`` or ``1.234,5``, ``'.'`` when
    ``1.5`` or ``1,234.5``; None when the sample does not say (``3,417`` is
    either). A comma-separated file is not looked at: there a comma needs
    quotes, and each quoted column is judged on its own.
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


def dialect(text, ext, sep=None, decimal=None):
    """The :class:`Dialect` of a text table from its first lines.

    Parameters
    ----------
    text : str
        The decoded sample (:func:`._files.decoded_sample`).
    ext : str
        The file's suffix: ``.tsv`` and ``.tab`` are tab-separated.
    sep, decimal : str or None
        As given; each is detected only when None.
    """
    found = Dialect(sep)
    excel = _EXCEL_SEP_LINE.match(text)
    if excel:
        found.skiprows, text = 1, text[excel.end():]
        if found.sep is None:
            found.sep = excel.group(1)
            found.notes.append(f"delimiter {found.sep!r} from the file's 'sep=' line")
    if found.sep is None:
        found.sep = "\t" if ext in (".tsv", ".tab") else detect_separator(text)
        if found.sep != ",":
            found.notes.append(f"delimiter {found.sep!r} detected")
    found.detected, thousands = (None, None) if decimal else _detect_decimal(text, found.sep)
    if found.detected == ",":
        found.notes.append("decimal mark ',' detected"
                           + (f", thousands separator {thousands!r}" if thousands else ""))
    return found
