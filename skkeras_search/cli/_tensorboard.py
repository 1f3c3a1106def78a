"""A finished search as TensorBoard HParams runs (``--tensorboard``).

One run per row of ``cv_results_`` (a candidate at one epoch budget), each
with its hyperparameters, the budget, the mean CV score and the mean fit
time, plus the experiment's configuration at the top, written with
TensorFlow's summary writer and TensorBoard's HParams API. Then
``tensorboard --logdir OUT/tensorboard`` shows the table and the
parallel-coordinates view that Keras users know.
"""

import importlib.util
import math
import os

from skkeras_search._core import backend as _backend
from skkeras_search._core.files import json_value

__all__ = ["available", "write_hparams"]


def available():
    """Whether the ``tensorboard`` package (the HParams API) is installed; imports nothing."""
    return importlib.util.find_spec("tensorboard") is not None


def _plain(value):
    value = json_value(value)
    return value if isinstance(value, (bool, int, float, str)) else repr(value)


def write_hparams(cv_results, logdir, scoring="accuracy", epochs=None):
    """Write ``cv_results`` (parameter names without a pipeline prefix) under ``logdir``.

    Parameters
    ----------
    cv_results : dict
        A search's ``cv_results_``.
    logdir : str
        Folder to create; one ``run-NNNN`` subfolder per row.
    scoring : str
        Name of the score, used in the metric's tag ``cv_<scoring>``.
    epochs : int, optional
        The budget of rows without ``n_resources`` (single-fidelity searches).

    Returns
    -------
    n_runs : int
    """
    tf = _backend.tensorflow()  # first, quietly: the HParams API imports TensorFlow too
    from tensorboard.plugins.hparams import api as hp
    params = cv_results["params"]
    names = sorted({k for p in params for k in p})
    budgets = cv_results.get("n_resources", [epochs] * len(params))
    metric = f"cv_{scoring}"
    domains = []
    for name in names:
        values = [_plain(p[name]) for p in params if name in p]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            domains.append(hp.HParam(name, hp.RealInterval(float(min(values)), float(max(values)))))
        else:
            domains.append(hp.HParam(name, hp.Discrete(sorted({str(v) for v in values}))))
    domains.append(hp.HParam("epochs", hp.Discrete(sorted({int(b) for b in budgets}))))
    os.makedirs(logdir, exist_ok=True)
    with tf.summary.create_file_writer(logdir).as_default():
        hp.hparams_config(hparams=domains, metrics=[
            hp.Metric(metric, display_name=f"mean CV {scoring}"),
            hp.Metric("fit_time_s", display_name="mean fit time (s)"),
        ])
    for i, (p, budget) in enumerate(zip(params, budgets)):
        values = {k: (_plain(v) if isinstance(_plain(v), (int, float)) else str(_plain(v)))
                  for k, v in p.items()}
        values["epochs"] = int(budget)
        with tf.summary.create_file_writer(os.path.join(logdir, f"run-{i:04d}")).as_default():
            hp.hparams(values, trial_id=f"run-{i:04d}")
            score = float(cv_results["mean_test_score"][i])
            if math.isfinite(score):  # a failed candidate has hyperparameters, no score
                tf.summary.scalar(metric, score, step=int(budget))
            tf.summary.scalar("fit_time_s", float(cv_results["mean_fit_time"][i]),
                              step=int(budget))
    return len(params)
