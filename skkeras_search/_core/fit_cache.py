"""A fit cache on disk: resume interrupted searches, continue epoch budgets.

Two things live here, once for every estimator of the package (and for the
searches that rely on it):

* the rule of which fits may use the cache (:func:`cache_blocker`, and
  :func:`unseeded_message` for the warning an estimator gives when
  ``random_state=None`` keeps its ``cache_dir`` unused), and which of an
  estimator's parameters key an entry (:func:`key_params`);
* the store: :class:`FitCache` keeps, for one key, what an estimator chose to
  keep of a finished fit -- named arrays plus a JSON dict -- or the message of
  a fit that failed. It knows nothing of any estimator's state layout: the
  MLP and the wrappers convert their training states to and from arrays
  themselves.

A key is made of the estimator's parameters except those that do not change
what a fit computes (``epochs`` among them), a hash of the training data,
the seed and the versions of this package, TensorFlow, Keras and NumPy. So:

* a rerun of a search loads every fit that had finished instead of training
  it again (resume after a crash, Ctrl-C or a killed worker);
* a fit asking for more epochs than a cached one continues from it and
  trains only the extra epochs (successive halving over ``epochs``),
  bit-identical to training from scratch because every random stream is a
  function of (seed, epoch) -- unless :func:`continuation_blocker` names a
  parameter that makes the shorter fit something else than the start of
  the longer one;
* a fit that diverged is recorded, with its message, and fails again at
  once instead of being retrained.

Entries are ``.npz`` files read with ``allow_pickle=False`` (the JSON in a
string array named ``meta``), written atomically (:func:`~skkeras_search._core.files.atomic_path`),
and carry a SHA-256 of their arrays: a truncated or corrupt entry is
detected, deleted and refit, never loaded. Entries written under other
versions, or in another entry format, never match. A failed write (disk
full, read-only folder) warns and the fit proceeds uncached. Disk use per
entry of the MLP is about 12 bytes per network weight in float32 (24 in
float64): weights plus two optimizer slots.
"""

import contextlib
import glob
import hashlib
import json
import os
import re
import warnings
import zipfile

import numpy as np

from skkeras_search._core import backend as _backend
from skkeras_search._core.files import atomic_path, versions

__all__ = ["FitCache", "CacheEntry", "FitFailure", "cache_blocker", "continuation_blocker",
           "unseeded_message", "function_identity",
           "key_params", "NOT_IN_KEY", "data_fingerprint", "clear", "disk_usage", "failures"]

#: 2 since the store holds named arrays and the estimator's own JSON (release 0.3).
FORMAT = 2
_ENTRY = re.compile(r"^(?P<key>[0-9a-f]{40})-e(?P<epochs>\d{6})\.(?P<kind>npz|failed\.json)$")
#: The name of the JSON array in an entry; an estimator's arrays cannot use it.
_META = "meta"

#: Parameters that do not change what a fit computes, so are left out of its key:
#: the budget (a longer fit continues a shorter one's entry), output, the cache
#: itself, and what decides whether the cache is used at all.
NOT_IN_KEY = ("epochs", "verbose", "cache_dir", "warm_start", "random_state")


def cache_blocker(params, *, continuing=False):
    """The parameter that keeps a fit out of the fit cache, or None when it may use it.

    The one rule of the package: a fit is cached under its parameters, data
    and seed, so it needs a ``cache_dir``, an integer seed, and a start that
    the key describes (fresh weights, not a fitted network it continues).

    Parameters
    ----------
    params : mapping
        The estimator's parameters (``get_params()``); ``cache_dir`` and
        ``random_state`` are read, a missing one counts as None.
    continuing : bool, default=False
        Whether the fit continues a fitted network (``warm_start=True`` on a
        fitted estimator, or ``partial_fit``).

    Returns
    -------
    blocker : {'cache_dir', 'random_state', 'warm_start'} or None
        ``'cache_dir'`` when it is None, else ``'random_state'`` when it is
        None (see :func:`unseeded_message`), else ``'warm_start'`` when
        ``continuing``; None when the fit may load and store entries.
    """
    if params.get("cache_dir") is None:
        return "cache_dir"
    if params.get("random_state") is None:
        return "random_state"
    if continuing:
        return "warm_start"
    return None


