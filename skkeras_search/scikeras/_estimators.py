"""``KerasClassifier`` and ``KerasRegressor``: scikeras 0.13's task wrappers."""

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score as sklearn_accuracy_score
from sklearn.metrics import r2_score as sklearn_r2_score
from sklearn.utils.class_weight import compute_sample_weight

from skkeras_search._core import backend as _backend
from skkeras_search.scikeras._base import BaseWrapper
from skkeras_search.scikeras.utils.transformers import (
    ClassifierLabelEncoder,
    RegressorTargetEncoder,
)

__all__ = ["KerasClassifier", "KerasRegressor"]

_DOC_TAIL = """
    class_weight : dict, "balanced" or None, default None
        Weights of the classes, ``{label: weight}``; "balanced" weighs them
        by ``n_samples / (n_classes * np.bincount(y))``. Multiplied into
        ``sample_weight`` before ``Model.fit``.
"""


class KerasClassifier(ClassifierMixin, BaseWrapper):
    __doc__ = BaseWrapper.__doc__.replace(
        "any Keras model (scikeras 0.13)", "Keras classifiers (scikeras 0.13)").replace(
        "    **kwargs\n", _DOC_TAIL.lstrip("\n") + "    **kwargs\n", 1)

    _unrouted = frozenset({"class_weight"})
    _parameter_constraints = {**BaseWrapper._parameter_constraints,
                              "class_weight": [dict, "array-like", None, str]}

    def __init__(self, model=None, *, build_fn=None, warm_start=False, random_state=None,
                 optimizer="rmsprop", loss=None, metrics=None, batch_size=None,
                 validation_batch_size=None, verbose=1, callbacks=None, validation_split=0.0,
                 shuffle=True, run_eagerly=False, epochs=1, class_weight=None, cache_dir=None,
                 **kwargs):
        super().__init__(model=model, build_fn=build_fn, warm_start=warm_start,
                         random_state=random_state, optimizer=optimizer, loss=loss,
                         metrics=metrics, batch_size=batch_size,
                         validation_batch_size=validation_batch_size, verbose=verbose,
                         callbacks=callbacks, validation_split=validation_split, shuffle=shuffle,
                         run_eagerly=run_eagerly, epochs=epochs, cache_dir=cache_dir, **kwargs)
        self.class_weight = class_weight

    # The mixin comes first for scikit-learn's tags (is_classifier), but scoring is the
    # wrapper's: ``scorer`` and ``score__`` parameters, as scikeras scores.
    score = BaseWrapper.score

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.classifier_tags.poor_score = True
        return tags

    @property
    def target_encoder(self):
        """A new ``ClassifierLabelEncoder`` for this loss (and the classes of ``partial_fit``)."""
        classes = vars(self).get("_partial_fit_classes")
        categories = "auto" if classes is None else [np.asarray(classes)]
        return ClassifierLabelEncoder(loss=self.loss, categories=categories)

    @staticmethod
    def scorer(y_true, y_pred, **kwargs):
        """Accuracy (``sklearn.metrics.accuracy_score``)."""
        return sklearn_accuracy_score(y_true, y_pred, **kwargs)

    def _type_of_target(self, y):
        classes = vars(self).get("_partial_fit_classes")
        if classes is not None and np.ndim(y) == 1:
            return "binary" if len(classes) <= 2 else "multiclass"
        return super()._type_of_target(y)

    def _check_labels(self, y):
        classes = getattr(self, "classes_", None)
        if classes is None or np.ndim(y) != 1 or getattr(classes, "ndim", 0) != 1:
            return
        unseen = np.setdiff1d(np.unique(y), classes)
        if unseen.size:
            raise ValueError(
                f"Found unknown categories {unseen.tolist()[:10]} in y: this "
                f"{type(self).__name__} was fitted on classes {classes.tolist()[:10]}. Pass every "
                "class to the first partial_fit as classes=[...], or fit again."
            )

    def _sample_weight(self, y, sample_weight):
        if self.class_weight is None or np.ndim(y) != 1:
            return sample_weight
        weights = compute_sample_weight(self.class_weight, y)
        return weights if sample_weight is None else weights * sample_weight

    def initialize(self, X, y):
        """Build ``model_`` for ``X`` and ``y`` without training (y gives the classes)."""
        return super().initialize(X, y)

    def fit(self, X, y, sample_weight=None, **kwargs):
        """Build a new classifier (unless ``warm_start``) and train it for ``epochs``."""
        vars(self).pop("_partial_fit_classes", None)
        return super().fit(X, y, sample_weight=sample_weight, **kwargs)

    def partial_fit(self, X, y, classes=None, sample_weight=None, **kwargs):
        """Train one more epoch; ``classes`` (first call) lists every class of the data."""
        if classes is not None and not self.initialized_:
            vars(self)["_partial_fit_classes"] = np.asarray(classes)
        return super().partial_fit(X, y, sample_weight=sample_weight, **kwargs)

    def predict_proba(self, X, **kwargs):
        """Class probabilities, shape (n_samples, n_classes) (a list per output if several)."""
        raw = self._predict_raw(X, **kwargs)
        return self.target_encoder_.inverse_transform(raw, return_proba=True)


class KerasRegressor(RegressorMixin, BaseWrapper):
    __doc__ = BaseWrapper.__doc__.replace(
        "any Keras model (scikeras 0.13)", "Keras regressors (scikeras 0.13)")

    _numeric_target = True
    score = BaseWrapper.score  # see KerasClassifier.score

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        return tags

    @property
    def target_encoder(self):
        """A new ``RegressorTargetEncoder``."""
        return RegressorTargetEncoder()

    @staticmethod
    def scorer(y_true, y_pred, **kwargs):
        """R² (``sklearn.metrics.r2_score``)."""
        return sklearn_r2_score(y_true, y_pred, **kwargs)

    @staticmethod
    def r_squared(y_true, y_pred):
        """R² as a Keras metric (a tensor), for ``metrics=[KerasRegressor.r_squared]``."""
        ops = _backend.keras().ops
        y_true = ops.cast(y_true, y_pred.dtype)
        residual = ops.sum(ops.square(y_true - y_pred), axis=0)
        total = ops.sum(ops.square(y_true - ops.mean(y_true, axis=0)), axis=0)
        return ops.mean(1 - residual / (total + _backend.keras().backend.epsilon()))
