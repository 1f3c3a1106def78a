"""skkeras_search.scikeras.wrappers: scikeras 0.13's API, with our determinism and model reuse.

scikeras's own suite runs separately (``tools/scikeras_suite.py``); these
tests cover each capability in a few seconds, with real Keras training, and
what the drop-in adds: seeds that leave global generators alone, compiled
models reused without changing results, pickles of custom objects.
"""

import gc
import os
import pickle
import random
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from skkeras_search._core import backend as _backend
from skkeras_search.scikeras import _pool
from skkeras_search.scikeras import _routing as routing
from skkeras_search.scikeras.utils.transformers import RegressorTargetEncoder
from skkeras_search.scikeras.wrappers import KerasClassifier, KerasRegressor

keras = _backend.keras()  # TensorFlow configured first (see test_backend)


def mlp(meta, compile_kwargs, hidden=8, dropout=0.0):
    """A small MLP for the target in ``meta``, compiled with ``compile_kwargs``."""
    inp = keras.Input((meta["n_features_in_"],))
    h = keras.layers.Dense(hidden, activation="relu")(inp)
    if dropout:
        h = keras.layers.Dropout(dropout)(h)
    if meta["target_type_"] in ("binary", "multiclass"):
        out = keras.layers.Dense(meta["n_classes_"], activation="softmax")(h)
        compile_kwargs["loss"] = compile_kwargs["loss"] or "sparse_categorical_crossentropy"
    else:
        out = keras.layers.Dense(meta["n_outputs_"])(h)
        compile_kwargs["loss"] = compile_kwargs["loss"] or "mse"
    model = keras.Model(inp, out)
    model.compile(**compile_kwargs)
    return model


def uncompiled(meta, hidden=8):
    inp = keras.Input((meta["n_features_in_"],))
    out = keras.layers.Dense(1)(keras.layers.Dense(hidden, activation="relu")(inp))
    return keras.Model(inp, out)


@pytest.fixture
def reg_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(48, 4)).astype("float32")
    return X, (X @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.1).astype("float32")


@pytest.fixture
def clf_data():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 4)).astype("float32")
    return X, np.array(["a", "b", "c"])[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)]


def weights(est):
    return [np.asarray(v) for v in est.model_.variables]


# ------------------------------------------------------------- callbacks
class Recorder(keras.callbacks.Callback):
    """Keeps each epoch's weights and logs."""

    def __init__(self):
        super().__init__()
        self.weights, self.logs = [], []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append([np.asarray(v) for v in self.model.weights])
        self.logs.append(dict(logs or {}))


def test_early_stopping_restores_the_best_weights_through_routed_parameters(reg_data):
    """mode="max" on a falling loss: epoch 0 is best, training stops and its weights come back."""
    X, y = reg_data
    recorder = Recorder()
    est = KerasRegressor(
        uncompiled, loss="mse", optimizer="adam", optimizer__learning_rate=0.05, epochs=20,
        random_state=0, verbose=0,
        callbacks={"es": keras.callbacks.EarlyStopping, "rec": recorder},
        callbacks__es__monitor="loss", callbacks__es__mode="max", callbacks__es__patience=2,
        callbacks__es__restore_best_weights=True,
    ).fit(X, y)
    assert est.current_epoch == 3 and len(est.history_["loss"]) == 3
    assert est.history_["loss"][0] > est.history_["loss"][-1]  # it did train past epoch 0
    for kept, best in zip(est.model_.weights, recorder.weights[0]):
        np.testing.assert_array_equal(np.asarray(kept), best)


def test_fit_and_predict_callbacks_are_dispatched_by_prefix(reg_data):
    X, y = reg_data
    calls = {"fit": [], "predict": []}

    class Log(keras.callbacks.Callback):
        def __init__(self, where):
            super().__init__()
            self.where = where

        def on_train_begin(self, logs=None):
            calls[self.where].append("train")

        def on_predict_begin(self, logs=None):
            calls[self.where].append("predict")

    est = KerasRegressor(uncompiled, loss="mse", verbose=0, fit__callbacks=[Log("fit")],
                         predict__callbacks=[Log("predict")]).fit(X, y)
    est.predict(X)
    assert calls == {"fit": ["train"], "predict": ["predict"]}


