"""The MLP's arithmetic as compiled TensorFlow functions, shared by all fits.

A Keras ``Model.fit`` call builds a data pipeline and traces a new graph for
every model, which costs hundreds of milliseconds per fit and grows memory
fit after fit. Here the forward pass, the loss and the optimizer update of a
whole epoch are one ``tf.function`` whose weights are *arguments*, with
shape-polymorphic signatures: it is traced once per process for each
(depth, activation, optimizer, dtype, dropout) combination and then reused
by every fit of every width, fold and learning rate.

The arithmetic is that of ``keras.layers.Dense`` followed by softmax, with
sparse categorical cross-entropy, Keras's L2 regulariser (``alpha *
sum(W**2)`` on kernels) and Keras's Adam/SGD/RMSprop update rules, so the
weights load unchanged into the Keras model built by :mod:`._model`.
"""

import functools

import numpy as np

from . import _backend

__all__ = ["epoch_function", "proba_function", "glorot_init", "ACTIVATIONS", "OPTIMIZERS"]

ACTIVATIONS = {"relu": "relu", "tanh": "tanh", "logistic": "sigmoid", "identity": "linear"}
OPTIMIZERS = ("adam", "sgd", "rmsprop")

# Keras's defaults for the optimizers we implement.
_BETA_1, _BETA_2, _EPSILON = 0.9, 0.999, 1e-7
_MOMENTUM = 0.9
_RHO = 0.9


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


class _QuietFirstCall:
    """Call a tf.function, silencing TensorFlow's C++ log on the first call.

    Graph optimisation during tracing logs cost-model warnings straight to
    file descriptor 2, past ``TF_CPP_MIN_LOG_LEVEL``.
    """

    def __init__(self, fn):
        self.fn = fn
        self.traced = False

    def __call__(self, *args):
        if self.traced:
            return self.fn(*args)
        with _backend.stderr_silenced():
            out = self.fn(*args)
        self.traced = True
        return out


@functools.lru_cache(maxsize=None)
def epoch_function(n_hidden, activation, optimizer, dtype, use_dropout):
    """Return the compiled one-epoch training function for this architecture.

    The function takes ``(X, y, sample_weight, order, batch_size,
    learning_rate, alpha, dropout, seed, step, params, slots_1, slots_2)``
    and returns ``(params, slots_1, slots_2, step, mean_loss)``. ``order`` is
    the epoch's permutation of the rows; ``step`` counts optimizer updates so
    far (Adam's bias correction). Training stops inside the epoch at the
    first non-finite loss, which is then returned.
    """
    tf = _backend.tensorflow()
    dt = tf.as_dtype(dtype)
    act = _activation(tf, activation)
    n_params = 2 * (n_hidden + 1)
    tensors = tuple(tf.TensorSpec(None, dt) for _ in range(n_params))
    signature = [
        tf.TensorSpec([None, None], dt),  # X
        tf.TensorSpec([None], tf.int32),  # y, encoded 0..n_classes-1
        tf.TensorSpec([None], dt),  # sample_weight
        tf.TensorSpec([None], tf.int32),  # order of the rows this epoch
        tf.TensorSpec([], tf.int32),  # batch_size
        tf.TensorSpec([], dt),  # learning_rate
        tf.TensorSpec([], dt),  # alpha
        tf.TensorSpec([], dt),  # dropout rate
        tf.TensorSpec([2], tf.int64),  # dropout seed of this epoch
        tf.TensorSpec([], dt),  # step
        tensors,
        tensors,
        tensors,
    ]

    def update(g, p, s1, s2, lr, step):
        if optimizer == "adam":
            s1 = _BETA_1 * s1 + (1 - _BETA_1) * g
            s2 = _BETA_2 * s2 + (1 - _BETA_2) * tf.square(g)
            lr_t = lr * tf.sqrt(1 - tf.pow(tf.cast(_BETA_2, dt), step)) / (
                1 - tf.pow(tf.cast(_BETA_1, dt), step)
            )
            return p - lr_t * s1 / (tf.sqrt(s2) + _EPSILON), s1, s2
        if optimizer == "sgd":
            s1 = _MOMENTUM * s1 - lr * g
            return p + s1, s1, s2
        s2 = _RHO * s2 + (1 - _RHO) * tf.square(g)  # rmsprop
        return p - lr * g / (tf.sqrt(s2) + _EPSILON), s1, s2

    @tf.function(input_signature=signature, jit_compile=False)
    def run_epoch(X, y, sw, order, batch_size, lr, alpha, rate, seed, step, params, s1, s2):
        n = tf.shape(order)[0]
        n_batches = (n + batch_size - 1) // batch_size
        loss_sum = tf.zeros([], dt)
        weight_sum = tf.zeros([], dt)
        last_loss = tf.zeros([], dt)
        for b in tf.range(n_batches):
            idx = order[b * batch_size : tf.minimum((b + 1) * batch_size, n)]
            xb, yb, wb = tf.gather(X, idx), tf.gather(y, idx), tf.gather(sw, idx)
            with tf.GradientTape() as tape:
                tape.watch(params)
                logits = _forward(
                    tf, params, xb, act, n_hidden, (rate, seed, b) if use_dropout else None
                )
                ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=yb, logits=logits)
                wsum = tf.reduce_sum(wb)
                penalty = alpha * tf.add_n([tf.reduce_sum(tf.square(w)) for w in params[0::2]])
                loss = tf.math.divide_no_nan(tf.reduce_sum(wb * ce), wsum) + penalty
            grads = tape.gradient(loss, params)
            step = step + 1
            new_p, new_1, new_2 = [], [], []
            for g, p, a, c in zip(grads, params, s1, s2):
                p, a, c = update(g, p, a, c, lr, step)
                new_p.append(p)
                new_1.append(a)
                new_2.append(c)
            params, s1, s2 = tuple(new_p), tuple(new_1), tuple(new_2)
            loss_sum += loss * wsum
            weight_sum += wsum
            last_loss = loss
            if not tf.math.is_finite(loss):
                break
        mean_loss = tf.math.divide_no_nan(loss_sum, weight_sum)
        mean_loss = tf.where(tf.math.is_finite(last_loss), mean_loss, last_loss)
        return params, s1, s2, step, mean_loss

    return _QuietFirstCall(run_epoch)


@functools.lru_cache(maxsize=None)
def proba_function(n_hidden, activation, dtype):
    """Return the compiled ``(X, params) -> class probabilities`` function."""
    tf = _backend.tensorflow()
    dt = tf.as_dtype(dtype)
    act = _activation(tf, activation)
    tensors = tuple(tf.TensorSpec(None, dt) for _ in range(2 * (n_hidden + 1)))

    @tf.function(input_signature=[tf.TensorSpec([None, None], dt), tensors])
    def proba(X, params):
        return tf.nn.softmax(_forward(tf, params, X, act, n_hidden))

    return _QuietFirstCall(proba)
