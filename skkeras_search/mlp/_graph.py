"""The MLP's arithmetic as compiled TensorFlow functions, shared by all fits.

A Keras ``Model.fit`` call builds a data pipeline and traces a new graph for
every model, which costs hundreds of milliseconds per fit and grows memory
fit after fit. Here the forward pass, the loss and the optimizer update of a
whole epoch are one ``tf.function`` whose weights are *arguments*, with
shape-polymorphic signatures: it is traced once per process for each
(depth, activation, update rule, dtype, dropout, loss, weight decay on/off,
learning-rate schedule, label smoothing on/off) combination and then reused
by every fit of every width, fold, learning rate, weight decay and smoothing
(the values are arguments).

The arithmetic is that of ``keras.layers.Dense`` followed by softmax with
sparse categorical cross-entropy (classification), or by a linear output
with Keras's mean squared error or Huber loss (regression), with Keras's L2
regulariser arithmetic on the kernels and Keras's Adam/SGD/RMSprop update
rules, so the weights load unchanged into the Keras model built by
:mod:`._model`. The L2 coefficient is scikit-learn's (``MLPClassifier`` and
``MLPRegressor``'s ``_backprop``), on each batch in turn: its loss gets
``0.5 * alpha * sum(W**2) / batch_weight`` (``alpha`` rather than ``0.5 *
alpha`` with the mean squared error, twice scikit-learn's squared loss; a
regression loss's term divided by the number of outputs, which Keras's
losses average and scikit-learn's gradient sums), ``batch_weight`` being
the sum of the batch's sample weights, its row count without weights, on
the weights before the batch's update (see
:func:`l2_coefficient`; the epoch's reported loss takes the term on the
weights the epoch ends with). Three options follow Keras 3 step for step:

* decoupled weight decay (Loshchilov & Hutter, "Decoupled Weight Decay
  Regularization", ICLR 2019): before each update every weight, biases
  included, becomes ``w - w * weight_decay * lr`` (Keras's
  ``BaseOptimizer._apply_weight_decay``, for every optimizer given
  ``weight_decay``; ``keras.optimizers.AdamW`` is Adam with it);
* the cosine schedule (Loshchilov & Hutter, "SGDR", ICLR 2017): the rate
  of update ``t`` (0 for the first) is
  ``lr * 0.5 * (1 + cos(pi * min(t, T) / T))``, Keras's
  ``CosineDecay(lr, decay_steps=T, alpha=0)`` at the optimizer's
  ``iterations`` before the update; the decay uses that same rate;
* label smoothing (Szegedy et al., "Rethinking the Inception
  Architecture", CVPR 2016): cross-entropy against
  ``onehot * (1 - ls) + ls / n_classes``, Keras's
  ``CategoricalCrossentropy(label_smoothing=ls)``.
"""

import dataclasses
import functools
import math
import threading

import numpy as np

from skkeras_search._core import backend as _backend

__all__ = ["epoch_runner", "proba_function", "output_function", "glorot_init", "l2_coefficient",
           "ACTIVATIONS", "OPTIMIZERS", "UPDATE_RULES", "LOSSES", "LR_SCHEDULES",
           "ARITHMETIC_REVISION"]

