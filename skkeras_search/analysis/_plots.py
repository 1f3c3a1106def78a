"""PNG plots of an analysis (matplotlib, Agg backend, no display needed).

Each ``plot_*`` writes one file and closes its figure; the ``_figure_*``
function beside it builds the figure, so a test can read its axes first.
"""

import os
import textwrap

import numpy as np

from skkeras_search.analysis._importance import importance_table

__all__ = ["plot_importances", "plot_marginals", "plot_pairwise", "plot_budget_correlation",
           "write_analysis_plots"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path):
    plt = _pyplot()
    try:
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path


def _figure_importances(importance):
    """Horizontal bars per evaluator (PED-ANOVA, then fANOVA when present), same order."""
    plt = _pyplot()
    parts = [importance] + ([importance["fanova"]] if "values" in importance.get("fanova", {})
                            else [])
    names = list(importance["values"])[::-1]  # most important on top
    fig, axes = plt.subplots(1, len(parts), figsize=(5.0 * len(parts), 1.6 + 0.45 * len(names)),
                             dpi=110, squeeze=False)
    for ax, part in zip(axes[0], parts):
        shares = [part["values"].get(n, 0.0) for n in names]
        ax.barh(names, shares, color="tab:blue")
        for k, share in enumerate(shares):
            ax.text(min(share, 0.85) + 0.01, k, f"{share:.3f}", va="center", fontsize="small")
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of importance")
        ax.set_title("\n".join(textwrap.wrap(part["method"], 48)), fontsize="small")
        ax.grid(axis="x", alpha=0.3)
    return fig


def plot_importances(importance, path):
    """Bar chart of ``analyse(...)["importance"]`` (or one ``param_importances`` result).

    Parameters
    ----------
    importance : dict
        ``{"method", "values", ["fanova"]}``; with ``"fanova"`` both
        evaluators are drawn side by side.
    path : str
        PNG file to write.

    Returns
    -------
    path : str
    """
    return _save(_figure_importances(importance), path)


def _axis(ax, column, which):
    """Put ``column`` on the x or y axis: log where its scale is, categories as positions."""
    if column.kind == "categorical":
        positions = {c: k for k, c in enumerate(column.choices)}
        ticks = getattr(ax, f"set_{which}ticks")
        ticks(range(len(column.choices)), [textwrap.shorten(c, 18) for c in column.choices],
              rotation=30 if which == "x" else 0, fontsize="small")
        return np.asarray([positions[v] for v in column.values], dtype=float)
    if column.log:
        getattr(ax, f"set_{which}scale")("log")
    return np.asarray(column.values, dtype=float)


