"""KerasMLPRegressor: shapes, determinism, losses, warm start, cache continuation, saving."""

import pickle
import re

import numpy as np
import pytest
from sklearn.datasets import make_regression
from sklearn.model_selection import KFold, cross_val_score

from skkeras_search import HyperbandSearchCV, KerasMLPRegressor, TrainingDivergedError
from skkeras_search.persistence import load_model, save_model


@pytest.fixture(scope="module")
def data():
    X, y = make_regression(n_samples=120, n_features=4, n_targets=2, noise=0.1, random_state=0)
    return X.astype(np.float32), (y / y.std(axis=0)).astype(np.float32)


def reg(**params):
    return KerasMLPRegressor(**{"hidden_units": 16, "epochs": 60, "learning_rate": 0.01,
                                "random_state": 0, **params})


def test_learns_and_keeps_the_target_shape(data):
    X, Y = data
    single = reg().fit(X, Y[:, 0])
    assert single.predict(X).shape == (120,) and single.n_outputs_ == 1
    assert single.score(X, Y[:, 0]) > 0.9
    multi = reg().fit(X, Y)
    assert multi.predict(X).shape == (120, 2) and multi.n_outputs_ == 2
    assert multi.score(X, Y) > 0.9
    assert multi.predict(X).dtype == np.float64  # a float32 network, predictions not rounded


def test_large_offset_targets_are_not_rounded_to_float32(data):
    """Un-standardising around 1e8 in float32 would snap predictions to steps of 8."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.preprocessing import StandardScaler

    X, Y = data
    y = 1e8 + Y[:, 0].astype(np.float64)
    model = TransformedTargetRegressor(reg(), transformer=StandardScaler()).fit(X, y)
    assert model.score(X, y) > 0.9
    assert len(np.unique(np.round(model.predict(X) - 1e8, 3))) > 50


def test_same_random_state_same_bits_and_pickle(data):
    X, Y = data
    a, b = reg().fit(X, Y), reg().fit(X, Y)
    assert np.array_equal(a.predict(X), b.predict(X))
    assert np.array_equal(pickle.loads(pickle.dumps(a)).predict(X), a.predict(X))
    assert not np.array_equal(reg(random_state=1).fit(X, Y).predict(X), a.predict(X))


def test_huber_is_less_moved_by_outliers(data):
    X, Y = data
    y = Y[:, 0].copy()
    y[:6] += 50.0  # gross outliers
    clean = np.arange(120) >= 6
    mse = reg(epochs=80).fit(X, y)
    huber = reg(epochs=80, loss="huber").fit(X, y)
    err = lambda m: np.mean(np.abs(m.predict(X)[clean] - Y[clean, 0]))  # noqa: E731
    assert err(huber) < err(mse)


def test_early_stopping_scores_r2_and_warm_start_checks_outputs(data):
    X, Y = data
    model = reg(early_stopping=True, epochs=40).fit(X, Y)
    assert model.validation_scores_ and -1 < model.best_validation_score_ <= 1
    warm = reg(warm_start=True, epochs=3).fit(X, Y)
    with pytest.raises(ValueError, match=re.escape("y has 1 outputs, but the network being "
                                                   "continued has 2")):
        warm.fit(X, Y[:, 0])


def test_divergence_is_an_error_a_search_records(data):
    X, Y = data
    with pytest.raises(TrainingDivergedError, match="learning_rate=1000.0"):
        reg(optimizer="sgd", learning_rate=1e3).fit(X, Y * 100)


def test_hyperband_continues_regressor_fits(data, tmp_path, capsys):
    X, Y = data
    cv = KFold(2, shuffle=True, random_state=0)
    search = HyperbandSearchCV(
        reg(epochs=9, verbose=1, n_iter_no_change=100, cache_dir=str(tmp_path)),
        {"learning_rate": [0.003, 0.01, 0.03], "hidden_units": [8, 16, 32]},
        max_epochs=9, n_brackets=1, cv=cv, scoring="r2", random_state=0, refit=False,
    ).fit(X, Y)
    trained = sum(line.startswith("Epoch ") for line in capsys.readouterr().out.splitlines())
    assert trained == 2 * int(np.sum(search.cv_results_["n_epochs_trained"]))
    finalist = search.cv_results_["params"][-1]
    scratch = cross_val_score(reg(n_iter_no_change=100, **finalist), X, Y, cv=cv, scoring="r2")
    assert scratch.mean() == search.cv_results_["mean_test_score"][-1]  # bit-identical


def test_saved_regressor_predicts_the_same(data, tmp_path):
    X, Y = data
    model = reg().fit(X, Y[:, 0])
    save_model(str(tmp_path), model)
    loaded = load_model(str(tmp_path))
    assert np.array_equal(loaded.predict(X), model.predict(X))
    assert loaded.model.output_shape == (None, 1)


@pytest.mark.parametrize("scale, offset", [(1000.0, 3000.0), (1500.0, 0.0), (1.0, 5000.0)])
def test_unscaled_targets_divergence_names_the_target_scaling_fix(data, scale, offset):
    # prices in the thousands: no learning rate helps, scaling the targets does
    X, Y = data
    with pytest.raises(TrainingDivergedError, match="The targets have mean") as info:
        reg(epochs=3).fit(X, Y[:, 0] * scale + offset)
    message = str(info.value)
    assert "TransformedTargetRegressor" in message and "StandardScaler" in message
    assert "smaller learning_rate" not in message
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.preprocessing import StandardScaler

    fixed = TransformedTargetRegressor(reg(epochs=3), transformer=StandardScaler())
    assert np.isfinite(fixed.fit(X, Y[:, 0] * scale + offset).predict(X)).all()


def test_a_diverging_fit_on_scaled_targets_still_says_smaller_learning_rate(data):
    X, Y = data
    with pytest.raises(TrainingDivergedError, match=re.escape("Use a smaller learning_rate")):
        reg(epochs=20, learning_rate=50.0, optimizer="sgd").fit(X, Y[:, 0])
