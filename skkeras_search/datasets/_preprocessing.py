"""The one place that turns raw features into network input.

Tables become a scikit-learn ``Pipeline``: :class:`TableSchema` (checks,
orders and types the columns seen in training) and a ``ColumnTransformer``
(numeric: median imputation with missing-indicators, then standardisation
or :class:`NumericScaler`'s quantile or robust scaling; categorical:
most-frequent imputation, then one-hot encoding that ignores categories
unseen in training), followed by the classifier. The search runs
over that pipeline, so every cross-validation fold fits its own
preprocessing on its own training rows and nothing leaks from validation
rows (the pattern of scikit-learn's example "Column Transformer with Mixed
Types"). Images get :class:`ImageScaler`, a fixed division that learns
nothing from the data.
"""

import difflib
import re
import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from skkeras_search._core.validation import fitted_network
from skkeras_search.datasets._cells import MISSING_MARKERS
from skkeras_search.datasets._numbers import number_like
from skkeras_search.datasets._scaling import NumericScaler, check_scaling
from skkeras_search.exceptions import DataError, DataUsageError, DataWarning, literal

__all__ = ["DataWarning", "TableSchema", "ImageScaler", "select_features", "build_pipeline",
           "describe"]


def _is_missing(value):
    import pandas as pd

    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, (float, np.floating)) and bool(np.isnan(value))


def _is_number(value):
    try:
        return bool(np.isfinite(float(str(value).strip())))
    except ValueError:
        return False


def _category(value, markers=frozenset()):
    """The text a categorical cell is compared by: 1, 1.0 and '1' are one category.

    Missing cells (None, NaN, ``<NA>``, and texts in ``markers`` after stripping
    spaces) are NaN, so the imputer fills them as in training.
    """
    if _is_missing(value):
        return np.nan
    if isinstance(value, str) and value.strip() in markers:
        return np.nan
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, float, np.integer, np.floating)):
        value = float(value)
        return str(int(value)) if value.is_integer() else repr(value)
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    if not np.isfinite(number):
        return text
    return str(int(number)) if number.is_integer() else repr(number)


class TableSchema(TransformerMixin, BaseEstimator):
    """Check, order and type a table's feature columns as they were in training.

    The first step of a table pipeline. It takes a DataFrame with the
    training columns in any order (extra columns are dropped with a
    warning; a missing one is an error naming it), or a 2-D array whose
    columns are in the training order, and returns a DataFrame with numeric
    columns as float32 and categorical ones as text.

    Parameters
    ----------
    columns : sequence of str
        The feature columns, in training order.
    categorical : sequence of str, default=()
        The columns among ``columns`` treated as categories; the rest are numbers.
    na_values : sequence of str, default=()
        Cell texts meaning "missing", besides the reader's markers (empty,
        ``?``, ``NA``, ``NaN``, ``null``, ...): the same as in training.

    Attributes
    ----------
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
    """

    def __init__(self, columns=(), categorical=(), na_values=()):
        self.columns = columns
        self.categorical = categorical
        self.na_values = na_values

    def fit(self, X, y=None):
        """Check that ``X`` has the columns; returns self.

        Raises
        ------
        ValueError
            A column is missing, or a numeric column holds text.
        """
        unknown = sorted(set(self.categorical) - set(self.columns))
        if unknown:
            raise ValueError(f"categorical={unknown!r} are not among columns={list(self.columns)!r}. "
                             "Name feature columns only.")
        self.feature_names_in_ = np.asarray(list(self.columns), dtype=object)
        self.n_features_in_ = len(self.columns)
        self._typed(X)
        return self

    def transform(self, X):
        """The columns in training order, typed.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features_in_)

        Returns
        -------
        frame : DataFrame of shape (n_samples, n_features_in_)

        Raises
        ------
        ValueError
            A column is missing, the array's width is wrong, or a numeric
            column holds text or infinite values.
        """
        check_is_fitted(self)
        return self._typed(X)

    def get_feature_names_out(self, input_features=None):
        """The training columns, in training order."""
        check_is_fitted(self)
        return np.asarray(list(self.columns), dtype=object)

    def _typed(self, X):
        import pandas as pd

        columns = list(self.columns)
        if isinstance(X, pd.DataFrame):
            names = [str(c).strip() for c in X.columns]  # ' age' in a ', '-separated file
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise ValueError(f"X has more than one column named {twice[0]!r} (once spaces "
                                 "are stripped). Pass each column once.")
            missing = [c for c in columns if c not in names]
            if missing:
                raise ValueError(
                    f"X is missing column(s) {missing!r} that the model was trained on. Pass a "
                    f"DataFrame with the columns {columns!r} (any order)."
                )
            extra = [c for c in names if c not in set(columns)]
            if extra:
                warnings.warn(DataWarning(literal(f"X has column(s) {extra[:10]!r} that the model "
                                                  "was not trained on; they are ignored.")),
                              stacklevel=3)
            X = X.set_axis(names, axis=1)[columns]
        else:
            array = np.asarray(X, dtype=object) if not hasattr(X, "dtype") else np.asarray(X)
            if array.ndim != 2 or array.shape[1] != len(columns):
                raise ValueError(
                    f"X has shape {array.shape}, but the model was trained on "
                    f"{len(columns)} columns {columns!r}. Pass a DataFrame with those columns, or "
                    "a 2-D array with them in that order."
                )
            X = pd.DataFrame(array, columns=columns)
        categorical = set(self.categorical)
        markers = MISSING_MARKERS | set(self.na_values)
        return pd.DataFrame({c: (_categories(X[c], markers) if c in categorical
                                 else _numbers(X[c], c, markers)) for c in columns},
                            index=X.index)


