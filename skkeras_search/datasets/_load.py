"""Reading the experiment's data: bundled digits, MNIST, tables, NPZ and IDX files.

Every loader returns a :class:`Dataset`: the raw features (a DataFrame for
tables, an array for images), the labels and what the reader noticed. This
module only reads; what the features become is decided in
:mod:`._preprocessing`, inside the searched pipeline. Problems with the data
raise :class:`DataError` with one line naming the file and the fix.
"""

import contextlib
import difflib
import gzip
import os
import sys
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from skkeras_search._core import backend as _backend
from skkeras_search.datasets._files import is_table
from skkeras_search.datasets._tables import read_table
from skkeras_search.datasets._targets import numeric_target, table_labels
from skkeras_search.exceptions import DataError, DataUsageError, literal

__all__ = ["DataError", "DataUsageError", "Dataset", "load", "read_idx", "write_idx",
           "load_idx_dir"]


@dataclass
class Dataset:
    """Raw features and labels, as read.

    ``X`` is a DataFrame of the feature columns for tables (``kind='table'``),
    or an array of shape (n_samples, n_pixels) for images (``kind='images'``,
    scaled later by ``image_max``). ``index`` is each sample's row in the
    source (0-based data row); ``lines`` its line in a text file.
    """

    X: object
    y: np.ndarray
    name: str
    kind: str = "table"
    image_shape: tuple = None
    image_max: float = None
    index: np.ndarray = None
    lines: np.ndarray = None
    notes: list = field(default_factory=list)
    task: str = "classification"

    def __post_init__(self):
        if self.index is None:
            self.index = np.arange(len(self.y))
        if np.asarray(self.y).dtype.kind == "f":  # float targets are only made for regression
            self.task = "regression"

    @property
    def feature_names(self):
        return [str(c) for c in self.X.columns] if self.kind == "table" else None

    @property
    def n_features(self):
        return int(np.shape(self.X)[1])


_DATASETS = ("digits", "mnist")

# ------------------------------------------------------------------- IDX
_IDX_TYPES = {
    0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8",
}


