"""Train a user's Keras model with ``Model.fit``: model reuse, seeded data, the fit cache.

The fixed cost of a small Keras fit is mostly not arithmetic: compiling the
model, tracing ``train_function`` and ``predict_function`` into TensorFlow
graphs, and Keras's per-call data adapters. A search fits the same
architecture once per fold and candidate, so this module keeps a small pool of
compiled and traced models keyed by *architecture* and, for each fit, assigns
the fit's initial weights and optimizer state into a pooled model instead of
compiling a new one. The pool is bounded (``POOL_SIZE`` models, least
recently used dropped), so memory stays flat over hundreds of fits.

The architecture is what the build function *built*, not what it was called
with: every fit calls the build function once (under the fit's seed, which
also gives the fit's initial weights) and keys the pool by the built model's
config, compile config and variable shapes (``_core.architecture.architecture``)
next to the build function, its keyword arguments, the input shape and dtype
and the number of outputs. A build function reading a global that changed
between fits therefore gets a pooled model of what it builds now. A new
pooled model calls the build function a second time, which catches layers
made outside it (``_wrapper_checks.check_fresh_layers``).

Each fit's state is a pure function of its seed:

* initial weights (and dropout seed-generator states) are those the build
  function creates under ``keras.utils.set_random_seed(seed)``;
* the optimizer starts from the state it had right after being built;
* epoch ``e`` visits the samples in the order of a permutation drawn from
  the ``(seed, 'shuffle', e)`` stream -- a function of the epoch number, not
  of how many epochs ran before in this call -- fed to ``Model.fit`` as a
  ``tf.data`` pipeline with ``steps_per_epoch`` and ``initial_epoch``.

So a pooled model gives the same bits as a freshly built one, a fresh process
the same bits as this one, and training continued from a cached ``k``-epoch
state (weights, optimizer slots, seed-generator states) to ``K`` epochs the
same bits as ``K`` epochs from scratch. Prediction runs the rows in a
canonical order (sorted by their bytes), so permuting the rows of ``X``
permutes the outputs exactly.
"""

import gc
import threading
from collections import OrderedDict
from contextlib import nullcontext

import numpy as np

from skkeras_search._core import backend as _backend
from skkeras_search._core import keras_state as _keras_state
from skkeras_search._core.architecture import architecture
from skkeras_search._core.divergence import has_diverged
from skkeras_search._core.seeding import stream
from skkeras_search.wrappers import _checks as _wrapper_checks

__all__ = ["Spec", "acquire", "rebuild", "own_model", "train", "predict", "snapshot", "load",
           "optimizer_learning_rate", "clear_pool", "POOL_SIZE"]

POOL_SIZE = 8  # pooled models (each with its traced functions) kept per process
_PREDICT_CHUNK = 4096
_pool = OrderedDict()  # (Spec.key, architecture) -> list of _Slot
_pool_lock = threading.Lock()


class Spec:
    """What decides a model's architecture: the pool key, and how to build it."""

    def __init__(self, build_fn, kwargs, input_shape, dtype, n_outputs, task, optimizer,
                 learning_rate):
        self.build_fn, self.kwargs = build_fn, dict(kwargs)
        self.input_shape, self.dtype = tuple(int(d) for d in input_shape), str(dtype)
        self.n_outputs, self.task = int(n_outputs), task
        self.optimizer, self.learning_rate = optimizer, learning_rate
        # repr() of the values: kwargs may hold unhashable things (lists, dicts).
        self.key = (build_fn, repr(sorted(self.kwargs.items())), self.input_shape, self.dtype,
                    self.n_outputs, task, repr(optimizer), repr(learning_rate))

    @property
    def name(self):
        return getattr(self.build_fn, "__qualname__", repr(self.build_fn))

    def build(self, seed, unique_names=False):
        """Call the build function under ``seed``; return a built keras.Model.

        Refuses a model made of trainable layers that an earlier call returned.
        The models of fits (pooled or thrown away) are named as the first build
        of this spec was; ``unique_names=True`` names a model the user gets
        (``model_``) as Keras would, so that two can go in one functional model.
        """
        keras = _backend.keras()
        names = nullcontext() if unique_names else _keras_state.names_as_first_built(self.key)
        with _keras_state.seeded_keras(int(seed)), names:
            model = self.build_fn(**self.kwargs)
            if not isinstance(model, keras.Model):
                raise TypeError(
                    f"model={self.name} returned {type(model).__name__}, not a keras.Model. "
                    "Return the model from the build function (compiled or not)."
                )
            if not model.built:
                model.build((None, *self.input_shape))
        _check_one_output(model, self.name)
        _wrapper_checks.check_fresh_layers(model, self.name)
        return model


