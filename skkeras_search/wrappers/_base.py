"""What KerasClassifier and KerasRegressor share: parameters, fitting, the fit cache.

Write a function that builds a Keras model, with its hyperparameters as
keyword arguments that have defaults::

    def build_cnn(input_shape, n_classes, filters=16, learning_rate=1e-3):
        model = keras.Sequential([keras.Input(input_shape),
                                  keras.layers.Conv2D(filters, 3, activation="relu"),
                                  keras.layers.Flatten(),
                                  keras.layers.Dense(n_classes, activation="softmax")])
        model.compile(keras.optimizers.Adam(learning_rate), "sparse_categorical_crossentropy")
        return model

    clf = KerasClassifier(build_cnn, filters=32, epochs=5, random_state=0)
    RandomizedSearchCV(clf, {"filters": [16, 32], "learning_rate": loguniform(1e-4, 1e-1)})

The function's keyword arguments (``filters``, ``learning_rate``) are real
estimator parameters: ``get_params`` lists them, ``set_params``, ``clone`` and
every search use them by name, with no ``model__`` prefix and no dict-valued
parameter (how: :mod:`._factory`). ``_KerasWrapper`` here holds the training
parameters, their constraints and documentation, and the fit both estimators
run: build (under the fit's seed), check, train a pooled compiled model
(:mod:`._keras_fit`), use the fit cache (:mod:`._cached_fit`), commit.
"""

import functools
import os
import secrets
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from skkeras_search._core.fit_cache import cache_blocker, unseeded_message
from skkeras_search._core.seeding import resolve_seed
from skkeras_search._core.validation import Interval, StrOptions, holdout_split, validate_data
from skkeras_search.exceptions import TrainingDivergedError
from skkeras_search.wrappers import _cached_fit, _keras_fit
from skkeras_search.wrappers import _checks as _wrapper_checks
from skkeras_search.wrappers._factory import _class_for, _instance_of, _WrapperMeta

__all__ = ["_KerasWrapper"]

