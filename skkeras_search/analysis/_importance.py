"""Which searched parameters mattered: Optuna's PED-ANOVA and fANOVA on a search's rows.

Neither method is written here. The full-budget rows with finite scores
become the trials of an in-memory Optuna study (``optuna.trial.create_trial``,
direction "maximize", since scikit-learn scores are higher-is-better), each
parameter with the distribution :mod:`skkeras_search.analysis._columns`
gives it, and ``optuna.importance.get_param_importances`` computes the shares:

* PED-ANOVA: Watanabe, Bansal and Hutter (2023), "PED-ANOVA: Efficiently
  Quantifying Hyperparameter Importance in Arbitrary Subspaces", IJCAI.
  How differently each parameter is distributed in the top rows than in all
  of them (Pearson divergence of Parzen estimators). Optuna's default top
  10 % is widened to hold at least 10 rows (Optuna advises at least 5; small
  searches measured steadier with 10), at most half of them.
* fANOVA: Hutter, Hoos and Leyton-Brown (2014), "An Efficient Approach for
  Assessing Hyperparameter Importance", ICML. The share of the score's
  variance each parameter's marginal explains, over a random forest fitted
  to the rows (Optuna's 64 trees, seeded).
"""

import contextlib
import math
import warnings

import numpy as np

from skkeras_search.analysis import _columns, _rows

__all__ = ["param_importances", "build_study", "importance_table", "EVALUATORS", "MIN_ROWS"]

EVALUATORS = ("ped-anova", "fanova")
MIN_ROWS = 4  # fewer rows cannot put more than one of them apart from the rest
# PED-ANOVA's top group holds at least MIN_TOP rows (at most half of them, at least Optuna's
# 10%): in 20 seeded 40-candidate searches of the tests' quadratic, the top 5 gave the
# irrelevant parameter up to 0.38 of the importance, the top 10 up to 0.23.
MIN_TOP = 10


def importance_table(results, param_distributions=None, metric=None):
    """The rows and parameter columns importances and marginal plots read.

    Returns
    -------
    rows : ndarray of int, shape (n_rows,)
        Full-budget rows with finite scores.
    scores : ndarray of shape (n_rows,)
    columns : list of Column
        Searched parameters (budget excluded) that vary over ``rows``.
    """
    cv = _rows.cv_results_of(results)
    metric = _rows.resolve_metric(results, metric)
    rows = _rows.usable_rows(cv, metric)
    space = _rows.space_of(results, param_distributions)
    cols = _columns.columns(cv, rows, space, exclude=_rows.budget_params(cv))
    return rows, _rows.mean_scores(cv, metric)[rows], [c for c in cols if c.varies]


def _distribution(column):
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if column.kind == "categorical":
        return CategoricalDistribution(tuple(column.choices))
    if column.kind == "int":
        step = column.step or 1
        return IntDistribution(column.low, column.high, log=column.log and step == 1, step=step)
    return FloatDistribution(column.low, column.high, log=column.log)


def build_study(scores, columns):
    """An in-memory, maximising Optuna study with one completed trial per row.

    Parameters
    ----------
    scores : array-like of shape (n_rows,)
        Finite mean CV scores.
    columns : list of Column
        Parameter values of the same rows.
    """
    import optuna

    distributions = {c.name: _distribution(c) for c in columns}
    trials = [optuna.trial.create_trial(
        params={c.name: c.values[i] for c in columns}, distributions=distributions,
        value=float(score)) for i, score in enumerate(scores)]
    with _quiet():
        study = optuna.create_study(direction="maximize", storage=None,
                                    study_name="skkeras-search-analysis")
    study.add_trials(trials)
    return study


@contextlib.contextmanager
def _quiet():
    """Optuna's log lines and warnings silenced for the call, not beyond it.

    The warnings are Optuna's notes on small studies (ExperimentalWarning in
    older versions, "importances will be equal"); :func:`param_importances`
    checks the row count itself and states the top share in its method.
    """
    import optuna

    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        optuna.logging.set_verbosity(previous)


