"""PNG plots of a search (matplotlib, Agg backend, no display needed).

Every plot names the strategy in its title (and says "asynchronous" for
``--asynchronous``). Multi-fidelity searches (halving, Hyperband, BOHB, ASHA)
score candidates at several epoch budgets: those points get one marker per
budget, hollow below the full budget, so scores from different budgets are
never read as one population. An asynchronous search's rows are in the order
they finished, which is the order the search history follows.
"""

import os

import numpy as np

__all__ = ["write_plots", "plot_search", "plot_history", "plot_loss_curve",
           "plot_predicted_vs_true", "training_epochs", "title"]

_TITLES = {"random": "Random search", "grid": "Grid search", "halving": "Successive halving",
           "hyperband": "Hyperband", "tpe": "TPE search", "bohb": "BOHB",
           "asha": "ASHA"}
_MARKERS = "o^sDvP*X"


def title(strategy, asynchronous=False):
    """The name of ``strategy`` in plot titles ("Asynchronous TPE search" for tpe
    ``--asynchronous``; asha is asynchronous by name)."""
    name = _TITLES.get(strategy, strategy)
    return f"Asynchronous {name}" if asynchronous and strategy != "asha" else name


def write_plots(out, cv_results, scoring, strategy, epochs, n_splits, loss_curve, held_out=None,
                asynchronous=False):
    """Every plot of a finished search into ``out``; returns the files by name.

    The two score plots need the paper's parameters (``learning_rate`` and
    ``hidden_units``) in ``cv_results``; ``held_out`` is ``(y_true, y_pred,
    score)`` of a regression's test rows, drawn as predicted against true;
    ``asynchronous`` names the search so in the titles.
    """
    plots = {}
    if {"param_learning_rate", "param_hidden_units"} <= set(cv_results):
        plots.update(score_vs_learning_rate="score_vs_learning_rate.png",
                     score_vs_hidden_units="score_vs_hidden_units.png")
        plot_search(cv_results, os.path.join(out, plots["score_vs_learning_rate"]),
                    os.path.join(out, plots["score_vs_hidden_units"]), scoring, strategy, epochs,
                    asynchronous=asynchronous)
    plots["search_history"] = "search_history.png"
    plot_history(cv_results, os.path.join(out, plots["search_history"]), scoring, strategy,
                 epochs, n_splits, asynchronous=asynchronous)
    plots["best_loss_curve"] = "best_loss_curve.png"
    plot_loss_curve(loss_curve, os.path.join(out, plots["best_loss_curve"]))
    if held_out is not None:
        plots["predicted_vs_true"] = "predicted_vs_true.png"
        y_true, y_pred, score = held_out
        plot_predicted_vs_true(y_true, y_pred, os.path.join(out, plots["predicted_vs_true"]),
                               scoring, score)
    return plots


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _budgets(cv_results, epochs):
    """Each row's epoch budget (``epochs`` for single-fidelity searches)."""
    n = len(cv_results["mean_test_score"])
    if "n_resources" in cv_results:
        return np.asarray(cv_results["n_resources"], dtype=int)
    return np.full(n, epochs, dtype=int)


def training_epochs(cv_results, epochs, n_splits):
    """Epochs trained for each row, all folds together (continuation counts the extra only)."""
    if "n_epochs_trained" in cv_results:
        # measured per fold (NaN: the row's fits all failed, nothing measured)
        return np.nan_to_num(np.asarray(cv_results["n_epochs_trained"], dtype=float)) * n_splits
    return _budgets(cv_results, epochs) * n_splits


