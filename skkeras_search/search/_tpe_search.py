"""TPESearchCV: model-based search with Optuna's TPE sampler (Bergstra et al. 2011)
in fixed-size batches, as a scikit-learn ``BaseSearchCV``. Public in
:mod:`skkeras_search.search`.
"""

import os
import warnings
from numbers import Integral

import numpy as np
from scipy.sparse import issparse

from skkeras_search._core.fit_cache import data_fingerprint
from skkeras_search._core.seeding import resolve_seed
from skkeras_search._core.validation import BaseSearchCV, Interval
from skkeras_search.search import _optuna_space
from skkeras_search.search._async_fit import AsyncFitMixin
from skkeras_search.search._candidates import candidate_key
from skkeras_search.search._conditional import search_space
from skkeras_search.search._folds import FrozenFoldsMixin
from skkeras_search.search._rounds import Rounds, SearchWarning
from skkeras_search.search._warm_start import warm_start_trials

__all__ = ["TPESearchCV"]


class TPESearchCV(FrozenFoldsMixin, AsyncFitMixin, BaseSearchCV):
    """Model-based search with Optuna's TPE sampler, in fixed-size batches or asynchronously.

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

    With ``asynchronous=True`` there are no batches: whenever a worker is
    free, TPE is asked for one new candidate, with the candidates still
    running told to the sampler as pending (Optuna's constant liar), and
    each (candidate, fold) fit is submitted on its own (as in
    :class:`ASHASearchCV`, whose notes on executors, Dask, dead workers and
    resuming apply). The candidates then depend on the order in which fits
    end; ``cv_results_`` records it, and with ``n_jobs=1`` the search is
    deterministic. Use it when workers would otherwise wait for a batch's
    slowest fit (a cluster); keep the default for results that do not
    depend on the number of workers.

    A conditional space, scikit-learn's list of dicts, is a choice among the
    dicts (*branches*, an Optuna categorical over their indices) followed by
    the chosen branch's own parameters; TPE then models the parameters that
    occur together jointly, each group on the trials that hold it (Optuna's
    ``group=True``). A candidate holds only its branch's parameters, so
    ``cv_results_`` masks the others, as for ``RandomizedSearchCV``. A
    parameter that branches hold with the same distribution is one parameter
    to TPE, learnt from every branch; with different distributions, one per
    branch (``learning_rate@1`` inside Optuna only).

    ``warm_start`` gives TPE earlier results as finished trials before its
    first proposal, so with at least ``n_startup`` of them TPE proposes from
    the first candidate on.

    Every sampler option is pinned (Optuna 5 changed several defaults):
    ``multivariate=True``, ``n_ei_candidates=24``, ``gamma`` = 10% of the
    trials (at most 25), flat ``weights`` (ramped after 25), ``consider_prior=True``,
    ``prior_weight=1.0``, ``consider_magic_clip=True``, ``consider_endpoints=False``,
    ``constant_liar=True`` (candidates of one batch avoid each other), ``group=False``
    for a dict and ``group=True`` for a list of dicts.

    Parameters
    ----------
    estimator : estimator object
        Fitted once per (candidate, fold).
    param_distributions : dict or list of dicts
        Parameter names to :func:`~skkeras_search.space.log_uniform`,
        :func:`~skkeras_search.space.int_range`, ``scipy.stats``
        ``loguniform``/``uniform``/``randint`` (frozen) or lists, tuples and
        ``range`` objects (categorical); ``{}`` is one candidate, the
        estimator as given (as for ``RandomizedSearchCV``). A list of dicts is
        a conditional space (see above); a ``{}`` in it is a branch with one
        candidate, the estimator as given. A list of one dict is that dict.
        A finite space has the sum of its branches' points.
    n_iter : int, default=10
        Number of distinct candidates evaluated. No candidate is fitted
        twice: a proposal equal to an evaluated one is told its known
        result without a fit and TPE is asked again. A finite space (lists,
        ``int_range``, ``randint``) smaller than ``n_iter`` is evaluated
        once per point, with ``RandomizedSearchCV``'s warning.
    batch_size : int, default=5
        Candidates asked, and evaluated in parallel, per round. Unrelated to
        the estimator's ``batch_size``. Not used when ``asynchronous=True``.
    n_startup : int, default=5
        Results needed before TPE takes over (Optuna's ``n_startup_trials``);
        until then candidates are drawn at random. A batch is asked before
        any of its results are told, so whole batches are random: with
        ``n_startup=5, batch_size=4`` the first 8 candidates are.
    random_state : int, RandomState instance or None, default=None
        Seeds the sampler (not the estimator). Pass an int for reproducible
        (and resumable) searches.
    asynchronous : bool, default=False
        Ask one candidate per free worker instead of batches (see above).
    warm_start : search, dict, str, os.PathLike or None, default=None
        Earlier results to start from. Unlike scikit-learn's boolean
        ``warm_start`` (reuse the fitted model), this is the *source* of the
        results: a fitted search (any scikit-learn search with
        ``cv_results_``; ``clone`` leaves it unfitted, pass its
        ``cv_results_`` to survive one), a ``cv_results_`` dict, or the
        ``--out`` folder of the ``skkeras-search`` command (its
        ``cv_results.csv`` and ``report.json``). Each earlier row whose
        parameters fit ``param_distributions`` becomes a finished trial with
        the objective's mean test score (a failed row: a pruned trial) and
        counts toward ``n_startup``; of a multi-fidelity source (rows with
        ``n_resources``) only the full-budget rows, without the budget
        parameter. Earlier rows are not refitted and are not rows of
        ``cv_results_``, and ``n_iter`` counts new candidates only; a
        proposal equal to an earlier candidate is told its score without a
        fit and TPE is asked again. Names match directly, else by their part
        after the last ``__`` when one name of ``param_distributions`` has
        it (the command writes ``hidden_units`` for a pipeline's
        ``classifier__hidden_units``). The source is only read. Same source
        and ``random_state``: same candidates.
    scoring : str, callable, list, tuple, dict or None, default=None
        As in :class:`~sklearn.model_selection.GridSearchCV`; with several
        metrics, ``refit`` must name the one that is optimised.
    n_jobs : int or None, default=None
        Parallel fits (joblib); results do not depend on it unless
        ``asynchronous=True`` (then also Dask, see :class:`ASHASearchCV`).
    refit : bool, str or callable, default=True
        Refit the best candidate on the whole data, as in ``GridSearchCV``.
        A callable sees every row and needs a single metric.
    cv : int, cross-validation generator or iterable, default=None
        Folds, as in ``GridSearchCV`` (None: 5-fold, stratified for
        classifiers). They are split once per ``fit``, before any fit, so
        every batch scores its candidates on the same rows, also with a
        random splitter without a seed (``ShuffleSplit()``) or one whose
        ``split`` can be iterated only once.
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
        scikit-learn's columns plus ``batch`` (0-based round of each
        candidate); with ``asynchronous=True``, in the order candidates
        finished, with ``finish_order`` and ``finish_time`` (seconds after
        the search started) instead of ``batch``.
    cv_splits_digest_ : str
        SHA-256 (hex) of the folds every candidate was scored on (sample
        count, then each fold's train and test indices): equal digests mean
        the same rows.
    data_fingerprint_ : str or None
        BLAKE2 (hex) of ``X`` and ``y`` as NumPy arrays (a DataFrame's
        values; a sparse ``X`` by its CSR arrays), as the fit cache and the
        asynchronous decision log compute it; None for data NumPy cannot
        read. A later search with this one as ``warm_start`` compares it.
    best_estimator_, best_score_, best_params_, best_index_ : as in GridSearchCV
    scorer_, n_splits_, refit_time_, multimetric_ : as in GridSearchCV

    Raises
    ------
    ValueError
        If a distribution cannot be modelled by TPE (the message names the
        parameter, and for a list of dicts the branch:
        ``param_distributions[1]['momentum']``), ``param_distributions`` is
        an empty list, the objective is ambiguous (several metrics without
        ``refit=name``), ``cv`` yields no fold, or ``warm_start`` cannot be
        read (a path that does not exist or holds no ``cv_results.csv``, an
        unfitted search, no objective column, a bad hand-edited cell) or
        holds every point of a finite space; all before any fit.

    Warns
    -----
    UserWarning
        If a finite space has fewer points than ``n_iter`` (or fewer not
        known from ``warm_start``).
    SearchWarning
        TPE proposes only evaluated candidates 100 times in a row (a space
        whose lists repeat values): the search stops there. Once each, for
        a ``warm_start`` source: rows that do not fit ``param_distributions``
        (skipped: how many, the parameters, an example); a source fitted on
        other data (its ``data_fingerprint_`` or report's ``data.fingerprint``
        differs), searching another space, epoch budget, estimator or MLP
        arithmetic revision (its fitting rows used as they are); a source scored with
        another scoring, holding no rows or not the objective's column
        (nothing used).

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
        "asynchronous": ["boolean"],
        "warm_start": [None, dict, str, os.PathLike, BaseSearchCV],
    }

    def __init__(self, estimator, param_distributions, *, n_iter=10, batch_size=5, n_startup=5,
                 random_state=None, asynchronous=False, warm_start=None, scoring=None, n_jobs=None,
                 refit=True, cv=None, verbose=0, pre_dispatch="2*n_jobs", error_score=np.nan,
                 return_train_score=False):
        super().__init__(estimator=estimator, scoring=scoring, n_jobs=n_jobs, refit=refit, cv=cv,
                         verbose=verbose, pre_dispatch=pre_dispatch, error_score=error_score,
                         return_train_score=return_train_score)
        self.param_distributions = param_distributions
        self.n_iter = n_iter
        self.batch_size = batch_size
        self.n_startup = n_startup
        self.random_state = random_state
        self.asynchronous = asynchronous
        self.warm_start = warm_start

    def fit(self, X, y=None, **params):
        """Run the batches on one set of folds, then refit the best candidate.

        The folds are split once, before any fit (see ``cv``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,), default=None
            Targets.
        **params : dict
            Passed to the estimator's ``fit`` (and split by the folds), as in
            ``GridSearchCV.fit``; ``groups`` reaches the splitter.

        Returns
        -------
        self : TPESearchCV

        Raises
        ------
        ValueError
            Before any fit, for a space TPE cannot model or a ``warm_start``
            that cannot be read or holds every point of a finite space.
        """
        self._validate_params()
        self.data_fingerprint_ = _fingerprint(X, y)
        self._warm = None
        with _optuna_space.quiet_optuna():
            if self.warm_start is not None:
                space = search_space(self.param_distributions, "TPESearchCV")
                self._warm = warm_start_trials(
                    self.warm_start, space, self.param_distributions,
                    objectives=self._objectives(), fingerprint=self.data_fingerprint_,
                    shape=_shape(X), search=self)
                _check_not_exhausted(self._warm, space)
            try:
                return super().fit(X, y, **params)
            finally:
                del self._warm

    def _objectives(self):
        """The ``cv_results_`` columns that may hold the objective of a ``warm_start`` source:
        the ``refit`` metric's alone for several metrics."""
        if isinstance(self.scoring, (dict, list, tuple, set)) and isinstance(self.refit, str):
            return [f"mean_test_{self.refit}"]
        return ["mean_test_score"] + ([f"mean_test_{self.refit}"] if isinstance(self.refit, str)
                                      else [])

    def _runs_asynchronously(self):
        return bool(self.asynchronous)

    def _sampler_and_asker(self, space):
        seed = resolve_seed(self.random_state)
        sampler = _optuna_space.tpe_sampler(seed, n_startup_trials=self.n_startup,
                                            gamma=_optuna_space.gamma_tpe,
                                            group=space.conditional)
        asker = _Asker(_optuna_space.new_study(sampler), space, seed)
        warm = getattr(self, "_warm", None)  # None outside fit (a simulation of the policy)
        if warm is not None:
            asker.add_known(warm)
        return asker

    def _policy(self):
        """Asynchronous TPE: one candidate per free worker, pending ones told as running."""
        space = search_space(self.param_distributions, "TPESearchCV")
        return _AsyncTPE(self._sampler_and_asker(space), self._n_candidates(space), self.n_iter)

    def _run_search(self, evaluate_candidates, *, callback_ctx=None):

        space = search_space(self.param_distributions, "TPESearchCV")
        n_iter = self._n_candidates(space)
        rounds = Rounds(evaluate_candidates, self, callback_ctx)
        asker = self._sampler_and_asker(space)
        batch, done = 0, 0
        while done < n_iter:
            trials, candidates = asker.ask(min(self.batch_size, n_iter - done))
            if not candidates:
                _warn_exhausted(done, self.n_iter)
                break
            n = len(candidates)
            scores = rounds(candidates, {"batch": [batch] * n}, f"batch {batch}")
            asker.tell(trials, candidates, scores)
            batch, done = batch + 1, done + n
        rounds.finish()

    def _n_candidates(self, space):
        """``n_iter``, capped at the number of points of a finite space (with a warning)
        not known from ``warm_start``."""

        size = space.n_points()
        if size is None:
            return self.n_iter
        known = getattr(self, "_warm", None)
        warm = len({candidate_key(c) for c, _ in known.known}) if known is not None else 0
        if size < self.n_iter and not warm:
            warnings.warn(  # RandomizedSearchCV's (ParameterSampler's) wording
                f"The total space of parameters {size} is smaller than n_iter={self.n_iter}. "
                f"Running {size} iterations. For exhaustive searches, use GridSearchCV.",
                UserWarning, stacklevel=3,
            )
            return size
        if size - warm < self.n_iter:
            warnings.warn(
                f"The total space of parameters {size} holds {size - warm} candidates not "
                f"known from warm_start, fewer than n_iter={self.n_iter}. Running "
                f"{size - warm} iterations.", UserWarning, stacklevel=3,
            )
            return size - warm
        return self.n_iter


