"""Numeric scaling in the searched pipeline: three methods, each fitted inside each fold."""

import doctest
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, QuantileTransformer, RobustScaler, StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from skkeras_search import KerasMLPClassifier
from skkeras_search.datasets import NumericScaler, TableSchema, _scaling, build_pipeline, describe
from skkeras_search.persistence import TRUSTED_TYPES, load_model, save_model

METHODS = ["standard", "quantile", "robust"]
PATH = "preprocess__numeric__scale__method"
OURS = f"{NumericScaler.__module__}.{NumericScaler.__qualname__}"
COLUMNS, CATEGORICAL = ["height", "income", "sex"], ["sex"]


@pytest.fixture(scope="module")
def table():
    """80 rows: a normal column with gaps, a skewed one with an outlier, a text column."""
    rng = np.random.RandomState(0)
    n = 80
    height = rng.normal(170, 10, n)
    income = np.exp(rng.normal(10, 1, n))
    income[7] = 1e7
    sex = rng.choice(["M", "F"], n).astype(object)
    y = np.where(height + (sex == "M") * 8 + rng.normal(0, 4, n) > 174, "tall", "short")
    height[[3, 17, 40, 41, 60]] = np.nan
    return pd.DataFrame({"height": height, "income": income, "sex": sex}), y


def _pipeline(classifier=None, **kw):
    classifier = classifier or KerasMLPClassifier(hidden_units=8, epochs=3, random_state=0)
    return build_pipeline(classifier, columns=COLUMNS, categorical=CATEGORICAL, **kw)


def _before_this_change(classifier):
    """The pipeline build_pipeline made before numeric_scaling existed."""
    return Pipeline([
        ("columns", TableSchema(columns=COLUMNS, categorical=CATEGORICAL)),
        ("preprocess", ColumnTransformer([
            ("numeric", Pipeline([("impute", SimpleImputer(strategy="median", add_indicator=True)),
                                  ("scale", StandardScaler())]), ["height", "income"]),
            ("categorical", Pipeline([("impute", SimpleImputer(strategy="most_frequent")),
                                      ("onehot", OneHotEncoder(handle_unknown="ignore",
                                                               sparse_output=False,
                                                               dtype=np.float32))]), ["sex"]),
        ], remainder="drop")),
        ("classifier", classifier),
    ])


def _skewed(n=300, seed=0):
    rng = np.random.RandomState(seed)
    return np.c_[np.exp(rng.normal(0, 1, n)), rng.normal(5, 2, n), rng.randint(0, 4, n)]


# --- each method against its reference ---------------------------------------------------------

def test_standard_is_standard_scaler_exactly():
    X = _skewed().astype(np.float32)
    out = NumericScaler().fit(X).transform(X)
    assert out.dtype == np.float32
    assert np.array_equal(out, StandardScaler().fit(X).transform(X))


def test_standard_is_bit_identical_to_the_pipeline_before(table):
    """The default pipeline feeds the network as before; searched to 'standard', so does NumericScaler."""
    X, y = table
    old = _before_this_change(KerasMLPClassifier(hidden_units=8, epochs=3, random_state=0)).fit(X, y)
    default = _pipeline(LogisticRegression()).fit(X, y)  # the same steps as before
    searched = _pipeline(numeric_scaling="robust").set_params(**{PATH: "standard"}).fit(X, y)
    steps = [p.named_steps["preprocess"].named_transformers_["numeric"].named_steps["scale"]
             for p in (default, searched)]
    assert type(steps[0]) is NumericScaler and type(steps[1]) is NumericScaler  # searchable in both
    assert np.array_equal(default[:-1].transform(X), old[:-1].transform(X))
    assert np.array_equal(searched[:-1].transform(X), old[:-1].transform(X))
    assert np.array_equal(searched.predict_proba(X), old.predict_proba(X))


