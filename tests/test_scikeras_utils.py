"""skkeras_search.scikeras.utils: loss/metric names, target transformers, seeding (issue 17).

scikeras 0.13's own tests of these (tests/test_utils*.py, test_random_state.py)
run through tools/scikeras_suite.py; these add what they leave open: dtypes,
shapes, round trips for arbitrary label sets, the restoring of every global
random state.
"""

import os
import random
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError

from skkeras_search._core import backend
from skkeras_search.scikeras.utils import loss_name, metric_name
from skkeras_search.scikeras.utils.random_state import (
    tensorflow_random_state,
    tf_disable_op_determinism,
    tf_enable_op_determinism,
    tf_get_seed,
    tf_set_seed,
)
from skkeras_search.scikeras.utils.transformers import (
    ClassifierLabelEncoder,
    RegressorTargetEncoder,
    TargetReshaper,
)

keras = backend.keras()
tf = backend.tensorflow()
FLOATX = np.dtype(keras.backend.floatx())


class CustomLoss(keras.losses.Loss):
    def call(self, y_true, y_pred):
        return y_pred


class CustomMetric(keras.metrics.AUC):
    pass


def test_importing_the_utils_imports_no_tensorflow():
    code = (
        "import sys\n"
        "import skkeras_search.scikeras.utils.transformers\n"
        "import skkeras_search.scikeras.utils.random_state\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- loss_name / metric_name ------------------------------------------------------------------


@pytest.mark.parametrize("loss, expected", [
    ("mse", "mean_squared_error"),
    ("mae", "mean_absolute_error"),
    ("bce", "binary_crossentropy"),
    ("kld", "kl_divergence"),
    ("KLDivergence", "kl_divergence"),
    ("MeanSquaredError", "mean_squared_error"),
    ("sparse_categorical_crossentropy", "sparse_categorical_crossentropy"),
    (keras.losses.categorical_crossentropy, "categorical_crossentropy"),
    (keras.losses.BinaryCrossentropy, "binary_crossentropy"),
    (keras.losses.BinaryCrossentropy(name="renamed"), "binary_crossentropy"),
    (CustomLoss, "custom_loss"),
    (CustomLoss(name="x"), "custom_loss"),
])
def test_loss_name(loss, expected):
    assert loss_name(loss) == expected


def my_metric(y_true, y_pred):
    return y_pred


@pytest.mark.parametrize("metric, expected", [
    ("mse", "mean_squared_error"),
    ("accuracy", "accuracy"),
    ("auc", "auc"),
    ("AUC", "auc"),
    ("BinaryAccuracy", "binary_accuracy"),
    (keras.metrics.binary_accuracy, "binary_accuracy"),
    (keras.metrics.AUC(name="renamed"), "auc"),
    (keras.metrics.MeanMetricWrapper(keras.metrics.binary_accuracy), "binary_accuracy"),
    (CustomMetric, "custom_metric"),
    (my_metric, "my_metric"),
])
def test_metric_name(metric, expected):
    assert metric_name(metric) == expected


@pytest.mark.parametrize("func, kind", [(loss_name, "loss"), (metric_name, "metric")])
@pytest.mark.parametrize("bad", [1, None, [], ["mse"], object, object()])
def test_names_reject_other_types(func, kind, bad):
    with pytest.raises(TypeError, match=f"``{kind}`` must be a"):
        func(bad)


def test_a_loss_class_is_not_a_metric_class():
    with pytest.raises(TypeError, match="``metric`` must be a"):
        metric_name(keras.losses.MeanSquaredError)
    with pytest.raises(TypeError, match="``loss`` must be a"):
        loss_name(keras.metrics.AUC)


@pytest.mark.parametrize("func, kind, name", [
    (loss_name, "loss", "accuracy"), (loss_name, "loss", "nope"),
    (metric_name, "metric", "acc"), (metric_name, "metric", "val_loss"),
])
def test_names_reject_unknown_strings(func, kind, name):
    with pytest.raises(ValueError, match=f"Could not interpret {kind} identifier: '{name}'"):
        func(name)


# --- TargetReshaper ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(4,), (4, 1), (4, 3), (4, 2, 1)])
def test_target_reshaper_round_trip(shape):
    y = np.arange(np.prod(shape)).reshape(shape)
    reshaper = TargetReshaper().fit(y)
    y_t = reshaper.transform(y)
    assert y_t.shape == ((4, 1) if len(shape) == 1 else shape)
    np.testing.assert_array_equal(reshaper.inverse_transform(y_t), y)
    assert reshaper.ndim_ == len(shape)


def test_target_reshaper_not_fitted():
    with pytest.raises(NotFittedError, match="is not initialized"):
        TargetReshaper().inverse_transform(np.zeros((2, 1)))


# --- ClassifierLabelEncoder -------------------------------------------------------------------

LABEL_SETS = {
    "int64": st.lists(st.integers(-1000, 1000), min_size=1, max_size=6, unique=True),
    "int32": st.lists(st.integers(-1000, 1000), min_size=1, max_size=6, unique=True),
    "uint8": st.lists(st.integers(0, 255), min_size=1, max_size=6, unique=True),
    "float64": st.lists(st.integers(-50, 50).map(float), min_size=1, max_size=6, unique=True),
    "float32": st.lists(st.integers(-50, 50).map(float), min_size=1, max_size=6, unique=True),
    "str": st.lists(st.text("abcxyz", min_size=1, max_size=4), min_size=1, max_size=6, unique=True),
    "object": st.lists(st.text("abcxyz", min_size=1, max_size=4), min_size=1, max_size=6,
                       unique=True),
    "bool": st.lists(st.booleans(), min_size=1, max_size=2, unique=True),
}


@st.composite
def classification_targets(draw):
    dtype = draw(st.sampled_from(sorted(LABEL_SETS)))
    labels = draw(LABEL_SETS[dtype])
    codes = draw(st.lists(st.integers(0, len(labels) - 1), min_size=1, max_size=20))
    y = np.array([labels[i] for i in codes], dtype=None if dtype == "str" else dtype)
    if draw(st.booleans()):
        y = y.reshape(-1, 1)
    return y


@given(y=classification_targets(), loss=st.sampled_from(
    [None, "categorical_crossentropy", "sparse_categorical_crossentropy", "binary_crossentropy"]))
def test_classifier_label_encoder_round_trip(y, loss):
    encoder = ClassifierLabelEncoder(loss=loss).fit(y)
    classes = np.unique(y)
    np.testing.assert_array_equal(encoder.classes_, classes)
    assert encoder.n_classes_ == classes.size
    y_t = encoder.transform(y)
    assert y_t.dtype == FLOATX
    one_hot = loss == "categorical_crossentropy" and classes.size > 2
    assert y_t.shape == (len(y), classes.size if one_hot else 1)
    # the model's ideal output: probability 1 on the true class
    proba = y_t if one_hot or classes.size <= 2 else np.eye(classes.size)[y_t[:, 0].astype(int)]
    y_back = encoder.inverse_transform(proba)
    assert y_back.dtype == y.dtype and y_back.shape == y.shape
    np.testing.assert_array_equal(y_back, y)
    assert encoder.inverse_transform(proba, return_proba=True).shape == (len(y), max(classes.size, 2))


@pytest.mark.parametrize("loss", [
    "categorical_crossentropy", "CategoricalCrossentropy", keras.losses.CategoricalCrossentropy,
    keras.losses.CategoricalCrossentropy(), keras.losses.categorical_crossentropy,
])
def test_categorical_crossentropy_one_hot_encodes_multiclass_only(loss):
    y = np.array(["b", "a", "c", "a"])
    y_t = ClassifierLabelEncoder(loss=loss).fit(y).transform(y)
    np.testing.assert_array_equal(y_t, np.eye(3)[[1, 0, 2, 0]])
    # binary targets keep one column (one sigmoid unit), as in scikeras
    assert ClassifierLabelEncoder(loss=loss).fit_transform(np.array([3, 5, 3])).shape == (3, 1)


@pytest.mark.parametrize("loss", [None, "mse", ["categorical_crossentropy"], "no_such_loss"])
def test_other_losses_give_ordinal_codes(loss):
    y_t = ClassifierLabelEncoder(loss=loss).fit_transform(np.array([2, 0, 1]))
    np.testing.assert_array_equal(y_t, [[2.0], [0.0], [1.0]])


def test_binary_probabilities_and_threshold():
    encoder = ClassifierLabelEncoder().fit(np.array(["no", "yes", "no"]))
    p = np.array([0.2, 0.5, 0.51])
    np.testing.assert_array_equal(encoder.inverse_transform(p), ["no", "no", "yes"])
    np.testing.assert_allclose(encoder.inverse_transform(p[:, None], return_proba=True),
                               np.column_stack([1 - p, p]))
    two = np.array([[0.7, 0.3], [0.1, 0.9]])
    np.testing.assert_array_equal(encoder.inverse_transform(two, return_proba=True), two)
    np.testing.assert_array_equal(encoder.inverse_transform(two), ["no", "yes"])


def test_one_class_seen():
    encoder = ClassifierLabelEncoder().fit(np.array([7, 7]))
    assert encoder.n_classes_ == 1
    np.testing.assert_array_equal(encoder.inverse_transform(np.array([[0.2], [0.9]])), [7, 7])


def test_one_hot_target():
    y = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 1]], dtype="uint8")
    encoder = ClassifierLabelEncoder().fit(y)
    assert encoder._target_type == "multiclass-onehot"
    assert encoder.n_classes_ == 3
    np.testing.assert_array_equal(encoder.classes_, [0, 1, 2])
    y_t = encoder.transform(y)
    assert y_t.dtype == FLOATX
    np.testing.assert_array_equal(y_t, y)
    y_pred = encoder.inverse_transform(np.array([[0.1, 0.8, 0.1], [0.34, 0.33, 0.33], [0, 0.4, 0.6]]))
    np.testing.assert_array_equal(y_pred, y)
    assert y_pred.dtype == int


