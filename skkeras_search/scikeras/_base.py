"""``BaseWrapper``: scikeras 0.13's wrapper of any Keras model, on current scikit-learn.

The parameters, routing prefixes, ``meta`` dictionary, ``history_``,
``partial_fit``, ``initialize``, encoders and errors are scikeras's (its
documentation and test suite are the specification; the code is our own).
What this class adds, without changing what scikeras code sees:

* ``random_state`` makes a fit a pure function of its seed without leaving
  any global generator changed: the build function runs under
  :func:`~skkeras_search._core.keras_state.seed_keras`, and ``Model.fit``
  under :func:`~skkeras_search._core.keras_state.tf_global_seed`, both put
  back afterwards (scikeras set and reset TensorFlow's seed, which also
  clears TensorFlow's caches);
* a compiled model is reused by the next fit that builds the same network
  (:mod:`skkeras_search.scikeras._pool`), so a search traces its graphs once
  per architecture instead of once per fit, and memory stays flat.
"""

import copy
import inspect
import os
from collections import defaultdict
from contextlib import nullcontext
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.multiclass import type_of_target

from skkeras_search._core import backend as _backend
from skkeras_search._core.keras_state import tf_global_seed
from skkeras_search._core.validation import Interval, Options, StrOptions
from skkeras_search.scikeras import _fitting
from skkeras_search.scikeras import _routing as routing
from skkeras_search.scikeras._building import BuildMixin, ModelState, picklable, unpickled
from skkeras_search.scikeras._history import history_keys
from skkeras_search.scikeras.utils.transformers import TargetReshaper

__all__ = ["BaseWrapper"]

# Not pickled: a hold on the model pool, and ids of this process's callback objects.
_PRIVATE_STATE = ("_lease", "_user_callbacks")


