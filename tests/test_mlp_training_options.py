"""The training options of published tabular protocols: weight decay, the cosine schedule,
label smoothing, through the estimators (Keras arithmetic: tests/test_keras_parity.py).

Most tests read the rates off a weight with no loss gradient: the first-layer kernel row of an
all-zero input feature. With ``alpha=0`` its gradient is exactly 0, so Adam and SGD move it by
exactly 0 and only the decoupled decay changes it, by ``1 - weight_decay * lr_t`` at update
``t``. Its ratio to the same row trained with ``weight_decay=0`` (its initial value) is then the
product of those factors, and the per-step rates ``lr_t`` are those of the schedule.
"""

import pickle
import re

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification

from skkeras_search import KerasMLPClassifier, KerasMLPRegressor
from skkeras_search._core import backend as _backend
from skkeras_search._core.fit_cache import (
    FitCache,
    continuation_blocker,
    data_fingerprint,
    key_params,
)
from skkeras_search.exceptions import TrainingDivergedError
from skkeras_search.mlp import _cached_state, _graph, _training

LR, WD, EPOCHS = 0.05, 0.5, 6
OPTIONS = ("weight_decay", "learning_rate_schedule", "label_smoothing")


@pytest.fixture(scope="module")
def zero_column():
    """60 float32 samples, 3 classes, whose feature 0 is zero everywhere."""
    X, y = make_classification(n_samples=60, n_features=5, n_informative=4, n_redundant=0,
                               n_classes=3, random_state=0)
    X = X.astype(np.float32)
    X[:, 0] = 0.0
    return X, y


def make(cls=KerasMLPClassifier, **params):
    return cls(**{"hidden_units": 8, "learning_rate": LR, "alpha": 0.0, "epochs": EPOCHS,
                  "optimizer": "adamw", "n_iter_no_change": 10**6, "random_state": 0,
                  **params})


def target(cls, y):
    return y if cls is KerasMLPClassifier else (y - 1.0).astype(np.float32)


def initial_row(cls):
    """The zero feature's first-layer kernel row as the fit draws it (random_state=0)."""
    outputs = 3 if cls is KerasMLPClassifier else 1
    return _training.new_state(0, [5, 8, outputs], np.float32).params[0][0]


def cosine_rates(n_steps, decay_steps):
    """Keras's own CosineDecay(LR, decay_steps, alpha=0) at iterations 0, 1, ..., as float32."""
    schedule = _backend.keras().optimizers.schedules.CosineDecay(LR, decay_steps, alpha=0.0)
    return [np.float32(schedule(t)) for t in range(n_steps)]


def decayed(row, rates):
    """``row`` after updates at ``rates`` with no gradient: Keras's ``w - w * wd * lr``."""
    for lr in rates:
        row = row - row * np.float32(WD) * np.float32(lr)
    return row


@pytest.mark.parametrize("cls, optimizer", [(KerasMLPClassifier, "adamw"),
                                            (KerasMLPRegressor, "sgd")])
def test_weight_decay_shrinks_a_weight_without_gradient_by_one_minus_lr_wd_per_step(
        zero_column, cls, optimizer):
    X, y = zero_column
    y = target(cls, y)
    initial = initial_row(cls)
    assert np.array_equal(make(cls, optimizer=optimizer).fit(X, y).coefs_[0][0], initial)
    row = make(cls, optimizer=optimizer, weight_decay=WD).fit(X, y).coefs_[0][0]
    # full batch: one update per epoch
    np.testing.assert_allclose(row, decayed(initial, [LR] * EPOCHS), rtol=1e-6)
    assert np.all(np.abs(row) < np.abs(initial) * 0.9)


def test_cosine_rates_of_every_update_are_keras_cosine_decay(zero_column):
    """Two updates per epoch: decay_steps is epochs * batches, counted from 0."""
    X, y = zero_column
    initial = initial_row(KerasMLPClassifier)
    row = make(batch_size=30, weight_decay=WD,
               learning_rate_schedule="cosine").fit(X, y).coefs_[0][0]
    np.testing.assert_allclose(row, decayed(initial, cosine_rates(2 * EPOCHS, 2 * EPOCHS)),
                               rtol=1e-6)
    constant = decayed(initial, [LR] * 2 * EPOCHS)
    assert not np.allclose(row, constant, rtol=1e-3)


