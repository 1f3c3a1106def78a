"""Saved models: safe to load, and predicting exactly what the estimator predicts."""

import numpy as np
import pytest

from skkeras_search import KerasMLPClassifier
from skkeras_search.persistence import load_model, save_model


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_roundtrip_predicts_identically(tiny, tmp_path, dtype):
    X, y = tiny
    X = X.astype(dtype)
    labels = np.array(["ant", "bee", "cat"])[y]
    clf = KerasMLPClassifier(hidden_units=8, epochs=5, dropout=0.2, random_state=0).fit(X, labels)
    save_model(str(tmp_path), clf)
    model = load_model(str(tmp_path))
    # exact, float64 included: Keras's predict() would have cast to float32
    assert np.array_equal(model.predict_proba(X), clf.predict_proba(X))
    assert np.array_equal(model.predict(X), clf.predict(X))
    assert model.classes_.tolist() == ["ant", "bee", "cat"]


def test_standardized_scaling_matches_training_arithmetic(tiny, tmp_path):
    X, y = tiny
    raw = (X * 7 + 3).astype(np.float32)
    mean, scale = raw.mean(axis=0), raw.std(axis=0)
    scaled = ((raw - mean) / scale).astype(np.float32)  # as the command scales training data
    clf = KerasMLPClassifier(hidden_units=8, epochs=3, random_state=0).fit(scaled, y)
    save_model(str(tmp_path), clf, scaling={"kind": "standardize", "mean": mean.tolist(),
                                            "scale": scale.tolist()})
    model = load_model(str(tmp_path))
    assert np.array_equal(model._scale(raw), scaled)
    assert np.array_equal(model.predict_proba(raw), clf.predict_proba(scaled))


def test_wrong_width_is_a_clear_error(tiny, tmp_path):
    X, y = tiny
    save_model(str(tmp_path), KerasMLPClassifier(hidden_units=4, epochs=1, random_state=0).fit(X, y))
    with pytest.raises(ValueError, match="X has 4 features, but the saved model expects 5"):
        load_model(str(tmp_path)).predict(X[:, :4])


def test_model_carries_the_l2_penalty_and_trains_further(tiny):
    X, y = tiny
    clf = KerasMLPClassifier(hidden_units=8, epochs=5, alpha=0.1, random_state=0)
    model = clf.fit(X.astype(np.float32), y).model_
    assert len(model.losses) == 2  # one L2 penalty per kernel
    penalty = 0.1 * sum(float(np.sum(c.astype(np.float64) ** 2)) for c in clf.coefs_)
    assert float(sum(model.losses)) == pytest.approx(penalty, rel=1e-5)
    model.fit(X.astype(np.float32), y, epochs=1, verbose=0)
    # a float64 model has no Keras penalty (Keras adds losses in float32) but still trains
    model64 = KerasMLPClassifier(hidden_units=8, epochs=2, alpha=0.1, random_state=0).fit(X, y).model_
    assert model64.losses == []
    model64.fit(X, y, epochs=1, verbose=0)