class BaseWrapper(BuildMixin, BaseEstimator):
    """Implementation of the scikit-learn estimator API for any Keras model (scikeras 0.13).

    Parameters
    ----------
    model : callable returning keras.Model, keras.Model or None, default None
        Builds the Keras model. Called with the parameters routed to it
        (``model__name``, or any unknown keyword of this constructor), and
        with ``meta``, ``compile_kwargs`` and ``params`` where its signature
        names them. An uncompiled model is compiled with ``compile_kwargs``.
        A ``keras.Model`` instance is used as is. None: the subclass
        implements ``_keras_build_fn``.
    warm_start : bool, default False
        If True, ``fit`` keeps the current weights (but starts at epoch 0).
    random_state : int, RandomState or None, default None
        Seed of the initial weights, dropout and shuffling. An int gives the
        same model in every process; global generators are left as they were.
    optimizer : str, keras.optimizers.Optimizer or its class, default "rmsprop"
        Strings and classes accept routed ``optimizer__name`` parameters.
    loss, metrics : str, Loss/Metric, class, callable, list or dict, default None
        As ``Model.compile`` takes them; classes accept routed parameters.
    batch_size, validation_batch_size : int or None, default None
        -1 means all samples in one batch.
    verbose, callbacks, validation_split, shuffle, run_eagerly, epochs
        As ``Model.fit`` (and ``Model.compile`` for ``run_eagerly``) take them.
    cache_dir : str, path or None, default None
        Beyond scikeras: a folder where each seeded ``fit`` is stored, so
        that a refit with the same parameters, data and ``random_state``
        loads it and a longer one continues it (``HyperbandSearchCV``
        promotes candidates this way). Needs an int ``random_state``; not
        used with callbacks or ``fit`` keyword arguments.
    **kwargs
        Routed parameters (``fit__``, ``predict__``, ``model__``, ...) and
        parameters of the build function.

    Attributes
    ----------
    model_ : keras.Model
        The trained, compiled model.
    history_ : dict of str to list of float
        Per-epoch values of ``Model.fit``'s logs, under Keras's full metric
        names (``"mean_absolute_error"`` for ``"mae"``).
    X_shape_, X_dtype_, y_dtype_, y_ndim_, n_features_in_, target_type_
        What ``fit`` saw, which later calls must match.
    target_encoder_, feature_encoder_
        The fitted transformers of ``y`` and ``X``.

    Raises
    ------
    ValueError, TypeError
        From ``fit``: a build function that cannot be called with the routed
        parameters, a model whose outputs do not match ``y``, data that does
        not match what the model was fitted on.
    """

    _tags = {"poor_score": True, "multioutput": True}
    _fit_kwargs = {"batch_size", "epochs", "verbose", "validation_split", "shuffle",
                   "class_weight", "sample_weight", "initial_epoch", "validation_steps",
                   "validation_batch_size", "validation_freq"}
    _predict_kwargs = {"batch_size", "verbose", "steps"}
    _compile_kwargs = {"optimizer", "loss", "metrics", "loss_weights", "weighted_metrics",
                       "run_eagerly"}
    _wrapper_params = {"warm_start", "random_state"}
    _routing_prefixes = set(routing.PREFIXES)
    _parameter_constraints = {
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "epochs": [Interval(Integral, 0, None, closed="left")],
        "validation_split": [Interval(Real, 0, 1, closed="left")],
        "batch_size": [None, Interval(Integral, 1, None, closed="left"),
                       Options(Integral, {-1})],
        "validation_batch_size": [None, Interval(Integral, 1, None, closed="left"),
                                  Options(Integral, {-1})],
        "shuffle": ["boolean", StrOptions({"batch"})],
        "run_eagerly": ["boolean"],
        "cache_dir": [None, str, os.PathLike],
    }

    def __init__(self, model=None, *, build_fn=None, warm_start=False, random_state=None,
                 optimizer="rmsprop", loss=None, metrics=None, batch_size=None,
                 validation_batch_size=None, verbose=1, callbacks=None, validation_split=0.0,
                 shuffle=True, run_eagerly=False, epochs=1, cache_dir=None, **kwargs):
        self.model, self.build_fn, self.warm_start = model, build_fn, warm_start
        self.cache_dir = cache_dir
        self.random_state, self.optimizer, self.loss, self.metrics = (
            random_state, optimizer, loss, metrics)
        self.batch_size, self.validation_batch_size = batch_size, validation_batch_size
        self.verbose, self.callbacks, self.validation_split = verbose, callbacks, validation_split
        self.shuffle, self.run_eagerly, self.epochs = shuffle, run_eagerly, epochs
        vars(self).update(kwargs)
        self._user_params = {k for k in kwargs
                             if not ("__" in k and k.partition("__")[0] in routing.PREFIXES)}

    # ------------------------------------------------------------ parameters
    @property
    def __name__(self):
        return type(self).__name__

    def _get_param_names(self):
        """The constructor's parameters plus every public attribute not set by fit."""
        try:
            signature = inspect.signature(type(self).__init__).parameters.values()
        except (TypeError, ValueError):
            signature = ()
        names = {p.name for p in signature if p.name != "self" and hasattr(self, p.name)
                 and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
        names.update(k for k in vars(self) if not k.endswith("_") and not k.startswith("_"))
        return sorted(names)

    def set_params(self, **params):
        """Set parameters; routed names (``fit__batch_size``) are always accepted."""
        passthrough = {}
        for name, value in params.items():
            if name.partition("__")[0] in self._routing_prefixes:
                setattr(self, name, value)
            else:
                passthrough[name] = value
        try:
            return super().set_params(**passthrough)
        except ValueError:
            name = next((k for k in passthrough if k not in self.get_params()), None)
            if name is None:
                raise
            raise ValueError(
                f"Invalid parameter {name} for estimator {self}.\nThis issue can likely be "
                f"resolved by setting this parameter in the "
                f"{type(self).__name__} constructor:\n`{type(self).__name__}"
                f"({name}={passthrough[name]!r})`\nCheck the list of available parameters "
                "with `estimator.get_params().keys()`."
            ) from None

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.input_tags.sparse = True  # SciPy sparse X goes to Keras as CSR
        tags.non_deterministic = self.random_state is None
        return tags

    # ----------------------------------------------------------------- state
    @property
    def model_(self):
        """The trained, compiled ``keras.Model`` (reading it hands it to your code)."""
        if "_model" not in vars(self):
            raise AttributeError(f"{type(self).__name__} has no model_ before fit or initialize")
        self._hand_out()
        return vars(self)["_model"]

    @model_.setter
    def model_(self, model):
        self._release()
        vars(self)["_model"] = model

    @property
    def initialized_(self):
        """True once ``fit``, ``partial_fit`` or ``initialize`` made ``model_``."""
        return "_model" in vars(self)

    def __sklearn_is_fitted__(self):
        return self.initialized_

    @property
    def current_epoch(self):
        """The number of epochs trained since the last reset (``fit`` without warm start)."""
        return vars(self).get("_current_epoch", 0)

    def _release(self):
        lease = vars(self).pop("_lease", None)
        del lease  # the model goes back to the pool unless it was handed out

    def __getstate__(self):
        state = dict(super().__getstate__())
        for key in _PRIVATE_STATE:
            state.pop(key, None)
        model = state.pop("_model", None)
        state = {k: picklable(v) for k, v in state.items()}
        if model is not None:
            prebuilt = isinstance(self.model, _backend.keras().Model)
            # A built model is rebuilt by the build function on load; a given one Keras pickles.
            state["_model"] = model if prebuilt else ModelState(model)
        return state

    def __setstate__(self, state):
        snapshot = state.get("_model")
        state = {k: v if k == "_model" else unpickled(v) for k, v in state.items()
                 if not (k == "_model" and isinstance(snapshot, ModelState))}
        super().__setstate__(state)
        if isinstance(snapshot, ModelState):
            self._build_keras_model(reuse=False)
            snapshot.load_into(vars(self)["_model"], type(self).__name__)

    def __deepcopy__(self, memo):
        copied = type(self).__new__(type(self))
        memo[id(self)] = copied
        copied.__setstate__(copy.deepcopy(self.__getstate__(), memo))
        return copied

    # ------------------------------------------------------------- encoders
    @property
    def target_encoder(self):
        """A new, unfitted transformer for ``y`` (override to preprocess targets)."""
        return TargetReshaper()

    @property
    def feature_encoder(self):
        """A new, unfitted transformer for ``X`` (override, e.g. to split ``X`` into inputs)."""
        return FunctionTransformer()

    def _type_of_target(self, y):
        return type_of_target(y)

    @staticmethod
    def scorer(y_true, y_pred, **kwargs):
        """Score of predictions; BaseWrapper has none (subclasses implement it)."""
        raise NotImplementedError("Scoring is not implemented on BaseWrapper.")

    # ------------------------------------------------------------ the API
    _numeric_target = False  # cast a non-numeric y to floatx (regression)
    _unrouted = frozenset()  # parameters the wrapper uses itself instead of passing to fit

    def initialize(self, X, y=None):
        """Build ``model_`` for data like ``X`` (and ``y``) without training it.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), optional

        Returns
        -------
        self
        """
        self._validate_params()
        self._initialize(X, y)
        return self

    def _initialize(self, X, y=None):
        """Check the data, fit the encoders and build ``model_``; return ``(X, y)`` checked.

        scikeras's hook: a subclass may override it (and call ``super()._initialize``)
        to set up more when the model is built.
        """
        return _fitting.initialize(self, X, y)

    def _check_labels(self, y):
        """Refuse targets a continued fit cannot take (classifiers: unseen classes)."""

    def _hand_out(self):
        lease = vars(self).get("_lease")
        if lease is not None:
            lease.hand_out()

    def fit(self, X, y, sample_weight=None, **kwargs):
        """Build a new model (unless ``warm_start``) and train it for ``epochs``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), optional
        **kwargs
            Passed to ``keras.Model.fit`` (they win over ``fit__`` parameters).

        Returns
        -------
        self
        """
        params = self.get_params()
        epochs = kwargs.pop("epochs", params.get("fit__epochs", self.epochs))
        initial_epoch = kwargs.pop("initial_epoch", 0)
        return _fitting.train(self, X, y, sample_weight, warm_start=self.warm_start,
                              epochs=epochs, initial_epoch=initial_epoch, kwargs=kwargs,
                              cacheable=True)

    def partial_fit(self, X, y, sample_weight=None, **kwargs):
        """Train for one more epoch, keeping the model, its optimizer state and ``history_``.

        Raises
        ------
        TypeError
            ``epochs`` or ``initial_epoch`` is given (one epoch is the point).
        """
        for name in ("epochs", "initial_epoch"):
            if name in kwargs:
                raise TypeError(f"Invalid argument {name}={kwargs[name]!r} to partial_fit: it "
                                "always trains one epoch from current_epoch. Call fit for "
                                "several epochs.")
        return _fitting.train(self, X, y, sample_weight, warm_start=True, epochs=1,
                              initial_epoch=self.current_epoch, kwargs=kwargs, keep_history=True)

    def _predict_raw(self, X, **kwargs):
        """The model's outputs for ``X`` (probabilities for a classifier)."""
        return _fitting.predict_raw(self, X, kwargs)

    def predict(self, X, **kwargs):
        """Predictions for ``X``, decoded by ``target_encoder_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        **kwargs
            Passed to ``keras.Model.predict``.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        raw = self._predict_raw(X, **kwargs)
        return self.target_encoder_.inverse_transform(raw)

    def score(self, X, y, sample_weight=None):
        """``scorer(y, predict(X))`` with ``score__`` parameters."""
        y_pred = self.predict(X)
        y = np.asarray(y)
        score_args = routing.routed(self.get_params(), "score")
        if sample_weight is not None:
            score_args["sample_weight"] = sample_weight
        return self.scorer(y, y_pred, **score_args)

    def _sample_weight(self, y, sample_weight):
        return sample_weight

    def _own_model(self):
        """``model_`` for the wrapper's own use (does not hand it out)."""
        if not self.initialized_:
            raise NotFittedError(f"This {type(self).__name__} instance is not initialized yet. "
                                 "Call 'fit' or 'initialize' with appropriate arguments first.")
        return vars(self)["_model"]

    def _fit_seed_context(self):
        """TensorFlow's global seed for ``Model.fit`` (Keras's shuffle), or nothing unseeded."""
        seed = self._seed()
        return tf_global_seed(seed) if seed is not None else nullcontext()

    def _record_history(self, history):
        if not hasattr(self, "history_"):
            self.history_ = defaultdict(list)
        for key, values in history_keys(history.history).items():
            self.history_[key].extend(float(np.asarray(v)) for v in values)