# ----------------------------------------------------------- partial_fit
def test_partial_fit_epochs_equal_one_fit_bit_for_bit(reg_data):
    X, y = reg_data
    params = dict(model=mlp, model__dropout=0.25, epochs=3, batch_size=16, random_state=3,
                  verbose=0, optimizer="adam")
    whole = KerasRegressor(**params).fit(X, y)
    steps = KerasRegressor(**params)
    for _ in range(3):
        steps.partial_fit(X, y)
    assert steps.current_epoch == 3
    assert steps.history_["loss"] == whole.history_["loss"]
    for a, b in zip(weights(steps), weights(whole)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(steps.predict(X), whole.predict(X))


def test_partial_fit_keeps_the_model_and_classes(clf_data):
    X, y = clf_data
    est = KerasClassifier(mlp, verbose=0, random_state=0)
    est.partial_fit(X[y != "c"], y[y != "c"], classes=["a", "b", "c"])
    model = est.model_
    est.partial_fit(X, y)
    assert est.model_ is model and list(est.classes_) == ["a", "b", "c"]
    assert est.predict_proba(X).shape == (len(X), 3)
    with pytest.raises(TypeError, match="Invalid argument epochs"):
        est.partial_fit(X, y, epochs=2)


# ------------------------------------------------------------- routing
def test_routed_parameters_reach_their_destinations(clf_data):
    X, y = clf_data
    seen = {}

    class Model(keras.Model):
        def fit(self, *args, **kwargs):
            seen["fit"] = {k: kwargs[k] for k in ("batch_size", "epochs", "custom")}
            kwargs.pop("custom")
            return super().fit(*args, **kwargs)

    def build(meta, hidden=4):
        seen["hidden"] = hidden
        inp = keras.Input((meta["n_features_in_"],))
        return Model(inp, keras.layers.Dense(meta["n_classes_"], activation="softmax")(
            keras.layers.Dense(hidden)(inp)))

    est = KerasClassifier(build, model__hidden=6, loss="sparse_categorical_crossentropy",
                          optimizer=keras.optimizers.SGD, optimizer__learning_rate=0.05,
                          optimizer__momentum=0.5, batch_size=8, fit__batch_size=16,
                          fit__custom="routed", verbose=0)
    est.fit(X, y, custom="keyword", epochs=2)
    assert seen == {"hidden": 6, "fit": {"batch_size": 16, "epochs": 2, "custom": "keyword"}}
    optimizer = est.model_.optimizer
    assert isinstance(optimizer, keras.optimizers.SGD)
    assert float(optimizer.learning_rate) == pytest.approx(0.05)
    assert float(optimizer.momentum) == pytest.approx(0.5)
    assert est.batch_size == 8 and est.fit__batch_size == 16  # fit's keywords are not stored


class _Thing:
    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.dictionaries(st.integers(0, 3), st.integers(), max_size=4),
       st.integers())
def test_list_items_get_shared_then_their_own_routed_parameters(n, own, shared):
    params = {"p": shared, **{f"{i}__p": v for i, v in own.items()}, "0__1": "positional"}
    made = routing.make([_Thing] * n, params)
    assert [t.kwargs["p"] for t in made] == [own.get(i, shared) for i in range(n)]
    assert made[0].args == ("positional",) and all(t.args == () for t in made[1:])


def test_parameters_routed_to_a_function_are_refused():
    with pytest.raises(TypeError, match="does not accept parameters because it's not a class"):
        routing.make_loss(keras.losses.binary_crossentropy, {"from_logits": True})


# ------------------------------------------- multi-input and multi-output
class TwoInputs(KerasRegressor):
    """X's first column feeds one input, the others a second; y's two columns two outputs."""

    @property
    def feature_encoder(self):
        return FunctionTransformer(lambda X: [X[:, :1], X[:, 1:]])

    @property
    def target_encoder(self):
        return _SplitTarget()


