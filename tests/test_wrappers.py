"""KerasClassifier / KerasRegressor: a user's own Keras build function as an estimator."""

import copy
import json
import os
import pickle
import random
import re
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import pytest
from scipy.stats import loguniform
from sklearn.base import clone
from sklearn.datasets import make_regression
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import RandomizedSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_param_validation, parametrize_with_checks

from skkeras_search import (
    HyperbandSearchCV,
    KerasClassifier,
    KerasRegressor,
    TPESearchCV,
    TrainingDivergedError,
)
from skkeras_search._core import backend as _backend
from skkeras_search.wrappers import _keras_fit

HERE = os.path.dirname(os.path.abspath(__file__))


# ------------------------------------------------------------- build functions
# Module level, so that estimators using them pickle (by reference).
def build_clf(input_shape, n_classes, hidden_units=16):
    keras = _backend.keras()
    return keras.Sequential([keras.Input(input_shape),
                             keras.layers.Dense(hidden_units, activation="relu"),
                             keras.layers.Dense(n_classes, activation="softmax")])


def build_reg(input_shape, n_outputs, hidden_units=16):
    keras = _backend.keras()
    return keras.Sequential([keras.Input(input_shape),
                             keras.layers.Dense(hidden_units, activation="relu"),
                             keras.layers.Dense(n_outputs)])


def build_compiled(input_shape, n_classes, hidden_units=8, dropout=0.1, learning_rate=1e-2):
    """Compiles itself, with a searchable learning rate; dropout exercises seed state."""
    keras = _backend.keras()
    model = keras.Sequential([keras.Input(input_shape),
                              keras.layers.Dense(hidden_units, activation="relu"),
                              keras.layers.Dropout(dropout),
                              keras.layers.Dense(n_classes, activation="softmax")])
    model.compile(keras.optimizers.Adam(learning_rate), "sparse_categorical_crossentropy")
    return model


def build_sigmoid(input_shape, hidden_units=8):
    keras = _backend.keras()
    return keras.Sequential([keras.Input(input_shape),
                             keras.layers.Dense(hidden_units, activation="relu"),
                             keras.layers.Dense(1, activation="sigmoid")])


