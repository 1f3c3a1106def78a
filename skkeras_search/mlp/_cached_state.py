"""The MLP's training state as a fit-cache entry (named arrays plus JSON), and back.

The fit cache (:mod:`skkeras_search._core.fit_cache`) stores arrays and JSON
and knows nothing of what they are. An MLP entry holds the weights ``p{i}``
and the optimizer's two slots ``a{i}`` and ``b{i}`` of each of the ``n``
tensors ``[W1, b1, ..., Wk, bk]``, the ``loss_curve`` and the
``validation_scores``; its JSON holds the optimizer step, the epoch counter,
the learning-rate cycle's origin and the stopping rule's state, so that a continued fit stops exactly where
training from scratch would.
"""

import numpy as np

from skkeras_search._core.fit_cache import key_params
from skkeras_search.mlp._graph import ARITHMETIC_REVISION
from skkeras_search.mlp._training import TrainState

__all__ = ["key", "to_entry", "from_entry"]


def key(params):
    """The parameters that key an MLP's entries: the cache's rule, plus the arithmetic.

    ``ARITHMETIC_REVISION`` is in the key so that an entry trained by an
    earlier revision of the training arithmetic (``alpha`` as Keras's
    ``L2(alpha)`` on every batch, before issue 21; a multi-output
    regressor's penalty not divided by its outputs, revision 2) never
    matches: the package's version, also in the key, did not change with it.

    Parameters
    ----------
    params : mapping
        The estimator's parameters (``get_params()``).

    Returns
    -------
    key : dict
        :func:`~skkeras_search._core.fit_cache.key_params` of ``params``, plus
        ``'arithmetic'``.
    """
    return {**key_params(params), "arithmetic": ARITHMETIC_REVISION}


def to_entry(state, history, with_validation):
    """``(arrays, meta)`` to store for a finished fit.

    Parameters
    ----------
    state : TrainState
        The state the fit ended with.
    history : _training.History
        Its loss curve (the whole fit's) and validation scores.
    with_validation : bool
        Whether it held out a validation split (``early_stopping``).

    Returns
    -------
    arrays : dict of str to ndarray
    meta : dict
    """
    arrays = {f"p{i}": p for i, p in enumerate(state.params)}
    arrays.update({f"a{i}": s for i, s in enumerate(state.slots_1)})
    arrays.update({f"b{i}": s for i, s in enumerate(state.slots_2)})
    arrays["loss_curve"] = np.asarray(history.loss_curve, dtype=np.float64)
    arrays["validation_scores"] = np.asarray(history.validation_scores or [], dtype=np.float64)
    meta = {
        "n_params": len(state.params), "epoch": state.epoch, "step": state.step,
        "best_loss": state.best_loss, "no_improvement": state.no_improvement,
        "converged": bool(state.converged), "with_validation": with_validation,
        "cycle_origin": state.cycle_origin,
        "best_validation_score": history.best_validation_score if with_validation else None,
    }
    return arrays, meta


def from_entry(entry):
    """``(state, previous)`` of a stored fit.

    Parameters
    ----------
    entry : fit_cache.CacheEntry
        An entry :func:`to_entry` made.

    Returns
    -------
    state : TrainState
        The state to continue (or to keep, when the entry is the fit asked for).
    previous : dict
        Its ``loss_curve``, ``validation_scores`` (lists) and
        ``best_validation_score``.
    """
    m, arrays = entry.meta, entry.arrays
    n = m["n_params"]
    state = TrainState(
        [arrays[f"p{i}"] for i in range(n)], [arrays[f"a{i}"] for i in range(n)],
        [arrays[f"b{i}"] for i in range(n)], m["step"], m["epoch"],
        m["best_loss"] if m["best_loss"] is not None else np.inf, m["no_improvement"],
        m["converged"], m.get("cycle_origin", 0.0),
    )
    previous = {"loss_curve": arrays["loss_curve"].tolist(),
                "validation_scores": arrays["validation_scores"].tolist(),
                "best_validation_score": m["best_validation_score"]}
    return state, previous
