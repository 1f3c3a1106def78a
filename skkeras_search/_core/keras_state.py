"""Keras's and TensorFlow's global state around a build or a fit: names and seeds.

A fit builds its model once, so a search builds thousands: Keras's global
name counters and TensorFlow's per-name memory would grow with every one
(:func:`names_as_first_built`), and ``keras.utils.set_random_seed`` or
``tf.random.set_seed`` would clear TensorFlow's function caches at every fit
(:func:`seed_keras`, :func:`tf_global_seed`). Both wrapper wings use these.
"""

import random
import threading
from collections import OrderedDict, defaultdict
from contextlib import contextmanager

import numpy as np

from skkeras_search._core import backend as _backend

__all__ = ["names_as_first_built", "seed_keras", "seeded_keras", "tf_global_seed"]


_NAME_STATES = 256  # build functions whose first naming state is kept
_first_names = OrderedDict()  # Spec.key -> Keras's name counters before its first build
_first_names_lock = threading.Lock()


@contextmanager
def names_as_first_built(key):
    """Let every build of ``key`` name its layers and variables as the first one did.

    Keras names each new layer with a global counter (``dense_7``), and
    TensorFlow keeps a little memory for each variable name it has seen
    (about 30 kB: 0.2 MB per fit of a small model, never freed). A fit builds
    the model once, so a search of thousands of fits would grow by hundreds of
    MB. Here the counters start, for each build, where they stood before the
    first build of the same ``key``, so the names repeat; afterwards every
    counter is put back to the larger of its values, so names given outside
    stay unique. Without Keras's internal counters (another Keras), nothing
    is changed.
    """
    try:
        from keras.src.backend.common import global_state
    except ImportError:
        yield
        return
    counters = global_state.get_global_attribute(
        "object_name_uids", default=defaultdict(int), set_to_default=True)
    if not isinstance(counters, dict):
        yield
        return
    with _first_names_lock:
        start = _first_names.setdefault(key, dict(counters))
        _first_names.move_to_end(key)
        if len(_first_names) > _NAME_STATES:
            _first_names.popitem(last=False)
    global_state.set_global_attribute("object_name_uids", defaultdict(int, start))
    try:
        yield
    finally:
        used = global_state.get_global_attribute("object_name_uids") or {}
        merged = defaultdict(int, counters)
        for name, count in used.items():
            merged[name] = max(merged[name], count)
        global_state.set_global_attribute("object_name_uids", merged)


def seed_keras(seed):
    """``keras.utils.set_random_seed`` without ``tf.random.set_seed``.

    Keras's initialisers and dropout seed generators draw their seeds from
    Python's ``random`` and Keras's global seed; ``tf.random.set_seed`` adds
    nothing for them but clears TensorFlow's kernel and function caches, after
    which every pooled model instantiates its graphs again (about 0.1 s per
    fit). On other backends, or if Keras's internals move, the public function
    is used. A build function drawing from unseeded ``tf.random`` ops itself
    is therefore not made deterministic on TensorFlow.
    """
    keras = _backend.keras()
    try:
        from keras.src.backend.common import global_state
        from keras.src.random import seed_generator
        from keras.src.utils import rng_utils

        names = (rng_utils.GLOBAL_RANDOM_SEED, seed_generator.GLOBAL_SEED_GENERATOR)
    except (ImportError, AttributeError):
        names = None
    if names is None or keras.backend.backend() != "tensorflow":
        keras.utils.set_random_seed(seed)
        return
    global_state.set_global_attribute(names[0], seed)
    global_state.set_global_attribute(names[1], None)
    random.seed(seed)
    np.random.seed(seed)


_MISSING = object()
_global_seed_lock = threading.RLock()  # one seeded block at a time: TF has one global seed


def _keras_seed_names():
    try:
        from keras.src.random import seed_generator
        from keras.src.utils import rng_utils
    except (ImportError, AttributeError):
        return ()
    return (rng_utils.GLOBAL_RANDOM_SEED, seed_generator.GLOBAL_SEED_GENERATOR)


@contextmanager
def seeded_keras(seed):
    """Keras's, Python's and NumPy's global seeds are ``seed`` inside the block, then restored.

    For calling a user's build function under a fit's seed (its initialisers
    and dropout seed generators draw from these) without leaving the
    caller's generators changed. Blocks in other threads wait (the seeds are
    global: two builds at once would draw from each other's).
    """
    with _global_seed_lock:
        from keras.src.backend.common import global_state

        names = _keras_seed_names()
        saved = [global_state.get_global_attribute(n) for n in names]
        py_state, np_state = random.getstate(), np.random.get_state()
        try:
            seed_keras(seed)
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)
            for name, value in zip(names, saved):
                global_state.set_global_attribute(name, value)


@contextmanager
def tf_global_seed(seed):
    """TensorFlow's global seed is ``seed`` inside the block, and as it was after it.

    What ``tf.random.set_seed`` changes (the eager context's seed and the
    generator of op seeds drawn from it) is set directly and restored on
    exit, so that ops created inside the block (the shuffle of Keras's data
    pipeline, built when ``Model.fit`` starts) get seeds that depend on
    ``seed`` and on their position in their graph only, while code outside
    draws as if nothing had happened. NumPy's and Python's global generators
    are seeded too and restored. ``tf.random.set_seed`` itself would also
    clear TensorFlow's kernel and function caches (about 0.1 s of retracing
    per fit). TensorFlow has one global seed per process, so blocks in other
    threads wait for this one to end (seeded fits in threads of one process
    run one at a time, rather than read each other's seed). Without
    TensorFlow's eager context internals, the public function is used (and
    the previous seed is not restored).
    """
    tf = _backend.tensorflow()
    with _global_seed_lock:  # what is saved is no other thread's seed
        yield from _seeded(tf, seed)


def _seeded(tf, seed):
    try:
        from tensorflow.python.eager import context as tf_context

        ctx = tf_context.context()
        saved = (ctx._seed, ctx.__dict__.get("_rng", _MISSING))
    except (ImportError, AttributeError):
        ctx = saved = None
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        if ctx is None:
            tf.random.set_seed(seed)
        else:
            ctx._seed, ctx._rng = int(seed), random.Random(int(seed))
        random.seed(seed)
        np.random.seed(seed)
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
        if ctx is not None:
            ctx._seed = saved[0]
            if saved[1] is _MISSING:
                ctx.__dict__.pop("_rng", None)
            else:
                ctx._rng = saved[1]
