"""The cold path: training needs TensorFlow only, and Keras still loads on demand.

Each import order needs a fresh process, and a fresh process costs a TensorFlow start, so one
child per starting state checks every fact that holds in it (a fit in a bare process, Keras
imported first, TensorFlow started first, a wrapper fit after the user's ``import keras``). The
children start together, once per module, and each test reads the facts of its own child.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

_THREAD_VARS = ("SKKERAS_SEARCH_THREADS", "OMP_NUM_THREADS")

# Nothing imported: a fit and predict (TensorFlow without Keras), then the pools under a cap of
# 2, then Keras on demand.
_COLD = """
    import json, sys
    import numpy as np
    from skkeras_search import KerasMLPClassifier
    from skkeras_search._core import backend as _backend
    X = np.random.default_rng(0).normal(size=(60, 4)).astype(np.float32)
    y = np.arange(60) % 3
    KerasMLPClassifier(hidden_units=8, epochs=2, random_state=0).fit(X, y).predict(X)
    out = {"modules after fit": ["tensorflow" in sys.modules, "keras" in sys.modules]}
    tf = _backend.tensorflow()
    keras = _backend.keras()
    import keras as direct
    out["keras"] = [keras is direct, tf.keras.layers.Dense is keras.layers.Dense,
                    any(type(f).__name__ == "_DeferKeras" for f in sys.meta_path)]
    threading = tf.config.threading
    out["pools"] = [threading.get_intra_op_parallelism_threads(),
                    threading.get_inter_op_parallelism_threads(),
                    _backend.configure_threads(2), _backend.configure_threads(3)]
    print(json.dumps(out))
"""

# The user imported Keras (and with it TensorFlow), and ran no operation yet.
_KERAS_FIRST = """
    import json, warnings
    import keras  # imports TensorFlow, runs no operation
    from skkeras_search._core import backend as _backend
    warnings.simplefilter("error")
    tf = _backend.tensorflow()
    out = {"pools": [tf.config.threading.get_intra_op_parallelism_threads(),
                     tf.config.threading.get_inter_op_parallelism_threads()],
           "keras": [_backend.keras() is keras, _backend.tensorflow().__name__]}
    print(json.dumps(out))
"""

_TF_STARTED_FIRST = """
    import json, warnings
    import tensorflow as tf
    tf.constant(0.0)  # the runtime starts, with TensorFlow's default pools
    from skkeras_search._core import backend as _backend
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _backend.tensorflow()
        _backend.tensorflow()
    print(json.dumps({"warnings": [len(caught), caught[0].category.__name__,
                                   "intra-op" in str(caught[0].message)]}))
"""

# A build function's first Keras call would start TensorFlow's runtime with its default pools
# unless asking for Keras configures TensorFlow first.
_WRAPPER_AFTER_USER_KERAS = """
    import json, warnings
    import keras  # the user's import, as in every build function's module
    import numpy as np
    import tensorflow as tf
    from skkeras_search import KerasClassifier

    def build(input_shape, n_classes, units=4):
        return keras.Sequential([keras.Input(input_shape), keras.layers.Dense(units),
                                 keras.layers.Dense(n_classes, activation="softmax")])

    X = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        KerasClassifier(build, epochs=1, random_state=0).fit(X, np.arange(40) % 2)
    print(json.dumps({"intra_op": tf.config.threading.get_intra_op_parallelism_threads()}))
"""

_CHILDREN = {"cold": (_COLD, {"SKKERAS_SEARCH_THREADS": "2"}),
             "keras first": (_KERAS_FIRST, {"OMP_NUM_THREADS": "1"}),
             "tensorflow started first": (_TF_STARTED_FIRST, {}),
             "wrapper after the user's keras": (_WRAPPER_AFTER_USER_KERAS, {})}


@pytest.fixture(scope="module")
def child():
    """Start every child at once; ``child(name)`` waits for one and returns its facts."""
    base = {k: v for k, v in os.environ.items() if k not in _THREAD_VARS}
    procs = {name: subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)],
                                    env={**base, **env}, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
             for name, (code, env) in _CHILDREN.items()}
    results = {}

    def facts(name):
        if name not in results:
            out, err = procs[name].communicate(timeout=300)
            assert procs[name].returncode == 0, err[-2000:]
            results[name] = json.loads(out.strip().splitlines()[-1])
        return results[name]

    yield facts
    for proc in procs.values():  # a failed test leaves none running
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_fit_and_predict_do_not_import_keras(child):
    # Keras (and matplotlib through it) is a fifth of a cold start; a search never needs it.
    assert child("cold")["modules after fit"] == [True, False]


def test_keras_loads_after_tensorflow_and_is_the_real_module(child):
    assert child("cold")["keras"] == [True, True, False]


def test_keras_imported_first_is_left_alone(child):
    assert child("keras first")["keras"] == [True, "tensorflow"]


def test_intra_op_pool_is_one_thread_whatever_the_cap(child):
    # The cap sizes the inter-op pool; one intra-op thread keeps every kernel's sums in one
    # order, so a fit gives the same bits in any process (tests/test_determinism.py).
    # configure_threads: set once, TensorFlow refuses changes later.
    assert child("cold")["pools"] == [1, 2, True, False]


def test_tensorflow_imported_first_but_not_started_still_gets_one_intra_op_thread(child):
    assert child("keras first")["pools"] == [1, 1]  # and no warning at all (turned into errors)


def test_tensorflow_started_first_warns_once_that_bits_may_differ(child):
    assert child("tensorflow started first")["warnings"] == [1, "RuntimeWarning", True]


def test_a_wrapper_fit_after_the_user_imported_keras_still_gets_one_intra_op_thread(child):
    assert child("wrapper after the user's keras")["intra_op"] == 1


def test_this_test_session_trains_with_one_intra_op_thread():
    # in-process fits of the whole suite run as a user's do: a test module that starts
    # TensorFlow's runtime at collection (an optimizer built at import) would give every later
    # test all cores as intra-op threads, and float32 results that differ from the workers'
    from skkeras_search._core import backend as _backend

    tf = _backend.tensorflow()
    assert tf.config.threading.get_intra_op_parallelism_threads() == _backend.INTRA_OP_THREADS