class _SplitTarget(RegressorTargetEncoder):
    def fit(self, y):
        super().fit(y)
        self.n_outputs_expected_ = y.shape[1]
        return self

    def transform(self, y):
        return [y[:, i] for i in range(y.shape[1])]

    def inverse_transform(self, y):
        return np.column_stack([np.ravel(o) for o in y])


def two_in_two_out(meta):
    a, b = keras.Input((1,)), keras.Input((meta["n_features_in_"] - 1,))
    h = keras.layers.Concatenate()([keras.layers.Dense(4)(a), keras.layers.Dense(4)(b)])
    return keras.Model([a, b], [keras.layers.Dense(1, name="first")(h),
                                keras.layers.Dense(1, name="second")(h)])


def test_multi_input_multi_output_model(reg_data):
    X, y = reg_data
    Y = np.column_stack([y, -y])
    est = TwoInputs(two_in_two_out, loss="mse", epochs=2, verbose=0, random_state=0).fit(X, Y)
    assert est.predict(X).shape == (len(X), 2)
    assert est.n_outputs_expected_ == 2
    assert {"loss", "first_loss", "second_loss"} <= set(est.history_)


def test_multioutput_regression_with_one_output_layer(reg_data):
    X, y = reg_data
    Y = np.column_stack([y, 2 * y])
    est = KerasRegressor(mlp, epochs=2, verbose=0, random_state=0).fit(X, Y)
    assert est.predict(X).shape == Y.shape and est.n_outputs_ == 2


# --------------------------------------------------------- model_, names
def test_model_is_the_trained_compiled_model(reg_data):
    X, y = reg_data
    est = KerasRegressor(uncompiled, loss="mse", metrics=["mae"], epochs=2, batch_size=16,
                         verbose=0, random_state=0).fit(X, y)
    model = est.model_
    assert model.compiled and int(model.optimizer.iterations) == 2 * 3
    loss, mae = model.evaluate(X, y, verbose=0)
    assert np.isfinite(loss) and np.isfinite(mae)
    assert set(est.history_) == {"loss", "mean_absolute_error"}  # "mae" under its full name


# ------------------------------------------------------- determinism
def test_random_state_leaves_global_generators_alone(reg_data):
    from tensorflow.python.eager import context

    X, y = reg_data
    np.random.seed(5)
    random.seed(5)
    before = (np.random.get_state()[1].copy(), random.getstate(), context.context()._seed)
    KerasRegressor(mlp, model__dropout=0.5, random_state=1, verbose=0).fit(X, y).predict(X)
    after = (np.random.get_state()[1], random.getstate(), context.context()._seed)
    np.testing.assert_array_equal(before[0], after[0])
    assert before[1:] == after[1:]


_CHILD = """
import numpy as np, sys
sys.path.insert(0, {tests!r})
from test_scikeras_wrappers import mlp
from skkeras_search.scikeras.wrappers import KerasRegressor
rng = np.random.default_rng(0)
X = rng.normal(size=(48, 4)).astype("float32"); y = X.sum(axis=1)
np.random.seed({noise}); __import__("random").seed({noise})
est = KerasRegressor(mlp, model__dropout=0.25, epochs=2, batch_size=16, random_state=7, verbose=0)
print(est.fit(X, y).predict(X).astype(np.float32).tobytes().hex())
"""


_FRESH_TEST = "test_same_random_state_gives_the_same_bits_in_a_fresh_process"


