"""What ``fit``, ``partial_fit``, ``initialize`` and ``predict`` do, step by step.

``initialize`` checks the data (recording its shape and dtypes), fits the
encoders, copies their metadata onto the wrapper (the ``meta`` of the build
function) and builds ``model_``. ``fit`` does that unless warm-starting, then
encodes the data and calls ``model_.fit`` with the arguments routed to it;
``predict`` encodes ``X`` and calls ``model_.predict``. Keyword arguments
given to ``fit``/``predict`` win over ``fit__``/``predict__`` parameters,
which win over the plain ones (``batch_size``).
"""

from collections import defaultdict

import numpy as np
from sklearn.utils.validation import check_consistent_length

from skkeras_search.scikeras import _cache, _data
from skkeras_search.scikeras import _routing as routing

__all__ = ["initialize", "train", "predict_raw"]


def _encoders(est, X, y):
    """Fit ``target_encoder_``/``feature_encoder_`` and copy their metadata onto ``est``."""
    if y is not None:
        est.target_encoder_ = est.target_encoder.fit(y)
        _copy_metadata(est, est.target_encoder_)
    est.feature_encoder_ = est.feature_encoder.fit(X)
    _copy_metadata(est, est.feature_encoder_)


def _copy_metadata(est, encoder):
    get = getattr(encoder, "get_metadata", None)
    for key, value in (get() if get is not None else {}).items():
        setattr(est, key, value)


def initialize(est, X, y=None):
    """Check ``X``/``y``, fit the encoders and build ``model_`` (no training).

    This is what ``BaseWrapper._initialize`` does; subclasses may override that
    hook (scikeras's tutorials do) and call ``super()._initialize``.
    """
    X = _data.check_X(est, X, reset=True)
    if y is not None:
        check_consistent_length(X, y)
        y = _data.check_y(est, y, reset=True, numeric=est._numeric_target)
        est.target_type_ = est._type_of_target(y)
    _encoders(est, X, y)
    est._build_keras_model()
    if y is not None:
        _check_outputs(est, est.target_encoder_.transform(y))
    vars(est)["_current_epoch"] = 0
    return X, y


def _check_outputs(est, y_encoded):
    """The model has as many outputs as the target encoder makes from ``y``."""
    model = est._own_model()
    expected = getattr(est, "n_outputs_expected_", None)
    try:
        outputs = len(model.outputs)
    except (AttributeError, TypeError, ValueError):  # a subclassed model
        return
    if expected is None:
        expected = len(y_encoded) if isinstance(y_encoded, (list, tuple)) else 1
    if outputs != expected:
        raise ValueError(
            f"The model has {outputs} outputs, but {type(est).__name__}'s target encoder "
            f"made {expected} from y (an input of size {expected} for {outputs} outputs). "
            "Build a model with one output per target, or override target_encoder to split y."
        )


def _routed_arguments(est, destination, names, kwargs):
    """Arguments of ``Model.fit``/``Model.predict``: plain, then routed, then keyword ones.

    Callbacks are those of ``callbacks`` plus ``<destination>__callbacks`` (made
    from classes with their routed parameters), or the keyword's alone.
    """
    params = est.get_params()
    args = {k: params[k] for k in names if k in params and k not in est._unrouted}
    here = routing.routed(params, destination)
    args.update({k: v for k, v in here.items() if "__" not in k})
    callbacks = routing.make_callbacks(est.callbacks, routing.routed(params, "callbacks"))
    callbacks += routing.make_callbacks(args.pop("callbacks", None),
                                        routing.routed(here, "callbacks"))
    args.update(kwargs)
    if "callbacks" in kwargs:
        callbacks = routing.make_callbacks(kwargs["callbacks"], {})
    vars(est)["_user_callbacks"] = routing.instances_in(
        [est.callbacks, here.get("callbacks"), kwargs.get("callbacks")])
    return args, callbacks


def _fit_arguments(est, kwargs, X):
    args, callbacks = _routed_arguments(est, "fit", est._fit_kwargs, kwargs)
    args["callbacks"] = callbacks
    for key in ("batch_size", "validation_batch_size"):
        if key in args:
            args[key] = _data.batch_size_for(args[key], X, key)
    return args


def _prepare(est, X, y, sample_weight, fresh):
    """Check (and on a fresh start, initialise on) the data; return it encoded."""
    if fresh:
        X, y = est._initialize(X, y)
    else:
        X = _data.check_X(est, X, reset=False)
        y = _data.check_y(est, y, reset=False, numeric=est._numeric_target)
        check_consistent_length(X, y)
        est._check_labels(y)
    sample_weight = _data.check_sample_weight(sample_weight, X, y)
    sample_weight = est._sample_weight(y, sample_weight)
    y_encoded = est.target_encoder_.transform(y)
    X_encoded = est.feature_encoder_.transform(X)
    if not fresh:
        _check_outputs(est, y_encoded)
    return X_encoded, y_encoded, sample_weight


