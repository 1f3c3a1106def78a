"""The tabular space in searches, and the command's defaults for tables (issue 20).

``tabular_space()`` over a ``build_pipeline`` pipeline in scikit-learn's and our
searches; the defaults a table file gets when ``--strategy``, ``--n-iter``,
``--epochs`` and ``--space`` are not given (read off the plan, nothing
trained), what images keep, explicit flags winning; ``--target-transform``.
"""

import csv
import io
import json
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import RandomizedSearchCV

from skkeras_search.cli import main
from skkeras_search.cli._args import TABLE_DEFAULTS, UsageError, build_parser, given
from skkeras_search.cli._inputs import read_inputs
from skkeras_search.cli._plan import make_plan, prefixed
from skkeras_search.datasets import NumericScaler, build_pipeline
from skkeras_search.datasets._scaling import SCALING_METHODS as PIPELINE_METHODS
from skkeras_search.mlp import KerasMLPClassifier, KerasMLPRegressor
from skkeras_search.search import ASHASearchCV, TPESearchCV
from skkeras_search.space import (
    NUMERIC_SCALING,
    SCALING_METHODS,
    distribution_bounds,
    tabular_space,
)

NETWORK_NAMES = ("n_layers", "hidden_units", "learning_rate", "batch_size", "alpha", "dropout",
                 "optimizer", "weight_decay")


def _mixed(n=60, seed=0):
    """A small mixed table: three numeric columns (one with a missing cell), one categorical."""
    rng = np.random.RandomState(seed)
    X = pd.DataFrame({"a": rng.randn(n), "b": np.exp(rng.randn(n)), "c": rng.randn(n),
                      "colour": rng.choice(["red", "green", "blue"], n)})
    X.loc[3, "a"] = np.nan
    y = np.where(X["c"] + (X["colour"] == "red") > 0.3, "yes", "no")
    return X, y


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    X, y = _mixed(80)
    path = tmp_path_factory.mktemp("data") / "mixed.csv"
    X.assign(label=y).to_csv(path, index=False)
    return str(path)


def _stages(tmp_path, *flags):
    argv = [*flags, "--cv", "2", "-q", "--out", str(tmp_path / "out")]
    args = build_parser().parse_args(argv)
    before = vars(args).copy()
    inputs = read_inputs(args, argv, io.StringIO())
    plan = make_plan(inputs)
    assert vars(args) == before  # args is read, never rewritten
    return inputs, plan


def _branches(space):
    return space if isinstance(space, list) else [space]


# ------------------------------------------------------------------ the space
@pytest.mark.parametrize("network", [KerasMLPClassifier, KerasMLPRegressor])
def test_every_value_of_the_tabular_space_is_legal(network):
    for branch in tabular_space():
        for name, dist in branch.items():
            if isinstance(dist, list):
                values = dist
            else:  # both bounds, and draws
                bounds = distribution_bounds(dist)
                values = [bounds["low"], bounds["high"], *np.ravel(dist.rvs(size=5, random_state=0))]
            for value in values:
                value = value.item() if hasattr(value, "item") else value
                if name == NUMERIC_SCALING:
                    NumericScaler(method=value)._validate_params()
                else:
                    network(**{name: value})._validate_params()
    assert SCALING_METHODS == PIPELINE_METHODS  # the space's copy of the pipeline's methods


def _search(kind, pipeline, space):
    common = dict(cv=2, random_state=0, error_score="raise")
    if kind == "random":
        return RandomizedSearchCV(pipeline, space, n_iter=4, **common)
    if kind == "tpe":  # two random proposals, then two from the grouped model
        return TPESearchCV(pipeline, space, n_iter=4, batch_size=2, n_startup=2, **common)
    return ASHASearchCV(pipeline, space, max_epochs=3, factor=3, min_epochs=1, n_candidates=3,
                        resource="classifier__epochs", sampler="tpe", **common)


@pytest.mark.parametrize("kind", ["random", "tpe", "asha_tpe"])
def test_the_tabular_space_searches_a_mixed_table_pipeline(kind):
    X, y = _mixed()
    network = KerasMLPClassifier(epochs=1, random_state=0)
    pipeline = build_pipeline(network, columns=list(X.columns), categorical=["colour"],
                              random_state=0)
    space = prefixed(tabular_space(), "classifier__")
    for branch in space:  # the 30-row folds take small batches (no clipping warning)
        branch["classifier__batch_size"] = [8, 16]
        branch["classifier__hidden_units"] = [8]
        branch["classifier__n_layers"] = [1, 2]
    search = _search(kind, pipeline, space)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # e.g. a batch cut to the fold
        warnings.simplefilter("ignore", ConvergenceWarning)  # 1 epoch
        search.fit(X, y)
    names = [set(branch) for branch in space]
    budget = {"classifier__epochs"} if kind == "asha_tpe" else set()
    assert all(set(p) - budget in names for p in search.cv_results_["params"])
    assert {p[NUMERIC_SCALING] for p in search.cv_results_["params"]} <= set(SCALING_METHODS)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.predict(X.iloc[:5]).shape == (5,)