@pytest.fixture(scope="module", autouse=True)
def fresh_child(request):
    """The fresh process of the test below, started with the module: it reads nothing of the
    other tests, so it runs beside them. None when that test is not selected."""
    if not any(getattr(item, "originalname", None) == _FRESH_TEST
               for item in request.session.items):
        yield None
        return
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    tests = os.path.dirname(os.path.abspath(__file__))
    proc = subprocess.Popen([sys.executable, "-c", _CHILD.format(tests=tests, noise=1)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    yield proc
    if proc.poll() is None:  # its test did not wait for it (deselected or failed first)
        proc.kill()
        proc.communicate()


@pytest.mark.slow
def test_same_random_state_gives_the_same_bits_in_a_fresh_process(fresh_child):
    """A fresh process, with other global seeds, against this one after all earlier tests."""
    out, err = fresh_child.communicate(timeout=300)
    assert fresh_child.returncode == 0, err[-2000:]
    child = out.split()[-1]
    rng = np.random.default_rng(0)
    X = rng.normal(size=(48, 4)).astype("float32")
    est = KerasRegressor(mlp, model__dropout=0.25, epochs=2, batch_size=16, random_state=7,
                         verbose=0)
    assert est.fit(X, X.sum(axis=1)).predict(X).astype(np.float32).tobytes().hex() == child


def test_a_pooled_twin_gives_the_bits_of_a_fresh_model(reg_data):
    X, y = reg_data
    params = dict(model=mlp, model__dropout=0.25, epochs=2, batch_size=16, random_state=11,
                  verbose=0)
    _pool.clear()
    fresh = KerasRegressor(**params).fit(X, y).predict(X)  # the wrapper dies: its model is free
    gc.collect()
    assert sum(len(v) for v in _pool._free.values()) == 1
    reused = KerasRegressor(**params).fit(X, y)
    assert sum(len(v) for v in _pool._free.values()) == 0  # the twin was taken
    np.testing.assert_array_equal(reused.predict(X), fresh)


def test_a_model_read_by_user_code_is_never_reused(reg_data):
    X, y = reg_data
    _pool.clear()
    mine = KerasRegressor(mlp, random_state=0, verbose=0).fit(X, y).model_
    gc.collect()
    kept = [np.asarray(v) for v in mine.variables]
    KerasRegressor(mlp, random_state=1, verbose=0, epochs=2).fit(X, y)
    for a, b in zip(kept, mine.variables):
        np.testing.assert_array_equal(a, np.asarray(b))


# ------------------------------------------------------------ pickling
class Unregistered(keras.metrics.MeanAbsoluteError):
    """A user's metric without @keras.saving.register_keras_serializable."""


def test_pickle_with_an_unregistered_custom_metric_continues_training(reg_data):
    X, y = reg_data
    est = KerasRegressor(mlp, metrics=[Unregistered(name="mine")], optimizer="adam",
                         random_state=2, verbose=0).fit(X, y)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict(X), est.predict(X))
    est.partial_fit(X, y)
    again.partial_fit(X, y)  # the optimizer state came along: both continue alike
    np.testing.assert_array_equal(again.predict(X), est.predict(X))
    assert set(again.history_) == {"loss", "mine"}


# --------------------------------------------------- scikit-learn >= 1.6
def test_grid_search_over_a_pipeline_on_current_scikit_learn(clf_data):
    """scikeras 0.13 fails here on scikit-learn >= 1.6 (``__sklearn_tags__``)."""
    X, y = clf_data
    pipe = Pipeline([("scale", StandardScaler()),
                     ("clf", KerasClassifier(mlp, epochs=2, verbose=0, random_state=0))])
    search = GridSearchCV(pipe, {"clf__model__hidden": [4, 8]}, cv=2).fit(X, y)
    assert search.best_params_["clf__model__hidden"] in (4, 8)
    assert search.predict(X).dtype == y.dtype and set(search.predict(X)) <= set(y)


def test_bad_input_names_the_parameter(reg_data):
    X, y = reg_data
    with pytest.raises(ValueError, match="validation_split"):
        KerasRegressor(mlp, validation_split=1.5, verbose=0).fit(X, y)
    est = KerasRegressor(mlp, verbose=0).fit(X, y)
    with pytest.raises(ValueError, match="Got X with dtype float64.*not safe"):
        est.partial_fit(X.astype("float64"), y)
    with pytest.raises(ValueError, match="only zeros were passed in sample_weight"):
        est.fit(X, y, sample_weight=np.zeros(len(y)))


# ------------------------------------------------------------ fit cache
def test_cache_dir_continues_a_shorter_fit_bit_for_bit(reg_data, tmp_path):
    X, y = reg_data
    params = dict(model=mlp, model__dropout=0.25, batch_size=16, random_state=4, verbose=0,
                  optimizer="adam")
    whole = KerasRegressor(epochs=3, cache_dir=str(tmp_path / "a"), **params).fit(X, y)
    assert whole.n_epochs_trained_ == 3
    short = KerasRegressor(epochs=1, cache_dir=str(tmp_path / "b"), **params).fit(X, y)
    longer = KerasRegressor(epochs=3, cache_dir=str(tmp_path / "b"), **params).fit(X, y)
    assert longer.n_epochs_trained_ == 2 and longer.current_epoch == 3
    assert longer.history_["loss"] == whole.history_["loss"]
    assert longer.history_["loss"][:1] == short.history_["loss"]
    np.testing.assert_array_equal(longer.predict(X), whole.predict(X))
    again = KerasRegressor(epochs=3, cache_dir=str(tmp_path / "b"), **params).fit(X, y)
    assert again.n_epochs_trained_ == 0  # loaded whole
    np.testing.assert_array_equal(again.predict(X), whole.predict(X))
    other = KerasRegressor(epochs=3, cache_dir=str(tmp_path / "b"),
                           **dict(params, optimizer=keras.optimizers.Adam(0.5))).fit(X, y)
    assert other.n_epochs_trained_ == 3  # another optimizer config is another key


def test_cache_dir_is_not_used_without_a_seed_or_with_callbacks(reg_data, tmp_path):
    X, y = reg_data
    with pytest.warns(UserWarning, match="random_state=None"):
        KerasRegressor(mlp, cache_dir=str(tmp_path), verbose=0).fit(X, y)
    with pytest.warns(UserWarning, match="callbacks are set"):
        KerasRegressor(mlp, cache_dir=str(tmp_path), random_state=0, verbose=0,
                       callbacks=[keras.callbacks.TerminateOnNaN()]).fit(X, y)
    assert not any(tmp_path.rglob("*.npz"))


def test_hyperband_search_continues_drop_in_candidates(clf_data):
    from skkeras_search.search import HyperbandSearchCV

    X, y = clf_data
    est = KerasClassifier(mlp, verbose=0, random_state=0, batch_size=16)
    search = HyperbandSearchCV(est, {"model__hidden": [4, 8, 16]}, max_epochs=3, factor=3,
                               cv=2, random_state=0).fit(X, y)
    rows = search.cv_results_
    promoted = [i for i, n in enumerate(rows["n_resources"]) if n == 3]
    # a promoted candidate continues its 1-epoch fit: 2 more epochs, not 3
    assert promoted and 2 in [rows["n_epochs_trained"][i] for i in promoted]
    assert all(rows["n_epochs_trained"][i] < 3 for i in promoted)
    assert search.best_estimator_.current_epoch == 3


def test_seeded_fits_in_threads_give_the_bits_of_sequential_fits(reg_data):
    """TensorFlow's global seed is one per process: threads must not read each other's."""
    from concurrent.futures import ThreadPoolExecutor

    X, y = reg_data

    def run(seed):
        est = KerasRegressor(mlp, model__dropout=0.25, epochs=2, batch_size=8, random_state=seed,
                             verbose=0)
        return est.fit(X, y).predict(X)

    alone = [run(s) for s in (1, 2, 1, 2)]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(run, (1, 2, 1, 2)))
    for a, b in zip(alone, together):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------- found by a new user's review