def test_partial_fit_goes_through_one_cycle_of_epochs_then_trains_at_rate_zero(zero_column):
    X, y = zero_column
    initial = initial_row(KerasMLPClassifier)
    est = make(weight_decay=WD, learning_rate_schedule="cosine")
    rates = cosine_rates(EPOCHS, EPOCHS)
    rows = [est.partial_fit(X, y, classes=np.unique(y)).coefs_[0][0].copy()
            for _ in range(EPOCHS + 2)]
    for epoch in range(EPOCHS):  # the rate of each epoch, read off the decay
        np.testing.assert_allclose(rows[epoch], decayed(initial, rates[:epoch + 1]), rtol=1e-6)
    assert np.array_equal(rows[EPOCHS], rows[EPOCHS - 1])  # after the cycle: rate 0
    # fit's cycle is the same one: fit equals its epochs of partial_fit, bit for bit
    fitted = make(weight_decay=WD, learning_rate_schedule="cosine").fit(X, y)
    again = make(weight_decay=WD, learning_rate_schedule="cosine")
    for _ in range(EPOCHS):
        again.partial_fit(X, y, classes=np.unique(y))
    for a, b in zip(fitted.coefs_ + fitted.intercepts_, again.coefs_ + again.intercepts_):
        assert np.array_equal(a, b)


def test_a_warm_start_fit_runs_a_new_cycle(zero_column):
    X, y = zero_column
    initial = initial_row(KerasMLPClassifier)
    est = make(weight_decay=WD, learning_rate_schedule="cosine", warm_start=True)
    est.fit(X, y)
    row = est.fit(X, y).coefs_[0][0]
    np.testing.assert_allclose(row, decayed(initial, cosine_rates(EPOCHS, EPOCHS) * 2),
                               rtol=1e-6)


def test_with_early_stopping_the_cycle_still_spans_epochs(zero_column):
    X, y = zero_column
    initial = initial_row(KerasMLPClassifier)
    # tol=10 accepts no improvement after the first epoch: it stops after 3 of 40 epochs
    est = make(weight_decay=WD, learning_rate_schedule="cosine", epochs=40,
               early_stopping=True, n_iter_no_change=2, tol=10.0).fit(X, y)
    assert est.n_iter_ == 3
    best = int(np.argmax(est.validation_scores_)) + 1  # the epoch whose weights it keeps
    np.testing.assert_allclose(est.coefs_[0][0], decayed(initial, cosine_rates(best, 40)),
                               rtol=1e-6)


def test_label_smoothing_caps_the_confidence_it_trains_for():
    """Smoothed targets put 1 - ls + ls/K on the true class: separable data no longer drives
    the probabilities to 1."""
    X, y = make_classification(n_samples=60, n_features=5, n_informative=4, n_redundant=0,
                               n_classes=3, class_sep=3.0, random_state=0)
    plain = make(optimizer="adam", epochs=30).fit(X, y)
    smooth = make(optimizer="adam", epochs=30, label_smoothing=0.3).fit(X, y)
    cap = 1 - 0.3 + 0.3 / 3  # 0.8
    assert plain.predict_proba(X).max(axis=1).mean() > 0.95
    assert smooth.predict_proba(X).max(axis=1).mean() < cap + 0.02
    assert (smooth.predict(X) == y).mean() >= 0.9


def test_adamw_trains_as_adam_with_the_same_weight_decay(zero_column):
    X, y = zero_column
    a = make(optimizer="adamw", weight_decay=0.01).fit(X, y)
    b = make(optimizer="adam", weight_decay=0.01).fit(X, y)
    assert all(np.array_equal(p, q) for p, q in zip(a.coefs_, b.coefs_))


def test_same_random_state_same_predictions_with_every_option(zero_column):
    X, y = zero_column
    params = dict(weight_decay=0.05, learning_rate_schedule="cosine", label_smoothing=0.1,
                  batch_size=16)
    first = make(**params).fit(X, y).predict_proba(X)
    assert np.array_equal(first, clone(make(**params)).fit(X, y).predict_proba(X))