def build_cnn(input_shape, n_classes, filters=4, learning_rate=1e-2):
    keras = _backend.keras()
    model = keras.Sequential([
        keras.Input(input_shape),
        keras.layers.Conv2D(filters, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(n_classes, activation="softmax"),
    ])
    model.compile(keras.optimizers.Adam(learning_rate), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


# ------------------------------------------------------- scikit-learn's checks
# 15 epochs: check_classifiers_train's accuracy (> 0.83) and check_regressors_train's score still
# have to be earned by training (10 epochs is not enough for every check).
SMALL = [
    KerasClassifier(build_clf, epochs=15, learning_rate=0.01, random_state=0),
    KerasRegressor(build_reg, epochs=15, learning_rate=0.01, random_state=0),
]
EXPECTED_FAILURES = {
    # Keras's Model.fit trains by minibatches in a seeded per-epoch order, and
    # its loss divides sum(w * loss) by the batch size: a weight of 2 is not the
    # same as a repeated row (other batches, other steps). Known gap.
    "check_sample_weight_equivalence_on_dense_data":
        "minibatch Model.fit: a sample weight of k is not k repeated rows",
}


@parametrize_with_checks(SMALL, expected_failed_checks=lambda est: EXPECTED_FAILURES)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", SMALL, ids=lambda e: type(e).__name__)
def test_param_validation(estimator):
    check_param_validation(type(estimator).__name__, estimator)


# ------------------------------------------------------------------ parameters
def test_build_function_arguments_are_parameters():
    clf = KerasClassifier(build_compiled, hidden_units=4, epochs=2)
    params = clf.get_params()
    assert params["hidden_units"] == 4 and params["dropout"] == 0.1
    assert params["learning_rate"] == 1e-2  # the build function's own default
    assert params["model"] is build_compiled
    assert "input_shape" not in params and "n_classes" not in params
    assert not any("__" in k for k in params)
    assert clf.set_params(dropout=0.3).dropout == 0.3
    assert clone(clf).get_params() == clf.get_params()
    assert type(KerasClassifier(build_compiled)) is type(clf)  # one class per function
    assert repr(clf) == "KerasClassifier(dropout=0.3, epochs=2, hidden_units=4)"
    with pytest.raises(TypeError, match="unexpected keyword argument 'filters'"):
        KerasClassifier(build_compiled, filters=3)


def test_bad_build_functions_are_refused_by_name():
    def clash(input_shape, n_classes, epochs=3):
        pass

    def no_default(input_shape, n_classes, units):
        pass

    with pytest.raises(TypeError, match="parameter 'epochs'.*Rename it"):
        KerasClassifier(clash)
    with pytest.raises(TypeError, match=re.escape("parameter 'units' has no default")):
        KerasClassifier(no_default)
    with pytest.raises(TypeError, match="needs model="):
        KerasClassifier()
    with pytest.raises(TypeError, match="not a keras.Model"):
        KerasClassifier(lambda input_shape, n_classes: None).fit([[0.0], [1.0]], [0, 1])


def test_set_params_model_to_another_function_is_refused(tiny):
    X, y = tiny
    clf = KerasClassifier(build_clf, epochs=1).set_params(model=build_compiled)
    with pytest.raises(ValueError, match="differs from the build function"):
        clf.fit(X, y)


def test_wrong_output_width_names_the_fix(tiny):
    X, y = tiny
    with pytest.raises(ValueError, match=re.escape("returns 1 outputs per sample, but y has 3")):
        KerasClassifier(build_sigmoid, epochs=1).fit(X, y)


# --------------------------------------------------------------------- fitting
def test_string_labels_and_class_order(tiny):
    X, y = tiny
    labels = np.array(["zebra", "ant", "moose"])[y]
    clf = KerasClassifier(build_clf, epochs=20, learning_rate=0.02, random_state=0).fit(X, labels)
    assert clf.classes_.tolist() == ["ant", "moose", "zebra"]
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert set(clf.predict(X)) <= set(labels)
    assert clf.score(X, labels) > 0.6


@pytest.mark.parametrize("build", [build_clf, build_sigmoid])
def test_binary_predict_proba_has_two_columns(tiny, build):
    X, y = tiny
    yb = np.where(y == 0, "no", "yes")
    clf = KerasClassifier(build, epochs=5, random_state=0).fit(X, yb)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert (clf.predict(X) == clf.classes_[proba.argmax(axis=1)]).all()


def test_regressor_shapes_and_r2():
    X, y = make_regression(n_samples=80, n_features=4, noise=1.0, random_state=0)
    y = y / y.std()
    reg = KerasRegressor(build_reg, epochs=40, learning_rate=0.02, random_state=0).fit(X, y)
    assert reg.predict(X).shape == (80,) and reg.score(X, y) > 0.8
    Y = np.column_stack([y, -y])
    reg2 = KerasRegressor(build_reg, epochs=2, random_state=0).fit(X, Y)
    assert reg2.predict(X).shape == (80, 2) and reg2.n_outputs_ == 2


def test_uncompiled_model_gets_optimizer_and_learning_rate(tiny):
    X, y = tiny
    slow = KerasClassifier(build_clf, epochs=3, learning_rate=1e-6, random_state=0).fit(X, y)
    fast = KerasClassifier(build_clf, epochs=3, learning_rate=1e-1, random_state=0).fit(X, y)
    assert slow.history_["loss"][-1] > fast.history_["loss"][-1]
    sgd = KerasClassifier(build_clf, epochs=1, optimizer="sgd", random_state=0).fit(X, y)
    assert sgd.history_["loss"] != slow.history_["loss"]


def test_sample_weight(tiny):
    X, y = tiny
    base = KerasClassifier(build_clf, epochs=10, learning_rate=0.02, random_state=0)
    plain = clone(base).fit(X, y).predict_proba(X)
    ones = clone(base).fit(X, y, sample_weight=np.ones(len(y))).predict_proba(X)
    np.testing.assert_array_equal(plain, ones)
    w = np.where(y == 0, 0.0, 1.0)
    no_zero = clone(base).fit(X, y, sample_weight=w).predict_proba(X)
    assert no_zero[:, 0].mean() < plain[:, 0].mean()


def test_class_weight(tiny):
    X, y = tiny
    base = KerasClassifier(build_clf, epochs=10, learning_rate=0.02, random_state=0)
    plain = clone(base).fit(X, y).predict_proba(X)
    heavy = clone(base).set_params(class_weight={0: 20.0}).fit(X, y).predict_proba(X)
    assert heavy[:, 0].mean() > plain[:, 0].mean()
    clone(base).set_params(class_weight="balanced").fit(X, y)
    with pytest.raises(ValueError, match="class_weight has labels"):
        clone(base).set_params(class_weight={"nope": 2.0}).fit(X, y)


def test_early_stopping(tiny):
    X, y = tiny
    # tol=10: no epoch improves the validation loss that much, so training
    # stops after n_iter_no_change epochs without improvement.
    clf = KerasClassifier(build_clf, epochs=50, early_stopping=True, n_iter_no_change=2,
                          tol=10.0, random_state=0).fit(X, y)
    assert clf.n_iter_ == 3
    assert len(clf.history_["val_loss"]) == 3
    with pytest.raises(ValueError, match=re.escape("validation_fraction=0.99")):
        KerasClassifier(build_clf, early_stopping=True, validation_fraction=0.99).fit(X, y)


def test_warm_start_continues_bit_identically(tiny):
    X, y = tiny
    warm = KerasClassifier(build_compiled, epochs=2, warm_start=True, random_state=3)
    warm.fit(X, y).fit(X, y)
    cold = KerasClassifier(build_compiled, epochs=4, random_state=3).fit(X, y)
    assert warm.n_iter_ == 4 and len(warm.history_["loss"]) == 4
    np.testing.assert_array_equal(warm.predict_proba(X), cold.predict_proba(X))
    with pytest.raises(ValueError, match="warm_start=True"):
        warm.set_params(hidden_units=3).fit(X, y)


# ---------------------------------------------------------------- determinism
def test_same_random_state_same_predictions_and_global_rng_untouched(tiny):
    X, y = tiny
    np.random.seed(123)
    random.seed(123)
    np_state, py_state = np.random.get_state()[1].copy(), random.getstate()
    a = KerasClassifier(build_compiled, epochs=3, random_state=5).fit(X, y).predict_proba(X)
    KerasClassifier(build_compiled, epochs=3, random_state=6).fit(X, y)  # another seed between
    b = KerasClassifier(build_compiled, epochs=3, random_state=5).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    c = KerasClassifier(build_compiled, epochs=3, random_state=6).fit(X, y).predict_proba(X)
    assert not np.array_equal(a, c)
    assert np.array_equal(np.random.get_state()[1], np_state) and random.getstate() == py_state


# One fresh process checks what needs one: the package's import alone, a seeded fit (compared
# with this process's), and the functional models' pickles (loaded after other ops were named).
_FRESH = """
import json, sys
import skkeras_search
from skkeras_search import KerasClassifier
results = {"import": ["tensorflow" in sys.modules, "keras" in sys.modules]}
import pickle, traceback
import numpy as np
from sklearn.datasets import make_classification
spec = json.loads(sys.argv[1])
sys.path.insert(0, spec["here"])
import test_wrappers
try:
    X, y = make_classification(n_samples=60, n_features=5, n_informative=4, n_redundant=0,
                               n_classes=3, random_state=0)
    np.save(spec["seeded"], KerasClassifier(test_wrappers.build_compiled, epochs=3,
                                            random_state=5).fit(X, y).predict_proba(X))
    results["seeded"] = "ok"
except Exception:
    results["seeded"] = traceback.format_exc()
for name, paths in spec["functional"].items():
    try:
        test_wrappers._build_other_ops()  # before unpickling: Keras names its next ops add_2, ...
        with open(paths["pkl"], "rb") as f:
            clf = pickle.load(f)
        np.save(paths["out"], clf.predict_proba(np.load(paths["x"])))
        clf.model_
        results[name] = "ok"
    except Exception:
        results[name] = traceback.format_exc()
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def functional_fits(tiny, tmp_path_factory):
    """Both functional models with ops, fitted here and pickled for the fresh process."""
    X, y = tiny
    tmp = tmp_path_factory.mktemp("functional")
    np.save(tmp / "X.npy", X)
    fits = {}
    for softmax_op in (False, True):
        clf = KerasClassifier(build_functional_ops, softmax_op=softmax_op, epochs=3,
                              random_state=0).fit(X, y)
        paths = {"pkl": str(tmp / f"clf-{softmax_op}.pkl"), "x": str(tmp / "X.npy"),
                 "out": str(tmp / f"proba-{softmax_op}.npy")}
        with open(paths["pkl"], "wb") as f:
            pickle.dump(clf, f)
        fits[softmax_op] = clf, paths
    return fits


class _Child:
    """A child process started now and waited for later (its tests read what it printed)."""

    def __init__(self, args, env=None):
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=env)
        self.done = None

    def result(self):
        """``(returncode, stdout, stderr)``, waiting for the child the first time."""
        if self.done is None:
            out, err = self.proc.communicate(timeout=300)
            self.done = self.proc.returncode, out, err
        return self.done

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


# The tests that read each child; a child starts only when one of them is selected.
_READERS = {
    "fresh": {"test_same_random_state_across_processes",
              "test_package_import_does_not_import_tensorflow",
              "test_functional_models_with_ops_fit_predict_rebuild_and_pickle"},
    "row order": {"test_predictions_are_exactly_invariant_to_the_row_order"},
}


@pytest.fixture(scope="module", autouse=True)
def children(request, tmp_path_factory):
    """The module's child processes, started before its first test so that they run beside
    the tests in this process (they read nothing of theirs but the functional pickles)."""
    selected = {getattr(item, "originalname", None) for item in request.session.items
                if item.path == request.node.path}
    started = {}
    if selected & _READERS["fresh"]:
        fits = request.getfixturevalue("functional_fits")
        seeded = str(tmp_path_factory.mktemp("seeded") / "proba.npy")
        spec = {"here": HERE, "seeded": seeded,
                "functional": {f"softmax_op={k}": paths for k, (_, paths) in fits.items()}}
        started["fresh"] = _Child([sys.executable, "-c", _FRESH, json.dumps(spec)])
        started["fresh"].seeded = seeded
    if selected & _READERS["row order"]:
        env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS="0")
        started["row order"] = _Child([sys.executable, "-c", _ROW_ORDER.format(here=HERE)], env)
    yield started
    for child in started.values():
        child.stop()


@pytest.fixture(scope="module")
def fresh_process(children):
    """The fresh process's results: ``{"import": [...], name: "ok" or its traceback}``."""
    code, out, err = children["fresh"].result()
    assert code == 0, err[-2000:]
    return {**json.loads(out.strip().splitlines()[-1]), "seeded proba": children["fresh"].seeded}


def test_same_random_state_across_processes(tiny, fresh_process):
    X, y = tiny
    assert fresh_process["seeded"] == "ok", fresh_process["seeded"]
    here = KerasClassifier(build_compiled, epochs=3, random_state=5).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(np.load(fresh_process["seeded proba"]), here)


# -------------------------------------------------------------- clone, pickle
def test_pickle_and_deepcopy_round_trip(tiny):
    X, y = tiny
    clf = KerasClassifier(build_compiled, hidden_units=4, epochs=2, random_state=0).fit(X, y)
    proba = clf.predict_proba(X)
    for copied in (pickle.loads(pickle.dumps(clf)), copy.deepcopy(clf)):
        assert type(copied) is type(clf) and copied.get_params() == clf.get_params()
        np.testing.assert_array_equal(copied.predict_proba(X), proba)
    assert pickle.loads(pickle.dumps(type(clf))) is type(clf)
    assert pickle.loads(pickle.dumps(KerasClassifier)) is KerasClassifier
    # model_ is a keras.Model of its own, with the fitted weights
    np.testing.assert_allclose(np.asarray(clf.model_(X.astype(np.float32))), proba, rtol=1e-5)


def test_package_import_does_not_import_tensorflow(fresh_process):
    # the fresh process's first lines: import skkeras_search, from skkeras_search import ...
    assert fresh_process["import"] == [False, False]  # tensorflow, keras


# ---------------------------------------------------------------------- search
def test_randomized_search_by_plain_names(tiny):
    X, y = tiny
    space = {"hidden_units": [4, 8], "learning_rate": loguniform(1e-3, 1e-1)}
    search = RandomizedSearchCV(KerasClassifier(build_compiled, epochs=2, random_state=0),
                                space, n_iter=3, cv=2, random_state=0, error_score="raise")
    search.fit(X, y)
    assert {"param_hidden_units", "param_learning_rate"} <= set(search.cv_results_)
    assert set(search.best_params_) == {"hidden_units", "learning_rate"}
    assert search.best_estimator_.predict(X).shape == (len(X),)


def test_pipeline_and_cross_val_score(tiny):
    X, y = tiny
    pipe = make_pipeline(StandardScaler(), KerasClassifier(build_clf, epochs=2, random_state=0))
    assert cross_val_score(pipe, X, y, cv=2, error_score="raise").shape == (2,)


def test_tpe_search(tiny):
    X, y = tiny
    search = TPESearchCV(KerasClassifier(build_compiled, epochs=2, random_state=0),
                         {"hidden_units": [4, 8], "learning_rate": loguniform(1e-3, 1e-1)},
                         n_iter=4, batch_size=2, n_startup=2, cv=2, random_state=0,
                         error_score="raise")
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 4


def test_cache_continuation_is_bit_identical(tiny, tmp_path):
    X, y = tiny
    base = KerasClassifier(build_compiled, random_state=2, cache_dir=str(tmp_path))
    clone(base).set_params(epochs=2).fit(X, y)
    continued = clone(base).set_params(epochs=5).fit(X, y)
    assert continued.n_epochs_trained_ == 3 and continued.n_iter_ == 5
    scratch = KerasClassifier(build_compiled, epochs=5, random_state=2).fit(X, y)
    np.testing.assert_array_equal(continued.predict_proba(X), scratch.predict_proba(X))
    assert continued.history_["loss"] == scratch.history_["loss"]
    for a, b in zip(continued._optimizer_variables, scratch._optimizer_variables):
        np.testing.assert_array_equal(a, b)
    loaded = clone(base).set_params(epochs=5).fit(X, y)
    assert loaded.n_epochs_trained_ == 0
    np.testing.assert_array_equal(loaded.predict_proba(X), scratch.predict_proba(X))


def test_n_epochs_trained_counts_the_epochs_of_the_last_fit(tiny, tmp_path):
    X, y = tiny
    fresh = KerasClassifier(build_compiled, epochs=3, random_state=0).fit(X, y)
    assert fresh.n_epochs_trained_ == 3 == fresh.n_iter_
    stopped = KerasClassifier(build_clf, epochs=50, early_stopping=True, n_iter_no_change=2,
                              tol=10.0, random_state=0).fit(X, y)
    assert stopped.n_epochs_trained_ == 3 == len(stopped.history_["loss"])
    warm = KerasClassifier(build_compiled, epochs=2, warm_start=True, random_state=0)
    assert warm.fit(X, y).fit(X, y).n_epochs_trained_ == 2 and warm.n_iter_ == 4
    # the cache rule (cache_blocker): a first fit with warm_start=True starts fresh, so it
    # is cached; the fit that continues it is not
    cached = KerasClassifier(build_compiled, epochs=2, warm_start=True, random_state=0,
                             cache_dir=str(tmp_path))
    cached.fit(X, y)
    assert cached.fit(X, y).n_epochs_trained_ == 2
    loaded = KerasClassifier(build_compiled, epochs=2, random_state=0,
                             cache_dir=str(tmp_path)).fit(X, y)
    assert loaded.n_epochs_trained_ == 0
    np.testing.assert_array_equal(loaded.predict_proba(X), fresh.set_params(epochs=2).fit(
        X, y).predict_proba(X))


def test_hyperband_continues_promoted_candidates(tiny):
    X, y = tiny
    search = HyperbandSearchCV(KerasClassifier(build_compiled, random_state=0),
                               {"hidden_units": [4, 8, 16], "learning_rate": [1e-2, 3e-2]},
                               max_epochs=3, n_brackets=1, cv=2, random_state=0,
                               error_score="raise")
    search.fit(X, y)
    res = search.cv_results_
    promoted = np.asarray(res["n_resources"]) == 3
    assert promoted.any()
    assert (np.asarray(res["n_epochs_trained"])[promoted] == 2).all()  # 1 -> 3: 2 more
    assert search.best_estimator_.epochs == 3 and search.best_estimator_.cache_dir is None


# ----------------------------------------------------------------- images, CNN
def _images(n, mnist_dir=None):
    """MNIST test images (28x28x1, /255) when present, else digits (8x8x1, /16)."""
    if mnist_dir:
        from skkeras_search.datasets import load

        ds = load(data=mnist_dir)
        X = ds.X[:n].reshape(-1, *ds.image_shape, 1).astype(np.float32) / 255
        return X, ds.y[:n]
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X[:n] / 16).reshape(-1, 8, 8, 1).astype(np.float32), y[:n]


def test_images_of_any_shape_and_shape_errors():
    X, y = _images(120)
    clf = KerasClassifier(build_cnn, epochs=2, random_state=0).fit(X, y)
    assert clf.input_shape_ == X.shape[1:] and clf.predict(X).shape == (120,)
    assert cross_val_score(clf, X, y, cv=2, error_score="raise").shape == (2,)
    with pytest.raises(ValueError, match=re.escape("samples of shape (8, 8)")):
        clf.predict(X[..., 0])


def _mnist_or_none():
    path = os.path.join(HERE, "..", "..", "shared", "datasets", "mnist-test")
    return os.path.abspath(path) if os.path.isdir(path) else None


# The same search on digits images is run by test_search_cnn_example_runs (examples/search_cnn.py:
# KerasClassifier(build_cnn), Hyperband, cross-validated, refit, predict); this one adds MNIST's
# 28x28 images and a score threshold.
@pytest.mark.slow
@pytest.mark.extended
def test_cnn_search_on_images():  # about 10 s on 2 CPU cores
    """A small CNN searched with Hyperband, 3-fold, on MNIST (or digits) images."""
    X, y = _images(600, _mnist_or_none())
    search = HyperbandSearchCV(
        KerasClassifier(build_cnn, batch_size=64, random_state=0),
        {"filters": [4, 8], "learning_rate": loguniform(3e-3, 3e-2)},
        max_epochs=3, cv=3, random_state=0, error_score="raise",
    )
    search.fit(X, y)
    assert set(search.best_params_) >= {"filters", "learning_rate"}
    assert search.best_score_ > 0.5
    assert search.best_estimator_.predict(X[:5]).shape == (5,)


def test_search_cnn_example_runs(capsys):
    import importlib.util

    path = os.path.join(HERE, "..", "examples", "search_cnn.py")
    spec = importlib.util.spec_from_file_location("search_cnn_example", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    assert example.main(["--data", "", "--n-samples", "300", "--epochs", "2", "--cv", "2"]) == 0
    out = capsys.readouterr().out
    assert "best parameters: dense_units=" in out and "held-out accuracy" in out


# ---------------------------------------------------------------------- memory
def _rss_mb():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc (Linux)")
def test_memory_stays_bounded_over_many_fits(tiny):
    X, y = tiny
    base = KerasClassifier(build_compiled, epochs=1)
    for i in range(10):  # warm up: pool, traced functions, allocator
        clone(base).set_params(random_state=i, hidden_units=4 + i % 3).fit(X, y).score(X, y)
    before = _rss_mb()
    for i in range(60):  # new seeds and a few architectures, as in a search
        clone(base).set_params(random_state=100 + i, hidden_units=4 + i % 3).fit(X, y).score(X, y)
    growth = _rss_mb() - before
    assert growth < 150, f"RSS grew by {growth:.0f} MB over 60 fits"


def test_verbose_prints_epochs(tiny, capsys):
    X, y = tiny
    KerasClassifier(build_clf, epochs=2, verbose=1, random_state=0).fit(X, y)
    assert "Epoch 2/2" in capsys.readouterr().out


def test_cache_dir_without_random_state_warns(tiny):
    X, y = tiny
    with pytest.warns(UserWarning, match="random_state=None"):
        KerasClassifier(build_clf, epochs=1, cache_dir=tempfile.mkdtemp()).fit(X, y)


def test_cache_tells_closures_of_one_factory_apart(tmp_path):
    """Two build functions with one module and name (a factory's closures) never share fits."""
    from sklearn.datasets import load_iris

    from skkeras_search import KerasClassifier
    from skkeras_search._core import backend as _backend

    def make_build(activation):
        def build(input_shape, n_classes, units=8):
            keras = _backend.keras()
            return keras.Sequential([keras.Input(input_shape),
                                     keras.layers.Dense(units, activation=activation),
                                     keras.layers.Dense(n_classes, activation="softmax")])
        return build

    X, y = load_iris(return_X_y=True)
    X = X.astype(np.float32)
    relu = KerasClassifier(make_build("relu"), epochs=2, random_state=0,
                           cache_dir=str(tmp_path)).fit(X, y)
    sigmoid = KerasClassifier(make_build("sigmoid"), epochs=2, random_state=0,
                              cache_dir=str(tmp_path)).fit(X, y)
    fresh = KerasClassifier(make_build("sigmoid"), epochs=2, random_state=0).fit(X, y)
    assert np.array_equal(sigmoid.predict_proba(X), fresh.predict_proba(X))
    assert not np.array_equal(sigmoid.predict_proba(X), relu.predict_proba(X))


# ------------------------------------------------------------------ divergence
def build_sgd(input_shape, n_classes, hidden_units=8):
    """Compiles with its own (far too large) SGD step: the learning rate is not a parameter."""
    keras = _backend.keras()
    model = keras.Sequential([keras.Input(input_shape),
                              keras.layers.Dense(hidden_units, activation="relu"),
                              keras.layers.Dense(n_classes, activation="softmax")])
    model.compile(keras.optimizers.SGD(1e6), "sparse_categorical_crossentropy")
    return model


def _sqrt_relu_layer():
    keras = _backend.keras()

    class SqrtRelu(keras.layers.Layer):  # sqrt'(0) is infinite: NaN gradients, finite loss
        def call(self, x):
            return keras.ops.sqrt(keras.ops.relu(x))

    return SqrtRelu()


def build_nan_gradients(input_shape, n_classes):
    keras = _backend.keras()
    return keras.Sequential([keras.Input(input_shape), keras.layers.Dense(8), _sqrt_relu_layer(),
                             keras.layers.Dense(n_classes, activation="softmax")])


@pytest.mark.parametrize("build, params, where", [
    (build_clf, {"optimizer": "sgd", "learning_rate": 1e8}, "learning_rate=100000000.0"),
    (build_sgd, {}, "optimizer model=build_sgd compiles"),
])
def test_a_diverging_fit_raises_training_diverged_error(tiny, build, params, where):
    X, y = tiny
    clf = KerasClassifier(build, epochs=5, random_state=0, **params)
    with pytest.raises(TrainingDivergedError, match=r"Training diverged in epoch \d: the loss "
                                                    r"became .*Use a smaller learning_rate") as info:
        clf.fit(X, y)
    assert where in str(info.value) and 1 <= info.value.epoch <= 5
    with pytest.raises(NotFittedError):  # a failed fit leaves nothing behind
        clf.predict(X)


def test_a_tpe_search_whose_candidates_all_diverge_fails_loudly(tiny):
    # replayed report: every candidate's loss was NaN, and the search still named a best
    X, y = tiny
    search = TPESearchCV(KerasClassifier(build_clf, optimizer="sgd", epochs=3, random_state=0),
                         {"learning_rate": loguniform(1e7, 1e9)}, n_iter=4, batch_size=2, cv=2,
                         random_state=0)
    with pytest.raises(ValueError, match="All the .* fits failed"):
        search.fit(X, y)
    assert not hasattr(search, "best_params_")


def test_weights_that_became_nan_count_as_divergence(tiny):
    # one batch, one epoch: the epoch's loss is computed before the step that made the
    # weights NaN, so only the weights tell
    X, y = tiny
    with pytest.raises(TrainingDivergedError, match="epoch 1: the weights became infinite or NaN"):
        KerasClassifier(build_nan_gradients, epochs=1, batch_size=60, random_state=0).fit(X, y)


def build_sgd_rate(input_shape, n_classes, hidden_units=8):
    """Compiles with SGD(123456.7), which float32 holds as 123456.703125."""
    keras = _backend.keras()
    model = build_clf(input_shape, n_classes, hidden_units)
    model.compile(keras.optimizers.SGD(123456.7), "sparse_categorical_crossentropy")
    return model


def build_lr(input_shape, n_classes, hidden_units=8, lr=1e-3):
    """Compiles with a step size from its own parameter ``lr``."""
    keras = _backend.keras()
    model = build_clf(input_shape, n_classes, hidden_units)
    model.compile(keras.optimizers.SGD(lr), "sparse_categorical_crossentropy")
    return model


def build_log_lr(input_shape, n_classes, hidden_units=8, log_lr=-3):
    """Compiles with a step size set from ``log_lr``, not equal to it."""
    keras = _backend.keras()
    model = build_clf(input_shape, n_classes, hidden_units)
    model.compile(keras.optimizers.SGD(10.0**log_lr), "sparse_categorical_crossentropy")
    return model


def test_the_divergence_message_shows_the_rate_as_written(tiny):
    # read back from the optimizer's float32 variable it printed 123456.703125
    X, y = tiny
    with pytest.raises(TrainingDivergedError) as info:
        KerasClassifier(build_sgd_rate, epochs=3, random_state=0).fit(X, y)
    message = str(info.value)
    assert "learning_rate=123456.7." in message and "123456.703" not in message
    assert "make learning_rate a parameter of build_sgd_rate" in message  # it has none


@pytest.mark.parametrize("build, params, hint", [
    (build_lr, {"lr": 1e6}, "its parameter lr=1000000.0: use a smaller lr (e.g. lr=1e+05)"),
    (build_log_lr, {"log_lr": 6}, "lower it through the parameters of build_log_lr"),
])
def test_the_divergence_message_names_the_rate_parameter_of_the_build_function(
        tiny, build, params, hint):
    X, y = tiny
    with pytest.raises(TrainingDivergedError, match="learning_rate=1000000.0") as info:
        KerasClassifier(build, epochs=3, random_state=0, **params).fit(X, y)
    message = str(info.value)
    assert hint in message
    assert "make learning_rate a parameter" not in message  # it has one


def test_a_diverged_fit_is_cached_and_fails_again_at_once(tiny, tmp_path, monkeypatch):
    X, y = tiny
    bad = KerasClassifier(build_clf, optimizer="sgd", learning_rate=1e8, epochs=5, random_state=0,
                          cache_dir=str(tmp_path))
    with pytest.raises(TrainingDivergedError) as first:
        clone(bad).fit(X, y)

    def retrain(*args, **kwargs):
        raise AssertionError("a fit the cache knows diverged was trained again")

    monkeypatch.setattr(_keras_fit, "train", retrain)
    with pytest.raises(TrainingDivergedError) as again:
        clone(bad).fit(X, y)
    assert str(again.value) == str(first.value) and again.value.epoch == first.value.epoch
    with pytest.raises(TrainingDivergedError):  # a longer budget diverges the same way
        clone(bad).set_params(epochs=9).fit(X, y)


def test_unscaled_regression_targets_are_named_as_the_cause():
    X, y = make_regression(n_samples=60, n_features=4, noise=1.0, random_state=0)
    prices = 1000 * y / y.std() + 3000  # prices in the thousands
    reg = KerasRegressor(build_reg, epochs=3, random_state=0)
    with pytest.raises(TrainingDivergedError, match="standard deviation 1e\\+03") as info:
        clone(reg).fit(X, prices)
    message = str(info.value)
    assert "TransformedTargetRegressor" in message and "StandardScaler" in message
    assert "smaller learning_rate" not in message
    from sklearn.compose import TransformedTargetRegressor

    fixed = TransformedTargetRegressor(clone(reg), transformer=StandardScaler()).fit(X, prices)
    assert np.isfinite(fixed.predict(X)).all()


# ---------------------------------------------------------------- logits heads
def build_logits(input_shape, n_classes, hidden_units=8):
    """A logits head, compiled with from_logits=True."""
    keras = _backend.keras()
    model = keras.Sequential([keras.Input(input_shape),
                              keras.layers.Dense(hidden_units, activation="relu"),
                              keras.layers.Dense(n_classes if n_classes > 2 else 1)])
    loss = (keras.losses.SparseCategoricalCrossentropy(from_logits=True) if n_classes > 2
            else keras.losses.BinaryCrossentropy(from_logits=True))
    model.compile(keras.optimizers.Adam(0.05), loss)
    return model


def build_linear(input_shape, n_classes, hidden_units=8, binary_unit=False):
    """No softmax or sigmoid at all, not compiled."""
    keras = _backend.keras()
    return keras.Sequential([keras.Input(input_shape),
                             keras.layers.Dense(hidden_units, activation="relu"),
                             keras.layers.Dense(1 if binary_unit else n_classes)])


@pytest.mark.parametrize("build, params, n_classes", [
    (build_logits, {}, 3), (build_logits, {}, 2),  # from_logits=True; one unit for binary
    (build_linear, {}, 3), (build_linear, {}, 2), (build_linear, {"binary_unit": True}, 2),
])
def test_a_logits_head_predicts_probabilities(tiny, build, params, n_classes):
    X, y = tiny
    y = y if n_classes == 3 else (y == 0).astype(int)
    clf = KerasClassifier(build, epochs=30, learning_rate=0.05, random_state=0, **params).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (60, n_classes)
    assert (proba >= 0).all() and (proba <= 1).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-12)
    assert (clf.predict(X) == clf.classes_[proba.argmax(axis=1)]).all()
    logits = np.asarray(clf.model_(X.astype(np.float32)), dtype=np.float64)
    assert (logits < 0).any() or (logits > 1).any()  # really logits
    if logits.shape[1] == 1:  # thresholded at 0, not at 0.5
        assert (clf.predict(X) == clf.classes_[(logits[:, 0] > 0).astype(int)]).all()
    else:
        from scipy.special import softmax

        np.testing.assert_allclose(proba, softmax(logits, axis=1), rtol=1e-5)
    assert clf.score(X, y) > 0.7


def test_a_logits_head_with_a_probability_loss_warns(tiny):
    X, y = tiny

    def build(input_shape, n_classes):
        model = build_linear(input_shape, n_classes)
        model.compile("adam", "sparse_categorical_crossentropy")
        return model

    with pytest.warns(UserWarning, match="from_logits=False"):
        clf = KerasClassifier(build, epochs=2, random_state=0).fit(X, y)
    proba = clf.predict_proba(X)
    assert (proba >= 0).all() and (proba <= 1).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-12)