def test_score_uses_the_wrappers_scorer_and_score_parameters(reg_data):
    from sklearn.metrics import mean_absolute_error

    class MAERegressor(KerasRegressor):
        @staticmethod
        def scorer(y_true, y_pred, **kwargs):
            return -mean_absolute_error(y_true, y_pred, **kwargs)

    X, y = reg_data
    est = MAERegressor(mlp, epochs=2, verbose=0, random_state=0).fit(X, y)
    assert est.score(X, y) == pytest.approx(-mean_absolute_error(y, est.predict(X)))
    clf = KerasClassifier(mlp, verbose=0, random_state=0, score__normalize=False)
    X2, y2 = X, (y > 0).astype(int)
    assert clf.fit(X2, y2).score(X2, y2) == (clf.predict(X2) == y2).sum()  # a count, not a share


def test_a_callback_holding_the_model_keeps_it(reg_data):
    X, y = reg_data
    _pool.clear()
    holder = Recorder()
    KerasRegressor(mlp, random_state=0, verbose=0, callbacks=[holder]).fit(X, y)
    gc.collect()
    kept = [np.asarray(v) for v in holder.model.variables]
    KerasRegressor(mlp, random_state=1, epochs=2, verbose=0).fit(X, y)
    for a, b in zip(kept, holder.model.variables):
        np.testing.assert_array_equal(a, np.asarray(b))


