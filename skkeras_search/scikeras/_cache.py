"""The fit cache for the drop-in: resume a search, continue a shorter fit (``cache_dir``).

scikeras has no such thing; here ``cache_dir`` (beyond scikeras's
parameters) stores each finished ``fit`` as its model's and optimizer's
variables, the epochs trained and ``history_``, under a key made of the
wrapper's parameters (Keras objects by class and config, the build function
by its code), the network built, the encoded data and the seed. A later
``fit`` with the same key loads the entry instead of training, or, for a
longer budget, loads the longest shorter entry and trains the remaining
epochs (``Model.fit(initial_epoch=k)``). That is what
:class:`~skkeras_search.search.HyperbandSearchCV` needs to continue a
promoted candidate, and what resumes an interrupted search.

Continuing gives the bits of training from scratch because every random
stream of a seeded fit restarts identically in each ``Model.fit`` call (the
shuffle's op seeds depend on the global seed and the graph only) or is a
variable that is stored (the dropout seed generators, the optimizer's
state). The rule of when the cache is used is the package's
(:func:`~skkeras_search._core.fit_cache.cache_blocker`: a ``cache_dir``, an
int ``random_state``, a fresh start), plus: no callbacks (they change
training in ways no key can see, and a cached fit would skip their side
effects), no ``fit`` keyword arguments, and a model built by the build
function (not a ``keras.Model`` given as ``model=``).
"""

import inspect
import warnings

import numpy as np
from scipy.sparse import issparse

from skkeras_search._core.fit_cache import (
    FitCache,
    cache_blocker,
    data_fingerprint,
    function_identity,
    key_params,
    unseeded_message,
)

__all__ = ["cache_for", "load", "store"]

#: Parameters that only change prediction, output or scoring: not in the key.
_NOT_TRAINING = ("predict__", "score__")


def _key_value(value):
    """A JSON-stable stand-in for a parameter value: Keras objects by class and config."""
    if isinstance(value, (list, tuple)):
        return [_key_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _key_value(v) for k, v in value.items()}
    if inspect.isclass(value):
        return f"{value.__module__}.{value.__qualname__}"
    if inspect.isfunction(value) or inspect.ismethod(value):
        return function_identity(value)
    get_config = getattr(value, "get_config", None)
    if callable(get_config):
        try:
            return {"class": _key_value(type(value)), "config": _key_value(get_config())}
        except Exception:  # noqa: BLE001 - a config that cannot be read: no stable key
            return repr(value)
    return value


def _arrays(value):
    """The arrays of an encoded input or target (a list or dict for several)."""
    if value is None:
        return []
    if isinstance(value, dict):
        return [np.asarray(value[k]) for k in sorted(value)]
    if isinstance(value, (list, tuple)):
        return [np.asarray(v) for v in value]
    return [np.asarray(value)]


def cache_for(est, X, y, sample_weight, kwargs, fresh):
    """The :class:`FitCache` of this fit, or None when it must not use one (warning why)."""
    params = est.get_params()
    blocker = cache_blocker(params, continuing=not fresh)
    if blocker == "cache_dir":
        return None
    reason = None
    if blocker == "random_state":
        reason = unseeded_message(est.cache_dir)
    elif blocker is None and (est.callbacks or params.get("fit__callbacks")):
        reason = (f"cache_dir={est.cache_dir!r} is not used because callbacks are set: they can "
                  "change training in ways the cache key cannot see. Leave callbacks out to "
                  "cache fits.")
    elif blocker is None and kwargs:
        reason = (f"cache_dir={est.cache_dir!r} is not used because fit() got keyword arguments "
                  f"{sorted(kwargs)}; give them as fit__ parameters to cache fits.")
    if reason is not None:
        warnings.warn(reason, UserWarning, stacklevel=5)
        return None
    if blocker is not None or est._prebuilt() or est._architecture_key() is None \
            or any(issparse(a) for a in (X, y)):
        return None
    key = {k: _key_value(v) for k, v in key_params(params).items()
           if not k.startswith(_NOT_TRAINING)}
    key["model"] = function_identity(est._build_function_for_key())
    key["architecture"] = est._architecture_key()
    data = _arrays(X) + _arrays(y) + _arrays(sample_weight)
    return FitCache(est.cache_dir, key, data_fingerprint(*data), est._seed())


def load(model, entry):
    """Assign a stored entry's variables into ``model``; return (epochs, history)."""
    meta, arrays = entry.meta, entry.arrays
    for i, target in enumerate(model.variables):
        target.assign(arrays[f"v{i}"])
    for i, target in enumerate(model.optimizer.variables):
        target.assign(arrays[f"o{i}"])
    return int(meta["n_iter"]), {k: list(v) for k, v in meta["history"].items()}


def store(cache, epochs, model, n_iter, history):
    """Store a finished fit of budget ``epochs``."""
    arrays = {f"v{i}": np.asarray(v) for i, v in enumerate(model.variables)}
    arrays.update({f"o{i}": np.asarray(v) for i, v in enumerate(model.optimizer.variables)})
    cache.store(epochs, arrays, {"n_iter": int(n_iter), "history": history})