def continuation_blocker(params):
    """The parameter that keeps a fit from continuing a cached fit of fewer epochs, or None.

    A cached fit of the same key and a smaller ``epochs`` is continued (only
    the extra epochs are trained) when its epochs are exactly the first
    epochs of this fit. Two parameters break that:

    * ``learning_rate_schedule`` other than ``'constant'``: the schedule
      spans the fit's ``epochs`` (a cosine over 3 epochs has decayed to 0
      where one over 9 is at three quarters of its rate), so a shorter fit
      is another run, not a prefix. Such a fit uses only an entry of its
      own ``epochs``: it trains from scratch, and a shorter fit's recorded
      failure is not its own either.
    * ``early_stopping=True``: the shorter fit's epochs are this fit's first
      ones, but it kept its best epoch's weights and its hold-out state,
      not the state the longer fit goes on from. Its recorded failure is
      this fit's too (the same epochs diverge); its weights do not continue.

    Parameters
    ----------
    params : mapping
        The estimator's parameters (``get_params()``); a missing
        ``learning_rate_schedule`` counts as ``'constant'``, a missing
        ``early_stopping`` as False.

    Returns
    -------
    blocker : {'learning_rate_schedule', 'early_stopping'} or None
        The first that applies, in this order; None when a shorter cached
        fit may be continued.
    """
    if params.get("learning_rate_schedule", "constant") != "constant":
        return "learning_rate_schedule"
    if params.get("early_stopping"):
        return "early_stopping"
    return None


def unseeded_message(cache_dir):
    """What an estimator warns when ``random_state=None`` leaves its ``cache_dir`` unused."""
    return (f"cache_dir={cache_dir!r} is not used because random_state=None: a fit is cached "
            "under its seed, so caching needs an integer random_state. Set random_state=0 (or "
            "any int) to cache and resume fits.")


def key_params(params):
    """The parameters that key a fit's entries.

    Parameters
    ----------
    params : mapping
        The estimator's parameters (``get_params()``).

    Returns
    -------
    key : dict
        ``params`` without :data:`NOT_IN_KEY`, a dict ``class_weight`` as
        sorted ``(repr(label), weight)`` pairs (NumPy labels as Python ones,
        so that ``{np.int64(1): 2.0}`` and ``{1: 2.0}`` key alike).
    """
    key = {k: v for k, v in params.items() if k not in NOT_IN_KEY}
    if isinstance(key.get("class_weight"), dict):  # JSON-stable: numpy/mixed keys
        key["class_weight"] = sorted(
            (repr(k.item() if isinstance(k, np.generic) else k), float(v))
            for k, v in key["class_weight"].items()
        )
    return key


def function_identity(fn):
    """What identifies a build function's computation for the fit cache.

    Its module and name, plus a hash of its code, constants, defaults and the
    values its closure captured: two closures made by one factory (say with
    another activation) or an edited body give other keys. A captured value
    without a stable ``repr`` (it shows a memory address) makes the key
    change from process to process: a cache miss, never a wrong hit.
    """
    code = getattr(fn, "__code__", None)
    parts = [getattr(fn, "__module__", ""), getattr(fn, "__qualname__", repr(type(fn)))]
    if code is not None:
        parts += [code.co_code.hex(), repr(code.co_consts), repr(code.co_names)]
    parts.append(repr(getattr(fn, "__defaults__", None)))
    parts.append(repr(getattr(fn, "__kwdefaults__", None)))
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            parts.append(repr(cell.cell_contents))
        except ValueError:  # an empty cell
            parts.append("<empty>")
    digest = hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]
    return f"{parts[0]}.{parts[1]}#{digest}"


