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
    validate_data,
)
from skkeras_search.wrappers import _checks as _wrapper_checks
from skkeras_search.wrappers import _targets
from skkeras_search.wrappers._base import _KerasWrapper, _unchanged_if_failed
from skkeras_search.wrappers._docs import ATTRS_DOC, COMMON_DOC
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
    A multilabel indicator ``y`` of 0 and 1, shape (n_samples, n_labels),
    trains a model with ``n_classes=n_labels`` sigmoid outputs (binary
    cross-entropy when the build function does not compile); ``predict``
    then returns 0/1 of that shape and ``predict_proba`` one probability per
    label. Other 2-D targets (several multiclass outputs) raise ValueError:
    ``skkeras_search.scikeras.wrappers.KerasClassifier`` with a target
    encoder takes them. Passing a ``keras.Model`` instance as ``model``
    raises TypeError (pass the function that builds it).
    Inputs may have any shape the model accepts (e.g. images
    ``(n, 28, 28, 1)``). Fits reuse a compiled model per architecture (what
    the build function builds, checked at every fit), so the fixed cost of a
    fit in a search is small.

    Parameters
    ----------"""
        + COMMON_DOC.format(
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
        Class labels, sorted (``arange(n_labels)`` for multilabel ``y``)."""
        + ATTRS_DOC
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
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels (ints, strings, any sortable labels), or a
            multilabel indicator matrix of 0 and 1.
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
            (made outside it), a model with the wrong number of outputs, or
            ``y`` is 2-D but not a multilabel indicator matrix.
        TypeError
            ``callbacks`` holds something that is not a Keras callback.
        """
        X, codes, sw, classes, run, y_dtype = self._prepare(X, y, sample_weight, None, False)
        self._fit_keras(X, codes, sw, len(classes), [classes], run)
        self._set_targets(classes, run, y_dtype)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    @_unchanged_if_failed
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train one more epoch on ``X``, ``y`` from the current state (the first call starts).

        The first call (on an unfitted estimator) builds the model and
        trains one epoch: it equals ``fit`` with ``epochs=1``. Each later call
        (or a call after ``fit``) trains one more epoch from the fitted
        weights and optimizer state, numbered on: ``fit`` with ``epochs=1``
        then two ``partial_fit`` calls give the same bits as ``fit`` with
        ``epochs=3``, for the same ``random_state`` and data.
        ``early_stopping`` is ignored (no hold-out) and the fit cache is not
        used; ``callbacks`` run in each call.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Training inputs, of the fitted per-sample shape after the first call.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a multilabel indicator matrix of 0 and 1.
        classes : array-like of shape (n_classes,), default=None
            Every label ``y`` may have, required on the first call (as
            scikit-learn's ``partial_fit``), optional but equal later. Not
            needed for multilabel ``y``.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights, passed to Keras's loss.

        Returns
        -------
        self : KerasClassifier

        Raises
        ------
        ValueError
            ``classes=None`` on the first call, labels outside ``classes``, or
            parameters or input shape other than the fitted model's.
        TrainingDivergedError
            The training loss diverged in the epoch.
        """
        X, codes, sw, classes, run, y_dtype = self._prepare(X, y, sample_weight, classes, True)
        self._fit_keras(X, codes, sw, len(classes), [classes], run)
        self._set_targets(classes, run, y_dtype)
        return self

    def _prepare(self, X, y, sample_weight, classes, partial):
        """``(X, targets, sample weights, classes, run, y dtype)`` of a fit or partial_fit."""
        run = self._run(partial, "classification", stratify=True)
        reset = not (partial and run.continuing)
        fitted = self.classes_ if run.continuing else None
        if _targets.is_multilabel(y):
            X, y = validate_data(self, X, y, reset=reset, allow_nd=True, dtype=np.float32,
                                 multi_output=True)
            codes, classes = _targets.multilabel_targets(y, classes)
            run = run._replace(task="multilabel", stratify=False)
        else:
            X, y = validate_data(self, X, y, reset=reset, allow_nd=True, dtype=np.float32)
            check_classification_targets(y)
            classes = _targets.class_labels(y, classes, fitted, partial)
            check_two_classes(classes)
            codes = np.searchsorted(classes, y).astype(np.int32)
        self._check_input_shape(X, reset)
        sw = _targets.sample_weights(sample_weight, X, self.class_weight, classes, y, codes, run)
        return X, codes, sw, classes, run, y.dtype

    def _set_targets(self, classes, run, y_dtype):
        self.classes_ = classes
        self._multilabel, self._y_dtype = run.task == "multilabel", y_dtype

    @staticmethod
    def _allowed_units(n_classes, task):
        return (n_classes, 1) if n_classes == 2 and task != "multilabel" else (n_classes,)

    def _output_message(self, units, n_classes, task):
        name = type(self)._build_fn.__qualname__
        if task == "multilabel":
            return (f"model={name} returns {units} outputs per sample, but y is a multilabel "
                    f"indicator matrix with {n_classes} columns. End the model with "
                    "Dense(n_classes, activation='sigmoid') (declare n_classes in the build "
                    "function: it is the number of labels).")
        return (f"model={name} returns {units} outputs per sample, "
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
            Probabilities in ``classes_`` order (two columns for binary; for
            multilabel ``y``, one probability per label, not summing to 1). A model
            ending in logits (a linear last layer, or a loss compiled with
            ``from_logits=True``) has softmax (sigmoid for one unit) applied.
        """
        multilabel = self.__dict__.get("_multilabel", False)
        out = _wrapper_checks.probabilities(self._outputs(X), self._head, multilabel)
        if out.shape[1] == 1 and not multilabel:  # one sigmoid unit: P(classes_[1])
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
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Labels from ``classes_``; for multilabel ``y``, 0/1 (probability
            above 0.5) per label, of ``y``'s dtype at fit.
        """
        proba = self.predict_proba(X)
        if self.__dict__.get("_multilabel", False):
            return (proba > 0.5).astype(self._y_dtype)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


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
        + COMMON_DOC.format(data="n_outputs", loss="mean squared error", strat="",
                             extra="")
        + """
    Attributes
    ----------
    n_outputs_ : int
        Number of target columns."""
        + ATTRS_DOC
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
    ['batch_size', 'cache_dir', 'callbacks']
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
        run = self._run(False, "regression", stratify=False)
        X, y2, sw, y_1d = self._prepare(X, y, sample_weight, reset=True)
        self._fit_keras(X, y2, sw, y2.shape[1], [], run)
        self.n_outputs_, self._y_1d = y2.shape[1], y_1d
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    @_unchanged_if_failed
    def partial_fit(self, X, y, sample_weight=None):
        """Train one more epoch on ``X``, ``y`` from the current state (the first call starts).

        The first call (on an unfitted estimator) builds the model and
        trains one epoch: it equals ``fit`` with ``epochs=1``. Each later call
        (or a call after ``fit``) trains one more epoch from the fitted
        weights and optimizer state, numbered on: ``fit`` with ``epochs=1``
        then two ``partial_fit`` calls give the same bits as ``fit`` with
        ``epochs=3``, for the same ``random_state`` and data.
        ``early_stopping`` is ignored (no hold-out) and the fit cache is not
        used; ``callbacks`` run in each call.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Training inputs, of the fitted per-sample shape after the first call.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets, with as many columns as in the first call.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights, passed to Keras's loss.

        Returns
        -------
        self : KerasRegressor

        Raises
        ------
        ValueError
            Parameters, input shape or number of target columns other than
            the fitted model's.
        TrainingDivergedError
            The training loss diverged in the epoch.
        """
        run = self._run(True, "regression", stratify=False)
        X, y2, sw, y_1d = self._prepare(X, y, sample_weight, reset=not run.continuing)
        self._fit_keras(X, y2, sw, y2.shape[1], [], run)
        self.n_outputs_, self._y_1d = y2.shape[1], y_1d
        return self

    def _prepare(self, X, y, sample_weight, reset):
        """``(X, targets of shape (n_samples, n_outputs), sample weights, y was 1-D)``."""
        X, y = validate_data(self, X, y, reset=reset, allow_nd=True, dtype=np.float32,
                             multi_output=True, y_numeric=True)
        self._check_input_shape(X, reset)
        y = np.asarray(y, dtype=np.float32)
        sw = None
        if sample_weight is not None:
            sw = _check_sample_weight(sample_weight, X, dtype=np.float32,
                                      ensure_non_negative=True)
        return X, (y.reshape(-1, 1) if y.ndim == 1 else y), sw, y.ndim == 1

    @staticmethod
    def _allowed_units(n_outputs, task):
        return (n_outputs,)

    def _output_message(self, units, n_outputs, task):
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