def _check_one_output(model, name):
    """These wrappers train one output (of any width); several need the scikeras drop-in."""
    try:
        outputs = len(model.outputs)
    except (AttributeError, TypeError, ValueError):  # a subclassed model: its call decides
        return
    if outputs > 1:
        raise ValueError(
            f"model={name} built a model with {outputs} outputs; KerasClassifier and "
            "KerasRegressor train one (of any width: one unit per class, label or target). "
            "Concatenate the outputs into one layer, or use "
            "skkeras_search.scikeras.wrappers.KerasClassifier/KerasRegressor with a "
            "target_encoder that splits y into one array per output."
        )


class _Slot:
    """One pooled model: compiled, optimizer built, functions traced on first use.

    ``head`` says whether a classifier outputs probabilities or logits
    (``_wrapper_checks.output_head``; None for a regressor), read from the
    model before it is compiled, so that an uncompiled logits model is
    compiled with a ``from_logits=True`` loss.
    """

    def __init__(self, spec, model, sample):
        compiled = getattr(model, "compiled", False)
        self.head, self.head_warning, self.compiled_by_user = None, None, compiled
        if spec.task != "regression":
            self.head, self.head_warning = _wrapper_checks.output_head(
                model, sample, model.loss if compiled else None,
                multilabel=spec.task == "multilabel")
        _compile(spec, model, self.head)
        self.model, self.lock, self.loaded, self.feed = model, threading.Lock(), None, None
        self.out_units = _output_units(spec, model)
        self.one_hot = _wants_one_hot(model.loss)
        self.optimizer_start = [v.numpy() for v in model.optimizer.variables]


def _compile(spec, model, head):
    """Compile an uncompiled model with the estimator's optimizer and loss; build the optimizer."""
    if not getattr(model, "compiled", False):
        keras = _backend.keras()
        optimizer = keras.optimizers.get(spec.optimizer)
        optimizer.learning_rate = spec.learning_rate
        model.compile(optimizer=optimizer, loss=_default_loss(spec, model, head))
    model.optimizer.build(model.trainable_variables)


def own_model(spec, arch, seed, head, variables, optimizer_variables):
    """A compiled model of its own holding a fit's weights and optimizer state (``model_``).

    Built and compiled as the fit's pooled model was (the build function
    under the fit's seed, then the estimator's optimizer and loss if it did
    not compile), so that ``evaluate``, ``predict`` and further ``fit`` calls
    work on it; no pooled model is shared with it.
    """
    model = rebuild(spec, arch, seed, unique_names=True)
    _compile(spec, model, head)
    for v, value in zip(model.variables, variables):
        v.assign(value)
    if optimizer_variables is not None and len(optimizer_variables) == len(
            model.optimizer.variables):
        for v, value in zip(model.optimizer.variables, optimizer_variables):
            v.assign(value)
    return model


def _output_units(spec, model):
    """Width of the model's (first) output: units per sample, 1 for a flat output."""
    try:
        shape = model.outputs[0].shape
    except (AttributeError, IndexError, TypeError, ValueError):  # subclassed model
        shape = model.compute_output_shape((None, *spec.input_shape))
    return int(shape[-1]) if len(shape) > 1 and shape[-1] is not None else 1


def _default_loss(spec, model, head):
    if spec.task == "regression":
        return "mean_squared_error"
    binary = spec.task == "multilabel" or _output_units(spec, model) == 1
    if head != _wrapper_checks.LOGITS:
        return "binary_crossentropy" if binary else "sparse_categorical_crossentropy"
    keras = _backend.keras()
    if binary:
        return keras.losses.BinaryCrossentropy(from_logits=True)
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def _wants_one_hot(loss):
    name = loss if isinstance(loss, str) else getattr(loss, "name", None) or getattr(
        loss, "__name__", "")
    return name in ("categorical_crossentropy", "categorical_focal_crossentropy")


class acquire:
    """Context manager: a pooled model for ``spec`` and ``arch``, locked for this thread.

    ``with acquire(spec, arch, seed, fresh, sample) as slot:`` takes a free
    pooled model of the architecture ``arch`` (``_core.architecture.architecture``
    of a model the build function made) and returns it to the pool on exit.
    If none is free, ``fresh`` (that model) becomes one, after the build
    function is called once more to catch layers made outside it; without
    ``fresh`` (prediction after the pooled model was dropped) the build
    function is called under ``seed`` and must build ``arch`` again.
    ``sample`` (a few rows of X) tells a classifier's outputs apart when its
    last layer does not. Concurrent fits of one architecture (threads) get
    different models.
    """

    def __init__(self, spec, arch, seed, fresh=None, sample=None):
        self.spec, self.key, self.seed, self.slot = spec, (spec.key, arch), seed, None
        self.fresh, self.sample = fresh, sample

    def __enter__(self):
        with _pool_lock:
            slots = _pool.setdefault(self.key, [])
            _pool.move_to_end(self.key)
            for slot in slots:
                if slot.lock.acquire(blocking=False):
                    self.slot = slot
                    return slot
        slot = _Slot(self.spec, self._model(), self.sample)
        slot.lock.acquire()
        with _pool_lock:
            _pool.setdefault(self.key, []).append(slot)
            _pool.move_to_end(self.key)
            evicted = _evict()
        if evicted:
            _release(evicted)
        self.slot = slot
        return slot

    def _model(self):
        if self.fresh is None:
            return rebuild(self.spec, self.key[1], self.seed)
        self.spec.build(self.seed)  # a second call returning the first's layers is refused
        return self.fresh

    def __exit__(self, *exc):
        self.slot.lock.release()
        return False


