"""MLflow tracking of a fitted search: ``log_search``.

:func:`log_search` logs any fitted scikit-learn search (``cv_results_``:
scikit-learn's and ours, multi-fidelity ones per (candidate, budget) row) as
an MLflow parent run with ``best_cv_score``, ``best_<param>``,
``cv_results.csv`` and the best model, and one child run per result row,
the layout of ``mlflow.sklearn.autolog``. MLflow is optional: this module
imports without it, and :func:`log_search` then raises ImportError saying
``pip install "skkeras-search[mlflow]"``.

Private modules, one job each: ``_log`` (the runs, in order, and ending
them), ``_layout`` (what each run holds), ``_values`` (parameter text, the
CSV), ``_artifacts`` (the files), ``_client`` (MLflow: import, experiment,
batches).
"""

from skkeras_search.tracking._log import log_search

__all__ = ["log_search"]