def test_multilabel_target():
    y = np.array([[1, 1, 0], [0, 1, 1], [0, 0, 0]], dtype="float32")
    encoder = ClassifierLabelEncoder().fit(y)
    assert encoder._target_type == "multilabel-indicator"
    assert encoder.transform(y) is y  # as it is, dtype included
    y_pred = encoder.inverse_transform(np.array([[0.51, 0.9, 0.5], [0.1, 0.6, 0.7], [0, 0, 0.2]]))
    np.testing.assert_array_equal(y_pred, y)
    assert y_pred.dtype == int
    assert encoder.get_metadata()["n_classes_"] == 3


def test_multiclass_multioutput_target():
    y = np.array([[1, 2], [2, 3], [3, 1]])
    encoder = ClassifierLabelEncoder().fit(y)
    assert encoder.classes_ is None and encoder.n_classes_ is None
    assert encoder.transform(y) is y
    proba = np.random.default_rng(0).random((3, 6))
    assert encoder.inverse_transform(proba, return_proba=True) is proba
    with pytest.raises(NotImplementedError, match="Class-predictions are not clearly defined"):
        encoder.inverse_transform(proba)


def test_given_categories():
    encoder = ClassifierLabelEncoder(categories=[[1, 2, 3]]).fit(np.array([1, 2], dtype="int32"))
    assert encoder._target_type == "multiclass" and encoder.n_classes_ == 3
    np.testing.assert_array_equal(encoder.transform(np.array([3, 1])), [[2.0], [0.0]])
    y_pred = encoder.inverse_transform(np.eye(3)[[2, 0]])
    np.testing.assert_array_equal(y_pred, [3, 1])
    assert y_pred.dtype == np.int32  # y's dtype, not the categories'
    strings = ClassifierLabelEncoder(categories=[["a", "bbb"]]).fit(np.array(["a", "a"]))
    assert strings._target_type == "binary"
    np.testing.assert_array_equal(strings.inverse_transform(np.array([0.1, 0.9])), ["a", "bbb"])


