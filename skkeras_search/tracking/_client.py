"""MLflow itself: the optional import, the experiment, batched logging, ending runs.

Everything goes through one ``mlflow.MlflowClient`` for the given tracking
URI; nothing here touches MLflow's fluent state (``mlflow.set_tracking_uri``,
``mlflow.start_run``, the active experiment).
"""

import os
import time
import warnings

__all__ = ["INSTALL", "import_mlflow", "experiment_id", "context_tags", "log_batches", "run_tags",
           "end_runs"]

INSTALL = 'pip install "skkeras-search[mlflow]"'

#: MLflow's longest tag value (``MAX_TAG_VAL_LENGTH``).
_TAG_LENGTH = 8000


def import_mlflow():
    """``mlflow``, or an ImportError that says how to install it."""
    try:
        import mlflow
    except ImportError as exc:
        raise ImportError(
            f"log_search needs MLflow (mlflow>=3.0), which cannot be imported ({exc}). "
            f"Install it with: {INSTALL}"
        ) from exc
    return mlflow


def experiment_id(client, experiment):
    """The id of ``experiment`` (a name, created if missing), or MLflow's default one.

    ``None`` reads ``MLFLOW_EXPERIMENT_NAME`` (created if missing), then
    ``MLFLOW_EXPERIMENT_ID``, as MLflow does, else the store's ``Default``
    experiment (id ``'0'``). ``mlflow.set_experiment`` is fluent state and is
    not read: pass ``experiment=``.

    Raises
    ------
    ValueError
        The experiment of that name is deleted.
    """
    from mlflow.exceptions import MlflowException

    if experiment is None:
        experiment = os.environ.get("MLFLOW_EXPERIMENT_NAME") or None
        if experiment is None:
            return os.environ.get("MLFLOW_EXPERIMENT_ID") or "0"
    found = client.get_experiment_by_name(experiment)
    if found is None:
        try:
            return client.create_experiment(experiment)
        except MlflowException:  # created meanwhile by another process
            found = client.get_experiment_by_name(experiment)
            if found is None:
                raise
    if found.lifecycle_stage == "deleted":
        raise ValueError(
            f"experiment={experiment!r} is deleted (id {found.experiment_id}). Restore it with "
            f"MlflowClient().restore_experiment({found.experiment_id!r}) or pick another name."
        )
    return found.experiment_id


def context_tags():
    """The tags MLflow gives a run it starts itself: user, source file and type, git commit."""
    try:
        from mlflow.tracking.context.registry import resolve_tags
    except ImportError:  # moved in some later MLflow: the runs go without them
        return {}
    return resolve_tags()


def log_batches(client, run_id, params, metrics):
    """All of a run's params and metrics in one ``client.log_batch`` call.

    MLflow's client splits the call into requests within its per-batch limits
    (100 params, 100 tags, 1,000 metrics, 1,000 in all), so a run with more of
    them needs nothing more here. Tags go with ``create_run`` (:func:`run_tags`).
    """
    from mlflow.entities import Metric, Param

    now = int(time.time() * 1000)
    client.log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in metrics.items()],
                     params=[Param(k, v) for k, v in params.items()])


def run_tags(*groups):
    """Tags for ``create_run``: the groups merged, each value a string within MLflow's limit."""
    return {k: str(v)[:_TAG_LENGTH] for group in groups for k, v in group.items()}


def end_runs(client, run_ids, exc):
    """End the still-open runs after ``exc``: FAILED (KILLED after Ctrl-C), innermost first.

    A run that cannot be ended either (the server is gone) gets a warning; the
    caller re-raises ``exc``.
    """
    status = "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED"
    for run_id in reversed(run_ids):
        try:
            client.set_terminated(run_id, status)
        except Exception as err:  # noqa: BLE001 - the first error is the one to raise
            warnings.warn(f"run {run_id} stays RUNNING: ending it {status} failed too ({err!r}) "
                          f"after {exc!r}.", UserWarning, stacklevel=4)
