"""How a scikeras wrapper builds ``model_``: the build function, its arguments, compiling.

The build function is ``model`` (a callable or a ``keras.Model`` instance),
the deprecated ``build_fn``, or a subclass's ``_keras_build_fn``. It gets the
parameters routed to it, and ``meta``, ``compile_kwargs`` and ``params``
where its signature names them. An uncompiled model is compiled with
``compile_kwargs``; a model the build function compiled is checked against a
``loss`` given to the wrapper. The built model then becomes ``model_``,
through a free compiled twin of the same architecture when there is one
(:mod:`skkeras_search.scikeras._pool`).

Pickling keeps what a model *is* by how it was built: the weights and the
optimizer's state as arrays, next to the wrapper's parameters; unpickling
calls the build function again and loads them (:class:`ModelState`). A model
compiled with custom losses or metrics that Keras cannot deserialize by name
therefore pickles, as long as the build function can be imported. A model
passed as ``model=`` (a ``keras.Model`` instance) is pickled by Keras.
"""

import copy
import inspect
import warnings
from contextlib import nullcontext

import numpy as np

from skkeras_search._core import backend as _backend
from skkeras_search._core.architecture import architecture
from skkeras_search._core.keras_state import names_as_first_built, seeded_keras
from skkeras_search.scikeras import _pool
from skkeras_search.scikeras import _routing as routing
from skkeras_search.scikeras.utils import loss_name

__all__ = ["BuildMixin", "ModelState", "picklable", "unpickled"]


class _KerasObject:
    """A Keras loss, metric or optimizer pickled as (its class, its config).

    Keras pickles these by their *registered* name, which a user's class
    defined in a module without ``@keras.saving.register_keras_serializable``
    does not have; pickle finds the class itself by its module path.
    """

    def __init__(self, obj):
        self.cls, self.config = type(obj), obj.get_config()

    def restore(self):
        return self.cls.from_config(self.config)


def _keras_types():
    keras = _backend.keras()
    return (keras.losses.Loss, keras.metrics.Metric, keras.optimizers.Optimizer)


def picklable(value):
    """``value`` with the Keras losses, metrics and optimizers in it made picklable."""
    if isinstance(value, (list, tuple)):
        return type(value)(picklable(v) for v in value)
    if isinstance(value, dict):
        return {k: picklable(v) for k, v in value.items()}
    if isinstance(value, _keras_types()):
        try:
            return _KerasObject(value)
        except Exception:  # noqa: BLE001 - no get_config: pickle as Keras does
            return value
    return value


def unpickled(value):
    """Undo :func:`picklable`."""
    if isinstance(value, (list, tuple)):
        return type(value)(unpickled(v) for v in value)
    if isinstance(value, dict):
        return {k: unpickled(v) for k, v in value.items()}
    return value.restore() if isinstance(value, _KerasObject) else value


class ModelState:
    """A built model's variables and optimizer variables, as arrays (for pickling)."""

    def __init__(self, model):
        self.variables = [np.asarray(v) for v in model.variables]
        optimizer = getattr(model, "optimizer", None)
        self.optimizer = ([np.asarray(v) for v in optimizer.variables]
                          if optimizer is not None and optimizer.built else None)

    def load_into(self, model, owner):
        if len(model.variables) != len(self.variables):
            raise ValueError(
                f"Unpickling {owner}: the build function now builds a model with "
                f"{len(model.variables)} variables, but the pickled one had "
                f"{len(self.variables)}. What it builds depends on something that changed "
                "(a global variable, a library version?); fit the estimator again."
            )
        for target, value in zip(model.variables, self.variables):
            target.assign(value)
        if self.optimizer is not None:
            _pool.optimizer_start(model)  # builds the optimizer's variables
            for target, value in zip(model.optimizer.variables, self.optimizer):
                target.assign(value)


def _check_known(fn, signature, arguments, user_params):
    """Every argument routed to the build function is one of its parameters."""
    for key in arguments:
        if key not in signature:
            origin = key if key in user_params else f"model__{key}"
            raise TypeError(
                f"{getattr(fn, '__qualname__', fn)}() got an unexpected keyword argument "
                f"{key!r}: the wrapper routes {origin}=... to the build function, whose "
                f"parameters are {sorted(p for p in signature if p != 'self')}. Rename it, "
                "add it to the build function, or drop it."
            )


