"""Preprocessing inside the searched pipeline: column contract, encoding, no leakage."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.model_selection import KFold, RandomizedSearchCV, cross_validate

from skkeras_search import KerasMLPClassifier, paper_space
from skkeras_search.datasets import DataError, DataUsageError
from skkeras_search.datasets._preprocessing import (
    DataWarning,
    ImageScaler,
    TableSchema,
    build_pipeline,
    describe,
    select_features,
)


@pytest.fixture(scope="module")
def table():
    """60 rows: two numeric columns with gaps, a text column with gaps, a code column."""
    rng = np.random.RandomState(0)
    n = 60
    height = rng.normal(170, 10, n)
    weight = rng.normal(70, 8, n)
    sex = rng.choice(["M", "F"], n).astype(object)
    code = rng.choice([1, 2, 3], n)
    y = np.where(height + (sex == "M") * 8 + rng.normal(0, 3, n) > 174, "tall", "short")
    height[[3, 17, 40]] = np.nan
    sex[[5, 22]] = np.nan
    frame = pd.DataFrame({"height": height, "weight": weight, "sex": sex, "code": code})
    return frame, y


def _pipeline(**kw):
    clf = KerasMLPClassifier(hidden_units=8, epochs=3, random_state=0)
    return build_pipeline(clf, columns=["height", "weight", "sex", "code"],
                          categorical=["sex", "code"], **kw)


def test_columns_in_any_order_extra_ignored_missing_named(table):
    X, y = table
    pipe = _pipeline().fit(X, y)
    expected = pipe.predict_proba(X)
    assert np.array_equal(pipe.predict_proba(X[["code", "sex", "weight", "height"]]), expected)
    with pytest.warns(DataWarning, match=re.escape("column(s) ['id'] that the model was not "
                                                   "trained on; they are ignored")):
        assert np.array_equal(pipe.predict_proba(X.assign(id=np.arange(60))), expected)
    with pytest.raises(ValueError, match=re.escape("X is missing column(s) ['weight']")):
        pipe.predict(X.drop(columns=["weight"]))


def test_array_in_training_order_and_wrong_width(table):
    X, y = table
    pipe = _pipeline().fit(X, y)
    assert np.array_equal(pipe.predict_proba(X.to_numpy(dtype=object)), pipe.predict_proba(X))
    with pytest.raises(ValueError, match=re.escape("X has shape (60, 3), but the model was "
                                                   "trained on 4 columns")):
        pipe.predict(X.to_numpy()[:, :3])


def test_unseen_category_is_ignored_and_codes_compare_as_numbers(table):
    X, y = table
    pipe = _pipeline().fit(X, y)
    encoded = pipe[:-1].transform(X.assign(sex="X"))
    onehot = pipe.named_steps["preprocess"].named_transformers_["categorical"]
    sex_columns = [i for i, name in enumerate(pipe[:-1].get_feature_names_out())
                   if name.startswith("categorical__sex_")]
    assert onehot.named_steps["onehot"].categories_[0].tolist() == ["F", "M"]
    assert np.all(encoded[:, sex_columns] == 0)  # unknown -> all zeros, no error
    as_text = X.assign(code=X["code"].map(lambda c: f" {c}.0"))  # '1.0' is the code 1
    assert np.array_equal(pipe.predict_proba(as_text), pipe.predict_proba(X))


def test_numeric_column_given_text_is_an_error(table):
    X, y = table
    pipe = _pipeline().fit(X, y)
    bad = X.astype({"weight": object})
    bad.loc[4, "weight"] = "heavy"
    with pytest.raises(ValueError, match=re.escape("column 'weight' holds text 'heavy' (row 4)")):
        pipe.predict(bad)
    with pytest.raises(ValueError, match="column 'weight' has an infinite value"):
        pipe.predict(X.assign(weight=np.inf))


def test_each_fold_fits_preprocessing_on_its_own_training_rows(table):
    """The leakage test: every statistic equals the one computed on that fold's training rows."""
    X, y = table
    cv = KFold(3, shuffle=True, random_state=0)
    result = cross_validate(_pipeline(), X, y, cv=cv, return_estimator=True)
    for (train, _), fitted in zip(cv.split(X, y), result["estimator"]):
        rows = X.iloc[train]
        numeric = fitted.named_steps["preprocess"].named_transformers_["numeric"]
        medians = np.nanmedian(rows[["height", "weight"]].to_numpy(np.float32), axis=0)
        np.testing.assert_allclose(numeric.named_steps["impute"].statistics_, medians, rtol=1e-6)
        imputed = rows[["height", "weight"]].fillna(pd.Series(medians, ["height", "weight"]))
        indicator = rows["height"].isna().to_numpy(np.float32)
        means = np.r_[imputed.mean().to_numpy(), indicator.mean()]
        np.testing.assert_allclose(numeric.named_steps["scale"].scaler_.mean_, means, rtol=1e-5)
        full_mean = X[["height", "weight"]].fillna(X[["height", "weight"]].median()).mean()
        assert not np.allclose(numeric.named_steps["scale"].scaler_.mean_[:2], full_mean, rtol=1e-6)
        categorical = fitted.named_steps["preprocess"].named_transformers_["categorical"]
        mode = rows["sex"].mode().sort_values().iloc[0]
        assert categorical.named_steps["impute"].statistics_[0] == mode


def test_search_runs_over_the_pipeline(table):
    X, y = table
    space = {f"classifier__{k}": v for k, v in paper_space().items()}
    search = RandomizedSearchCV(_pipeline(), space, n_iter=2, cv=2, random_state=0,
                                error_score="raise").fit(X, y)
    assert "param_classifier__hidden_units" in search.cv_results_
    assert search.best_estimator_.predict(X).shape == (60,)


