"""The cold path: training needs TensorFlow only, and Keras still loads on demand."""

import subprocess
import sys
import textwrap


def _run(code):
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                            text=True, timeout=300)
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
        from skkeras_search import _backend
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
        from skkeras_search import _backend
        print(_backend.keras() is keras, _backend.tensorflow().__name__)
    """)
    assert out == ["True", "tensorflow"]