def build_head(input_shape, n_classes, head="tf.nn.softmax"):
    """Ends in probabilities under an activation not named softmax or sigmoid."""
    keras = _backend.keras()
    activation = {"tf.nn.softmax": lambda: _backend.tensorflow().nn.softmax,  # softmax_v2
                  "lambda": lambda: (lambda t: keras.ops.softmax(t)),
                  "hard_sigmoid": lambda: "hard_sigmoid"}[head]()
    units = 1 if head == "hard_sigmoid" else n_classes
    model = keras.Sequential([keras.Input(input_shape), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(units, activation=activation)])
    model.compile(keras.optimizers.Adam(0.01),
                  "binary_crossentropy" if units == 1 else "sparse_categorical_crossentropy")
    return model


@pytest.mark.parametrize("head", ["tf.nn.softmax", "lambda", "hard_sigmoid"])
def test_a_probability_head_of_another_name_is_not_taken_for_logits(tiny, head):
    # it was: softmax (sigmoid) applied twice, and a warning that the head outputs logits
    X, y = tiny
    y = (y == 0).astype(int) if head == "hard_sigmoid" else y
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf = KerasClassifier(build_head, head=head, epochs=5, random_state=0).fit(X, y)
    assert not [w for w in caught if "from_logits" in str(w.message)]
    proba = clf.predict_proba(X)
    outputs = np.asarray(clf.model_(X.astype(np.float32)), dtype=np.float64)
    np.testing.assert_allclose(proba[:, -outputs.shape[1]:], outputs, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)


