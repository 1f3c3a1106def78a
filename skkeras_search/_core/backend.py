"""Quiet, lazy access to TensorFlow and Keras.

Importing TensorFlow takes seconds and, even with ``TF_CPP_MIN_LOG_LEVEL``
set, prints C++ start-up chatter that would reach every user of a search.
This module is the only place that imports TensorFlow or Keras: it does it on
first use, with that chatter silenced, and sets TensorFlow's thread pools.

Threads and reproducibility. A fit must give bit-identical weights in any
process: ``n_jobs=1`` (all cores), a loky worker (``OMP_NUM_THREADS`` =
cores // n_jobs), a Dask worker (1), a respawned worker. TensorFlow's CPU
kernels split their work over the *intra-op* pool, and a matrix product's
split depends on the pool's size (Eigen's contraction picks its blocking
along the summed dimension from the thread count, and may shard that
dimension over threads), which changes the rounding: with 1 and 2 intra-op
threads the same fit ends with different float64 weights, and different
float32 ones when oneDNN is off (``TF_ENABLE_ONEDNN_OPTS=0``, and
TensorFlow's default on CPUs without AVX512-VNNI, AVX-VNNI or AMX). So the
intra-op pool is one thread in every process, and each kernel's arithmetic
depends on its shapes only; the thread cap (``SKKERAS_SEARCH_THREADS``,
else ``OMP_NUM_THREADS``) sizes the *inter-op* pool, which runs independent
kernels of a graph side by side (a layer's two backward products, the
optimizer updates) and cannot change a result.

Training and prediction need TensorFlow only. ``import tensorflow`` would
also import all of Keras (its last lines load ``keras.src.optimizers`` inside
``try/except ImportError``), which with Keras's own imports (matplotlib among
them) is about a fifth of a cold start; :func:`tensorflow` imports TensorFlow
without it, and Keras is imported by :func:`keras` when something asks for it
(a Keras model, the cache key's versions, the wrappers).

The package faces load their names on first use too (:func:`lazy_exports`):
``import skkeras_search`` imports neither scikit-learn nor TensorFlow, so the
``skkeras-search`` command can read its flags (and answer ``--help`` or a
usage error) at once, and start TensorFlow's import before the rest.
"""

import importlib
import importlib.machinery
import os
import sys
import threading
import types
import warnings
from contextlib import contextmanager

__all__ = ["tensorflow", "keras", "configure_threads", "stderr_silenced", "lazy_exports"]

_THREADS_ENV = "SKKERAS_SEARCH_THREADS"
#: TensorFlow's intra-op pool: one thread everywhere, so that no kernel's
#: arithmetic depends on the machine's cores or on the process's thread cap.
INTRA_OP_THREADS = 1


_silence_lock = threading.Lock()
_silence_depth = 0
_saved_fd = None


@contextmanager
def stderr_silenced():
    """Send file descriptor 2 to /dev/null for the duration of the block.

    Thread-safe and re-entrant: the first thread in redirects, the last one
    out restores, so concurrent first fits cannot leave stderr silenced.
    It is descriptor 2 that is silenced, where TensorFlow's C++ logs go, even
    when ``sys.stderr`` writes to a copy of it: the ``skkeras-search``
    command points ``sys.stderr`` at such a copy, so that its own messages
    and Python's warnings still show while another thread imports TensorFlow.
    """
    global _silence_depth, _saved_fd
    try:
        sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        # stderr is not a real file (pytest capture, notebooks): nothing to silence
        yield
        return
    fd = 2
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


#: urllib3 warns at import, when PySocks is missing, that SOCKS proxies need it (a
#: DependencyWarning); TensorFlow's and Keras's imports reach it, so every run printed it
#: although no run uses a proxy. Only that message is ignored.
warnings.filterwarnings("ignore", message="SOCKS support in urllib3 requires")

_configured = False
_import_lock = threading.RLock()  # two threads' first fits must not import TensorFlow twice


def tensorflow():
    """Return the ``tensorflow`` module, importing it quietly on first use (without Keras).

    On first use its thread pools are set (see the module's docstring), also
    when something else imported TensorFlow first, as long as no TensorFlow
    operation has run yet.
    """
    if _configured:
        return sys.modules["tensorflow"]
    with _import_lock:
        return _tensorflow_once()


