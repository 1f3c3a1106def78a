"""Files and JSON: atomic writes and the one conversion of NumPy values to JSON.

Every artefact (report, saved model, fit-cache entry) is written to a
temporary file beside its destination and moved into place with
``os.replace``, so a reader never sees half a file and a crash leaves the
previous version.
"""

import contextlib
import csv
import io
import json
import os
import platform
import sys
import tempfile
from importlib.metadata import version

import numpy as np
import sklearn

from skkeras_search import _version

__all__ = ["atomic_write", "atomic_path", "json_value", "cv_results_csv", "versions"]


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path, *, prefix=".tmp-", suffix=""):
    """Yield a temporary path beside ``path``; move it onto ``path`` if the block succeeds.

    ``suffix`` keeps an ending a writer insists on (Keras's ``.keras``). The
    file gets the permissions of a normally created one (``mkstemp`` makes
    0600). On an error the temporary file is removed and ``path`` is untouched.

    Raises
    ------
    OSError
        The folder is not writable or the disk is full.
    """
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=suffix)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)


def atomic_write(path, data, *, prefix=".tmp-"):
    """Write ``data`` (str or bytes) to ``path`` atomically; see :func:`atomic_path`."""
    with atomic_path(path, prefix=prefix) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data.encode() if isinstance(data, str) else data)


def json_value(value):
    """``value`` as JSON can hold it: NumPy scalars and arrays as Python ones, a masked
    entry of ``cv_results_`` as ``None``; anything else unchanged."""
    if value is np.ma.masked:
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def cv_results_csv(cv_results, text=repr):
    """All of ``cv_results_`` as CSV text, one row per row of the search.

    Every column as it is (a masked entry: an empty cell, integers stay
    integers), the ``params`` column as JSON, a value JSON cannot hold (an
    estimator, a function) written by ``text``. ``pandas.DataFrame.to_csv``
    would turn a masked integer column into floats and write ``params`` as
    Python reprs, hence the csv module. The one format of ``cv_results.csv``,
    the command's file and the MLflow artefact alike.
    """
    def default(value):
        converted = json_value(value)
        return converted if converted is not value else text(value)

    columns = {k: v.tolist() if isinstance(v, np.ndarray) else list(v)
               for k, v in cv_results.items()}
    columns["params"] = [json.dumps(p, default=default) for p in columns["params"]]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(list(columns))
    writer.writerows(zip(*columns.values()))
    return out.getvalue()


def versions(*, full=False):
    """The versions that decide the arithmetic: this package, TensorFlow, Keras, NumPy.

    With ``full``, also Python and scikit-learn (for a report). Reads Keras's
    version without importing Keras; imports TensorFlow only if it already is.
    """
    def of(name, module):
        loaded = sys.modules.get(module)
        return loaded.__version__ if loaded is not None else version(name)

    out = {"skkeras_search": _version.__version__, "tensorflow": of("tensorflow", "tensorflow"),
           "keras": of("keras", "keras"), "numpy": np.__version__}
    if full:
        out = {"skkeras_search": _version.__version__, "python": platform.python_version(),
               "numpy": np.__version__, "scikit-learn": sklearn.__version__,
               "keras": out["keras"], "tensorflow": out["tensorflow"]}
    return out
