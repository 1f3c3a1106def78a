"""KerasClassifier and KerasRegressor: your own Keras model as a scikit-learn estimator.

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
parameter.

How: scikit-learn reads an estimator's parameter names from the signature of
its ``__init__`` and refuses ``**kwargs`` (``BaseEstimator._get_param_names``),
which is why scikeras overrides ``get_params`` and routes ``model__x`` names.
Here ``KerasClassifier(build_cnn, ...)`` instead returns an instance of a
subclass made once per build function (cached), whose ``__init__`` carries an
explicit ``inspect.Signature``: ``model``, the function's keyword arguments,
then the training parameters. scikit-learn's own ``get_params``,
``set_params``, ``clone``, ``__repr__`` and parameter validation then work
unchanged, and nothing is overridden. The subclass cannot be found by name in
a module, so instances pickle *by reference to the build function*:
``__reduce__`` records (base class, build function) and the state, and
unpickling makes the subclass again from them (the build function must be
importable, as any pickled function must).
"""

import copyreg
import functools
import inspect
import os
import secrets
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from skkeras_search._core.seeding import resolve_seed
from skkeras_search._core.validation import (
    Interval,
    StrOptions,
    _check_sample_weight,
    _fit_context,
    check_two_classes,
    class_weights,
    validate_data,
)
from skkeras_search.exceptions import TrainingDivergedError
from skkeras_search.wrappers import _checks as _wrapper_checks
from skkeras_search.wrappers import _keras_fit

__all__ = ["KerasClassifier", "KerasRegressor"]

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
# Parameters that do not change what a fit computes (left out of cache keys).
_NOT_IN_CACHE_KEY = {"epochs", "verbose", "cache_dir", "warm_start", "random_state"}


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


class _WrapperMeta(type):
    """Metaclass of the wrappers, so that their per-function subclasses pickle."""


def _reduce_class(cls):
    if "_build_fn" not in cls.__dict__:  # KerasClassifier / KerasRegressor themselves
        return cls.__qualname__
    return _class_for, (cls._kind, cls._build_fn)


copyreg.pickle(_WrapperMeta, _reduce_class)

_classes = {}


def _class_for(kind, build_fn):
    """The estimator class for ``build_fn`` (made once, then cached)."""
    key = (kind, build_fn)
    if key not in _classes:
        _classes[key] = _make_class(kind, build_fn)
    return _classes[key]


def _instance_of(kind, build_fn):
    """Unpickling: an empty instance of the class for ``build_fn``."""
    return object.__new__(_class_for(kind, build_fn))


