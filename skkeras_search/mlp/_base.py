"""What KerasMLPClassifier and KerasMLPRegressor share: parameters, fitting, the fit cache.

A subclass says what its targets are and how they are learned: ``_targets``
(validate and encode ``y``, combine sample and class weights), ``_loss``
(one of ``_graph.LOSSES``), ``_split_validation`` (the early-stopping
split), ``_n_outputs`` and ``_commit_targets`` (its fitted target
attributes). Everything else (the epoch loop, warm start, the fit cache,
the Keras model) is here, once.
"""

import os
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from skkeras_search._core.seeding import preserve_global_rng, resolve_seed
from skkeras_search._core.validation import (
    Interval,
    StrOptions,
    check_not_nd,
    resolve_batch_size,
    validate_data,
)
from skkeras_search.mlp import _training
from skkeras_search.mlp._graph import ACTIVATIONS, OPTIMIZERS

__all__ = ["BaseKerasMLP"]

_FLOATS = (np.float64, np.float32)
_INPUT_ATTRS = ("n_features_in_", "feature_names_in_")

COMMON_CONSTRAINTS = {
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
    "warm_start": ["boolean"],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
    "cache_dir": [str, os.PathLike, None],
}


class BaseKerasMLP(BaseEstimator):
    """Shared machinery of the Keras MLP estimators; not for direct use."""

    # ------------------------------------------------------------ subclass hooks
    def _targets(self, X, y, sample_weight, *, classes, reset, partial):
        """Return (targets for training, labels or None, sample weights in X's dtype)."""
        raise NotImplementedError

    def _loss(self):
        raise NotImplementedError

    def _n_outputs(self, targets, labels):
        raise NotImplementedError

    def _split_validation(self, X, targets, sw, seed):
        raise NotImplementedError

    def _commit_targets(self, labels, targets, y, reset):
        raise NotImplementedError

    _y_numeric = False

    # ------------------------------------------------------------------ fitting
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
        X, y = validate_data(self, X, y, accept_sparse=True, dtype=_FLOATS, reset=reset,
                             y_numeric=self._y_numeric, multi_output=self._y_numeric)
        if sp.issparse(X):
            X = X.toarray()
        targets, labels, sw = self._targets(X, y, sample_weight, classes=classes, reset=reset,
                                            partial=epochs is not None)
        if not np.any(sw > 0):
            raise ValueError(
                "sample_weight is zero for every sample. Give some samples positive weight."
            )
        # Normalise so a batch's loss is sum(w * l) / sum(w): integer weights
        # then equal repeated samples.
        sw = (sw * (sw.shape[0] / sw.sum())).astype(X.dtype)

        sizes = ([X.shape[1]] + [self.hidden_units] * self.n_layers
                 + [self._n_outputs(targets, labels)])
        seed, state = self._start(sizes, X.dtype, reset)
        fingerprint = (X, targets, sw) if labels is None else (X, targets, sw, labels)
        cache = self._cache(fingerprint, seed, reset, epochs)
        state, history = self._train_or_load(state, X, targets, sw, seed, epochs, cache)
        if epochs is None and not history.converged and not self.early_stopping:
            _warn_not_converged(self.epochs)
        with_validation = self.early_stopping and epochs is None

        # Commit: nothing above changed the estimator.
        self._commit_targets(labels, targets, y, reset)
        self._seed = seed
        self._state = state
        self._model = None
        self.coefs_ = state.params[0::2]
        self.intercepts_ = state.params[1::2]
        self.n_iter_ = state.epoch
        self.n_epochs_trained_ = history.epochs_trained  # read by the command's progress record
        self.loss_curve_ = history.loss_curve
        self.validation_scores_ = history.validation_scores if with_validation else None
        self.best_validation_score_ = (
            history.best_validation_score if with_validation else None
        )
        return self

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

    def _cache(self, fingerprint, seed, reset, epochs):
        """The fit cache entry set of this fit, or None when it is not cached."""
        if self.cache_dir is not None and self.random_state is None and epochs is None:
            warnings.warn(
                f"cache_dir={self.cache_dir!r} is not used because random_state=None: a fit is "
                "cached under its seed, so caching needs an integer random_state. Set "
                "random_state=0 (or any int) to cache and resume fits.",
                UserWarning, stacklevel=5,
            )
        cached = (reset and epochs is None and self.cache_dir is not None
                  and not self.warm_start and self.random_state is not None)
        return _fit_cache(self, fingerprint, seed) if cached else None

    def _train_or_load(self, state, X, targets, sw, seed, epochs, cache):
        """Train ``state`` (or load/continue it from ``cache``); return (state, history).

        ``epochs`` is None for ``fit`` (train ``self.epochs``) or the number of
        epochs of a ``partial_fit`` call.
        """
        history, previous = _training.History(), None
        entry = cache.lookup(self.epochs) if cache is not None else None
        if entry is not None and entry.failure is not None:
            raise _training.TrainingDivergedError(entry.failure, epoch=entry.epochs)
        usable = entry is not None and (entry.epochs == self.epochs or not self.early_stopping)
        if usable:
            state, previous = _state_from_entry(entry)
            history.converged = state.converged
        if not usable or (state.epoch < self.epochs and not state.converged):
            validation = None
            Xt, tt, swt = X, targets, sw
            if self.early_stopping and epochs is None:
                Xt, X_val, tt, t_val, swt = self._split_validation(X, targets, sw, seed)
                validation = (X_val, t_val)
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
                        state, Xt, tt, swt, hyper=self._hyper(), schedule=schedule, seed=seed,
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
            from skkeras_search.mlp._model import build_mlp

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
                    loss=self._loss(),
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


def _fit_cache(est, fingerprint, seed):
    from skkeras_search._core.fit_cache import FitCache, data_fingerprint

    ignore = {"epochs", "verbose", "cache_dir", "warm_start", "random_state"}
    params = {k: v for k, v in est.get_params().items() if k not in ignore}
    if isinstance(params.get("class_weight"), dict):  # JSON-stable: numpy/mixed keys
        params["class_weight"] = sorted(
            (repr(k.item() if isinstance(k, np.generic) else k), float(v))
            for k, v in params["class_weight"].items()
        )
    return FitCache(est.cache_dir, params, data_fingerprint(*fingerprint), seed)


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
    warnings.warn(
        f"epochs={epochs} reached and the training loss has not converged yet. "
        "Increase epochs for a better fit, or ignore this warning in a search.",
        ConvergenceWarning,
        stacklevel=4,
    )
