"""The execute stage: run the plan's search, here or on Dask, and say what happened.

:func:`execute` prepares ``--out`` (only now, every input being valid),
prints the plan's warnings and banner, runs the search under a progress
monitor with sklearn's prints sent to stderr (and, with ``--gpus N``, inside
the search wing's ``use_gpus(N)``: one worker process pinned to each GPU),
and returns an
:class:`Outcome`: finished (the fitted search, the fit cache's failure
records, the search's warnings) or interrupted by Ctrl-C (the fits finished
so far). Failures are recognised by type and explained by structured
records, never by parsing a message: a dead worker process is joblib's
``TerminatedWorkerError`` or ``BrokenProcessPool``; a search in which every
fit failed is a ``ValueError`` with no scored fit, and its reason is the
first failure the fit cache recorded.
"""

import contextlib
import glob
import json
import os
import warnings
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import joblib
from joblib.externals.loky.process_executor import TerminatedWorkerError
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning

from skkeras_search._core import backend as _backend
from skkeras_search._core.fit_cache import clear, failures
from skkeras_search.cli._inputs import UsageError
from skkeras_search.cli._progress import ProgressMonitor, read_progress
from skkeras_search.exceptions import SearchWarning
from skkeras_search.search._executors import use_gpus

__all__ = ["EveryFitFailed", "Outcome", "SchedulerError", "execute", "execution"]


#: How long to try to reach a ``--scheduler`` address before refusing it.
CONNECT_TIMEOUT = "15s"


class SchedulerError(RuntimeError):
    """The Dask scheduler could not be used; the message says how to fix it."""


class EveryFitFailed(RuntimeError):
    """No fit of the search could be scored. ``details`` is scikit-learn's own report of
    the failures (its error's text, shown as it is) when the fit cache recorded no reason."""

    def __init__(self, message, details=None):
        super().__init__(message)
        self.details = details


@dataclass(frozen=True)
class Outcome:
    """What running the plan gave.

    Attributes
    ----------
    status : {'finished', 'interrupted'}
    search : BaseSearchCV or None
        The fitted search (None when interrupted).
    fits : tuple of dict
        ``progress.jsonl``'s records, one per scored fold.
    failures : tuple of FitFailure
        The failed fits the fit cache recorded (empty without a cache).
    fit_failed_warnings : tuple of str
        scikit-learn's ``FitFailedWarning`` texts, kept as they are (the
        reasons of failures the cache has no record of: errors other than a
        divergence, or any error under ``--no-cache``).
    search_warnings : tuple of str
        The search's own warnings (rows it could not keep, a best below the full budget).
    """

    status: str
    search: object = None
    fits: tuple = ()
    failures: tuple = ()
    fit_failed_warnings: tuple = ()
    search_warnings: tuple = ()


def execute(inputs, plan, stderr):
    """Run ``plan``'s search on ``inputs``; returns an :class:`Outcome`.

    Raises
    ------
    RuntimeError
        Every fit failed (with the first recorded reason), or a worker died.
    SchedulerError
        The Dask scheduler cannot be used.
    """
    # Connect first: a scheduler that cannot be used leaves --out as it was.
    with execution(inputs.args.scheduler):
        return _run(inputs, plan, stderr)


def _run(inputs, plan, stderr):
    """:func:`execute`'s work, on the backend already chosen."""
    args = inputs.args
    _prepare_out(inputs, plan)
    for message in plan.warnings:
        stderr.write(f"skkeras-search: warning: {message}\n")
    if not args.quiet:
        stderr.write(plan.banner + "\n")
    if args.resume:
        _check_resumed_folds(args.out, plan.cv_digest, stderr)
    search = plan.search
    _backend.keras()  # TensorFlow's import before the clock starts: fit times are training
    monitor = None
    if not args.quiet:
        monitor = ProgressMonitor(plan.progress_path, plan.total_fits, args.cv, stderr,
                                  approximate=bool(plan.rungs))
        monitor.start()
    try:
        with warnings.catch_warnings(record=True) as caught, \
                contextlib.redirect_stdout(stderr), use_gpus(args.gpus):
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("always", FitFailedWarning)
            warnings.simplefilter("always", SearchWarning)  # even under python -W ignore
            search.fit(inputs.X_tr, inputs.y_tr)
    except KeyboardInterrupt:
        if monitor:
            monitor.stop()
        return Outcome("interrupted", fits=tuple(read_progress(plan.progress_path)))
    except (TerminatedWorkerError, BrokenProcessPool) as exc:
        raise _worker_died(plan, inputs.cache_dir) from exc
    except ValueError as exc:
        if read_progress(plan.progress_path):  # not "every fit failed": some fit was scored
            raise
        raise _every_fit_failed(inputs.cache_dir, exc) from exc
    finally:
        if monitor and monitor.is_alive():
            monitor.stop()
    records = tuple(failures(inputs.cache_dir)) if inputs.cache_dir else ()
    fit_failed = tuple(dict.fromkeys(str(w.message).strip() for w in caught
                                     if issubclass(w.category, FitFailedWarning)))
    return Outcome("finished", search=search, fits=tuple(read_progress(plan.progress_path)),
                   failures=records, fit_failed_warnings=fit_failed,
                   search_warnings=_search_warnings(caught, stderr))


