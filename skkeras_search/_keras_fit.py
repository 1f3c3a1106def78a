"""Train a user's Keras model with ``Model.fit``: model reuse, seeded data, the fit cache.

The fixed cost of a small Keras fit is mostly not arithmetic: building and
compiling the model, tracing ``train_function`` and ``predict_function`` into
TensorFlow graphs, and Keras's per-call data adapters. A search fits the same
architecture once per fold and candidate, so this module keeps a small pool of
built, compiled and traced models keyed by *architecture* (build function,
its keyword arguments, the input shape and dtype, the number of outputs) and,
for each fit, assigns the fit's initial weights and optimizer state into a
pooled model instead of building a new one. The pool is bounded
(``POOL_SIZE`` models, least recently used dropped), so memory stays flat over
hundreds of fits.

Each fit's state is a pure function of its seed:

* initial weights (and dropout seed-generator states) are those the build
  function creates under ``keras.utils.set_random_seed(seed)``, captured
  once per (architecture, seed);
* the optimizer starts from the state it had right after being built;
* epoch ``e`` visits the samples in the order of a permutation drawn from
  the ``(seed, 'shuffle', e)`` stream -- a function of the epoch number, not
  of how many epochs ran before in this call -- fed to ``Model.fit`` as a
  ``tf.data`` pipeline with ``steps_per_epoch`` and ``initial_epoch``.

So a pooled model gives the same bits as a freshly built one, a fresh process
the same bits as this one, and training continued from a cached ``k``-epoch
state (weights, optimizer slots, seed-generator states) to ``K`` epochs the
same bits as ``K`` epochs from scratch.
"""

import random
import threading
from collections import OrderedDict

import numpy as np

from . import _backend
from ._seeding import preserve_global_rng, stream

__all__ = ["Spec", "acquire", "train", "predict", "snapshot", "POOL_SIZE"]

POOL_SIZE = 8  # pooled models (each with its traced functions) kept per process
_SEEDS_PER_MODEL = 16  # initial states kept per pooled model
_PREDICT_CHUNK = 4096
_pool = OrderedDict()  # Spec.key -> list of _Slot
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

    def build(self, seed):
        """Call the build function under ``seed``; return a built keras.Model."""
        keras = _backend.keras()
        with preserve_global_rng():
            _seed_keras(int(seed))
            model = self.build_fn(**self.kwargs)
        if not isinstance(model, keras.Model):
            name = getattr(self.build_fn, "__qualname__", repr(self.build_fn))
            raise TypeError(
                f"model={name} returned {type(model).__name__}, not a keras.Model. Return the "
                "model from the build function (compiled or not)."
            )
        if not model.built:
            model.build((None, *self.input_shape))
        return model


def _seed_keras(seed):
    """``keras.utils.set_random_seed`` without ``tf.random.set_seed``.

    Keras's initialisers and dropout seed generators draw their seeds from
    Python's ``random`` and Keras's global seed; ``tf.random.set_seed`` adds
    nothing for them but clears TensorFlow's kernel and function caches, after
    which every pooled model instantiates its graphs again (about 0.1 s per
    fit). On other backends, or if Keras's internals move, the public function
    is used. A build function drawing from unseeded ``tf.random`` ops itself
    is therefore not made deterministic on TensorFlow.
    """
    keras = _backend.keras()
    try:
        from keras.src.backend.common import global_state
        from keras.src.random import seed_generator
        from keras.src.utils import rng_utils

        names = (rng_utils.GLOBAL_RANDOM_SEED, seed_generator.GLOBAL_SEED_GENERATOR)
    except (ImportError, AttributeError):
        names = None
    if names is None or keras.backend.backend() != "tensorflow":
        keras.utils.set_random_seed(seed)
        return
    global_state.set_global_attribute(names[0], seed)
    global_state.set_global_attribute(names[1], None)
    random.seed(seed)
    np.random.seed(seed)