# ------------------------------------------------------------------ model pool
_UNITS = 4  # read by build_from_global, changed by a test


def build_from_global(input_shape, n_classes):
    keras = _backend.keras()
    return keras.Sequential([keras.Input(input_shape),
                             keras.layers.Dense(_UNITS, activation="relu"),
                             keras.layers.Dense(n_classes, activation="softmax")])


def test_the_pool_follows_what_the_build_function_builds(tiny, monkeypatch):
    X, y = tiny
    small = KerasClassifier(build_from_global, epochs=2, random_state=0).fit(X, y)
    monkeypatch.setattr(sys.modules[__name__], "_UNITS", 16)
    wide = KerasClassifier(build_from_global, epochs=2, random_state=0).fit(X, y)
    assert wide._variables[0].shape == (5, 16)  # the network built now, not the pooled one
    assert wide.model_.count_params() == 5 * 16 + 16 + 16 * 3 + 3
    np.testing.assert_allclose(np.asarray(wide.model_(X.astype(np.float32))),
                               wide.predict_proba(X), rtol=1e-5, atol=1e-7)
    assert small.predict_proba(X).shape == (60, 3)  # still its own network
    with pytest.raises(ValueError, match="now builds another network"):
        small.model_  # noqa: B018 - the build function no longer builds what was fitted


