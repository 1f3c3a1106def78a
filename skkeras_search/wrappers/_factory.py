"""One estimator class per build function, so that its keyword arguments are real parameters.

scikit-learn reads an estimator's parameter names from the signature of its
``__init__`` and refuses ``**kwargs`` (``BaseEstimator._get_param_names``),
which is why scikeras overrides ``get_params`` and routes ``model__x`` names.
Here ``KerasClassifier(build_cnn, ...)`` instead returns an instance of a
subclass made once per build function (cached, :func:`_class_for`), whose
``__init__`` carries an explicit ``inspect.Signature``: ``model``, the
function's keyword arguments, then the training parameters. scikit-learn's
own ``get_params``, ``set_params``, ``clone``, ``__repr__`` and parameter
validation then work unchanged, and nothing is overridden.

The subclass cannot be found by name in a module, so instances pickle *by
reference to the build function*: the estimators' ``__reduce__`` records
(kind, build function) and the state, and unpickling makes the subclass
again from them through :func:`_instance_of` (the build function must be
importable, as any pickled function must). The classes themselves (the
metaclass :class:`_WrapperMeta`) pickle the same way.

The factory knows the estimators only through what they declare: a base
class registers itself by its ``_kind`` (:func:`register`) and names its
training parameters (``_fit_params`` with defaults, ``_extra_params``,
``_shareable``, ``_constraints``) and the arguments filled in from the data
(``_data_args``).
"""

import copyreg
import inspect

__all__ = ["register", "_WrapperMeta", "_class_for", "_instance_of"]


class _WrapperMeta(type):
    """Metaclass of the wrappers, so that their per-function subclasses pickle."""


def _reduce_class(cls):
    if "_build_fn" not in cls.__dict__:  # KerasClassifier / KerasRegressor themselves
        return cls.__qualname__
    return _class_for, (cls._kind, cls._build_fn)


copyreg.pickle(_WrapperMeta, _reduce_class)

_bases = {}  # kind -> the registered estimator class
_classes = {}  # (kind, build function) -> its class


def register(base):
    """Class decorator: make ``base`` the estimator whose per-function classes ``base._kind`` names."""
    _bases[base._kind] = base
    return base


def _class_for(kind, build_fn):
    """The estimator class for ``build_fn`` (made once, then cached)."""
    key = (kind, build_fn)
    if key not in _classes:
        _classes[key] = _make_class(_bases[kind], build_fn)
    return _classes[key]


def _instance_of(kind, build_fn):
    """Unpickling: an empty instance of the class for ``build_fn``."""
    return object.__new__(_class_for(kind, build_fn))


def _make_class(base, build_fn):
    """A subclass of ``base`` whose ``__init__`` has ``build_fn``'s keyword arguments."""
    name = getattr(build_fn, "__qualname__", type(build_fn).__name__)
    hyper, used_data = _build_parameters(base, build_fn, name)
    fit_params = {k: v for k, v in dict(base._fit_params, **base._extra_params).items()
                  if k not in hyper}
    kw = inspect.Parameter.KEYWORD_ONLY
    signature = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
         inspect.Parameter("model", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=build_fn)]
        + [inspect.Parameter(k, kw, default=v) for k, v in {**hyper, **fit_params}.items()]
    )

    def __init__(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        for key, value in list(bound.arguments.items())[1:]:
            setattr(self, key, value)

    __init__.__signature__ = signature
    __init__.__doc__ = f"Set the parameters of {base.__name__} for ``model={name}``."
    constraints = {k: "no_validation" for k in hyper}  # the build function checks them
    constraints.update({k: v for k, v in base._constraints.items()
                        if k == "model" or k in fit_params})
    namespace = {
        "__init__": __init__, "__module__": base.__module__,
        "__qualname__": f"{base.__name__}[{name}]", "__doc__": base.__doc__,
        "_build_fn": build_fn, "_hyper_names": tuple(hyper), "_data_names": tuple(used_data),
        "_parameter_constraints": constraints,
    }
    return _WrapperMeta(base.__name__, (base,), namespace)


def _build_parameters(base, build_fn, name):
    """``(hyperparameters with their defaults, data arguments used)`` of ``build_fn``.

    Raises
    ------
    TypeError
        ``build_fn`` has no signature, a parameter of the estimator's own, or
        a parameter without a default that the data does not fill in.
    """
    try:
        fn_params = inspect.signature(build_fn).parameters.values()
    except (TypeError, ValueError) as exc:
        raise TypeError(f"model={build_fn!r} has no inspectable signature ({exc}). Pass a "
                        "Python function that builds and returns a keras.Model.") from None
    own = dict(base._fit_params, **base._extra_params)
    hyper, used_data = {}, []
    for p in fn_params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue  # *args/**kwargs cannot be named parameters; the function gets its defaults
        if p.name in base._data_args:
            used_data.append(p.name)
        elif p.name == "model" or (p.name in own and p.name not in base._shareable):
            raise TypeError(
                f"model={name} has a parameter {p.name!r}, which is also a parameter of "
                f"{base.__name__} itself. Rename it in the build function."
            )
        elif p.default is p.empty:
            raise TypeError(
                f"model={name}'s parameter {p.name!r} has no default. Give it one "
                f"(def {name}(..., {p.name}=...)); only {', '.join(sorted(base._data_args))} "
                "are filled in from the data."
            )
        else:
            hyper[p.name] = p.default
    return hyper, used_data