def plot_search(cv_results, lr_path, units_path, scoring="accuracy", strategy="random",
                epochs=None, asynchronous=False):
    """CV score against learning rate (log x, coloured by width) and against width.

    Parameters
    ----------
    cv_results : dict
        ``cv_results_`` with ``param_learning_rate`` and ``param_hidden_units``.
    lr_path, units_path : str
        PNG files to write.
    scoring : str
    strategy : str
        Names the plot (one of the command's ``--strategy`` values).
    epochs : int, optional
        The full budget; rows with ``n_resources`` below it are drawn hollow.
    asynchronous : bool, default=False
        Say "Asynchronous" in the titles (tpe, bohb ``--asynchronous``).
    """
    plt = _pyplot()
    lr = np.asarray(cv_results["param_learning_rate"], dtype=float)
    units = np.asarray(cv_results["param_hidden_units"], dtype=float)
    score = np.asarray(cv_results["mean_test_score"], dtype=float)
    std = np.asarray(cv_results["std_test_score"], dtype=float)
    budgets = _budgets(cv_results, epochs)
    full = budgets.max() if len(budgets) else epochs
    ok = np.isfinite(score)
    name = title(strategy, asynchronous)
    several = len(np.unique(budgets)) > 1

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    points = None
    for k, budget in enumerate(np.unique(budgets)[::-1]):
        rows = ok & (budgets == budget)
        label = f"{budget} epochs" if several else None
        if budget == full:
            points = ax.scatter(lr[rows], score[rows], c=units[rows], cmap="viridis", vmin=16,
                                vmax=496, marker=_MARKERS[k % len(_MARKERS)], edgecolors="black",
                                linewidths=0.4, label=label)
        else:
            ax.scatter(lr[rows], score[rows], marker=_MARKERS[k % len(_MARKERS)],
                       facecolors="none", edgecolors="gray", linewidths=0.8, label=label)
    if (~ok).any():
        ax.scatter(lr[~ok], np.full((~ok).sum(), np.nanmin(score) if ok.any() else 0),
                   marker="x", color="red", label="failed")
    if several or (~ok).any():
        ax.legend(loc="lower left", fontsize="small")
    ax.set_xscale("log")
    ax.set_xlabel("learning_rate")
    ax.set_ylabel(f"mean CV {scoring}")
    ax.set_title(f"{name}: CV score against learning rate")
    if points is not None:
        fig.colorbar(points, ax=ax, label=f"hidden_units ({full} epochs)" if several
                     else "hidden_units")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(lr_path)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    for k, budget in enumerate(np.unique(budgets)[::-1]):
        rows = ok & (budgets == budget)
        ax.errorbar(units[rows], score[rows], yerr=std[rows], capsize=3, linestyle="none",
                    marker=_MARKERS[k % len(_MARKERS)],
                    mfc=None if budget == full else "none",
                    label=f"{budget} epochs" if several else None)
    if several:
        ax.legend(loc="lower right", fontsize="small")
    ax.set_xlabel("hidden_units")
    ax.set_ylabel(f"mean CV {scoring}")
    ax.set_title(f"{name}: CV score against hidden units")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(units_path)
    plt.close(fig)


def plot_history(cv_results, path, scoring="accuracy", strategy="random", epochs=None,
                 n_splits=1, asynchronous=False):
    """Best full-budget CV score so far against cumulative training epochs.

    Rows are taken in evaluation order (the order of ``cv_results_``, which
    for an asynchronous search is the order rows finished); each
    adds the epochs it trained over all folds, and only full-budget rows can
    raise the best score. Returns the curve as (epochs, best) arrays.
    """
    plt = _pyplot()
    spent = np.cumsum(training_epochs(cv_results, epochs, n_splits))
    budgets = _budgets(cv_results, epochs)
    score = np.asarray(cv_results["mean_test_score"], dtype=float)
    counted = np.where((budgets == budgets.max()) & np.isfinite(score), score, -np.inf)
    best = np.maximum.accumulate(counted) if len(counted) else counted
    shown = np.isfinite(best)
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    ax.step(spent[shown], best[shown], where="post", marker="o", markersize=3)
    ax.set_xlabel("cumulative training epochs (all folds)")
    ax.set_ylabel(f"best mean CV {scoring} so far")
    ax.set_title(f"{title(strategy, asynchronous)}: search history")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return spent, best


def plot_loss_curve(loss_curve, path, title="Refit best model: training loss"):
    """The refit best model's loss per epoch."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    ax.plot(np.arange(1, len(loss_curve) + 1), loss_curve, marker="o", markersize=3)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_predicted_vs_true(y_true, y_pred, path, scoring="r2", score=None):
    """Held-out predictions against true targets (regression), with the identity line.

    A multi-output target draws its first output.
    """
    plt = _pyplot()
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    if y_true.ndim > 1:
        y_true, y_pred = y_true[:, 0], y_pred[:, 0]
    fig, ax = plt.subplots(figsize=(5.2, 5.0), dpi=110)
    ax.scatter(y_true, y_pred, s=12, alpha=0.6, edgecolors="none")
    low, high = float(min(y_true.min(), y_pred.min())), float(max(y_true.max(), y_pred.max()))
    ax.plot([low, high], [low, high], color="black", linewidth=0.8, label="predicted = true")
    ax.set_xlabel("true target (held out)")
    ax.set_ylabel("predicted target")
    title = "Refit best model: predicted against true"
    ax.set_title(title + (f" ({scoring} {score:.3f})" if score is not None else ""))
    ax.legend(loc="upper left", fontsize="small")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