class CacheEntry:
    """A loaded entry: the ``arrays`` and ``meta`` a fit stored, or the ``failure`` message.

    Attributes
    ----------
    epochs : int
        The budget the entry was stored under.
    arrays : dict of str to ndarray
        Empty for a failure.
    meta : dict
        The JSON the estimator stored; empty for a failure.
    failure : str or None
        The message of the fit that failed (e.g. diverged).
    """

    def __init__(self, epochs, arrays=None, meta=None, failure=None):
        self.epochs, self.arrays, self.meta, self.failure = epochs, arrays or {}, meta or {}, \
            failure


def data_fingerprint(*arrays):
    """BLAKE2 hash of arrays' dtype, shape and bytes."""
    h = hashlib.blake2b(digest_size=20)
    for a in arrays:
        a = np.ascontiguousarray(a)
        if a.dtype.kind in "OUS":  # labels: hash their text
            a = np.asarray([repr(v) for v in a.tolist()]).astype("U")
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def clear(path):
    """Remove the cache entries under ``path`` (and nothing else)."""
    removed = 0
    for f in glob.glob(os.path.join(path, "*", "*")) + glob.glob(os.path.join(path, "*", ".tmp-*")):
        name = os.path.basename(f)
        if _ENTRY.match(name) or name.startswith(".tmp-"):
            with contextlib.suppress(OSError):
                os.remove(f)
                removed += 1
    for folder in glob.glob(os.path.join(path, "*")):
        with contextlib.suppress(OSError):
            os.rmdir(folder)  # only if now empty
    return removed


def disk_usage(path):
    """Bytes used by the cache entries under ``path``."""
    return sum(os.path.getsize(f) for f in glob.glob(os.path.join(path, "*", "*"))
               if _ENTRY.match(os.path.basename(f)))


