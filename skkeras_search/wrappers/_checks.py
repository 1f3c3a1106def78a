"""What KerasClassifier and KerasRegressor check about a user's build function and its fits.

A build function is user code, so the wrappers do not trust what it returns
to be what its name and parameters suggest. This module holds the checks,
each answering one question about a built model or a finished fit:

* :func:`check_fresh_layers` -- whether the model is made of layers a
  previous call returned (module-level ``Dense`` objects reused by every
  call), which would carry one fold's trained weights into the next;
* :func:`output_head` and :func:`probabilities` -- whether a classifier's
  outputs are probabilities or logits, and turning logits into
  probabilities;
* :func:`divergence` and :func:`divergence_message` -- whether training
  diverged (the rule of ``KerasMLPClassifier``: a loss that is NaN,
  infinite or above ``EXPLODED_LOSS``, or weights that are not finite).
"""

import re
import threading
import weakref
from numbers import Real

import numpy as np
from scipy.special import expit, softmax

from skkeras_search._core import architecture as _architecture
from skkeras_search._core import backend as _backend
from skkeras_search._core import divergence as _divergence
from skkeras_search._core.divergence import EXPLODED_LOSS

__all__ = ["check_fresh_layers", "output_head", "probabilities", "divergence",
           "divergence_message", "rate_parameter"]

PROBABILITIES, LOGITS = "probabilities", "logits"
# Activations whose outputs are probabilities, by ``__name__`` (tf.nn.softmax's is softmax_v2).
_PROBABILITY_ACTIVATIONS = {"softmax", "softmax_v2", "sigmoid", "hard_sigmoid", "sparse_sigmoid",
                            "sparsemax"}


# ------------------------------------------------------------ fresh layers
_returned = weakref.WeakSet()  # layers (and models) that a build function has returned
_returned_lock = threading.Lock()


def check_fresh_layers(model, name):
    """Refuse a model made of trainable layers that an earlier build returned.

    Keras builds a layer object once: a layer made outside the build
    function (at module level) and returned by every call keeps the weights
    the previous fit trained, so each cross-validation fold would start from
    weights trained on another fold's data. Layers without trainable weights
    (a frozen pre-trained base) may be shared.
    """
    layers = _architecture.layers(model)
    with _returned_lock:
        reused = [layer for layer in layers if layer in _returned and layer.trainable_weights]
        if not reused:
            _returned.update(layers)
    if reused:
        shown = ", ".join(f"{type(layer).__name__} {layer.name!r}" for layer in reused[:3])
        raise ValueError(
            f"model={name} returned layer objects that an earlier call already returned "
            f"({shown}{', ...' if len(reused) > 3 else ''}): layers made once outside the "
            "build function keep the weights of the previous fit, so every fit (every "
            "cross-validation fold) would start from trained weights. Create the layers "
            "inside the build function, e.g. keras.layers.Dense(...) in its body; share only "
            "frozen layers (trainable=False)."
        )


# ------------------------------------------------------------ output head
def loss_from_logits(loss):
    """The compiled loss's ``from_logits``: True, False, or None when it cannot be told."""
    if loss is None:
        return None
    if isinstance(loss, str):
        return False if "crossentropy" in loss else None
    value = getattr(loss, "from_logits", None)
    if value is None:
        value = (getattr(loss, "_fn_kwargs", None) or {}).get("from_logits")
    return None if value is None else bool(value)


def _output_operation(model):
    """The layer or op making the (first) output of a functional or Sequential model, or None."""
    try:
        return model.outputs[0]._keras_history.operation
    except (AttributeError, IndexError, TypeError, ValueError):
        return None


def _last_activation(model):
    """Name of the activation producing the model's (first) output, or None if unknown."""
    keras = _backend.keras()
    layer = _output_operation(model)
    if layer is None:
        return None  # a subclassed model: its call() decides
    while isinstance(layer, keras.Model):  # a nested model: what makes its output
        inner = _output_operation(layer)
        if inner is None and not getattr(layer, "layers", None):
            return None
        layer = inner if inner is not None else layer.layers[-1]
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    activation = getattr(layer, "activation", None)
    return getattr(activation, "__name__", None) if activation is not None else None


def _look_like_probabilities(out, multilabel):
    out = np.asarray(out, dtype=np.float64).reshape(out.shape[0], -1)
    if not np.all((out >= 0) & (out <= 1)):
        return False
    return multilabel or out.shape[1] == 1 or bool(np.allclose(out.sum(axis=1), 1, atol=1e-3))