def _tensorflow_once():
    global _configured
    if _configured:  # another thread configured it while this one waited
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with stderr_silenced():
        if "tensorflow" in sys.modules:
            import tensorflow as tf  # waits for another thread's import to finish
        else:
            tf = _import_tensorflow_without_keras()
            tf.get_logger().setLevel("ERROR")
        # 0: TensorFlow's default inter-op pool (all cores)
        _set_pools(tf, _thread_cap() or 0)
        # The first op initialises the runtime, which logs once more.
        tf.constant(0.0)
        intra_op = tf.config.threading.get_intra_op_parallelism_threads()
    _configured = True
    if intra_op != INTRA_OP_THREADS:  # outside stderr_silenced: the warning must show
        warnings.warn(
            f"TensorFlow's runtime was started before skkeras_search configured it, with "
            f"{intra_op or 'all cores as'} intra-op threads: fits in this process can differ "
            "in their last bits from the same fits in worker processes (n_jobs > 1) or under "
            "another thread cap. For reproducible results, run no TensorFlow operation before "
            "the first fit, or call tf.config.threading.set_intra_op_parallelism_threads(1) "
            "first.", RuntimeWarning, stacklevel=4)
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
    """Return the ``keras`` module (TensorFlow imported and configured first, quietly).

    TensorFlow is configured even when the user imported Keras first: a build
    function's first Keras call would otherwise start TensorFlow's runtime
    with its default thread pools.
    """
    tensorflow()
    module = sys.modules.get("keras")
    if module is not None and not _initializing(module):
        return module
    with _import_lock, stderr_silenced():  # one thread imports, the others wait for it
        import keras as _keras

    return _keras


def _initializing(module):
    """Whether ``module`` is still being imported (by another thread: sys.modules has it)."""
    return getattr(getattr(module, "__spec__", None), "_initializing", False)


def configure_threads(n_threads):
    """Cap the threads TensorFlow runs kernels on at ``n_threads``.

    The cap sizes TensorFlow's inter-op pool (kernels run side by side); its
    intra-op pool is always ``INTRA_OP_THREADS`` (one), whatever the cap, so
    that results never depend on it (see the module's docstring).

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
    return _set_pools(sys.modules["tensorflow"], n_threads)


def _set_pools(tf, inter_op):
    """Set the pools; False when TensorFlow's runtime already runs with others."""
    threading_config = tf.config.threading
    try:
        threading_config.set_intra_op_parallelism_threads(INTRA_OP_THREADS)
        threading_config.set_inter_op_parallelism_threads(inter_op)
    except RuntimeError:  # the runtime has started: the pools are fixed
        return (threading_config.get_intra_op_parallelism_threads() == INTRA_OP_THREADS
                and threading_config.get_inter_op_parallelism_threads() == inter_op)
    return True


def lazy_exports(package, exports, aliases=None):
    """Module ``__getattr__`` and ``__dir__`` of a face whose names load on first use (PEP 562).

    Parameters
    ----------
    package : str
        The face's module name (its ``__name__``).
    exports : dict of str to str
        Each public name and the module that holds it (imported at the first look-up).
    aliases : dict of str to str, default=None
        Other module names of today's modules, for pickles that name old paths:
        ``package.<key>`` is registered in ``sys.modules`` as a stand-in that imports
        the module it names (the value) at its first attribute look-up.

    Returns
    -------
    getattr, dir : callable
        To assign to the face's ``__getattr__`` and ``__dir__``.
    """
    for old, target in (aliases or {}).items():
        sys.modules.setdefault(f"{package}.{old}", _Alias(f"{package}.{old}", target))

    def __getattr__(name):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name]), name)
        setattr(sys.modules[package], name, value)  # later look-ups skip this function
        return value

    def __dir__():
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__


class _Alias(types.ModuleType):
    """Another name of the module ``target``, imported at the first attribute look-up.

    Unpickling imports the module a pickle names, then looks the class up
    in it: the look-up imports ``target``, which then replaces this stand-in
    in ``sys.modules``.
    """

    def __init__(self, name, target):
        super().__init__(name)
        self.__spec__ = importlib.machinery.ModuleSpec(name, None)
        self.__dict__["_alias_of"] = target

    def __getattr__(self, attr):
        if attr.startswith("__") and attr.endswith("__"):  # inspect and pytest scan sys.modules
            raise AttributeError(attr)
        module = importlib.import_module(self.__dict__["_alias_of"])
        if sys.modules.get(self.__name__) is self:
            sys.modules[self.__name__] = module
        return getattr(module, attr)
