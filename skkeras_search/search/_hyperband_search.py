"""HyperbandSearchCV: Hyperband (Li et al. 2017) and BOHB (Falkner et al. 2018)
over the epoch budget, as a scikit-learn ``BaseSearchCV``. Public in
:mod:`skkeras_search.search`.
"""

import contextlib
import warnings
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
from sklearn.model_selection import ParameterSampler

from skkeras_search._core.seeding import resolve_seed
from skkeras_search._core.validation import BaseSearchCV, Interval, StrOptions
from skkeras_search.search import _optuna_space
from skkeras_search.search._budget import BudgetSearchMixin, budget_first_ranks
from skkeras_search.search._candidates import candidate_key, list_space, list_space_size, unseen
from skkeras_search.search._conditional import search_space
from skkeras_search.search._folds import FrozenFoldsMixin
from skkeras_search.search._hyperband import hyperband_brackets, n_promoted, top_k
from skkeras_search.search._rounds import Rounds

__all__ = ["HyperbandSearchCV", "budget_first_ranks"]


_MAX_DRAWS = 20  # draws per BOHB candidate before a repeat within a bracket is accepted


class HyperbandSearchCV(BudgetSearchMixin, FrozenFoldsMixin, BaseSearchCV):
    """Hyperband (or BOHB) search over the epoch budget, with cross-validation.

    Candidates are drawn from ``param_distributions`` and raced in Hyperband's
    brackets (Li et al. 2017, Algorithm 1): each bracket starts many
    candidates on few epochs and gives the best ``1/factor`` of them
    ``factor`` times more, until the finalists train exactly ``max_epochs``;
    brackets differ in how many candidates they start. When the estimator
    (or the step that owns ``resource``) has a fit cache (``cache_dir``), a
    promoted candidate continues its shorter run and trains only the extra
    epochs; if ``cache_dir`` is None the search uses a temporary cache of its
    own and deletes it afterwards (a given ``cache_dir`` is kept, so an
    interrupted search resumes from it). On a Dask cluster spanning several
    machines, give a ``cache_dir`` on a shared file system: the temporary one
    exists only where the search runs, so workers elsewhere would retrain
    promoted candidates from scratch and leave folders behind. With ``sampler="tpe"`` this is BOHB
    (Falkner et al. 2018): each bracket's new candidates come from a TPE model
    of the results on the largest budget with at least ``d + 3`` finite
    results (``N_min + 2``, ``N_min = d + 1`` for ``d`` searched parameters),
    and a fraction ``random_fraction`` of them at random.

    Parameters
    ----------
    estimator : estimator object
        Fitted once per (candidate, budget, fold); must have the parameter
        named by ``resource``.
    param_distributions : dict or list of dicts
        Parameter names to distributions (with ``rvs``) or lists, as for
        ``RandomizedSearchCV``. ``sampler="tpe"`` needs distributions TPE can
        model; a list of dicts is a conditional space, modelled as in
        :class:`TPESearchCV` (``d`` is then the largest branch's parameters
        plus one, the branch choice), each earlier row credited to the first
        branch whose names it holds and whose distributions contain its values.
    max_epochs : int
        Budget (epochs) of the last round of every bracket and of the refit.
    factor : int, default=3
        Li et al.'s ``eta``: the fraction kept and the budget growth per round.
    min_epochs : int, default=1
        Smallest budget (epochs) of a round; with ``max_epochs`` it sets the
        number of halvings ``s_max = floor(log_factor(max_epochs / min_epochs))``.
    n_brackets : int or None, default=None
        Brackets to run: None runs one Hyperband iteration (``s_max + 1``
        brackets, most exploratory first); 1 is plain successive halving;
        more than ``s_max + 1`` repeats the cycle with new candidates.
    resource : str, default='epochs'
        Estimator parameter that receives the budget, with a ``Pipeline``
        prefix where needed (``'classifier__epochs'``).
    sampler : {'random', 'tpe'}, default='random'
        How a bracket's new candidates are drawn: ``ParameterSampler``
        (Hyperband) or a TPE model plus a random fraction (BOHB). Either way
        a bracket's candidates are distinct, so with a space made only of
        lists a bracket starts with at most as many candidates as it has
        points (with a warning).
    random_fraction : float, default=1/3
        With ``sampler='tpe'``, the probability that a candidate is drawn at
        random instead of from the model (BOHB's ``rho``). Ignored otherwise.
    random_state : int, RandomState instance or None, default=None
        Seeds the candidate draws (not the estimator). Pass an int for
        reproducible (and resumable) searches.
    scoring : str, callable, list, tuple, dict or None, default=None
        As in :class:`~sklearn.model_selection.GridSearchCV`; with several
        metrics, ``refit`` must name the one that is optimised.
    n_jobs : int or None, default=None
        Parallel fits (joblib); results do not depend on it.
    refit : bool, str or callable, default=True
        Refit the best candidate on the whole data, as in ``GridSearchCV``.
        A callable sees every row and needs a single metric.
    cv : int, cross-validation generator or iterable, default=None
        Folds, as in ``GridSearchCV`` (None: 5-fold, stratified for
        classifiers). They are split once per ``fit``, before any fit, so
        every round and bracket scores its candidates on the same rows and
        the fit cache continues promoted candidates, also with a random
        splitter without a seed (``ShuffleSplit()``) or one whose ``split``
        can be iterated only once.
    verbose : int, default=0
        scikit-learn's progress messages.
    pre_dispatch : int or str, default='2*n_jobs'
        joblib's ``pre_dispatch``.
    error_score : 'raise' or float, default=np.nan
        Score of a failed fit (e.g. a diverging network,
        :class:`~skkeras_search.TrainingDivergedError`); NaN makes it a failed
        trial that is never promoted or modelled as good; a number makes
        failed fits ordinary trials with that score. scikit-learn keeps
        no rows for an ``evaluate_candidates`` call whose fits all fail, so the
        candidates of such a round (or batch) are evaluated again at the front
        of the next call, where their rows land (with the fit cache the failure
        is loaded, not retrained); only a search whose last calls fail
        entirely misses those rows, and warns. It raises scikit-learn's "All
        the N fits failed" only if no fit succeeded at all.
    return_train_score : bool, default=False
        Also score the training folds.

    Attributes
    ----------
    cv_results_ : dict of numpy arrays
        One row per (candidate, budget): scikit-learn's columns (the budget
        is in ``param_<resource>``, e.g. ``param_epochs``) plus ``bracket``
        (0-based, in run order), ``round`` (0-based, within the bracket),
        ``n_resources`` (the budget, in epochs) and ``n_epochs_trained``
        (float): the epochs this row's fold fits trained, as measured by each
        fit and averaged over the folds: the budget for a fit from scratch,
        the extra epochs for one the fit cache continued from a shorter run,
        0 for one it loaded whole (a rerun), fewer for one that stopped early.
        NaN where every fold's fit failed (nothing measured). An estimator
        that does not report its epochs (not one of this package's) is
        counted at the budget. The search's training epochs are
        ``np.nansum(n_epochs_trained) * n_splits_`` (when the folds agree),
        plus the refit's.
        ``rank_test_<metric>`` ranks by budget first, then score (see
        :func:`budget_first_ranks`), so rank 1 is the row ``best_*`` describes
        (as ``HalvingRandomSearchCV`` chooses from its last iteration).
    cv_splits_digest_ : str
        SHA-256 (hex) of the folds every candidate was scored on (sample
        count, then each fold's train and test indices): equal digests mean
        the same rows.
    best_estimator_, best_score_, best_params_, best_index_ : as in GridSearchCV
        Chosen among the successful rows with the full budget
        (``max_epochs``) only, so the refit trains ``max_epochs``; if none
        succeeded, among those of the largest budget with a success (with a
        warning). With a numeric ``error_score`` failed rows are ordinary
        rows, as in scikit-learn. A callable ``refit`` sees every row.
    brackets_ : list of Bracket
        The planned brackets: ``s``, ``n_candidates`` and ``budgets`` per round.
    n_candidates_ : list of int
        New candidates drawn for each bracket run.
    scorer_, n_splits_, refit_time_, multimetric_ : as in GridSearchCV

    Raises
    ------
    ValueError
        If ``resource`` is not a parameter of the estimator or is searched,
        ``min_epochs > max_epochs``, (``sampler='tpe'``) a distribution
        cannot be modelled, or the objective is ambiguous (several metrics
        without ``refit=name``; before any fit, except for a callable
        scorer that returns a dict, which is seen after the first round).

    Warns
    -----
    SearchWarning
        A ``UserWarning``: if no candidate succeeded at ``max_epochs`` (the
        best then comes from the largest budget with a success), the search's
        last rounds failed entirely (their rows are missing from
        ``cv_results_``).
    UserWarning
        If a list-only space is smaller than a bracket (as ``ParameterSampler``
        warns for ``sampler='random'``).

    See Also
    --------
    TPESearchCV : Model-based search at a fixed budget.
    sklearn.model_selection.HalvingRandomSearchCV : One bracket, no continuation.

    References
    ----------
    .. [1] L. Li, K. Jamieson, G. DeSalvo, A. Rostamizadeh, A. Talwalkar,
       "Hyperband: A Novel Bandit-Based Approach to Hyperparameter
       Optimization", JMLR 18(185), 2018 (ICLR 2017), Algorithm 1.
    .. [2] S. Falkner, A. Klein, F. Hutter, "BOHB: Robust and Efficient
       Hyperparameter Optimization at Scale", ICML 2018, section 3.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skkeras_search import KerasMLPClassifier, paper_space
    >>> from skkeras_search.search import HyperbandSearchCV
    >>> X, y = load_digits(return_X_y=True)
    >>> search = HyperbandSearchCV(KerasMLPClassifier(random_state=0), paper_space(),
    ...                            max_epochs=9, cv=3, random_state=0)
    >>> search.fit(X / 16, y).best_params_["epochs"]  # doctest: +SKIP
    9
    """

    _parameter_constraints: dict = {
        **BaseSearchCV._parameter_constraints,
        "param_distributions": [dict, list],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "factor": [Interval(Integral, 2, None, closed="left")],
        "min_epochs": [Interval(Integral, 1, None, closed="left")],
        "n_brackets": [Interval(Integral, 1, None, closed="left"), None],
        "resource": [str],
        "sampler": [StrOptions({"random", "tpe"})],
        "random_fraction": [Interval(Real, 0, 1, closed="both")],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator, param_distributions, *, max_epochs, factor=3, min_epochs=1,
                 n_brackets=None, resource="epochs", sampler="random", random_fraction=1 / 3,
                 random_state=None, scoring=None, n_jobs=None, refit=True, cv=None, verbose=0,
                 pre_dispatch="2*n_jobs", error_score=np.nan, return_train_score=False):
        super().__init__(estimator=estimator, scoring=scoring, n_jobs=n_jobs, refit=refit, cv=cv,
                         verbose=verbose, pre_dispatch=pre_dispatch, error_score=error_score,
                         return_train_score=return_train_score)
        self.param_distributions = param_distributions
        self.max_epochs = max_epochs
        self.factor = factor
        self.min_epochs = min_epochs
        self.n_brackets = n_brackets
        self.resource = resource
        self.sampler = sampler
        self.random_fraction = random_fraction
        self.random_state = random_state

    # ------------------------------------------------------------- search
    def _run_search(self, evaluate_candidates, *, callback_ctx=None):

        dims = None
        if self.sampler == "tpe":
            dims = search_space(self.param_distributions, "HyperbandSearchCV(sampler='tpe')")
        rng = np.random.RandomState(resolve_seed(self.random_state))
        self.brackets_ = hyperband_brackets(self.max_epochs, self.factor, self.min_epochs,
                                            self.n_brackets)
        self.n_candidates_ = []
        rounds = Rounds(evaluate_candidates, self, callback_ctx)
        with _optuna_space.quiet_optuna() if dims is not None else contextlib.nullcontext():
            for b, bracket in enumerate(self.brackets_):
                candidates = self._propose(bracket.n_candidates[0], rng, rounds.results,
                                           rounds.objective, dims)
                self.n_candidates_.append(len(candidates))
                scores = None
                for i, budget in enumerate(bracket.budgets):
                    if i:
                        keep = n_promoted(len(candidates), self.factor)
                        candidates = [candidates[j] for j in top_k(scores, keep)]
                    if not candidates:  # every candidate failed
                        break
                    n = len(candidates)
                    scores = rounds(
                        [{**c, self.resource: budget} for c in candidates],
                        {"bracket": [b] * n, "round": [i] * n, "n_resources": [budget] * n},
                        f"bracket {b}, round {i}",
                    )
        rounds.finish()

    def _propose(self, n, rng, results, objective, dims):
        """``n`` new candidates: random (Hyperband) or TPE plus a random fraction (BOHB)."""

        if dims is None:
            return list(ParameterSampler(self.param_distributions, n,
                                         random_state=rng.randint(2**31 - 1)))
        lists = list_space(self.param_distributions) \
            if isinstance(self.param_distributions, Mapping) else None
        size = list_space_size(self.param_distributions)
        if size is not None and n > size:  # as ParameterSampler does for Hyperband
            warnings.warn(
                f"param_distributions has only {size} points, fewer than the {n} candidates "
                "a bracket starts with; BOHB races each of them once in that bracket.",
                UserWarning, stacklevel=4,
            )
            n = size
        model_seed = rng.randint(2**31 - 1)
        study, out, seen = None, [], set()
        for _ in range(n):
            u = rng.random_sample()
            if u >= self.random_fraction and study is None:
                study = _optuna_space.bohb_model(results, objective, dims, model_seed) or False
            for _attempt in range(_MAX_DRAWS):  # distinct candidates within a bracket
                seed = rng.randint(2**31 - 1)
                if u < self.random_fraction or study is False:
                    candidate = next(iter(ParameterSampler(self.param_distributions, 1,
                                                           random_state=seed)))
                else:
                    candidate = dims.ask(study)[1]
                if candidate_key(candidate) not in seen:
                    break
            else:  # the model keeps proposing seen points: an unseen one, if there is one
                if lists is not None:
                    candidate = unseen(lists, seen, rng) or candidate
                elif dims.conditional:  # of a finite branch
                    candidate = dims.unseen(seen, rng) or candidate
            seen.add(candidate_key(candidate))
            out.append(candidate)
        return out