def train(est, X, y, sample_weight, *, warm_start, epochs, initial_epoch, kwargs,
          cacheable=False, keep_history=False):
    """One ``fit``/``partial_fit`` call: (re)initialise unless warm, encode, ``model_.fit``.

    With ``cacheable`` (``fit`` only) and a usable ``cache_dir``, a stored fit
    of the same key is loaded instead, or the longest shorter one continued.
    """
    est._validate_params()
    if y is None:
        raise ValueError(f"{type(est).__name__} requires y to be passed, but the target y is "
                         "None. Pass the targets as y (initialize(X) builds without them).")
    fresh = not (warm_start and est.initialized_)
    X_encoded, y_encoded, sample_weight = _prepare(est, X, y, sample_weight, fresh)
    args = _fit_arguments(est, kwargs, X_encoded)
    target = initial_epoch + epochs
    args.pop("initial_epoch", None)  # where training starts is decided here
    args.update(x=X_encoded, y=y_encoded, epochs=target)
    if sample_weight is not None:
        args["sample_weight"] = sample_weight
    cache = None
    if cacheable and initial_epoch == 0:
        cache = _cache.cache_for(est, X_encoded, y_encoded, sample_weight, kwargs, fresh)
    _run(est, args, cache, initial_epoch, target, reset_history=not keep_history)
    if _user_callbacks(est, args["callbacks"]):
        est._hand_out()  # the user's callback objects hold the model now (callback.model)
    return est


def _user_callbacks(est, callbacks):
    """Whether some callback is an object the user made (so it may keep the model)."""
    theirs = vars(est).get("_user_callbacks", set())
    return any(id(cb) in theirs for cb in callbacks)


def _run(est, args, cache, start, target, reset_history):
    """Load what the cache has, ``model_.fit`` the rest, store the result."""
    model = est._own_model()
    stored = None
    entry = cache.lookup(target) if cache is not None else None
    if entry is not None and entry.failure is None:
        start, stored = _cache.load(model, entry)
    if reset_history or stored is not None:
        est.history_ = defaultdict(list)
    for key, values in (stored or {}).items():
        est.history_[key].extend(values)
    trained = 0
    if start < target:
        with est._fit_seed_context():
            history = model.fit(initial_epoch=start, **args)
        est._record_history(history)
        trained = len(history.epoch)
    vars(est)["_current_epoch"] = start + trained
    est.n_epochs_trained_ = trained
    if cache is not None and trained:
        _cache.store(cache, target, model, start + trained, dict(est.history_))


def predict_raw(est, X, kwargs):
    """``model_.predict`` on the encoded ``X`` with the arguments routed to ``predict``."""
    model = est._own_model()
    X = _data.check_X(est, X, reset=False)
    X_encoded = est.feature_encoder_.transform(X)
    args, callbacks = _routed_arguments(est, "predict", est._predict_kwargs, kwargs)
    if callbacks:
        args["callbacks"] = callbacks
    if args.get("callbacks") and _user_callbacks(est, args["callbacks"]):
        est._hand_out()
    if "batch_size" in args:
        args["batch_size"] = _data.batch_size_for(args["batch_size"], X_encoded, "batch_size")
    if _quiet_plain_predict(model, args, X_encoded):
        return _predict_in_chunks(model, X_encoded, args.get("batch_size"))
    return model.predict(x=X_encoded, **args)


_PREDICT_CHUNK = 4096  # rows per predict_on_batch call when no batch_size is given


def _quiet_plain_predict(model, args, X):
    """Whether ``Model.predict`` would do nothing but run the rows: no callbacks, no
    progress bar, no ``steps``, one array input, and ``predict`` not replaced on the model."""
    return (not args.get("verbose") and args.get("steps") is None and not args.get("callbacks")
            and set(args) <= {"batch_size", "verbose", "steps", "callbacks"}
            and "predict" not in vars(model) and isinstance(X, np.ndarray) and len(X))


def _predict_in_chunks(model, X, batch_size):
    """``Model.predict`` without its per-call data pipeline: ``predict_on_batch`` on chunks.

    Keras's ``predict`` builds a ``tf.data`` pipeline and an epoch iterator per
    call (about 0.1 s for a small model, most of a search's scoring time);
    ``predict_on_batch`` runs the same traced ``predict_function``.
    """
    step = int(batch_size) if batch_size else _PREDICT_CHUNK
    out = [model.predict_on_batch(X[i:i + step]) for i in range(0, X.shape[0], step)]
    if len(out) == 1:
        return _as_numpy(out[0])
    first = out[0]
    if isinstance(first, dict):
        return {k: np.concatenate([_as_numpy(o[k]) for o in out]) for k in first}
    if isinstance(first, (list, tuple)):
        return [np.concatenate([_as_numpy(o[i]) for o in out]) for i in range(len(first))]
    return np.concatenate([_as_numpy(o) for o in out])


def _as_numpy(value):
    if isinstance(value, dict):
        return {k: np.asarray(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [np.asarray(v) for v in value]
    return np.asarray(value)