def _fingerprint(X, y):
    """``data_fingerprint`` of the data (as the asynchronous decision log computes it; a sparse
    X by its CSR arrays), or None for data it cannot read."""
    try:
        if issparse(X):
            X = X.tocsr()
            arrays = [X.data, X.indices, X.indptr, np.asarray(X.shape)]
        else:
            arrays = [np.asarray(X)]
        return data_fingerprint(*arrays, *([] if y is None else [np.asarray(y)]))
    except Exception:  # noqa: BLE001 - an input NumPy cannot read has no fingerprint
        return None


def _check_not_exhausted(warm, space):
    """ValueError if ``warm_start`` knows every point of a finite space (no row to fit)."""
    size = space.n_points()
    if size is not None and len({candidate_key(c) for c, _ in warm.known}) >= size:
        raise ValueError(
            f"{warm.label} already holds every one of the {size} points of "
            "param_distributions: nothing is left to evaluate. Widen param_distributions, "
            "or drop warm_start.")


def _shape(X):
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) >= 2:
        return int(shape[0]), int(shape[1])
    return (len(X), None) if hasattr(X, "__len__") else (None, None)


def _warn_exhausted(done, n_iter):
    warnings.warn(
        f"TPESearchCV found no candidate it had not evaluated after {done} of "
        f"n_iter={n_iter}: the space seems exhausted (its lists repeat values, "
        "or TPE keeps proposing known points). Stopping early.",
        SearchWarning, stacklevel=4,
    )