def _make_class(kind, build_fn):
    base = _BASES[kind]
    data_args = base._data_args
    name = getattr(build_fn, "__qualname__", type(build_fn).__name__)
    try:
        fn_params = inspect.signature(build_fn).parameters.values()
    except (TypeError, ValueError) as exc:
        raise TypeError(f"model={build_fn!r} has no inspectable signature ({exc}). Pass a "
                        "Python function that builds and returns a keras.Model.") from None
    fit_params = dict(_FIT_PARAMS, **base._extra_params)
    hyper, used_data = {}, []
    for p in fn_params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue  # *args/**kwargs cannot be named parameters; the function gets its defaults
        if p.name in data_args:
            used_data.append(p.name)
        elif p.name == "model" or (p.name in fit_params and p.name not in _SHAREABLE):
            raise TypeError(
                f"model={name} has a parameter {p.name!r}, which is also a parameter of "
                f"{base.__name__} itself. Rename it in the build function."
            )
        elif p.default is p.empty:
            raise TypeError(
                f"model={name}'s parameter {p.name!r} has no default. Give it one "
                f"(def {name}(..., {p.name}=...)); only {', '.join(sorted(data_args))} are "
                "filled in from the data."
            )
        else:
            hyper[p.name] = p.default
    fit_params = {k: v for k, v in fit_params.items() if k not in hyper}
    kw = inspect.Parameter.KEYWORD_ONLY
    signature = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
         inspect.Parameter("model", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=build_fn)]
        + [inspect.Parameter(k, kw, default=v) for k, v in {**hyper, **fit_params}.items()]
    )

    def __init__(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        for key, value in list(bound.arguments.items())[1:]:
            setattr(self, key, value)

    __init__.__signature__ = signature
    __init__.__doc__ = f"Set the parameters of {base.__name__} for ``model={name}``."
    constraints = {k: "no_validation" for k in hyper}  # the build function checks them
    constraints.update({k: v for k, v in _CONSTRAINTS.items()
                        if k == "model" or k in fit_params})
    namespace = {
        "__init__": __init__, "__module__": __name__, "__qualname__": f"{base.__name__}[{name}]",
        "__doc__": base.__doc__, "_build_fn": build_fn, "_hyper_names": tuple(hyper),
        "_data_names": tuple(used_data), "_parameter_constraints": constraints,
    }
    return _WrapperMeta(base.__name__, (base,), namespace)


class _KerasWrapper(BaseEstimator, metaclass=_WrapperMeta):
    """Shared machinery; see KerasClassifier and KerasRegressor."""

    _kind = None
    _data_args = ()
    _extra_params = {}

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

    def _fit_keras(self, X, y, sw, n_outputs, fingerprint, stratify):
        """Train on encoded targets ``y``; set the fitted state shared by both wrappers."""
        if self.model is not type(self)._build_fn:
            raise ValueError(
                f"model={self.model!r} differs from the build function this estimator was made "
                f"for ({type(self)._build_fn.__qualname__}). Create a new estimator, "
                f"{type(self).__name__}({getattr(self.model, '__qualname__', 'build')}, ...), "
                "instead of set_params(model=...)."
            )
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
        cache = self._cache(X, y, sw, fingerprint, seed, warm, arch)
        entry = cache.lookup(self.epochs) if cache is not None else None
        if entry is not None and entry.failure is not None:
            raise TrainingDivergedError(entry.failure, epoch=entry.epochs)  # diverged before: at once
        if entry is not None and entry.epochs != self.epochs and self.early_stopping:
            entry = None  # continuation needs early_stopping=False
        with _keras_fit.acquire(spec, arch, seed, fresh, X[:_SAMPLE_ROWS]) as slot:
            del fresh  # pooled now, or a throwaway
            if slot.out_units not in self._allowed_units(n_outputs):
                raise ValueError(self._output_message(slot.out_units, n_outputs))
            if slot.head_warning is not None:
                warnings.warn(f"model={spec.name} {slot.head_warning}", UserWarning,
                              stacklevel=4)
            state, start, end, history = self._start(warm, entry, initial, slot.optimizer_start)
            _keras_fit.load(slot, *state)
            new = self._train(slot, X, y, sw, seed, start, end, stratify) if end > start else {}
            variables, optimizer_variables = _keras_fit.snapshot(slot)
            if new:
                self._check_diverged(new, start, variables, slot, y, cache)
            token = secrets.token_hex(8)
            slot.loaded = token
        history = {k: history.get(k, []) + v for k, v in new.items()} if new else history
        trained = len(new.get("loss", []))
        n_iter = start + trained
        if cache is not None and (entry is None or entry.epochs != self.epochs):
            _store(cache, self.epochs, variables, optimizer_variables, n_iter, history)
        # Commit: nothing above changed the estimator.
        self._spec, self._arch, self._head, self._seed, self._token = (
            spec, arch, slot.head, seed, token)
        self._variables, self._optimizer_variables = variables, optimizer_variables
        self.__dict__.pop("_model", None)
        self.input_shape_ = tuple(int(d) for d in X.shape[1:])
        self.history_ = history
        self.n_iter_ = n_iter
        self.n_epochs_trained_ = trained  # epochs trained by this call
        return self

    def _start(self, warm, entry, initial, optimizer_start):
        """(variables, optimizer variables), first and end epoch, and history to start from."""
        if warm:
            start, history = self.n_iter_, {k: list(v) for k, v in self.history_.items()}
            return (self._variables, self._optimizer_variables), start, start + self.epochs, \
                history
        if entry is not None:
            n, params = entry.meta["n_model_variables"], entry.state["params"]
            start = entry.meta["n_iter"]
            # the cached fit is this fit (nothing to train), or a shorter one to continue
            end = start if entry.epochs == self.epochs else self.epochs
            return (params[:n], params[n:]), start, end, entry.meta["history"]
        return (initial, optimizer_start), 0, self.epochs, {}

    def _train(self, slot, X, y, sw, seed, start, end, stratify):
        """Train the loaded slot for epochs [start, end); return Keras's history of them."""
        validation, X_train, y_train, sw_train = None, X, y, sw
        if self.early_stopping:
            X_train, validation, y_train, sw_train = _keras_fit.split_validation(
                X, y, sw, self.validation_fraction, seed, stratify)
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

    def _cache(self, X, y, sw, fingerprint, seed, warm, arch):
        if self.cache_dir is None:
            return None
        if self.random_state is None:
            warnings.warn(
                f"cache_dir={self.cache_dir!r} is not used because random_state=None: a fit is "
                "cached under its seed, so caching needs an integer random_state. Set "
                "random_state=0 (or any int) to cache and resume fits.",
                UserWarning, stacklevel=4,
            )
            return None
        if warm:
            return None
        from skkeras_search._core.fit_cache import FitCache, data_fingerprint

        params = {k: v for k, v in self.get_params().items() if k not in _NOT_IN_CACHE_KEY}
        params["model"] = _keras_fit.function_identity(self.model)
        params["architecture"] = arch  # what it built: globals it reads are in the key too
        if isinstance(params.get("class_weight"), dict):
            params["class_weight"] = sorted((repr(k), float(v))
                                            for k, v in params["class_weight"].items())
        arrays = [X, y] + ([] if sw is None else [sw]) + list(fingerprint)
        return FitCache(self.cache_dir, params, data_fingerprint(*arrays), seed)

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


def _store(cache, epochs, variables, optimizer_variables, n_iter, history):
    """Write a finished fit to the fit cache (its arrays in the entry's weight slot)."""
    everything = variables + optimizer_variables
    empty = [np.zeros(0, np.float32)] * len(everything)
    cache.store(epochs, everything, empty, empty, history.get("loss", []),
                history.get("val_loss"), {"n_model_variables": len(variables),
                                          "n_iter": n_iter, "history": history})


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
    model_ : keras.Model
        The fitted network (a model of its own, built on first access).
"""


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


_BASES = {"classifier": KerasClassifier, "regressor": KerasRegressor}