@pytest.mark.parametrize("n, n_quantiles", [(60, 10), (600, 20), (40_000, 1000), (7, 7)])
def test_quantile_is_the_noisy_quantile_transform(n, n_quantiles):
    """Gorishniy et al.: normal output, max(min(n // 30, 1000), 10) quantiles, noise at fit only."""
    X = _skewed(n)
    scaler = NumericScaler(method="quantile", random_state=7).fit(X)
    noisy = X + 1e-3 * X.std(axis=0) * np.random.default_rng(7).standard_normal(X.shape)
    reference = QuantileTransformer(output_distribution="normal", n_quantiles=n_quantiles,
                                    subsample=10**9, random_state=7).fit(noisy)
    assert scaler.scaler_.n_quantiles_ == n_quantiles
    assert np.array_equal(scaler.transform(X), reference.transform(X))


def test_quantile_output_is_normal_and_unit_free():
    X = _skewed(3000)
    out = NumericScaler(method="quantile", random_state=0).fit_transform(X[:, :2])
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=0.02)
    np.testing.assert_allclose(out.std(axis=0), 1, atol=0.02)
    # the noise follows each column's own spread, so a change of unit changes nothing
    in_mm = NumericScaler(method="quantile", random_state=0).fit(X * 1000).transform(X * 1000)
    np.testing.assert_allclose(in_mm, NumericScaler(method="quantile", random_state=0)
                               .fit(X).transform(X), atol=1e-9)


def test_quantile_noise_only_at_fit():
    X = _skewed()
    scaler = NumericScaler(method="quantile", random_state=3).fit(X)
    clean = QuantileTransformer(output_distribution="normal", n_quantiles=10,
                                subsample=10**9).fit(X)
    assert not np.array_equal(scaler.scaler_.quantiles_, clean.quantiles_)  # noise at fit
    first = scaler.transform(X)
    assert np.array_equal(scaler.transform(X), first)  # no draw at transform
    assert np.array_equal(scaler.transform(X[:5]), first[:5])  # a row's output is its own


def test_quantile_is_seeded():
    X = _skewed()
    a = NumericScaler(method="quantile", random_state=1).fit_transform(X)
    assert np.array_equal(NumericScaler(method="quantile", random_state=1).fit_transform(X), a)
    assert not np.array_equal(NumericScaler(method="quantile", random_state=2).fit_transform(X), a)
    rng_a, rng_b = np.random.RandomState(5), np.random.RandomState(5)
    assert np.array_equal(NumericScaler(method="quantile", random_state=rng_a).fit_transform(X),
                          NumericScaler(method="quantile", random_state=rng_b).fit_transform(X))


def test_robust_by_hand():
    """Holzmüller et al.: (x - median) / IQR, (max - min) / 2 where the IQR is 0, smooth clip at 3."""
    X = np.array([[1.0, 0.0, 4.0], [2.0, 0.0, 4.0], [3.0, 0.0, 4.0], [4.0, 0.0, 4.0],
                  [100.0, 6.0, 4.0]])
    out = NumericScaler(method="robust").fit(X).transform(X)
    z = np.c_[(X[:, 0] - 3) / 2, X[:, 1] / 3, np.zeros(5)]  # IQR 2; IQR 0 -> (6 - 0) / 2; constant
    assert np.allclose(out, z / np.sqrt(1 + (z / 3) ** 2), rtol=0, atol=1e-12)
    assert out[4, 0] == pytest.approx(48.5 / np.sqrt(1 + 48.5**2 / 9))
    assert np.abs(out).max() < 3


def test_robust_matches_sklearn_robust_scaler_then_smooth_clip():
    X = _skewed(500)
    expected = _scaling.smooth_clip(RobustScaler().fit(X).transform(X))
    np.testing.assert_allclose(NumericScaler(method="robust").fit_transform(X), expected,
                               rtol=1e-12, atol=1e-12)


