"""scikeras's routed parameters: ``prefix__name`` values, and the objects made from them.

A wrapper parameter ``optimizer__learning_rate=0.1`` is *routed*: it goes to
the optimizer the wrapper makes, not to the wrapper. The prefixes are
``model__`` (the build function), ``fit__`` and ``predict__`` (``Model.fit``
and ``Model.predict``), ``callbacks__``, ``optimizer__``, ``loss__``,
``metrics__`` and ``score__``. A routed value may be routed further:
``loss=[A, B], loss__from_logits=True, loss__1__label_smoothing=0.5`` makes
``A(from_logits=True)`` and ``B(from_logits=True, label_smoothing=0.5)``, and
``callbacks=LearningRateScheduler, callbacks__0=Schedule,
callbacks__0__coef=0.2`` passes ``Schedule(coef=0.2)`` as the first
positional argument. :func:`make` applies these rules to one value.
"""

import copy
import inspect

from skkeras_search._core import backend as _backend

__all__ = ["PREFIXES", "routed", "make", "make_optimizer", "make_loss", "make_metrics",
           "make_callbacks", "instances_in"]

PREFIXES = ("model", "fit", "compile", "predict", "optimizer", "loss", "metrics", "callbacks",
            "score")

# Strings Model.compile itself interprets from the loss and the outputs.
_COMPILE_METRIC_STRINGS = {"accuracy", "acc", "crossentropy", "ce"}


def routed(params, prefix):
    """``{name: value}`` of the parameters ``prefix__name`` in ``params``."""
    head = prefix + "__"
    return {k[len(head):]: v for k, v in params.items() if k.startswith(head)}


def _own(params):
    """Split routed parameters into this level's ``{name: value}`` and the nested ones."""
    here, nested = {}, {}
    for key, value in params.items():
        name, sep, rest = key.partition("__")
        if sep:
            nested.setdefault(name, {})[rest] = value
        else:
            here[name] = value
    return here, nested


def _instantiate(cls, params, kind):
    """``cls(*args, **kwargs)`` from routed ``params`` (integer names are positional)."""
    here, nested = _own(params)
    for name in list(here):
        if name in nested:  # a routed value that is itself routed further
            here[name] = make(here[name], nested[name], kind=None)
    args = [here.pop(k) for k in sorted((k for k in here if k.isdigit()), key=int)]
    return cls(*args, **here)


def make(value, params, kind=None):
    """The object for one parameter value with its routed ``params``.

    Parameters
    ----------
    value : object
        A class (instantiated with ``params``), a list or dict of values (each
        made with the parameters routed to its index or key, on top of the
        ones for all), a string naming a Keras object of ``kind``, or anything
        else (returned as is).
    params : dict
        Routed parameters for ``value``, without the prefix.
    kind : {"optimizer", "loss", "metric", None}
        Which Keras registry resolves strings.

    Raises
    ------
    TypeError
        Parameters were routed to a function or an instance.
    ValueError
        A string names no Keras object of ``kind``.
    """
    if isinstance(value, (list, tuple)):
        return [make(item, _for_item(params, str(i), len(value)), kind)
                for i, item in enumerate(value)]
    if isinstance(value, dict):
        return {key: make(item, _for_item(params, str(key), value), kind)
                for key, item in value.items()}
    if inspect.isclass(value):
        return _instantiate(value, params, kind)
    if isinstance(value, str) and kind is not None:
        return _from_string(value, params, kind)
    if params and value is not None:  # a function or an instance: nothing to route to
        raise TypeError(
            f"{kind or 'The value'} {getattr(value, '__name__', value)!r} does not accept "
            f"parameters because it's not a class; got routed parameters {sorted(params)}. "
            "Pass its class instead (e.g. keras.losses.BinaryCrossentropy rather than "
            "keras.losses.binary_crossentropy), or drop the routed parameters."
        )
    return value


def _for_item(params, key, container):
    """Parameters for one item of a list or dict: those for all, then those for ``key``."""
    if isinstance(container, int):  # a list: any integer head names an item (or none)
        def is_item(head):
            return head.isdigit()
    else:
        def is_item(head):
            return head in {str(k) for k in container}
    shared = {k: v for k, v in params.items() if not is_item(k.partition("__")[0])}
    shared.update(routed(params, key))
    return shared


def _registry(kind):
    keras = _backend.keras()
    return {"optimizer": keras.optimizers, "loss": keras.losses, "metric": keras.metrics}[kind]


def _from_string(name, params, kind):
    """A string: the Keras object it names (made with ``params``), or the string itself."""
    if kind == "metric" and name in _COMPILE_METRIC_STRINGS and not params:
        return name
    resolved = _registry(kind).get(name)  # raises "Could not interpret ... identifier"
    if kind == "optimizer":
        return _instantiate(type(resolved), params, kind)
    if not params:
        return name if not inspect.isclass(resolved) else resolved()
    if inspect.isclass(resolved):
        return _instantiate(resolved, params, kind)
    if hasattr(resolved, "get_config"):
        return _instantiate(type(resolved), params, kind)
    camel = "".join(part.capitalize() for part in name.split("_"))
    cls = getattr(_registry(kind), camel, None)
    if inspect.isclass(cls):  # "binary_crossentropy" routed -> BinaryCrossentropy(**params)
        return _instantiate(cls, params, kind)
    return make(resolved, params, kind)  # a function with parameters: the TypeError


def _fresh(obj):
    """A copy of a stateful Keras object (optimizer, metric), so that no two models share one."""
    try:
        return type(obj).from_config(obj.get_config())
    except Exception:  # noqa: BLE001 - user subclasses may not round-trip their config
        try:
            return copy.deepcopy(obj)
        except Exception:  # noqa: BLE001
            return obj


def make_optimizer(value, params):
    """The optimizer instance for ``optimizer=value`` (an instance is copied, never shared)."""
    if value is None:
        return None
    keras = _backend.keras()
    if isinstance(value, keras.optimizers.Optimizer):
        return _fresh(value)
    return make(value, params, "optimizer")


def make_loss(value, params):
    """The loss (or list/dict of losses) for ``loss=value``; only Nones mean no loss."""
    items = value.values() if isinstance(value, dict) else value
    if value is None or (isinstance(value, (list, tuple, dict)) and all(i is None for i in items)):
        return None
    return make(value, params, "loss")


def make_metrics(value, params):
    """The metrics for ``metrics=value``; metric instances are copied, never shared."""
    if value is None:
        return None
    if not isinstance(value, (list, tuple, dict)):
        value = [value]  # Model.compile takes a list, a tuple or a dict
    keras = _backend.keras()

    def fresh(item):
        if isinstance(item, keras.metrics.Metric):
            return _fresh(item)
        if isinstance(item, list):
            return [fresh(i) for i in item]
        if isinstance(item, dict):
            return {k: fresh(v) for k, v in item.items()}
        return item

    return fresh(make(value, params, "metric"))


def instances_in(values):
    """``id`` of every object (not a class, container or None) inside ``values``."""
    found = set()
    todo = list(values)
    while todo:
        value = todo.pop()
        if isinstance(value, (list, tuple)):
            todo.extend(value)
        elif isinstance(value, dict):
            todo.extend(value.values())
        elif value is not None and not inspect.isclass(value):
            found.add(id(value))
    return found


def make_callbacks(value, params):
    """A list of callback instances for ``callbacks=value`` (one, a list or a dict)."""
    if value is None:
        return []
    made = make(value, params, None)
    if isinstance(made, dict):
        return list(made.values())
    return list(made) if isinstance(made, list) else [made]