# Training parameters shared by both wrappers, in signature order, with defaults.
_FIT_PARAMS = {
    "optimizer": "adam",
    "learning_rate": 1e-3,
    "epochs": 10,
    "batch_size": 32,
    "early_stopping": False,
    "validation_fraction": 0.1,
    "n_iter_no_change": 10,
    "tol": 1e-4,
    "warm_start": False,
    "random_state": None,
    "verbose": 0,
    "cache_dir": None,
}
# A build function may declare these itself (it then compiles with them).
_SHAREABLE = {"optimizer", "learning_rate"}
_CONSTRAINTS = {
    "model": [callable],
    "optimizer": [str],
    "learning_rate": [Interval(Real, 0, None, closed="neither")],
    "epochs": [Interval(Integral, 1, None, closed="left")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
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
# Rows of X that tell a classifier's outputs apart (probabilities or logits) when its
# last layer does not say.
_SAMPLE_ROWS = 64
# Set by validate_data at the start of fit; put back when the fit fails.
_INPUT_ATTRS = ("n_features_in_", "feature_names_in_")


def _unchanged_if_failed(fit):
    """Decorate ``fit`` so that a failed fit (say a diverged one) changes nothing.

    ``validate_data`` sets ``n_features_in_`` first; left behind by a failed
    fit, it would make an unfitted estimator pass ``check_is_fitted``.
    """
    @functools.wraps(fit)
    def checked_fit(self, *args, **kwargs):
        saved = {k: self.__dict__[k] for k in _INPUT_ATTRS if k in self.__dict__}
        try:
            return fit(self, *args, **kwargs)
        except BaseException:
            for k in _INPUT_ATTRS:
                self.__dict__.pop(k, None)
            self.__dict__.update(saved)
            raise

    return checked_fit


class _KerasWrapper(BaseEstimator, metaclass=_WrapperMeta):
    """Shared machinery; see KerasClassifier and KerasRegressor."""

    _kind = None
    _data_args = ()
    _extra_params = {}
    # what the class factory reads (see _factory)
    _fit_params, _shareable, _constraints = _FIT_PARAMS, _SHAREABLE, _CONSTRAINTS

    def __new__(cls, *args, **kwargs):
        # KerasClassifier(build_fn, ...) -> an instance of the class made for build_fn.
        if "_build_fn" in cls.__dict__ and not args and "model" not in kwargs:
            return object.__new__(cls)  # e.g. type(est)() with the default model
        model = args[0] if args else kwargs.get("model")
        if "_build_fn" in cls.__dict__ and not callable(model):
            return object.__new__(cls)  # like any estimator: fit's validation reports it
        if model is None or not callable(model):
            raise TypeError(
                f"{cls.__name__} needs model=<a function that builds a keras.Model>, got "
                f"model={model!r}. Pass e.g. {cls.__name__}(build_model, epochs=10)."
            )
        target = _class_for(cls._kind, model)
        obj = object.__new__(target)
        if not issubclass(target, cls):  # Python calls __init__ only for subclasses of cls
            obj.__init__(*args, **kwargs)
        return obj

    def __reduce__(self):
        return _instance_of, (type(self)._kind, type(self)._build_fn), self.__getstate__()

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_model", None)  # the lazily built copy behind model_; rebuilt on demand
        return state

    # ------------------------------------------------------------------ fit
    def _validate_X(self, X, reset):
        X = validate_data(self, X, reset=reset, allow_nd=True, dtype=np.float32)
        self._check_input_shape(X, reset)
        return X

    def _check_input_shape(self, X, reset):
        if reset:
            return
        if tuple(X.shape[1:]) != self.input_shape_:
            raise ValueError(
                f"X has samples of shape {tuple(X.shape[1:])}, but {type(self).__name__} was "
                f"fitted on samples of shape {self.input_shape_}. Pass X of shape "
                f"(n_samples, {', '.join(map(str, self.input_shape_))})."
            )

    def _build_kwargs(self, input_shape, n_outputs):
        data = {"input_shape": tuple(input_shape), self._data_args[1]: n_outputs}
        kwargs = {k: getattr(self, k) for k in self._hyper_names}
        kwargs.update({k: data[k] for k in self._data_names})
        return kwargs

    def _fit_keras(self, X, y, sw, n_outputs, classes, stratify):
        """Train on encoded targets ``y``; set the fitted state shared by both wrappers."""
        self._check_model()
        spec = _keras_fit.Spec(self.model, self._build_kwargs(X.shape[1:], n_outputs),
                               X.shape[1:], X.dtype, n_outputs, self._task, self.optimizer,
                               self.learning_rate)
        warm = self.warm_start and hasattr(self, "_variables")
        seed = self._seed if warm else resolve_seed(self.random_state)
        # Every fit calls the build function: what it builds (not its name) keys the
        # pooled model, and under the fit's seed it makes the fit's initial weights.
        fresh = spec.build(seed)
        arch, initial = _wrapper_checks.architecture(fresh), [v.numpy() for v in fresh.variables]
        if warm and (self._spec.key, self._arch) != (spec.key, arch):
            raise ValueError(
                "warm_start=True, but the parameters, input shape, number of outputs or the "
                "network the build function builds differ from the fitted model's. Set "
                "warm_start=False to train the new model from scratch."
            )
        data = [X, y] + ([] if sw is None else [sw]) + list(classes)
        cache = self._cache(data, seed, warm, arch)
        entry = _usable_entry(cache, self.epochs, self.early_stopping)
        with _keras_fit.acquire(spec, arch, seed, fresh, X[:_SAMPLE_ROWS]) as slot:
            del fresh  # pooled now, or a throwaway
            self._check_slot(slot, spec, n_outputs)
            state, end = self._start(warm, entry, initial, slot.optimizer_start)
            fit, token = self._train_slot(slot, state, end, X, y, sw, seed, stratify, cache)
        if cache is not None and (entry is None or entry.epochs != self.epochs):
            cache.store(self.epochs, *_cached_fit.to_entry(fit))
        # Commit: nothing above changed the estimator.
        self._spec, self._arch, self._head, self._seed, self._token = (
            spec, arch, slot.head, seed, token)
        self._variables, self._optimizer_variables = fit.variables, fit.optimizer_variables
        self.__dict__.pop("_model", None)
        self.input_shape_ = tuple(int(d) for d in X.shape[1:])
        self.history_ = fit.history
        self.n_iter_ = fit.n_iter
        self.n_epochs_trained_ = fit.epochs_trained
        return self

    def _check_model(self):
        if self.model is not type(self)._build_fn:
            raise ValueError(
                f"model={self.model!r} differs from the build function this estimator was made "
                f"for ({type(self)._build_fn.__qualname__}). Create a new estimator, "
                f"{type(self).__name__}({getattr(self.model, '__qualname__', 'build')}, ...), "
                "instead of set_params(model=...)."
            )

    def _check_slot(self, slot, spec, n_outputs):
        """Refuse a model with the wrong number of outputs; pass on its head's warning."""
        if slot.out_units not in self._allowed_units(n_outputs):
            raise ValueError(self._output_message(slot.out_units, n_outputs))
        if slot.head_warning is not None:
            warnings.warn(f"model={spec.name} {slot.head_warning}", UserWarning, stacklevel=6)

    def _start(self, warm, entry, initial, optimizer_start):
        """``(state, end)``: the :class:`~._cached_fit.KerasFit` to start from, epochs to reach."""
        if warm:
            start = _cached_fit.KerasFit(self._variables, self._optimizer_variables,
                                         self.n_iter_, {k: list(v) for k, v in
                                                        self.history_.items()})
            return start, start.n_iter + self.epochs
        if entry is not None:
            start = _cached_fit.from_entry(entry)
            # the cached fit is this fit (nothing to train), or a shorter one to continue
            return start, start.n_iter if entry.epochs == self.epochs else self.epochs
        return _cached_fit.KerasFit(initial, optimizer_start), self.epochs

    def _train_slot(self, slot, state, end, X, y, sw, seed, stratify, cache):
        """Load ``state`` into the slot, train on to epoch ``end``; return ``(fit, token)``.

        ``token`` marks the slot as holding the fit's variables (prediction
        then skips assigning them).
        """
        _keras_fit.load(slot, state.variables, state.optimizer_variables)
        first = state.n_iter
        new = self._train(slot, X, y, sw, seed, first, end, stratify) if end > first else {}
        variables, optimizer_variables = _keras_fit.snapshot(slot)
        if new:
            self._check_diverged(new, first, variables, slot, y, cache)
        token = secrets.token_hex(8)
        slot.loaded = token
        history = {k: state.history.get(k, []) + v for k, v in new.items()} if new \
            else state.history
        trained = len(new.get("loss", []))
        return _cached_fit.KerasFit(variables, optimizer_variables, first + trained, history,
                                    trained), token

    def _train(self, slot, X, y, sw, seed, start, end, stratify):
        """Train the loaded slot for epochs [start, end); return Keras's history of them."""
        validation, X_train, y_train, sw_train = None, X, y, sw
        if self.early_stopping:
            (X_train, y_train, sw_train), (X_val, y_val, _) = holdout_split(
                X, y, sw, fraction=self.validation_fraction, seed=seed, stratify=stratify)
            validation = (X_val, y_val)
        batch_size = min(self.batch_size, X_train.shape[0])  # as Keras: the whole data
        return _keras_fit.train(
            slot, X_train, y_train, sw_train, batch_size=batch_size, seed=seed,
            first_epoch=start, epochs=end, validation=validation,
            patience=self.n_iter_no_change, min_delta=self.tol, verbose=self.verbose)

    def _check_diverged(self, new, start, variables, slot, y, cache):
        """Raise TrainingDivergedError (recorded in the fit cache) if training diverged."""
        found = _wrapper_checks.divergence(new.get("loss", []), start, variables)
        if found is None:
            return
        epoch, loss = found
        by_build = slot.compiled_by_user and "learning_rate" not in self._hyper_names
        learning_rate = (_keras_fit.optimizer_learning_rate(slot.model) if by_build
                         else self.learning_rate)
        message = _wrapper_checks.divergence_message(
            epoch, loss, learning_rate, compiled_by=type(self)._build_fn.__qualname__
            if by_build else None, targets=y if self._task == "regression" else None,
            hyper={k: getattr(self, k) for k in self._hyper_names})
        if cache is not None:
            cache.store_failure(epoch, message)
        raise TrainingDivergedError(message, epoch=epoch)

    def _cache(self, data, seed, warm, arch):
        """The fit cache of this fit, or None when it is not cached (``cache_blocker``)."""
        blocker = cache_blocker(self.get_params(), continuing=warm)
        if blocker == "random_state":
            # the caller of fit: _cache, _fit_keras, fit, checked_fit, _fit_context, caller
            warnings.warn(unseeded_message(self.cache_dir), UserWarning, stacklevel=6)
        if blocker is not None:
            return None
        return _cached_fit.fit_cache(self, data, seed, arch)

    def _outputs(self, X):
        """The model's raw outputs for ``X`` (float32), after validation."""
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        with _keras_fit.acquire(self._spec, self._arch, self._seed,
                                sample=X[:_SAMPLE_ROWS]) as slot:
            return _keras_fit.predict(slot, X, self._variables, self._token)

    @property
    def model_(self):
        """The fitted network, as a ``keras.Model`` of its own (built on first access)."""
        check_is_fitted(self)
        if "_model" not in self.__dict__:
            model = _keras_fit.rebuild(self._spec, self._arch, self._seed, unique_names=True)
            for v, value in zip(model.variables, self._variables):
                v.assign(value)
            self.__dict__["_model"] = model
        return self.__dict__["_model"]


def _usable_entry(cache, epochs, early_stopping):
    """The cached fit to load or continue, or None; a cached failure is raised at once."""
    entry = cache.lookup(epochs) if cache is not None else None
    if entry is not None and entry.failure is not None:
        raise TrainingDivergedError(entry.failure, epoch=entry.epochs)  # diverged before: at once
    if entry is not None and entry.epochs != epochs and early_stopping:
        return None  # continuation needs early_stopping=False
    return entry


_COMMON_DOC = """
    model : callable
        Function that builds and returns a ``keras.Model``. Its keyword
        arguments with defaults become parameters of this estimator (searchable
        by name); arguments named ``input_shape`` (the shape of one sample, a
        tuple) and ``{data}`` are filled in from the training data. If the
        model it returns is compiled, it is trained with its own optimizer,
        loss and metrics (what Keras users expect); if not, it is compiled
        with ``optimizer``, ``learning_rate`` and {loss}.
    optimizer : str, default='adam'
        Keras optimizer name, used only when ``model`` returns an uncompiled
        model (a build function may declare ``optimizer`` itself).
    learning_rate : float, default=1e-3
        Step size of that optimizer. Ignored when ``model`` compiles, unless
        the build function declares ``learning_rate`` itself, in which case it
        is the build function's parameter.
    epochs : int, default=10
        Passes over the training data (Keras's ``epochs``). Hyperband searches
        set it per budget.
    batch_size : int, default=32
        Minibatch size (Keras's); a batch larger than the training data is the
        whole training data.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data{strat} and stop
        when the validation loss has not improved by ``tol`` for
        ``n_iter_no_change`` epochs, keeping the best weights (Keras's
        ``EarlyStopping(restore_best_weights=True)``).
    validation_fraction : float, default=0.1
        Fraction held out for early stopping. Ignored unless
        ``early_stopping=True``.
    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs. Ignored unless
        ``early_stopping=True``.
    tol : float, default=1e-4
        Smallest decrease of the validation loss that counts as an
        improvement. Ignored unless ``early_stopping=True``.{extra}
    warm_start : bool, default=False
        When True and the estimator is fitted with the same parameters and
        input shape, ``fit`` trains ``epochs`` more epochs from the current
        weights and optimizer state.
    random_state : int, RandomState instance or None, default=None
        Seeds the build (weight initialisation and dropout seeds, through
        ``keras.utils.set_random_seed``), the validation split and the
        per-epoch shuffle. The caller's Python and NumPy global RNG states are
        left unchanged. An int gives identical predictions on CPU, in any
        process.
    verbose : int, default=0
        Keras's one line per epoch (``verbose=2``) when positive.
    cache_dir : str or None, default=None
        Folder of a fit cache shared by the fits of a search (used only with
        an int ``random_state`` and ``warm_start=False``). A fit whose
        parameters, data and seed match a cached one loads it; one asking for
        more ``epochs`` continues it from its weights, optimizer state and
        dropout seed state, training only the extra epochs, bit-identical to
        training from scratch on CPU (needs ``early_stopping=False``). The
        build function is keyed by its module, name, code, defaults, the
        values its closure captured and the network it builds (layers, their
        configs and shapes, the compiled optimizer and loss); the code of
        functions and layer classes it uses is not looked into, so clear the
        cache after editing those. Entries are ``.npz`` files, read without
        pickle.
"""

_ATTRS_DOC = """
    n_features_in_ : int
        ``X.shape[1]`` at fit (for images, their height).
    input_shape_ : tuple of int
        Shape of one training sample, ``X.shape[1:]``.
    history_ : dict of list of float
        Keras's ``History.history``: per-epoch loss (and ``val_loss`` with
        early stopping, and compiled metrics).
    n_iter_ : int
        Epochs trained in all (including continued ones).
    n_epochs_trained_ : int
        Epochs trained by the last call to ``fit``: 0 when the fit cache
        supplied the weights, the extra epochs when a cached shorter fit was
        continued, fewer than ``epochs`` when early stopping ended it.
    model_ : keras.Model
        The fitted network (a model of its own, built on first access).
"""