ACTIVATIONS = {"relu": "relu", "tanh": "tanh", "logistic": "sigmoid", "identity": "linear"}
#: The update rules of the fused kernels; each optimizer name maps to one.
UPDATE_RULES = ("adam", "sgd", "rmsprop")
#: Keras 3's AdamW is Adam plus the decoupled weight decay every optimizer takes.
_RULE = {"adam": "adam", "adamw": "adam", "sgd": "sgd", "rmsprop": "rmsprop"}
OPTIMIZERS = tuple(_RULE)
LR_SCHEDULES = ("constant", "cosine")
#: Per-sample losses: softmax cross-entropy on integer class codes, and Keras's
#: MeanSquaredError / Huber(delta=1) (mean over the outputs) on float targets.
LOSSES = ("cross_entropy", "squared_error", "huber")
_HUBER_DELTA = 1.0
#: Revision of what a fit computes from its parameters, data and seed, part
#: of every fit-cache key of the MLP: an entry trained under another revision
#: never matches. 1 (keys without it): ``alpha`` was Keras's ``L2(alpha)`` on
#: every batch; 2: ``alpha`` is scikit-learn's (:func:`l2_coefficient`); 3: a
#: regression penalty per output, as scikit-learn's gradient for several outputs
#: (revision 2 was n_outputs times stronger there, the same with one output).
ARITHMETIC_REVISION = 3
#: The loss per unit of scikit-learn's data loss: MLPClassifier's log-loss is
#: our cross-entropy, but MLPRegressor's squared loss is half the mean squared
#: error (Keras's MSE is twice it). Huber(delta=1) is half the squared error
#: below delta, scikit-learn's squared loss there.
_SKLEARN_LOSS_SCALE = {"cross_entropy": 1.0, "squared_error": 2.0, "huber": 1.0}

# Keras's defaults for the optimizers we implement.
_BETA_1, _BETA_2, _EPSILON = 0.9, 0.999, 1e-7
_MOMENTUM = 0.9
_RHO = 0.9


def l2_coefficient(alpha, loss, batch_weight, n_outputs=1):
    """Keras's ``L2`` coefficient that is scikit-learn's ``alpha`` on one batch.

    scikit-learn's multilayer perceptron adds ``0.5 * alpha * sum(W**2) /
    sw_sum`` to each batch's loss, ``sw_sum`` being the batch's sum of sample
    weights, its row count without them (``BaseMultilayerPerceptron._backprop``
    in ``sklearn/neural_network/_multilayer_perceptron.py``; the gradient adds
    ``alpha * W / sw_sum``). Keras's ``L2(l2)`` adds ``l2 * sum(W**2)``, so
    ``l2 = 0.5 * alpha / batch_weight`` for cross-entropy and Huber, and
    ``alpha / batch_weight`` for the mean squared error, which is twice
    MLPRegressor's squared loss: the penalty keeps the same strength relative
    to the data. With several regression outputs the data gradient of
    MLPRegressor is that of the squared error *summed* over the outputs
    (``deltas = activations - y``; its reported ``loss_`` averages them,
    scikit-learn issue #8349), Keras's losses average them, so ``l2`` is
    divided by ``n_outputs``: the minimiser stays MLPRegressor's.

    Parameters
    ----------
    alpha : float
        scikit-learn's ``alpha``, >= 0.
    loss : {'cross_entropy', 'squared_error', 'huber'}
    batch_weight : float
        The batch's total sample weight (rows, unweighted), > 0.
    n_outputs : int, default=1
        Outputs of a regression network (the columns of ``y``); ignored by
        'cross_entropy', whose loss sums over the classes.

    Returns
    -------
    l2 : float
        Penalty per squared kernel weight, in loss units.
    """
    outputs = 1 if loss == "cross_entropy" else int(n_outputs)
    return 0.5 * _SKLEARN_LOSS_SCALE[loss] * float(alpha) / (float(batch_weight) * outputs)


def glorot_init(rng, layer_sizes, dtype):
    """Return [W1, b1, ..., Wk, bk] drawn as Keras's GlorotUniform and zeros."""
    params = []
    for fan_in, fan_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        params.append(rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(dtype))
        params.append(np.zeros(fan_out, dtype=dtype))
    return params


def _activation(tf, name):
    return {
        "relu": tf.nn.relu,
        "tanh": tf.math.tanh,
        "logistic": tf.math.sigmoid,
        "identity": tf.identity,
    }[name]


def _forward(tf, params, x, act, n_hidden, dropout=None):
    """Logits of the MLP; ``dropout`` is (rate, seed, batch_index) in training."""
    h = x
    for i in range(n_hidden):
        h = act(tf.matmul(h, params[2 * i]) + params[2 * i + 1])
        if dropout is not None:
            rate, seed, batch = dropout
            layer_seed = tf.random.experimental.stateless_fold_in(
                seed, tf.cast(batch, tf.int64) * 64 + i
            )
            keep = tf.random.stateless_uniform(tf.shape(h), seed=layer_seed, dtype=h.dtype)
            h = tf.where(keep >= rate, h / (1 - rate), tf.zeros_like(h))
    return tf.matmul(h, params[-2]) + params[-1]