@given(arrays(np.float64, st.tuples(st.integers(2, 30), st.integers(1, 4)),
              elements=st.floats(-1e6, 1e6)), st.sampled_from(["quantile", "robust"]))
def test_outputs_are_bounded_and_finite(X, method):
    out = NumericScaler(method=method, random_state=0).fit(X).transform(X)
    bound = 3 if method == "robust" else 5.2
    assert out.shape == X.shape and np.isfinite(out).all() and np.abs(out).max() <= bound


# --- constant columns, 0/1 columns, missing values ----------------------------------------------

@pytest.mark.parametrize("method", METHODS)
def test_constant_column_becomes_zero(method):
    X = np.c_[_skewed(50)[:, 0], np.full(50, 3.0)]
    scaler = NumericScaler(method=method, random_state=0).fit(X)
    assert np.all(scaler.transform(X)[:, 1] == 0)
    assert np.isfinite(scaler.transform(np.array([[1.0, 1e6]]))).all()
    if method != "standard":
        assert scaler.transform(np.array([[1.0, 1e6]]))[0, 1] == 0


@pytest.mark.parametrize("method", ["quantile", "robust"])
def test_zero_one_columns_are_left_as_they_are(method):
    rng = np.random.RandomState(0)
    X = np.c_[rng.normal(size=100), (rng.rand(100) < 0.1).astype(float)]
    scaler = NumericScaler(method=method, random_state=0).fit(X)
    assert scaler.binary_.tolist() == [False, True]
    out = scaler.transform(X)
    assert np.array_equal(out[:, 1], X[:, 1]) and not np.array_equal(out[:, 0], X[:, 0])
    assert not NumericScaler().fit(X).binary_.any()  # 'standard' standardises every column


@pytest.mark.parametrize("method", METHODS)
def test_missing_indicators_and_imputed_values_in_the_pipeline(table, method):
    X, y = table
    pipe = _pipeline(LogisticRegression(), numeric_scaling=method, random_state=0).fit(X, y)
    out = pipe[:-1].transform(X)
    names = list(pipe[:-1].get_feature_names_out())
    indicator = out[:, names.index("numeric__missingindicator_height")]
    assert np.isfinite(out).all()
    if method == "standard":
        assert len(np.unique(indicator)) == 2 and indicator.min() < 0
    else:
        assert np.array_equal(indicator, X["height"].isna().to_numpy(np.float32))
    if method == "robust":
        assert np.abs(out[:, names.index("numeric__income")]).max() < 3  # the outlier, clipped


@pytest.mark.parametrize("method", METHODS)
def test_nan_is_ignored_at_fit_and_kept_at_transform(method):
    X = _skewed(100)
    gappy = X.copy()
    gappy[::7, 0] = np.nan
    scaler = NumericScaler(method=method, random_state=0).fit(gappy)
    out = scaler.transform(gappy)
    assert np.array_equal(np.isnan(out), np.isnan(gappy))
    rows = ~np.isnan(gappy[:, 0])
    alone = NumericScaler(method=method, random_state=0).fit(gappy[rows, :1])
    if method != "quantile":  # the quantile noise is drawn for every cell, so it differs
        np.testing.assert_allclose(out[rows, :1], alone.transform(gappy[rows, :1]), rtol=1e-12)


# --- in the search: fitted inside each fold, searchable, reported, saved -------------------------

