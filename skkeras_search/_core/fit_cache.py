"""A fit cache on disk: resume interrupted searches, continue epoch budgets.

An entry is the complete training state of one fit (weights, optimizer
slots, epoch counter, stopping-rule state, loss curve) under a key made of
the estimator's parameters except ``epochs``, a hash of the training data,
the seed and the versions of this package, TensorFlow, Keras and NumPy. So:

* a rerun of a search loads every fit that had finished instead of training
  it again (resume after a crash, Ctrl-C or a killed worker);
* a fit asking for more epochs than a cached one continues from it and
  trains only the extra epochs (successive halving over ``epochs``),
  bit-identical to training from scratch because every random stream is a
  function of (seed, epoch);
* a fit that diverged is recorded, with its message, and fails again at
  once instead of being retrained.

Entries are ``.npz`` files read with ``allow_pickle=False`` (JSON metadata in
a string array), written to a temporary file and renamed into place, and
carry a SHA-256 of their arrays: a truncated or corrupt entry is detected,
deleted and refit, never loaded. Entries written under other versions
never match. A failed write (disk full, read-only folder) warns and the fit
proceeds uncached. Disk use per entry is about 12 bytes per network weight
in float32 (24 in float64): weights plus two optimizer slots.
"""

import contextlib
import glob
import hashlib
import json
import os
import re
import tempfile
import warnings
import zipfile

import numpy as np

__all__ = ["FitCache", "FitFailure", "data_fingerprint", "CacheEntry", "clear", "disk_usage", "failures"]

FORMAT = 1
_ENTRY = re.compile(r"^(?P<key>[0-9a-f]{40})-e(?P<epochs>\d{6})\.(?P<kind>npz|failed\.json)$")


class CacheEntry:
    """A loaded entry: the training state, or the message of a failed fit."""

    def __init__(self, epochs, state=None, meta=None, failure=None):
        self.epochs, self.state, self.meta, self.failure = epochs, state, meta or {}, failure


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


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _checksum(arrays):
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(name.encode() + a.dtype.str.encode() + str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _versions():
    """What decides the arithmetic: this package, TensorFlow, Keras and NumPy.

    An entry trained under other versions may hold other bits (a changed
    kernel, initialiser or random stream), so it never matches: after an
    upgrade ``--resume`` retrains instead of mixing arithmetic.
    """
    import sys
    from importlib.metadata import version

    from skkeras_search._core import backend as _backend
    from skkeras_search._version import __version__

    # Keras's version without importing Keras (a fit needs TensorFlow only)
    keras = sys.modules.get("keras")
    return {"skkeras_search": __version__, "tensorflow": _backend.tensorflow().__version__,
            "keras": keras.__version__ if keras is not None else version("keras"),
            "numpy": np.__version__}


class FitCache:
    """Entries for one (parameters, data, seed) key under ``directory``.

    Parameters
    ----------
    directory : str
        Cache folder, created if needed; shared by all fits of a search
        (and by worker processes, on a shared file system for remote ones).
    params : dict
        The estimator's parameters that determine training, without
        ``epochs``.
    fingerprint : str
        :func:`data_fingerprint` of the training data.
    seed : int
        The fit's resolved seed.
    """

    def __init__(self, directory, params, fingerprint, seed):
        self.directory, self.params = directory, params
        blob = json.dumps({"format": FORMAT, "version": _versions(), "params": params,
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
        """The entry for exactly ``epochs``, else the longest shorter one, else None."""
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
            meta = json.loads(str(arrays.pop("meta")))
            if not isinstance(meta, dict) or meta.get("format") != FORMAT \
                    or meta.get("checksum") != _checksum(arrays):
                raise ValueError("checksum")
        except (FileNotFoundError, PermissionError):
            return None  # gone, or another user's: not ours to judge or delete
        except (OSError, ValueError, KeyError, TypeError, AttributeError, EOFError,
                zipfile.BadZipFile, json.JSONDecodeError):
            with contextlib.suppress(OSError):  # corrupt or truncated: refit it
                os.remove(path)
            return None
        n = meta["n_params"]
        state = {
            "params": [arrays[f"p{i}"] for i in range(n)],
            "slots_1": [arrays[f"a{i}"] for i in range(n)],
            "slots_2": [arrays[f"b{i}"] for i in range(n)],
            "loss_curve": arrays["loss_curve"].tolist(),
            "validation_scores": arrays["validation_scores"].tolist(),
        }
        return CacheEntry(epochs, state=state, meta=meta)

    def store(self, epochs, params, slots_1, slots_2, loss_curve, validation_scores, meta):
        """Write a finished fit atomically; warn (do not fail) if the disk refuses."""
        arrays = {f"p{i}": p for i, p in enumerate(params)}
        arrays.update({f"a{i}": s for i, s in enumerate(slots_1)})
        arrays.update({f"b{i}": s for i, s in enumerate(slots_2)})
        arrays["loss_curve"] = np.asarray(loss_curve, dtype=np.float64)
        arrays["validation_scores"] = np.asarray(validation_scores or [], dtype=np.float64)
        meta = {**meta, "format": FORMAT, "n_params": len(params), "checksum": _checksum(arrays)}
        arrays["meta"] = np.asarray(json.dumps(meta))
        self._atomic(self._path(epochs, "npz"), lambda fh: np.savez(fh, **arrays))

    def store_failure(self, epochs, message):
        """Record that this fit failed, with the message it raised."""
        blob = json.dumps({"format": FORMAT, "message": message, "epochs": int(epochs),
                           "params": self.params}, default=repr).encode()
        self._atomic(self._path(epochs, "failed.json"), lambda fh: fh.write(blob))

    def _atomic(self, path, write):
        tmp = None
        try:
            os.makedirs(self.folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-")
            # No fsync: after a crash a half-written entry fails its checksum
            # and is refit, so durability is not worth a disk flush per fit.
            with os.fdopen(fd, "wb") as fh:
                write(fh)
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a shared cache needs more
            os.replace(tmp, path)
            tmp = None
        except OSError as exc:
            warnings.warn(
                f"cache_dir={self.directory!r}: could not write a cache entry ({exc.strerror}); "
                "the fit result is kept in memory but will not be resumable. Free disk space "
                "or choose a writable cache_dir.",
                UserWarning,
                stacklevel=4,
            )
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.remove(tmp)


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
