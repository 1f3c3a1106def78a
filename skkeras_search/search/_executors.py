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
* :class:`Pinned` runs one worker process per GPU, each started with
  ``CUDA_VISIBLE_DEVICES`` naming its GPU and TensorFlow's memory growth on
  (:func:`~skkeras_search._core.devices.gpu_worker_env`), so that a GPU
  holds one fit at a time and no process takes another's memory. Each GPU has
  a one-process loky pool of its own: loky hands a pool's ``env`` to the
  new process at ``exec``, before Python, CUDA or TensorFlow read anything,
  which a ``concurrent.futures`` initializer cannot promise (a spawned
  worker runs it only after re-importing the parent's main module, which
  may import TensorFlow and touch a GPU). A worker that dies has its pool
  made again and its fit submitted again.
* :class:`Dask` submits to a ``distributed.Client`` (joblib's ``'dask'``
  backend, or a client in scope). Dask itself reruns the fits of a worker
  that died; with workers started with ``--resources GPU=1`` each fit asks
  for one GPU, so a worker receives one fit at a time.

:func:`executor_for` picks one from ``n_jobs``, joblib's active backend and
the GPUs asked for.

Asking for GPUs. With joblib's default backend (loky) and GPUs visible
(:func:`~skkeras_search._core.devices.visible_gpus`), an asynchronous
search pins its workers, one per GPU:

============  ==================  =============================================
``n_jobs``    GPUs asked          workers
============  ==================  =============================================
None or 1     not asked           one, in this process (:class:`Inline`)
k > 1 or -1   not asked           ``min(k, GPUs visible)``, pinned
None          N                   N, pinned to the first N GPUs
k             N                   ``min(k, N)``, pinned
any           0                   no pinning: :class:`Inline` or :class:`Futures`
============  ==================  =============================================

