"""What the scikeras wrappers check about ``X``, ``y`` and ``sample_weight``.

On the first fit (``reset=True``) the checks record what later calls must
match (``X_dtype_``, ``X_shape_``, ``n_features_in_``, ``y_dtype_``,
``y_ndim_``); on ``partial_fit``, a ``warm_start`` fit, ``predict`` and
``score`` they compare against it, so that a call with data the model was not
built for fails with a message naming the difference instead of training or
predicting on misread numbers. A dtype may change only to one that NumPy casts
to the fitted one safely (``uint8`` where ``int64`` was fitted, not
``float64``).
"""

import numpy as np
from sklearn.utils.validation import check_array

from skkeras_search._core import backend as _backend
from skkeras_search._core.validation import _check_sample_weight, validate_data

__all__ = ["check_X", "check_y", "check_sample_weight", "batch_size_for"]


def _floatx():
    return _backend.keras().backend.floatx()


def _numeric(arr, force):
    """``arr``, with an object (or, when ``force``, any non-numeric) dtype cast to floatx."""
    if arr.dtype.kind == "O" or (force and arr.dtype.kind not in "biuf"):
        return arr.astype(_floatx())
    return arr


def check_X(est, X, *, reset):
    """``X`` as an array (dtype kept unless object), checked against the fitted ``X``."""
    X = validate_data(est, X=X, reset=reset, dtype=None, allow_nd=True, ensure_min_samples=1,
                      accept_sparse="csr")  # Keras takes SciPy CSR (other formats converted)
    name = type(est).__name__
    if X.dtype.kind in "USV":
        raise ValueError(
            f"X holds text (dtype {X.dtype}), but a Keras model takes numbers. Encode the text "
            "columns first, e.g. make_pipeline(ColumnTransformer([('text', OneHotEncoder(), "
            f"columns)], remainder='passthrough'), {name}(...)), or override feature_encoder."
        )
    X = _numeric(X, force=False)
    if reset:
        est.X_dtype_, est.X_shape_ = X.dtype, X.shape
        return X
    if len(X.shape) != len(est.X_shape_):
        raise ValueError(
            f"X has {len(X.shape)} dimensions, but this {name} is expecting "
            f"{len(est.X_shape_)} dimensions in X (it was fitted on X of shape "
            f"{est.X_shape_}). Pass X of shape (n_samples, {', '.join(map(str, est.X_shape_[1:]))})."
        )
    if X.shape[1:] != tuple(est.X_shape_[1:]):
        raise ValueError(
            f"X has shape {X.shape}, but this {name} was fitted on X of shape "
            f"{est.X_shape_}: every dimension but the first must match."
        )
    _check_cast("X", X.dtype, est.X_dtype_, name)
    return X


def _check_cast(what, dtype, fitted, name):
    if not np.can_cast(dtype, fitted):
        raise ValueError(
            f"Got {what} with dtype {dtype}, but this {name} was fitted with dtype {fitted}, "
            f"and casting from {dtype} to {fitted} is not safe. Pass "
            f"{what}.astype({str(fitted)!r}) if that is what you mean."
        )


def check_y(est, y, *, reset, numeric):
    """``y`` as an array (dtype kept unless object), checked against the fitted ``y``."""
    y = check_array(y, ensure_2d=False, allow_nd=False, dtype=None, input_name="y")
    if numeric:  # class labels stay as they are (strings, objects)
        y = _numeric(y, force=True)
    name = type(est).__name__
    if reset:
        est.y_dtype_, est.y_ndim_ = y.dtype, y.ndim
        return y
    if y.ndim != est.y_ndim_:
        raise ValueError(
            f"y has {y.ndim} dimensions, but this {name} was fitted on y with "
            f"{est.y_ndim_} dimensions. Pass y of the shape it was fitted on."
        )
    _check_cast("y", y.dtype, est.y_dtype_, name)
    return y


def check_sample_weight(sample_weight, X, y):
    """``sample_weight`` as a float array, or None; all zeros refused.

    Raises
    ------
    ValueError
        ``sample_weight`` does not have one value per sample, is negative, or
        is all zeros (a fit would learn nothing; Keras would divide by zero).
    """
    if sample_weight is None:
        return None
    n = len(y) if y is not None else X.shape[0]
    sample_weight = np.asarray(sample_weight, dtype=np.float64)
    if sample_weight.size and not np.any(sample_weight):
        raise ValueError(
            "No training samples had any weight; only zeros were passed in sample_weight. "
            "Pass sample_weight with at least one positive value, or leave those samples out "
            "of X and y."
        )
    return _check_sample_weight(sample_weight, np.empty((n, 0)), dtype=np.float64,
                                ensure_non_negative=True)


def batch_size_for(value, X, parameter):
    """``batch_size=-1`` means all samples: their number (X must have a ``shape``)."""
    if value != -1:
        return value
    if not hasattr(X, "shape"):
        raise ValueError(
            f"{parameter}=-1 requires that `X` implement `shape`; the feature encoder returned "
            f"a {type(X).__name__}. Pass {parameter} as a number of samples."
        )
    return int(X.shape[0])
