"""The default target transformers of scikeras 0.13's wrappers, for scikit-learn 1.6 and later.

A wrapper fits its ``target_encoder`` to ``y``, hands Keras
``target_encoder_.transform(y)`` and turns the model's output back into what
scikit-learn expects with ``target_encoder_.inverse_transform``; whatever
the encoder's ``get_metadata()`` returns becomes attributes of the wrapper
and entries of the ``meta`` dict given to the build function.

* :class:`ClassifierLabelEncoder` (``KerasClassifier``): class labels to
  ordinal codes (one-hot for a categorical crossentropy loss), probabilities
  back to labels of the original dtype.
* :class:`RegressorTargetEncoder` (``KerasRegressor``): records the number
  of outputs, checks it, and gives predictions ``y``'s shape back.
* :class:`TargetReshaper`: 1-D ``y`` to one column and back.

Target types are those of :func:`sklearn.utils.multiclass.type_of_target`,
plus ``"multiclass-onehot"``: a ``"multilabel-indicator"`` target whose every
row has exactly one 1, which is a one-hot encoded multiclass target.
"""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted

from skkeras_search._core import backend
from skkeras_search.scikeras.utils import loss_name

__all__ = ["TargetReshaper", "ClassifierLabelEncoder", "RegressorTargetEncoder"]

#: Losses that need one-hot targets.
_ONE_HOT_LOSSES = ("categorical_crossentropy", "categorical_focal_crossentropy")

_UNKNOWN_LABEL_TYPE = (
    "Unknown label type: {}.\n\nTo implement support, subclass KerasClassifier and override "
    "``target_encoder`` with a transformer that supports this label type.\n\nFor information on "
    "sklearn target types, see: "
    "https://scikit-learn.org/stable/modules/generated/sklearn.utils.multiclass.type_of_target.html"
)


def _floatx():
    """Keras's float dtype (``keras.backend.floatx()``, usually float32)."""
    return np.dtype(backend.keras().backend.floatx())


def _needs_one_hot(loss):
    """Whether ``loss`` (a name, class, instance or function) is a categorical crossentropy."""
    if loss is None:
        return False
    try:
        return loss_name(loss) in _ONE_HOT_LOSSES
    except (TypeError, ValueError):  # a list or dict of losses, an unknown name
        return False


class TargetReshaper(TransformerMixin, BaseEstimator):
    """Make 1-D targets 2-D (one column) and back.

    For pipelines whose transformers want 2-D input (``OneHotEncoder``,
    ``OrdinalEncoder``).

    Attributes
    ----------
    ndim_ : int
        Number of dimensions of the ``y`` given to :meth:`fit`.
    """

    def fit(self, y):
        """Record the number of dimensions of ``y``.

        Parameters
        ----------
        y : array-like of shape (n_samples,) or (n_samples, ...)

        Returns
        -------
        TargetReshaper
            This instance.
        """
        self.ndim_ = np.ndim(y)
        return self

    def transform(self, y):
        """Make 1-D ``y`` one column; other ``y`` is returned as it is.

        Parameters
        ----------
        y : array-like of shape (n_samples,) or (n_samples, ...)

        Returns
        -------
        numpy.ndarray of shape (n_samples, 1) or (n_samples, ...)
            An array with at least 2 dimensions.
        """
        y = np.asarray(y)
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def inverse_transform(self, y):
        """Undo :meth:`transform`.

        Parameters
        ----------
        y : array-like of shape (n_samples, 1) or (n_samples, ...)

        Returns
        -------
        numpy.ndarray
            Of shape (n_samples,) if this transformer was fitted to 1-D ``y``
            and ``y`` has one column; otherwise ``y`` as it is.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If called before :meth:`fit` ("... is not initialized").
        """
        check_is_fitted(
            self, "ndim_",
            msg="This %(name)s instance is not initialized yet: call 'fit' before "
                "'inverse_transform'.",
        )
        y = np.asarray(y)
        if self.ndim_ == 1 and y.ndim == 2 and y.shape[1] == 1:
            return y[:, 0]
        return y


