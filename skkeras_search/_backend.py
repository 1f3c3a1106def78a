"""Quiet, lazy access to TensorFlow and Keras.

Importing TensorFlow takes seconds and, even with ``TF_CPP_MIN_LOG_LEVEL``
set, prints C++ start-up chatter that would reach every user of a search.
This module is the only place that imports TensorFlow or Keras: it does it on
first use, with that chatter silenced, and caps TensorFlow's thread pools when
asked to (so that parallel workers on one host do not oversubscribe cores).

Training and prediction need TensorFlow only. ``import tensorflow`` would
also import all of Keras (its last lines load ``keras.src.optimizers`` inside
``try/except ImportError``), which with Keras's own imports (matplotlib among
them) is about a fifth of a cold start; :func:`tensorflow` imports TensorFlow
without it, and Keras is imported by :func:`keras` when something asks for it
(a Keras model, the cache key's versions, the wrappers).
"""

import importlib.machinery
import os
import sys
import threading
from contextlib import contextmanager

__all__ = ["tensorflow", "keras", "configure_threads", "stderr_silenced"]

_THREADS_ENV = "SKKERAS_SEARCH_THREADS"


_silence_lock = threading.Lock()
_silence_depth = 0
_saved_fd = None


@contextmanager
def stderr_silenced():
    """Send file descriptor 2 to /dev/null for the duration of the block.

    Thread-safe and re-entrant: the first thread in redirects, the last one
    out restores, so concurrent first fits cannot leave stderr silenced.
    """
    global _silence_depth, _saved_fd
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        # stderr is not a real file (pytest capture, notebooks): nothing to silence
        yield
        return
    with _silence_lock:
        if _silence_depth == 0:
            sys.stderr.flush()
            _saved_fd = os.dup(fd)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, fd)
            os.close(devnull)
        _silence_depth += 1
    try:
        yield
    finally:
        with _silence_lock:
            _silence_depth -= 1
            if _silence_depth == 0:
                sys.stderr.flush()
                os.dup2(_saved_fd, fd)
                os.close(_saved_fd)
                _saved_fd = None


class _Deferred:
    """Loader that refuses to load: the module is imported later, on demand."""

    def create_module(self, spec):
        raise ImportError(f"{spec.name} is imported later, when first needed")

    def exec_module(self, module):  # pragma: no cover - create_module raises first
        raise ImportError(f"{module.__name__} is imported later, when first needed")


class _DeferKeras:
    """Meta-path finder that keeps ``import tensorflow`` from importing Keras.

    Active only around our own ``import tensorflow``, and only for the thread
    doing it. ``importlib.util.find_spec("keras")`` (which TensorFlow uses to
    locate Keras's API folders) still gets the real origin; only loading is
    refused, which TensorFlow's eager Keras import tolerates.
    """

    def __init__(self):
        self.thread = threading.get_ident()

    def find_spec(self, name, path=None, target=None):
        if name != "keras" or threading.get_ident() != self.thread:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None:
            spec.loader = _Deferred()
        return spec


def _import_tensorflow_without_keras():
    finder = _DeferKeras() if "keras" not in sys.modules else None
    if finder is not None:
        sys.meta_path.insert(0, finder)
    try:
        import tensorflow as tf
    finally:
        if finder is not None:
            sys.meta_path.remove(finder)
    return tf


def tensorflow():
    """Return the ``tensorflow`` module, importing it quietly on first use (without Keras)."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with stderr_silenced():
        tf = _import_tensorflow_without_keras()

        tf.get_logger().setLevel("ERROR")
        threads = _thread_cap()
        if threads:
            configure_threads(threads)
        # The first op initialises the runtime, which logs once more.
        tf.constant(0.0)
    return tf


def _thread_cap():
    """Threads to use: SKKERAS_SEARCH_THREADS, else the OMP_NUM_THREADS cap.

    joblib's loky backend sets OMP_NUM_THREADS in each worker to its share of
    the cores (cpu_count // n_jobs), so honouring it keeps n_jobs worker
    processes from oversubscribing the machine; Dask workers get the same
    through their environment.
    """
    for name in (_THREADS_ENV, "OMP_NUM_THREADS"):
        value = os.environ.get(name, "")
        if value.isdigit() and int(value) >= 1:
            return int(value)
    return None


def keras():
    """Return the ``keras`` module (TensorFlow imported first, quietly)."""
    if "keras" in sys.modules:
        return sys.modules["keras"]
    tensorflow()
    with stderr_silenced():
        import keras as _keras

    return _keras


def configure_threads(n_threads):
    """Cap TensorFlow's intra- and inter-op thread pools at ``n_threads``.

    Has an effect only before TensorFlow runs its first operation; afterwards
    TensorFlow refuses the change, which is reported by returning False.

    Parameters
    ----------
    n_threads : int
        Number of threads, at least 1.

    Returns
    -------
    applied : bool
        Whether the setting took effect.
    """
    if n_threads < 1:
        raise ValueError(f"n_threads={n_threads!r} must be at least 1. Use n_threads>=1.")
    os.environ[_THREADS_ENV] = str(n_threads)
    if "tensorflow" not in sys.modules:
        return True  # applied when TensorFlow is first imported
    tf = sys.modules["tensorflow"]
    try:
        tf.config.threading.set_intra_op_parallelism_threads(n_threads)
        tf.config.threading.set_inter_op_parallelism_threads(n_threads)
    except RuntimeError:
        return tf.config.threading.get_intra_op_parallelism_threads() == n_threads
    return True
