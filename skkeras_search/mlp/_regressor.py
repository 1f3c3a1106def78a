"""KerasMLPRegressor: the regression twin of KerasMLPClassifier, on the same engine."""

import numpy as np
from sklearn.base import RegressorMixin

from skkeras_search._core.validation import StrOptions, _check_sample_weight, _fit_context
from skkeras_search.mlp import _training
from skkeras_search.mlp._base import (
    COMMON_CONSTRAINTS,
    BaseKerasMLP,
    FitMode,
    preset,
)

__all__ = ["KerasMLPRegressor", "TABULAR_DEFAULTS"]

#: ``KerasMLPRegressor.tabular_defaults()``'s parameters, as chosen by
#: ``benchmarks/meta_tune_tabular.py`` (``benchmarks/results/meta_tune_tabular-regression.md``).
TABULAR_DEFAULTS = {"hidden_units": 256, "n_layers": 2, "activation": "relu",
                    "optimizer": "adamw", "weight_decay": 0.02, "learning_rate": 2e-3,
                    "learning_rate_schedule": "cosine", "alpha": 0.0, "dropout": 0.15,
                    "batch_size": 256, "epochs": 64}


class KerasMLPRegressor(RegressorMixin, BaseKerasMLP):
    """Multilayer perceptron regressor trained as a Keras model.

    The regression twin of :class:`~skkeras_search.KerasMLPClassifier`: the
    same network (``n_layers`` hidden layers of ``hidden_units`` units) with a
    linear output of one unit per target, trained on Keras's mean squared
    error (or Huber loss) by Adam, SGD or RMSprop in one TensorFlow graph
    shared by all fits. Fits are bit-for-bit deterministic under
    ``random_state`` on CPU, are cached and continued through ``cache_dir``
    like the classifier's, and work in every search class. Precision follows
    the input: float32 in, float32 training; anything else float64.

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
        (Keras's ``learning_rate``).
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
        Strength of the L2 penalty on the kernels (biases excluded), as in
        scikit-learn's :class:`~sklearn.neural_network.MLPRegressor` (its
        ``_backprop``), which adds ``0.5 * alpha * sum(W**2) / batch_weight``
        to half the mean squared error of each batch, ``batch_weight`` being
        the batch's rows, or the sum of its ``sample_weight`` on the scale
        given, on the weights before that batch's update. Keras's mean squared
        error is twice that loss, so with ``loss='squared_error'`` each batch
        gets ``alpha * sum(W**2) / batch_weight`` (the objective is twice
        MLPRegressor's, with the same minimiser), and with ``loss='huber'``,
        which is half the squared error below ``delta=1``, ``0.5 * alpha *
        sum(W**2) / batch_weight``. With ``n_outputs`` targets the term is
        divided by ``n_outputs``: Keras's losses average the outputs, while
        MLPRegressor's gradient is that of their sum (its ``loss_`` reports
        the average, scikit-learn issue #8349), so the fit keeps MLPRegressor's
        minimiser. In squared target units per squared weight; it weakens as
        batches grow and is stronger on a smaller last batch. In Keras's
        arithmetic: ``keras.regularizers.L2(alpha / (batch_size *
        n_outputs))`` (Huber: half that), which ``model_`` carries. Ignored
        when 0.
    dropout : float, default=0.0
        Fraction of each hidden layer's units dropped during training. With
        ``dropout > 0`` an integer ``sample_weight`` of 2 is not the same as
        the row repeated (scikit-learn's sample-weight equivalence): dropout
        masks are drawn per row position, so a repeated row gets two masks
        and a weighted row one.
    batch_size : int or 'auto', default='auto'
        Minibatch size; 'auto' is ``min(200, n_samples)``.
    epochs : int, default=200
        Maximum number of passes over the training data (MLPRegressor's
        ``max_iter``); training stops earlier once the loss settles.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data and stop when
        its R^2 stops improving; the best weights are kept.
    validation_fraction : float, default=0.1
        Fraction held out for early stopping. Ignored unless
        ``early_stopping=True``.
    n_iter_no_change : int, default=10
        Epochs without an improvement of at least ``tol`` before stopping.
    tol : float, default=1e-4
        Minimum improvement that counts: in the mean training loss (squared
        target units, penalty included), or in validation R^2 with early
        stopping.
    warm_start : bool, default=False
        When True, ``fit`` continues from the previous solution.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, the validation split, shuffling and dropout.
    verbose : int, default=0
        Print one line per epoch to stdout when positive.
    cache_dir : str or None, default=None
        Folder of a fit cache shared by the fits of a search (resume, epoch
        continuation); used only with an int ``random_state`` and
        ``warm_start=False``; a cosine ``learning_rate_schedule`` is never
        continued. See :class:`~skkeras_search.KerasMLPClassifier`.

    Attributes
    ----------
    n_outputs_ : int
        Number of targets.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.
    coefs_ : list of ndarray
        Kernel of each layer, input layer first.
    intercepts_ : list of ndarray
        Bias of each layer.
    model_ : keras.Model
        The fitted network as a compiled Keras model (linear output), with
        ``alpha``'s penalty as ``L2`` for the fit's resolved ``batch_size``
        when it is a float32 model (exact on unweighted full batches).
    n_iter_ : int
        Number of epochs trained.
    n_epochs_trained_ : int
        Epochs trained by the last call to ``fit`` or ``partial_fit``: 0 when
        the fit cache supplied the weights, the extra epochs when a cached
        shorter fit was continued, fewer than ``epochs`` when early stopping
        (or the ``n_iter_no_change`` rule on the training loss) ended it.
    loss_curve_ : list of float
        Mean training loss of each epoch of the last ``fit``.
    validation_scores_ : list of float or None
        Validation R^2 of each epoch when ``early_stopping=True``.
    best_validation_score_ : float or None
        Best validation R^2 when ``early_stopping=True``.

    See Also
    --------
    sklearn.neural_network.MLPRegressor : The NumPy multilayer perceptron.
    KerasMLPClassifier : The classification twin.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skkeras_search import KerasMLPRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=0.1, random_state=0)
    >>> reg = KerasMLPRegressor(hidden_units=32, epochs=50, random_state=0)
    >>> reg.fit(X, y / y.std()).predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints = {
        **COMMON_CONSTRAINTS,
        "loss": [StrOptions({"squared_error", "huber"})],
    }
    _y_numeric = True

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
        loss="squared_error",
        alpha=1e-4,
        dropout=0.0,
        batch_size="auto",
        epochs=200,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
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
        self.loss = loss
        self.alpha = alpha
        self.dropout = dropout
        self.batch_size = batch_size
        self.epochs = epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.cache_dir = cache_dir

    #: The numeric scaling :meth:`tabular_defaults` was chosen with, for
    #: ``skkeras_search.datasets.build_pipeline(numeric_scaling=...)``.
    tabular_numeric_scaling = "robust"

    @classmethod
    def tabular_defaults(cls, **overrides):
        """A regressor with the tuned defaults for tables, untuned by any search.

        The preset: 2 hidden layers of 256 ReLU units, ``dropout=0.15``,
        ``optimizer='adamw'`` with ``weight_decay=0.02`` and no L2
        (``alpha=0``), ``learning_rate=2e-3`` on a cosine schedule,
        ``batch_size=256``, ``epochs=64``; meant for a table pipeline with
        ``numeric_scaling=`` :attr:`tabular_numeric_scaling` (``'robust'``)
        and standardised targets (``TransformedTargetRegressor(...,
        transformer=StandardScaler())``, log first for a positive, skewed
        target). The starting point was RealMLP's meta-tuned defaults
        (Holzmuller et al., NeurIPS 2024: 3 x 256, dropout 0.15, weight decay
        0.02, a cosine schedule, robust scaling), without its SELU and
        numeric embeddings, at 64 epochs; of its one-knob changes, scored by
        ``benchmarks/meta_tune_tabular.py`` with 2-fold CV on the training
        splits of ``benchmarks/bench_tabular.py``'s 4 regression tables
        (never their held-out parts), two layers instead of three had the
        best mean normalised score (``benchmarks/results/meta_tune_tabular-regression.md``).

        Parameters
        ----------
        **overrides
            Parameters to set instead of the preset's, e.g. ``random_state=0``.

        Returns
        -------
        regressor : KerasMLPRegressor
            Unfitted.

        Raises
        ------
        TypeError
            An override names no parameter of the regressor.

        Examples
        --------
        >>> from skkeras_search import KerasMLPRegressor
        >>> reg = KerasMLPRegressor.tabular_defaults(epochs=32)
        >>> reg.n_layers, reg.hidden_units, reg.dropout, reg.epochs
        (2, 256, 0.15, 32)
        """
        return preset(cls, TABULAR_DEFAULTS, overrides)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train the network on ``X``, ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; sparse input is densified.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights; an integer weight is equivalent to repeating
            the sample.

        Returns
        -------
        self : KerasMLPRegressor
            The fitted estimator.

        Raises
        ------
        TrainingDivergedError
            The training loss became NaN, infinite or larger than 1e6 (scale
            the targets, or lower ``learning_rate``).
        ValueError
            Bad input: NaN or infinite targets, all sample weights zero, a
            ``warm_start`` whose architecture or number of outputs differs.
        """
        continuing = self.warm_start and hasattr(self, "_state")
        return self._fit(X, y, sample_weight, classes=None, reset=not continuing,
                         mode=FitMode.fit(self.epochs))

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train for one epoch on ``X``, ``y``, continuing any previous training.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : KerasMLPRegressor

        Raises
        ------
        TrainingDivergedError
            The training loss became NaN, infinite or larger than 1e6.
        """
        first = not hasattr(self, "_state")
        return self._fit(X, y, sample_weight, classes=None, reset=first,
                         mode=FitMode.partial_fit(1))

    # ------------------------------------------------------------- targets
    def _targets(self, X, y, sample_weight, *, classes, reset, partial):
        y = np.asarray(y)
        targets = (y.reshape(-1, 1) if y.ndim == 1 else y).astype(X.dtype)
        if not reset and targets.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {targets.shape[1]} outputs, but the network being continued has "
                f"{self.n_outputs_}. Set warm_start=False to train a new network."
            )
        sw = _check_sample_weight(sample_weight, X, dtype=X.dtype, ensure_non_negative=True)
        return targets, None, sw

    def _loss(self):
        return self.loss

    def _n_outputs(self, targets, labels):
        return targets.shape[1]

    def _commit_targets(self, labels, targets, y, reset):
        self.n_outputs_ = targets.shape[1]
        if reset:  # predict returns y's shape: (n,) or (n, n_outputs)
            self._ravel = y.ndim == 1

    # -------------------------------------------------------------- predict
    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The shape of ``y`` in ``fit``; float64 whatever the training precision.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Called before ``fit``.
        ValueError
            ``X`` has another number of features than in ``fit``.
        """
        X = self._check_X(X)
        # float64 always: a float32 network's outputs carry ~7 digits, and a target
        # transformer (un-standardising around 1e8, say) must not round them further.
        out = _training.predict_output(self._state.params, X, self.activation).astype(np.float64)
        return out.ravel() if self._ravel else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