def _prepare_out(inputs, plan):
    """Make ``--out`` and the cache; empty the cache unless resuming; forget old progress.

    ``progress.jsonl`` describes this run only (a resumed run re-scores what
    it loads from the cache).
    """
    _make_dir(inputs.args.out)
    if inputs.cache_dir is not None:
        _make_dir(inputs.cache_dir, flag="--cache-dir")
        if not inputs.args.resume:
            clear(inputs.cache_dir)
            _forget_decisions(inputs.cache_dir)
    if os.path.exists(plan.progress_path):
        os.remove(plan.progress_path)


def _forget_decisions(cache_dir):
    """Remove the decision logs of earlier asynchronous searches (``searches/*.jsonl``).

    ``fit_cache.clear`` removes fits only. A run without ``--resume`` starts
    afresh, so an asynchronous search must decide anew rather than replay
    the order an earlier run's fits ended in.
    """
    folder = os.path.join(cache_dir, "searches")
    for path in glob.glob(os.path.join(folder, "*.jsonl")) + \
            glob.glob(os.path.join(folder, "*.jsonl.tmp")):
        with contextlib.suppress(OSError):
            os.remove(path)
    with contextlib.suppress(OSError):
        os.rmdir(folder)  # only if now empty


def _make_dir(path, flag="--out"):
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{flag} {path}: cannot write there ({exc.strerror}). "
                         "Choose a writable folder.") from None


def _check_resumed_folds(out, digest, stderr):
    """Warn when --resume scores on other folds than the run it continues (per its report)."""
    try:
        with open(os.path.join(out, "report.json")) as fh:
            earlier = json.load(fh).get("search", {}).get("cv_splits_digest")
    except (OSError, ValueError, AttributeError):
        return
    if earlier is not None and earlier != digest:
        stderr.write(
            "skkeras-search: warning: --resume: the folds differ from those of the run in "
            f"{out}/report.json (the data, --cv, --test-size or --random-state changed), so its "
            "cached fits are not reused; every fit runs on the new folds.\n"
        )


def _worker_died(plan, cache_dir):
    done = read_progress(plan.progress_path)
    return RuntimeError(
        f"a worker process died (killed, or out of memory) after {len(done)} finished fits. "
        + ("They are cached: rerun the same command with --resume to finish without redoing "
           "them." if cache_dir else "Rerun without --no-cache to make searches resumable.")
    )


def _every_fit_failed(cache_dir, error):
    """The error for a search that scored no fit (scikit-learn's ``ValueError`` ``error``).

    The reason is the first failure the fit cache recorded; without one,
    scikit-learn's own report of the failures is passed on as it is.
    """
    records = failures(cache_dir) if cache_dir else []
    if records:
        return EveryFitFailed(f"every fit failed; the first reason: {records[0].message}")
    return EveryFitFailed("every fit failed, and the fit cache recorded no reason (it records "
                          "diverged fits); scikit-learn's report of the failures follows.",
                          details=str(error).strip())


def _search_warnings(caught, stderr):
    """The search's own warnings, written to stderr and returned for report.json."""
    messages = tuple(dict.fromkeys(str(w.message) for w in caught
                                   if issubclass(w.category, SearchWarning)))
    for message in messages:
        stderr.write(f"skkeras-search: warning: {message}\n")
    return messages


@contextlib.contextmanager
def execution(scheduler, n_workers=None):
    """Run joblib (and so the search) on Dask when ``scheduler`` is given.

    ``scheduler`` is a scheduler address (``tcp://host:8786``) or ``"local"``
    to start a ``LocalCluster`` on 127.0.0.1 with one single-threaded worker
    process per core. Yields the ``dask.distributed.Client`` or None.
    """
    if scheduler is None:
        yield None
        return
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise SchedulerError(
            "--scheduler needs dask.distributed, which is not installed. Install it with "
            "pip install 'skkeras-search[dask]'."
        ) from None
    cluster = None
    try:
        if scheduler == "local":
            cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1,
                                   host="127.0.0.1", dashboard_address=None,
                                   silence_logs=50)
            client = Client(cluster)
        else:
            client = _connect(Client, scheduler)
        with client, joblib.parallel_config(backend="dask"):
            yield client
    finally:
        if cluster is not None:
            cluster.close()


def _connect(client_class, scheduler):
    try:
        return client_class(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        raise SchedulerError(
            f"--scheduler {scheduler}: cannot connect ({type(exc).__name__}: "
            f"{' '.join(str(exc).split())[:200]}). Start one with `dask scheduler` "
            "and pass its address, or use --scheduler local."
        ) from None
