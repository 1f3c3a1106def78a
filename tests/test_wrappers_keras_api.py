"""KerasClassifier / KerasRegressor: what a Keras or scikeras user expects of them.

Keras callbacks, ``partial_fit``, multi-output and multilabel targets, a
compiled ``model_`` with the trained optimizer state, and the error for a
``keras.Model`` instance given as ``model=``. Real Keras training on tiny data.
"""

import os
import re
import warnings

import numpy as np
import pytest
from scipy.special import expit
from sklearn.base import clone
from sklearn.datasets import make_classification, make_multilabel_classification, make_regression

from skkeras_search import KerasClassifier, KerasRegressor
from skkeras_search._core import backend as _backend

keras = _backend.keras()


# ------------------------------------------------------------- build functions
def build_clf(input_shape, n_classes, hidden_units=8):
    return keras.Sequential([keras.Input(input_shape),
                             keras.layers.Dense(hidden_units, activation="relu"),
                             keras.layers.Dense(n_classes, activation="softmax")])


def build_dropout(input_shape, n_classes, hidden_units=8):
    """Compiles itself, with a metric; dropout exercises the seed-generator state."""
    model = keras.Sequential([keras.Input(input_shape),
                              keras.layers.Dense(hidden_units, activation="relu"),
                              keras.layers.Dropout(0.2),
                              keras.layers.Dense(n_classes, activation="softmax")])
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def build_multilabel(input_shape, n_classes, hidden_units=8, logits=False):
    return keras.Sequential([keras.Input(input_shape),
                             keras.layers.Dense(hidden_units, activation="relu"),
                             keras.layers.Dense(n_classes, activation=None if logits else "sigmoid")])


def build_reg(input_shape, n_outputs, hidden_units=8):
    return keras.Sequential([keras.Input(input_shape),
                             keras.layers.Dense(hidden_units, activation="relu"),
                             keras.layers.Dense(n_outputs)])


