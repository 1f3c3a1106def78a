"""PNG plots of a search (matplotlib, Agg backend, no display needed)."""

import numpy as np

__all__ = ["plot_search", "plot_loss_curve"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plot_search(cv_results, lr_path, units_path, scoring="accuracy"):
    """CV score against learning rate (log x, coloured by width) and against width."""
    plt = _pyplot()
    lr = np.asarray(cv_results["param_learning_rate"], dtype=float)
    units = np.asarray(cv_results["param_hidden_units"], dtype=float)
    score = np.asarray(cv_results["mean_test_score"], dtype=float)
    std = np.asarray(cv_results["std_test_score"], dtype=float)
    ok = np.isfinite(score)

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    points = ax.scatter(lr[ok], score[ok], c=units[ok], cmap="viridis", vmin=16, vmax=496,
                        edgecolors="black", linewidths=0.4)
    if (~ok).any():
        ax.scatter(lr[~ok], np.full((~ok).sum(), np.nanmin(score) if ok.any() else 0),
                   marker="x", color="red", label="failed")
        ax.legend(loc="lower left")
    ax.set_xscale("log")
    ax.set_xlabel("learning_rate")
    ax.set_ylabel(f"mean CV {scoring}")
    ax.set_title("Random search: CV score against learning rate")
    fig.colorbar(points, ax=ax, label="hidden_units")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(lr_path)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    ax.errorbar(units[ok], score[ok], yerr=std[ok], fmt="o", capsize=3)
    ax.set_xlabel("hidden_units")
    ax.set_ylabel(f"mean CV {scoring}")
    ax.set_title("Random search: CV score against hidden units")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(units_path)
    plt.close(fig)


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