class _AsyncTPE:
    """The policy of ``TPESearchCV(asynchronous=True)`` (see
    :mod:`~skkeras_search.search._scheduler`): ask one, tell each as it ends."""

    def __init__(self, asker, n_candidates, n_iter):
        self._asker, self._n, self._n_iter = asker, n_candidates, n_iter
        self._trials = {}  # row index -> trial
        self.rows_started = 0

    def next_row(self):
        if self.rows_started >= self._n:
            return None
        trials, candidates = self._asker.ask(1)
        if not candidates:
            _warn_exhausted(self.rows_started, self._n_iter)
            self._n = self.rows_started
            return None
        self._trials[self.rows_started] = trials[0]
        self.rows_started += 1
        return candidates[0], {}

    def tell(self, row):
        self._asker.tell([self._trials.pop(row.index)], [row.params], [row.score])


class _Asker:
    """Asks Optuna for candidates not evaluated yet; tells repeats their known result.

    A proposal equal to an evaluated candidate is told that candidate's score
    at once (no fit) and TPE is asked again; one equal to a candidate of the
    same batch is told its twin's score once the batch is scored. After
    ``max_repeats`` repeats in a row, a finite space is asked for a point it
    has not seen (enqueued, so TPE still records it); otherwise the batch
    ends where it is.
    """

    def __init__(self, study, space, seed, max_repeats=100):
        self._study, self._space = study, space
        self._rng = np.random.RandomState([seed, 1])  # for unseen points only
        self._known, self._twins, self._max_repeats = {}, [], max_repeats
        self._pending = set()  # asked, not told yet (asynchronous: other workers' candidates)

    def add_known(self, warm):
        """Earlier results (a :class:`~skkeras_search.search._warm_start.WarmStart`): finished
        trials for the sampler, and candidates that are not fitted again."""
        self._study.add_trials(warm.trials)
        for candidate, score in warm.known:
            self._known[candidate_key(candidate)] = score

    def _tell(self, trial, score):
        from optuna.trial import TrialState

        if np.isfinite(score):
            self._study.tell(trial, float(score))
        else:
            self._study.tell(trial, state=TrialState.PRUNED)

    def ask(self, n):
        """Up to ``n`` (trial, candidate) pairs of new candidates."""
        trials, candidates, batch_keys, repeats = [], [], set(), 0
        while len(candidates) < n and repeats <= self._max_repeats:
            if repeats == self._max_repeats:
                point = self._space.unseen(set(self._known) | self._pending | batch_keys,
                                           self._rng)
                if point is None:
                    break
                self._space.enqueue(self._study, point)
            trial, candidate = self._space.ask(self._study)
            key = candidate_key(candidate)
            if key in self._known:
                self._tell(trial, self._known[key])
                repeats += 1
            elif key in batch_keys or key in self._pending:
                self._twins.append((trial, key))
                repeats += 1
            else:
                trials.append(trial)
                candidates.append(candidate)
                batch_keys.add(key)
                repeats = 0
        self._pending |= batch_keys
        return trials, candidates

    def tell(self, trials, candidates, scores):
        """Tell a batch's scores (NaN: pruned), then repeats whose twins are known their scores."""
        for trial, candidate, score in zip(trials, candidates, scores):
            key = candidate_key(candidate)
            self._known[key] = float(score)
            self._pending.discard(key)
            self._tell(trial, score)
        waiting = []
        for trial, key in self._twins:
            if key in self._known:
                self._tell(trial, self._known[key])
            else:  # its twin is still running (asynchronous)
                waiting.append((trial, key))
        self._twins = waiting
