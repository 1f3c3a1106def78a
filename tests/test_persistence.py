"""Saved models: safe to load, and predicting exactly what the estimator predicts."""

import re

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


def test_pipeline_roundtrip_keeps_the_column_contract(tiny, tmp_path):
    import pandas as pd

    from skkeras_search.datasets._preprocessing import build_pipeline

    X, y = tiny
    frame = pd.DataFrame(X, columns=list("abcde")).assign(kind=np.array(["u", "v"])[y % 2])
    frame.loc[3, "a"] = np.nan
    pipe = build_pipeline(KerasMLPClassifier(hidden_units=8, epochs=3, random_state=0),
                          columns=list(frame.columns), categorical=["kind"]).fit(frame, y)
    save_model(str(tmp_path), pipe)
    model = load_model(str(tmp_path))
    assert np.array_equal(model.predict_proba(frame), pipe.predict_proba(frame))
    assert np.array_equal(model.predict(frame[frame.columns[::-1]]), pipe.predict(frame))
    assert model.feature_names_in_.tolist() == ["a", "b", "c", "d", "e", "kind"]
    with pytest.raises(ValueError, match=re.escape("X is missing column(s) ['kind']")):
        model.predict(frame.drop(columns="kind"))
    assert model.model.count_params() == pipe[-1].model_.count_params()


def test_untrusted_types_are_refused(tiny, tmp_path):
    """A file that would call os.system on load is refused, not unpickled."""
    import os

    import skops.io as sio
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, y = tiny
    clf = KerasMLPClassifier(hidden_units=4, epochs=1, random_state=0).fit(X, y)
    save_model(str(tmp_path), clf)
    evil = make_pipeline(FunctionTransformer(os.system), clf)
    sio.dump(evil, tmp_path / "pipeline.skops")
    with pytest.raises(ValueError, match=r"holds type\(s\) \['(posix|nt)\.system'\] that "
                                         "skkeras_search does not trust; refusing to load"):
        load_model(str(tmp_path))


def test_older_format_is_refused_with_the_way_out(tiny, tmp_path):
    import json

    X, y = tiny
    save_model(str(tmp_path), KerasMLPClassifier(hidden_units=4, epochs=1, random_state=0).fit(X, y))
    meta = json.loads((tmp_path / "metadata.json").read_text())
    (tmp_path / "metadata.json").write_text(json.dumps({**meta, "format_version": 1}))
    with pytest.raises(ValueError, match=r"format_version=1 is not one of \(2, 3\).*Rerun the search"):
        load_model(str(tmp_path))


def test_model_carries_the_l2_penalty_and_trains_further(tiny):
    X, y = tiny
    clf = KerasMLPClassifier(hidden_units=8, epochs=5, alpha=0.1, random_state=0)
    model = clf.fit(X.astype(np.float32), y).model_
    assert len(model.losses) == 2  # one L2 penalty per kernel
    # alpha is MLPClassifier's: Keras's L2(0.5 * alpha / batch_size), 'auto' = all 60 rows
    penalty = 0.5 * 0.1 / 60 * sum(float(np.sum(c.astype(np.float64) ** 2)) for c in clf.coefs_)
    assert float(sum(model.losses)) == pytest.approx(penalty, rel=1e-5)
    model.fit(X.astype(np.float32), y, epochs=1, verbose=0)
    # a float64 model has no Keras penalty (Keras adds losses in float32) but still trains
    model64 = KerasMLPClassifier(hidden_units=8, epochs=2, alpha=0.1, random_state=0).fit(X, y).model_
    assert model64.losses == []
    model64.fit(X, y, epochs=1, verbose=0)


def test_wrong_width_is_a_clear_error(tiny, tmp_path):
    X, y = tiny
    save_model(str(tmp_path), KerasMLPClassifier(hidden_units=4, epochs=1, random_state=0).fit(X, y))
    with pytest.raises(ValueError, match="X has 4 features, but KerasMLPClassifier is expecting 5"):
        load_model(str(tmp_path)).predict(X[:, :4])


def build_clf(input_shape, n_classes):
    from skkeras_search._core import backend as _backend

    keras = _backend.keras()
    return keras.Sequential([keras.Input(input_shape), keras.layers.Dense(4, activation="relu"),
                             keras.layers.Dense(n_classes, activation="softmax")])


def _double(X):
    return 2 * X


def test_what_load_model_would_refuse_is_refused_before_anything_is_written(tiny, tmp_path):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    from skkeras_search import KerasClassifier

    X, y = tiny
    wrapper = KerasClassifier(build_clf, epochs=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="save_model cannot save a KerasClassifier: it holds your "
                                         "build function model=build_clf"):
        save_model(str(tmp_path / "new"), wrapper)
    assert not (tmp_path / "new").exists()
    # a folder holding a saved model keeps it, untouched
    kept = KerasMLPClassifier(hidden_units=4, epochs=1, random_state=0).fit(X, y)
    save_model(str(tmp_path / "kept"), kept)
    before = {p.name: p.read_bytes() for p in (tmp_path / "kept").iterdir()}
    for refused in (make_pipeline(StandardScaler(), wrapper),
                    make_pipeline(FunctionTransformer(_double), kept)):
        with pytest.raises(ValueError, match="nothing was written"):
            save_model(str(tmp_path / "kept"), refused)
    assert {p.name: p.read_bytes() for p in (tmp_path / "kept").iterdir()} == before
    assert np.array_equal(load_model(str(tmp_path / "kept")).predict_proba(X), kept.predict_proba(X))


def test_a_keras_regressor_in_a_target_transformer_is_refused(tmp_path):
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.datasets import make_regression
    from sklearn.preprocessing import StandardScaler

    from skkeras_search import KerasRegressor
    from skkeras_search._core import backend as _backend

    def build_reg(input_shape, n_outputs):
        keras = _backend.keras()
        return keras.Sequential([keras.Input(input_shape), keras.layers.Dense(n_outputs)])

    X, y = make_regression(n_samples=30, n_features=3, random_state=0)
    model = TransformedTargetRegressor(KerasRegressor(build_reg, epochs=1, random_state=0),
                                       transformer=StandardScaler()).fit(X, y)
    with pytest.raises(ValueError, match="save_model cannot save a KerasRegressor"):
        save_model(str(tmp_path / "out"), model)
    assert not (tmp_path / "out").exists()