class ClassifierLabelEncoder(TransformerMixin, BaseEstimator):
    """Default target transformer of ``KerasClassifier``.

    ``"binary"`` and ``"multiclass"`` targets become ordinal codes
    ``0 .. n_classes_ - 1`` in one column of Keras's float dtype; a
    ``"multiclass"`` target is one-hot encoded instead (shape (n_samples,
    n_classes_)) when ``loss`` is categorical crossentropy (given by name,
    class or instance). Binary targets stay one column whatever the loss, as
    in scikeras: a model for them has one sigmoid unit. One-hot targets
    (``"multiclass-onehot"``) are cast to the float dtype;
    ``"multilabel-indicator"`` and ``"multiclass-multioutput"`` targets are
    passed as they are.

    Parameters
    ----------
    loss : None, str, keras.losses.Loss, type or callable, default None
        The model's loss; a categorical crossentropy one-hot encodes
        multiclass targets.
    categories : "auto" or list of one array-like, default "auto"
        All classes of the task (e.g. from ``partial_fit(..., classes=)``);
        ``"auto"`` takes the classes of the ``y`` given to :meth:`fit`.
        Given classes also decide the target type (two classes: binary,
        more: multiclass).

    Attributes
    ----------
    classes_ : numpy.ndarray of shape (n_classes_,) or None
        The classes; column indices for one-hot and multilabel targets;
        None for multiclass-multioutput targets.
    n_classes_ : int or None
        Number of classes (None for multiclass-multioutput targets).
    n_outputs_ : int
        Number of sklearn outputs of the target (1).
    n_outputs_expected_ : int
        Number of outputs the Keras model is expected to have (1).
    """

    def __init__(self, loss=None, categories="auto"):
        self.loss = loss
        self.categories = categories

    def _type_of_target(self, y):
        """``type_of_target(y)``, with given categories counted and one-hot targets told apart."""
        y = np.asarray(y)
        probe = y
        if not isinstance(self.categories, str) and (y.ndim == 1 or y.shape[1:] == (1,)):
            probe = np.concatenate([y.ravel(), np.asarray(self.categories[0]).ravel()])
        target_type = type_of_target(probe)
        if target_type == "multilabel-indicator" and np.all(np.sum(y, axis=1) == 1):
            return "multiclass-onehot"
        return target_type

    def fit(self, y):
        """Learn the classes and the encoding of ``y``.

        Parameters
        ----------
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        ClassifierLabelEncoder
            This instance.

        Raises
        ------
        ValueError
            If ``y`` is not a classification target ("Unknown label type").
        """
        y = np.asarray(y)
        target_type = self._type_of_target(y)
        self._target_type = target_type
        self._y_dtype = y.dtype
        self._y_shape = y.shape
        self._encoder = None
        if target_type in ("binary", "multiclass"):
            one_hot = target_type == "multiclass" and _needs_one_hot(self.loss)
            self._encoder = (
                OneHotEncoder(categories=self.categories, sparse_output=False, dtype=_floatx())
                if one_hot else OrdinalEncoder(categories=self.categories, dtype=_floatx())
            ).fit(y.reshape(-1, 1))
            self.classes_ = self._encoder.categories_[0]
            self.n_classes_ = self.classes_.size
        elif target_type in ("multiclass-onehot", "multilabel-indicator"):
            self.classes_ = np.arange(y.shape[1])
            self.n_classes_ = y.shape[1]
        elif target_type == "multiclass-multioutput":
            self.classes_ = None
            self.n_classes_ = None
        else:
            raise ValueError(_UNKNOWN_LABEL_TYPE.format(target_type))
        self.n_outputs_ = 1
        self.n_outputs_expected_ = 1
        return self

    def transform(self, y):
        """Encode ``y`` for the Keras model.

        Parameters
        ----------
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        numpy.ndarray
            Binary/multiclass: ordinal codes, shape (n_samples, 1), or one-hot
            codes, shape (n_samples, n_classes_), in Keras's float dtype.
            One-hot targets: ``y`` in Keras's float dtype. Other targets:
            ``y`` as it is.

        Raises
        ------
        ValueError
            If ``y`` holds a class not seen in :meth:`fit` ("Found unknown
            categories").
        """
        check_is_fitted(self, "n_outputs_")
        y = np.asarray(y)
        if self._target_type in ("binary", "multiclass"):
            # A column vector stays one feature; y with more columns than fitted is refused
            # by the encoder ("X has 2 features, but ... is expecting 1").
            return self._encoder.transform(y.reshape(-1, 1) if y.ndim == 1 else y)
        if self._target_type == "multiclass-onehot":
            return y.astype(_floatx(), copy=False)
        return y

    def inverse_transform(self, y, return_proba=False):
        """Turn the model's predictions into class labels or probabilities.

        Parameters
        ----------
        y : array-like of shape (n_samples,), (n_samples, 1) or (n_samples, n_columns)
            The model's output. For a binary target one column (or 1-D) is
            the probability of the second class; otherwise one column per
            class (or per label).
        return_proba : bool, default False
            True: return probabilities; False: class predictions.

        Returns
        -------
        numpy.ndarray
            Class predictions of the shape of the ``y`` given to :meth:`fit`:
            binary and multiclass ones in its dtype (a binary single column
            p predicts the second class where p > 0.5, otherwise the argmax
            of the columns), one-hot and multilabel ones as int (argmax
            one-hot; labels rounded at 0.5). With ``return_proba=True``, the
            probabilities, shape (n_samples, n_columns); a binary single
            column p becomes ``[1 - p, p]``.

        Raises
        ------
        NotImplementedError
            For class predictions of a multiclass-multioutput target.
        """
        check_is_fitted(self, "n_outputs_")
        if self._target_type == "multiclass-multioutput":
            if return_proba:
                return y
            raise NotImplementedError(
                "Class-predictions are not clearly defined for 'multiclass-multioutput' target "
                "types.\n\nTo implement support, subclass KerasClassifier and override "
                "``target_encoder`` with a transformer that supports this type of target."
            )
        y = np.asarray(y)
        if self._target_type == "binary":
            y = y.reshape(-1, 1) if y.ndim == 1 else y
            if y.shape[1] == 1:
                y = np.column_stack([1 - y[:, 0], y[:, 0]])
        if return_proba:
            return y
        if self._target_type == "multilabel-indicator":
            return np.around(y).astype(int, copy=False)
        index = np.argmax(y, axis=1)
        if self._target_type == "multiclass-onehot":
            labels = np.zeros(y.shape, dtype=int)
            labels[np.arange(y.shape[0]), index] = 1
            return labels
        index = np.minimum(index, self.n_classes_ - 1)  # one seen class, two columns
        labels = self._restore_dtype(self.classes_[index])
        return labels.reshape(-1, *self._y_shape[1:])

    def _restore_dtype(self, labels):
        """``labels`` in the fitted ``y``'s dtype (strings widened to fit given categories)."""
        dtype = self._y_dtype
        if dtype.kind in "US":
            dtype = np.promote_types(dtype, labels.astype(dtype.kind).dtype)
        return labels.astype(dtype, copy=False)

    def get_metadata(self):
        """What fitting learned, for the wrapper's attributes and the build function's ``meta``.

        Returns
        -------
        dict
            ``classes_``, ``n_classes_``, ``n_outputs_`` and
            ``n_outputs_expected_``.
        """
        return {
            "classes_": self.classes_,
            "n_classes_": self.n_classes_,
            "n_outputs_": self.n_outputs_,
            "n_outputs_expected_": self.n_outputs_expected_,
        }