def test_fitted_models_keep_their_own_names(tiny):
    # fits name their pooled models alike (see _keras_fit); model_ is named as Keras would
    X, y = tiny
    keras = _backend.keras()
    a, b = (KerasClassifier(build_clf, epochs=1, random_state=s).fit(X, y).model_ for s in (0, 1))
    assert a.name != b.name
    inputs = keras.Input((5,))
    both = keras.Model(inputs, keras.layers.Average()([a(inputs), b(inputs)]))
    assert both.predict(X[:2], verbose=0).shape == (2, 3)


def build_functional_ops(input_shape, n_classes, units=8, softmax_op=False):
    """A functional model applying ops to Keras tensors: a residual sum, keras.ops.softmax."""
    keras = _backend.keras()
    inputs = keras.Input(input_shape)
    h = keras.layers.Dense(units, activation="relu")(inputs)
    h = h + keras.layers.Dense(units)(h)  # an Add op, named by Keras's global counter
    if softmax_op:
        outputs = keras.ops.softmax(keras.layers.Dense(n_classes)(h))
    else:
        outputs = keras.layers.Dense(n_classes, activation="softmax")(h)
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    return model


def _build_other_ops():
    """Another model with ops, which moves Keras's name counters of ops on."""
    keras = _backend.keras()
    inputs = keras.Input((3,))
    return keras.Model(inputs, keras.ops.softmax(inputs + inputs + keras.layers.Dense(3)(inputs)))


