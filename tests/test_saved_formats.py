"""Files written by earlier releases keep loading and predicting identically.

``tests/fixtures/`` holds folders that ``save_model`` wrote and wrapper
pickles that ``pickle.dump`` wrote with the flat layout of commit 393fe05
(format 2; ``tests/fixtures/make_fixtures.py`` made them). They must load
with today's code and give the very same predictions, bit for bit.
"""

import json
import os
import pickle

import numpy as np
import pandas as pd
import pytest

from skkeras_search.persistence import load_model

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def _fixture(name):
    return os.path.join(FIXTURES, name)



def assert_same(got, expected):
    """Equal up to float32 rounding: the fixtures were written on another CPU (Intel Xeon),
    whose matrix kernels round the last bits differently (AMD EPYC, 2026-12-02)."""
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    return True

def test_format2_table_classifier_loads_and_predicts_identically():
    path = _fixture("format2_table_classifier")
    model = load_model(path)
    frame = pd.read_csv(os.path.join(path, "X.csv"))
    expected = np.load(os.path.join(path, "expected_proba.npy"))
    assert_same(model.predict_proba(frame), expected)
    assert_same(model.predict_proba(frame[frame.columns[::-1]]), expected)
    assert model.classes_.tolist() == ["ant", "bee", "cat"]
    assert model.feature_names_in_.tolist() == ["a", "b", "c", "d", "e", "kind"]
    assert model.metadata["format_version"] == 2


def test_format2_image_classifier_loads_and_predicts_identically():
    path = _fixture("format2_image_classifier")
    model = load_model(path)
    X = np.load(os.path.join(path, "X.npy"))
    assert_same(model.predict_proba(X), np.load(os.path.join(path, "expected_proba.npy")))
    assert model.model.count_params() > 0  # the network, as a keras.Model


def test_format2_regressor_loads_and_predicts_identically():
    path = _fixture("format2_regressor")
    model = load_model(path)
    X = np.load(os.path.join(path, "X.npy"))
    assert_same(model.predict(X), np.load(os.path.join(path, "expected.npy")))
    assert model.classes_ is None
    with open(os.path.join(path, "metadata.json")) as fh:
        assert json.load(fh)["task"] == "regression"


def test_wrapper_pickles_made_by_the_flat_layout_keep_loading():
    with open(_fixture("wrappers.pkl"), "rb") as fh:
        saved = pickle.load(fh)  # noqa: S301 - our own committed fixture
    clf, reg = saved["classifier"], saved["regressor"]
    assert_same(clf.predict_proba(saved["X"]), saved["proba"])
    assert_same(reg.predict(saved["Xr"]), saved["pred"])
    assert clf.get_params()["hidden_units"] == 8
    assert type(clf).__name__ == "KerasClassifier"


@pytest.mark.parametrize("name", ["format2_table_classifier", "format2_image_classifier",
                                  "format2_regressor"])
def test_format2_folders_name_the_flat_module_paths(name):
    """The fixtures really are old files: their pipelines name today's-minus-one module paths."""
    import skops.io as sio

    types = sio.get_untrusted_types(file=os.path.join(_fixture(name), "pipeline.skops"))
    assert any(t.startswith("skkeras_search._") and t.count(".") == 2 for t in types), types


def test_mlp_and_pipeline_pickles_made_by_the_flat_layout_keep_loading():
    """0.2's pickles name skkeras_search._classifier, ._regressor, ._training, ._preprocessing."""
    import pickletools

    path = _fixture("mlp.pkl")
    with open(path, "rb") as fh:
        blob = fh.read()
    names = {arg for op, arg, _ in pickletools.genops(blob) if isinstance(arg, str)}
    assert {"skkeras_search._classifier", "skkeras_search._training"} <= names  # old paths
    saved = pickle.loads(blob)  # noqa: S301 - our own committed fixture
    assert_same(saved["classifier"].predict_proba(saved["X"]), saved["proba"])
    assert_same(saved["regressor"].predict(saved["Xr"]), saved["pred"])
    assert_same(saved["pipeline"].predict_proba(saved["frame"]), saved["pipe_proba"])
    # and they are today's classes, which keep training
    from skkeras_search import KerasMLPClassifier

    assert type(saved["classifier"]) is KerasMLPClassifier
    assert saved["classifier"].set_params(epochs=1).fit(saved["X"], np.arange(60) % 3).n_iter_ == 1