class _Slot:
    """One pooled model: compiled, optimizer built, functions traced on first use."""

    def __init__(self, spec, seed):
        model = spec.build(seed)
        if not getattr(model, "compiled", False):
            keras = _backend.keras()
            optimizer = keras.optimizers.get(spec.optimizer)
            optimizer.learning_rate = spec.learning_rate
            model.compile(optimizer=optimizer, loss=_default_loss(spec, model))
        model.optimizer.build(model.trainable_variables)
        self.model, self.lock, self.loaded, self.feed = model, threading.Lock(), None, None
        self.out_units = _output_units(spec, model)
        self.one_hot = _wants_one_hot(model.loss)
        self.optimizer_start = [v.numpy() for v in model.optimizer.variables]
        self.initial = OrderedDict({int(seed): [v.numpy() for v in model.variables]})

    def initial_state(self, spec, seed):
        """Variables the build function makes under ``seed`` (built once per seed)."""
        seed = int(seed)
        if seed not in self.initial:
            fresh = spec.build(seed)  # a throwaway model: no compile, no tracing
            self.initial[seed] = [v.numpy() for v in fresh.variables]
            del fresh
            if len(self.initial) > _SEEDS_PER_MODEL:
                self.initial.popitem(last=False)
        self.initial.move_to_end(seed)
        return self.initial[seed]


def _output_units(spec, model):
    """Width of the model's (first) output: units per sample, 1 for a flat output."""
    try:
        shape = model.outputs[0].shape
    except (AttributeError, IndexError, TypeError, ValueError):  # subclassed model
        shape = model.compute_output_shape((None, *spec.input_shape))
    return int(shape[-1]) if len(shape) > 1 and shape[-1] is not None else 1


def _default_loss(spec, model):
    if spec.task == "regression":
        return "mean_squared_error"
    units = _output_units(spec, model)
    return "binary_crossentropy" if units == 1 else "sparse_categorical_crossentropy"


def _wants_one_hot(loss):
    name = loss if isinstance(loss, str) else getattr(loss, "name", None) or getattr(
        loss, "__name__", "")
    return name in ("categorical_crossentropy", "categorical_focal_crossentropy")


class acquire:
    """Context manager: a pooled model for ``spec``, locked for this thread.

    ``with acquire(spec, seed) as slot:`` takes a free pooled model for the
    architecture (building one under ``seed`` if none is free) and returns it
    to the pool on exit. Concurrent fits of one architecture (threads) get
    different models.
    """

    def __init__(self, spec, seed):
        self.spec, self.seed, self.slot = spec, seed, None

    def __enter__(self):
        with _pool_lock:
            slots = _pool.setdefault(self.spec.key, [])
            _pool.move_to_end(self.spec.key)
            for slot in slots:
                if slot.lock.acquire(blocking=False):
                    self.slot = slot
                    return slot
        slot = _Slot(self.spec, self.seed)
        slot.lock.acquire()
        with _pool_lock:
            _pool.setdefault(self.spec.key, []).append(slot)
            _pool.move_to_end(self.spec.key)
            evicted = _evict()
        if evicted:
            _release(evicted)
        self.slot = slot
        return slot

    def __exit__(self, *exc):
        self.slot.lock.release()
        return False


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
        import gc

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
    ``_seeding.stream``): a function of the epoch number alone.
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
          min_delta, verbose):
    """Run ``Model.fit`` for epochs [first_epoch, epochs) on the loaded state; return history."""
    keras = _backend.keras()
    if slot.one_hot:  # the build function compiled with a one-hot loss
        eye = np.eye(slot.out_units, dtype=np.float32)
        y = eye[y]
        if validation is not None:
            validation = (validation[0], eye[validation[1]])
    if slot.feed is None:
        slot.feed = _Feed(X.shape[1:], y.shape[1:], y.dtype)
    slot.feed.set(X, y, sw, batch_size, seed, first_epoch, epochs)
    callbacks = []
    if validation is not None:
        callbacks.append(keras.callbacks.EarlyStopping(
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
            validation_batch_size=max(batch_size, 256), callbacks=callbacks,
            verbose=2 if verbose else 0, shuffle=False,
        )
    finally:
        slot.feed.clear()
    return {k: [float(v) for v in vals] for k, vals in history.history.items()}


def predict(slot, X, variables, token):
    """Outputs of the pooled model with ``variables`` loaded, in chunks."""
    load(slot, variables, token=token)
    out = [np.asarray(slot.model.predict_on_batch(X[i:i + _PREDICT_CHUNK]))
           for i in range(0, X.shape[0], _PREDICT_CHUNK)]
    return np.concatenate(out) if len(out) > 1 else out[0]