class EpochRecorder(keras.callbacks.Callback):
    """Records the epochs it saw in its own list (a fresh copy per fit must start empty)."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append(epoch)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=60, n_features=5, random_state=0)
    return X.astype(np.float32), y


def _clf(**params):
    return KerasClassifier(build_clf, **{"epochs": 3, "batch_size": 16, "learning_rate": 0.01,
                                         "random_state": 0, **params})


# ------------------------------------------------------------------ callbacks
def test_early_stopping_callback_restores_the_best_weights_and_keeps_them(data):
    X, y = data
    # min_delta=10: epoch 1 never improves on epoch 0, so training stops after epoch 1
    # and EarlyStopping puts back the weights of epoch 0 (the end of the first epoch).
    stop = keras.callbacks.EarlyStopping(monitor="loss", min_delta=10, patience=0,
                                         restore_best_weights=True)
    clf = _clf(epochs=5, callbacks=[stop]).fit(X, y)
    assert clf.n_iter_ == 2 and len(clf.history_["loss"]) == 2
    one_epoch = _clf(epochs=1).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), one_epoch.predict_proba(X))
    np.testing.assert_array_equal(np.asarray(clf.model_(X)), np.asarray(one_epoch.model_(X)))
    # the user's object was never given to Keras: no model, no best weights
    assert stop.best_weights is None and getattr(stop, "_model", None) is None
    again = clone(clf).fit(X, y)  # clone deep-copies it too; the same fit again
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))


def test_callback_instances_are_copied_and_classes_instantiated_per_fit(data):
    X, y = data
    recorder = EpochRecorder()
    clf = _clf(callbacks=[recorder]).fit(X, y)
    clf.fit(X, y)
    assert recorder.seen == []  # each fit had its own copy
    plain = _clf().fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), plain.predict_proba(X))
    by_class = _clf(callbacks=[EpochRecorder]).fit(X, y)
    np.testing.assert_array_equal(by_class.predict_proba(X), plain.predict_proba(X))
    with pytest.raises(TypeError, match=re.escape("callbacks[1]='stop'")):
        _clf(callbacks=[recorder, "stop"]).fit(X, y)


def test_a_callback_changing_the_learning_rate_does_not_leak_into_the_next_fit(data):
    X, y = data
    before = _clf().fit(X, y).predict_proba(X)
    frozen = _clf(callbacks=[keras.callbacks.LearningRateScheduler(lambda epoch, lr: 0.0)])
    frozen.fit(X, y)
    assert frozen.history_["learning_rate"] == [0.0, 0.0, 0.0]
    assert not np.array_equal(frozen.predict_proba(X), before)
    # the pooled model is reused: the next fit starts from its own optimizer state
    np.testing.assert_array_equal(_clf().fit(X, y).predict_proba(X), before)


def test_a_fit_with_callbacks_is_not_cached(data, tmp_path):
    X, y = data
    clf = _clf(cache_dir=str(tmp_path), callbacks=[keras.callbacks.TerminateOnNaN()])
    with pytest.warns(UserWarning, match=re.escape("is not used because callbacks= is set")):
        clf.fit(X, y)
    assert os.listdir(tmp_path) == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _clf(cache_dir=str(tmp_path)).fit(X, y)  # without callbacks: cached, no warning
    assert os.listdir(tmp_path) != []


# ---------------------------------------------------------------- partial_fit
def test_partial_fit_continues_fit_bit_for_bit(data):
    X, y = data
    full = KerasClassifier(build_dropout, epochs=3, batch_size=16, random_state=0).fit(X, y)
    stepwise = KerasClassifier(build_dropout, epochs=1, batch_size=16, random_state=0).fit(X, y)
    assert stepwise.partial_fit(X, y) is stepwise
    stepwise.partial_fit(X, y, classes=[0, 1])
    np.testing.assert_array_equal(stepwise.predict_proba(X), full.predict_proba(X))
    assert stepwise.history_ == full.history_ and stepwise.n_iter_ == 3
    assert stepwise.n_epochs_trained_ == 1


def test_partial_fit_from_scratch_equals_fit_and_needs_classes_first(data):
    X, y = data
    labels = np.array(["no", "yes"])[y]
    clf = _clf()
    with pytest.raises(ValueError, match=re.escape("classes=None on the first call")):
        clf.partial_fit(X, labels)
    assert not hasattr(clf, "n_features_in_")
    for _ in range(3):
        clf.partial_fit(X, labels, classes=["yes", "no"])
    full = _clf().fit(X, labels)
    np.testing.assert_array_equal(clf.predict_proba(X), full.predict_proba(X))
    assert clf.classes_.tolist() == ["no", "yes"]
    with pytest.raises(ValueError, match=re.escape("y has labels ['maybe'] not in classes=")):
        clf.partial_fit(X[:3], ["maybe", "no", "yes"])
    with pytest.raises(ValueError, match=re.escape("classes=['a', 'b'] differs from classes_")):
        clf.partial_fit(X, labels, classes=["a", "b"])
    with pytest.raises(ValueError, match="partial_fit continues the fitted model"):
        clf.set_params(hidden_units=4).partial_fit(X, labels)


def test_regressor_partial_fit_continues_fit_with_two_outputs():
    X, y = make_regression(n_samples=40, n_features=4, n_targets=2, random_state=0)
    y = (y / y.std(axis=0)).astype(np.float32)
    params = dict(batch_size=16, learning_rate=0.01, random_state=0)
    full = KerasRegressor(build_reg, epochs=3, **params).fit(X, y)
    stepwise = KerasRegressor(build_reg, **params)
    for _ in range(3):
        stepwise.partial_fit(X, y)
    np.testing.assert_array_equal(stepwise.predict(X), full.predict(X))
    assert full.predict(X).shape == (40, 2) and full.n_outputs_ == 2
    assert full.score(X, y) > -1.0
    with pytest.raises(ValueError, match="partial_fit continues the fitted model"):
        stepwise.partial_fit(X, np.c_[y, y])  # four target columns


def test_partial_fit_neither_reads_nor_writes_the_fit_cache(data, tmp_path):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nor warns that random_state=None keeps it unused
        _clf(random_state=None, cache_dir=str(tmp_path)).partial_fit(X, y, classes=[0, 1])
        clf = _clf(cache_dir=str(tmp_path))
        clf.partial_fit(X, y, classes=[0, 1]).partial_fit(X, y)
    assert os.listdir(tmp_path) == [] and clf.n_iter_ == 2


# ------------------------------------------------------------- multilabel y
def test_multilabel_indicator_targets():
    X, Y = make_multilabel_classification(n_samples=60, n_features=5, n_classes=3,
                                          random_state=0)
    clf = KerasClassifier(build_multilabel, epochs=3, batch_size=16, learning_rate=0.01,
                          random_state=0).fit(X, Y)
    proba = clf.predict_proba(X)
    assert proba.shape == (60, 3) and np.all((proba >= 0) & (proba <= 1))
    assert not np.allclose(proba.sum(axis=1), 1)  # one probability per label
    pred = clf.predict(X)
    assert pred.shape == Y.shape and pred.dtype == Y.dtype
    np.testing.assert_array_equal(pred, (proba > 0.5).astype(Y.dtype))
    assert clf.classes_.tolist() == [0, 1, 2]
    assert clf.model_.loss == "binary_crossentropy"
    # logits (a linear last layer): a sigmoid per label, not softmax over them
    logits = clf.set_params(logits=True).fit(X, Y)
    np.testing.assert_allclose(logits.predict_proba(X),
                               expit(np.asarray(logits.model_(X.astype(np.float32)),
                                                dtype=np.float64)), rtol=1e-6)


def test_unsupported_two_dimensional_targets_are_refused_by_name(data):
    X, y = data
    with pytest.raises(ValueError, match=r"y of shape \(60, 2\) is 'multiclass-multioutput'"
                       r".*skkeras_search\.scikeras\.wrappers\.KerasClassifier"):
        _clf().fit(X, np.c_[y, 2 * y])
    Y = np.c_[y, 1 - y, y]
    with pytest.raises(ValueError, match="multilabel indicator matrix with 3 columns.*sigmoid"):
        KerasClassifier(lambda input_shape, n_classes: build_clf(input_shape, 2)).fit(X, Y)
    with pytest.raises(ValueError, match=re.escape("class_weight={0: 2.0} is not supported")):
        KerasClassifier(build_multilabel, class_weight={0: 2.0}).fit(X, Y)


# ------------------------------------------------------------------- model_
def test_model_is_compiled_with_the_trained_optimizer_state(data):
    X, y = data
    clf = _clf().fit(X, y)
    model = clf.model_
    assert model.compiled and int(model.optimizer.iterations) == 3 * 4  # epochs * batches
    np.testing.assert_allclose(model.predict(X, verbose=0), clf.predict_proba(X), rtol=1e-6)
    loss = model.evaluate(X, y, verbose=0)
    assert np.isfinite(loss) and loss < 1.0
    # its own model: another fit of the same architecture (the pooled model) changes nothing
    weights = [w.copy() for w in model.get_weights()]
    _clf(random_state=1).fit(X, y)
    for a, b in zip(weights, clf.model_.get_weights()):
        np.testing.assert_array_equal(a, b)
    compiled = KerasClassifier(build_dropout, epochs=2, batch_size=30, random_state=0).fit(X, y)
    assert int(compiled.model_.optimizer.iterations) == 4
    loss, accuracy = compiled.model_.evaluate(X, y, verbose=0)
    assert 0 <= accuracy <= 1


# ------------------------------------------------------- a keras.Model instance
@pytest.mark.parametrize("cls", [KerasClassifier, KerasRegressor])
def test_a_model_instance_is_refused_with_both_fixes(cls, data):
    model = build_reg((5,), 1)
    with pytest.raises(TypeError) as info:
        cls(model)
    message = str(info.value)
    assert message.startswith("model=Sequential instance")
    assert f"{cls.__name__}(build)" in message and "def build(input_shape, n_" in message
    assert f"skkeras_search.scikeras.wrappers.{cls.__name__}(model=<the instance>)" in message
    with pytest.raises(TypeError, match=re.escape("model=Sequential instance")):
        cls(model=model)
    est = KerasClassifier(build_clf) if cls is KerasClassifier else KerasRegressor(build_reg)
    with pytest.raises(TypeError, match=re.escape("model=Sequential instance")):
        est.set_params(model=model).fit(*data)


def test_a_model_with_several_outputs_is_refused_with_the_fix():
    keras = _backend.keras()

    def two_heads(input_shape, n_outputs):
        inp = keras.Input(input_shape)
        return keras.Model(inp, [keras.layers.Dense(1)(inp), keras.layers.Dense(1)(inp)])

    X = np.random.default_rng(0).normal(size=(20, 3)).astype("float32")
    with pytest.raises(ValueError, match="2 outputs.*skkeras_search.scikeras"):
        KerasRegressor(two_heads, epochs=1, random_state=0).fit(X, X[:, 0])