def _categories(column, markers):
    return np.array([_category(v, markers) for v in column.to_numpy(dtype=object)], dtype=object)


def _numbers(column, name, markers):
    import pandas as pd

    if pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype):
        # numpy or nullable (Int64, Float64, Arrow) numbers; <NA> becomes NaN
        numbers = column.astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)
        numbers = numbers.astype(np.float32)
    else:
        column = column.astype(object).where(column.notna(), np.nan)
        texts = column.map(lambda v: v.strip() if isinstance(v, str) else v)
        texts = texts.map(lambda v: np.nan if isinstance(v, str) and v in markers else v)
        numbers = pd.to_numeric(texts, errors="coerce").to_numpy(dtype=np.float64)
        bad = np.isnan(numbers) & ~texts.isna().to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"column {name!r} holds text {texts.iloc[row]!r} (row {row}), but the model was "
                "trained on numbers there. Pass numbers, or leave the cell empty for a missing "
                "value."
            )
        numbers = numbers.astype(np.float32)
    if np.isinf(numbers).any():
        row = int(np.flatnonzero(np.isinf(numbers))[0])
        raise ValueError(f"column {name!r} has an infinite value (row {row}). Replace it with a "
                         "number, or leave the cell empty for a missing value.")
    return numbers


class ImageScaler(TransformerMixin, BaseEstimator):
    """Flatten images and divide them by a fixed pixel maximum (255 for uint8).

    Stateless: the scaling comes from the pixel format, not from the data,
    so it leaks nothing between folds.

    Parameters
    ----------
    max_value : float, default=255.0
        Pixel value mapped to 1.
    """

    def __init__(self, max_value=255.0):
        self.max_value = max_value

    def fit(self, X, y=None):
        """Record the flattened width; returns self."""
        self.n_features_in_ = int(np.prod(np.shape(X)[1:]))
        return self

    def transform(self, X):
        """Images of shape (n_samples, ...) -> float32 array of shape (n_samples, n_pixels)."""
        X = np.asarray(X)
        X = X.reshape(len(X), -1)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} pixels per image, but the model was trained "
                             f"on {self.n_features_in_}. Pass images of the training size.")
        return X.astype(np.float32) / np.float32(self.max_value)

    def get_feature_names_out(self, input_features=None):
        """``pixel0``, ``pixel1``, ... (row-major)."""
        return np.asarray([f"pixel{i}" for i in range(self.n_features_in_)], dtype=object)


_ID_NAME = re.compile(r"(^|[_\s.-])(id|key|uuid|guid|index)$|^id[_\s.-]|^unnamed: ?\d+$"
                      r"|(?-i:[a-z0-9](Id|ID|Key|UUID))$", re.I)  # also CustomerID, PassengerId


def _looks_like_identifier(name, values, numeric):
    """Unique per row and, for numbers, whole and either named like an id or consecutive."""
    present = values.dropna()
    if len(values) < 10 or len(present) != len(values) or present.nunique() != len(values):
        return False
    if not numeric:
        return True
    numbers = present.to_numpy(dtype=np.float64)
    if not np.all(numbers == np.round(numbers)):
        return False
    ordered = np.sort(numbers)
    return bool(_ID_NAME.search(name)) or bool(np.all(np.diff(ordered) == 1))


