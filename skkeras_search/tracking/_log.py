"""``log_search``: one parent run for a fitted search, one child run per row of its results."""

import numbers

from sklearn.utils.validation import check_is_fitted

from skkeras_search.tracking._artifacts import check_artifacts, log_files
from skkeras_search.tracking._client import (
    context_tags,
    end_runs,
    experiment_id,
    import_mlflow,
    log_batches,
    run_tags,
)
from skkeras_search.tracking._layout import (
    check_names,
    child_metrics,
    child_params,
    child_rows,
    child_tags,
    parent_metrics,
    parent_params,
    parent_tags,
)

__all__ = ["log_search"]

_NOT_FITTED = ("This %(name)s instance has no cv_results_: it is not fitted, or it is not a "
               "hyperparameter search. Fit it first (search.fit(X, y)), or pass a fitted "
               "GridSearchCV, RandomizedSearchCV, HalvingRandomSearchCV or a search of "
               "skkeras_search.")


def log_search(search, tracking_uri=None, experiment=None, max_child_runs=None, *,
               artifacts=(), run_name=None, model=True):
    """Log a fitted hyperparameter search to MLflow: a parent run and a child run per result row.

    Works for any fitted scikit-learn search, that is any estimator with
    ``cv_results_``: ``GridSearchCV``, ``RandomizedSearchCV``,
    ``HalvingGridSearchCV``/``HalvingRandomSearchCV``, and
    :class:`~skkeras_search.HyperbandSearchCV`, :class:`~skkeras_search.ASHASearchCV`,
    :class:`~skkeras_search.TPESearchCV`. Call it after ``fit``; it logs what the
    search recorded and fits nothing.

    Parameters
    ----------
    search : fitted search estimator
        Anything with ``cv_results_`` and ``get_params``.
    tracking_uri : str, default=None
        Where to log: ``'sqlite:///mlflow.db'``, ``'http://host:5000'``, a
        ``file:`` URI (MLflow 3 refuses the file store unless
        ``MLFLOW_ALLOW_FILE_STORE=true``). None: MLflow's own resolution
        (``MLFLOW_TRACKING_URI``, else its default).
    experiment : str, default=None
        Experiment name, created if missing (its artifacts then go where the
        store puts them: a server's ``--default-artifact-root``, or, for a
        ``sqlite:`` URI, ``./mlruns`` of the working directory; create the
        experiment with ``artifact_location=`` first to choose). None:
        ``MLFLOW_EXPERIMENT_NAME`` or ``MLFLOW_EXPERIMENT_ID`` if set, else the
        ``Default`` experiment. ``mlflow.set_experiment`` is not read.
    max_child_runs : int, default=None
        Log child runs only for this many best rows by ``rank_test_score``
        (the refit scorer's rank with several scorers; ties keep the earlier
        row). None: every row. 0: no child run.
    artifacts : sequence of str or path-like, default=()
        More files (to the artifact root) and folders (to a folder of their
        name) for the parent run, e.g. a report and plots.
    run_name : str, default=None
        The parent run's name. None: a name MLflow makes up.
    model : bool, default=True
        Log the refit best model as ``best_model/``. Ignored if the search
        was not refit (no ``best_estimator_``).

    Returns
    -------
    run_id : str
        The parent run's id.

    Raises
    ------
    ImportError
        MLflow is not installed (``pip install "skkeras-search[mlflow]"``).
    sklearn.exceptions.NotFittedError
        ``search`` has no ``cv_results_``.
    FileNotFoundError
        A path of ``artifacts`` does not exist (nothing is logged).
    ValueError
        ``max_child_runs`` is negative; two ``artifacts`` share a name or one
        takes ``cv_results.csv``/``best_model``; a scorer or parameter name
        holds a character MLflow refuses; ``experiment`` is deleted. Nothing
        is logged.
    Exception
        Whatever MLflow raised while logging: the runs started so far are
        ended FAILED (KILLED after Ctrl-C), none stays RUNNING, and the error
        is raised again.

    Warns
    -----
    UserWarning
        ``model=True`` but the best model cannot be saved safely (a
        ``KerasClassifier``'s build function, a type skops does not trust):
        the runs are logged without ``best_model/``, the warning says why.

    Notes
    -----
    Layout. The parent run: params = the search's ``get_params(deep=False)``
    (strings as they are, other values as short reprs without memory
    addresses, cut to MLflow's 6,000 characters) and ``best_<param>`` for each
    of ``best_params_``; metrics ``best_cv_score`` (``best_score_``) and, with
    several scorers, ``best_cv_score_<scorer>`` (each scorer's mean at
    ``best_index_``); tags ``estimator_name``/``estimator_class`` (the
    search), ``base_estimator_name``/``base_estimator_class`` (the searched
    estimator), ``skkeras_search.version`` and MLflow's own context tags (user,
    source, git commit); artifacts ``cv_results.csv`` (every column, the
    ``params`` column as JSON, a masked entry empty), ``best_model/`` and
    ``artifacts``. ``best_model/`` is :func:`skkeras_search.persistence.save_model`'s
    folder for our Keras networks (alone or ending a pipeline; read it with
    ``load_model``), or ``best_model/model.skops`` for a plain scikit-learn
    model that holds only types skops trusts by default (``skops.io.load``
    reads it trusting nothing); any other model is skipped with a warning.
    Each child run: tags ``mlflow.parentRunId``,
    ``estimator_name``/``estimator_class`` of the searched estimator,
    ``cv_results_index`` (its row) and an MLflow-made ``mlflow.runName``, as
    autolog's children; params = the row's own ``params`` (a parameter the
    row lacks, in a conditional space, is absent) plus, where the columns
    exist, ``n_resources``, ``bracket``, ``round``, ``rung``, ``candidate``,
    ``iter``, ``batch``; metrics = every other number of the row:
    ``mean_test_<s>``, ``std_test_<s>``, ``rank_test_<s>``,
    ``split<i>_test_<s>``, train scores if recorded, fit and score times, and
    columns such as ``n_epochs_trained``. A failed fit's NaN scores are logged
    as NaN, which MLflow stores and shows as NaN (file, SQL and REST stores
    alike), so the row stays visible as failed. Children start when the
    parent starts; all runs end FINISHED.

    Unlike ``mlflow.sklearn.autolog``: any search class is logged (autolog
    knows ``GridSearchCV`` and ``RandomizedSearchCV`` only), after the fit and
    without patching ``fit`` or using MLflow's fluent state; children carry
    every split score and a multi-fidelity search's rows per budget, but not
    the searched estimator's unsearched parameters (the parent's
    ``estimator`` shows them), and every row by default (autolog: 5). No
    training metrics or MLflow model flavour are logged (there is no data
    here, and an MLflow flavour would pickle); the best model is in the safe
    formats above.

    Examples
    --------
    >>> from skkeras_search.tracking import log_search  # doctest: +SKIP
    >>> run_id = log_search(search, "sqlite:///mlflow.db", experiment="digits")  # doctest: +SKIP
    """
    import_mlflow()
    check_is_fitted(search, "cv_results_", msg=_NOT_FITTED)
    if max_child_runs is not None and (not isinstance(max_child_runs, numbers.Integral)
                                       or isinstance(max_child_runs, bool) or max_child_runs < 0):
        raise ValueError(f"max_child_runs={max_child_runs!r} is not a count of runs. Use an "
                         "int >= 0, or None for a child run per row.")
    check_names(search)
    paths = check_artifacts(artifacts, model)
    rows = child_rows(search, max_child_runs)
    return _log(search, tracking_uri, experiment, rows, paths, run_name, model)


def _log(search, tracking_uri, experiment, rows, paths, run_name, model):
    client = import_mlflow().MlflowClient(tracking_uri)
    exp_id = experiment_id(client, experiment)
    context = context_tags()
    parent = client.create_run(exp_id, tags=run_tags(context, parent_tags(search)), run_name=run_name)
    open_runs = [parent.info.run_id]
    try:
        log_batches(client, parent.info.run_id, parent_params(search), parent_metrics(search))
        for i in rows:
            tags = run_tags(context, child_tags(search, parent.info.run_id, i))
            child = client.create_run(exp_id, start_time=parent.info.start_time, tags=tags)
            open_runs.append(child.info.run_id)
            log_batches(client, child.info.run_id, child_params(search.cv_results_, i),
                        child_metrics(search.cv_results_, i))
            client.set_terminated(child.info.run_id, "FINISHED")
            open_runs.pop()
        log_files(client, parent.info.run_id, search, paths, model)
        client.set_terminated(parent.info.run_id, "FINISHED")
    except BaseException as exc:
        end_runs(client, open_runs, exc)
        raise
    return parent.info.run_id