class _FlatCall:
    """Call a ``tf.function`` of fixed input signature through its concrete function.

    ``tf.function.__call__`` binds and canonicalises its arguments against the
    signature on every call (about 0.5 ms for an epoch's 14 arguments, more
    than a small epoch's arithmetic); the concrete function's flat call runs
    the same graph on the same tensors without that. The first call traces
    through the public call, with TensorFlow's C++ log silenced (graph
    optimisation logs cost-model warnings straight to file descriptor 2, past
    ``TF_CPP_MIN_LOG_LEVEL``). Without the flat call (another TensorFlow) every
    call is the public one, and so is every call under
    ``tf.config.run_functions_eagerly(True)``. Arguments are the signature's
    structure: tensors of its dtypes, or arrays and numbers converted to them.
    """

    def __init__(self, fn):
        self.fn = fn
        self.traced = False
        self._flat = None  # (concrete function, dtypes of its flat inputs) after tracing
        self._tf = _backend.tensorflow()  # imported already: fn is a tf.function

    def __call__(self, *args):
        tf = self._tf
        if self._flat is not None and not tf.config.functions_run_eagerly():
            concrete, dtypes = self._flat
            tensors = [a if isinstance(a, tf.Tensor) else tf.convert_to_tensor(a, dt)
                       for a, dt in zip(tf.nest.flatten(args), dtypes)]
            return concrete._call_flat(tensors, concrete.captured_inputs)
        if self.traced:
            return self.fn(*args)
        with _backend.stderr_silenced():
            out = self.fn(*args)
        self.traced = True
        self._flat = _flat_form(self.fn)
        return out


def _flat_form(fn):
    """``(concrete function, flat input dtypes)`` of a traced ``fn``, or None without them."""
    try:
        concrete = fn.get_concrete_function()
        specs = _backend.tensorflow().nest.flatten(fn.input_signature)
        if not (callable(getattr(concrete, "_call_flat", None))
                and hasattr(concrete, "captured_inputs")):
            return None
    except (AttributeError, TypeError, ValueError):
        return None
    return concrete, [spec.dtype for spec in specs]


def epoch_runner(n_hidden, activation, optimizer, dtype, use_dropout, loss="cross_entropy", *,
                 weight_decay=False, schedule="constant", smoothing=False):
    """Return this thread's :class:`EpochRunner` for the architecture kind (made once).

    ``weight_decay`` and ``smoothing`` say whether the graph has the decay
    and the smoothed targets (their values are arguments of each epoch), and
    ``schedule`` is one of :data:`LR_SCHEDULES`; ``optimizer`` is one of
    :data:`OPTIMIZERS` ('adam' and 'adamw' share a graph).
    """
    kind = _Kind(_RULE[optimizer], bool(use_dropout), loss, bool(weight_decay), schedule,
                 bool(smoothing))
    return _thread_runner(n_hidden, activation, dtype, kind, threading.get_ident())


@functools.cache
def _thread_runner(n_hidden, activation, dtype, kind, thread):
    return EpochRunner(n_hidden, activation, dtype, kind)


@dataclasses.dataclass(frozen=True)
class _Kind:
    """What a traced epoch graph is specialised on, besides depth, activation and dtype."""

    rule: str
    dropout: bool
    loss: str
    weight_decay: bool
    schedule: str
    smoothing: bool