# ------------------------------------------------------------------ the fit cache
@pytest.mark.parametrize("params, blocker", [
    ({}, None),
    ({"learning_rate_schedule": "constant", "early_stopping": False}, None),
    ({"learning_rate_schedule": "cosine"}, "learning_rate_schedule"),
    ({"learning_rate_schedule": "cosine", "early_stopping": True}, "learning_rate_schedule"),
    ({"early_stopping": True}, "early_stopping"),
])
def test_continuation_blocker_names_what_makes_a_shorter_fit_another_run(params, blocker):
    assert continuation_blocker(params) == blocker


def test_a_cosine_fit_of_more_epochs_trains_from_scratch_equal_to_a_fresh_fit(
        zero_column, tmp_path, trained_epochs):
    X, y = zero_column
    cosine = dict(weight_decay=0.05, learning_rate_schedule="cosine", cache_dir=str(tmp_path))
    make(epochs=3, **cosine).fit(X, y)
    promoted = make(epochs=9, **cosine).fit(X, y)
    fresh = make(epochs=9, **{**cosine, "cache_dir": None}).fit(X, y)
    assert trained_epochs == [3, 9, 9] and promoted.n_epochs_trained_ == 9
    for a, b in zip(promoted.coefs_ + promoted.intercepts_, fresh.coefs_ + fresh.intercepts_):
        assert np.array_equal(a, b)
    assert promoted.loss_curve_ == fresh.loss_curve_
    # each budget's own fit still loads
    assert make(epochs=9, **cosine).fit(X, y).n_epochs_trained_ == 0
    assert make(epochs=3, **cosine).fit(X, y).n_epochs_trained_ == 0
    assert trained_epochs == [3, 9, 9]


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_a_shorter_fits_failure_counts_only_for_a_constant_schedule(zero_column, tmp_path,
                                                                    schedule):
    """A constant schedule's shorter failure is this fit's first epochs failing; a cosine one
    is another run's. The records are written where the estimator looks for them."""
    X, y = zero_column
    labels = np.unique(y)
    data = data_fingerprint(X, np.searchsorted(labels, y).astype(np.int32),
                            np.ones(len(y), np.float32), labels)

    options = dict(weight_decay=0.05, learning_rate_schedule=schedule, cache_dir=str(tmp_path))

    def record(epochs):
        est = make(epochs=epochs, **options)
        FitCache(str(tmp_path), _cached_state.key(est.get_params()), data, 0).store_failure(
            epochs, "diverged in epoch 1")
        return est

    with pytest.raises(TrainingDivergedError):  # the record of its own budget: found
        record(4).fit(X, y)
    record(3)
    longer = make(epochs=9, **options)
    if schedule == "constant":
        with pytest.raises(TrainingDivergedError, match="epoch 1"):
            longer.fit(X, y)
    else:
        assert longer.fit(X, y).n_epochs_trained_ == 9


def test_a_constant_schedule_with_weight_decay_still_continues(zero_column, tmp_path,
                                                               trained_epochs):
    X, y = zero_column
    make(epochs=3, weight_decay=0.05, cache_dir=str(tmp_path)).fit(X, y)
    continued = make(epochs=9, weight_decay=0.05, cache_dir=str(tmp_path)).fit(X, y)
    fresh = make(epochs=9, weight_decay=0.05).fit(X, y)
    assert trained_epochs == [3, 6, 9]
    assert all(np.array_equal(a, b) for a, b in zip(continued.coefs_, fresh.coefs_))


@pytest.mark.parametrize("option, value", [("weight_decay", 0.1),
                                           ("learning_rate_schedule", "constant"),
                                           ("label_smoothing", 0.2)])
def test_each_option_keys_the_cache(zero_column, tmp_path, option, value):
    """A fit that differs from a cached one by one option's value trains: it is another key."""
    X, y = zero_column
    options = dict(weight_decay=0.05, learning_rate_schedule="cosine", label_smoothing=0.1)
    base = make(epochs=2, cache_dir=str(tmp_path), **options).fit(X, y)
    other = make(epochs=2, cache_dir=str(tmp_path), **{**options, option: value}).fit(X, y)
    assert other.n_epochs_trained_ == 2  # trained, not the cached fit
    assert not np.array_equal(base.predict_proba(X), other.predict_proba(X))
    assert key_params(other.get_params())[option] == value