class RegressorTargetEncoder(TransformerMixin, BaseEstimator):
    """Default target transformer of ``KerasRegressor``.

    Passes ``y`` to Keras as it is (its dtype too) and gives predictions the
    shape of the ``y`` it was fitted to (1-D ``y``: 1-D predictions).
    Predictions keep the model's float dtype (``keras.backend.floatx()``,
    as scikeras: casting float32 outputs to float64 would add no precision).

    Attributes
    ----------
    n_outputs_ : int
        Number of targets: 1 for 1-D ``y``, otherwise its number of columns
        (``y.shape[1]``).
    n_outputs_expected_ : int
        Number of outputs the Keras model is expected to have (1: one
        output with ``n_outputs_`` units).
    """

    def fit(self, y):
        """Record the shape, number of outputs and dtype of ``y``.

        Parameters
        ----------
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        RegressorTargetEncoder
            This instance.
        """
        y = np.asarray(y)
        self._y_dtype = y.dtype
        self._y_shape = y.shape
        self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
        self.n_outputs_expected_ = 1
        return self

    def transform(self, y):
        """Check ``y`` has as many outputs as at :meth:`fit` and return it.

        Parameters
        ----------
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        numpy.ndarray
            ``y``, untouched.

        Raises
        ------
        ValueError
            If ``y``'s number of outputs differs from that seen in :meth:`fit`.
        """
        check_is_fitted(self, "n_outputs_")
        y = np.asarray(y)
        n_outputs = 1 if y.ndim == 1 else y.shape[1]
        if n_outputs != self.n_outputs_:
            raise ValueError(
                f"Detected ``y`` to have {n_outputs} outputs with ``y.shape = {y.shape}``, but "
                f"this {type(self).__name__} has {self.n_outputs_} outputs."
            )
        return y

    def inverse_transform(self, y):
        """Give the model's predictions the shape of the fitted ``y``.

        Parameters
        ----------
        y : array-like of shape (n_samples, n_outputs) or (n_samples,)
            The model's predictions.

        Returns
        -------
        numpy.ndarray of shape (n_samples,) or (n_samples, ...)
            The predictions, shaped like the ``y`` given to :meth:`fit`
            (where the sizes allow), in their own float dtype; predictions of
            another dtype are cast to Keras's float dtype.
        """
        check_is_fitted(self, "n_outputs_")
        y = np.asarray(y)
        if y.dtype.kind != "f":
            y = y.astype(_floatx())
        tail = self._y_shape[1:]
        if y.ndim >= 1 and y.size == y.shape[0] * int(np.prod(tail)):
            y = y.reshape(y.shape[0], *tail)
        return y

    def get_metadata(self):
        """What fitting learned, for the wrapper's attributes and the build function's ``meta``.

        Returns
        -------
        dict
            ``n_outputs_`` and ``n_outputs_expected_``.
        """
        return {"n_outputs_": self.n_outputs_, "n_outputs_expected_": self.n_outputs_expected_}
