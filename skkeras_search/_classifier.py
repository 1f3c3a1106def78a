"""KerasMLPClassifier: a Keras MLP that scikit-learn treats as a classifier."""

import os
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from . import _training
from ._graph import ACTIVATIONS, OPTIMIZERS
from ._seeding import preserve_global_rng, resolve_seed, stream
from ._validation import (
    Interval,
    StrOptions,
    _check_sample_weight,
    _fit_context,
    check_not_nd,
    check_two_classes,
    resolve_batch_size,
    validate_data,
)

__all__ = ["KerasMLPClassifier"]

_FLOATS = (np.float64, np.float32)
_INPUT_ATTRS = ("n_features_in_", "feature_names_in_")


class KerasMLPClassifier(ClassifierMixin, BaseEstimator):
    """Multilayer perceptron classifier trained as a Keras model.

    A fully connected network (``n_layers`` hidden layers of ``hidden_units``
    units, softmax output) trained with cross-entropy by Adam, SGD or RMSprop.
    Training runs in a TensorFlow graph compiled once per process and shared
    by all fits, so hundreds of fits in a hyperparameter search stay fast and
    flat in memory; the fitted network is available as a ``keras.Model``.
    Fits are deterministic: the same data and ``random_state`` give
    bit-identical predictions on CPU. Training precision follows the input,
    as in :class:`~sklearn.neural_network.MLPClassifier`: float32 input
    trains in float32, anything else in float64.

    Parameters
    ----------
    hidden_units : int, default=128
        Number of units in each hidden layer.
    n_layers : int, default=1
        Number of hidden layers.
    activation : {'relu', 'tanh', 'logistic', 'identity'}, default='relu'
        Activation of the hidden layers.
    learning_rate : float, default=1e-3
        Step size of the optimizer, in weight units per unit of gradient
        (Keras's ``learning_rate``; Adam's and RMSprop's steps are scaled by
        their running gradient statistics).
    optimizer : {'adam', 'sgd', 'rmsprop'}, default='adam'
        Update rule, with Keras's defaults; 'sgd' uses momentum 0.9.
    alpha : float, default=1e-4
        L2 penalty added to the loss as ``alpha * sum(W**2)`` over the
        kernels (Keras's ``L2`` regulariser).
    dropout : float, default=0.0
        Fraction of each hidden layer's units dropped during training.
    batch_size : int or 'auto', default='auto'
        Minibatch size; 'auto' is ``min(200, n_samples)``. A larger int is
        clipped to the number of training samples, with a warning.
    epochs : int, default=200
        Maximum number of passes over the training data (MLPClassifier's
        ``max_iter``); training stops earlier once the loss settles (see
        ``n_iter_no_change``). Hyperband searches set it per budget.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified)
        and stop when its accuracy stops improving; the best weights are kept.
    validation_fraction : float, default=0.1
        Fraction held out for early stopping. Ignored unless
        ``early_stopping=True``.
    n_iter_no_change : int, default=10
        Epochs without an improvement of at least ``tol`` (in the training
        loss, or in validation accuracy with early stopping) before stopping.
    tol : float, default=1e-4
        Minimum improvement that counts: in the mean training loss (nats of
        cross-entropy per sample, penalty included), or in validation accuracy
        (a fraction in [0, 1]) with early stopping.
    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, multiplied into ``sample_weight``.
    warm_start : bool, default=False
        When True, ``fit`` continues from the previous solution (weights and
        optimizer state) instead of starting afresh.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, the validation split, shuffling and
        dropout. Pass an int for reproducible results.
    verbose : int, default=0
        Print one line per epoch to stdout when positive.
    cache_dir : str or None, default=None
        Folder of a fit cache shared by the fits of a search. A ``fit`` whose
        parameters, data and seed match a finished fit loads it instead of
        training (resuming an interrupted search); one asking for more
        ``epochs`` than a cached fit continues it, training only the extra
        epochs, with a result bit-identical to training from scratch (epoch
        budgets in ``HalvingRandomSearchCV(resource="epochs")``); a fit that
        diverged fails again at once. Used only when ``random_state`` is set
        and ``warm_start=False``; continuation needs ``early_stopping=False``.
        Entries are safe to load (no pickle) and checksummed.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, sorted.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.
    coefs_ : list of ndarray
        Kernel of each layer, input layer first.
    intercepts_ : list of ndarray
        Bias of each layer.
    model_ : keras.Model
        The fitted network as a compiled Keras model (built on first access),
        with the same L2 penalty when it is a float32 model (Keras adds
        penalties in float32). Its optimizer starts afresh: ``model_.fit``
        is not ``warm_start``. Keras's ``predict`` casts float64 input to
        float32; call ``model_(X)`` for a float64 model's full precision.
    n_iter_ : int
        Number of epochs trained, counting earlier calls with ``warm_start``
        and ``partial_fit``.
    loss_curve_ : list of float
        Mean training loss of each epoch of the last ``fit``.
    validation_scores_ : list of float or None
        Validation accuracy of each epoch when ``early_stopping=True``.
    best_validation_score_ : float or None
        Best validation accuracy when ``early_stopping=True``.

    See Also
    --------
    sklearn.neural_network.MLPClassifier : The NumPy multilayer perceptron.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skkeras_search import KerasMLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = KerasMLPClassifier(hidden_units=64, epochs=20, random_state=0)
    >>> clf.fit(X / 16, y).predict_proba(X[:2] / 16).shape
    (2, 10)
    """

    _parameter_constraints = {
        "hidden_units": [Interval(Integral, 1, None, closed="left")],
        "n_layers": [Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "cache_dir": [str, os.PathLike, None],
    }

    def __init__(
        self,
        *,
        hidden_units=128,
        n_layers=1,
        activation="relu",
        learning_rate=1e-3,
        optimizer="adam",
        alpha=1e-4,
        dropout=0.0,
        batch_size="auto",
        epochs=200,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        class_weight=None,
        warm_start=False,
        random_state=None,
        verbose=0,
        cache_dir=None,
    ):
        self.hidden_units = hidden_units
        self.n_layers = n_layers
        self.activation = activation
        self.learning_rate = learning_rate
        self.optimizer = optimizer
        self.alpha = alpha
        self.dropout = dropout
        self.batch_size = batch_size
        self.epochs = epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.cache_dir = cache_dir

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train the network on ``X``, ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; sparse input is densified.
        y : array-like of shape (n_samples,)
            Class labels (ints, strings, any sortable labels).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights; an integer weight is equivalent to repeating
            the sample.

        Returns
        -------
        self : KerasMLPClassifier
            The fitted estimator.

        Raises
        ------
        TrainingDivergedError
            The training loss became NaN, infinite or larger than 1e6 (the
            message names the epoch and ``learning_rate``); in a search with
            ``error_score=np.nan`` the candidate is recorded as failed.
        ValueError
            Bad input or parameters: fewer than two classes, all sample weights
            zero, too little data for ``early_stopping``, a ``warm_start`` whose
            architecture or classes do not match.

        Warns
        -----
        ConvergenceWarning
            ``epochs`` ran out before the loss settled.
        UserWarning
            ``cache_dir`` is set but ``random_state=None`` (nothing is cached).
        """
        continuing = self.warm_start and hasattr(self, "_state")
        return self._fit(X, y, sample_weight, classes=None, reset=not continuing, epochs=None)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one epoch on ``X``, ``y``, continuing any previous training.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels.
        classes : array-like of shape (n_classes,), default=None
            All classes that will ever appear; required on the first call.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights.

        Returns
        -------
        self : KerasMLPClassifier
            The updated estimator.

        Raises
        ------
        TrainingDivergedError
            The training loss became NaN, infinite or larger than 1e6.
        ValueError
            ``classes`` missing on the first call, or labels outside it.
        """
        first = not hasattr(self, "_state")
        if first and classes is None:
            raise ValueError(
                "classes=None on the first call to partial_fit. Pass every class "
                "that will appear, e.g. partial_fit(X, y, classes=np.unique(y_all))."
            )
        return self._fit(X, y, sample_weight, classes=classes, reset=first, epochs=1)

    def _fit(self, X, y, sample_weight, *, classes, reset, epochs):
        # validate_data(reset=True) sets n_features_in_ / feature_names_in_ at
        # once; put them back if the fit fails, so a failed fit changes nothing.
        saved = {k: self.__dict__[k] for k in _INPUT_ATTRS if k in self.__dict__}
        try:
            return self._fit_unchecked(X, y, sample_weight, classes=classes, reset=reset,
                                       epochs=epochs)
        except BaseException:
            for k in _INPUT_ATTRS:
                self.__dict__.pop(k, None)
            self.__dict__.update(saved)
            raise

    def _fit_unchecked(self, X, y, sample_weight, *, classes, reset, epochs):
        check_not_nd(X)
        X, y = validate_data(
            self, X, y, accept_sparse=True, dtype=_FLOATS, reset=reset, y_numeric=False
        )
        if sp.issparse(X):
            X = X.toarray()
        check_classification_targets(y)
        if reset:
            labels = np.unique(y) if classes is None else np.unique(np.asarray(classes))
            check_two_classes(labels)
            missing = np.setdiff1d(np.unique(y), labels)
            if missing.size:
                raise ValueError(
                    f"y contains labels {missing.tolist()} not in classes={labels.tolist()}. "
                    "Pass every label in classes."
                )
        else:
            labels = self.classes_
            unseen = np.setdiff1d(np.unique(y), labels)
            if unseen.size:
                raise ValueError(
                    f"y contains labels {unseen.tolist()} that were not seen in the first "
                    f"fit (classes_={labels.tolist()}). Refit with warm_start=False, or "
                    "pass every class to the first partial_fit call."
                )
        codes = np.searchsorted(labels, y).astype(np.int32)
        sw = _check_sample_weight(sample_weight, X, dtype=X.dtype, ensure_non_negative=True)
        if self.class_weight is not None:
            sw = sw * _class_weights(self.class_weight, labels, y, partial=epochs is not None)[
                codes
            ].astype(X.dtype)
        if epochs is None:  # fit: a single class after weighting is an error too
            present = np.unique(y)
            if len(present) < 2:  # warm_start: classes_ has more, this data has one
                raise ValueError(
                    f"y contains only one class ({present[0].item()!r}) but fit needs at least two; "
                    f"warm_start=True keeps classes_={labels.tolist()!r}, yet every fit trains on "
                    "its own data. Fit on samples of at least two classes, or continue with "
                    "partial_fit, which accepts a batch of one class."
                )
            check_two_classes(labels, np.unique(y[sw > 0]))
        if not np.any(sw > 0):
            raise ValueError(
                "sample_weight is zero for every sample. Give some samples positive weight."
            )
        # Normalise so a batch's loss is sum(w * l) / sum(w): integer weights
        # then equal repeated samples.
        sw = (sw * (sw.shape[0] / sw.sum())).astype(X.dtype)

        sizes = [X.shape[1]] + [self.hidden_units] * self.n_layers + [len(labels)]
        if reset:
            seed = resolve_seed(self.random_state)
            state = _training.new_state(seed, sizes, X.dtype)
        else:
            seed = self._seed
            actual = [self.coefs_[0].shape[0]] + [c.shape[1] for c in self.coefs_]
            if sizes != actual:
                raise ValueError(
                    f"hidden_units={self.hidden_units!r} and n_layers={self.n_layers!r} do not "
                    f"match the network being continued (layer sizes {actual}). Set "
                    "warm_start=False to train the new architecture from scratch."
                )
            state = self._state.copy()
            state.reset_stopping()
            if state.params[0].dtype != X.dtype:
                state = _cast_state(state, X.dtype)
        if self.cache_dir is not None and self.random_state is None and epochs is None:
            import warnings

            warnings.warn(
                f"cache_dir={self.cache_dir!r} is not used because random_state=None: a fit is "
                "cached under its seed, so caching needs an integer random_state. Set "
                "random_state=0 (or any int) to cache and resume fits.",
                UserWarning, stacklevel=4,
            )
        cached = (reset and epochs is None and self.cache_dir is not None
                  and not self.warm_start and self.random_state is not None)
        cache = _fit_cache(self, X, codes, sw, labels, seed) if cached else None
        state, history = self._train_or_load(state, X, codes, sw, seed, epochs, cache)
        if epochs is None and not history.converged and not self.early_stopping:
            _warn_not_converged(self.epochs)
        with_validation = self.early_stopping and epochs is None

        # Commit: nothing above changed the estimator.
        self.classes_ = labels
        self._seed = seed
        self._state = state
        self._model = None
        self.coefs_ = state.params[0::2]
        self.intercepts_ = state.params[1::2]
        self.n_iter_ = state.epoch
        self._fit_epochs = history.epochs_trained  # read by the command's progress record
        self.loss_curve_ = history.loss_curve
        self.validation_scores_ = history.validation_scores if with_validation else None
        self.best_validation_score_ = (
            history.best_validation_score if with_validation else None
        )
        return self

    def _train_or_load(self, state, X, codes, sw, seed, epochs, cache):
        """Train ``state`` (or load/continue it from ``cache``); return (state, history).

        ``epochs`` is None for ``fit`` (train ``self.epochs``) or the number of
        epochs of a ``partial_fit`` call.
        """
        history, previous = _training.History(), None
        entry = cache.lookup(self.epochs) if cache is not None else None
        if entry is not None and entry.failure is not None:
            raise _training.TrainingDivergedError(entry.failure)
        usable = entry is not None and (entry.epochs == self.epochs or not self.early_stopping)
        if usable:
            state, previous = _state_from_entry(entry)
            history.converged = state.converged
        if not usable or (state.epoch < self.epochs and not state.converged):
            validation = None
            Xt, ct, swt = X, codes, sw
            if self.early_stopping and epochs is None:
                Xt, X_val, ct, y_val, swt = _validation_split(
                    X, codes, sw, self.validation_fraction, seed)
                validation = (X_val, y_val)
            if epochs is not None:  # partial_fit
                n_epochs = epochs
            else:  # a continued cached run needs only the remaining epochs
                n_epochs = self.epochs - state.epoch if usable else self.epochs
            schedule = _training.Schedule(
                epochs=n_epochs,
                batch_size=resolve_batch_size(self.batch_size, Xt.shape[0]),
                tol=self.tol,
                n_iter_no_change=self.n_iter_no_change if epochs is None else 2**31,
                verbose=self.verbose,
            )
            try:
                with preserve_global_rng():
                    history = _training.train(
                        state, Xt, ct, swt, hyper=self._hyper(), schedule=schedule, seed=seed,
                        validation=validation,
                    )
            except _training.TrainingDivergedError as exc:
                if cache is not None:
                    cache.store_failure(exc.epoch or self.epochs, str(exc))
                raise
            history.epochs_trained = len(history.loss_curve)
            if previous is not None:  # continued from a cached shorter run
                history.loss_curve = previous["loss_curve"] + history.loss_curve
            if cache is not None:
                cache.store(self.epochs, state.params, state.slots_1, state.slots_2,
                            history.loss_curve, history.validation_scores,
                            _entry_meta(state, history, validation is not None))
        elif previous is not None:
            history.loss_curve = previous["loss_curve"]
            history.validation_scores = previous["validation_scores"]
            history.best_validation_score = previous["best_validation_score"]
        return state, history

    def _hyper(self):
        return {
            "activation": self.activation,
            "optimizer": self.optimizer,
            "learning_rate": self.learning_rate,
            "alpha": self.alpha,
            "dropout": self.dropout,
        }

    # -------------------------------------------------------------- predict
    def predict_proba(self, X):
        """Probability of each class for each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``; rows sum to 1.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Called before ``fit``.
        ValueError
            ``X`` has another number of features (or other names) than in ``fit``.
        """
        check_is_fitted(self)
        check_not_nd(X)
        dtype = self._state.params[0].dtype
        X = validate_data(self, X, accept_sparse=True, dtype=dtype, reset=False)
        if sp.issparse(X):
            X = X.toarray()
        return _training.predict_proba(self._state.params, X, self.activation)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """Predict the class of each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    # ---------------------------------------------------------------- model
    @property
    def model_(self):
        """The fitted network as a compiled ``keras.Model``."""
        check_is_fitted(self)
        if getattr(self, "_model", None) is None:
            from ._model import build_mlp

            with preserve_global_rng():
                self._model = build_mlp(
                    self.coefs_,
                    self.intercepts_,
                    self.activation,
                    self.dropout,
                    self.learning_rate,
                    self.optimizer,
                    self._seed,
                    alpha=self.alpha,
                )
        return self._model

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_model", None)  # rebuilt from the weights on demand
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _validation_split(X, codes, sw, fraction, seed):
    """Hold out ``fraction`` for early stopping: stratified when every class can be on both
    sides, else a plain random split (as MLPClassifier trains on such small data).

    Raises
    ------
    ValueError
        The validation part would hold fewer than 2 samples, or the training part
        fewer than 2 classes.
    """
    n = len(codes)
    n_val = int(np.ceil(fraction * n))
    counts = np.bincount(codes)
    counts = counts[counts > 0]
    if n_val < 2 or n - n_val < 2:
        raise ValueError(
            f"early_stopping=True with validation_fraction={fraction!r} holds out {n_val} of "
            f"the {n} training samples; early stopping needs at least 2 on each side. Increase "
            "validation_fraction, pass more samples, or set early_stopping=False."
        )
    stratifiable = n_val >= len(counts) and n - n_val >= len(counts) and counts.min() >= 2
    Xt, X_val, ct, y_val, swt, _ = train_test_split(
        X, codes, sw, test_size=fraction, stratify=codes if stratifiable else None,
        random_state=int(stream(seed, "split").integers(2**31)),
    )
    if len(np.unique(ct)) < 2:
        raise ValueError(
            f"early_stopping=True with validation_fraction={fraction!r} leaves a single class in "
            f"the training part of {n} samples. Lower validation_fraction, pass more samples, or "
            "set early_stopping=False."
        )
    return Xt, X_val, ct, y_val, swt


def _class_weights(class_weight, labels, y, partial):
    """Weight of each class in ``labels`` (classes absent from a dict weigh 1)."""
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


def _fit_cache(est, X, codes, sw, labels, seed):
    from ._cache import FitCache, data_fingerprint

    ignore = {"epochs", "verbose", "cache_dir", "warm_start", "random_state"}
    params = {k: v for k, v in est.get_params().items() if k not in ignore}
    if isinstance(params.get("class_weight"), dict):  # JSON-stable: numpy/mixed keys
        params["class_weight"] = sorted(
            (repr(k.item() if isinstance(k, np.generic) else k), float(v))
            for k, v in params["class_weight"].items()
        )
    return FitCache(est.cache_dir, params, data_fingerprint(X, codes, sw, labels), seed)


def _entry_meta(state, history, with_validation):
    return {
        "epoch": state.epoch, "step": state.step, "best_loss": state.best_loss,
        "no_improvement": state.no_improvement, "converged": bool(state.converged),
        "with_validation": with_validation,
        "best_validation_score": history.best_validation_score if with_validation else None,
    }


def _state_from_entry(entry):
    m, st = entry.meta, entry.state
    state = _training.TrainState(
        st["params"], st["slots_1"], st["slots_2"], m["step"], m["epoch"],
        m["best_loss"] if m["best_loss"] is not None else np.inf, m["no_improvement"],
        m["converged"],
    )
    previous = {"loss_curve": st["loss_curve"], "validation_scores": st["validation_scores"],
                "best_validation_score": m["best_validation_score"]}
    return state, previous


def _cast_state(state, dtype):
    cast = lambda arrays: [a.astype(dtype) for a in arrays]  # noqa: E731
    return _training.TrainState(
        cast(state.params), cast(state.slots_1), cast(state.slots_2), state.step, state.epoch,
        state.best_loss, state.no_improvement, state.converged,
    )


def _warn_not_converged(epochs):
    import warnings

    warnings.warn(
        f"epochs={epochs} reached and the training loss has not converged yet. "
        "Increase epochs for a better fit, or ignore this warning in a search.",
        ConvergenceWarning,
        stacklevel=4,
    )