GPUs are asked for, first that applies: ``executor_for(gpus=N)``, a
``with use_gpus(N):`` block around ``fit``, the environment variable
``SKKERAS_SEARCH_GPUS=N``. Asking for more GPUs than are visible, or asking
under joblib's ``'threading'``, ``'sequential'`` or ``'multiprocessing'``
backend, is an error. On Dask the GPUs asked are ignored: the workers'
``GPU`` resources decide (see :class:`Dask`). Synchronous searches
(``HyperbandSearchCV``, ``TPESearchCV``, scikit-learn's) run through joblib
and are never pinned.
"""

import collections
import concurrent.futures
import contextlib
import numbers
import os
import sys
import threading

import joblib
from joblib.parallel import get_active_backend

from skkeras_search._core.devices import gpu_worker_env, visible_gpus

__all__ = ["Inline", "Futures", "Pinned", "Dask", "executor_for", "use_gpus", "GPUS_ENV",
           "MAX_RESUBMITS"]

MAX_RESUBMITS = 3  # a fit whose worker died this often is an error, not bad luck
GPUS_ENV = "SKKERAS_SEARCH_GPUS"
_GROWTH_ENV = "TF_FORCE_GPU_ALLOW_GROWTH"
_asked_gpus = []  # the stack of use_gpus blocks (process-wide: the fit may run in a thread)
_asked_lock = threading.Lock()


def _count_loss(resubmits, key, where=""):
    """One more death for fit ``key``; an error once it died ``MAX_RESUBMITS + 1`` times."""
    resubmits[key] += 1
    if resubmits[key] > MAX_RESUBMITS:
        raise RuntimeError(
            f"The worker running fit {key!r}{where} died {MAX_RESUBMITS + 1} times (killed, "
            "out of memory or crashed). Lower n_jobs or the network's size, or run "
            "this candidate alone to see why it dies."
        )


class Inline:
    """Runs each fit in this process, in submission order, when a result is asked for."""

    n_workers = 1

    in_process = True  # fits see this process's warning filters and scikit-learn config

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


def _ended(future):
    """The fit ended in its worker (with a result or its own error), not with the worker's death."""
    return future.done() and not isinstance(future.exception(),
                                            concurrent.futures.BrokenExecutor)


class Futures:
    """A :mod:`concurrent.futures` pool that survives the death of a worker process.

    Parameters
    ----------
    make_pool : callable
        Returns a new (or the reusable) pool; called again after a worker died.
    n_workers : int
    shutdown : bool, default=False
        Shut the pool down on :meth:`close` (a pool of our own, not loky's reusable one).
    in_process : bool, default=False
        The workers are threads of this process (they share its warning filters).
    """

    def __init__(self, make_pool, n_workers, shutdown=False, in_process=False):
        self.in_process = in_process
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
        finished = {f: t for f, t in tasks.items() if _ended(f)}
        lost = [t for f, t in tasks.items() if f not in finished]
        for key, _, _ in lost:
            _count_loss(self._resubmits, key)
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


class Pinned:
    """One single-process pool per GPU, each pinned to its device before TensorFlow starts.

    Parameters
    ----------
    devices : sequence of str
        ``CUDA_VISIBLE_DEVICES`` ids, one worker each (``n_workers`` of them).
    threads : int
        CPU threads of each worker (its share of the cores), at least 1.

    Attributes
    ----------
    devices : tuple of str
    n_workers : int
    """

    in_process = False

    def __init__(self, devices, threads):
        self.devices = tuple(devices)
        self.n_workers = len(self.devices)
        self._envs = [gpu_worker_env(device, threads) for device in self.devices]
        self._pools = [self._new_pool(slot) for slot in range(self.n_workers)]
        self._tasks = {}  # future -> (slot, key, fn, args), in submission order
        self._resubmits = collections.Counter()

    def _new_pool(self, slot):
        from joblib.externals.loky import ProcessPoolExecutor

        # loky's env is given to the new process itself (fork + exec), so CUDA and
        # TensorFlow read it at their start; no timeout: the worker keeps its imports
        return ProcessPoolExecutor(max_workers=1, env=self._envs[slot])

    def submit(self, key, fn, *args):
        """Run ``fn(*args)`` on the least busy GPU (the first of those tied)."""
        load = collections.Counter(slot for slot, *_ in self._tasks.values())
        slot = min(range(self.n_workers), key=lambda s: (load[s], s))
        self._submit(slot, key, fn, args)

    def _submit(self, slot, key, fn, args):
        self._tasks[self._pools[slot].submit(fn, *args)] = (slot, key, fn, args)

    def running(self):
        return len(self._tasks)

    def wait_any(self):
        """The first fit to finish: ``(key, result)``; a dead worker's pool is made again."""
        while True:
            done, _ = concurrent.futures.wait(list(self._tasks),
                                              return_when=concurrent.futures.FIRST_COMPLETED)
            order = list(self._tasks)
            future = min(done, key=order.index)
            if not isinstance(future.exception(), concurrent.futures.BrokenExecutor):
                _, key, _, _ = self._tasks.pop(future)
                return key, future.result()
            self._restart(self._tasks[future][0])

    def _restart(self, slot):
        """The worker of ``slot`` died: a new process on the same GPU, its fits submitted again."""
        lost = [(f, t) for f, t in self._tasks.items()
                if t[0] == slot and not _ended(f)]
        for _, (_, key, _, _) in lost:
            _count_loss(self._resubmits, key, f" on GPU {self.devices[slot]!r}")
        self._pools[slot].shutdown(wait=False, kill_workers=True)
        self._pools[slot] = self._new_pool(slot)
        for future, (_, key, fn, args) in lost:
            del self._tasks[future]
            self._submit(slot, key, fn, args)

    def close(self):
        """Cancel what is queued; stop the workers (killed if a fit still runs)."""
        for future in self._tasks:
            future.cancel()
        busy = {slot for future, (slot, *_) in self._tasks.items() if not future.done()}
        self._tasks = {}
        for slot, pool in enumerate(self._pools):
            pool.shutdown(wait=True, kill_workers=slot in busy)


class Dask:
    """Fits submitted to a ``distributed.Client``; the data is scattered to every worker once.

    Parameters
    ----------
    client : distributed.Client
    """

    in_process = False

    def __init__(self, client):
        self._client = client
        workers = client.scheduler_info(n_workers=-1)["workers"] if _takes_n_workers(client) \
            else client.scheduler_info()["workers"]
        gpus = sum(int(w.get("resources", {}).get("GPU", 0)) for w in workers.values())
        self._resources = {"GPU": 1} if gpus else None
        self.n_workers = gpus or sum(int(w.get("nthreads", 1)) for w in workers.values()) or 1
        self._tasks = {}  # future -> key
        self._scattered = {}
        self._completed = None  # distributed.as_completed, made at the first submit

    def share(self, value):
        """``value`` scattered to every worker (a future), once per object."""
        if id(value) not in self._scattered:
            self._scattered[id(value)] = (value, self._client.scatter(value, broadcast=True,
                                                                      hash=False))
        return self._scattered[id(value)][1]

    def submit(self, key, fn, *args):
        from distributed import as_completed

        future = self._client.submit(fn, *args, pure=False, resources=self._resources)
        self._tasks[future] = key
        if self._completed is None:  # one iterator for the whole search: results come with
            self._completed = as_completed([future], with_results=True)  # the news, one trip
        else:
            self._completed.add(future)

    def running(self):
        return len(self._tasks)

    def wait_any(self):
        """The first fit to finish: ``(key, result)`` (a fit's error is raised here)."""
        future, result = next(self._completed)
        return self._tasks.pop(future), result

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


@contextlib.contextmanager
def use_gpus(n):
    """Ask the asynchronous searches fitted in the block for ``n`` GPU workers.

    One worker process per GPU, each pinned to its GPU (:class:`Pinned`);
    ``n_jobs``, when set, caps their number. The setting is process-wide
    (a fit run in another thread sees it) and blocks nest, the innermost
    winning; it overrides the environment variable ``SKKERAS_SEARCH_GPUS``.

    Parameters
    ----------
    n : int or None
        GPUs to use, the first ``n`` of those visible; 0 turns pinning off;
        None leaves the choice to ``SKKERAS_SEARCH_GPUS`` or, without it, to
        ``n_jobs`` (see the module's text).

    Raises
    ------
    ValueError
        If ``n`` is not None or an int >= 0. Too many GPUs are refused by the fit.

    Examples
    --------
    >>> with use_gpus(2):  # doctest: +SKIP
    ...     ASHASearchCV(KerasMLPClassifier(), paper_space(), max_epochs=27).fit(X, y)
    """
    if n is None:
        yield
        return
    entry = [_checked_count(n, f"n={n!r}")]
    with _asked_lock:
        _asked_gpus.append(entry)
    try:
        yield
    finally:
        with _asked_lock:
            _asked_gpus.remove(entry)


def _checked_count(value, label):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{label} is not a number of GPUs. Use an int >= 0 (0 turns pinning "
                         "off) or None.")
    return int(value)


def _gpus_asked(gpus):
    """(GPUs asked, how the ask is named in messages): the argument, a use_gpus block, the
    environment; (None, None) when nothing asks."""
    if gpus is not None:
        return _checked_count(gpus, f"gpus={gpus!r}"), f"gpus={gpus!r}"
    with _asked_lock:
        if _asked_gpus:
            n = _asked_gpus[-1][0]
            return n, f"use_gpus({n!r})"
    value = os.environ.get(GPUS_ENV, "").strip()
    if not value:
        return None, None
    if not value.isdigit():
        raise ValueError(f"{GPUS_ENV}={value!r} is not a number of GPUs. Set it to an int >= 0 "
                         "(0 turns pinning off) or unset it.")
    return int(value), f"{GPUS_ENV}={value}"


def _devices_to_pin(gpus, n_jobs, n, backend):
    """The GPUs to pin one worker each to (empty: no pinning); see the module's table."""
    from joblib._parallel_backends import LokyBackend

    asked, label = _gpus_asked(gpus)
    if asked == 0:
        return ()
    loky = type(backend) is LokyBackend
    if asked is None:
        return visible_gpus()[:n] if loky and n > 1 else ()
    if not loky:
        raise ValueError(
            f"{label} pins one worker process per GPU, which needs joblib's default 'loky' "
            f"backend; the active backend is {type(backend).__name__}. Ask for 0 GPUs, or fit "
            "outside joblib.parallel_config(backend=...).")
    devices = visible_gpus()
    if asked > len(devices):
        raise ValueError(
            f"{label} asks for more GPUs than the {len(devices)} visible "
            f"({', '.join(devices) or 'none'}). Ask for at most {len(devices)}, or check "
            "CUDA_VISIBLE_DEVICES and nvidia-smi.")
    return devices[:asked] if n_jobs is None else devices[:min(asked, n)]


def executor_for(n_jobs, gpus=None):
    """The executor for ``n_jobs``, joblib's active backend and the GPUs asked (module's text).

    Parameters
    ----------
    n_jobs : int or None
        As scikit-learn's ``n_jobs``; None takes ``joblib.parallel_config``'s
        (1 by default). Ignored on Dask, where every worker thread is used.
        With GPUs pinned, it caps the number of GPU workers.
    gpus : int or None, default=None
        GPU workers to run, one per GPU (0: none); None takes a
        :func:`use_gpus` block's, else ``SKKERAS_SEARCH_GPUS``, else pins
        ``min(n_jobs, GPUs visible)`` workers when ``n_jobs`` > 1.

    Returns
    -------
    executor : Inline, Futures, Pinned or Dask

    Raises
    ------
    ValueError
        If more GPUs are asked for than are visible, or GPUs are asked for
        under a joblib backend other than loky.
    """
    from joblib._parallel_backends import SequentialBackend, ThreadingBackend

    backend, config_n_jobs = get_active_backend()
    client = _dask_client(backend)
    if client is not None:
        return Dask(client)
    n_jobs = n_jobs if n_jobs is not None else config_n_jobs
    n = joblib.effective_n_jobs(n_jobs)
    devices = _devices_to_pin(gpus, n_jobs, n, backend)
    if devices:
        return Pinned(devices, max(joblib.cpu_count() // len(devices), 1))
    if n == 1 or isinstance(backend, SequentialBackend):
        return Inline()
    if isinstance(backend, ThreadingBackend):
        threads = concurrent.futures.ThreadPoolExecutor(max_workers=n)
        return Futures(lambda: threads, n, shutdown=True, in_process=True)
    return Futures(lambda: _loky_pool(n), n)  # loky (joblib's default), also for 'multiprocessing'


def _loky_pool(n):
    """joblib's reusable loky pool of ``n`` workers (the one its loky backend uses, so a later
    ``Parallel`` call finds it in order; large arrays travel as memory maps), each capped at
    its share of the cores (as joblib's loky backend caps them) and with TensorFlow's GPU
    memory growth on."""
    from joblib.executor import get_memmapping_executor

    share = str(max(joblib.cpu_count() // n, 1))
    env = {name: share for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
           if name not in os.environ}
    if _GROWTH_ENV not in os.environ:
        env[_GROWTH_ENV] = "true"
    return get_memmapping_executor(n, timeout=300, env=env)