def _open(path):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def read_idx(path):
    """Read an IDX file (MNIST's format), gzip-compressed or not.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    array : ndarray
        With the shape and dtype the header declares.
    """
    try:
        with _open(path) as fh:
            data = fh.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(literal(f"{path}: cannot read IDX file ({exc}).")
                        + " Check the file is complete.") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise DataError(
            literal(f"{path}: not an IDX file (bad magic number {data[:4].hex() or 'empty'}). ")
            + "Pass MNIST-format files such as t10k-images-idx3-ubyte.gz."
        )
    ndim = data[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise DataError(literal(path) + ": IDX header is truncated. Re-download the file.")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_TYPES[data[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise DataError(literal(
            f"{path}: IDX header declares shape {shape} ({expected} bytes) but the file "
            f"holds {len(data) - header} bytes of data. Re-download the file."
        ))
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)


def write_idx(path, array):
    """Write ``array`` as an IDX file (uncompressed; used by the tests)."""
    array = np.asarray(array)
    codes = {np.dtype(v).newbyteorder(">") if np.dtype(v).itemsize > 1 else np.dtype(v): k
             for k, v in _IDX_TYPES.items()}
    big = array.astype(array.dtype.newbyteorder(">")) if array.dtype.itemsize > 1 else array
    code = codes[big.dtype]
    with open(path, "wb") as fh:
        fh.write(bytes([0, 0, code, array.ndim]))
        for n in array.shape:
            fh.write(int(n).to_bytes(4, "big"))
        fh.write(big.tobytes())


def load_idx_dir(path):
    """Load the images and labels files of an MNIST-format folder."""
    names = sorted(os.listdir(path))
    images = [n for n in names if "images" in n and "idx3" in n]
    labels = [n for n in names if "labels" in n and "idx1" in n]
    if len(images) != 1 or len(labels) != 1:
        raise DataUsageError(literal(
            f"{path}: expected one '*images-idx3*' and one '*labels-idx1*' file, found "
            f"{images + labels or 'none'}. Put exactly one pair in the folder."
        ))
    X = read_idx(os.path.join(path, images[0]))
    y = read_idx(os.path.join(path, labels[0]))
    if y.ndim != 1 or X.ndim < 2:
        raise DataError(literal(
            f"{path}: labels have shape {y.shape} and images {X.shape}; expected 1-D labels "
            "and images of 2 or more dimensions. Check the file pair."
        ))
    if len(X) != len(y):
        raise DataError(literal(
            f"{path}: {len(X)} images but {len(y)} labels. Use matching files."
        ))
    return _images(X, y, name=f"idx:{os.path.basename(os.path.normpath(path))}")


def _images(images, y, name, top=None):
    """Flattened raw images; :class:`ImageScaler` divides them by ``top`` (255 for uint8)."""
    if top is None:
        top = 255.0 if images.dtype == np.uint8 else float(np.abs(images).max() or 1.0)
    return Dataset(images.reshape(len(images), -1), np.asarray(y), name, kind="images",
                   image_shape=tuple(images.shape[1:]), image_max=float(top))


# ------------------------------------------------------------- other kinds
def _digits():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return _images(bunch.images, bunch.target, "digits", top=16.0)


def _mnist():
    keras = _backend.keras()
    try:  # Keras prints "Downloading data from ..." to stdout, the report stream
        with contextlib.redirect_stdout(sys.stderr):
            (X_train, y_train), (X_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as exc:  # keras raises URL, HTTP and OS errors alike
        reason = " ".join(str(exc).split())
        raise DataError(
            literal(f"could not download MNIST ({type(exc).__name__}: {reason}).")
            + " Go online, or pass {data}, a folder of MNIST IDX files, or use {dataset}.", data="mnist/",
            dataset="digits") from None
    return _images(np.concatenate([X_train, X_test]), np.concatenate([y_train, y_test]), "mnist")


def _npz(path):
    try:
        if not zipfile.is_zipfile(path):
            raise DataError(literal(path) + ": not an .npz archive (no zip structure). Save it "
                            "with np.savez(path, X=X, y=y).")
        with np.load(path, allow_pickle=False) as archive:
            missing = {"X", "y"} - set(archive.files)
            if missing:
                raise DataUsageError(literal(
                    f"{path}: no array named {sorted(missing)} (found {archive.files}). "
                    "Save with np.savez(path, X=X, y=y)."
                ))
            X, y = archive["X"], archive["y"]
    except DataError:
        raise
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise DataError(literal(path) + (
                ": holds pickled (object) arrays, which are not loaded for safety. "
                "Save numeric X and numeric or string y without dtype=object.")
            ) from None
        raise DataError(literal(f"{path}: cannot read the archive ({exc}). Save it again.")) \
            from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataError(literal(f"{path}: the archive is damaged ({type(exc).__name__}: {exc}). "
                                "Save it again.")) from None
    if y.ndim != 1 or len(y) != len(X):
        raise DataError(literal(
            f"{path}: y has shape {y.shape} but X has {len(X)} rows; expected one label per "
            "row, shape (n_samples,). Save y as a 1-D array of class labels."
        ))
    if X.ndim > 2:
        return _images(X, y, f"npz:{os.path.basename(path)}")
    if X.ndim != 2 or not np.issubdtype(X.dtype, np.number):
        raise DataError(literal(
            f"{path}: X has shape {X.shape} and dtype {X.dtype}; expected a numeric "
            "(n_samples, n_features) array. Save numeric features."
        ))
    import pandas as pd

    columns = [f"x{i}" for i in range(X.shape[1])]
    return Dataset(pd.DataFrame(X, columns=columns), y, f"npz:{os.path.basename(path)}")


def _table(path, target, sep, decimal, encoding, na_values, drop_missing_target, task):
    frame, lines, notes = read_table(path, target, sep=sep, decimal=decimal, encoding=encoding,
                                     na_values=na_values)
    name = f"{'csv' if '.csv' in path.lower() else 'table'}:{os.path.basename(path)}"
    y, keep = table_labels(frame[target], path, lines, decimal=decimal or ".",
                           drop_missing=drop_missing_target, task=task)
    if not keep.all():
        notes.append(f"left out {int((~keep).sum())} row(s) with no label")
    X = frame.drop(columns=[target]).loc[keep]
    return Dataset(X, y, name, index=X.index.to_numpy(),
                   lines=None if lines is None else lines[keep], notes=notes)


def _with_task(ds, task):
    """Array targets (NPZ, IDX, digits) read for ``task``, like a table's numeric column."""
    y = np.asarray(ds.y)
    if y.dtype.kind in "biuf":
        ds.y = numeric_target(y, task)
    elif task == "regression":
        raise DataError(literal(ds.name) + f": {{task}} needs numeric targets, but y has dtype "
                        f"{y.dtype}. Leave out {{task}} to read y as class labels.", task=task)
    ds.task = "regression" if ds.y.dtype.kind == "f" else "classification"
    return ds


_TASKS = ("classification", "regression", "auto")


def _check_arguments(sep, na_values, task):
    """Refuse a ``sep``, ``na_values`` or ``task`` that cannot be meant, before any reading."""
    if task not in _TASKS:
        raise DataUsageError("{task} is not a task. Use {task='classification'}, "
                             "{task='regression'} or {task='auto'}.", task=task)
    if sep is not None and not (isinstance(sep, str) and len(sep) == 1):
        raise DataUsageError("{sep} is not one character. Use e.g. {sep=';'}, {sep='|'} or "
                             "{sep='\\t'}.", sep=sep)
    if isinstance(na_values, str) or not isinstance(na_values, Iterable):
        raise DataUsageError("{na_values} is not a list of cell texts. Pass a list, e.g. "
                             "{na_values=['-', 'n/a']}.", na_values=na_values)
    odd = [v for v in na_values if not isinstance(v, str)]
    if odd:
        raise DataUsageError("{na_values} holds " + literal(f"{odd[0]!r}, which is not a cell "
                             f"text. Pass the texts as written in the file, e.g. {str(odd[0])!r}."),
                             na_values=na_values)


def load(dataset="digits", data=None, target=None, *, sep=None, decimal=None, encoding=None,
         na_values=(), drop_missing_target=False, task="classification"):
    """Load the named bundled dataset, or the user's file or folder.

    Parameters
    ----------
    dataset : {'digits', 'mnist'}, default='digits'
        Used when ``data`` is None.
    data : str or None
        A table (``.csv``, ``.tsv``, ``.txt``, optionally ``.gz``/``.zip``/
        ``.bz2``/``.xz``, or ``.parquet``) with ``target``, an ``.npz`` file
        holding ``X`` and ``y``, or a folder of MNIST-format IDX files.
    target : str or None
        Label column of a table.
    sep, decimal, encoding, na_values, drop_missing_target
        How to read a table; see :func:`._tables.read_table` and
        :func:`._targets.table_labels`.
    task : {'classification', 'regression', 'auto'}, default='classification'
        What the target is; 'auto' makes a numeric target with more than 20
        distinct values a regression target. ``Dataset.task`` says the outcome.

    Returns
    -------
    dataset : Dataset

    Raises
    ------
    DataUsageError
        No such file, an unknown file type or column, a wrong encoding, or a
        ``task``, ``sep`` or ``na_values`` that is not one (checked first).
    DataError
        The file is unusable (damaged, empty, missing labels, ...).
    """
    _check_arguments(sep, na_values, task)
    if data is None:
        if dataset == "digits":
            return _with_task(_digits(), task)
        if dataset == "mnist":
            return _with_task(_mnist(), task)
        close = difflib.get_close_matches(str(dataset), _DATASETS, n=1)
        hint = (literal(f"Did you mean {close[0]!r}?") if close
                else "Use {dataset='digits'} or {dataset='mnist'}.")
        raise DataUsageError("{dataset} is unknown. " + hint, dataset=dataset)
    if not os.path.exists(data):
        raise DataUsageError("{data}: no such file or folder. Check the path.", data=data)
    if os.path.isdir(data):
        return _with_task(load_idx_dir(data), task)
    if data.lower().endswith(".npz"):
        return _with_task(_npz(data), task)
    if is_table(data):
        return _table(data, target, sep, decimal, encoding, na_values, drop_missing_target, task)
    raise DataUsageError(
        "{data}: unknown file type. Pass a table (.csv, .tsv, .txt, compressed or not, or "
        ".parquet) and its label column as {target}, an .npz with X and y, or a folder of MNIST "
        "IDX files.", data=data, target="label" if target is None else target)