def _checksum(arrays):
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(name.encode() + a.dtype.str.encode() + str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _key_versions():
    """What decides the arithmetic (:func:`~skkeras_search._core.files.versions`), TensorFlow's as imported.

    An entry trained under other versions may hold other bits (a changed
    kernel, initialiser or random stream), so it never matches: after an
    upgrade a resumed search retrains instead of mixing arithmetic.
    """
    _backend.tensorflow()  # its version as the module says, whatever its distribution's name
    return versions()


class FitCache:
    """Entries for one (parameters, data, seed) key under ``directory``.

    Parameters
    ----------
    directory : str
        Cache folder, created if needed; shared by all fits of a search
        (and by worker processes, on a shared file system for remote ones).
    params : dict
        The parameters that determine training (:func:`key_params`, plus
        anything else the estimator keys on); JSON, or values with a stable
        ``repr``.
    fingerprint : str
        :func:`data_fingerprint` of the training data.
    seed : int
        The fit's resolved seed.
    """

    def __init__(self, directory, params, fingerprint, seed):
        self.directory, self.params = directory, params
        blob = json.dumps({"format": FORMAT, "version": _key_versions(), "params": params,
                           "data": fingerprint, "seed": int(seed)}, sort_keys=True, default=repr)
        self.key = hashlib.sha1(blob.encode()).hexdigest()
        self.folder = os.path.join(directory, self.key[:2])

    def _path(self, epochs, kind):
        return os.path.join(self.folder, f"{self.key}-e{int(epochs):06d}.{kind}")

    def _candidates(self):
        found = []
        for name in os.listdir(self.folder) if os.path.isdir(self.folder) else []:
            m = _ENTRY.match(name)
            if m and m["key"] == self.key:
                found.append((int(m["epochs"]), m["kind"]))
        return sorted(found)

    def lookup(self, epochs):
        """The entry for exactly ``epochs``, else the longest shorter one, else None.

        Returns
        -------
        entry : CacheEntry or None
            A stored fit (``arrays``, ``meta``) or failure (``failure``). A
            corrupt or truncated entry is deleted and skipped.
        """
        for e, kind in sorted(self._candidates(), reverse=True):
            if e > epochs:
                continue
            entry = self._read(e, kind)
            if entry is not None:
                return entry
        return None

    def _read(self, epochs, kind):
        path = self._path(epochs, kind)
        try:
            if kind == "failed.json":
                with open(path) as fh:
                    record = json.load(fh)
                if not isinstance(record, dict) or record.get("format") != FORMAT:
                    raise ValueError("format")
                return CacheEntry(epochs, failure=str(record["message"]))
            with np.load(path, allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
            record = json.loads(str(arrays.pop(_META)))
            if not isinstance(record, dict) or record.get("format") != FORMAT \
                    or record.get("checksum") != _checksum(arrays) \
                    or not isinstance(record.get("meta"), dict):
                raise ValueError("checksum")
        except (FileNotFoundError, PermissionError):
            return None  # gone, or another user's: not ours to judge or delete
        except (OSError, ValueError, KeyError, TypeError, AttributeError, EOFError,
                zipfile.BadZipFile, json.JSONDecodeError):
            with contextlib.suppress(OSError):  # corrupt or truncated: refit it
                os.remove(path)
            return None
        return CacheEntry(epochs, arrays=arrays, meta=record["meta"])

    def store(self, epochs, arrays, meta):
        """Write a finished fit atomically; warn (do not fail) if the disk refuses.

        Parameters
        ----------
        epochs : int
            The budget the fit was asked for (:meth:`lookup` finds it by it).
        arrays : dict of str to ndarray
            Numeric arrays, named as the estimator likes except ``'meta'``.
        meta : dict
            JSON-serialisable values that go with them.

        Warns
        -----
        UserWarning
            The entry could not be written (the fit is kept, uncached).
        """
        if _META in arrays:
            raise ValueError(f"arrays has a {_META!r} entry, the name the cache keeps for meta. "
                             "Rename that array.")
        arrays = {name: np.asarray(a) for name, a in arrays.items()}
        record = {"format": FORMAT, "checksum": _checksum(arrays), "meta": meta}
        arrays[_META] = np.asarray(json.dumps(record))
        self._write(self._path(epochs, "npz"), lambda fh: np.savez(fh, **arrays))

    def store_failure(self, epochs, message):
        """Record that this fit failed, with the message it raised."""
        blob = json.dumps({"format": FORMAT, "message": message, "epochs": int(epochs),
                           "params": self.params}, default=repr).encode()
        self._write(self._path(epochs, "failed.json"), lambda fh: fh.write(blob))

    def _write(self, path, write):
        # No fsync: after a crash a half-written entry fails its checksum
        # and is refit, so durability is not worth a disk flush per fit.
        try:
            os.makedirs(self.folder, exist_ok=True)
            with atomic_path(path) as tmp, open(tmp, "wb") as fh:
                write(fh)
        except OSError as exc:
            warnings.warn(
                f"cache_dir={self.directory!r}: could not write a cache entry ({exc.strerror}); "
                "the fit result is kept in memory but will not be resumable. Free disk space "
                "or choose a writable cache_dir.",
                UserWarning,
                stacklevel=4,
            )


class FitFailure:
    """A failed fit as the cache recorded it: the estimator's cache-key parameters
    (``params``, JSON values), the epoch it failed in (``epochs``) and its message."""

    def __init__(self, params, epochs, message):
        self.params, self.epochs, self.message = params, epochs, message

    def __repr__(self):
        return f"FitFailure(epochs={self.epochs}, message={self.message[:40]!r}...)"


def failures(directory):
    """Every failed fit recorded under ``directory``, oldest first (a structured record:
    callers match ``params`` to their candidates instead of parsing messages).

    Returns
    -------
    failures : list of FitFailure
        Empty for a missing folder; unreadable or foreign records are skipped.
    """
    found = []
    for path in glob.glob(os.path.join(directory, "*", "*.failed.json")):
        if not _ENTRY.match(os.path.basename(path)):
            continue
        try:
            with open(path) as fh:
                record = json.load(fh)
            mtime = os.path.getmtime(path)
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and record.get("format") == FORMAT and "params" in record:
            found.append((mtime, path, FitFailure(record["params"], record.get("epochs"),
                                                  record["message"])))
    return [f for _, _, f in sorted(found, key=lambda t: t[:2])]
