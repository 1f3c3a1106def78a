"""``fit`` for asynchronous searches: scikit-learn's fits and results, our scheduling.

scikit-learn's ``BaseSearchCV.fit`` hands ``_run_search`` a function that
evaluates a whole list of candidates and returns when the slowest fit ends,
which is what an asynchronous search must not do. :class:`AsyncFitMixin`
therefore runs the same pieces itself: the same scorers, routed ``fit`` and
score parameters, ``_fit_and_score`` for every (candidate, fold) fit (so a
failed fit, ``error_score`` and the timing columns are scikit-learn's), the
same ``_format_results``, best-candidate choice and refit. Only the order of
the fits differs: they are submitted one at a time through
:mod:`~skkeras_search.search._executors` and the policy decides as rows end
(:mod:`~skkeras_search.search._scheduler`).

Not followed: scikit-learn >= 1.9's ``set_callbacks`` (the search is not a
sequence of tasks), and ``verbose`` prints scikit-learn's per-fit lines only.
"""

import os
import pickle
import time
import warnings

import numpy as np
from sklearn import config_context, get_config
from sklearn.base import clone

from skkeras_search._core.fit_cache import data_fingerprint
from skkeras_search._core.validation import (
    _check_method_params,
    _fit_and_score,
    _insert_error_scores,
    _MultimetricScorer,
    _num_samples,
    _warn_or_raise_about_fit_failures,
    indexable,
)
from skkeras_search.search._decision_log import DecisionLog, log_key
from skkeras_search.search._executors import Dask, executor_for
from skkeras_search.search._folds import splits_digest
from skkeras_search.search._rounds import _check_objective
from skkeras_search.search._scheduler import run

__all__ = ["AsyncFitMixin", "fit_fold"]


def fit_fold(estimator, X, y, train, test, parameters, kwargs, context=None):
    """One (candidate, fold) fit, as ``evaluate_candidates`` runs it.

    ``context`` is ``(config, filters)``: the parent's scikit-learn config and
    warning filters, applied in a worker process (as scikit-learn's
    ``Parallel`` does), so ``warnings.simplefilter('ignore')`` or a
    ``config_context`` around ``fit`` holds in every worker.
    """
    if context is None:
        return _fit_and_score(clone(estimator), X, y, train=train, test=test,
                              parameters=parameters, **kwargs)
    config, filters = context
    with config_context(**config), warnings.catch_warnings():
        warnings.filters[:] = filters
        return _fit_and_score(clone(estimator), X, y, train=train, test=test,
                              parameters=parameters, **kwargs)


def _context():
    """This process's scikit-learn config and the warning filters that can travel (pickle)."""
    filters = []
    for entry in warnings.filters:
        try:
            pickle.dumps(entry)
        except Exception:  # noqa: BLE001 - a category defined in __main__ etc. stays behind
            continue
        filters.append(entry)
    return get_config(), filters


class AsyncFitMixin:
    """Replaces ``BaseSearchCV.fit`` when ``self._runs_asynchronously()`` is true.

    The class provides ``_policy()`` (the decisions) and may extend
    ``_more_columns(rows)``. Put it right of :class:`FrozenFoldsMixin`, left
    of ``BaseSearchCV``.
    """

    def fit(self, X, y=None, **params):
        if not self._runs_asynchronously():
            return super().fit(X, y, **params)
        _check_objective(self)
        scorers, refit_metric = self._get_scorers()
        X, y = indexable(X, y)
        params = _check_method_params(X, params=params)
        routed = self._get_routed_params_for_fit(params)
        splits = list(self.cv.split(X, y, **routed.splitter.split))  # frozen: split once
        self.n_splits_ = len(splits)
        base = clone(self.estimator)
        kwargs = dict(scorer=scorers, fit_params=routed.estimator.fit,
                      score_params=routed.scorer.score,
                      return_train_score=self.return_train_score, return_n_test_samples=True,
                      return_times=True, return_parameters=False,
                      error_score=self.error_score, verbose=self.verbose)
        log = self._decision_log(X, y, splits)
        policy = self._policy()
        executor = executor_for(self.n_jobs)
        data = (executor.share(X), executor.share(y)) if isinstance(executor, Dask) else (X, y)
        context = None if executor.in_process else _context()

        def submit_fold(executor, row, fold):
            train, test = splits[fold]
            executor.submit((row.index, fold), fit_fold, base, *data, train, test, row.params,
                            kwargs, context)

        try:  # run closes the executor, also when a fit raises
            rows = run(policy, executor, submit_fold, len(splits), self.refit, log)
        finally:
            log.close()
        results, out = self._results(rows)
        return self._choose_and_refit(results, out, scorers, refit_metric, base, X, y,
                                      routed.estimator.fit)

    def _decision_log(self, X, y, splits):
        """The record of this search's decisions in the estimator's ``cache_dir``, if it has one
        and the search is seeded (otherwise a resumed run could not repeat it)."""
        if not isinstance(self.random_state, (int, np.integer)):
            return DecisionLog(None)
        dirs = [v for k, v in self.estimator.get_params().items()
                if k.split("__")[-1] == "cache_dir" and isinstance(v, (str, os.PathLike))]
        if not dirs:
            return DecisionLog(None)
        key = log_key(self, splits_digest(splits, _num_samples(X)),
                      data_fingerprint(np.asarray(X), np.asarray(y)) if y is not None
                      else data_fingerprint(np.asarray(X)))
        return DecisionLog(os.path.join(os.fspath(dirs[0]), "searches", f"{key}.jsonl"))

    def _more_columns(self, rows):
        """Extra ``cv_results_`` columns: the policy's, then the order and time rows ended."""
        more = {k: [row.more[k] for row in rows] for k in rows[0].more}
        more["finish_order"] = [row.finish_order for row in rows]
        more["finish_time"] = [row.finish_time for row in rows]
        return more

    def _results(self, rows):
        if not rows:
            raise ValueError("No fits were performed: the search started no candidate. "
                             "Check param_distributions and the number of candidates.")
        out = [o for row in rows for o in row.outs]
        _warn_or_raise_about_fit_failures(out, self.error_score)
        if callable(self.scoring):
            _insert_error_scores(out, self.error_score)
        results = self._format_results([row.params for row in rows], self.n_splits_, out,
                                       self._more_columns(rows))
        return results, out

    def _choose_and_refit(self, results, out, scorers, refit_metric, base, X, y, fit_params):
        """``BaseSearchCV.fit``'s ending: ``best_*``, the refit, ``scorer_``, ``cv_results_``."""
        first = out[0]["test_scores"]
        self.multimetric_ = isinstance(first, dict)
        if callable(self.scoring) and self.multimetric_:
            self._check_refit_for_multimetric(first)
            refit_metric = self.refit
        if self.refit or not self.multimetric_:
            self.best_index_ = self._select_best_index(self.refit, refit_metric, results)
            if not callable(self.refit):
                self.best_score_ = results[f"mean_test_{refit_metric}"][self.best_index_]
            self.best_params_ = results["params"][self.best_index_]
        if self.refit:
            self.best_estimator_ = clone(base).set_params(**clone(self.best_params_, safe=False))
            start = time.time()
            if y is not None:
                self.best_estimator_.fit(X, y, **fit_params)
            else:
                self.best_estimator_.fit(X, **fit_params)
            self.refit_time_ = time.time() - start
            if hasattr(self.best_estimator_, "feature_names_in_"):
                self.feature_names_in_ = self.best_estimator_.feature_names_in_
        self.scorer_ = scorers._scorers if isinstance(scorers, _MultimetricScorer) else scorers
        self.cv_results_ = results
        return self
