"""Compiled models kept for reuse: a search's fits of one architecture trace once.

Most of the fixed cost of a small Keras fit is tracing ``train_function`` and
``predict_function`` into TensorFlow graphs, which a newly built model pays
on its first ``fit`` and ``predict``. A search builds a new model for every
fold and candidate; scikeras paid that every time. Here a wrapper still calls
the build function for every fit (that gives the fit's initial weights, under
its seed), but when a compiled model of the same architecture
(:func:`skkeras_search._core.architecture.architecture`) is free, the new
weights are assigned into it, its optimizer is reset to the state it had
before its first step, and it becomes the wrapper's ``model_``. The result
is the same as training the new model (same initial weights, same optimizer
state, same graph), without the tracing.

A model is free when nothing outside the wrappers can reach it: its wrapper
was garbage-collected (a search's clones after scoring) or refitted, and
``model_`` was never read from outside (:class:`Lease`; reading ``model_``
marks the model as handed out, and a handed-out model is never reused).
At most :data:`POOL_SIZE` free models are kept, the least recently used
dropped first, so memory stays flat over hundreds of fits.
"""

import threading
import weakref
from collections import OrderedDict

__all__ = ["POOL_SIZE", "Lease", "take", "clear"]

POOL_SIZE = 8
_free = OrderedDict()  # architecture -> list of (model, optimizer start values)
_lock = threading.Lock()


class Lease:
    """A wrapper's hold on its ``model_``: gives the model back when the hold ends.

    ``Lease(model, arch, start)`` registers the model; when the lease is
    garbage-collected (its wrapper died or was refitted) the model returns to
    the free pool, unless :meth:`hand_out` was called (the user's code holds
    the model) or ``arch`` is None (not reusable).
    """

    def __init__(self, model, arch, start):
        self.state = {"handed_out": arch is None}
        weakref.finalize(self, _give_back, model, arch, start, self.state)

    def hand_out(self):
        self.state["handed_out"] = True


def _give_back(model, arch, start, state):
    if state["handed_out"]:
        return
    with _lock:
        _free.setdefault(arch, []).append((model, start))
        _free.move_to_end(arch)
        while sum(len(v) for v in _free.values()) > POOL_SIZE:
            oldest = next(iter(_free))
            _free[oldest].pop(0)
            if not _free[oldest]:
                del _free[oldest]


def take(arch):
    """A free compiled model of ``arch`` and its optimizer's start values, or None."""
    if arch is None:
        return None
    with _lock:
        models = _free.get(arch)
        if not models:
            return None
        found = models.pop()
        if not models:
            del _free[arch]
        return found


def clear():
    """Forget every free model (tests and benchmarks)."""
    with _lock:
        _free.clear()


def optimizer_start(model):
    """The optimizer's variables' values before its first step (built if needed)."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return None
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    return [v.numpy() for v in optimizer.variables]


def adopt(pooled, start, fresh):
    """Make ``pooled`` what ``fresh`` is before training: its weights, a reset optimizer."""
    for target, value in zip(pooled.variables, fresh.variables):
        target.assign(value)
    for target, value in zip(pooled.optimizer.variables, start):
        target.assign(value)
    pooled.stop_training = False
    return pooled
