"""TPESearchCV: model-based search with Optuna's TPE sampler (Bergstra et al. 2011)
in fixed-size batches, as a scikit-learn ``BaseSearchCV``. Public in
:mod:`skkeras_search.search`.
"""

from numbers import Integral

import numpy as np
from sklearn.model_selection._search import BaseSearchCV

from ._rounds import Rounds
from ._seeding import resolve_seed
from ._validation import Interval

__all__ = ["TPESearchCV"]


class TPESearchCV(BaseSearchCV):
    """Model-based search with Optuna's TPE sampler, in fixed-size batches.

    The first ``n_startup`` candidates are drawn at random, the others by the
    Tree-structured Parzen Estimator (Bergstra et al. 2011) fitted on all
    results so far, through Optuna's ask/tell interface. Candidates are asked
    ``batch_size`` at a time and each batch is one round of cross-validated
    fits, so the sequence of candidates, and ``cv_results_``, depend only on
    ``random_state`` and the scores: not on ``n_jobs``, the joblib backend or
    the order in which fits finish. A failed fit (NaN score) is told to
    Optuna as a pruned trial, which TPE counts among the bad ones. With an
    estimator fit cache (``cache_dir``), rerunning an interrupted search loads
    the finished fits and, since the sampler sees the same scores, proposes
    the same candidates.

    Every sampler option is pinned (Optuna 5 changed several defaults):
    ``multivariate=True``, ``n_ei_candidates=24``, ``gamma`` = 10% of the
    trials (at most 25), flat ``weights`` (ramped after 25), ``consider_prior=True``,
    ``prior_weight=1.0``, ``consider_magic_clip=True``, ``consider_endpoints=False``,
    ``constant_liar=True`` (candidates of one batch avoid each other), ``group=False``.

    Parameters
    ----------
    estimator : estimator object
        Fitted once per (candidate, fold).
    param_distributions : dict
        Parameter names to :func:`~skkeras_search.space.log_uniform`,
        :func:`~skkeras_search.space.int_range`, ``scipy.stats``
        ``loguniform``/``uniform``/``randint`` (frozen) or lists (categorical).
    n_iter : int, default=10
        Number of candidates.
    batch_size : int, default=5
        Candidates asked, and evaluated in parallel, per round. Unrelated to
        the estimator's ``batch_size``.
    n_startup : int, default=5
        Results needed before TPE takes over (Optuna's ``n_startup_trials``);
        until then candidates are drawn at random. A batch is asked before
        any of its results are told, so whole batches are random: with
        ``n_startup=5, batch_size=4`` the first 8 candidates are.
    random_state : int, RandomState instance or None, default=None
        Seeds the sampler (not the estimator). Pass an int for reproducible
        (and resumable) searches.
    scoring : str, callable, list, tuple, dict or None, default=None
        As in :class:`~sklearn.model_selection.GridSearchCV`; with several
        metrics, ``refit`` must name the one that is optimised.
    n_jobs : int or None, default=None
        Parallel fits (joblib); results do not depend on it.
    refit : bool, str or callable, default=True
        Refit the best candidate on the whole data, as in ``GridSearchCV``.
        A callable sees every row and needs a single metric.
    cv : int, cross-validation generator or iterable, default=None
        Folds, as in ``GridSearchCV`` (None: 5-fold, stratified for classifiers).
    verbose : int, default=0
        scikit-learn's progress messages.
    pre_dispatch : int or str, default='2*n_jobs'
        joblib's ``pre_dispatch``.
    error_score : 'raise' or float, default=np.nan
        Score of a failed fit (e.g. a diverging network,
        :class:`~skkeras_search.TrainingDivergedError`); NaN makes it a failed
        trial that TPE is told is bad (pruned); a number makes failed fits
        ordinary trials with that score. A batch whose fits all fail
        keeps its rows as in :class:`HyperbandSearchCV`.
    return_train_score : bool, default=False
        Also score the training folds.

    Attributes
    ----------
    cv_results_ : dict of numpy arrays
        scikit-learn's columns plus ``batch`` (0-based round of each candidate).
    best_estimator_, best_score_, best_params_, best_index_ : as in GridSearchCV
    scorer_, n_splits_, refit_time_, multimetric_ : as in GridSearchCV

    Raises
    ------
    ValueError
        If a distribution cannot be modelled by TPE (the message names the
        parameter and what to use), or the objective is ambiguous (several
        metrics without ``refit=name``).

    See Also
    --------
    HyperbandSearchCV : Multi-fidelity search; ``sampler='tpe'`` is BOHB.
    sklearn.model_selection.RandomizedSearchCV : The random baseline.

    References
    ----------
    .. [1] J. Bergstra, R. Bardenet, Y. Bengio, B. Kegl, "Algorithms for
       Hyper-Parameter Optimization", NeurIPS 2011.
    .. [2] T. Akiba, S. Sano, T. Yanase, T. Ohta, M. Koyama, "Optuna: A
       Next-generation Hyperparameter Optimization Framework", KDD 2019.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skkeras_search import KerasMLPClassifier, paper_space
    >>> from skkeras_search.search import TPESearchCV
    >>> X, y = load_digits(return_X_y=True)
    >>> search = TPESearchCV(KerasMLPClassifier(epochs=10, random_state=0), paper_space(),
    ...                      n_iter=20, batch_size=4, cv=3, random_state=0)
    >>> search.fit(X / 16, y).cv_results_["batch"].max()  # doctest: +SKIP
    4
    """

    _parameter_constraints: dict = {
        **BaseSearchCV._parameter_constraints,
        "param_distributions": [dict, list],
        "n_iter": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_startup": [Interval(Integral, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator, param_distributions, *, n_iter=10, batch_size=5, n_startup=5,
                 random_state=None, scoring=None, n_jobs=None, refit=True, cv=None, verbose=0,
                 pre_dispatch="2*n_jobs", error_score=np.nan, return_train_score=False):
        super().__init__(estimator=estimator, scoring=scoring, n_jobs=n_jobs, refit=refit, cv=cv,
                         verbose=verbose, pre_dispatch=pre_dispatch, error_score=error_score,
                         return_train_score=return_train_score)
        self.param_distributions = param_distributions
        self.n_iter = n_iter
        self.batch_size = batch_size
        self.n_startup = n_startup
        self.random_state = random_state

    def _run_search(self, evaluate_candidates, *, callback_ctx=None):
        from optuna.trial import TrialState

        from ._optuna_space import gamma_tpe, new_study, quiet_optuna, to_optuna, tpe_sampler

        dims = to_optuna(self.param_distributions, "TPESearchCV")
        distributions = {k: d.distribution for k, d in dims.items()}
        seed = resolve_seed(self.random_state)
        rounds = Rounds(evaluate_candidates, self, callback_ctx)
        with quiet_optuna():
            study = new_study(tpe_sampler(seed, n_startup_trials=self.n_startup, gamma=gamma_tpe))
            for batch, start in enumerate(range(0, self.n_iter, self.batch_size)):
                n = min(self.batch_size, self.n_iter - start)
                trials = [study.ask(distributions) for _ in range(n)]
                candidates = [{k: dims[k].decode(v) for k, v in t.params.items()} for t in trials]
                scores = rounds(candidates, {"batch": [batch] * n}, f"batch {batch}")
                for trial, score in zip(trials, scores):
                    if np.isfinite(score):
                        study.tell(trial, float(score))
                    else:
                        study.tell(trial, state=TrialState.PRUNED)
        rounds.finish()