class EncoderOnTheSide(KerasRegressor):
    """Keeps a sub-model sharing the model's layers, as scikeras's autoencoder tutorial does."""

    def _keras_build_fn(self, meta):
        inp = keras.Input((meta["n_features_in_"],))
        encoder = keras.Model(inp, keras.layers.Dense(3)(inp))
        self.encoder_ = encoder
        model = keras.Model(inp, keras.layers.Dense(1)(encoder(inp)))
        model.compile(loss="mse", optimizer="adam")
        return model

    def _initialize(self, X, y=None):
        X, y = super()._initialize(X, y)
        self.initialized_with_ = len(X)
        return X, y


def test_a_build_that_keeps_sub_models_trains_the_model_they_share(reg_data):
    X, y = reg_data
    _pool.clear()
    EncoderOnTheSide(verbose=0, random_state=0).fit(X, y)  # leaves a twin when it dies
    gc.collect()
    est = EncoderOnTheSide(verbose=0, random_state=0, epochs=2).fit(X, y)
    assert est.initialized_with_ == len(X)  # the _initialize hook ran
    shared = est.encoder_.layers[-1].kernel
    assert any(v is shared for v in est.model_.variables)  # the trained model is its model


def test_subclass_naming_a_routed_parameter_it_does_not_store(reg_data):
    class Sub(KerasRegressor):
        def __init__(self, model=mlp, optimizer__learning_rate=0.01, **kwargs):
            super().__init__(model=model, **kwargs)

    X, y = reg_data
    assert "optimizer__learning_rate" not in Sub(verbose=0).get_params()
    Sub(verbose=0).fit(X, y)


def test_sparse_X(reg_data):
    from scipy import sparse

    X, y = reg_data
    Xs = sparse.csr_matrix(np.where(np.abs(X) > 1, X, 0))
    est = KerasRegressor(mlp, epochs=2, verbose=0, random_state=0).fit(Xs, y)
    np.testing.assert_allclose(est.predict(Xs), est.predict(Xs.toarray()), rtol=1e-5, atol=1e-6)


def test_warm_start_fit_starts_history_and_epochs_anew(reg_data):
    X, y = reg_data
    est = KerasRegressor(mlp, epochs=2, warm_start=True, verbose=0, random_state=0)
    est.fit(X, y)
    first = est.model_
    est.fit(X, y)
    assert est.model_ is first and est.current_epoch == 2 and len(est.history_["loss"]) == 2


def test_clear_errors_for_text_lengths_unseen_classes_and_unknown_arguments(reg_data, clf_data):
    X, y = reg_data
    with pytest.raises(ValueError, match="X holds text"):
        KerasRegressor(mlp, verbose=0).fit(np.array([["a"] * 4] * 5), np.arange(5.0))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        KerasRegressor(mlp, verbose=0).fit(X, y[:-1])
    Xc, yc = clf_data
    est = KerasClassifier(mlp, verbose=0).partial_fit(Xc[yc != "c"], yc[yc != "c"])
    with pytest.raises(ValueError, match="Found unknown categories.*classes="):
        est.partial_fit(Xc, yc)
    with pytest.raises(TypeError, match="unexpected keyword argument 'widht'.*model__widht"):
        KerasRegressor(mlp, model__widht=3, verbose=0).fit(X, y)