def _evaluator(evaluator, n_rows, random_state):
    """(Optuna evaluator, method string) for ``evaluator``."""
    from optuna.importance import FanovaImportanceEvaluator, PedAnovaImportanceEvaluator

    if evaluator == "ped-anova":
        quantile = min(0.5, max(0.1, MIN_TOP / n_rows))
        n_top = math.ceil(quantile * n_rows)
        method = (f"PED-ANOVA (Watanabe et al. 2023, IJCAI), Optuna's "
                  f"PedAnovaImportanceEvaluator: what sets the top {100 * quantile:.3g}% "
                  f"({n_top} of {n_rows} rows) apart from all")
        return PedAnovaImportanceEvaluator(target_quantile=quantile), method
    seed = None if random_state is None else int(random_state)
    method = (f"fANOVA (Hutter et al. 2014, ICML), Optuna's FanovaImportanceEvaluator: "
              f"variance explained, random forest of 64 trees (seed {seed}) on {n_rows} rows")
    return FanovaImportanceEvaluator(seed=seed), method


def _check(evaluator, scores, columns):
    if evaluator not in EVALUATORS:
        raise ValueError(f"evaluator={evaluator!r} is not known. Use one of {list(EVALUATORS)}.")
    if len(scores) < MIN_ROWS:
        raise ValueError(
            f"results have {len(scores)} full-budget rows with finite scores; importances need "
            f"at least {MIN_ROWS}. Search more candidates (or at the full budget).")
    if not columns:
        raise ValueError(f"no searched parameter takes two values over the {len(scores)} "
                         "full-budget rows, so none can matter. Search a space that varies.")
    if np.ptp(scores) == 0:
        raise ValueError(f"all {len(scores)} full-budget rows score {scores[0]!r}, so no "
                         "parameter explains anything. Check the scoring.")


def param_importances(results, param_distributions=None, *, evaluator="ped-anova", metric=None,
                      random_state=0):
    """Share of each searched parameter in the score, by PED-ANOVA or fANOVA.

    Parameters
    ----------
    results : fitted BaseSearchCV or dict
        A fitted scikit-learn search (grid, random, halving, Hyperband, ASHA,
        TPE) or its ``cv_results_``. Only full-budget rows (largest
        ``n_resources``) with a finite score count; the budget parameter is
        left out.
    param_distributions : dict or list of dict, optional
        The searched space (defaults to the search's ``param_distributions``
        or ``param_grid``); sets each parameter's range and log scale.
        Without it they are inferred from the values (see ``_columns``).
    evaluator : {'ped-anova', 'fanova'}, default='ped-anova'
        PED-ANOVA (Watanabe et al. 2023) or fANOVA (Hutter et al. 2014), both
        Optuna's ``optuna.importance`` evaluators.
    metric : str, optional
        Which score (``mean_test_<metric>``); None is ``"score"`` or the refit name.
    random_state : int or None, default=0
        Seed of fANOVA's random forest (PED-ANOVA is deterministic).

    Returns
    -------
    importance : dict
        ``{"method": str, "values": {param: share}, "n_rows": int}``; shares
        are >= 0, sum to 1, sorted descending. A conditional space adds the
        ``"(branch)"`` parameter (parameters some rows lack are left out).

    Raises
    ------
    ValueError
        Fewer than 4 usable rows, no parameter varying over them, all of
        them scoring the same, or an unknown ``evaluator`` or ``metric``.
    """
    _, scores, columns = importance_table(results, param_distributions, metric)
    _check(evaluator, scores, columns)
    if len(columns) == 1:
        _, method = _evaluator(evaluator, len(scores), random_state)
        method += "; one parameter varies, so it has the whole share"
        return {"method": method, "values": {columns[0].name: 1.0}, "n_rows": len(scores)}
    import optuna

    study = build_study(scores, columns)
    optuna_evaluator, method = _evaluator(evaluator, len(scores), random_state)
    with _quiet():
        raw = optuna.importance.get_param_importances(study, evaluator=optuna_evaluator)
    values = {name: max(float(raw.get(name, 0.0)), 0.0) for name in (c.name for c in columns)}
    total = sum(values.values())
    values = {k: (v / total if total > 0 else 1.0 / len(values)) for k, v in values.items()}
    ordered = dict(sorted(values.items(), key=lambda kv: (-kv[1], kv[0])))
    return {"method": method, "values": ordered, "n_rows": len(scores)}
