"""A wrapper's fit as a fit-cache entry (named arrays plus JSON), and the key that finds it.

The fit cache (:mod:`skkeras_search._core.fit_cache`) stores arrays and JSON
and knows nothing of what they are. A wrapper's entry holds the model's
variables ``v{i}`` (weights and the dropout seed generators' states) and the
optimizer's ``o{i}``; its JSON holds their counts, the epochs trained in all
(``n_iter``) and Keras's history. The key adds to the estimator's cache-key
parameters (:func:`~skkeras_search._core.fit_cache.key_params`) what
identifies the build function's computation
(:func:`~skkeras_search._core.fit_cache.function_identity`) and
the network it built.
"""

from dataclasses import dataclass, field

from skkeras_search._core.fit_cache import FitCache, data_fingerprint, function_identity, key_params

__all__ = ["KerasFit", "fit_cache", "to_entry", "from_entry"]


@dataclass
class KerasFit:
    """A wrapper's training state after a fit (or to continue from).

    Attributes
    ----------
    variables, optimizer_variables : list of ndarray
        The model's and its optimizer's variables.
    n_iter : int
        Epochs trained in all.
    history : dict of list of float
        Keras's ``History.history`` of all of them.
    epochs_trained : int
        Epochs the last call trained (0 when the cache supplied the fit).
    """

    variables: list
    optimizer_variables: list
    n_iter: int = 0
    history: dict = field(default_factory=dict)
    epochs_trained: int = 0


def fit_cache(est, data, seed, arch):
    """The :class:`~skkeras_search._core.fit_cache.FitCache` of a wrapper's fit.

    Parameters
    ----------
    est : KerasClassifier or KerasRegressor
        The estimator (its parameters and build function key the entries).
    data : list of ndarray
        What it trains on (inputs, encoded targets, weights, classes).
    seed : int
        The fit's resolved seed.
    arch : tuple
        What the build function built (``_core.architecture.architecture``): globals it
        reads are in the key too.
    """
    params = key_params(est.get_params())
    params["model"] = function_identity(est.model)
    params["architecture"] = arch
    return FitCache(est.cache_dir, params, data_fingerprint(*data), seed)


def to_entry(fit):
    """``(arrays, meta)`` to store for a finished :class:`KerasFit`."""
    arrays = {f"v{i}": v for i, v in enumerate(fit.variables)}
    arrays.update({f"o{i}": v for i, v in enumerate(fit.optimizer_variables)})
    meta = {"n_variables": len(fit.variables), "n_optimizer_variables":
            len(fit.optimizer_variables), "n_iter": fit.n_iter, "history": fit.history}
    return arrays, meta


def from_entry(entry):
    """The :class:`KerasFit` of a stored entry (``epochs_trained`` 0)."""
    m, arrays = entry.meta, entry.arrays
    return KerasFit([arrays[f"v{i}"] for i in range(m["n_variables"])],
                    [arrays[f"o{i}"] for i in range(m["n_optimizer_variables"])],
                    m["n_iter"], m["history"])
