"""Every scikit-learn estimator check on the scikeras drop-in passes, or is declared with its reason.

About 5 minutes on 2 cores (every check fits networks on data of new shapes, so
each traces its own graphs): left out of the default run, like scikeras's own
suite (``tools/scikeras_suite.py``). Run with ``python -m pytest -m extended``.
"""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skkeras_search._core import backend
from skkeras_search.scikeras.wrappers import KerasClassifier, KerasRegressor

# through the backend, which configures TensorFlow's threads first: the Adam below, built at
# collection, would otherwise start TensorFlow's runtime with all cores as intra-op threads
# for every test in the session (found by the resume test on an AMD machine without oneDNN)
keras = backend.keras()


def build(meta, compile_kwargs, hidden=16):
    """An MLP for whatever target the check gives: classes (softmax) or outputs (linear)."""
    inp = keras.Input(meta["X_shape_"][1:])
    h = keras.layers.Dense(hidden, activation="relu")(keras.layers.Flatten()(inp))
    if "n_classes_" not in meta:  # a regressor, whatever its targets look like
        out = keras.layers.Dense(meta["n_outputs_"])(h)
        compile_kwargs["loss"] = "mse"
    elif meta["target_type_"] in ("binary", "multiclass"):
        out = keras.layers.Dense(meta["n_classes_"], activation="softmax")(h)
        compile_kwargs["loss"] = "sparse_categorical_crossentropy"
    elif meta["target_type_"] == "multilabel-indicator":
        out = keras.layers.Dense(meta["n_classes_"], activation="sigmoid")(h)
        compile_kwargs["loss"] = "binary_crossentropy"
    else:
        raise ValueError(f"no model for target_type_={meta['target_type_']!r}")
    model = keras.Model(inp, out)
    model.compile(**compile_kwargs)
    return model


# No routed parameters: they are set from **kwargs, which check_no_attributes_set_in_init
# refuses (scikeras's own estimators fail it for that reason).
SETTINGS = dict(model=build, epochs=20, batch_size=1000,
                optimizer=keras.optimizers.Adam(learning_rate=0.05), verbose=0, random_state=0)

MINIBATCH = ("Keras's loss is a mean over each minibatch: a sample weight of k is not k "
             "repeated rows")
EXPECTED = {
    "check_sample_weight_equivalence_on_dense_data": MINIBATCH,
    "check_sample_weight_equivalence_on_sparse_data": MINIBATCH,
}
REGRESSOR_EXPECTED = {
    **EXPECTED,
    "check_regressor_multioutput": ("predictions are Keras's float32 (floatx), as scikeras "
                                    "returns them; the check wants float64"),
}


def _expected(estimator):
    return REGRESSOR_EXPECTED if isinstance(estimator, KerasRegressor) else EXPECTED


@pytest.mark.slow
@pytest.mark.extended
@parametrize_with_checks([KerasClassifier(**SETTINGS), KerasRegressor(**SETTINGS)],
                         expected_failed_checks=_expected)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
