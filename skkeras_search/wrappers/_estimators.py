"""KerasClassifier and KerasRegressor: your own Keras model as a scikit-learn estimator.

Each says what its targets are (class codes and ``classes_``, or target
columns), how many outputs the model must have, and what it predicts; the
fit they share is ``_base._KerasWrapper``'s, and ``KerasClassifier(build_fn,
...)`` is an instance of the class :mod:`._factory` makes for ``build_fn``.
"""

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets

from skkeras_search._core.validation import (
    _check_sample_weight,
    _fit_context,
    check_two_classes,
    class_weights,
    validate_data,
)
from skkeras_search.wrappers import _checks as _wrapper_checks
from skkeras_search.wrappers._base import (
    _ATTRS_DOC,
    _COMMON_DOC,
    _KerasWrapper,
    _unchanged_if_failed,
)
from skkeras_search.wrappers._factory import register

__all__ = ["KerasClassifier", "KerasRegressor"]


@register
class KerasClassifier(ClassifierMixin, _KerasWrapper):
    _kind, _task = "classifier", "classification"
    _data_args = ("input_shape", "n_classes")
    _extra_params = {"class_weight": None}

    __doc__ = (
        """Classifier for your own Keras model-building function.

    ``KerasClassifier(build_fn, **params)`` trains the model that
    ``build_fn`` returns with Keras's ``Model.fit`` and predicts class labels
    of any kind (strings, ints). The model's output is one probability per
    class (softmax over ``n_classes`` units) or, for two classes, one sigmoid
    unit; or logits (a linear last layer, compiled with ``from_logits=True``
    or not compiled), to which ``predict_proba`` applies softmax (sigmoid).
    Targets are passed to the loss as class indices ``0..n_classes-1``
    (one-hot if the model was compiled with ``categorical_crossentropy``).
    Inputs may have any shape the model accepts (e.g. images
    ``(n, 28, 28, 1)``). Fits reuse a compiled model per architecture (what
    the build function builds, checked at every fit), so the fixed cost of a
    fit in a search is small.

    Parameters
    ----------"""
        + _COMMON_DOC.format(
            data="n_classes", loss="sparse categorical (or, for one output unit, binary) "
            "cross-entropy", strat=" (stratified by class)",
            extra="""
    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes (keys are labels of ``y``), multiplied into
        ``sample_weight``.""")
        + """
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, sorted."""
        + _ATTRS_DOC
        + """
    See Also
    --------
    KerasMLPClassifier : The built-in MLP, with its own faster training loop.
    sklearn.neural_network.MLPClassifier : scikit-learn's MLP.

    Examples
    --------
    >>> import keras
    >>> from sklearn.datasets import load_iris
    >>> from skkeras_search import KerasClassifier
    >>> def build(input_shape, n_classes, units=16):
    ...     return keras.Sequential([keras.Input(input_shape),
    ...                              keras.layers.Dense(units, activation="relu"),
    ...                              keras.layers.Dense(n_classes, activation="softmax")])
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = KerasClassifier(build, units=8, epochs=50, learning_rate=0.01, random_state=0)
    >>> clf.get_params()["units"]
    8
    >>> clf.fit(X, y).predict_proba(X[:2]).shape  # doctest: +SKIP
    (2, 3)
    """
    )

    @_fit_context(prefer_skip_nested_validation=True)
    @_unchanged_if_failed
    def fit(self, X, y, sample_weight=None):
        """Train the model on ``X``, ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Training inputs, any per-sample shape the model accepts.
        y : array-like of shape (n_samples,)
            Class labels (ints, strings, any sortable labels).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights, passed to Keras's loss.

        Returns
        -------
        self : KerasClassifier

        Raises
        ------
        TrainingDivergedError
            The training loss became NaN, infinite or larger than 1e6, or the
            weights non-finite (a search's ``error_score`` records the fit as
            failed; with ``cache_dir`` a repeated fit fails at once).
        ValueError
            The build function returned layers an earlier call returned
            (made outside it), or a model with the wrong number of outputs.
        """
        X, y = validate_data(self, X, y, allow_nd=True, dtype=np.float32)
        check_classification_targets(y)
        warm = self.warm_start and hasattr(self, "_variables")
        classes = np.unique(y)
        if warm and not np.array_equal(np.union1d(classes, self.classes_), self.classes_):
            raise ValueError(
                f"y has labels {np.setdiff1d(classes, self.classes_).tolist()} not seen in the "
                f"previous fit (classes_={self.classes_.tolist()}). Set warm_start=False."
            )
        classes = self.classes_ if warm else classes
        check_two_classes(classes)
        codes = np.searchsorted(classes, y).astype(np.int32)
        sw = None
        if sample_weight is not None or self.class_weight is not None:
            sw = _check_sample_weight(sample_weight, X, dtype=np.float32,
                                      ensure_non_negative=True)
            if self.class_weight is not None:
                sw = sw * class_weights(self.class_weight, classes, y, partial=False)[
                    codes].astype(np.float32)
            check_two_classes(classes, np.unique(y[sw > 0]))
        self._fit_keras(X, codes, sw, len(classes), [classes], stratify=True)
        self.classes_ = classes
        return self

    @staticmethod
    def _allowed_units(n_classes):
        return (n_classes, 1) if n_classes == 2 else (n_classes,)

    def _output_message(self, units, n_classes):
        return (f"model={type(self)._build_fn.__qualname__} returns {units} outputs per sample, "
                f"but y has {n_classes} classes. End the model with "
                "Dense(n_classes, activation='softmax') (declare n_classes in the build "
                "function), or Dense(1, activation='sigmoid') for two classes.")

    def predict_proba(self, X):
        """Class probabilities for ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Inputs of the fitted per-sample shape.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in ``classes_`` order (two columns for binary). A model
            ending in logits (a linear last layer, or a loss compiled with
            ``from_logits=True``) has softmax (sigmoid for one unit) applied.
        """
        out = _wrapper_checks.probabilities(self._outputs(X), self._head)
        if out.shape[1] == 1:  # one sigmoid unit: P(classes_[1])
            out = np.hstack([1.0 - out, out])
        return out

    def predict(self, X):
        """Predicted class labels for ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Inputs of the fitted per-sample shape.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


@register
class KerasRegressor(RegressorMixin, _KerasWrapper):
    _kind, _task = "regressor", "regression"
    _data_args = ("input_shape", "n_outputs")

    __doc__ = (
        """Regressor for your own Keras model-building function.

    ``KerasRegressor(build_fn, **params)`` trains the model that ``build_fn``
    returns with Keras's ``Model.fit``. The model's output has ``n_outputs``
    units, one per target column (linear activation for plain regression).
    ``score`` is R^2.

    Parameters
    ----------"""
        + _COMMON_DOC.format(data="n_outputs", loss="mean squared error", strat="",
                             extra="")
        + """
    Attributes
    ----------
    n_outputs_ : int
        Number of target columns."""
        + _ATTRS_DOC
        + """
    See Also
    --------
    sklearn.neural_network.MLPRegressor : scikit-learn's MLP.

    Examples
    --------
    >>> import keras
    >>> from skkeras_search import KerasRegressor
    >>> def build(input_shape, n_outputs, units=16):
    ...     return keras.Sequential([keras.Input(input_shape),
    ...                              keras.layers.Dense(units, activation="relu"),
    ...                              keras.layers.Dense(n_outputs)])
    >>> reg = KerasRegressor(build, units=8, random_state=0)
    >>> sorted(reg.get_params())[:3]
    ['batch_size', 'cache_dir', 'early_stopping']
    """
    )

    @_fit_context(prefer_skip_nested_validation=True)
    @_unchanged_if_failed
    def fit(self, X, y, sample_weight=None):
        """Train the model on ``X``, ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Training inputs, any per-sample shape the model accepts.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights, passed to Keras's loss.

        Returns
        -------
        self : KerasRegressor

        Raises
        ------
        TrainingDivergedError
            The training loss became NaN, infinite or larger than 1e6, or the
            weights non-finite (a search's ``error_score`` records the fit as
            failed; with ``cache_dir`` a repeated fit fails at once). Targets
            far from order one are named as the likely cause, with the fix.
        ValueError
            The build function returned layers an earlier call returned
            (made outside it), or a model with the wrong number of outputs.
        """
        X, y = validate_data(self, X, y, allow_nd=True, dtype=np.float32, multi_output=True,
                             y_numeric=True)
        y = np.asarray(y, dtype=np.float32)
        y2 = y.reshape(-1, 1) if y.ndim == 1 else y
        sw = None
        if sample_weight is not None:
            sw = _check_sample_weight(sample_weight, X, dtype=np.float32,
                                      ensure_non_negative=True)
        self._fit_keras(X, y2, sw, y2.shape[1], [], stratify=False)
        self.n_outputs_ = y2.shape[1]
        self._y_1d = y.ndim == 1
        return self

    @staticmethod
    def _allowed_units(n_outputs):
        return (n_outputs,)

    def _output_message(self, units, n_outputs):
        return (f"model={type(self)._build_fn.__qualname__} returns {units} outputs per sample, "
                f"but y has {n_outputs} columns. End the model with Dense(n_outputs) (declare "
                "n_outputs in the build function).")

    def predict(self, X):
        """Predicted targets for ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Inputs of the fitted per-sample shape.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions, 1-D when ``y`` was 1-D at fit.
        """
        out = self._outputs(X).astype(np.float64)
        out = out.reshape(out.shape[0], -1)
        return out[:, 0] if self._y_1d else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

