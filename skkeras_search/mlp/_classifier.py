"""KerasMLPClassifier: a Keras MLP that scikit-learn treats as a classifier."""

from numbers import Real

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets

from skkeras_search._core.validation import (
    Interval,
    StrOptions,
    _check_sample_weight,
    _fit_context,
    check_two_classes,
    class_weights,
)
from skkeras_search.mlp import _training
from skkeras_search.mlp._base import (
    ADDED_PARAMS,
    COMMON_CONSTRAINTS,
    BaseKerasMLP,
    FitMode,
    preset,
)

__all__ = ["KerasMLPClassifier", "TABULAR_DEFAULTS"]

#: ``KerasMLPClassifier.tabular_defaults()``'s parameters, as chosen by
#: ``benchmarks/meta_tune_tabular.py`` (``benchmarks/results/meta_tune_tabular.md``).
TABULAR_DEFAULTS = {"hidden_units": 256, "n_layers": 2, "activation": "relu",
                    "optimizer": "adamw", "weight_decay": 0.02, "learning_rate": 1e-3,
                    "learning_rate_schedule": "cosine", "alpha": 0.0, "dropout": 0.3,
                    "label_smoothing": 0.1, "batch_size": 256, "epochs": 32}


class KerasMLPClassifier(ClassifierMixin, BaseKerasMLP):
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
    optimizer : {'adam', 'adamw', 'sgd', 'rmsprop'}, default='adam'
        Update rule, with Keras's defaults; 'sgd' uses momentum 0.9. 'adamw'
        is Keras's ``AdamW``: Adam with the decoupled ``weight_decay``. As in
        Keras 3, every optimizer takes ``weight_decay``, so 'adamw' trains
        exactly as 'adam' with the same ``weight_decay`` (and as plain Adam
        with ``weight_decay=0``); search ``weight_decay``, not both names.
    weight_decay : float, default=0.0
        Decoupled weight decay (Loshchilov & Hutter, 2019), per unit of
        learning rate: before each update every weight, biases included, is
        multiplied by ``1 - weight_decay * lr``, ``lr`` being that update's
        rate (Keras's ``weight_decay`` optimizer argument, with no variable
        excluded). It applies with every ``optimizer``; unlike ``alpha`` it
        is not part of the loss, so Adam's gradient scaling does not weaken
        it. Ignored when 0.
    learning_rate_schedule : {'constant', 'cosine'}, default='constant'
        Rate of each update. 'constant' uses ``learning_rate`` throughout.
        'cosine' decays it to 0 along a half cosine over the updates of the
        fit's ``epochs`` (Loshchilov & Hutter, 2017; Keras's
        ``CosineDecay(learning_rate, decay_steps=epochs * batches per epoch,
        alpha=0)``), even when early stopping ends the fit sooner. A
        ``warm_start`` fit runs a new cycle; successive ``partial_fit`` calls
        go through one cycle of ``epochs`` epochs, then train at rate 0. A
        cosine fit never continues a cached fit of fewer ``epochs`` (see
        ``cache_dir``). Never ignored.
    alpha : float, default=1e-4
        L2 penalty on the kernels with scikit-learn's MLPClassifier formula
        (its ``_backprop``): each batch's loss gets ``0.5 * alpha *
        sum(W**2) / batch_weight`` (nats per sample per squared weight),
        ``batch_weight`` being the batch's rows, or its sum of
        ``sample_weight`` times ``class_weight`` as given; a smaller last
        batch is penalised more. Keras's ``L2(0.5 * alpha / batch_size)`` on
        full batches (``model_`` carries it). Ignored when 0.
    dropout : float, default=0.0
        Fraction of each hidden layer's units dropped during training. With
        ``dropout > 0`` an integer ``sample_weight`` of 2 is not the same as
        the row repeated (scikit-learn's sample-weight equivalence): dropout
        masks are drawn per row position, so a repeated row gets two masks
        and a weighted row one.
    label_smoothing : float, default=0.0
        Train on cross-entropy against smoothed targets ``onehot * (1 -
        label_smoothing) + label_smoothing / n_classes`` (Szegedy et al.,
        2016; Keras's ``CategoricalCrossentropy(label_smoothing=...)``), so
        the network is not pushed to infinitely confident logits. The loss in
        ``loss_curve_`` (and what ``tol`` measures) is the smoothed one;
        ``model_`` is compiled with the plain sparse cross-entropy. Ignored
        when 0.
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
        budgets in :class:`~skkeras_search.HyperbandSearchCV`); a fit that
        diverged fails again at once. Used only when ``random_state`` is set
        and ``warm_start=False``; continuation needs ``early_stopping=False``
        and ``learning_rate_schedule='constant'`` (a cosine fit of more epochs
        trains from scratch; one of equal epochs still loads).
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
        penalties in float32), ``L2(0.5 * alpha / batch_size)`` for the
        fit's resolved ``batch_size`` (exact on unweighted full batches of
        that size; Keras adds it to every batch), and weight decay. Its optimizer starts
        afresh at a constant rate: ``model_.fit`` is not ``warm_start``.
        Keras's ``predict`` casts float64 input to float32; call
        ``model_(X)`` for a float64 model's full precision.
    n_iter_ : int
        Number of epochs trained, counting earlier calls with ``warm_start``
        and ``partial_fit``.
    n_epochs_trained_ : int
        Epochs trained by the last call to ``fit`` or ``partial_fit``: 0 when
        the fit cache supplied the weights, the extra epochs when a cached
        shorter fit was continued, fewer than ``epochs`` when early stopping
        (or the ``n_iter_no_change`` rule on the training loss) ended it.
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
        **COMMON_CONSTRAINTS,
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
    }
    _added_params = {**ADDED_PARAMS, "label_smoothing": 0.0}

    def __init__(
        self,
        *,
        hidden_units=128,
        n_layers=1,
        activation="relu",
        learning_rate=1e-3,
        optimizer="adam",
        weight_decay=0.0,
        learning_rate_schedule="constant",
        alpha=1e-4,
        dropout=0.0,
        label_smoothing=0.0,
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
        self.weight_decay = weight_decay
        self.learning_rate_schedule = learning_rate_schedule
        self.alpha = alpha
        self.dropout = dropout
        self.label_smoothing = label_smoothing
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

    #: The numeric scaling :meth:`tabular_defaults` was chosen with, for
    #: ``skkeras_search.datasets.build_pipeline(numeric_scaling=...)``.
    tabular_numeric_scaling = "quantile"

    @classmethod
    def tabular_defaults(cls, **overrides):
        """A classifier with the tuned defaults for tables, untuned by any search.

        The preset: 2 hidden layers of 256 ReLU units, ``dropout=0.3``,
        ``optimizer='adamw'`` with ``weight_decay=0.02`` and no L2
        (``alpha=0``), ``label_smoothing=0.1``, ``learning_rate=1e-3`` on a
        cosine schedule, ``batch_size=256``, ``epochs=32``; meant for a table
        pipeline with ``numeric_scaling=`` :attr:`tabular_numeric_scaling`
        (``'quantile'``). The starting point was RealMLP's meta-tuned
        defaults (Holzmuller et al., NeurIPS 2024: 3 x 256, dropout 0.15,
        weight decay 0.02, label smoothing 0.1, a cosine schedule, robust
        scaling), without its SELU and numeric embeddings, at 64 epochs and a
        rate of 2e-3. ``benchmarks/meta_tune_tabular.py`` then scored
        one-knob changes of it by 2-fold CV on the training splits of
        ``benchmarks/bench_tabular.py``'s 7 classification tables (never
        their held-out parts); combining the knobs that helped (depth 2,
        dropout 0.3, rate 1e-3, 32 epochs, quantile scaling) had the best
        median normalised score (results in ``benchmarks/results/``).

        Parameters
        ----------
        **overrides
            Parameters to set instead of the preset's, e.g. ``random_state=0``.

        Returns
        -------
        classifier : KerasMLPClassifier
            Unfitted.

        Raises
        ------
        TypeError
            An override names no parameter of the classifier.

        Examples
        --------
        >>> from skkeras_search import KerasMLPClassifier
        >>> clf = KerasMLPClassifier.tabular_defaults(random_state=0)
        >>> clf.n_layers, clf.hidden_units, clf.dropout, clf.label_smoothing
        (2, 256, 0.3, 0.1)
        """
        return preset(cls, TABULAR_DEFAULTS, overrides)

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
        return self._fit(X, y, sample_weight, classes=None, reset=not continuing,
                         mode=FitMode.fit(self.epochs))

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
        return self._fit(X, y, sample_weight, classes=classes, reset=first,
                         mode=FitMode.partial_fit(1))

    # ------------------------------------------------------------- targets
    def _targets(self, X, y, sample_weight, *, classes, reset, partial):
        check_classification_targets(y)
        present = np.unique(y)  # the labels of this data, sorted
        if reset:
            labels = present if classes is None else np.unique(np.asarray(classes))
            check_two_classes(labels)
            missing = np.setdiff1d(present, labels, assume_unique=True)
            if missing.size:
                raise ValueError(
                    f"y contains labels {missing.tolist()} not in classes={labels.tolist()}. "
                    "Pass every label in classes."
                )
        else:
            labels = self.classes_
            unseen = np.setdiff1d(present, labels, assume_unique=True)
            if unseen.size:
                raise ValueError(
                    f"y contains labels {unseen.tolist()} that were not seen in the first "
                    f"fit (classes_={labels.tolist()}). Refit with warm_start=False, or "
                    "pass every class to the first partial_fit call."
                )
        codes = np.searchsorted(labels, y).astype(np.int32)
        sw = _check_sample_weight(sample_weight, X, dtype=X.dtype, ensure_non_negative=True)
        if self.class_weight is not None:
            sw = sw * class_weights(self.class_weight, labels, y, partial=partial)[
                codes
            ].astype(X.dtype)
        if not partial:  # fit: a single class after weighting is an error too
            if len(present) < 2:  # warm_start: classes_ has more, this data has one
                raise ValueError(
                    f"y contains only one class ({present[0].item()!r}) but fit needs at least "
                    f"two; warm_start=True keeps classes_={labels.tolist()!r}, yet every fit "
                    "trains on its own data. Fit on samples of at least two classes, or continue "
                    "with partial_fit, which accepts a batch of one class."
                )
            weighted = sw > 0
            check_two_classes(labels, present if weighted.all() else np.unique(y[weighted]))
        return codes, labels, sw

    def _loss(self):
        return "cross_entropy"

    def _hyper(self):
        return {**super()._hyper(), "label_smoothing": self.label_smoothing}

    def _n_outputs(self, targets, labels):
        return len(labels)

    _stratify = True

    def _split_validation(self, X, targets, sw, seed):
        """The stratified hold-out of the base; refuses a training part of one class."""
        train, validation = super()._split_validation(X, targets, sw, seed)
        if len(np.unique(train[1])) < 2:
            raise ValueError(
                f"early_stopping=True with validation_fraction={self.validation_fraction!r} "
                f"leaves a single class in the training part of {len(targets)} samples. Lower "
                "validation_fraction, pass more samples, or set early_stopping=False."
            )
        return train, validation

    def _commit_targets(self, labels, targets, y, reset):
        self.classes_ = labels

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
        X = self._check_X(X)
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

