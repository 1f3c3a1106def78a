"""Which search runs, and where: random or halving, locally or on Dask."""

import contextlib
import math

import numpy as np

__all__ = ["build_search", "expected_fits", "execution", "SchedulerError"]


class SchedulerError(RuntimeError):
    """The Dask scheduler could not be used; the message says how to fix it."""


def build_search(strategy, estimator, space, *, n_iter, cv, scoring, n_jobs, random_state,
                 epochs, resource="epochs"):
    """``RandomizedSearchCV``, or ``HalvingRandomSearchCV`` over the epoch budget.

    Halving starts ``n_iter`` candidates on ``epochs / 3**k`` epochs and gives
    the best third of them three times the budget, up to ``epochs``. With a
    fit cache (``estimator.cache_dir``) a promoted candidate continues from
    its shorter run instead of starting again. ``resource`` names the epochs
    parameter (``classifier__epochs`` in a pipeline).
    """
    common = dict(cv=cv, scoring=scoring, n_jobs=n_jobs, random_state=random_state,
                  error_score=np.nan, refit=True, return_train_score=False)
    if strategy == "random":
        from sklearn.model_selection import RandomizedSearchCV

        return RandomizedSearchCV(estimator, space, n_iter=n_iter, **common)
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingRandomSearchCV

    return HalvingRandomSearchCV(estimator, space, n_candidates=n_iter, resource=resource,
                                 max_resources=epochs, min_resources="exhaust", factor=3,
                                 **common)


def expected_fits(strategy, n_iter, cv, epochs, factor=3):
    """Number of cross-validation fits the search will run (refit excluded)."""
    if strategy == "random":
        return n_iter * cv
    n_required = 1 + math.floor(math.log(n_iter, factor)) if n_iter > 1 else 1
    n_possible = 1 + math.floor(math.log(max(epochs, 1), factor))
    n_iterations = max(1, min(n_required, n_possible))
    return cv * sum(math.ceil(n_iter / factor**i) for i in range(n_iterations))


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
