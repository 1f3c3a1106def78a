"""What a finished search learned, read from its ``cv_results_``.

Works on any fitted scikit-learn search (``GridSearchCV``,
``RandomizedSearchCV``, ``HalvingRandomSearchCV``, and this package's
``HyperbandSearchCV``, ``ASHASearchCV``, ``TPESearchCV``) or its
``cv_results_`` dict; it imports no search class.

* :func:`param_importances`: each searched parameter's share of the score,
  by Optuna's PED-ANOVA (Watanabe et al. 2023) or fANOVA (Hutter et al.
  2014), on the full-budget rows.
* :func:`tied_with_best`: the candidates the folds cannot tell from the
  best, by the corrected resampled t-test (Nadeau and Bengio 2003).
* :func:`budget_rank_correlation`: whether low budgets rank candidates as
  higher ones do (Spearman's rho per budget step), for multi-fidelity searches.
* :func:`analyse`: all three as one JSON-ready dict that never fails on a
  small search; :func:`write_analysis_plots` and the ``plot_*`` functions
  draw them (matplotlib).
"""

from skkeras_search.analysis._budget import budget_rank_correlation
from skkeras_search.analysis._importance import param_importances
from skkeras_search.analysis._plots import (
    plot_budget_correlation,
    plot_importances,
    plot_marginals,
    plot_pairwise,
    write_analysis_plots,
)
from skkeras_search.analysis._report import analyse
from skkeras_search.analysis._ties import tied_with_best

__all__ = ["param_importances", "tied_with_best", "budget_rank_correlation", "analyse",
           "plot_importances", "plot_marginals", "plot_pairwise", "plot_budget_correlation",
           "write_analysis_plots"]
