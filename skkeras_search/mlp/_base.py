"""What KerasMLPClassifier and KerasMLPRegressor share: parameters, fitting, the fit cache.

A subclass says what its targets are and how they are learned: ``_targets``
(validate and encode ``y``, combine sample and class weights), ``_loss``
(one of ``_graph.LOSSES``), ``_stratify`` and ``_split_validation`` (the
early-stopping hold-out, :func:`~skkeras_search._core.validation.holdout_split`),
``_n_outputs`` and ``_commit_targets`` (its fitted target attributes).
Everything else (the epoch loop, warm start, the fit cache, the Keras model)
is here, once. What a call trains is a :class:`FitMode`: ``fit`` trains the
``epochs`` budget with the stopping rules and the fit cache, ``partial_fit``
a given number of epochs with neither.
"""

import difflib
import os
import warnings
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from skkeras_search._core.fit_cache import (
    FitCache,
    cache_blocker,
    continuation_blocker,
    data_fingerprint,
    unseeded_message,
)
from skkeras_search._core.seeding import preserve_global_rng, resolve_seed
from skkeras_search._core.validation import (
    Interval,
    StrOptions,
    check_not_nd,
    holdout_split,
    resolve_batch_size,
    validate_data,
)
from skkeras_search.exceptions import TrainingDivergedError
from skkeras_search.mlp import _cached_state, _training
from skkeras_search.mlp._graph import ACTIVATIONS, ARITHMETIC_REVISION, LR_SCHEDULES, OPTIMIZERS
from skkeras_search.mlp._model import build_mlp

__all__ = ["BaseKerasMLP", "FitMode", "preset"]

_FLOATS = (np.float64, np.float32)
_INPUT_ATTRS = ("n_features_in_", "feature_names_in_")

COMMON_CONSTRAINTS = {
    "hidden_units": [Interval(Integral, 1, None, closed="left")],
    "n_layers": [Interval(Integral, 1, None, closed="left")],
    "activation": [StrOptions(set(ACTIVATIONS))],
    "learning_rate": [Interval(Real, 0, None, closed="neither")],
    "optimizer": [StrOptions(set(OPTIMIZERS))],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "learning_rate_schedule": [StrOptions(set(LR_SCHEDULES))],
    "alpha": [Interval(Real, 0, None, closed="left")],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
    "epochs": [Interval(Integral, 1, None, closed="left")],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="left")],
    "warm_start": ["boolean"],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
    "cache_dir": [str, os.PathLike, None],
}

#: Parameters added after estimators were first saved, with the defaults that
#: reproduce those fits: an older pickle or skops file gets them on loading.
ADDED_PARAMS = {"weight_decay": 0.0, "learning_rate_schedule": "constant"}

def preset(cls, defaults, overrides):
    """``cls(**defaults)`` with ``overrides`` applied, refusing a name ``cls`` does not take.

    Raises
    ------
    TypeError
        An override names no parameter of ``cls`` (with the nearest name).
    """
    names = cls._get_param_names()
    for name in overrides:
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            hint = f"Did you mean {close[0]!r}? " if close else ""
            raise TypeError(f"{name}={overrides[name]!r} is not a parameter of {cls.__name__}. "
                            f"{hint}Pass one of {', '.join(names)}.")
    return cls(**{**defaults, **overrides})