def test_values_are_arguments_of_one_graph_per_kind(zero_column):
    """Values are arguments of the traced epoch: new values reuse the graph, while each
    option switched on or off (and each update rule) is a graph of its own."""
    X, y = zero_column
    runners = _graph._thread_runner.cache_info
    make(weight_decay=0.01, learning_rate_schedule="cosine", label_smoothing=0.1).fit(X, y)
    before = runners().currsize
    a = make(weight_decay=0.2, learning_rate_schedule="cosine", label_smoothing=0.3).fit(X, y)
    b = make(optimizer="adam", weight_decay=0.05, learning_rate_schedule="cosine",
             label_smoothing=0.2).fit(X, y)
    assert runners().currsize == before  # other values, 'adam' or 'adamw': the same graph
    assert not np.array_equal(a.coefs_[0], b.coefs_[0])

    def runner(optimizer="adamw", **kind):
        kind = {"weight_decay": True, "schedule": "cosine", "smoothing": True, **kind}
        return _graph.epoch_runner(1, "relu", optimizer, "float32", False, **kind)

    assert runner() is runner(optimizer="adam")
    others = [runner(weight_decay=False), runner(schedule="constant"), runner(smoothing=False),
              runner(optimizer="sgd")]
    assert len({id(r) for r in [runner(), *others]}) == 5


# ------------------------------------------------------------ parameters, saving
@pytest.mark.parametrize("cls, param, value", [
    (KerasMLPClassifier, "weight_decay", -0.1),
    (KerasMLPRegressor, "weight_decay", -0.1),
    (KerasMLPClassifier, "learning_rate_schedule", "linear"),
    (KerasMLPRegressor, "learning_rate_schedule", "linear"),
    (KerasMLPClassifier, "label_smoothing", 1.0),
    (KerasMLPClassifier, "optimizer", "adamax"),
])
def test_invalid_values_name_the_parameter(zero_column, cls, param, value):
    X, y = zero_column
    with pytest.raises(ValueError, match=re.escape(f"'{param}' parameter")):
        make(cls, **{param: value}).fit(X, target(cls, y))


def test_label_smoothing_is_a_classifier_parameter_only():
    assert set(OPTIONS) <= set(KerasMLPClassifier().get_params())
    assert set(KerasMLPRegressor().get_params()) & set(OPTIONS) == set(OPTIONS[:2])


@pytest.mark.parametrize("cls", [KerasMLPClassifier, KerasMLPRegressor])
def test_an_estimator_saved_before_the_options_loads_with_their_defaults(zero_column, cls):
    X, y = zero_column
    y = target(cls, y)
    est = make(cls).fit(X, y)
    state = est.__getstate__()
    for name in OPTIONS:
        state.pop(name, None)
    old = cls.__new__(cls)
    old.__setstate__(state)
    defaults = {k: v for k, v in cls().get_params().items() if k in OPTIONS}
    assert {k: v for k, v in old.get_params().items() if k in OPTIONS} == defaults
    assert np.array_equal(old.predict(X), est.predict(X))
    assert np.array_equal(old.set_params(epochs=2).fit(X, y).predict(X),
                          make(cls, epochs=2).fit(X, y).predict(X))


def test_model_and_pickle_keep_the_options(zero_column):
    X, y = zero_column
    est = make(weight_decay=0.05, learning_rate_schedule="cosine", label_smoothing=0.1).fit(X, y)
    keras = _backend.keras()
    model = est.model_
    assert isinstance(model.optimizer, keras.optimizers.AdamW)
    assert model.optimizer.weight_decay == pytest.approx(0.05)
    np.testing.assert_allclose(model.predict(X, verbose=0), est.predict_proba(X), rtol=1e-5,
                               atol=1e-6)
    loaded = pickle.loads(pickle.dumps(est))
    assert loaded.get_params() == est.get_params()
    assert np.array_equal(loaded.predict_proba(X), est.predict_proba(X))
