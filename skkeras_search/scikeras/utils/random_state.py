"""Seeding TensorFlow, NumPy and Python for a block of code, as scikeras 0.13's ``random_state`` module.

:func:`tensorflow_random_state` seeds every global random state a Keras fit
draws from (Python's ``random``, which Keras 3 uses for layer initializer
and dropout seeds; NumPy's global ``RandomState``; TensorFlow's global seed;
Keras's global ``SeedGenerator``), turns TensorFlow's op determinism on, and
on exit puts every one of them back as it was, so code outside the block
draws the same values as if the block had not run.

The ``tf_*`` functions are the small TensorFlow helpers scikeras exposes
from the same module. TensorFlow is imported on first use, through
:mod:`skkeras_search._core.backend`.
"""

import os
import random
import sys
from contextlib import contextmanager

import numpy as np

from skkeras_search._core import backend

__all__ = [
    "tensorflow_random_state",
    "tf_set_seed",
    "tf_get_seed",
    "tf_enable_op_determinism",
    "tf_disable_op_determinism",
]

_DETERMINISTIC_OPS_ENV = "TF_DETERMINISTIC_OPS"
# Keras 3's global-state keys (keras.src.utils.rng_utils, keras.src.random.seed_generator)
_KERAS_SEED_KEYS = ("global_random_seed", "global_seed_generator")


def tf_set_seed(seed):
    """Set TensorFlow's global seed (``tf.random.set_seed``); None unsets it.

    Parameters
    ----------
    seed : int or None
    """
    backend.tensorflow().random.set_seed(seed)


def tf_get_seed():
    """TensorFlow's global seed (eager mode), or None when none is set.

    Returns
    -------
    int or None
    """
    backend.tensorflow()
    from tensorflow.python.eager import context

    return context.global_seed()


def tf_enable_op_determinism():
    """Make TensorFlow's ops deterministic (``tf.config.experimental.enable_op_determinism``)."""
    backend.tensorflow().config.experimental.enable_op_determinism()


def tf_disable_op_determinism():
    """Undo :func:`tf_enable_op_determinism`."""
    backend.tensorflow()
    from tensorflow.python.framework import config

    config.disable_op_determinism()


def _op_determinism_enabled():
    backend.tensorflow()
    from tensorflow.python.framework import config

    return config.is_op_determinism_enabled()


def _keras_global_state():
    """Keras 3's global-state module if Keras is imported (and has one), else None."""
    if "keras" not in sys.modules:
        return None
    try:
        from keras.src.backend.common import global_state
    except ImportError:  # pragma: no cover - a Keras without this module
        return None
    return global_state


def _tf_rng():
    """TensorFlow's eager context's op-seed generator (a ``random.Random``), or None."""
    backend.tensorflow()
    from tensorflow.python.eager import context

    return getattr(context.context(), "_rng", None)


def _save_state():
    """Everything :func:`tensorflow_random_state` changes, to put back on exit."""
    rng = _tf_rng()
    keras_state = _keras_global_state()
    return {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "tf_seed": tf_get_seed(),
        "tf_rng": rng.getstate() if rng is not None else None,
        "determinism": _op_determinism_enabled(),
        "env": os.environ.get(_DETERMINISTIC_OPS_ENV),
        "keras": None if keras_state is None else {
            key: keras_state.get_global_attribute(key) for key in _KERAS_SEED_KEYS
        },
    }


def _restore_state(saved):
    """Put back what :func:`_save_state` recorded."""
    random.setstate(saved["python"])
    np.random.set_state(saved["numpy"])
    # set_seed also clears TensorFlow's kernel cache, so seeded kernels start afresh
    tf_set_seed(saved["tf_seed"])
    rng = _tf_rng()
    if saved["tf_rng"] is not None and rng is not None:
        rng.setstate(saved["tf_rng"])  # op seeds continue where they were
    if saved["determinism"]:
        tf_enable_op_determinism()
    else:
        tf_disable_op_determinism()
    if saved["env"] is None:
        os.environ.pop(_DETERMINISTIC_OPS_ENV, None)
    else:
        os.environ[_DETERMINISTIC_OPS_ENV] = saved["env"]
    keras_state = _keras_global_state()
    if keras_state is not None:
        # Keras imported inside the block: its generator was seeded there, so drop it
        values = saved["keras"] or dict.fromkeys(_KERAS_SEED_KEYS)
        for key, value in values.items():
            keras_state.set_global_attribute(key, value)


def _seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)
    tf_set_seed(seed)
    tf_enable_op_determinism()
    os.environ[_DETERMINISTIC_OPS_ENV] = "1"
    keras_state = _keras_global_state()
    if keras_state is not None:  # as keras.utils.set_random_seed
        keras_state.set_global_attribute("global_random_seed", seed)
        keras_state.set_global_attribute("global_seed_generator", None)


@contextmanager
def tensorflow_random_state(seed):
    """Seed TensorFlow, NumPy and Python with ``seed`` inside the block; restore them after.

    Inside: ``random.seed(seed)``, ``np.random.seed(seed)``,
    ``tf.random.set_seed(seed)``, op determinism on (and
    ``TF_DETERMINISTIC_OPS=1``), and, if Keras is imported, Keras's global
    seed as ``keras.utils.set_random_seed`` sets it. On exit, even by an
    exception, each of these is put back: Python's and NumPy's generator
    states exactly; TensorFlow's global seed and the generator of its op
    seeds (so unseeded ops outside draw fresh values, and ops under a global
    seed continue their sequence with new op seeds), op determinism and the
    environment variable; Keras's global seed generator.

    Parameters
    ----------
    seed : int
        Seed, 0 <= seed < 2**32 (NumPy's limit).

    Yields
    ------
    None

    Raises
    ------
    TypeError
        If ``seed`` is not an integer.
    ValueError
        If ``seed`` is out of NumPy's range.

    Notes
    -----
    Global state is shared by every thread: do not run two blocks (or a
    block and other seeded code) concurrently.

    Examples
    --------
    >>> import tensorflow as tf  # doctest: +SKIP
    >>> with tensorflow_random_state(42):  # doctest: +SKIP
    ...     a = tf.random.uniform([1])
    >>> with tensorflow_random_state(42):  # doctest: +SKIP
    ...     b = tf.random.uniform([1])
    >>> bool(a == b)  # doctest: +SKIP
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int; got {seed!r} of type {type(seed).__name__}.")
    seed = int(seed)
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be between 0 and 2**32 - 1; got {seed}.")
    saved = _save_state()
    try:
        _seed_all(seed)
        yield
    finally:
        _restore_state(saved)
