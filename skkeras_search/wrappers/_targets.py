"""What KerasClassifier trains on: class codes or a multilabel indicator matrix.

* class labels ``y`` of shape (n_samples,): ``classes_`` are the sorted
  labels (those of ``y``, or for ``partial_fit`` the ``classes=`` of its
  first call), and the model is trained on their indices;
* a multilabel indicator matrix ``y`` of 0 and 1, shape (n_samples,
  n_labels): the model has one (sigmoid) output per label, trained with
  binary cross-entropy, and ``classes_`` is ``arange(n_labels)`` (as
  scikit-learn's ``MLPClassifier`` has it);
* anything else 2-D (several multiclass outputs) is refused, naming where it
  is supported.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils.multiclass import type_of_target

from skkeras_search._core.validation import (
    _check_sample_weight,
    check_two_classes,
    class_weights,
)

__all__ = ["is_multilabel", "multilabel_targets", "class_labels", "sample_weights"]

_DROP_IN = "skkeras_search.scikeras.wrappers.KerasClassifier"


def is_multilabel(y):
    """Whether ``y`` is 2-D with more than one column (a column vector is 1-D labels)."""
    shape = getattr(y, "shape", None)
    if shape is None:
        try:
            shape = np.asarray(y, dtype=object).shape
        except (TypeError, ValueError):  # validation reports it
            return False
    return len(shape) == 2 and shape[1] > 1


def multilabel_targets(y, classes):
    """``(targets, classes)``: ``y`` as float32 0/1 columns, and ``arange(n_labels)``.

    Raises
    ------
    ValueError
        ``y`` is 2-D but not a 0/1 indicator matrix (``type_of_target``
        other than 'multilabel-indicator'), or ``classes`` has another length.
    """
    y = y.toarray() if sp.issparse(y) else np.asarray(y)
    kind = type_of_target(y, input_name="y")
    if kind != "multilabel-indicator":
        shown = np.unique(y).tolist()[:6]
        raise ValueError(
            f"y of shape {y.shape} is {kind!r} (values {shown}{', ...' if len(shown) == 6 else ''})"
            ", which KerasClassifier does not take: it takes class labels of shape (n_samples,) "
            "or a multilabel indicator matrix of 0 and 1 of shape (n_samples, n_labels). For "
            f"several multiclass outputs, use {_DROP_IN} with a custom target encoder "
            "(target_encoder=...) and a model with one output per target; for continuous "
            "targets, KerasRegressor."
        )
    if classes is not None and len(classes) != y.shape[1]:
        raise ValueError(
            f"classes={list(classes)!r} has {len(classes)} labels, but y is a multilabel "
            f"indicator matrix with {y.shape[1]} columns. Pass classes=None (the labels are the "
            "columns) or one label per column."
        )
    return y.astype(np.float32), np.arange(y.shape[1])


def class_labels(y, classes, fitted, partial):
    """The sorted labels ``classes_`` of a fit or ``partial_fit`` call on labels ``y``.

    ``fitted`` is the fitted ``classes_`` when the call continues the fitted
    model (``warm_start`` or ``partial_fit``), else None.

    Raises
    ------
    ValueError
        ``classes=None`` on the first ``partial_fit`` call, ``classes`` other
        than the fitted ones, or labels of ``y`` outside the classes.
    """
    present = np.unique(y)
    if fitted is not None:
        if classes is not None and not np.array_equal(np.unique(classes), fitted):
            raise ValueError(
                f"classes={list(classes)!r} differs from classes_={fitted.tolist()} of the "
                "fitted model. Pass classes=None or the same classes; call fit to start over."
            )
        known = fitted
    elif partial:
        if classes is None:
            raise ValueError(
                "classes=None on the first call to partial_fit, which must know every class "
                "y will have. Pass classes=<all labels>, e.g. partial_fit(X, y, "
                "classes=np.unique(y_all))."
            )
        known = np.unique(classes)
    else:
        return present
    unseen = np.setdiff1d(present, known)
    if unseen.size == 0:
        return known
    if fitted is not None and not partial:
        raise ValueError(
            f"y has labels {unseen.tolist()} not seen in the previous fit "
            f"(classes_={fitted.tolist()}). Set warm_start=False."
        )
    raise ValueError(
        f"y has labels {unseen.tolist()} not in classes={known.tolist()}. Pass every label y "
        "will have in classes= on the first call to partial_fit, or call fit to start over."
    )


def sample_weights(sample_weight, X, class_weight, classes, y, codes, run):
    """Per-sample weights (float32) from ``sample_weight`` and ``class_weight``, or None.

    Raises
    ------
    ValueError
        ``class_weight`` with a multilabel ``y``, ``class_weight='balanced'``
        in ``partial_fit``, or (``fit``) positive weight on one class only.
    """
    if sample_weight is None and class_weight is None:
        return None
    if class_weight is not None and run.task == "multilabel":
        raise ValueError(
            f"class_weight={class_weight!r} is not supported with a multilabel y (one column "
            "per label). Set class_weight=None and pass sample_weight= instead."
        )
    sw = _check_sample_weight(sample_weight, X, dtype=np.float32, ensure_non_negative=True)
    if class_weight is not None:
        sw = sw * class_weights(class_weight, classes, y, partial=run.partial)[codes].astype(
            np.float32)
    if run.task != "multilabel" and not run.partial:
        check_two_classes(classes, np.unique(y[sw > 0]))
    return sw