def test_unknown_class_and_label_type():
    encoder = ClassifierLabelEncoder().fit(np.array([1, 3]))
    with pytest.raises(ValueError, match="Found unknown categories"):
        encoder.transform(np.array([10, 1]))
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        ClassifierLabelEncoder().fit(np.array([0.5, 1.5, 2.0]))
    with pytest.raises(NotFittedError):
        ClassifierLabelEncoder().transform(np.array([1]))


def test_get_metadata_and_params():
    encoder = ClassifierLabelEncoder(loss="mse").fit(np.array(["x", "y", "z"]))
    meta = encoder.get_metadata()
    assert set(meta) == {"classes_", "n_classes_", "n_outputs_", "n_outputs_expected_"}
    assert meta["n_classes_"] == 3 and meta["n_outputs_"] == 1 and meta["n_outputs_expected_"] == 1
    assert encoder.get_params() == {"loss": "mse", "categories": "auto"}


def test_subclass_that_fits_itself_gets_metadata():
    """scikeras's multi-output example sets the attributes itself and uses the base's get_metadata."""

    class Split(ClassifierLabelEncoder):
        def fit(self, y):
            self.n_outputs_ = self.n_outputs_expected_ = y.shape[1]
            self.classes_ = [np.array([0, 1])] * y.shape[1]
            self.n_classes_ = [2] * y.shape[1]
            return self

    meta = Split().fit(np.zeros((3, 2))).get_metadata()
    assert meta["n_outputs_expected_"] == 2 and meta["n_classes_"] == [2, 2]


