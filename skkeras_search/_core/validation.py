"""scikit-learn private imports, the checks that span parameters and data, and the
rules every estimator shares (class weights, the early-stopping hold-out).

Keeping sklearn's private helpers in one module means an upstream rename
breaks one import here, not the estimator.
"""

import warnings

import numpy as np
from sklearn.base import _fit_context  # noqa: F401  (re-exported)
from sklearn.metrics._scorer import _MultimetricScorer  # noqa: F401
from sklearn.model_selection import train_test_split
from sklearn.model_selection._search import BaseSearchCV  # noqa: F401
from sklearn.model_selection._validation import (  # noqa: F401
    _fit_and_score,
    _insert_error_scores,
    _warn_or_raise_about_fit_failures,
)
from sklearn.utils._param_validation import Interval, Options, StrOptions  # noqa: F401
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.validation import (  # noqa: F401
    _check_method_params,
    _check_sample_weight,
    _num_samples,
    indexable,
    validate_data,
)

from skkeras_search._core.seeding import stream

__all__ = [
    "BaseSearchCV",
    "_fit_and_score",
    "_insert_error_scores",
    "_warn_or_raise_about_fit_failures",
    "_fit_context",
    "_MultimetricScorer",
    "Interval",
    "Options",
    "StrOptions",
    "validate_data",
    "_check_sample_weight",
    "_check_method_params",
    "_num_samples",
    "indexable",
    "check_not_nd",
    "check_two_classes",
    "resolve_batch_size",
    "holdout_split",
]


def check_not_nd(X, name="X"):
    """Raise a ValueError that says how to flatten images given as 3-D+ arrays."""
    shape = getattr(X, "shape", None)
    if shape is None and isinstance(X, (list, tuple)):
        try:
            shape = np.shape(X)
        except ValueError:  # ragged lists: let validate_data report them
            return
    if shape is not None and len(shape) > 2:
        raise ValueError(
            f"{name} has shape {tuple(shape)} ({len(shape)} dimensions), but "
            "KerasMLPClassifier expects a 2-D array of shape (n_samples, "
            f"n_features). Flatten each sample first, e.g. "
            f"{name}.reshape(len({name}), -1)."
        )


def check_two_classes(classes, weighted_classes=None):
    """Raise a ValueError naming the class when fewer than two are usable."""
    if len(classes) < 2:
        raise ValueError(
            f"y contains only one class ({classes[0]!r}); a classifier needs at "
            "least two classes. Pass samples of at least two classes."
        )
    if weighted_classes is not None and len(weighted_classes) < 2:
        only = weighted_classes[0] if len(weighted_classes) else None
        raise ValueError(
            "sample_weight is zero for every class but one "
            f"({only!r}); a classifier needs at least two classes with positive "
            "weight. Give positive sample_weight to samples of another class."
        )


def resolve_batch_size(batch_size, n_samples):
    """Return the batch size to use; 'auto' is min(200, n_samples).

    An int larger than the data is clipped to ``n_samples`` with a warning,
    as scikit-learn's MLPClassifier does, so that small cross-validation
    folds in a search still train.
    """
    if batch_size == "auto":
        return min(200, n_samples)
    if batch_size > n_samples:
        warnings.warn(
            f"batch_size={batch_size!r} exceeds the {n_samples} training samples; "
            f"using batch_size={n_samples}. Use batch_size<={n_samples} or "
            "batch_size='auto' to silence this warning.",
            UserWarning,
            stacklevel=3,
        )
        return n_samples
    return int(batch_size)


def fitted_network(model):
    """The fitted network estimator inside ``model``: a pipeline's last step,
    unwrapped from a ``TransformedTargetRegressor``; ``model`` itself otherwise."""
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    return getattr(final, "regressor_", final)


def class_weights(class_weight, labels, y, partial):
    """Weight of each class in ``labels`` (classes absent from a dict weigh 1).

    The one rule for ``class_weight`` of every classifier here (the MLP and the
    wrappers): ``'balanced'`` as scikit-learn computes it, or a dict by label.
    """
    if isinstance(class_weight, str):  # 'balanced'
        if partial:
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit: one batch does not "
                "show the class frequencies. Pass a dict of class weights."
            )
        return compute_class_weight("balanced", classes=labels, y=y)
    unknown = [k for k in class_weight if k not in set(labels.tolist())]
    if unknown:
        raise ValueError(
            f"class_weight has labels {unknown!r} that are not classes ({labels.tolist()}). "
            "Use the labels of y as keys."
        )
    return np.array([class_weight.get(c, 1.0) for c in labels.tolist()], dtype=np.float64)


def holdout_split(X, y, sample_weight=None, *, fraction, seed, stratify=False, min_size=1):
    """Split off the early-stopping hold-out: the one rule of the MLP and the wrappers.

    ``ceil(fraction * n_samples)`` samples are held out, drawn from the fit's
    ``(seed, 'split')`` stream (:func:`~skkeras_search._core.seeding.stream`), so the split
    is a function of the seed alone. With ``stratify`` the split is
    stratified by ``y`` when every class can be on both sides (each class
    has two samples, each side room for one of every class), else it is a
    plain random split, as small data in a search needs.

    Parameters
    ----------
    X : ndarray of shape (n_samples, ...)
    y : ndarray of shape (n_samples, ...)
        Targets; class codes when ``stratify``.
    sample_weight : ndarray of shape (n_samples,) or None, default=None
    fraction : float
        ``validation_fraction``, in (0, 1).
    seed : int
        The fit's resolved seed.
    stratify : bool, default=False
        Stratify by ``y`` when possible (classification).
    min_size : int, default=1
        Fewest samples each side must have.

    Returns
    -------
    train, validation : tuple (X, y, sample_weight)
        The two parts, ``sample_weight`` None in both when it was None.

    Raises
    ------
    ValueError
        One side would hold fewer than ``min_size`` samples.
    """
    n = X.shape[0]
    n_val = int(np.ceil(fraction * n))
    if n_val < min_size or n - n_val < min_size:
        fix = "Increase" if n_val < min_size else "Lower"
        raise ValueError(
            f"early_stopping=True with validation_fraction={fraction!r} holds out {n_val} of "
            f"the {n} training samples; early stopping needs at least {min_size} on each side. "
            f"{fix} validation_fraction, pass more samples, or set early_stopping=False."
        )
    arrays = [X, y] + ([] if sample_weight is None else [sample_weight])
    strata = y if stratify and _stratifiable(y, n_val, n - n_val) else None
    parts = train_test_split(*arrays, test_size=n_val, stratify=strata,
                             random_state=int(stream(seed, "split").integers(2**31)))
    train, validation = tuple(parts[0::2]), tuple(parts[1::2])
    if sample_weight is None:
        train, validation = train + (None,), validation + (None,)
    return train, validation


def _stratifiable(y, n_val, n_train):
    """Whether a stratified split can put every class on both sides (scikit-learn's rule)."""
    _, counts = np.unique(y, return_counts=True)
    return counts.min() >= 2 and n_val >= len(counts) and n_train >= len(counts)