def output_head(model, sample, compiled_loss, multilabel=False):
    """(kind, warning): whether a classifier outputs probabilities or logits.

    Read from the last layer's activation (softmax, sigmoid and the like:
    probabilities; linear: logits), else from a loss compiled with
    ``from_logits=True`` (logits), else from the outputs on ``sample``, rows
    of the training data (probabilities lie in [0, 1], and rows of several
    units sum to 1, unless ``multilabel``: one probability per label). An
    activation known by neither name (a lambda, relu,
    ``tf.nn.softmax`` under another name) is told by the outputs. ``warning``
    is set when the model outputs logits but was compiled with a loss that
    expects probabilities.
    """
    activation = _last_activation(model)
    from_logits = loss_from_logits(compiled_loss)
    if activation in _PROBABILITY_ACTIVATIONS:
        return PROBABILITIES, None
    if from_logits or activation == "linear":
        kind = LOGITS
    else:
        outputs = model(sample, training=False)
        kind = PROBABILITIES if _look_like_probabilities(outputs, multilabel) else LOGITS
    warning = None
    if kind == LOGITS and from_logits is False:
        warning = (
            "ends with a layer whose outputs are not probabilities (logits), but is compiled "
            "with a loss that expects probabilities (from_logits=False), which Keras clips to "
            "[0, 1]. predict_proba applies softmax (sigmoid for one unit) to the outputs. "
            "Compile with from_logits=True (e.g. keras.losses.SparseCategoricalCrossentropy("
            "from_logits=True)) or end the model with activation='softmax'."
        )
    return kind, warning


def probabilities(outputs, kind, multilabel=False):
    """Class probabilities, float64, of shape (n_samples, n_units) from a classifier's outputs.

    Logits become probabilities by softmax over the units, or by a sigmoid
    per unit for one unit or a ``multilabel`` model (one label per unit).
    """
    out = np.asarray(outputs, dtype=np.float64).reshape(outputs.shape[0], -1)
    if kind != LOGITS:
        return out
    return expit(out) if multilabel or out.shape[1] == 1 else softmax(out, axis=1)


# ------------------------------------------------------------- divergence
def _diverged(loss):
    return not np.isfinite(loss) or loss > EXPLODED_LOSS


def divergence(losses, first_epoch, variables):
    """(epoch, loss) of the first diverged epoch of a fit, or None.

    ``losses`` are the per-epoch training losses of epochs ``first_epoch + 1``
    onwards; ``variables`` the weights after training: a non-finite weight
    counts as divergence in the last epoch, with loss None.
    """
    for i, loss in enumerate(losses):
        if _diverged(loss):
            return first_epoch + i + 1, float(loss)
    if any(np.issubdtype(v.dtype, np.floating) and not np.all(np.isfinite(v))
           for v in variables):
        return first_epoch + len(losses), None
    return None


_RATE_NAME = re.compile(r"(^|_)(lr|learning|rate|step|eta)(_|$)", re.IGNORECASE)


def _same_float32(value, learning_rate):
    if isinstance(value, bool) or not isinstance(value, Real):
        return False
    try:
        with np.errstate(over="ignore"):
            return bool(np.float32(float(value)) == np.float32(learning_rate))
    except (OverflowError, TypeError, ValueError):
        return False


def rate_parameter(hyper, learning_rate):
    """(name, seen): the build function's parameter that set the optimizer's ``learning_rate``.

    ``name`` is the one parameter (among ``hyper``, name -> value) whose value
    is that learning rate in float32 (those named like a learning rate --
    ``lr``, ``learning_rate``, ``step_size`` -- first), or None when none or
    several are. ``seen`` tells whether the function has such a parameter at
    all: one with that value or named like a learning rate (``log_lr``).
    """
    named = [k for k in hyper if _RATE_NAME.search(k)]
    same = [] if learning_rate is None else [
        k for k, v in hyper.items() if _same_float32(v, learning_rate)]
    if len(same) > 1:
        same = [k for k in same if k in named]
    if len(same) == 1:
        return same[0], True
    return None, bool(same or named)


def _compiled_by_hint(compiled_by, learning_rate, hyper):
    """Where the learning rate of a model the build function compiled is set."""
    where = f"That is the learning rate of the optimizer model={compiled_by} compiles the model with"
    name, seen = rate_parameter(hyper or {}, learning_rate)
    if name is not None:
        return (f" ({where}, its parameter {name}={hyper[name]!r}: use a smaller {name} "
                f"(e.g. {name}={learning_rate / 10:.3g}).)")
    if seen:
        return f" ({where}: lower it through the parameters of {compiled_by}.)"
    return (f" ({where}: change it there, or make learning_rate a parameter of {compiled_by} "
            "to search it.)")


def divergence_message(epoch, loss, learning_rate, compiled_by=None, targets=None, hyper=None):
    """The TrainingDivergedError message: ``KerasMLPClassifier``'s, and where the rate is set.

    ``loss`` is the diverged epoch's loss, None when the loss stayed finite
    but the weights did not. ``learning_rate`` is the optimizer's;
    ``compiled_by`` names the build function when that learning rate is set
    inside it rather than by the estimator's ``learning_rate`` parameter, and
    ``hyper`` holds the values of its parameters: the one that set the rate
    is named (:func:`rate_parameter`). ``targets`` are a regressor's: unscaled
    ones are named as the likely cause, with the fix
    (``_core.divergence.divergence_message``'s rule).
    """
    shown = float("nan") if loss is None else loss
    if learning_rate is None:  # a rate Keras could not tell as a number
        message = (f"Training diverged in epoch {epoch}: the loss became {shown:.4g}. Use a "
                   "smaller learning_rate.")
    else:
        message = _divergence.divergence_message(epoch, shown, learning_rate, targets)
    if loss is None:  # the last epoch's loss was finite; the weights after it are not
        message = message.replace("the loss became nan", "the weights became infinite or NaN", 1)
    if compiled_by is not None:
        message += _compiled_by_hint(compiled_by, learning_rate, hyper)
    return message