def _sample_loss(tf, loss, y, outputs, smoothing=None):
    """Each sample's loss: shape (batch,); ``smoothing`` is the label-smoothing tensor or None."""
    if loss == "cross_entropy" and smoothing is not None:
        # Keras's categorical_crossentropy(label_smoothing=ls) on one-hot targets
        n_classes = tf.shape(outputs)[-1]
        target = tf.one_hot(y, n_classes, dtype=outputs.dtype)
        target = target * (1.0 - smoothing) + smoothing / tf.cast(n_classes, outputs.dtype)
        return tf.nn.softmax_cross_entropy_with_logits(labels=target, logits=outputs)
    if loss == "cross_entropy":
        return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=outputs)
    error = outputs - y
    if loss == "squared_error":
        return tf.reduce_mean(tf.square(error), axis=-1)
    delta = tf.constant(_HUBER_DELTA, outputs.dtype)  # Keras's Huber
    small = tf.abs(error) <= delta
    huber = tf.where(small, 0.5 * tf.square(error), delta * tf.abs(error) - 0.5 * delta**2)
    return tf.reduce_mean(huber, axis=-1)


def _epoch_signature(tf, dt, loss):
    """The input signature of an epoch function (shapes free, so one trace serves all widths)."""
    scalar = tf.TensorSpec([], dt)
    return [
        tf.TensorSpec([None, None], dt),  # X
        # y: class codes 0..n_classes-1, or float targets of shape (n, n_outputs)
        tf.TensorSpec([None], tf.int32) if loss == "cross_entropy"
        else tf.TensorSpec([None, None], dt),
        tf.TensorSpec([None], dt),  # sample_weight
        tf.TensorSpec([None], tf.int32),  # order of the rows this epoch
        tf.TensorSpec([], tf.int32),  # batch_size
        scalar,  # learning_rate
        scalar,  # penalty: the L2 coefficient per unit of batch weight (l2_coefficient at 1)
        scalar,  # dropout rate
        tf.TensorSpec([2], tf.int64),  # dropout seed of this epoch
        scalar,  # step: optimizer updates so far
        scalar,  # weight_decay
        scalar,  # label_smoothing
        scalar,  # schedule's decay_steps: the updates its cycle spans
        scalar,  # schedule's origin: the step its cycle started at
    ]


def _optimizer_update(tf, optimizer, dt):
    """``apply(var, s1, s2, g, lr, step)``: the optimizer's fused in-place update of ``var``."""
    beta_1, beta_2 = tf.constant(_BETA_1, dt), tf.constant(_BETA_2, dt)

    def apply(var, s1, s2, g, lr, step):
        if optimizer == "adam":
            tf.raw_ops.ResourceApplyAdam(
                var=var.handle, m=s1.handle, v=s2.handle, beta1_power=tf.pow(beta_1, step),
                beta2_power=tf.pow(beta_2, step), lr=lr, beta1=beta_1, beta2=beta_2,
                epsilon=tf.constant(_EPSILON, dt), grad=g)
        elif optimizer == "sgd":  # accum = momentum * accum - lr * g; var += accum
            tf.raw_ops.ResourceApplyKerasMomentum(
                var=var.handle, accum=s1.handle, lr=lr, grad=g,
                momentum=tf.constant(_MOMENTUM, dt))
        else:  # rmsprop, Keras's form: var -= lr * g / sqrt(ms + epsilon)
            tf.raw_ops.ResourceApplyRMSProp(
                var=var.handle, ms=s2.handle, mom=s1.handle, lr=lr,
                rho=tf.constant(_RHO, dt), momentum=tf.constant(0.0, dt),
                epsilon=tf.constant(_EPSILON, dt), grad=g)

    return apply


def _learning_rate(tf, schedule, lr, step, decay_steps, origin):
    """The rate of the update after ``step`` updates (Keras's ``iterations``), as a tensor.

    'cosine' is Keras's ``CosineDecay(lr, decay_steps, alpha=0)`` at
    ``step - origin``, in the same order of operations; after ``decay_steps``
    updates it stays at 0.
    """
    if schedule == "constant":
        return lr
    t = tf.minimum(step - origin, decay_steps)
    pi = tf.constant(math.pi, lr.dtype)
    return lr * (0.5 * (1.0 + tf.cos(pi * (t / decay_steps))))


