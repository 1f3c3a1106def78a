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
import inspect
import os
import secrets
import sys
import warnings
from collections import namedtuple
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from skkeras_search._core.architecture import architecture
from skkeras_search._core.fit_cache import cache_blocker, unseeded_message
from skkeras_search._core.seeding import resolve_seed
from skkeras_search._core.validation import Interval, StrOptions, holdout_split, validate_data
from skkeras_search.exceptions import TrainingDivergedError
from skkeras_search.wrappers import _cached_fit, _keras_fit
from skkeras_search.wrappers import _checks as _wrapper_checks
from skkeras_search.wrappers._callbacks import fresh_callbacks
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
    "callbacks": None,
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
    "callbacks": [list, tuple, None],
    "cache_dir": [str, os.PathLike, None],
}
# Rows of X that tell a classifier's outputs apart (probabilities or logits) when its
# last layer does not say.
_SAMPLE_ROWS = 64
# Set by validate_data at the start of fit; put back when the fit fails.
_INPUT_ATTRS = ("n_features_in_", "feature_names_in_")

# What one call trains (``_KerasWrapper._run``): the targets' task ('classification',
# 'multilabel', 'regression'), whether the hold-out is stratified, whether it is
# partial_fit, whether it continues the fitted model, the epochs to train (in all, or
# one more for partial_fit), early stopping, and this call's fresh copies of callbacks.
_Run = namedtuple("_Run", "task stratify partial continuing epochs early_stopping callbacks")