@pytest.mark.parametrize("softmax_op", [False, True])
def test_functional_models_with_ops_fit_predict_rebuild_and_pickle(tiny, functional_fits,
                                                                   fresh_process, softmax_op):
    # model_ said the build function "now builds another network" (the ops' names had moved on)
    X, y = tiny
    clf, paths = functional_fits[softmax_op]
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    _build_other_ops()
    np.testing.assert_allclose(np.asarray(clf.model_(X.astype(np.float32))), proba,
                               rtol=1e-5, atol=1e-7)
    again = KerasClassifier(build_functional_ops, softmax_op=softmax_op, epochs=3,
                            random_state=0).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), proba)
    # pickled, loaded in a fresh process after other ops were named there, model_ rebuilt
    result = fresh_process[f"softmax_op={softmax_op}"]
    assert result == "ok", result
    np.testing.assert_array_equal(np.load(paths["out"]), proba)


def test_layers_made_outside_the_build_function_are_refused(tiny):
    X, y = tiny
    keras = _backend.keras()
    hidden, out = keras.layers.Dense(16, activation="relu"), keras.layers.Dense(3, "softmax")

    def shared(input_shape, n_classes):
        return keras.Sequential([keras.Input(input_shape), hidden, out])

    with pytest.raises(ValueError, match="Create the layers inside the build function"):
        cross_val_score(KerasClassifier(shared, epochs=2), X, y, cv=2, error_score="raise")
    frozen = keras.layers.Dense(8, activation="relu", trainable=False)  # may be shared

    def with_frozen(input_shape, n_classes):
        return keras.Sequential([keras.Input(input_shape), frozen,
                                 keras.layers.Dense(n_classes, activation="softmax")])

    scores = cross_val_score(KerasClassifier(with_frozen, epochs=2), X, y, cv=2, error_score="raise")
    assert scores.shape == (2,)


# ------------------------------------------------------------------ row order
_ROW_ORDER = """
import sys, numpy as np
sys.path.insert(0, {here!r})
from sklearn.utils.estimator_checks import check_methods_sample_order_invariance
from test_wrappers import SMALL
X = 3 * np.random.RandomState(0).uniform(size=(20, 3))
y = X[:, 0].astype(np.int64)
for est in SMALL:
    est = est.fit(X, y)
    for method in ("predict", "predict_proba"):
        if hasattr(est, method):
            out = getattr(est, method)(X)
            for seed in range(20):
                idx = np.random.RandomState(seed).permutation(20)
                assert np.array_equal(getattr(est, method)(X[idx]), out[idx]), (method, seed)
    for seed in range(5):
        np.random.seed(seed)
        check_methods_sample_order_invariance(type(est).__name__, est)
"""


def test_predictions_are_exactly_invariant_to_the_row_order(children):
    # Without oneDNN, TensorFlow's kernels gave a row other last bits at another
    # position in the batch (1 float32 ulp); the rows now run in a canonical order.
    # (a child with TF_ENABLE_ONEDNN_OPTS=0, started with the module)
    code, _, err = children["row order"].result()
    assert code == 0, err[-2000:]