# --- RegressorTargetEncoder -------------------------------------------------------------------


@given(n_outputs=st.integers(0, 3), dtype=st.sampled_from(["float32", "float64", "int64", "uint8"]))
def test_regressor_target_encoder_round_trip(n_outputs, dtype):
    shape = (5,) if n_outputs == 0 else (5, n_outputs)
    y = np.arange(np.prod(shape)).reshape(shape).astype(dtype)
    encoder = RegressorTargetEncoder().fit(y)
    assert encoder.get_metadata() == {"n_outputs_": max(n_outputs, 1), "n_outputs_expected_": 1}
    assert encoder.transform(y) is y
    y_pred = y.reshape(5, -1).astype(FLOATX)  # a model's output: 2-D, Keras's float dtype
    y_back = encoder.inverse_transform(y_pred)
    assert y_back.shape == shape and y_back.dtype == FLOATX
    np.testing.assert_array_equal(y_back, y)


def test_regressor_target_encoder_checks_outputs():
    encoder = RegressorTargetEncoder().fit(np.zeros(4))
    with pytest.raises(ValueError, match="Detected ``y`` to have 2 outputs"):
        encoder.transform(np.zeros((4, 2)))
    assert encoder.inverse_transform(np.zeros((4, 1), dtype="float64")).dtype == np.float64
    assert encoder.inverse_transform(np.zeros((4, 1), dtype="int32")).dtype == FLOATX


# --- tensorflow_random_state ------------------------------------------------------------------


def tf_op_determinism_enabled():
    from tensorflow.python.framework import config

    return config.is_op_determinism_enabled()


def _draws():
    return (float(tf.random.uniform([1])[0]), float(keras.random.uniform((1,))[0]),
            float(np.random.random_sample()), random.random())


def test_random_state_seeds_everything_inside():
    with tensorflow_random_state(42):
        first = _draws()
        assert tf_get_seed() == 42
        assert tf_op_determinism_enabled()
        assert os.environ["TF_DETERMINISTIC_OPS"] == "1"
    with tensorflow_random_state(42):
        assert _draws() == first
    with tensorflow_random_state(43):
        assert _draws() != first


def test_random_state_restores_everything_after():
    tf_set_seed(None)
    np_state, py_state = np.random.get_state(), random.getstate()
    expected_np, expected_py = np.random.random_sample(), random.random()
    np.random.set_state(np_state)
    random.setstate(py_state)
    with pytest.raises(RuntimeError):
        with tensorflow_random_state(0):
            inside = _draws()
            raise RuntimeError("left by an exception")
    assert np.random.random_sample() == expected_np and random.random() == expected_py
    assert tf_get_seed() is None and not tf_op_determinism_enabled()
    assert "TF_DETERMINISTIC_OPS" not in os.environ
    outside = [float(tf.random.uniform([1])[0]) for _ in range(3)]
    assert len(set(outside)) == 3 and inside[0] not in outside


def test_random_state_continues_a_global_seed_sequence():
    tf_set_seed(5)
    straight = [float(tf.random.uniform([1])[0]) for _ in range(3)]
    tf_set_seed(5)
    interrupted = [float(tf.random.uniform([1])[0])]
    with tensorflow_random_state(1):
        tf.random.uniform([1])
    interrupted += [float(tf.random.uniform([1])[0]) for _ in range(2)]
    tf_set_seed(None)
    assert interrupted == straight


def test_op_determinism_helpers_and_seed_checks():
    tf_enable_op_determinism()
    assert tf_op_determinism_enabled()
    with tensorflow_random_state(3):
        pass
    assert tf_op_determinism_enabled()  # restored as it was: on
    tf_disable_op_determinism()
    assert not tf_op_determinism_enabled()
    for bad, error in [("1", TypeError), (1.0, TypeError), (True, TypeError), (-1, ValueError),
                       (2**32, ValueError)]:
        with pytest.raises(error):
            with tensorflow_random_state(bad):
                pass
    with tensorflow_random_state(np.int64(7)):
        assert tf_get_seed() == 7
