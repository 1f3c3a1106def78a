"""Live progress of a search, from any worker process on this host.

scikit-learn's searches gather results only at the end, and with ``n_jobs``
the fits run in other processes. The scorer below is called in whichever
process just finished a fit; it appends one JSON line per scored fold to a
file, which :class:`ProgressMonitor` (a thread in the main process) tails to
print fits done / total, elapsed time, ETA and the best mean score so far.
The same file is the record of finished fits when a search is interrupted.
An asynchronous search's number of fits is known only roughly in advance:
its total is shown as ``~N`` (and grows to the fits done if they pass it).
"""

import json
import math
import os
import threading
import time

from sklearn.metrics import get_scorer

from skkeras_search._core.files import json_value
from skkeras_search._core.validation import fitted_network

__all__ = ["ProgressScorer", "ProgressMonitor", "read_progress"]


class ProgressScorer:
    """Score with ``scoring`` and record the fold's result in ``path``.

    A record names the parameters ``keys`` as the command's files do: without
    the network step's ``prefix`` (``classifier__hidden_units`` is
    ``hidden_units``), other steps' whole (``preprocess__numeric__scale__method``).
    """

    def __init__(self, scoring, path, keys, prefix=""):
        self.scoring = scoring
        self.path = path
        self.keys = tuple(keys)
        self.prefix = prefix

    def __repr__(self):
        # Stable across runs (no memory address): an asynchronous search keys its
        # decision log on its settings' text, the scorer included, and a resumed
        # run must find the log of the run it continues.
        return f"ProgressScorer({self.scoring!r}, keys={self.keys!r})"

    def __call__(self, estimator, X, y):
        score = float(get_scorer(self.scoring)(estimator, X, y))
        params = estimator.get_params()
        final = fitted_network(estimator)
        record = {
            "params": {k.removeprefix(self.prefix): params[k] for k in self.keys if k in params},
            "score": score,
            "epochs_run": int(getattr(final, "n_iter_", 0)),
            # epochs this fit trained: fewer when it continued a cached shorter
            # run, 0 when it was loaded whole from the fit cache (--resume)
            "epochs_trained": int(getattr(final, "n_epochs_trained_", 0)),
            "pid": os.getpid(),
            "time": time.time(),
        }
        # One short write on an O_APPEND descriptor: lines from concurrent
        # processes do not interleave.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (json.dumps(record, default=json_value) + "\n").encode())
        finally:
            os.close(fd)
        return score


def read_progress(path):
    """Records written so far (skipping a partly written last line)."""
    if not os.path.exists(path):
        return []
    records = []
    with open(path) as fh:
        for line in fh:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records


def _fmt_time(seconds):
    if not math.isfinite(seconds):
        return "?"
    return f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.1f}min"


class ProgressMonitor(threading.Thread):
    """Print one line to ``stream`` per finished fit until stopped."""

    def __init__(self, path, total, n_folds, stream, interval=0.25, approximate=False):
        super().__init__(daemon=True)
        self.path, self.total, self.n_folds = path, total, n_folds
        self.approximate = approximate
        self.stream, self.interval = stream, interval
        self.start_time = time.time()
        self._stop_event = threading.Event()
        self._seen = 0

    def run(self):
        while not self._stop_event.wait(self.interval):
            self.poll()
        self.poll()

    def stop(self):
        self._stop_event.set()
        self.join(timeout=5)

    def poll(self):
        records = read_progress(self.path)
        for i in range(self._seen, len(records)):
            self.stream.write(self.line(records[: i + 1]) + "\n")
        self._seen = len(records)
        self.stream.flush()

    def line(self, records):
        done = len(records)
        total = max(self.total, done)
        elapsed = records[-1]["time"] - self.start_time
        eta = elapsed / done * (total - done) if done else float("nan")
        by_params = {}
        for r in records:
            by_params.setdefault(json.dumps(r["params"], sort_keys=True), []).append(r["score"])
        complete = [sum(s) / len(s) for s in by_params.values() if len(s) >= self.n_folds]
        best = f"{max(complete):.4f}" if complete else "-"
        last = records[-1]
        params = " ".join(f"{k}={_short(v)}" for k, v in last["params"].items())
        counter = f"{done}/{'~' if self.approximate else ''}{total}"
        return (
            f"[{counter}] elapsed {_fmt_time(elapsed)}  ETA {_fmt_time(eta)}  "
            f"best {best}  | {params}: {last['score']:.4f}"
        )


def _short(value):
    return f"{value:.3g}" if isinstance(value, float) else str(value)