def rebuild(spec, arch, seed, unique_names=False):
    """The build function's model under ``seed``, which must be the architecture ``arch``."""
    model = spec.build(seed, unique_names)
    if architecture(model) != arch:
        raise ValueError(
            f"model={spec.name} now builds another network than the one this estimator was "
            "fitted with, from the same parameters: what it builds depends on something that "
            "changed since fit (a global variable?). Make that a parameter of the build "
            "function, and fit again."
        )
    return model


def _evict():
    """Take least recently used architectures beyond POOL_SIZE models out (lock held)."""
    evicted = []
    while sum(len(s) for s in _pool.values()) > POOL_SIZE and len(_pool) > 1:
        _, slots = _pool.popitem(last=False)
        evicted.extend(slots)
    return evicted


_evictions = 0


def _release(slots):
    """Free evicted models: their variables and traced functions.

    Keras models hold reference cycles, so dropping them frees nothing until
    the garbage collector runs; it is run every ``POOL_SIZE`` evictions. Not
    ``keras.backend.clear_session()``: it would also reset the caller's
    global Keras settings (dtype policy, seeds) and TensorFlow's kernel cache,
    and measured no lower memory than the collection alone.
    """
    global _evictions
    slots.clear()
    _evictions += 1
    if _evictions % POOL_SIZE == 0:
        gc.collect()


def clear_pool():
    """Forget every pooled model (tests and benchmarks use this)."""
    with _pool_lock:
        _pool.clear()


def snapshot(slot):
    """(model variables, optimizer variables) of a slot, as NumPy arrays."""
    return ([v.numpy() for v in slot.model.variables],
            [v.numpy() for v in slot.model.optimizer.variables])


def load(slot, variables, optimizer_variables=None, token=None):
    """Assign a fit's state into the pooled model (skipped if already loaded)."""
    if token is not None and slot.loaded == token and optimizer_variables is None:
        return
    for v, value in zip(slot.model.variables, variables):
        v.assign(value)
    if optimizer_variables is not None:
        for v, value in zip(slot.model.optimizer.variables, optimizer_variables):
            v.assign(value)
    slot.loaded = token


