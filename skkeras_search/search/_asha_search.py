"""ASHASearchCV: asynchronous successive halving (Li et al. 2020) over the epoch budget,
as a scikit-learn ``BaseSearchCV``. Public in :mod:`skkeras_search.search`.
"""

import contextlib
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.model_selection import ParameterGrid, ParameterSampler

from skkeras_search._core.seeding import resolve_seed
from skkeras_search._core.validation import BaseSearchCV, Interval, StrOptions
from skkeras_search.search import _optuna_space
from skkeras_search.search._asha import ASHA, rung_budgets
from skkeras_search.search._async_fit import AsyncFitMixin
from skkeras_search.search._budget import BudgetSearchMixin
from skkeras_search.search._candidates import candidate_key, check_not_empty, list_space_size
from skkeras_search.search._conditional import search_space
from skkeras_search.search._folds import FrozenFoldsMixin

__all__ = ["ASHASearchCV"]

_MAX_DRAWS = 20  # draws per candidate before a repeat is accepted


class ASHASearchCV(BudgetSearchMixin, FrozenFoldsMixin, AsyncFitMixin, BaseSearchCV):
    """Asynchronous successive halving over the epoch budget, with cross-validation.

    Whenever a worker is free, the search promotes the best not-yet-promoted
    candidate of the highest rung that has one among its top ``1/factor``,
    and otherwise starts a new candidate on the lowest rung (Li et al. 2020,
    Algorithm 2, promotion mode). No worker waits for a round to end, which
    is what keeps a cluster busy where :class:`HyperbandSearchCV` waits at
    every round. Rung ``k`` trains ``max_epochs // factor**(s_max - k)``
    epochs, ``s_max = floor(log_factor(max_epochs / min_epochs))``; with the
    estimator's fit cache (``cache_dir``; a temporary one if None, as in
    :class:`HyperbandSearchCV`) a promotion continues the shorter run and
    trains only the extra epochs. The search ends when ``n_candidates`` have
    started and nothing can be promoted; if no candidate reached
    ``max_epochs`` by then, the best of the highest rung is promoted until
    one does. Each (candidate, fold) fit is submitted on its own, and the
    search decides as each candidate's last fold ends.

    **Results depend on the order in which fits end.** With ``n_jobs=1``
    (or joblib's ``'sequential'`` backend) that order is fixed and the
    search is deterministic under ``random_state``. With several workers it
    varies from run to run; ``cv_results_`` records it (``finish_order``,
    ``finish_time``). With an int ``random_state`` and an estimator
    ``cache_dir`` the decisions are written to
    ``<cache_dir>/searches/<key>.jsonl`` as they are made, so a search that
    was interrupted and is run again (same data, settings and folds) repeats
    the recorded decisions with the finished fits loaded from the cache,
    then goes on deciding.

    Parameters
    ----------
    estimator : estimator object
        Fitted once per (candidate, rung, fold); must have the parameter
        named by ``resource``.
    param_distributions : dict or list of dicts
        As for ``RandomizedSearchCV``. ``sampler='tpe'`` needs distributions
        TPE can model; a list of dicts is a conditional space, modelled as in
        :class:`HyperbandSearchCV` (BOHB).
    max_epochs : int
        Budget (epochs) of the top rung and of the refit.
    factor : int, default=3
        Li et al.'s ``eta``: the fraction promoted and the budget growth per rung.
    min_epochs : int, default=1
        Smallest budget (epochs): that of rung 0 is ``max_epochs // factor**s_max``.
    n_candidates : int or None, default=None
        Candidates started on rung 0; None is ``factor**(s_max + 1)`` (81 for
        ``max_epochs=27, factor=3``), about three times the epochs of
        ``n_candidates`` one-epoch fits in all. A list-only space with
        fewer points starts each once, with a warning.
    resource : str, default='epochs'
        Estimator parameter that receives the budget, with a ``Pipeline``
        prefix where needed (``'classifier__epochs'``).
    sampler : {'random', 'tpe'}, default='random'
        New candidates: ``ParameterSampler``, or, with probability
        ``1 - random_fraction``, TPE fitted on the rows of the largest budget
        with at least ``d + 3`` finite results (as BOHB, Falkner et al. 2018).
    random_fraction : float, default=1/3
        With ``sampler='tpe'``, the probability of a random candidate.
    random_state : int, RandomState instance or None, default=None
        Seeds the candidate draws (not the estimator).
    scoring, refit, cv, verbose, pre_dispatch, error_score, return_train_score
        As in :class:`HyperbandSearchCV`; ``pre_dispatch`` is not used (one
        fit is submitted per free worker). A failed row (NaN) is never promoted.
    n_jobs : int or None, default=None
        Workers under joblib's active backend (``'loky'`` processes by
        default, ``'threading'``, ``'sequential'``); on Dask
        (``parallel_config(backend='dask')`` or a ``distributed.Client``
        in scope with joblib's default backend) every worker thread is used
        and ``n_jobs`` is ignored; workers started with ``--resources GPU=1``
        receive one fit at a time. A worker process that dies has its fit
        submitted again.

    Attributes
    ----------
    cv_results_ : dict of numpy arrays
        One row per (candidate, rung), in the order the rows finished:
        scikit-learn's columns plus ``candidate`` (0-based, in start order),
        ``rung``, ``n_resources`` (epochs), ``n_epochs_trained`` (measured,
        as in :class:`HyperbandSearchCV`), ``finish_order`` and
        ``finish_time`` (seconds after the search started). Ranks are
        budget first, then score.
    best_estimator_, best_score_, best_params_, best_index_ : as in HyperbandSearchCV
        From the successful rows of the full budget.
    rung_budgets_ : tuple of int
        Epochs of each rung.
    n_candidates_ : int
        Candidates started.
    cv_splits_digest_, scorer_, n_splits_, refit_time_, multimetric_ : as in GridSearchCV

    Raises
    ------
    ValueError
        As :class:`HyperbandSearchCV`.

    See Also
    --------
    HyperbandSearchCV : Synchronous Hyperband and BOHB; deterministic for any ``n_jobs``.

    References
    ----------
    .. [1] L. Li, K. Jamieson, A. Rostamizadeh, E. Gonina, J. Ben-tzur,
       M. Hardt, B. Recht, A. Talwalkar, "A System for Massively Parallel
       Hyperparameter Tuning", MLSys 2020, Algorithm 2.
    .. [2] S. Falkner, A. Klein, F. Hutter, "BOHB: Robust and Efficient
       Hyperparameter Optimization at Scale", ICML 2018.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skkeras_search import KerasMLPClassifier, paper_space
    >>> from skkeras_search.search import ASHASearchCV
    >>> X, y = load_digits(return_X_y=True)
    >>> search = ASHASearchCV(KerasMLPClassifier(random_state=0), paper_space(),
    ...                       max_epochs=9, n_candidates=27, cv=3, random_state=0)
    >>> search.fit(X / 16, y).best_params_["epochs"]  # doctest: +SKIP
    9
    """

    _parameter_constraints: dict = {
        **BaseSearchCV._parameter_constraints,
        "param_distributions": [dict, list],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "factor": [Interval(Integral, 2, None, closed="left")],
        "min_epochs": [Interval(Integral, 1, None, closed="left")],
        "n_candidates": [Interval(Integral, 1, None, closed="left"), None],
        "resource": [str],
        "sampler": [StrOptions({"random", "tpe"})],
        "random_fraction": [Interval(Real, 0, 1, closed="both")],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator, param_distributions, *, max_epochs, factor=3, min_epochs=1,
                 n_candidates=None, resource="epochs", sampler="random", random_fraction=1 / 3,
                 random_state=None, scoring=None, n_jobs=None, refit=True, cv=None, verbose=0,
                 pre_dispatch="2*n_jobs", error_score=np.nan, return_train_score=False):
        super().__init__(estimator=estimator, scoring=scoring, n_jobs=n_jobs, refit=refit, cv=cv,
                         verbose=verbose, pre_dispatch=pre_dispatch, error_score=error_score,
                         return_train_score=return_train_score)
        self.param_distributions = param_distributions
        self.max_epochs = max_epochs
        self.factor = factor
        self.min_epochs = min_epochs
        self.n_candidates = n_candidates
        self.resource = resource
        self.sampler = sampler
        self.random_fraction = random_fraction
        self.random_state = random_state

    def _runs_asynchronously(self):
        return True

    def _policy(self):
        """The ASHA policy of this fit (kept as ``self._asha`` for the attributes)."""
        self.rung_budgets_ = rung_budgets(self.max_epochs, self.factor, self.min_epochs)
        n = self.n_candidates or self.factor ** len(self.rung_budgets_)
        dims = None
        if self.sampler == "tpe":  # first: its messages name a conditional space's branch
            dims = search_space(self.param_distributions, "ASHASearchCV(sampler='tpe')")
        check_not_empty(self.param_distributions, "ASHASearchCV")
        size = list_space_size(self.param_distributions)
        if size is not None and size < n:
            warnings.warn(  # ParameterSampler's wording
                f"The total space of parameters {size} is smaller than n_candidates={n}. "
                f"Running {size} candidates.", UserWarning, stacklevel=5,
            )
            n = size
        rng = np.random.RandomState(resolve_seed(self.random_state))
        self._asha = ASHA(self.rung_budgets_, self.factor, n, _Proposer(self, rng, dims),
                          self.resource)
        return self._asha

    def fit(self, X, y=None, **params):
        """Run ASHA on one set of folds, then refit the best full-budget candidate.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,), default=None
            Targets.
        **params : dict
            Passed to the estimator's ``fit`` (and split by the folds).

        Returns
        -------
        self : ASHASearchCV
        """
        quiet = _optuna_space.quiet_optuna() if self.sampler == "tpe" else contextlib.nullcontext()
        with quiet:
            super().fit(X, y, **params)
        self.n_candidates_ = len(self._asha.params)
        del self._asha
        return self