def _compile_epoch(tf, dt, variables, *, n_hidden, act, update, kind):
    """The ``tf.function`` of one epoch: every batch's forward pass, loss and ``update``.

    ``variables`` are the runner's (params, slots_1, slots_2) and ``kind`` a
    :class:`_Kind`; the function returns ``(step, mean loss)`` (the loss of
    the batch that was not finite, if one was: the loop stops there).
    """
    params, slots_1, slots_2 = variables
    loss = kind.loss

    # autograph=False: the batch loop is an explicit tf.while_loop, so tracing
    # skips autograph's source transformation (most of a cold first fit's
    # tracing time); the loop body is the same ops as before.
    @tf.function(input_signature=_epoch_signature(tf, dt, loss), jit_compile=False,
                 autograph=False)
    def run_epoch(X, y, sw, order, batch_size, lr, penalty, rate, seed, step, weight_decay,
                  smoothing, decay_steps, origin):
        n = tf.shape(order)[0]
        n_batches = (n + batch_size - 1) // batch_size

        def more(b, step, loss_sum, weight_sum, l2_sum, last_loss):
            # stop after the last batch, or after a batch whose loss is not finite
            return tf.logical_and(b < n_batches, tf.math.is_finite(last_loss))

        def batch(b, step, loss_sum, weight_sum, l2_sum, last_loss):
            idx = order[b * batch_size : tf.minimum((b + 1) * batch_size, n)]
            xb, yb, wb = tf.gather(X, idx), tf.gather(y, idx), tf.gather(sw, idx)
            current = [p.read_value() for p in params]
            with tf.GradientTape() as tape:
                tape.watch(current)
                logits = _forward(
                    tf, current, xb, act, n_hidden, (rate, seed, b) if kind.dropout else None
                )
                ce = _sample_loss(tf, loss, yb, logits, smoothing if kind.smoothing else None)
                wsum = tf.reduce_sum(wb)
                batch_loss = tf.math.divide_no_nan(tf.reduce_sum(wb * ce), wsum)
            grads = tape.gradient(batch_loss, current)
            # scikit-learn's L2 term of this batch, l2 * sum(W**2) on the weights before
            # the update, l2 = penalty / batch weight (l2_coefficient): a smaller last
            # batch is penalised more, a batch of zero weight not at all
            l2 = tf.math.divide_no_nan(penalty, wsum)
            step_lr = _learning_rate(tf, kind.schedule, lr, step, decay_steps, origin)
            step = step + 1
            for i, g in enumerate(grads):
                if i % 2 == 0:  # kernels: gradient of the L2 term, 2 * l2 * W
                    g = g + 2 * l2 * current[i]
                if kind.weight_decay:  # Keras: variable.assign_sub(variable * wd * lr)
                    params[i].assign_sub(current[i] * weight_decay * step_lr)
                update(params[i], slots_1[i], slots_2[i], g, step_lr, step)
            return (b + 1, step, loss_sum + batch_loss * wsum, weight_sum + wsum,
                    l2_sum + l2 * wsum, batch_loss)

        zero = tf.zeros([], dt)
        _, step, loss_sum, weight_sum, l2_sum, last_loss = tf.while_loop(
            more, batch, (tf.constant(0, tf.int32), step, zero, zero, zero, zero),
            maximum_iterations=n_batches)
        # The epoch's loss: its batches' losses averaged by batch weight (as
        # MLPClassifier's loss_ by rows: the same without sample weights), each
        # batch's L2 term on the weights the epoch ends with (one pass over
        # them, not one per batch: about 5% of a wide epoch; MLPClassifier
        # takes the weights before each update).
        squares = tf.add_n([tf.reduce_sum(tf.square(p)) for p in params[0::2]])
        mean_loss = tf.math.divide_no_nan(loss_sum + l2_sum * squares, weight_sum)
        return step, tf.where(tf.math.is_finite(last_loss), mean_loss, last_loss)

    return run_epoch