def test_prefixed_leaves_the_pipelines_own_names():
    space = prefixed(tabular_space(), "regressor__regressor__")
    assert "regressor__regressor__n_layers" in space[0]
    assert NUMERIC_SCALING in space[0]
    assert not any(k.startswith("regressor__regressor__preprocess") for b in space for k in b)


# ------------------------------------------------------------------ the command's defaults
def test_a_table_gets_the_table_defaults_and_the_banner_says_so(tmp_path, table):
    inputs, plan = _stages(tmp_path, "--data", table, "--target", "label")
    chosen = inputs.choices
    assert (chosen.strategy, chosen.n_iter, chosen.epochs, chosen.space) == (
        TABLE_DEFAULTS["strategy"], TABLE_DEFAULTS["n_iter"], TABLE_DEFAULTS["epochs"], "tabular")
    assert chosen.table_defaults == ("--space", "--strategy", "--n-iter", "--epochs")
    assert isinstance(plan.search, ASHASearchCV) and plan.strategy == "asha"
    assert plan.search.n_candidates == TABLE_DEFAULTS["n_iter"]
    assert plan.search.max_epochs == TABLE_DEFAULTS["epochs"]
    assert plan.rungs == (1, 3, 9, 27)
    searched = plan.search.param_distributions
    assert len(searched) == 4 and NUMERIC_SCALING in searched[0]
    assert {k for b in searched for k in b} - {NUMERIC_SCALING} == {
        f"classifier__{n}" for n in NETWORK_NAMES}
    # 80 rows: 60 for the search, 30 per training fold, below every batch size of the space
    assert all(b["classifier__batch_size"] == ["auto"] for b in searched)
    # the quantile method's noise is seeded: each fold's scaling, and the fit cache, repeat
    assert plan.search.estimator.get_params()["preprocess__numeric__scale__random_state"] == 0
    banner = plan.banner
    assert "\n" not in banner
    assert ("asha search (tabular space; fixed: learning_rate_schedule='cosine', "
            "label_smoothing=0.1, early_stopping=True): 60 candidates (rungs of 1, 3, 9, 27 "
            "epochs)") in banner
    # the preset's training recipe on the searched network (not in the space), and the
    # classifier's early stopping
    params = plan.search.estimator.get_params()
    assert params["classifier__learning_rate_schedule"] == "cosine"
    assert params["classifier__label_smoothing"] == 0.1
    assert params["classifier__early_stopping"] is True
    assert ("Defaults for a table: the tabular space, asha, 60 candidates, up to 27 epochs "
            "(sized to finish a 5,000-row table in under 10 minutes on 2 cores; "
            "--space/--strategy/--n-iter/--epochs to change).") in banner


def test_images_and_npz_archives_keep_todays_defaults(tmp_path):
    inputs, plan = _stages(tmp_path)
    chosen = inputs.choices
    assert (chosen.strategy, chosen.n_iter, chosen.epochs, chosen.space) == (
        "random", 20, 30, "paper")
    assert chosen.table_defaults == ()
    assert isinstance(plan.search, RandomizedSearchCV)
    assert plan.space_text == {"hidden_units": "IntRange(16, 496, step=32)",
                               "learning_rate": "LogUniform(1e-05, 1.0)"}
    assert plan.banner.endswith("random search: 20 candidates (30 epochs each), 2 folds, "
                                "40 fits.")
    X, y = _mixed(40)
    npz = tmp_path / "x.npz"
    np.savez(npz, X=X[["a", "b", "c"]].fillna(0).to_numpy(), y=y)
    inputs, plan = _stages(tmp_path, "--data", str(npz))
    assert inputs.dataset.kind == "table"  # a 2-D archive is a table to the loader ...
    assert inputs.choices.strategy == "random" and inputs.choices.table_defaults == ()  # ... not a file