def _figure_marginals(results, param_distributions=None, metric=None):
    """One panel per searched parameter: full-budget score against its value."""
    plt = _pyplot()
    _, scores, columns = importance_table(results, param_distributions, metric)
    if not columns:
        raise ValueError("no searched parameter varies over the full-budget rows. "
                         "Search a space that varies.")
    n = len(columns)
    ncols = min(n, 3)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.4 * nrows), dpi=110,
                             squeeze=False, sharey=True)
    for ax, column in zip(axes.flat, columns):
        ax.scatter(_axis(ax, column, "x"), scores, s=18, edgecolors="black", linewidths=0.4)
        ax.set_xlabel(column.name + (" (log)" if column.log else ""))
        ax.grid(alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel("mean CV score (full budget)")
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    fig.suptitle(f"Score against each parameter ({len(scores)} full-budget rows)")
    return fig


def plot_marginals(results, path, param_distributions=None, metric=None):
    """Full-budget CV score against each searched parameter, one panel each.

    Log x-axis where the space (or, without one, the values) is log-scaled;
    categorical parameters at evenly spaced positions.

    Parameters
    ----------
    results : fitted BaseSearchCV or dict
    path : str
        PNG file to write.
    param_distributions : dict or list of dict, optional
    metric : str, optional

    Returns
    -------
    path : str

    Raises
    ------
    ValueError
        No searched parameter varies over the full-budget rows.
    """
    return _save(_figure_marginals(results, param_distributions, metric), path)


def _figure_pairwise(results, params, param_distributions=None, metric=None):
    plt = _pyplot()
    _, scores, columns = importance_table(results, param_distributions, metric)
    by_name = {c.name: c for c in columns}
    missing = [p for p in params if p not in by_name]
    if len(params) != 2 or missing:
        raise ValueError(f"params={list(params)!r} must name two searched parameters that vary; "
                         f"{missing or 'not two'} is not. Use two of {sorted(by_name)}.")
    fig, ax = plt.subplots(figsize=(6.0, 4.6), dpi=110)
    x = _axis(ax, by_name[params[0]], "x")
    y = _axis(ax, by_name[params[1]], "y")
    points = ax.scatter(x, y, c=scores, cmap="viridis", s=30, edgecolors="black", linewidths=0.4)
    fig.colorbar(points, ax=ax, label="mean CV score (full budget)")
    ax.set_xlabel(params[0])
    ax.set_ylabel(params[1])
    ax.set_title(f"{params[0]} and {params[1]}, coloured by score")
    ax.grid(alpha=0.3)
    return fig


def plot_pairwise(results, path, params, param_distributions=None, metric=None):
    """Scatter of two searched parameters over the full-budget rows, coloured by score.

    Parameters
    ----------
    results : fitted BaseSearchCV or dict
    path : str
        PNG file to write.
    params : sequence of 2 str
        x and y parameters; log axes where their scale is log.
    param_distributions : dict or list of dict, optional
    metric : str, optional

    Returns
    -------
    path : str

    Raises
    ------
    ValueError
        ``params`` does not name two varying searched parameters.
    """
    return _save(_figure_pairwise(results, list(params), param_distributions, metric), path)


def _figure_budget_correlation(correlation):
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    series = [("overall", correlation["overall"])] + [
        (f"bracket {b}", pairs) for b, pairs in correlation.get("per_bracket", {}).items()]
    labels = sorted({(p["from"], p["to"]) for _, pairs in series for p in pairs})
    where = {pair: k for k, pair in enumerate(labels)}
    for k, (name, pairs) in enumerate(series):
        shown = [p for p in pairs if p["rho"] is not None]
        x = [where[(p["from"], p["to"])] + (0 if k == 0 else 0.08 * k) for p in shown]
        style = dict(color="black", marker="o", linestyle="-") if k == 0 else \
            dict(marker="^", linestyle="none")
        ax.plot(x, [p["rho"] for p in shown], label=name, **style)
    ax.axhline(0, color="gray", linewidth=0.8)
    ax.set_xticks(range(len(labels)), [f"{a} -> {b}" for a, b in labels])
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlabel("budget step (n_resources)")
    ax.set_ylabel("Spearman's rho")
    ax.set_title("Do low budgets rank candidates as higher ones do?")
    ax.legend(loc="lower left", fontsize="small")
    ax.grid(alpha=0.3)
    return fig


def plot_budget_correlation(correlation, path):
    """Spearman's rho per pair of consecutive budgets, overall and per bracket.

    Parameters
    ----------
    correlation : dict
        A :func:`budget_rank_correlation` result (not None); pairs whose rho
        is None (too few candidates) are not drawn.
    path : str
        PNG file to write.

    Returns
    -------
    path : str
    """
    return _save(_figure_budget_correlation(correlation), path)


def write_analysis_plots(out_dir, results, analysis, param_distributions=None, metric=None):
    """Every plot the analysis has data for, into ``out_dir``; returns the file names.

    ``importance.png`` and ``pairwise.png`` (the two most important
    parameters) need the importances, ``marginals.png`` a varying parameter,
    ``budget_correlation.png`` a multi-fidelity search; a plot without its
    data is skipped, not failed.

    Parameters
    ----------
    out_dir : str
        Existing folder.
    results : fitted BaseSearchCV or dict
    analysis : dict
        :func:`analyse`'s result for ``results``.
    param_distributions : dict or list of dict, optional
    metric : str, optional

    Returns
    -------
    names : list of str
        File names written, in the order above.
    """
    written = []
    importance = analysis.get("importance") or {}
    if "values" in importance:
        written.append(os.path.basename(plot_importances(
            importance, os.path.join(out_dir, "importance.png"))))
    try:
        plot_marginals(results, os.path.join(out_dir, "marginals.png"), param_distributions,
                       metric)
        written.append("marginals.png")
    except ValueError:
        pass
    top = list(importance.get("values", {}))[:2]
    if len(top) == 2:
        plot_pairwise(results, os.path.join(out_dir, "pairwise.png"), top, param_distributions,
                      metric)
        written.append("pairwise.png")
    if analysis.get("budget_correlation"):
        plot_budget_correlation(analysis["budget_correlation"],
                                os.path.join(out_dir, "budget_correlation.png"))
        written.append("budget_correlation.png")
    return written
