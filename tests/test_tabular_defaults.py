"""The tuned defaults for tables: KerasMLPClassifier/Regressor.tabular_defaults()."""

import json
import os
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import TransformedTargetRegressor
from sklearn.preprocessing import StandardScaler

from skkeras_search import KerasMLPClassifier, KerasMLPRegressor
from skkeras_search.datasets import build_pipeline

#: Each task's preset comes from its meta-tuning run (the regression one was rerun).
RESULTS = {task: os.path.join(os.path.dirname(__file__), "..", "benchmarks", "results", name)
           for task, name in (("classification", "meta_tune_tabular.json"),
                              ("regression", "meta_tune_tabular-regression.json"))}

#: The presets as documented (the classes' docstrings list these values).
PRESETS = {
    KerasMLPClassifier: ({"hidden_units": 256, "n_layers": 2, "activation": "relu",
                          "optimizer": "adamw", "weight_decay": 0.02, "learning_rate": 1e-3,
                          "learning_rate_schedule": "cosine", "alpha": 0.0, "dropout": 0.3,
                          "label_smoothing": 0.1, "batch_size": 256, "epochs": 32}, "quantile"),
    KerasMLPRegressor: ({"hidden_units": 256, "n_layers": 2, "activation": "relu",
                         "optimizer": "adamw", "weight_decay": 0.02, "learning_rate": 2e-3,
                         "learning_rate_schedule": "cosine", "alpha": 0.0, "dropout": 0.15,
                         "batch_size": 256, "epochs": 64}, "robust"),
}


@pytest.fixture(scope="module")
def table():
    rng = np.random.RandomState(0)
    X = pd.DataFrame({"a": rng.normal(size=60), "b": rng.exponential(size=60),
                      "colour": rng.choice(["red", "green", "blue"], size=60)})
    y = np.where(X["a"] + (X["colour"] == "red") > 0.5, "yes", "no")
    return X, y


@pytest.mark.parametrize("cls", [KerasMLPClassifier, KerasMLPRegressor])
def test_preset_parameters(cls):
    preset, scaling = PRESETS[cls]
    est = cls.tabular_defaults()
    assert type(est) is cls
    params = est.get_params()
    assert {k: params[k] for k in preset} == preset
    untouched = set(params) - set(preset)
    assert {k: params[k] for k in untouched} == {k: cls().get_params()[k] for k in untouched}
    est._validate_params()
    assert cls.tabular_numeric_scaling == scaling


@pytest.mark.parametrize("cls, task", [(KerasMLPClassifier, "classification"),
                                       (KerasMLPRegressor, "regression")])
def test_preset_is_what_meta_tuning_chose(cls, task):
    with open(RESULTS[task]) as fh:
        chosen = json.load(fh)["chosen"][task]["params"]
    scaling = chosen.pop("numeric_scaling")
    params = cls.tabular_defaults().get_params()
    assert {k: params[k] for k in chosen} == chosen
    assert cls.tabular_numeric_scaling == scaling


def test_overrides_and_fresh_instances():
    clf = KerasMLPClassifier.tabular_defaults(random_state=3, epochs=5, label_smoothing=0.0)
    assert (clf.random_state, clf.epochs, clf.label_smoothing, clf.n_layers) == (3, 5, 0.0, 2)
    clf.set_params(hidden_units=8)
    assert KerasMLPClassifier.tabular_defaults().hidden_units == 256
    reg = KerasMLPRegressor.tabular_defaults(loss="huber")
    assert reg.loss == "huber" and reg.n_layers == 2


def test_subclass_gets_its_own_class():
    class Mine(KerasMLPRegressor):
        pass

    assert type(Mine.tabular_defaults()) is Mine


@pytest.mark.parametrize("cls, name, close", [(KerasMLPClassifier, "epoch", "epochs"),
                                              (KerasMLPRegressor, "label_smoothing", None)])
def test_unknown_override_is_refused_by_name(cls, name, close):
    with pytest.raises(TypeError, match=re.escape(f"{name}=1 is not a parameter of "
                                                  f"{cls.__name__}")) as info:
        cls.tabular_defaults(**{name: 1})
    assert (f"Did you mean {close!r}?" in str(info.value)) is (close is not None)


def test_classifier_preset_fits_a_table(table):
    X, y = table
    clf = KerasMLPClassifier.tabular_defaults(epochs=3, batch_size=32, random_state=0)
    model = build_pipeline(clf, columns=list(X.columns), categorical=["colour"],
                           numeric_scaling=KerasMLPClassifier.tabular_numeric_scaling)
    model.fit(X, y)
    proba = model.predict_proba(X)
    assert proba.shape == (60, 2) and np.allclose(proba.sum(axis=1), 1)
    assert set(model.predict(X)) <= {"no", "yes"}
    assert model.named_steps["classifier"].n_iter_ == 3


def test_regressor_preset_fits_a_table(table):
    X, _ = table
    y = np.exp(X["a"].to_numpy() + 2 * X["b"].to_numpy())
    reg = KerasMLPRegressor.tabular_defaults(epochs=3, batch_size=32, random_state=0)
    network = TransformedTargetRegressor(reg, transformer=StandardScaler())
    model = build_pipeline(network, columns=list(X.columns), categorical=["colour"],
                           final="regressor",
                           numeric_scaling=KerasMLPRegressor.tabular_numeric_scaling)
    log = TransformedTargetRegressor(model, func=np.log, inverse_func=np.exp)
    prediction = log.fit(X, y).predict(X)
    assert prediction.shape == (60,) and np.all(prediction > 0)