@pytest.mark.parametrize("flags, expected, defaults", [
    (["--strategy", "random"], ("random", 20, 30, "tabular"), ("--space",)),
    (["--strategy", "asha"], ("asha", 60, 27, "tabular"), ("--space", "--n-iter", "--epochs")),
    (["--n-iter", "5"], ("asha", 5, 27, "tabular"), ("--space", "--strategy", "--epochs")),
    (["--epochs", "30"], ("asha", 60, 30, "tabular"), ("--space", "--strategy", "--n-iter")),
    (["--space", "paper"], ("asha", 60, 27, "paper"), ("--strategy", "--n-iter", "--epochs")),
    (["--strat", "tpe", "--n-iter", "3"], ("tpe", 3, 30, "tabular"), ("--space",)),
    (["--strategy", "grid", "--n-iter", "4"], ("grid", 4, 30, "paper"), ()),
    (["--strategy", "random", "--n-iter", "2", "--epochs", "3", "--space", "paper"],
     ("random", 2, 3, "paper"), ()),
])
def test_explicit_flags_win(tmp_path, table, flags, expected, defaults):
    inputs, plan = _stages(tmp_path, "--data", table, "--target", "label", *flags)
    chosen = inputs.choices
    assert (chosen.strategy, chosen.n_iter, chosen.epochs, chosen.space) == expected
    assert chosen.table_defaults == defaults
    assert plan.strategy == expected[0]
    assert ("Defaults for a table" in plan.banner) == bool(defaults)
    assert all(f in plan.banner for f in defaults)
    if expected[3] == "paper" and expected[0] != "grid":
        assert plan.space_text == {"hidden_units": "IntRange(16, 496, step=32)",
                                   "learning_rate": "LogUniform(1e-05, 1.0)"}


def test_given_reads_what_was_typed():
    assert given(["--epochs", "30"]) == {"epochs"}  # typed with its default value: given
    assert given(["--n-it", "3", "--batch-size", "8"]) == {"n_iter", "batch_size"}
    assert given(["--cv", "2"]) == frozenset()


def test_space_keywords_on_images_and_a_given_batch_size(tmp_path, table):
    _, plan = _stages(tmp_path, "--space", "tabular", "--strategy", "random", "--n-iter", "2")
    assert all(NUMERIC_SCALING not in b for b in plan.space)  # digits: no numeric branch
    assert plan.space[0]["batch_size"] == [32, 64, 128, 256, 512]  # 898-row folds take them all
    inputs, plan = _stages(tmp_path, "--data", table, "--target", "label", "--batch-size", "16")
    assert inputs.batch_size == 16 and plan.search.estimator.steps[-1][1].batch_size == 16
    assert all("batch_size" not in b for b in plan.space)  # the flag, for every fit


def _space_file(tmp_path, spec):
    path = tmp_path / "space.json"
    path.write_text(json.dumps(spec))
    return str(path)


def test_a_space_file_may_search_the_numeric_scaling(tmp_path, table):
    spec = {"hidden_units": [8], NUMERIC_SCALING: ["standard", "robust"]}
    inputs, plan = _stages(tmp_path, "--data", table, "--target", "label", "--strategy", "random",
                           "--space", _space_file(tmp_path, spec))
    assert plan.search.param_distributions == {"classifier__hidden_units": [8],
                                               NUMERIC_SCALING: ["standard", "robust"]}
    assert inputs.choices.table_defaults == ()
    # a space file searches the estimator's own defaults: no preset recipe added
    network = plan.search.estimator.steps[-1][1]
    assert (network.learning_rate_schedule, network.label_smoothing) == ("constant", 0.0)


def test_progress_names_a_pipeline_parameter_whole(tmp_path, table):
    # the network's prefix is dropped, the scaling's path kept (it was shown as 'method=')
    from skkeras_search.cli._progress import ProgressMonitor, read_progress

    spec = {"hidden_units": [8], NUMERIC_SCALING: ["robust"]}
    inputs, plan = _stages(tmp_path, "--data", table, "--target", "label", "--strategy",
                           "random", "--epochs", "1", "--space", _space_file(tmp_path, spec))
    scorer, model = plan.search.scoring, plan.search.estimator
    model.set_params(classifier__hidden_units=8, **{NUMERIC_SCALING: "robust"})
    model.fit(inputs.X_tr, inputs.y_tr)
    scorer(model, inputs.X_tr, inputs.y_tr)
    records = read_progress(scorer.path)
    assert [r["params"] for r in records] == [{"hidden_units": 8, NUMERIC_SCALING: "robust"}]
    line = ProgressMonitor(scorer.path, 2, 2, None).line(records)
    assert f"| hidden_units=8 {NUMERIC_SCALING}=robust:" in line


