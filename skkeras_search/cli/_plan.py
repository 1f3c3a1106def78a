"""Which search the command runs, and where: six strategies, locally or on Dask."""

import contextlib
import math

import numpy as np

__all__ = ["STRATEGIES", "MULTI_FIDELITY", "brackets_for", "build_search", "expected_fits", "n_candidates",
           "space_size", "grid_for",
           "execution", "SchedulerError", "TPE_BATCH_SIZE", "TPE_N_STARTUP"]

STRATEGIES = ("random", "grid", "halving", "hyperband", "tpe", "bohb")
#: Strategies that race candidates over the epoch budget (Hyperband's brackets).
MULTI_FIDELITY = ("halving", "hyperband", "bohb")
#: TPE asks this many candidates at a time, whatever ``--n-jobs`` is, so results
#: do not depend on the number of workers; the first ``TPE_N_STARTUP`` are random.
TPE_BATCH_SIZE, TPE_N_STARTUP = 4, 8
FACTOR = 3


class SchedulerError(RuntimeError):
    """The Dask scheduler could not be used; the message says how to fix it."""


def grid_for(n_iter):
    """A grid over the paper's space with about ``n_iter`` points (rates x widths).

    ``round(sqrt(n_iter))`` log-spaced learning rates (at least 2) times as
    many widths as fit in ``n_iter`` (1 to 16): the grid Bergstra and Bengio
    compare random search with at an equal number of trials.
    """
    from skkeras_search.space import paper_grid

    n_rates = max(2, round(math.sqrt(n_iter)))
    return paper_grid(n_learning_rates=n_rates, n_hidden_units=max(1, min(16, n_iter // n_rates)))


def build_search(strategy, estimator, space, *, n_iter, cv, scoring, n_jobs, random_state,
                 epochs, resource="epochs"):
    """The search object of ``strategy`` (one of :data:`STRATEGIES`).

    * ``random``: ``RandomizedSearchCV``, ``n_iter`` candidates at ``epochs``.
    * ``grid``: ``GridSearchCV`` over ``space`` (lists only).
    * ``halving``, ``hyperband``, ``bohb``: :class:`~skkeras_search.search.HyperbandSearchCV`
      with one bracket, all of Hyperband's brackets, or TPE proposals (BOHB);
      ``epochs`` is the full budget and candidate counts follow Li et al.
      (2017), not ``n_iter``. ``resource`` names the epochs parameter
      (``classifier__epochs`` in a pipeline); with the estimator's fit cache a
      promoted candidate trains only its extra epochs.
    * ``tpe``: :class:`~skkeras_search.search.TPESearchCV`, ``n_iter`` candidates
      in batches of :data:`TPE_BATCH_SIZE`.
    """
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

    from skkeras_search.search import HyperbandSearchCV, TPESearchCV

    common = dict(cv=cv, scoring=scoring, n_jobs=n_jobs, error_score=np.nan, refit=True,
                  return_train_score=False)
    if strategy == "random":
        return RandomizedSearchCV(estimator, space, n_iter=n_iter, random_state=random_state,
                                  **common)
    if strategy == "grid":
        return GridSearchCV(estimator, space, **common)
    if strategy == "tpe":
        return TPESearchCV(estimator, space, n_iter=n_iter, batch_size=TPE_BATCH_SIZE,
                           n_startup=TPE_N_STARTUP, random_state=random_state, **common)
    return HyperbandSearchCV(
        estimator, space, max_epochs=epochs, factor=FACTOR, min_epochs=1,
        n_brackets=1 if strategy == "halving" else None, resource=resource,
        sampler="tpe" if strategy == "bohb" else "random", random_state=random_state, **common,
    )


def space_size(space):
    """Number of points of a space made of lists only, else None (continuous).

    The count ``HyperbandSearchCV`` caps a bracket at, so the plan follows the search.
    """
    from skkeras_search.search._candidates import list_space_size

    return list_space_size(space)


def brackets_for(strategy, epochs):
    """The brackets a multi-fidelity strategy runs with ``epochs`` as its full budget."""
    from skkeras_search.search._hyperband import hyperband_brackets

    return hyperband_brackets(epochs, FACTOR, 1, 1 if strategy == "halving" else None)


def _rounds(strategy, epochs, size):
    """Candidates per round of every bracket, as the search will run them.

    A list-only space of ``size`` points gives a bracket at most ``size``
    distinct candidates (``ParameterSampler`` for Hyperband, BOHB's capped
    draws), so a bracket starts with at most ``size`` candidates.
    """
    rounds = []
    for bracket in brackets_for(strategy, epochs):
        n = bracket.n_candidates[0]
        if size is not None:
            n = min(n, size)
        counts = [n]
        for _ in bracket.budgets[1:]:
            counts.append(max(1, counts[-1] // FACTOR))
        rounds.append(counts)
    return rounds


def n_candidates(strategy, n_iter, epochs, space):
    """Candidates the search samples (Hyperband: summed over brackets)."""
    size = space_size(space)
    if strategy in MULTI_FIDELITY:
        return sum(counts[0] for counts in _rounds(strategy, epochs, size))
    if strategy == "grid":
        return size
    if strategy == "random" and size is not None:
        return min(n_iter, size)  # ParameterSampler samples a list-only space without repeats
    return n_iter


def expected_fits(strategy, n_iter, cv, epochs, space):
    """Number of cross-validation fits the search will run (refit excluded).

    For the multi-fidelity strategies this counts every (candidate, budget)
    of Hyperband's brackets; fewer run when a round's candidates all fail.
    """
    if strategy in MULTI_FIDELITY:
        return cv * sum(sum(counts) for counts in _rounds(strategy, epochs, space_size(space)))
    return n_candidates(strategy, n_iter, epochs, space) * cv


@contextlib.contextmanager
def execution(scheduler, n_workers=None):
    """Run joblib (and so the search) on Dask when ``scheduler`` is given.

    ``scheduler`` is a scheduler address (``tcp://host:8786``) or ``"local"``
    to start a ``LocalCluster`` on 127.0.0.1 with one single-threaded worker
    process per core. Yields the ``dask.distributed.Client`` or None.
    """
    if scheduler is None:
        yield None
        return
    try:
        import joblib
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise SchedulerError(
            "--scheduler needs dask.distributed, which is not installed. Install it with "
            "pip install 'skkeras-search[dask]'."
        ) from None
    cluster = None
    try:
        if scheduler == "local":
            cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1,
                                   host="127.0.0.1", dashboard_address=None,
                                   silence_logs=50)
            client = Client(cluster)
        else:
            try:
                client = Client(scheduler, timeout="15s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise SchedulerError(
                    f"--scheduler {scheduler}: cannot connect ({type(exc).__name__}: "
                    f"{' '.join(str(exc).split())[:200]}). Start one with `dask scheduler` "
                    "and pass its address, or use --scheduler local."
                ) from None
        with client, joblib.parallel_config(backend="dask"):
            yield client
    finally:
        if cluster is not None:
            cluster.close()