@pytest.mark.parametrize("method", ["quantile", "robust"])
def test_each_fold_fits_its_own_scaler(table, method):
    """Each fold's scaler is the one fitted on that fold's imputed training rows, not all rows."""
    X, y = table
    cv = KFold(3, shuffle=True, random_state=0)
    pipe = _pipeline(LogisticRegression(), numeric_scaling=method, random_state=0)
    result = cross_validate(pipe, X, y, cv=cv, return_estimator=True)
    numbers = TableSchema(columns=COLUMNS, categorical=CATEGORICAL).fit(X).transform(X)
    numbers = numbers[["height", "income"]]  # float32, as the pipeline's imputer gets them
    on_all_rows = pipe.fit(X, y).named_steps["preprocess"].named_transformers_["numeric"]
    for (train, test), fitted in zip(cv.split(X, y), result["estimator"]):
        numeric = fitted.named_steps["preprocess"].named_transformers_["numeric"]
        own = NumericScaler(method=method, random_state=0).fit(
            numeric.named_steps["impute"].transform(numbers.iloc[train]))
        test_rows = numeric.named_steps["impute"].transform(numbers.iloc[test])
        assert np.array_equal(numeric.named_steps["scale"].transform(test_rows),
                              own.transform(test_rows))
        # the two value columns (a fold may lack the indicator: no gap among its rows)
        assert not np.allclose(numeric.transform(numbers.iloc[test])[:, :2],
                               on_all_rows.transform(numbers.iloc[test])[:, :2])


def test_search_over_the_three_methods(table):
    X, y = table
    pipe = _pipeline(numeric_scaling="quantile", random_state=0)
    search = GridSearchCV(pipe, {PATH: METHODS}, cv=2, scoring="neg_log_loss",
                          error_score="raise").fit(X, y)
    rows = search.cv_results_
    assert list(rows[f"param_{PATH}"]) == METHODS
    assert len(set(rows["mean_test_score"])) == 3, rows["mean_test_score"]
    best = search.best_estimator_
    assert describe(best, X)["numeric_scaling"] == search.best_params_[PATH]
    assert best.predict(X).shape == (80,)


def test_describe_names_the_scaling(table):
    X, y = table
    for method in METHODS:
        fitted = _pipeline(LogisticRegression(), numeric_scaling=method).fit(X, y)
        assert describe(fitted, X)["numeric_scaling"] == method
    no_numbers = build_pipeline(LogisticRegression(), columns=["sex"], categorical=["sex"])
    assert describe(no_numbers.fit(X[["sex"]], y), X[["sex"]])["numeric_scaling"] is None


def test_skops_round_trip_holds_no_other_new_type(table):
    import skops.io as sio

    X, y = table
    pipe = _pipeline(LogisticRegression(), numeric_scaling="quantile", random_state=0).fit(X, y)
    blob = sio.dumps(pipe)
    assert set(sio.get_untrusted_types(data=blob)) - set(TRUSTED_TYPES) <= {OURS}
    loaded = sio.loads(blob, trusted=[*TRUSTED_TYPES, OURS])
    assert np.array_equal(loaded.predict_proba(X), pipe.predict_proba(X))


def test_save_model_and_load_model(table, tmp_path):
    X, y = table
    pipe = _pipeline(numeric_scaling="robust").fit(X, y)
    save_model(str(tmp_path), pipe)
    assert np.array_equal(load_model(str(tmp_path)).predict_proba(X), pipe.predict_proba(X))


# --- the transformer's contract ----------------------------------------------------------------

@parametrize_with_checks([NumericScaler(method=m, random_state=0) for m in METHODS])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_wrong_method_names_the_parameter(table):
    with pytest.raises(InvalidParameterError, match=re.escape(
            "The 'method' parameter of NumericScaler must be a str among")):
        NumericScaler(method="quantil").fit(_skewed())
    with pytest.raises(ValueError, match=re.escape(
            "numeric_scaling='quantil' is not a scaling method. Did you mean 'quantile'? "
            "Use 'standard', 'quantile' or 'robust'.")):
        _pipeline(numeric_scaling="quantil")
    X, y = table
    with pytest.raises(InvalidParameterError, match="'method' parameter of NumericScaler"):
        _pipeline(LogisticRegression(), numeric_scaling="robust").set_params(
            **{PATH: "minmax"}).fit(X, y)


def test_docstring_example():
    assert doctest.testmod(_scaling).failed == 0
