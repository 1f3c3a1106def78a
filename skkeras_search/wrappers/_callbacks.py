"""The user's Keras callbacks (``callbacks=``), checked and made fresh for each fit.

A fit must be a pure function of its seed, and an estimator's parameters
are never mutated by ``fit`` (scikit-learn's rule). A Keras callback keeps
state from the ``Model.fit`` it ran in (``EarlyStopping``'s ``wait``, ``best``
and ``best_weights``, the model it was given), so every fit gets deep copies
of the instances in ``callbacks`` -- what ``sklearn.base.clone`` would make --
and a new instance of each class. The user's objects are never handed to
Keras. A fit with callbacks is never served from nor stored in the fit cache
(see ``_base._KerasWrapper._cache``): callbacks can change what training
computes (stop it, change the learning rate, restore weights) in ways their
parameters do not show to the cache key, and they have effects (files
written, logs) that a fit loaded from the cache would skip.
"""

import copy

from skkeras_search._core import backend as _backend

__all__ = ["fresh_callbacks"]


def fresh_callbacks(callbacks):
    """New callback objects for one fit: deep copies of instances, instances of classes.

    Parameters
    ----------
    callbacks : list of keras.callbacks.Callback or of its subclasses, or None

    Returns
    -------
    fresh : list of keras.callbacks.Callback

    Raises
    ------
    TypeError
        An item is neither a Keras callback nor a callback class.
    """
    if not callbacks:
        return []
    base = _backend.keras().callbacks.Callback
    fresh = []
    for i, callback in enumerate(callbacks):
        if isinstance(callback, type) and issubclass(callback, base):
            fresh.append(callback())
        elif isinstance(callback, base):
            # The model of a Model.fit the user ran it in is not copied along.
            used = getattr(callback, "_model", None)
            fresh.append(copy.deepcopy(callback, {} if used is None else {id(used): None}))
        else:
            raise TypeError(
                f"callbacks[{i}]={callback!r} is not a Keras callback. Pass instances or "
                "subclasses of keras.callbacks.Callback, e.g. "
                "callbacks=[keras.callbacks.EarlyStopping(monitor='loss', patience=2)]."
            )
    return fresh
