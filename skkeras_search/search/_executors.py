"""Where an asynchronous search runs its fits: one task at a time, results as they finish.

scikit-learn's ``evaluate_candidates`` runs a list of fits and returns when
the slowest one ends. An asynchronous search needs the opposite: submit one
(candidate, fold) fit whenever a worker is free and hear about each fit as it
ends. The executors here give every backend that interface:

* :class:`Inline` runs the fits in this process, one at a time (``n_jobs=1``
  or joblib's ``'sequential'`` backend): the search is then deterministic.
* :class:`Futures` wraps a :mod:`concurrent.futures` pool: threads for
  joblib's ``'threading'`` backend, loky's reusable process pool for
  ``'loky'`` (joblib's default) and ``'multiprocessing'``. A worker process
  that dies (killed, out of memory) breaks the pool; the pool is made again
  and the fits that were running are submitted again.
* :class:`Dask` submits to a ``distributed.Client`` (joblib's ``'dask'``
  backend, or a client in scope). Dask itself reruns the fits of a worker
  that died; with workers started with ``--resources GPU=1`` each fit asks
  for one GPU, so a worker receives one fit at a time.

:func:`executor_for` picks one from ``n_jobs`` and joblib's active backend.
"""

import collections
import concurrent.futures
import sys

import joblib
from joblib.parallel import get_active_backend

__all__ = ["Inline", "Futures", "Dask", "executor_for", "MAX_RESUBMITS"]

MAX_RESUBMITS = 3  # a fit whose worker died this often is an error, not bad luck


class Inline:
    """Runs each fit in this process, in submission order, when a result is asked for."""

    n_workers = 1

    def __init__(self):
        self._queue = collections.deque()

    def submit(self, key, fn, *args):
        self._queue.append((key, fn, args))

    def running(self):
        return len(self._queue)

    def wait_any(self):
        """The oldest fit, run now: ``(key, result)``."""
        key, fn, args = self._queue.popleft()
        return key, fn(*args)

    def close(self):
        self._queue.clear()


class Futures:
    """A :mod:`concurrent.futures` pool that survives the death of a worker process.

    Parameters
    ----------
    make_pool : callable
        Returns a new (or the reusable) pool; called again after a worker died.
    n_workers : int
    shutdown : bool, default=False
        Shut the pool down on :meth:`close` (a pool of our own, not loky's reusable one).
    """

    def __init__(self, make_pool, n_workers, shutdown=False):
        self._make_pool, self.n_workers, self._shutdown = make_pool, n_workers, shutdown
        self._pool = make_pool()
        self._tasks = {}  # future -> (key, fn, args)
        self._resubmits = collections.Counter()

    def submit(self, key, fn, *args):
        self._tasks[self._pool.submit(fn, *args)] = (key, fn, args)

    def running(self):
        return len(self._tasks)

    def wait_any(self):
        """The first fit to finish: ``(key, result)``; a broken pool is made again."""
        while True:
            done, _ = concurrent.futures.wait(list(self._tasks),
                                              return_when=concurrent.futures.FIRST_COMPLETED)
            future = min(done, key=lambda f: self._order(f))
            if not isinstance(future.exception(), concurrent.futures.BrokenExecutor):
                key, _, _ = self._tasks.pop(future)
                return key, future.result()
            self._restart()

    def _order(self, future):  # the earliest submitted of the fits that finished together
        return list(self._tasks).index(future)

    def _restart(self):
        """A worker died: a new pool, and every fit that did not finish submitted again."""
        tasks = self._tasks
        finished = {f: t for f, t in tasks.items() if f.done() and f.exception() is None}
        lost = [t for f, t in tasks.items() if f not in finished]
        for key, _, _ in lost:
            self._resubmits[key] += 1
            if self._resubmits[key] > MAX_RESUBMITS:
                raise RuntimeError(
                    f"The worker running fit {key!r} died {MAX_RESUBMITS + 1} times (killed, "
                    "out of memory or crashed). Lower n_jobs or the network's size, or run "
                    "this candidate alone to see why it dies."
                )
        self._pool = self._make_pool()
        self._tasks = dict(finished)
        for key, fn, args in lost:
            self.submit(key, fn, *args)

    def close(self):
        for future in self._tasks:
            future.cancel()
        self._tasks = {}
        if self._shutdown:
            self._pool.shutdown(wait=True, cancel_futures=True)


class Dask:
    """Fits submitted to a ``distributed.Client``; the data is scattered to every worker once.

    Parameters
    ----------
    client : distributed.Client
    """

    def __init__(self, client):
        self._client = client
        workers = client.scheduler_info(n_workers=-1)["workers"] if _takes_n_workers(client) \
            else client.scheduler_info()["workers"]
        gpus = sum(int(w.get("resources", {}).get("GPU", 0)) for w in workers.values())
        self._resources = {"GPU": 1} if gpus else None
        self.n_workers = gpus or sum(int(w.get("nthreads", 1)) for w in workers.values()) or 1
        self._tasks = {}  # future -> key
        self._scattered = {}

    def share(self, value):
        """``value`` scattered to every worker (a future), once per object."""
        if id(value) not in self._scattered:
            self._scattered[id(value)] = (value, self._client.scatter(value, broadcast=True,
                                                                      hash=False))
        return self._scattered[id(value)][1]

    def submit(self, key, fn, *args):
        future = self._client.submit(fn, *args, pure=False, resources=self._resources)
        self._tasks[future] = key

    def running(self):
        return len(self._tasks)

    def wait_any(self):
        """The first fit to finish: ``(key, result)``."""
        from distributed import wait

        done = wait(list(self._tasks), return_when="FIRST_COMPLETED").done
        future = min(done, key=lambda f: list(self._tasks).index(f))
        key = self._tasks.pop(future)
        return key, future.result()

    def close(self):
        for future in self._tasks:
            future.cancel()
        self._tasks = {}


def _takes_n_workers(client):
    import inspect

    return "n_workers" in inspect.signature(client.scheduler_info).parameters


def _dask_client(backend):
    """The Dask client of joblib's active backend, or one in scope, or None."""
    if "distributed" not in sys.modules:
        return None
    client = getattr(backend, "client", None)
    if client is not None:
        return client
    from joblib._parallel_backends import LokyBackend

    if type(backend) is not LokyBackend:  # a backend chosen by the user wins over a client
        return None
    from distributed import default_client

    try:
        return default_client()
    except ValueError:
        return None


def executor_for(n_jobs):
    """The executor for ``n_jobs`` under joblib's active backend (see the module's text).

    Parameters
    ----------
    n_jobs : int or None
        As scikit-learn's ``n_jobs``; None takes ``joblib.parallel_config``'s
        (1 by default). Ignored on Dask, where every worker thread is used.

    Returns
    -------
    executor : Inline, Futures or Dask
    """
    from joblib._parallel_backends import SequentialBackend, ThreadingBackend

    backend, config_n_jobs = get_active_backend()
    client = _dask_client(backend)
    if client is not None:
        return Dask(client)
    n = joblib.effective_n_jobs(n_jobs if n_jobs is not None else config_n_jobs)
    if n == 1 or isinstance(backend, SequentialBackend):
        return Inline()
    if isinstance(backend, ThreadingBackend):
        threads = concurrent.futures.ThreadPoolExecutor(max_workers=n)
        return Futures(lambda: threads, n, shutdown=True)
    return Futures(lambda: _loky_pool(n), n)  # loky (joblib's default), also for 'multiprocessing'


def _loky_pool(n):
    from joblib.externals.loky import get_reusable_executor

    return get_reusable_executor(max_workers=n, timeout=300)