@pytest.mark.parametrize("flags, message", [
    (lambda t, p: ["--data", t, "--target", "label", "--space", "tabular", "--strategy", "grid"],
     "--space tabular holds ranges, but --strategy grid needs a list of values"),
    (lambda t, p: ["--data", t, "--target", "label", "--space",
                   _space_file(p, {NUMERIC_SCALING: ["standard", "minmax"]})],
     f"{NUMERIC_SCALING}='minmax' is not a scaling method"),
    (lambda t, p: ["--space", _space_file(p, {NUMERIC_SCALING: ["quantile"]})],
     f"'{NUMERIC_SCALING}' scales a table's numeric columns, but this data has none"),
    (lambda t, p: ["--data", t, "--target", "label", "--warm-start-from", str(p)],
     "but --strategy asha (the default for a table) has none"),
])
def test_space_and_strategy_usage_errors(tmp_path, table, flags, message):
    (tmp_path / "cv_results.csv").write_text("params\n")
    with pytest.raises(UsageError, match=re.escape(message)):
        _stages(tmp_path, *flags(table, tmp_path))


# ------------------------------------------------------------------ --target-transform
def _prices(tmp_path, n=120, low=None):
    rng = np.random.RandomState(0)
    X = pd.DataFrame({"size": rng.uniform(30, 200, n), "rooms": rng.randint(1, 6, n),
                      "town": rng.choice(["north", "south", "east"], n)})
    y = np.exp(10 + 0.01 * X["size"] + 0.3 * (X["town"] == "south") + 0.2 * rng.randn(n))
    if low is not None:
        y.iloc[:3] = low
    path = tmp_path / "prices.csv"
    X.assign(price=y).to_csv(path, index=False)
    return str(path), y


def test_target_transform_log_end_to_end(tmp_path, capsys):
    from skkeras_search.persistence import load_model

    data, y = _prices(tmp_path)
    out = tmp_path / "out"
    code = main(["--data", data, "--target", "price", "--target-transform", "log",
                 "--strategy", "random", "--space", "paper", "--n-iter", "1", "--epochs", "5",
                 "--cv", "2", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "fitted on log(y), scored in the target's units" in captured.err.splitlines()[0]
    assert "the network fits log(y), standardised" in captured.out
    report = json.loads((out / "report.json").read_text())
    assert report["search"]["target_transform"] == "log"
    with open(out / "test_predictions.csv") as fh:
        rows = list(csv.DictReader(fh))
    y_true = np.array([float(r["y_true"]) for r in rows])
    y_pred = np.array([float(r["y_pred"]) for r in rows])
    assert report["test_score"] == pytest.approx(r2_score(y_true, y_pred))  # in price units
    assert y_pred.min() > 0 and 0.1 < np.median(y_pred) / np.median(y_true) < 10
    model = load_model(str(out / "best_model"))
    frame = pd.read_csv(data).drop(columns="price")
    index = [int(r["index"]) for r in rows]
    np.testing.assert_allclose(model.predict(frame.iloc[index]), y_pred, rtol=1e-5)
    regressor = model.pipeline.steps[-1][1]
    assert regressor.transformer_.steps[0][1].func is np.log  # reloaded with the model


@pytest.mark.parametrize("flags, low, message", [
    (["--target-transform", "log"], 0.0,
     "--target-transform log needs every target above 0, but column 'price' has 3 value(s) <= 0 "
     "(smallest 0). Use --target-transform log1p for a target >= 0"),
    (["--target-transform", "log1p"], -2.0,
     "--target-transform log1p needs every target above -1, but column 'price' has 3 value(s) "
     "<= -1 (smallest -2). Drop --target-transform."),
    (["--target-transform", "log", "--task", "classification"], None,
     "--target-transform log applies to regression targets, but this target is classification"),
])
def test_target_transform_usage_errors(tmp_path, flags, low, message):
    data, _ = _prices(tmp_path, low=low)
    with pytest.raises(UsageError, match=re.escape(message)):
        _stages(tmp_path, "--data", data, "--target", "price", *flags)


def test_target_transform_log1p_takes_zeros_and_a_usage_error_exits_2(tmp_path, capsys):
    data, _ = _prices(tmp_path, low=0.0)
    inputs, plan = _stages(tmp_path, "--data", data, "--target", "price",
                           "--target-transform", "log1p")
    transformer = plan.search.estimator.steps[-1][1].transformer
    assert transformer.steps[0][1].func is np.log1p
    assert main(["--data", data, "--target", "price", "--target-transform", "log", "-q",
                 "--out", str(tmp_path / "o")]) == 2
    assert "Use --target-transform log1p" in capsys.readouterr().err
