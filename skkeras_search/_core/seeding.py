"""Turn ``random_state`` into seeds, and keep global RNGs untouched.

Every random stream a fit uses (weight initialisation, the validation split,
the per-epoch shuffle, dropout masks) is derived here from one integer seed,
so that a fit is a pure function of its data, parameters and ``random_state``,
and so that epoch ``k`` draws the same numbers whether training started at
epoch 0 or was continued from epoch ``k - 1``.
"""

import random
import secrets
from contextlib import contextmanager

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["resolve_seed", "stream", "preserve_global_rng"]

# Stream names, each a different child of the fit's seed.
_STREAMS = {"init": 0, "split": 1, "shuffle": 2, "dropout": 3}


def resolve_seed(random_state):
    """Return one int seed in [0, 2**31) for a ``random_state`` parameter.

    An int is used as is (modulo 2**31), a ``RandomState`` instance is drawn
    from (advancing it, as scikit-learn estimators do), and ``None`` takes
    fresh OS entropy without touching NumPy's global generator.
    """
    if random_state is None:
        return secrets.randbelow(2**31)
    if isinstance(random_state, (int, np.integer)):
        return int(random_state) % 2**31
    return int(check_random_state(random_state).randint(0, 2**31 - 1))


def stream(seed, name, *keys):
    """Return a ``numpy.random.Generator`` for stream ``name`` of ``seed``.

    Extra integer ``keys`` (an epoch number, say) select independent
    sub-streams, so epoch 7's shuffle does not depend on epochs 0-6.
    """
    return np.random.default_rng([int(seed), _STREAMS[name], *map(int, keys)])


def tf_seed(seed, name, *keys):
    """Return a pair of int64 values usable as a TensorFlow stateless seed."""
    return stream(seed, name, *keys).integers(0, 2**62, size=2, dtype=np.int64)


@contextmanager
def preserve_global_rng():
    """Restore Python's and NumPy's global RNG state on exit."""
    py_state = random.getstate()
    np_state = np.random.get_state()
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
