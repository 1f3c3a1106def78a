"""What a build function built: the digest under which a compiled model is reused.

Both wrapper wings keep compiled models (with their traced ``train_function``
and ``predict_function``) and reuse one for a later fit that builds the same
network: :func:`architecture` is the key.
"""

import hashlib
import json

__all__ = ["architecture", "layers"]


def layers(model):
    """Every layer of ``model``, nested ones included, in a fixed order (model first)."""
    flatten = getattr(model, "_flatten_layers", None)  # Keras's own walk (private)
    if flatten is not None:
        return list(flatten(include_self=True, recursive=True))
    found, todo = [], [model]
    while todo:
        layer = todo.pop(0)
        if all(layer is not f for f in found):
            found.append(layer)
            todo.extend(getattr(layer, "layers", None) or [])
    return found


def _names(model):
    """Names of the objects Keras names with a global counter: layers, ops, optimizers.

    Ops are what a functional model applies to Keras tensors outside layers
    (``h + dense(h)``, ``keras.ops.softmax(x)``); Keras names them from the
    same counter as layers (``add_3``).
    """
    names = set()
    for layer in layers(model):
        names.add(layer.name)
        try:
            operations = getattr(layer, "operations", None) or ()  # functional models
        except (AttributeError, ValueError):
            operations = ()
        names.update(op.name for op in operations)
        optimizer = getattr(layer, "optimizer", None)  # nested compiled models' too
        if optimizer is not None and isinstance(getattr(optimizer, "name", None), str):
            names.add(optimizer.name)
    return names


def _numbered(name, names, ids):
    if isinstance(name, str) and name in names:
        return ids.setdefault(name, f"#{len(ids)}")
    return _canonical(name, names, ids)


def _canonical(value, names, ids):
    """``value`` (a config) with the object names in ``names`` numbered by first appearance.

    Only where a config names an object: the value of a ``"name"`` key, and
    the first item of a reference ``[name, node_index, tensor_index, ...]``
    (``keras_history``, ``input_layers``). An activation ``"relu"`` stays
    ``"relu"`` although an op may be named ``relu`` too.
    """
    if isinstance(value, dict):
        return {k: _numbered(v, names, ids) if k == "name" else _canonical(v, names, ids)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = list(value)
        if len(items) >= 3 and isinstance(items[0], str) and all(
                isinstance(i, int) for i in items[1:3]):
            items[0] = _numbered(items[0], names, ids)
        return [_canonical(v, names, ids) for v in items]
    return value


def architecture(model):
    """A digest of what ``model`` is: its config, compile config and variables.

    Names are left out: every name of a layer, op, nested model or optimizer
    is replaced by its order of appearance in the config, since Keras names
    each new one with a global counter (``dense_7``, ``add_2``, ``adam_1``)
    that other builds in the process (or the user's code before unpickling)
    have moved on. Two calls building the same network give the same digest,
    and a network with other layers, units, activations, wiring, optimizer or
    loss another one. A subclassed model without ``get_config`` is known by
    its class and its variables' shapes.
    """
    try:
        config = model.get_config()
    except Exception:  # noqa: BLE001 - subclassed models may raise anything here
        config = None
    compiled = model.get_compile_config() if getattr(model, "compiled", False) else None
    variables = [(tuple(int(d) for d in v.shape), str(v.dtype), bool(v.trainable))
                 for v in model.variables]
    canonical = _canonical([type(model).__module__, type(model).__qualname__, config, compiled,
                            variables], _names(model), {})
    blob = json.dumps(canonical, sort_keys=True, default=repr)
    return hashlib.sha1(blob.encode()).hexdigest()