class EpochRunner:
    """One compiled training epoch, and the shape-free variables it updates.

    The weights and optimizer slots live in ``tf.Variable`` objects of
    unspecified shape, so that TensorFlow's fused optimizer kernels
    (``ResourceApplyAdam`` and friends: one pass over memory per tensor
    instead of a dozen) can update them in place, while one traced graph
    still serves every layer width. Each thread gets its own runner, so
    concurrent fits never share variables. Usage: :meth:`load` a state,
    :meth:`run` epochs, :meth:`read` the result, :meth:`release` memory.
    """

    #: Most values (weights and slots) the variables keep after :meth:`release`.
    KEEP_VALUES = 1 << 20

    def __init__(self, n_hidden, activation, dtype, kind):
        tf = _backend.tensorflow()
        self.tf = tf
        dt = tf.as_dtype(dtype)
        n_params = 2 * (n_hidden + 1)

        def variable():
            return tf.Variable(tf.zeros([0], dt), shape=tf.TensorShape(None), trainable=False)

        self.params = [variable() for _ in range(n_params)]
        self.slots_1 = [variable() for _ in range(n_params)]
        self.slots_2 = [variable() for _ in range(n_params)]
        self._held = 0  # values the variables hold (see release)
        self._run = _FlatCall(_compile_epoch(
            tf, dt, (self.params, self.slots_1, self.slots_2), n_hidden=n_hidden,
            act=_activation(tf, activation), update=_optimizer_update(tf, kind.rule, dt),
            kind=kind))

    def load(self, params, slots_1, slots_2):
        """Copy a training state (lists of ndarrays) into the variables."""
        # one AssignVariableOp each: Variable.assign's conversion and read-back
        # cost ten times the copy on small networks
        assign, dt = self.tf.raw_ops.AssignVariableOp, self.params[0].dtype
        self._held = 0
        for variables, values in ((self.params, params), (self.slots_1, slots_1),
                                  (self.slots_2, slots_2)):
            for var, value in zip(variables, values):
                assign(resource=var.handle, value=np.asarray(value, dt.as_numpy_dtype))
                self._held += np.size(value)

    def run(self, *args):
        """One epoch; returns ``(step, mean_loss)`` as tensors."""
        return self._run(*args)

    def current(self):
        """The weights as a tuple of tensors (snapshots, unaffected by later epochs)."""
        return tuple(self.tf.identity(p) for p in self.params)

    def read(self):
        """``(params, slots_1, slots_2)`` as lists of ndarrays."""
        read, dt = self.tf.raw_ops.ReadVariableOp, self.params[0].dtype
        return tuple([read(resource=v.handle, dtype=dt).numpy() for v in group]
                     for group in (self.params, self.slots_1, self.slots_2))

    def release(self):
        """Drop the arrays held by the variables (keep the compiled graph), unless small.

        A state of at most :attr:`KEEP_VALUES` values stays until the next
        :meth:`load` replaces it: dropping costs an op per variable, more than
        that memory is worth (4 MB in float32, per thread and kind of graph).
        """
        if self._held <= self.KEEP_VALUES:
            return
        self._held = 0
        assign = self.tf.raw_ops.AssignVariableOp
        empty = self.tf.zeros([0], self.params[0].dtype)
        for var in (*self.params, *self.slots_1, *self.slots_2):
            assign(resource=var.handle, value=empty)


def proba_function(n_hidden, activation, dtype):
    """Return the compiled ``(X, params) -> class probabilities`` function."""
    return _prediction_function(n_hidden, activation, dtype, softmax=True)


def output_function(n_hidden, activation, dtype):
    """Return the compiled ``(X, params) -> linear outputs`` function (regression)."""
    return _prediction_function(n_hidden, activation, dtype, softmax=False)


@functools.cache
def _prediction_function(n_hidden, activation, dtype, softmax):
    tf = _backend.tensorflow()
    dt = tf.as_dtype(dtype)
    act = _activation(tf, activation)
    tensors = tuple(tf.TensorSpec(None, dt) for _ in range(2 * (n_hidden + 1)))

    @tf.function(input_signature=[tf.TensorSpec([None, None], dt), tensors], autograph=False)
    def predict(X, params):
        outputs = _forward(tf, params, X, act, n_hidden)
        return tf.nn.softmax(outputs) if softmax else outputs

    return _FlatCall(predict)
