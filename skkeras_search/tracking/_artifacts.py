"""The parent run's files: ``cv_results.csv``, ``best_model/`` and the caller's own.

``best_model/`` is :func:`skkeras_search.persistence.save_model`'s folder for
a refit Keras network of ours (alone or ending a pipeline): load it with
:func:`skkeras_search.persistence.load_model`. A search over plain
scikit-learn estimators gets ``best_model/model.skops`` instead (skops, as
``save_model`` uses), but only if it holds nothing skops does not trust by
default, so that ``skops.io.load(path)`` reads it back without trusting any
code. Any other best model (``save_model`` refuses it: a build function, an
unknown type) is left out with a warning saying why.
"""

import os
import tempfile
import warnings

from skkeras_search._core.validation import fitted_network
from skkeras_search.mlp import KerasMLPClassifier, KerasMLPRegressor
from skkeras_search.persistence import save_model
from skkeras_search.tracking._values import cv_results_csv
from skkeras_search.wrappers import KerasClassifier, KerasRegressor

__all__ = ["CV_RESULTS", "BEST_MODEL", "check_artifacts", "log_files"]

CV_RESULTS = "cv_results.csv"
BEST_MODEL = "best_model"
#: Networks that go to save_model, which saves ours and says why it refuses the wrappers.
_KERAS = (KerasMLPClassifier, KerasMLPRegressor, KerasClassifier, KerasRegressor)


def _name(path):
    return os.path.basename(os.path.normpath(path))


def check_artifacts(artifacts, model):
    """The caller's paths as strings, each existing and named apart from the run's own files.

    Raises
    ------
    FileNotFoundError
        A path does not exist.
    ValueError
        Two paths have the same name, or one is named ``cv_results.csv`` (or
        ``best_model`` with ``model=True``).
    """
    if isinstance(artifacts, (str, os.PathLike)):
        artifacts = [artifacts]
    paths = [os.fspath(p) for p in artifacts]
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        raise FileNotFoundError(f"artifacts={missing!r} do not exist; nothing was logged. "
                                "Pass existing files or folders.")
    taken = {CV_RESULTS: "log_search's own results table"}
    if model:
        taken[BEST_MODEL] = "where model=True logs the best model (or pass model=False)"
    for path in paths:
        if _name(path) in taken:
            raise ValueError(f"artifacts holds {path!r}, but the name {_name(path)!r} is "
                             f"{taken[_name(path)]}; nothing was logged. Rename it or leave it out.")
        taken[_name(path)] = f"also the name of another entry of artifacts ({path!r})"
    return paths


def log_files(client, run_id, search, paths, model):
    """Log ``cv_results.csv``, the best model (``model`` and refit) and ``paths`` to ``run_id``.

    A file of ``paths`` goes to the run's artifact root, a folder to a folder of its name.
    """
    with tempfile.TemporaryDirectory() as tmp:
        table = os.path.join(tmp, CV_RESULTS)
        with open(table, "w", newline="", encoding="utf-8") as fh:
            fh.write(cv_results_csv(search.cv_results_))
        client.log_artifact(run_id, table)
        best = getattr(search, "best_estimator_", None)
        if model and best is not None:
            folder = _save_best(best, os.path.join(tmp, BEST_MODEL))
            if folder is not None:
                client.log_artifacts(run_id, folder, BEST_MODEL)
    for path in paths:
        if os.path.isdir(path):
            client.log_artifacts(run_id, path, _name(path))
        else:
            client.log_artifact(run_id, path)


def _skip(reason):
    warnings.warn(f"model=True: the best model is not logged: {reason}", UserWarning,
                  stacklevel=6)  # _save_best, log_files, _log, log_search: the caller


def _save_best(best, folder):
    """Write ``best`` into ``folder`` (see the module docstring); None if it is skipped."""
    import skops.io as sio

    if isinstance(fitted_network(best), _KERAS):
        try:
            save_model(folder, best, extra={"logged_by": "skkeras_search.tracking.log_search"})
        except ValueError as exc:  # a wrapper's build function, a type load_model would refuse
            _skip(str(exc))
            return None
        return folder
    try:
        blob = sio.dumps(best)
    except Exception as exc:  # noqa: BLE001 - skops cannot write it: say so and go on
        _skip(f"skops cannot serialise {type(best).__name__} ({exc!r}).")
        return None
    untrusted = sio.get_untrusted_types(data=blob)
    if untrusted:
        _skip(f"{type(best).__name__} holds type(s) {untrusted} that skops does not trust by "
              "default, so reading it back would mean trusting code. Save it yourself "
              "(skkeras_search.persistence.save_model for our networks) and pass the folder in "
              "artifacts, or log it with mlflow.sklearn.log_model.")
        return None
    os.makedirs(folder)
    with open(os.path.join(folder, "model.skops"), "wb") as fh:
        fh.write(blob)
    return folder
