"""The decisions of an asynchronous search, written as they happen, for resuming it.

An asynchronous search's decisions depend on the order in which fits end. A
search interrupted and run again loads its finished fits from the fit cache,
and those all end at once, in another order: without a record, it would
decide differently and train what the first run never trained. The log keeps
the order: one JSON line per decision (``{"event": "start", "row": i, "key":
...}`` when a row starts, ``{"event": "tell", "row": i}`` when the policy hears
it), flushed at once, so a killed run leaves all but maybe a torn last line.

The file lives in the estimator's ``cache_dir`` (``searches/<key>.jsonl``),
where the fits it refers to are cached; ``<key>`` hashes the search's
settings, the folds and the data, so another search never replays it.
"""

import hashlib
import json
import os
import re
import warnings

from skkeras_search.exceptions import SearchWarning
from skkeras_search.search._warm_start import warm_start_digest

__all__ = ["DecisionLog", "log_key", "row_key"]

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def row_key(params):
    """A stable text key of a row's parameters (the same in every run)."""
    text = _ADDRESS.sub("", repr(sorted(params.items(), key=lambda item: item[0])))
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def _describe(value):
    """Text that tells two settings apart in every run: what a value is, not where it lives.

    A frozen ``scipy.stats`` distribution's repr is only its address, so it is
    described by its name and arguments; estimators by their parameters;
    containers element by element; anything else by its repr without memory
    addresses.
    """
    if hasattr(value, "dist") and hasattr(value, "args") and hasattr(value, "kwds"):
        return f"{getattr(value.dist, 'name', type(value.dist).__name__)}" \
            f"{_describe(tuple(value.args))}{_describe(dict(value.kwds))}"
    if hasattr(value, "get_params") and not isinstance(value, type):
        return f"{type(value).__name__}({_describe(value.get_params(deep=False))})"
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda item: str(item[0]))
        return "{" + ", ".join(f"{k!r}: {_describe(v)}" for k, v in items) + "}"
    if isinstance(value, (list, tuple)):
        return type(value).__name__ + "(" + ", ".join(_describe(v) for v in value) + ")"
    return _ADDRESS.sub("", repr(value))


def log_key(search, splits_digest, data_fingerprint):
    """A key for one search on one data set: its class, settings, folds and data."""
    ignored = {"n_jobs", "verbose", "pre_dispatch", "estimator"}
    params = {k: v for k, v in search.get_params(deep=False).items() if k not in ignored}
    if params.get("warm_start") is not None:  # a source by its rows, not its path or settings
        params["warm_start"] = warm_start_digest(params["warm_start"])
    estimator = {k: v for k, v in search.estimator.get_params(deep=False).items()
                 if not k.endswith("n_jobs")}
    text = _describe((type(search).__name__, params, type(search.estimator).__name__, estimator,
                      splits_digest, data_fingerprint))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class DecisionLog:
    """Recorded decisions (``events``), and a file they are appended to (or none).

    Parameters
    ----------
    path : str or None
        None keeps nothing (a search that cannot resume: no ``cache_dir``).
    """

    def __init__(self, path=None):
        self.path = path
        self.events = []
        self._file = None
        if path is not None and os.path.exists(path):
            self.events, torn = _read(path)
            if torn:  # the first run was killed while writing: drop the torn line
                self._rewrite()

    def _append(self, event):
        if self.path is None:
            return
        if self._file is None:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed in close)
        self._file.write(json.dumps(event) + "\n")
        self._file.flush()

    def started(self, row):
        self._append({"event": "start", "row": row.index, "key": row_key(row.params)})

    def told(self, row):
        self._append({"event": "tell", "row": row.index})

    def diverged(self, n):
        """The search decided otherwise after ``n`` recorded events: keep only those."""
        if self.path is None:
            return
        warnings.warn(
            f"The search decided differently from its record {self.path} after {n} of "
            f"{len(self.events)} decisions (the scores of a resumed fit differ from the first "
            "run's), so from there it decides anew; finished fits are still loaded from the "
            "fit cache.",
            SearchWarning, stacklevel=4,
        )
        self.events = self.events[:n]
        self._rewrite()

    def _rewrite(self):
        self.close()
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(e) + "\n" for e in self.events)
        os.replace(tmp, self.path)

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None


def _read(path):
    events = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:  # a torn last line: the run was killed while writing
                return events, True
            events.append(event)
    return events, False