def model_instance_error(cls, model):
    """The TypeError for ``model=`` a ``keras.Model`` instance, or None when it is not one.

    Keras is imported by then if ``model`` is a Keras model, so nothing is
    imported here.
    """
    keras = sys.modules.get("keras")
    if keras is None or not isinstance(model, getattr(keras, "Model", ())):
        return None
    data = ", ".join(cls._data_args)
    return TypeError(
        f"model={type(model).__name__} instance ({getattr(model, 'name', '?')!r}) given, "
        f"but {cls.__name__} takes a function that builds and returns a keras.Model, so "
        "that every fit (every cross-validation fold) starts from fresh weights. Either "
        f"pass the build function: def build({data}): return keras.Sequential([...]); "
        f"{cls.__name__}(build); or use skkeras_search.scikeras.wrappers.{cls.__name__}"
        "(model=<the instance>), which accepts prebuilt models."
    )


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
        error = model_instance_error(cls, model)
        if error is not None:
            raise error
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

    def __setstate__(self, state):
        super().__setstate__(state)
        # A pickle made before a parameter existed (callbacks=) gets its default.
        for p in list(inspect.signature(type(self).__init__).parameters.values())[1:]:
            if p.default is not p.empty:
                self.__dict__.setdefault(p.name, p.default)

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

    def _run(self, partial, task, stratify):
        """The :data:`_Run` of a call to ``fit`` or (``partial``) ``partial_fit``.

        Raises
        ------
        TypeError
            ``callbacks`` holds something that is not a Keras callback.
        """
        continuing = hasattr(self, "_variables") and (partial or self.warm_start)
        return _Run(task, stratify, partial, continuing, 1 if partial else self.epochs,
                    self.early_stopping and not partial, fresh_callbacks(self.callbacks))

    def _fit_keras(self, X, y, sw, n_outputs, classes, run):
        """Train on encoded targets ``y`` as ``run`` says; set the shared fitted state."""
        self._check_model()
        spec = _keras_fit.Spec(self.model, self._build_kwargs(X.shape[1:], n_outputs),
                               X.shape[1:], X.dtype, n_outputs, run.task, self.optimizer,
                               self.learning_rate)
        warm = run.continuing
        seed = self._seed if warm else resolve_seed(self.random_state)
        # Every fit calls the build function: what it builds (not its name) keys the
        # pooled model, and under the fit's seed it makes the fit's initial weights.
        fresh = spec.build(seed)
        arch, initial = architecture(fresh), [v.numpy() for v in fresh.variables]
        if warm and (self._spec.key, self._arch) != (spec.key, arch):
            raise ValueError(_changed_message(run.partial))
        data = [X, y] + ([] if sw is None else [sw]) + list(classes)
        cache = None if run.partial else self._cache(data, seed, warm, arch)  # as the MLP's
        entry = _usable_entry(cache, run.epochs, run.early_stopping)
        with _keras_fit.acquire(spec, arch, seed, fresh, X[:_SAMPLE_ROWS]) as slot:
            del fresh  # pooled now, or a throwaway
            self._check_slot(slot, spec, n_outputs)
            state, end = self._start(warm, entry, initial, slot.optimizer_start, run.epochs)
            fit, token = self._train_slot(slot, state, end, X, y, sw, seed, run, cache)
        if cache is not None and (entry is None or entry.epochs != run.epochs):
            cache.store(run.epochs, *_cached_fit.to_entry(fit))
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
        error = model_instance_error(type(self), self.model)
        if error is not None:
            raise error
        if self.model is not type(self)._build_fn:
            raise ValueError(
                f"model={self.model!r} differs from the build function this estimator was made "
                f"for ({type(self)._build_fn.__qualname__}). Create a new estimator, "
                f"{type(self).__name__}({getattr(self.model, '__qualname__', 'build')}, ...), "
                "instead of set_params(model=...)."
            )

    def _check_slot(self, slot, spec, n_outputs):
        """Refuse a model with the wrong number of outputs; pass on its head's warning."""
        if slot.out_units not in self._allowed_units(n_outputs, spec.task):
            raise ValueError(self._output_message(slot.out_units, n_outputs, spec.task))
        if slot.head_warning is not None:
            warnings.warn(f"model={spec.name} {slot.head_warning}", UserWarning, stacklevel=6)

    def _start(self, warm, entry, initial, optimizer_start, epochs):
        """``(state, end)``: the :class:`~._cached_fit.KerasFit` to start from, epochs to reach.

        Continuing (``warm_start`` or ``partial_fit``) trains ``epochs`` more,
        numbered on from the fitted model's ``n_iter_``: epoch ``k`` is shuffled
        as in a fit of more than ``k`` epochs.
        """
        if warm:
            start = _cached_fit.KerasFit(self._variables, self._optimizer_variables,
                                         self.n_iter_, {k: list(v) for k, v in
                                                        self.history_.items()})
            return start, start.n_iter + epochs
        if entry is not None:
            start = _cached_fit.from_entry(entry)
            # the cached fit is this fit (nothing to train), or a shorter one to continue
            return start, start.n_iter if entry.epochs == epochs else epochs
        return _cached_fit.KerasFit(initial, optimizer_start), epochs

    def _train_slot(self, slot, state, end, X, y, sw, seed, run, cache):
        """Load ``state`` into the slot, train on to epoch ``end``; return ``(fit, token)``.

        ``token`` marks the slot as holding the fit's variables (prediction
        then skips assigning them).
        """
        _keras_fit.load(slot, state.variables, state.optimizer_variables)
        first = state.n_iter
        new = self._train(slot, X, y, sw, seed, first, end, run) if end > first else {}
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

    def _train(self, slot, X, y, sw, seed, start, end, run):
        """Train the loaded slot for epochs [start, end); return Keras's history of them."""
        validation, X_train, y_train, sw_train = None, X, y, sw
        if run.early_stopping:
            (X_train, y_train, sw_train), (X_val, y_val, _) = holdout_split(
                X, y, sw, fraction=self.validation_fraction, seed=seed, stratify=run.stratify)
            validation = (X_val, y_val)
        batch_size = min(self.batch_size, X_train.shape[0])  # as Keras: the whole data
        return _keras_fit.train(
            slot, X_train, y_train, sw_train, batch_size=batch_size, seed=seed,
            first_epoch=start, epochs=end, validation=validation,
            patience=self.n_iter_no_change, min_delta=self.tol, verbose=self.verbose,
            callbacks=run.callbacks)

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

    def _cache(self, data, seed, continuing, arch):
        """The fit cache of this fit, or None when it is not cached.

        ``cache_blocker`` decides, and then a fit with ``callbacks`` is not
        cached either, with a warning (see :mod:`._callbacks` for why).
        """
        blocker = cache_blocker(self.get_params(), continuing=continuing)
        # the caller of fit: _cache, _fit_keras, fit, checked_fit, _fit_context, caller
        if blocker == "random_state":
            warnings.warn(unseeded_message(self.cache_dir), UserWarning, stacklevel=6)
        if blocker is None and self.callbacks:
            warnings.warn(
                f"cache_dir={self.cache_dir!r} is not used because callbacks= is set: callbacks "
                "can change what a fit trains (stop it, change the learning rate, restore "
                "weights) and have effects a cached fit would skip. Drop callbacks=... to "
                "cache fits (early_stopping=True stops early and is cached).",
                UserWarning, stacklevel=6)
            return None
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
        """The fitted network: a compiled ``keras.Model`` of its own (built on first access).

        It holds the trained weights and the trained optimizer state
        (``model_.optimizer.iterations`` counts the steps trained), compiled
        with the loss and optimizer the fits trained with.
        """
        check_is_fitted(self)
        if "_model" not in self.__dict__:
            self.__dict__["_model"] = _keras_fit.own_model(
                self._spec, self._arch, self._seed, self.__dict__.get("_head"),
                self._variables, self.__dict__.get("_optimizer_variables"))
        return self.__dict__["_model"]


def _changed_message(partial):
    what = ("partial_fit continues the fitted model" if partial else "warm_start=True")
    fix = ("Call fit to train the new model from scratch." if partial else
           "Set warm_start=False to train the new model from scratch.")
    return (f"{what}, but the parameters, input shape, number of outputs or the network the "
            f"build function builds differ from the fitted model's. {fix}")


def _usable_entry(cache, epochs, early_stopping):
    """The cached fit to load or continue, or None; a cached failure is raised at once."""
    entry = cache.lookup(epochs) if cache is not None else None
    if entry is not None and entry.failure is not None:
        raise TrainingDivergedError(entry.failure, epoch=entry.epochs)  # diverged before: at once
    if entry is not None and entry.epochs != epochs and early_stopping:
        return None  # continuation needs early_stopping=False
    return entry
