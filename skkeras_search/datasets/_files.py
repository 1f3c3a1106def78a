"""The bytes of a table file: its suffix, decompression, the first bytes, the encoding.

Which files are tables (by suffix), opening them through the matching
decompressor (a zip must hold exactly one table), reading a sample for the
dialect to be detected on, decoding that sample, and, when bytes are not
valid in the encoding, finding the first bad one for the message.
"""

import bz2
import codecs
import gzip
import lzma
import os
import zipfile

from skkeras_search.exceptions import DataError, DataUsageError, literal

__all__ = ["PARQUET_SUFFIXES", "check_encoding", "decoded_sample", "encoding_error", "is_table",
           "open_binary", "split_suffix"]

_COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".zip": "zip", ".xz": "xz", ".zst": "zstd"}
_TEXT_SUFFIXES = (".csv", ".tsv", ".tab", ".txt", ".data")
PARQUET_SUFFIXES = (".parquet", ".pq")
_SAMPLE_BYTES = 1 << 16


def split_suffix(path):
    """('.csv', 'gzip') for 'x.csv.gz'; (suffix, None) when not compressed."""
    lower = os.fspath(path).lower()
    root, ext = os.path.splitext(lower)
    compression = _COMPRESSION.get(ext)
    if compression:
        ext = os.path.splitext(root)[1]
    return ext, compression


def is_table(path):
    """Whether ``path`` names a file :func:`._tables.read_table` reads (by its suffix)."""
    ext, _ = split_suffix(path)
    return ext in _TEXT_SUFFIXES or ext in PARQUET_SUFFIXES


def open_binary(path, compression):
    """The file opened for reading bytes, decompressed; a zip's one table."""
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
            raise DataError(literal(f"{path}: the zip archive holds {len(names)} files "
                                    f"({names[:5]}); put exactly one table in it."))
        return archive.open(names[0])
    if compression == "zstd":
        import zstandard  # pandas needs it too

        return zstandard.open(path, "rb")
    return open(path, "rb")


def _sample(path, compression):
    """The first bytes of the (decompressed) file, and whether that was all of it."""
    try:
        with open_binary(path, compression) as fh:
            data = fh.read(_SAMPLE_BYTES + 1)
    except ImportError as exc:
        raise DataError(literal(f"{path}: reading {compression} files needs {exc.name}. Install "
                                f"it (pip install {exc.name}) or decompress the file.")) from None
    except (OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError) as exc:
        raise DataError(literal(f"{path}: cannot read the {compression or 'file'} "
                                f"({type(exc).__name__}: {exc}). Check the file is complete.")) \
            from None
    return data[:_SAMPLE_BYTES], len(data) <= _SAMPLE_BYTES


def check_encoding(encoding):
    """Refuse an ``encoding`` Python does not know (None is the default, UTF-8)."""
    if encoding is None:
        return
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise DataUsageError("{encoding} is not an encoding Python knows. Use e.g. utf-8, "
                             "latin-1 or cp1252.", encoding=encoding) from None


def decoded_sample(path, compression, encoding):
    """The first lines of the file as text, the encoding to read it with, and notes.

    Parameters
    ----------
    path : str
    compression : str or None
        As :func:`split_suffix` says.
    encoding : str or None
        None reads UTF-8 with or without byte-order mark, or UTF-16 when the
        file starts with its byte-order mark (Excel's "Unicode text").

    Returns
    -------
    text : str
        Whole lines only, unless the sample is one partial line.
    encoding : str
    notes : list of str

    Raises
    ------
    DataError
        The file is empty or cannot be read.
    DataUsageError
        Its bytes are not valid in the encoding.
    """
    sample, whole = _sample(path, compression)
    if not sample.strip():
        raise DataError(literal(path) + ": the file is empty. Pass a table with a header row.")
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
            raise encoding_error(path, compression, encoding) from None
        text = sample[:exc.start].decode(encoding)
    except UnicodeError:  # e.g. utf-16 asked for, but the file has no byte-order mark
        raise encoding_error(path, compression, encoding) from None
    if not whole:
        text = text[: text.rfind("\n") + 1] or text
    return text, encoding, notes


def _bad_byte(path, compression, encoding):
    """(offset, byte, line) of the first byte that is not valid in ``encoding``, or None."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset, line = 0, 1
    with open_binary(path, compression) as fh:
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


def encoding_error(path, compression, encoding):
    """The :class:`DataUsageError` for a file not valid in ``encoding``, locating the byte."""
    found = _bad_byte(path, compression, encoding)
    where = "" if found is None else (
        f" at byte offset {found[0]}{' of the decompressed data' if compression else ''} "
        f"(line {found[2]}, byte 0x{found[1].hex()})")
    name = "UTF-8" if encoding.lower().replace("-", "").startswith("utf8") else encoding
    return DataUsageError(
        literal(f"{path}: not valid {name}{where}.") + " Pass the file's encoding, e.g. "
        "{encoding} (or cp1252, utf-16).", encoding="latin-1")
