"""The cold path: training needs TensorFlow only, and Keras still loads on demand."""

import os
import subprocess
import sys
import textwrap

_THREAD_VARS = ("SKKERAS_SEARCH_THREADS", "OMP_NUM_THREADS")


def _run(code, **env):
    base = {k: v for k, v in os.environ.items() if k not in _THREAD_VARS}
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                            text=True, timeout=300, env={**base, **env})
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.split()


def test_fit_and_predict_do_not_import_keras():
    # Keras (and matplotlib through it) is a fifth of a cold start; a search never needs it.
    out = _run("""
        import sys
        import numpy as np
        from skkeras_search import KerasMLPClassifier
        X = np.random.default_rng(0).normal(size=(60, 4)).astype(np.float32)
        y = np.arange(60) % 3
        KerasMLPClassifier(hidden_units=8, epochs=2, random_state=0).fit(X, y).predict(X)
        print("tensorflow" in sys.modules, "keras" in sys.modules)
    """)
    assert out == ["True", "False"]


def test_keras_loads_after_tensorflow_and_is_the_real_module():
    out = _run("""
        import sys
        from skkeras_search._core import backend as _backend
        tf = _backend.tensorflow()
        keras = _backend.keras()
        import keras as direct
        print(keras is direct, tf.keras.layers.Dense is keras.layers.Dense,
              any(type(f).__name__ == "_DeferKeras" for f in sys.meta_path))
    """)
    assert out == ["True", "True", "False"]


def test_keras_imported_first_is_left_alone():
    out = _run("""
        import keras
        from skkeras_search._core import backend as _backend
        print(_backend.keras() is keras, _backend.tensorflow().__name__)
    """)
    assert out == ["True", "tensorflow"]


def test_intra_op_pool_is_one_thread_whatever_the_cap():
    # The cap sizes the inter-op pool; one intra-op thread keeps every kernel's sums in one
    # order, so a fit gives the same bits in any process (tests/test_determinism.py).
    out = _run("""
        from skkeras_search._core import backend as _backend
        tf = _backend.tensorflow()
        threading = tf.config.threading
        print(threading.get_intra_op_parallelism_threads(),
              threading.get_inter_op_parallelism_threads(),
              _backend.configure_threads(2), _backend.configure_threads(3))
    """, SKKERAS_SEARCH_THREADS="2")
    assert out == ["1", "2", "True", "False"]  # set once: TensorFlow refuses changes later


def test_tensorflow_imported_first_but_not_started_still_gets_one_intra_op_thread():
    out = _run("""
        import warnings
        import keras  # imports TensorFlow, runs no operation
        from skkeras_search._core import backend as _backend
        warnings.simplefilter("error")
        tf = _backend.tensorflow()
        print(tf.config.threading.get_intra_op_parallelism_threads(),
              tf.config.threading.get_inter_op_parallelism_threads())
    """, OMP_NUM_THREADS="1")
    assert out == ["1", "1"]


def test_tensorflow_started_first_warns_once_that_bits_may_differ():
    out = _run("""
        import warnings
        import tensorflow as tf
        tf.constant(0.0)  # the runtime starts, with TensorFlow's default pools
        from skkeras_search._core import backend as _backend
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _backend.tensorflow()
            _backend.tensorflow()
        print(len(caught), caught[0].category.__name__, "intra-op" in str(caught[0].message))
    """)
    assert out == ["1", "RuntimeWarning", "True"]


def test_a_wrapper_fit_after_the_user_imported_keras_still_gets_one_intra_op_thread():
    # A build function's first Keras call would start TensorFlow's runtime with its default
    # pools unless asking for Keras configures TensorFlow first.
    out = _run("""
        import warnings
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
        print(tf.config.threading.get_intra_op_parallelism_threads())
    """)
    assert out == ["1"]
