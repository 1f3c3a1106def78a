"""Names of Keras losses and metrics, as scikeras 0.13's ``scikeras.utils`` gives them.

:func:`loss_name` and :func:`metric_name` turn whatever a user may compile a
model with (a shorthand string such as ``"mse"``, a class name string such
as ``"CategoricalCrossentropy"``, a function, a class or an instance) into
one snake_case name (``"mean_squared_error"``, ``"categorical_crossentropy"``),
so that code can compare losses and metrics whatever form they were given in.
Custom subclasses give the snake_case of their class name (``CustomLoss`` ->
``"custom_loss"``).

Keras is imported on first use, through :mod:`skkeras_search._core.backend`.

One deliberate difference from scikeras 0.13: acronyms in class names become
one word, as Keras itself names them (``AUC`` -> ``"auc"``, ``KLDivergence``
-> ``"kl_divergence"``), where scikeras wrote ``"a_u_c"`` and
``"k_l_divergence"``, names that match neither Keras's history keys nor its
functions.
"""

import re

from skkeras_search._core import backend

__all__ = ["loss_name", "metric_name"]

_FIRST_CAP = re.compile(r"(.)([A-Z][a-z]+)")
_ALL_CAP = re.compile(r"([a-z0-9])([A-Z])")


def _camel_to_snake(name):
    """``"CategoricalCrossentropy"`` -> ``"categorical_crossentropy"``; ``"AUC"`` -> ``"auc"``."""
    name = re.sub(r"\W+", "", name)
    return _ALL_CAP.sub(r"\1_\2", _FIRST_CAP.sub(r"\1_\2", name)).lower()


def _function_wrapper_types():
    """Keras's classes that wrap a loss or metric function (LossFunctionWrapper is private)."""
    keras = backend.keras()
    types = {getattr(keras.metrics, "MeanMetricWrapper", None)}
    try:
        from keras.src.losses.losses import LossFunctionWrapper
    except ImportError:  # another Keras: such losses are named by their class
        LossFunctionWrapper = None
    return tuple(t for t in types | {LossFunctionWrapper} if t is not None)


def _wrapped_function(obj):
    """The function a bare ``LossFunctionWrapper``/``MeanMetricWrapper`` instance wraps, or None.

    Subclasses (``CategoricalCrossentropy`` is a ``LossFunctionWrapper``) are
    named by their own class, so only the wrapper classes themselves count.
    """
    if type(obj) in _function_wrapper_types():
        fn = getattr(obj, "_fn", None) or getattr(obj, "fn", None)
        if callable(fn) and hasattr(fn, "__name__"):
            return fn
    return None


def _name_of(obj):
    """Snake_case name of a resolved loss or metric: a class, an instance or a function."""
    if isinstance(obj, type):
        return _camel_to_snake(obj.__name__)
    fn = _wrapped_function(obj)
    if fn is not None:
        return fn.__name__
    name = getattr(obj, "__name__", None)
    if isinstance(name, str):  # a function (or anything named like one)
        return name
    return _camel_to_snake(type(obj).__name__)


def _resolve(identifier, kind, base, get):
    """Name of ``identifier`` if it is a valid ``kind`` ("loss"/"metric") identifier, else raise.

    Strings are resolved with Keras's own ``get`` (``keras.losses.get`` or
    ``keras.metrics.get``); other objects must be a subclass of ``base``, an
    instance of it, or a callable that is not a class.
    """
    if isinstance(identifier, str):
        try:
            resolved = get(identifier)
        except ValueError as exc:
            raise ValueError(f"Could not interpret {kind} identifier: {identifier!r}") from exc
        if resolved is None:
            raise ValueError(f"Could not interpret {kind} identifier: {identifier!r}")
        return _name_of(resolved)
    if isinstance(identifier, type):
        if issubclass(identifier, base):
            return _camel_to_snake(identifier.__name__)
    elif isinstance(identifier, base) or callable(identifier):
        return _name_of(identifier)
    base_name = "keras.losses.Loss" if kind == "loss" else "keras.metrics.Metric"
    raise TypeError(
        f"``{kind}`` must be a string, a function, an instance of ``{base_name}`` "
        f"or a type inheriting from ``{base_name}``; got {identifier!r} of type "
        f"{type(identifier).__name__}."
    )


def loss_name(loss):
    """Full snake_case name of a Keras loss (e.g. ``"mean_squared_error"``).

    Parameters
    ----------
    loss : str, keras.losses.Loss, type or callable
        A string shorthand (``"mse"``), full name (``"mean_squared_error"``)
        or class name (``"MeanSquaredError"``); a loss function; a subclass
        of ``keras.losses.Loss`` or an instance of one.

    Returns
    -------
    str
        The loss's name in snake_case. Classes and instances give the
        snake_case of their class name (``CustomLoss`` -> ``"custom_loss"``),
        functions their ``__name__``.

    Raises
    ------
    TypeError
        If ``loss`` is none of the above (e.g. a list, or a class that does
        not inherit from ``keras.losses.Loss``).
    ValueError
        If ``loss`` is a string Keras does not know ("Could not interpret
        loss identifier").

    Examples
    --------
    >>> loss_name("mse")
    'mean_squared_error'
    >>> loss_name("BinaryCrossentropy")
    'binary_crossentropy'
    """
    keras = backend.keras()
    return _resolve(loss, "loss", keras.losses.Loss, keras.losses.get)


def metric_name(metric):
    """Full snake_case name of a Keras metric (e.g. ``"mean_squared_error"``).

    Parameters
    ----------
    metric : str, keras.metrics.Metric, type or callable
        A string shorthand (``"mse"``), full name (``"binary_accuracy"``)
        or class name (``"BinaryAccuracy"``); a metric function; a subclass
        of ``keras.metrics.Metric`` or an instance of one.

    Returns
    -------
    str
        The metric's name in snake_case. Classes and instances give the
        snake_case of their class name, whatever ``name=`` the instance was
        given (``CustomMetric()`` -> ``"custom_metric"``); functions give
        their ``__name__``. ``"accuracy"`` stays ``"accuracy"``; ``"acc"``,
        which Keras accepts only inside ``compile``, is not a metric name
        and raises ValueError, as in scikeras.

    Raises
    ------
    TypeError
        If ``metric`` is none of the above.
    ValueError
        If ``metric`` is a string Keras does not know ("Could not interpret
        metric identifier").

    Examples
    --------
    >>> metric_name("mae")
    'mean_absolute_error'
    >>> metric_name("BinaryAccuracy")
    'binary_accuracy'
    """
    keras = backend.keras()
    return _resolve(metric, "metric", keras.metrics.Metric, keras.metrics.get)