@given(st.permutations(["height", "weight", "sex", "code"]))
def test_schema_output_ignores_column_order(table, order):
    X, _ = table
    schema = TableSchema(columns=["height", "weight", "sex", "code"],
                         categorical=["sex", "code"]).fit(X)
    reordered, original = schema.transform(X[list(order)]), schema.transform(X)
    assert list(reordered.columns) == ["height", "weight", "sex", "code"]
    pd.testing.assert_frame_equal(reordered, original)
    assert reordered["height"].dtype == np.float32 and reordered["code"].tolist()[0] in "123"


def test_image_scaler_is_fixed_and_flattens():
    images = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    scaler = ImageScaler(255.0).fit(images)
    out = scaler.transform(images)
    assert out.shape == (2, 9) and out.dtype == np.float32
    assert np.array_equal(out, images.reshape(2, 9).astype(np.float32) / np.float32(255))
    with pytest.raises(ValueError, match="X has 4 pixels per image, but the model was trained on 9"):
        scaler.transform(np.zeros((1, 2, 2)))


def test_select_features_kinds_drop_and_identifier_warning():
    n = 30
    frame = pd.DataFrame({
        "Id": np.arange(100, 100 + n), "age": np.r_[np.arange(n - 1) % 7, np.nan],
        "name": [f"person {i}" for i in range(n)], "zip": np.arange(n) % 4,
        "empty": [np.nan] * n, "label": np.arange(n) % 2,
    })
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        columns, categorical, dropped = select_features(frame, "label", categorical=["zip"])
    messages = [str(w.message) for w in caught if w.category is DataWarning]
    assert any("column 'Id' has a different value in every row" in m and "Leave it out with drop=['Id']" in m
               for m in messages)
    assert any("column 'name'" in m for m in messages)
    assert not any("'age'" in m or "'zip'" in m for m in messages)
    assert columns == ["Id", "age", "name", "zip"] and categorical == ["name", "zip"]
    assert dropped == {"empty": "no values"}
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        columns, _, dropped = select_features(frame, "label", drop=["Id", "name"])
    assert "Id" not in columns and dropped["Id"] == "as asked"


def test_select_features_errors():
    frame = pd.DataFrame({"a": [1.0, np.inf], "text": ["x", "y"], "label": [0, 1]})
    with pytest.raises(DataUsageError, match=re.escape(
            "drop=['txet'] names 'txet', which is not a column. Did you mean 'text'?")):
        select_features(frame, "label", drop=["txet"])
    with pytest.raises(DataUsageError, match=re.escape(
            "categorical=['label'] names the label column (target='label')")):
        select_features(frame, "label", categorical=["label"])
    with pytest.raises(DataError, match=re.escape("f.csv, line 3: column 'a' is infinite")):
        select_features(frame, "label", lines=np.array([2, 3]), name="f.csv")
    with pytest.raises(DataError, match="no feature column is left"):
        select_features(frame, "label", drop=["a", "text"])


def test_mixed_numbers_and_text_warns_with_fix():
    frame = pd.DataFrame({"dose": ["1", "2.5", "3", "-", "4"], "label": [0, 1, 0, 1, 0]})
    with pytest.warns(DataWarning, match=re.escape("column 'dose' is mostly numbers but has text "
                                                   "('-' on line 5); it is treated as categorical. "
                                                   "If that text marks missing values, pass "
                                                   "na_values=['-']")):
        select_features(frame, "label", lines=np.arange(2, 7))


def test_describe_reports_what_was_done(table):
    X, y = table
    pipe = _pipeline().fit(X, y)
    d = describe(pipe, X, {"Id": "as asked"})
    assert d["columns"] == ["height", "weight", "sex", "code"]
    assert d["numeric"] == ["height", "weight"] and d["categorical"] == {"sex": 2, "code": 3}
    assert d["imputed"] == {"height": 3, "sex": 2} and d["missing_indicators"] == ["height"]
    assert d["n_features_out"] == 2 + 1 + 2 + 3 and d["dropped"] == {"Id": "as asked"}


def test_predict_time_markers_and_pandas_dtypes_match_training(table):
    """'?', spaces, na_values text, <NA> and Arrow/nullable dtypes are read as in training."""
    X, y = table
    pipe = build_pipeline(KerasMLPClassifier(hidden_units=8, epochs=3, random_state=0),
                          columns=["height", "weight", "sex", "code"], categorical=["sex", "code"],
                          na_values=["unknown"]).fit(X, y)
    expected = pipe.predict_proba(X)
    for marker in ["?", "  ", " NA ", "unknown", pd.NA, None]:
        odd = X.astype({"sex": object, "height": object})
        odd.loc[X["sex"].isna(), "sex"] = marker
        odd.loc[X["height"].isna(), "height"] = marker
        assert np.array_equal(pipe.predict_proba(odd), expected), marker
    assert np.array_equal(pipe.predict_proba(X.convert_dtypes()), expected)
    assert np.array_equal(pipe.predict_proba(X.convert_dtypes(dtype_backend="pyarrow")), expected)
    with pytest.raises(ValueError, match="more than one column named 'sex'"):
        pipe.predict(pd.concat([X, X[["sex"]]], axis=1))


def test_camel_case_identifier_names_are_warned():
    frame = pd.DataFrame({"CustomerID": np.arange(30) * 7 + 3, "x": np.arange(30) % 5,
                          "label": np.arange(30) % 2})
    with pytest.warns(DataWarning, match="column 'CustomerID' has a different value"):
        select_features(frame, "label")
    with pytest.raises(DataUsageError, match=re.escape(
            "drop=['label'] names the label column (target='label')")):
        select_features(frame.drop(columns="label"), "label", drop=["label"])