def _check_names(parameter, names, target, columns):
    """Refuse ``names`` (the value of ``parameter``) naming the target or no column."""
    names = list(names)
    for name in names:
        if name == target:
            raise DataUsageError(
                f"{{{parameter}}} names the label column ({{target}}). Name feature columns only.",
                **{parameter: names, "target": target})
        if name not in columns:
            close = difflib.get_close_matches(name, columns, n=1)
            hint = (f"Did you mean {close[0]!r}?" if close
                    else f"Columns: {', '.join(map(str, columns[:30]))}.")
            raise DataUsageError(f"{{{parameter}}} names "
                                 + literal(f"{name!r}, which is not a column. {hint}"),
                                 **{parameter: names})


def select_features(frame, target, *, drop=(), categorical=(), lines=None, name="data"):
    """Choose the feature columns of a table and whether each is numeric or categorical.

    Numeric columns are those pandas read as numbers (or booleans), unless
    named in ``categorical``; every other column is categorical. Columns that
    are missing in every row are left out.

    Parameters
    ----------
    frame : DataFrame
        The whole table as read, target included.
    target : str
    drop : sequence of str
        Columns to leave out.
    categorical : sequence of str
        Numeric-looking columns to treat as categories.
    lines : ndarray or None
        The file line of each row, for messages.
    name : str
        The file, for messages.

    Returns
    -------
    columns : list of str
        The feature columns, in table order.
    categorical : list of str
        Those of them that are categorical.
    dropped : dict
        Column -> why it was left out: ``'as asked'`` (named in ``drop``) or
        ``'no values'``.

    Raises
    ------
    DataUsageError
        ``drop`` or ``categorical`` names no column, or names the target.
    DataError
        A numeric column holds an infinite value, or no feature column is left.

    Warns
    -----
    DataWarning
        A column looks like a row identifier, or mixes numbers with text.
    """
    all_columns = list(frame.columns)
    _check_names("drop", drop, target, all_columns)
    _check_names("categorical", categorical, target, all_columns)
    dropped = {c: "as asked" for c in drop}
    columns, kinds = [], []
    for column in all_columns:
        if column == target or column in dropped:
            continue
        values = frame[column]
        if values.isna().all():
            dropped[column] = "no values"
            continue
        numeric = values.dtype.kind in "biuf" and column not in categorical
        _check_finite(column, values, lines, name)
        mixed = not numeric and column not in categorical and _warn_mixed(column, values, lines)
        if not mixed and _looks_like_identifier(column, values, numeric):
            warnings.warn(DataWarning(
                literal(f"column {column!r} has a different value in every row and looks like "
                        "an identifier;") + " as a feature it can only memorise rows. Leave it "
                "out with {drop}.",
                drop=[*drop, column]), stacklevel=2)
        columns.append(column)
        kinds.append(numeric)
    if not columns:
        raise DataError(literal(name) + ": no feature column is left besides {target}. Keep at "
                        "least one column.", target=target)
    return columns, [c for c, numeric in zip(columns, kinds) if not numeric], dropped


def _check_finite(column, values, lines, name):
    """Refuse a numeric column holding an infinite value, naming its line."""
    if values.dtype.kind in "f" and np.isinf(values.to_numpy()).any():
        row = int(np.flatnonzero(np.isinf(values.to_numpy()))[0])
        where = f"line {int(lines[row])}" if lines is not None else f"row {row}"
        raise DataError(literal(f"{name}, {where}: column {column!r} is infinite. Replace it "
                                "with a number, or leave the cell empty (missing values are "
                                "imputed)."))


def _warn_mixed(column, values, lines):
    """Warn when a text column is mostly numbers (also ``$4.00``, ``19.1%``); whether it warned."""
    present = values.dropna()
    numbers = present.map(_is_number).astype(bool) | number_like(present)
    n_numbers = int(numbers.sum())
    if not 0 < len(present) - n_numbers <= n_numbers:
        return False
    texts = present[~numbers]
    shown = []
    for index, text in texts.head(3).items():
        where = f" on line {int(lines[index])}" if lines is not None else ""
        shown.append(f"{text!r}{where}")
    warnings.warn(DataWarning(
        literal(f"column {column!r} is mostly numbers but has text ({', '.join(shown)});")
        + " it is treated as categorical. If that text marks missing values, pass {na_values}; "
        "otherwise fix those cells.", na_values=[texts.iloc[0]]), stacklevel=3)
    return True


