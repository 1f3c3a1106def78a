"""When training has diverged, and what the error says: one rule for the MLP and the wrappers.

A diverged network predicts garbage, so both raise
:class:`~skkeras_search.exceptions.TrainingDivergedError` (a search's
``error_score`` then records the candidate as failed) with the message
:func:`divergence_message` writes.
"""

import numpy as np

__all__ = ["EXPLODED_LOSS", "UNSCALED_TARGET_SIZE", "divergence_message", "has_diverged"]


# A cross-entropy this large means logits a million apart: the weights have
# blown up, whether or not the float range has overflowed yet.
EXPLODED_LOSS = 1e6


# Regression targets larger than this (root mean square, so a large mean counts as
# much as a large spread) are the likely cause of a divergence: squared errors of
# order 1e4 blow the first steps up at any learning rate that would train on
# targets of order one.
UNSCALED_TARGET_SIZE = 100.0


def divergence_message(epoch, loss, learning_rate, targets=None):
    """What a diverged fit says: the epoch, the loss, and the likely fix.

    For regression (``targets`` given) whose targets' root mean square
    exceeds ``UNSCALED_TARGET_SIZE`` (a large mean or a large spread), the
    fix is scaling the targets (a smaller learning rate would not do);
    otherwise it is a smaller ``learning_rate``.
    """
    head = f"Training diverged in epoch {epoch}: the loss became {loss:.4g} with " \
           f"learning_rate={learning_rate!r}."
    if targets is not None and np.size(targets):
        t = np.asarray(targets, dtype=np.float64)
        t = t.reshape(len(t), -1)
        size = np.sqrt(np.mean(t**2, axis=0))
        worst = int(np.argmax(size))
        if size[worst] > UNSCALED_TARGET_SIZE:
            mean, std = float(np.mean(t[:, worst])), float(np.std(t[:, worst]))
            return (f"{head} The targets have mean {mean:.3g} and standard deviation {std:.3g}; "
                    "networks train on targets of order one. Scale them, e.g. "
                    "TransformedTargetRegressor(regressor, transformer=StandardScaler()) from "
                    "sklearn.compose.")
    return f"{head} Use a smaller learning_rate (e.g. {learning_rate / 10:.3g})."


def has_diverged(loss):
    """Whether a training loss says the network diverged: NaN, infinite or above ``EXPLODED_LOSS``."""
    return not np.isfinite(loss) or loss > EXPLODED_LOSS