_NOT_META = ("history_", "n_epochs_trained_")  # what training sets, not what the data says


class BuildMixin:
    """The building half of ``BaseWrapper`` (see the module docstring)."""

    _keras_build_fn = None

    def _build_function(self):
        """The callable that builds the model, from ``model``/``build_fn``/``_keras_build_fn``."""
        keras = _backend.keras()
        model = self.model
        if model is None and self.build_fn is not None:
            warnings.warn("``build_fn`` will be renamed to ``model`` in a future release, at "
                          "which point use of ``build_fn`` will raise an Error instead.",
                          UserWarning, stacklevel=4)
            model = self.build_fn
        own = self._keras_build_fn is not None
        if model is None:
            if own:
                return self._keras_build_fn
            raise ValueError(f"{type(self).__name__}: if not using the ``model`` param, you must "
                             "implement ``_keras_build_fn`` in a subclass, or pass model=<a "
                             "function that builds and returns a keras.Model>.")
        if own:
            raise ValueError(f"{type(self).__name__} implements ``_keras_build_fn``, so it "
                             "cannot implement ``_keras_build_fn`` and take the ``model`` param "
                             f"as well (got model={model!r}). Pass model=None.")
        if isinstance(model, keras.Model):
            return lambda **_: model
        if not callable(model):
            raise TypeError(f"``model`` must be a callable returning a keras.Model, a "
                            f"keras.Model instance or None; got model={model!r}.")
        return model

    def _get_compile_kwargs(self):
        """The objects ``Model.compile`` gets: optimizer, loss and metrics made from routing."""
        params = self.get_params()
        kwargs = {
            "optimizer": routing.make_optimizer(self.optimizer, routing.routed(params, "optimizer")),
            "loss": routing.make_loss(self.loss, routing.routed(params, "loss")),
            "metrics": routing.make_metrics(self.metrics, routing.routed(params, "metrics")),
            "run_eagerly": self.run_eagerly,
        }
        for key, value in routing.routed(params, "compile").items():
            if key in self._compile_kwargs:
                kwargs[key] = value
        return kwargs

    def _get_metadata(self):
        """What ``fit`` learnt about the data so far: the ``meta`` of the build function."""
        return {k: v for k, v in vars(self).items()
                if k.endswith("_") and not k.startswith("_") and k not in _NOT_META}

    def _build_arguments(self, fn, compile_kwargs):
        params = self.get_params()
        arguments = {k: params[k] for k in self._user_params if k in params}
        arguments.update({k: v for k, v in routing.routed(params, "model").items()})
        try:
            signature = inspect.signature(fn).parameters
        except (TypeError, ValueError):
            signature = {}
        takes_any = any(p.kind == p.VAR_KEYWORD for p in signature.values())
        if signature and not takes_any:
            _check_known(fn, signature, arguments, self._user_params)
        for name, value in (("meta", self._get_metadata), ("compile_kwargs", compile_kwargs),
                            ("params", lambda: params)):
            if name in signature or takes_any:
                arguments[name] = value()
        return arguments

    def _seed(self):
        """The int seed of this fit, or None (an unseeded fit)."""
        state = self.random_state
        if state is None:
            return None
        if isinstance(state, np.random.RandomState):  # drawn from a copy: refits repeat
            return int(copy.deepcopy(state).randint(0, 2**31 - 1))
        return int(state) % 2**31

    def _build_keras_model(self, reuse=True):
        """Call the build function (under the seed), compile if needed, reuse a pooled twin."""
        fn = self._build_function()
        prebuilt = isinstance(self.model, _backend.keras().Model)
        made = {}

        def compile_kwargs():
            if "value" not in made:
                made["value"] = self._get_compile_kwargs()
                if made["value"]["optimizer"] is None:
                    raise ValueError("You must provide an optimizer: optimizer=None cannot "
                                     "compile a model. Pass optimizer='rmsprop' (the default) "
                                     "or an optimizer of keras.optimizers.")
            return made["value"]

        arguments = self._build_arguments(fn, compile_kwargs)
        reusable = reuse and not prebuilt
        names = names_as_first_built(self._names_key(fn, arguments)) if reusable else nullcontext()
        seed = self._seed()
        before = {k: id(v) for k, v in vars(self).items()}
        with names, (seeded_keras(seed) if seed is not None else nullcontext()):
            model = fn(**arguments)
            if not isinstance(model, _backend.keras().Model):
                raise TypeError(f"The build function {getattr(fn, '__name__', fn)!r} returned "
                                f"{type(model).__name__}, not a keras.Model.")
            if not model.compiled:
                model.compile(**compile_kwargs())
            else:
                self._check_compiled_loss(model)
        # A build that stored something on the wrapper (sub-models sharing the model's
        # layers, as scikeras's autoencoder tutorial does) keeps its own model: never a twin.
        entangled = any(before.get(k) != id(v) for k, v in vars(self).items())
        self._adopt(model, reusable=reusable and not entangled)

    def _names_key(self, fn, arguments):
        """Builds under one key name their layers as the first did (flat memory, see
        :func:`~skkeras_search._core.keras_state.names_as_first_built`)."""
        plain = sorted((k, repr(v)) for k, v in arguments.items()
                       if k not in ("meta", "compile_kwargs", "params"))
        return ("scikeras", getattr(fn, "__func__", fn), repr(plain), self._data_signature())

    def _check_compiled_loss(self, model):
        """A loss given to the wrapper must be the one the build function compiled with."""
        own = inspect.signature(type(self).__init__).parameters.get("loss")
        default = own.default if own is not None else None
        if self.loss is None or self.loss is default or isinstance(self.loss, (list, dict)):
            return
        try:
            mine, theirs = loss_name(self.loss), loss_name(model.loss)
        except (TypeError, ValueError):
            return
        if mine != theirs:
            raise ValueError(
                f"loss={self.loss!r} but model compiled with {model.loss!r}. Data may not match "
                "loss function! Leave loss=None when the build function compiles the model, "
                "or let the wrapper compile it (return an uncompiled model)."
            )

    def _prebuilt(self):
        return isinstance(self.model, _backend.keras().Model)

    def _build_function_for_key(self):
        """The build function itself (a subclass's method by its function)."""
        fn = self._build_function()
        return getattr(fn, "__func__", fn)

    def _architecture_key(self):
        return vars(self).get("_arch")

    def _data_signature(self):
        """What the traced functions were traced for, besides the model: the data's form.

        Keras traces ``train_function`` with ``reduce_retracing``: a pooled model
        fed data of another rank (``y`` 1-D in one fit, a column in the next)
        would be retraced with a shape of unknown rank, which Keras's losses
        cannot take. Twins are therefore only shared by fits of data alike in
        everything but the number of samples.
        """
        shape = getattr(self, "X_shape_", None)
        return repr((None if shape is None else tuple(shape[1:]), str(getattr(self, "X_dtype_", "")),
                     getattr(self, "y_ndim_", None), str(getattr(self, "y_dtype_", "")),
                     getattr(self, "target_type_", None), getattr(self, "n_outputs_", None),
                     type(getattr(self, "target_encoder_", None)).__qualname__,
                     type(getattr(self, "feature_encoder_", None)).__qualname__))

    def _adopt(self, model, reusable):
        """Make ``model`` this wrapper's ``model_``, through a pooled twin when one is free."""
        arch = None
        if reusable:
            try:
                arch = (architecture(model), self._data_signature())
            except Exception:  # noqa: BLE001 - configs of user objects may not serialise
                arch = None
        twin = _pool.take(arch)
        if twin is not None and len(twin[0].variables) == len(model.variables):
            model, start = _pool.adopt(twin[0], twin[1], model), twin[1]
        else:
            start = _pool.optimizer_start(model) if arch is not None else None
        self.model_ = model
        vars(self)["_lease"] = _pool.Lease(model, arch, start)
        vars(self)["_arch"] = arch