def build_pipeline(classifier, *, columns=None, categorical=(), na_values=(), image_max=None,
                   final="classifier", numeric_scaling="standard", random_state=None):
    """The searched pipeline: preprocessing steps, then ``classifier`` as step 'classifier'.

    Parameters
    ----------
    classifier : estimator
    columns, categorical : list of str
        A table's feature columns and the categorical ones (see
        :func:`select_features`).
    na_values : sequence of str
        Extra missing-value texts (as given to :func:`.load`), also at predict time.
    image_max : float or None
        For images: the pixel maximum (see :class:`ImageScaler`).
    final : str, default='classifier'
        Name of the estimator's step ('regressor' for a regression pipeline).
    numeric_scaling : {'standard', 'quantile', 'robust'}, default='standard'
        The method of the numeric columns' :class:`NumericScaler` ('standard':
        scikit-learn's ``StandardScaler``, the same numbers as before), which
        a search sets as ``preprocess__numeric__scale__method``. Ignored for
        images.
    random_state : int, RandomState instance or None, default=None
        The :class:`NumericScaler`'s seed (the quantile method's noise).

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline

    Raises
    ------
    ValueError
        ``numeric_scaling`` names no method.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    check_scaling(numeric_scaling)
    if image_max is not None:
        return Pipeline([("scale", ImageScaler(max_value=image_max)), (final, classifier)])
    categorical = [c for c in columns if c in set(categorical)]
    numeric = [c for c in columns if c not in set(categorical)]
    transformers = []
    if numeric:
        transformers.append(("numeric", Pipeline([
            ("impute", SimpleImputer(strategy="median", add_indicator=True)),
            ("scale", NumericScaler(method=numeric_scaling, random_state=random_state)),
        ]), numeric))
    if categorical:
        transformers.append(("categorical", Pipeline([
            ("impute", SimpleImputer(strategy="most_frequent")),
            ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False,
                                     dtype=np.float32)),
        ]), categorical))
    return Pipeline([
        ("columns", TableSchema(columns=list(columns), categorical=categorical,
                                na_values=list(na_values))),
        ("preprocess", ColumnTransformer(transformers, remainder="drop")),
        (final, classifier),
    ])


def describe(pipeline, X, dropped=None):
    """What a fitted pipeline does to the features, for the report.

    Parameters
    ----------
    pipeline : Pipeline
        Fitted, from :func:`build_pipeline`.
    X : DataFrame or ndarray
        The rows it was fitted on (to count missing cells).
    dropped : dict, optional
        Column -> reason, from :func:`select_features`.

    Returns
    -------
    description : dict
        JSON-ready: kind, columns, numeric, numeric_scaling (the method
        fitted; None without numeric columns), categorical (with category
        counts), imputed (missing cells per column), missing indicators,
        dropped and the number of features the network sees.
    """
    n_out = int(fitted_network(pipeline).n_features_in_)
    if "scale" in pipeline.named_steps:
        return {"kind": "images", "scaling": f"divided by {pipeline.named_steps['scale'].max_value:g}",
                "n_features_out": n_out}
    schema = pipeline.named_steps["columns"]
    frame = schema.transform(X)
    transformers = pipeline.named_steps["preprocess"].named_transformers_
    categorical = {}
    if "categorical" in transformers:
        encoder = transformers["categorical"].named_steps["onehot"]
        categorical = {c: len(cats) for c, cats in zip(schema.categorical, encoder.categories_)}
    indicators, scaling = [], None
    if "numeric" in transformers:
        scaling = getattr(transformers["numeric"].named_steps["scale"], "method", "standard")
        imputer = transformers["numeric"].named_steps["impute"]
        if imputer.indicator_ is not None:
            numeric_cols = [c for c in schema.columns if c not in set(schema.categorical)]
            indicators = [numeric_cols[i] for i in imputer.indicator_.features_]
    missing = {c: int(frame[c].isna().sum()) for c in frame.columns if frame[c].isna().any()}
    return {
        "kind": "table",
        "columns": list(schema.columns),
        "numeric": [c for c in schema.columns if c not in set(schema.categorical)],
        "numeric_scaling": scaling,
        "categorical": categorical,
        "imputed": missing,
        "missing_indicators": indicators,
        "dropped": dict(dropped or {}),
        "n_features_out": n_out,
    }