class _Feed:
    """A tf.data pipeline made once per pooled model, reading the fit's data from variables.

    Keras turns NumPy arrays into a new ``tf.data`` pipeline on every ``fit``
    call; tracing its functions and creating its iterator are most of the
    fixed cost of a small fit. Here one pipeline (a single ``map``, which is
    cheap to iterate anew) is made per pooled model, and each fit assigns its
    data and visiting order to variables the pipeline reads. Batch ``b`` of
    epoch ``e`` is rows ``order_e[b*bs:(b+1)*bs]``, where ``order_e`` is the
    permutation drawn from the ``(seed, 'shuffle', e)`` stream (see
    ``_core.seeding.stream``): a function of the epoch number alone.
    """

    def __init__(self, input_shape, y_shape, y_dtype):
        tf = _backend.tensorflow()
        var = lambda value, shape: tf.Variable(value, shape=tf.TensorShape(shape),  # noqa: E731
                                               trainable=False)
        self.x = var(np.zeros((0, *input_shape), np.float32), [None, *input_shape])
        self.y = var(np.zeros((0, *y_shape), y_dtype), [None, *y_shape])
        self.w = var(np.zeros(0, np.float32), [None])
        self.order = var(np.zeros(0, np.int64), [None])
        self.n, self.batch_size, self.steps = (var(np.int64(0), []) for _ in range(3))

        def rows(i):
            epoch, step = i // self.steps, i % self.steps
            start = epoch * self.n + step * self.batch_size
            stop = epoch * self.n + tf.minimum((step + 1) * self.batch_size, self.n)
            idx = self.order[start:stop]
            return tf.gather(self.x, idx), tf.gather(self.y, idx), tf.gather(self.w, idx)

        options = tf.data.Options()
        options.experimental_optimization.apply_default_optimizations = False
        options.autotune.enabled = False
        self.dataset = tf.data.Dataset.range(2**62).map(rows).with_options(options)

    def set(self, X, y, sw, batch_size, seed, first_epoch, epochs):
        n = X.shape[0]
        self.x.assign(X)
        self.y.assign(y)
        self.w.assign(np.ones(n, np.float32) if sw is None else sw)
        self.order.assign(np.concatenate(
            [stream(seed, "shuffle", e).permutation(n) for e in range(first_epoch, epochs)]))
        for var, value in ((self.n, n), (self.batch_size, batch_size),
                           (self.steps, -(-n // batch_size))):
            var.assign(value)

    def clear(self):
        """Drop the fit's data (pooled models would otherwise keep it alive)."""
        self.x.assign(np.zeros((0, *self.x.shape[1:]), np.float32))
        self.y.assign(np.zeros((0, *self.y.shape[1:]), self.y.dtype.as_numpy_dtype))
        self.w.assign(np.zeros(0, np.float32))
        self.order.assign(np.zeros(0, np.int64))


def train(slot, X, y, sw, *, batch_size, seed, first_epoch, epochs, validation, patience,
          min_delta, verbose, callbacks=()):
    """Run ``Model.fit`` for epochs [first_epoch, epochs) on the loaded state; return history.

    ``callbacks`` (the user's, fresh for this fit) run after the package's own.
    """
    keras = _backend.keras()
    if slot.one_hot and y.ndim == 1:  # the build function compiled with a one-hot loss
        eye = np.eye(slot.out_units, dtype=np.float32)
        y = eye[y]
        if validation is not None:
            validation = (validation[0], eye[validation[1]])
    if slot.feed is None:
        slot.feed = _Feed(X.shape[1:], y.shape[1:], y.dtype)
    slot.feed.set(X, y, sw, batch_size, seed, first_epoch, epochs)
    # Stop after an epoch whose loss diverged (the caller raises TrainingDivergedError).
    own = [keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: _stop_if_diverged(
        slot.model, (logs or {}).get("loss")))]
    if validation is not None:
        own.append(keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=patience, min_delta=min_delta,
            restore_best_weights=True))
    slot.loaded = None
    # No keras.utils.set_random_seed here: every random stream of the fit is
    # already fixed (order above, dropout seed-generator states loaded), and
    # tf.random.set_seed clears TensorFlow's kernel and function caches, which
    # would make every fit pay for instantiating its graphs again.
    try:
        history = slot.model.fit(
            slot.feed.dataset, epochs=epochs, initial_epoch=first_epoch,
            steps_per_epoch=-(-X.shape[0] // batch_size), validation_data=validation,
            validation_batch_size=max(batch_size, 256), callbacks=own + list(callbacks),
            verbose=2 if verbose else 0, shuffle=False,
        )
    finally:
        slot.feed.clear()
    return {k: [float(v) for v in vals] for k, vals in history.history.items()}


def _stop_if_diverged(model, loss):
    if loss is not None and has_diverged(loss):
        model.stop_training = True


def _canonical_order(X):
    """A row order that depends only on the rows' contents (sorted by their bytes)."""
    rows = np.ascontiguousarray(X).reshape(X.shape[0], -1)
    keys = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1])))[:, 0]
    return np.argsort(keys, kind="stable")


def predict(slot, X, variables, token):
    """Outputs of the pooled model with ``variables`` loaded, in chunks.

    The rows are run in a canonical order (:func:`_canonical_order`) and put
    back: a row's output can depend in its last bits on its position in the
    batch (kernels treat blocks of rows, and the remainder, differently), so
    without this a permutation of ``X`` gave outputs differing by a float32
    ulp (measured with ``TF_ENABLE_ONEDNN_OPTS=0``). The sort costs
    O(n log n) comparisons of rows' bytes.
    """
    load(slot, variables, token=token)
    order = _canonical_order(X)
    X = X[order]
    out = [np.asarray(slot.model.predict_on_batch(X[i:i + _PREDICT_CHUNK]))
           for i in range(0, X.shape[0], _PREDICT_CHUNK)]
    out = np.concatenate(out) if len(out) > 1 else out[0]
    restored = np.empty_like(out)
    restored[order] = out
    return restored


def optimizer_learning_rate(model):
    """The current learning rate of a compiled model's optimizer, or None if not a number.

    A float32 rate (Keras keeps it in a float32 variable) is given as the
    shortest decimal that reads back as it: ``Adam(0.001)`` gives 0.001, not
    0.0010000000474974513.
    """
    try:
        value = np.asarray(model.optimizer.learning_rate)
        rate = float(value)
    except (TypeError, ValueError, AttributeError):
        return None
    if value.dtype == np.float32:
        rate = float(str(np.float32(rate)))
    return rate