class _Proposer:
    """New distinct candidates: random, or TPE on the results so far (``sampler='tpe'``).

    A space made only of lists (a dict, or a list of dicts) is drawn without
    replacement, as ``ParameterSampler`` draws it; otherwise a repeat is
    drawn again (up to ``_MAX_DRAWS`` times, then accepted).
    """

    def __init__(self, search, rng, dims, max_points=100_000):
        self._space, self._rng, self._dims = search.param_distributions, rng, dims
        self._fraction = search.random_fraction
        size = list_space_size(self._space)
        self._grid = ParameterGrid(self._space) if size is not None and size <= max_points \
            else None
        self._seen = set()

    def _draw(self, asha):
        u, seed = self._rng.random_sample(), self._rng.randint(2**31 - 1)
        if self._dims is not None and u >= self._fraction:
            study = _optuna_space.bohb_model(asha.results(), "objective", self._dims, seed)
            if study is not None:
                return self._dims.ask(study)[1]
        if self._grid is not None:
            return self._grid[int(self._rng.randint(len(self._grid)))]
        return next(iter(ParameterSampler(self._space, 1, random_state=seed)))

    def _unseen_point(self):
        free = [i for i in range(len(self._grid)) if candidate_key(self._grid[i]) not in self._seen]
        return self._grid[free[self._rng.randint(len(free))]] if free else None

    def __call__(self, asha):
        for _ in range(_MAX_DRAWS):
            candidate = self._draw(asha)
            if candidate_key(candidate) not in self._seen:
                break
        else:  # only seen points drawn: an unseen one of a list-only space, if any is left
            if self._grid is not None:
                candidate = self._unseen_point()
                if candidate is None:
                    return None
        self._seen.add(candidate_key(candidate))
        return candidate