@dataclass(frozen=True)
class FitMode:
    """What one call of ``fit`` or ``partial_fit`` trains.

    Parameters
    ----------
    partial : bool
        False for ``fit``: train the ``epochs`` budget (from scratch, or on
        from the fitted network with ``warm_start``), with the stopping rules
        (``n_iter_no_change``, and ``early_stopping``'s hold-out) and the fit
        cache. True for ``partial_fit``: train ``epochs`` epochs on from the
        current state, with no stopping rule, no hold-out and no cache.
    epochs : int
        Epochs to train: the estimator's budget for ``fit``, the count of a
        ``partial_fit`` call.
    """

    partial: bool
    epochs: int

    @classmethod
    def fit(cls, epochs):
        """The mode of ``fit`` with the budget ``epochs``."""
        return cls(partial=False, epochs=epochs)

    @classmethod
    def partial_fit(cls, epochs=1):
        """The mode of ``partial_fit``: ``epochs`` epochs."""
        return cls(partial=True, epochs=epochs)

    @property
    def stopping(self):
        """Whether the stopping rules and ``early_stopping``'s hold-out apply."""
        return not self.partial

    @property
    def cached(self):
        """Whether the fit cache may supply or keep the fit (see ``cache_blocker``)."""
        return not self.partial


class BaseKerasMLP(BaseEstimator):
    """Shared machinery of the Keras MLP estimators; not for direct use."""

    #: What a fit computes from its parameters (``ARITHMETIC_REVISION``): a warm
    #: start compares it with the revision an earlier run's scores came from.
    _arithmetic_revision = ARITHMETIC_REVISION

    # ------------------------------------------------------------ subclass hooks
    def _targets(self, X, y, sample_weight, *, classes, reset, partial):
        """Return (targets for training, labels or None, sample weights in X's dtype)."""
        raise NotImplementedError

    def _loss(self):
        raise NotImplementedError

    def _n_outputs(self, targets, labels):
        raise NotImplementedError

    def _commit_targets(self, labels, targets, y, reset):
        raise NotImplementedError

    _y_numeric = False
    _stratify = False  # hold out a stratified validation split (classification)
    _added_params = ADDED_PARAMS  # see ADDED_PARAMS

    def _split_validation(self, X, targets, sw, seed):
        """The early-stopping hold-out: ``(train, validation)``, each ``(X, targets, sw)``."""
        return holdout_split(X, targets, sw, fraction=self.validation_fraction, seed=seed,
                             stratify=self._stratify, min_size=2)

    # ------------------------------------------------------------------ fitting
    def _fit(self, X, y, sample_weight, *, classes, reset, mode):
        # validate_data(reset=True) sets n_features_in_ / feature_names_in_ at
        # once; put them back if the fit fails, so a failed fit changes nothing.
        saved = {k: self.__dict__[k] for k in _INPUT_ATTRS if k in self.__dict__}
        try:
            return self._fit_unchecked(X, y, sample_weight, classes=classes, reset=reset,
                                       mode=mode)
        except BaseException:
            for k in _INPUT_ATTRS:
                self.__dict__.pop(k, None)
            self.__dict__.update(saved)
            raise

    def _fit_unchecked(self, X, y, sample_weight, *, classes, reset, mode):
        check_not_nd(X)
        X, y = validate_data(self, X, y, accept_sparse=True, dtype=_FLOATS, reset=reset,
                             y_numeric=self._y_numeric, multi_output=self._y_numeric)
        if sp.issparse(X):
            X = X.toarray()
        targets, labels, sw = self._targets(X, y, sample_weight, classes=classes, reset=reset,
                                            partial=mode.partial)
        if not np.any(sw > 0):
            raise ValueError(
                "sample_weight is zero for every sample. Give some samples positive weight."
            )
        sizes = ([X.shape[1]] + [self.hidden_units] * self.n_layers
                 + [self._n_outputs(targets, labels)])
        seed, state = self._start(sizes, X.dtype, reset)
        # The weights as given (training normalises them): their scale sets the
        # strength of alpha's penalty, as in MLPClassifier, so the cache keys on it.
        fingerprint = (X, targets, sw) if labels is None else (X, targets, sw, labels)
        cache = self._cache(fingerprint, seed, reset, mode)
        train, validation = (X, targets, sw), None
        if self.early_stopping and mode.stopping:
            train, (X_val, t_val, _) = self._split_validation(X, targets, sw, seed)
            validation = (X_val, t_val)
        batch_size = resolve_batch_size(self.batch_size, train[0].shape[0])
        state, history = self._train_or_load(state, train, validation, batch_size, seed, mode,
                                             cache)
        if mode.stopping and not history.converged and not self.early_stopping:
            _warn_not_converged(mode.epochs)
        # Commit: nothing above changed the estimator.
        self._commit_targets(labels, targets, y, reset)
        self._commit(seed, state, history, with_validation=validation is not None)
        self._batch_rows = batch_size
        return self

    def _commit(self, seed, state, history, *, with_validation):
        """Set the fitted attributes from a finished fit."""
        self._seed = seed
        self._state = state
        self._model = None
        self.coefs_ = state.params[0::2]
        self.intercepts_ = state.params[1::2]
        self.n_iter_ = state.epoch
        self.n_epochs_trained_ = history.epochs_trained
        self.loss_curve_ = history.loss_curve
        self.validation_scores_ = history.validation_scores if with_validation else None
        self.best_validation_score_ = (
            history.best_validation_score if with_validation else None
        )

    def _start(self, sizes, dtype, reset):
        """(seed, training state): fresh weights, or a copy of the state being continued."""
        if reset:
            seed = resolve_seed(self.random_state)
            return seed, _training.new_state(seed, sizes, dtype)
        actual = [self.coefs_[0].shape[0]] + [c.shape[1] for c in self.coefs_]
        if sizes != actual:
            raise ValueError(
                f"hidden_units={self.hidden_units!r} and n_layers={self.n_layers!r} do not "
                f"match the network being continued (layer sizes {actual}). Set "
                "warm_start=False to train the new architecture from scratch."
            )
        state = self._state.copy()
        state.reset_stopping()
        if state.params[0].dtype != dtype:
            state = _cast_state(state, dtype)
        return self._seed, state

    def _cache(self, fingerprint, seed, reset, mode):
        """The fit cache of this fit, or None when it is not cached (``cache_blocker``)."""
        if not mode.cached:  # partial_fit: neither reads nor writes the cache
            return None
        # cache_blocker reads these two (get_params costs more than an uncached fit's
        # bookkeeping); the key takes them all
        blocker = cache_blocker({"cache_dir": self.cache_dir, "random_state": self.random_state},
                                continuing=not reset)
        if blocker == "random_state":
            # the caller of fit: _cache, _fit_unchecked, _fit, fit, _fit_context, caller
            warnings.warn(unseeded_message(self.cache_dir), UserWarning, stacklevel=6)
        if blocker is not None:
            return None
        return FitCache(self.cache_dir, _cached_state.key(self.get_params()),
                        data_fingerprint(*fingerprint), seed)

    def _train_or_load(self, state, train, validation, batch_size, seed, mode, cache):
        """Train ``state`` (or load or continue it from ``cache``); return (state, history).

        ``train`` is ``(X, targets, sample_weight)``, ``validation`` the
        early-stopping hold-out ``(X, targets)`` or None.
        """
        entry = cache.lookup(mode.epochs) if cache is not None else None
        blocker = continuation_blocker(self.get_params()) if entry is not None else None
        if entry is not None and entry.epochs != mode.epochs \
                and blocker == "learning_rate_schedule":
            entry = None  # a shorter fit of a schedule spanning epochs is another run
        if entry is not None and entry.failure is not None:
            raise TrainingDivergedError(entry.failure, epoch=entry.epochs)
        previous = None
        if entry is not None and (entry.epochs == mode.epochs or blocker is None):
            state, previous = _cached_state.from_entry(entry)
            if state.epoch >= mode.epochs or state.converged:  # the cached fit is this fit
                return state, _loaded_history(state, previous)
        history = self._train(state, train, validation, batch_size, seed, mode, cache, previous)
        if cache is not None:
            cache.store(mode.epochs,
                        *_cached_state.to_entry(state, history, validation is not None))
        return state, history

    def _train(self, state, train, validation, batch_size, seed, mode, cache, previous):
        """Train ``state`` in place for this call; return its history.

        ``previous`` (a cached shorter fit that ``state`` continues) is trained
        on to the budget, and its loss curve goes before the new epochs'.
        """
        if not mode.partial and previous is None:
            state.cycle_origin = state.step  # every fit runs a learning-rate cycle of its own
        schedule = _training.Schedule(
            # a continued cached run needs only the remaining epochs
            epochs=mode.epochs - state.epoch if previous is not None else mode.epochs,
            batch_size=batch_size,
            tol=self.tol,
            n_iter_no_change=self.n_iter_no_change if mode.stopping else 2**31,
            verbose=self.verbose,
            # fit's cycle spans its budget (early stopping or not); partial_fit
            # calls go on through a cycle of the estimator's epochs
            cycle_epochs=self.epochs if mode.partial else mode.epochs,
        )
        try:
            with preserve_global_rng():
                history = _training.train(state, *train, hyper=self._hyper(), schedule=schedule,
                                          seed=seed, validation=validation)
        except TrainingDivergedError as exc:
            if cache is not None:
                cache.store_failure(exc.epoch or mode.epochs, str(exc))
            raise
        history.epochs_trained = len(history.loss_curve)
        if previous is not None:  # continued from a cached shorter run
            history.loss_curve = previous["loss_curve"] + history.loss_curve
        return history

    def _hyper(self):
        return {
            "activation": self.activation,
            "optimizer": self.optimizer,
            "learning_rate": self.learning_rate,
            "weight_decay": self.weight_decay,
            "learning_rate_schedule": self.learning_rate_schedule,
            "alpha": self.alpha,
            "dropout": self.dropout,
            "loss": self._loss(),
        }

    def _check_X(self, X):
        """Validate ``X`` for prediction, in the network's training precision."""
        check_is_fitted(self)
        check_not_nd(X)
        dtype = self._state.params[0].dtype
        X = validate_data(self, X, accept_sparse=True, dtype=dtype, reset=False)
        return X.toarray() if sp.issparse(X) else X

    # ---------------------------------------------------------------- model
    @property
    def model_(self):
        """The fitted network as a compiled ``keras.Model``."""
        check_is_fitted(self)
        if getattr(self, "_model", None) is None:
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
                    batch_size=self._export_batch_size(),
                    loss=self._loss(),
                    weight_decay=self.weight_decay,
                )
        return self._model

    def _export_batch_size(self):
        """The rows of a full training batch, which ``model_``'s L2 coefficient assumes.

        An estimator fitted before it was recorded gets its ``batch_size``,
        'auto' read as its cap of 200.
        """
        rows = getattr(self, "_batch_rows", None)
        if rows is None:
            rows = 200 if self.batch_size == "auto" else self.batch_size
        return rows

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_model", None)  # rebuilt from the weights on demand
        return state

    def __setstate__(self, state):
        # an estimator saved before a parameter existed trained with its default
        super().__setstate__({**self._added_params, **state})

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _loaded_history(state, previous):
    """The history of a fit the cache supplied whole: its curves, no epoch trained."""
    history = _training.History(converged=state.converged, epochs_trained=0)
    history.loss_curve = previous["loss_curve"]
    history.validation_scores = previous["validation_scores"]
    history.best_validation_score = previous["best_validation_score"]
    return history


def _cast_state(state, dtype):
    cast = lambda arrays: [a.astype(dtype) for a in arrays]  # noqa: E731
    return _training.TrainState(
        cast(state.params), cast(state.slots_1), cast(state.slots_2), state.step, state.epoch,
        state.best_loss, state.no_improvement, state.converged, state.cycle_origin,
    )


def _warn_not_converged(epochs):
    warnings.warn(
        f"epochs={epochs} reached and the training loss has not converged yet. "
        "Increase epochs for a better fit, or ignore this warning in a search.",
        ConvergenceWarning,
        stacklevel=6,  # the caller of fit
    )
