"""Training arithmetic against Keras's own ``Model.fit``, step for step.

From the same initial weights and the same row order, our compiled epoch
function and a Keras model (Dense layers, softmax cross-entropy from logits,
``L2`` regulariser, Keras's Adam / SGD-momentum / RMSprop) must end with the
same weights in float32, within ``RTOL``/``ATOL``: float32 rounding of a
differently ordered reduction, nothing more. A wrong optimizer constant
(``beta_2``, ``rho``, momentum, epsilon) or a wrong penalty gradient moves
the weights by orders of magnitude more, as the last test shows.

Sample weights differ from Keras on purpose: a batch's loss is
``sum(w * l) / sum(w)`` (so integer weights equal repeated rows, as in
scikit-learn), where Keras divides by the batch size. Keras given the weights
renormalised per batch reproduces ours exactly.

``alpha`` is scikit-learn's (``0.5 * alpha * sum(W**2) / batch_weight`` per
batch, tests/test_mlp_alpha.py): Keras's ``L2(l2)`` is ours at ``alpha = 2 *
l2 * batch_size`` on unweighted full batches (``alpha = l2 * batch_size``
for the mean squared error, twice scikit-learn's squared loss), and at
``l2 * batch_size / batch_weight`` on each weighted batch.
"""

import numpy as np
import pytest

from skkeras_search._core import backend as _backend
from skkeras_search._core.seeding import stream
from skkeras_search.mlp import _graph, _training

RTOL, ATOL = 2e-5, 2e-6
N, SIZES, LEARNING_RATE, EPOCHS, SEED = 32, [5, 7, 3], 0.05, 2, 0


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(N, SIZES[0])).astype(np.float32)
    y = rng.randint(0, SIZES[-1], N).astype(np.int32)
    w = rng.uniform(0.2, 3.0, N).astype(np.float32)
    return X, y, w


def _alpha(l2, batch_size, loss="cross_entropy"):
    """Our (scikit-learn's) alpha whose penalty on a full unweighted batch is Keras's L2(l2)
    (one output: a regression loss's coefficient is also divided by the outputs)."""
    return l2 * batch_size * (1.0 if loss == "squared_error" else 2.0)


def _ours(X, y, w, optimizer, l2, batch_size):
    state = _training.new_state(SEED, SIZES, np.float32)
    initial = [p.copy() for p in state.params]
    hyper = {"activation": "relu", "optimizer": optimizer, "learning_rate": LEARNING_RATE,
             "alpha": _alpha(l2, batch_size), "dropout": 0.0}
    schedule = _training.Schedule(epochs=EPOCHS, batch_size=batch_size, tol=0.0,
                                  n_iter_no_change=10**9)
    _training.train(state, X, y, w, hyper=hyper, schedule=schedule, seed=SEED)
    return initial, state.params


def _batch_l2(keras, tf, l2):
    """Keras's ``L2`` with a coefficient a callback sets before each batch: (regulariser,
    callback taking the epoch's coefficients)."""
    coefficient = tf.Variable(float(l2), trainable=False)

    class BatchL2(keras.regularizers.Regularizer):
        def __call__(self, x):
            return coefficient * keras.ops.sum(keras.ops.square(x))

    class SetL2(keras.callbacks.Callback):
        values = ()

        def on_train_batch_begin(self, batch, logs=None):
            coefficient.assign(self.values[batch])

    return BatchL2(), SetL2()


def _keras(initial, X, y, w, optimizer, l2, batch_size, constants=None, per_batch=True):
    """Keras's Model.fit over our row order (shuffle=False), one fit call per epoch.

    With ``per_batch``, each batch's weights are renormalised to its size and its
    ``L2`` coefficient is ``l2 * size / weight sum`` (ours, scikit-learn's, for those
    weights); otherwise Keras's own convention: raw weights, ``L2(l2)`` throughout.
    """
    keras = _backend.keras()
    c = {"beta_2": 0.999, "rho": 0.9, "momentum": 0.9, **(constants or {})}
    reg, set_l2 = _batch_l2(keras, _backend.tensorflow(), l2)
    if not per_batch:
        reg = keras.regularizers.L2(l2)
    reg = reg if l2 else None
    model = keras.Sequential([
        keras.Input((SIZES[0],)),
        keras.layers.Dense(SIZES[1], activation="relu", kernel_regularizer=reg),
        keras.layers.Dense(SIZES[2], kernel_regularizer=reg),
    ])
    model.set_weights(initial)
    opt = {"adam": lambda: keras.optimizers.Adam(LEARNING_RATE, beta_2=c["beta_2"]),
           "sgd": lambda: keras.optimizers.SGD(LEARNING_RATE, momentum=c["momentum"]),
           "rmsprop": lambda: keras.optimizers.RMSprop(LEARNING_RATE, rho=c["rho"])}[optimizer]()
    model.compile(opt, keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=False)
    for epoch in range(EPOCHS):
        order = stream(SEED, "shuffle", epoch).permutation(N)
        weights = w[order].copy()
        set_l2.values = [l2] * -(-N // batch_size)
        if per_batch:  # Keras divides by the batch size; ours by the batch's weight sum
            for b, start in enumerate(range(0, N, batch_size)):
                part = weights[start:start + batch_size]
                set_l2.values[b] = l2 * len(part) / float(part.sum())
                weights[start:start + batch_size] = part * (len(part) / part.sum())
        model.fit(X[order], y[order], sample_weight=weights, batch_size=batch_size, epochs=1,
                  shuffle=False, verbose=0, callbacks=[set_l2])
    return [np.asarray(v) for v in model.get_weights()]


def _assert_same(ours, theirs):
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("optimizer", _graph.UPDATE_RULES)
@pytest.mark.parametrize("l2", [0.0, 1e-2])
@pytest.mark.parametrize("batch_size", [N, 8], ids=["full-batch", "mini-batch"])
def test_unweighted_training_matches_keras_fit(data, optimizer, l2, batch_size):
    X, y, _ = data
    ones = np.ones(N, np.float32)
    initial, ours = _ours(X, y, ones, optimizer, l2, batch_size)
    _assert_same(ours, _keras(initial, X, y, ones, optimizer, l2, batch_size, per_batch=False))


@pytest.mark.parametrize("optimizer", _graph.UPDATE_RULES)
def test_sample_weights_are_normalised_by_their_sum_not_the_batch_size(data, optimizer):
    X, y, w = data
    initial, ours = _ours(X, y, w, optimizer, 1e-2, 8)
    _assert_same(ours, _keras(initial, X, y, w, optimizer, 1e-2, 8, per_batch=True))
    # Keras's own convention (divide by the batch size) gives other weights:
    raw = _keras(initial, X, y, w, optimizer, 1e-2, 8, per_batch=False)
    assert any(not np.allclose(a, b, rtol=RTOL, atol=ATOL) for a, b in zip(ours, raw))


@pytest.mark.parametrize("optimizer, constants", [
    ("adam", {"beta_2": 0.99}), ("rmsprop", {"rho": 0.95}), ("sgd", {"momentum": 0.95}),
])
def test_the_tolerance_catches_a_wrong_optimizer_constant(data, optimizer, constants):
    X, y, _ = data
    ones = np.ones(N, np.float32)
    initial, ours = _ours(X, y, ones, optimizer, 1e-2, 8)
    other = _keras(initial, X, y, ones, optimizer, 1e-2, 8, constants=constants)
    assert any(not np.allclose(a, b, rtol=RTOL, atol=ATOL) for a, b in zip(ours, other))


@pytest.mark.parametrize("optimizer", _graph.UPDATE_RULES)
@pytest.mark.parametrize("loss", ["squared_error", "huber"])
def test_regression_losses_match_keras_fit(data, optimizer, loss):
    """KerasMLPRegressor's engine: linear output, Keras's MeanSquaredError / Huber."""
    keras = _backend.keras()
    X, _, _ = data
    targets = np.stack([X[:, 0] - 2 * X[:, 1], X[:, 2] ** 2], axis=1).astype(np.float32) * 1.5
    sizes = [SIZES[0], SIZES[1], 2]
    state = _training.new_state(SEED, sizes, np.float32)
    initial = [p.copy() for p in state.params]
    hyper = {"activation": "relu", "optimizer": optimizer, "learning_rate": LEARNING_RATE,
             "alpha": _alpha(1e-2, 8, loss) * sizes[2], "dropout": 0.0, "loss": loss}
    schedule = _training.Schedule(epochs=EPOCHS, batch_size=8, tol=0.0, n_iter_no_change=10**9)
    _training.train(state, X, targets, np.ones(N, np.float32), hyper=hyper, schedule=schedule,
                    seed=SEED)
    reg = keras.regularizers.L2(1e-2)
    model = keras.Sequential([keras.Input((sizes[0],)),
                              keras.layers.Dense(sizes[1], activation="relu",
                                                 kernel_regularizer=reg),
                              keras.layers.Dense(sizes[2], kernel_regularizer=reg)])
    model.set_weights(initial)
    opt = {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop,
           "sgd": lambda lr: keras.optimizers.SGD(lr, momentum=0.9)}[optimizer](LEARNING_RATE)
    model.compile(opt, keras.losses.MeanSquaredError() if loss == "squared_error"
                  else keras.losses.Huber(), jit_compile=False)
    for epoch in range(EPOCHS):
        order = stream(SEED, "shuffle", epoch).permutation(N)
        model.fit(X[order], targets[order], batch_size=8, epochs=1, shuffle=False, verbose=0)
    _assert_same(state.params, [np.asarray(v) for v in model.get_weights()])


# ---------------------------------------------------------------- training options
# Keras's side runs its optimizer eagerly (GradientTape, ``apply_gradients``): the same
# update arithmetic Model.fit calls, without tracing a train function per test.
WEIGHT_DECAY, SMOOTHING = 0.1, 0.2


def _ours_with(X, y, optimizer, batch_size, **options):
    """Our weights after EPOCHS epochs with the training ``options`` (and Keras's L2(1e-2))."""
    state = _training.new_state(SEED, SIZES, np.float32)
    initial = [p.copy() for p in state.params]
    hyper = {"activation": "relu", "optimizer": optimizer, "learning_rate": LEARNING_RATE,
             "alpha": _alpha(1e-2, batch_size), "dropout": 0.0, **options}
    schedule = _training.Schedule(epochs=EPOCHS, batch_size=batch_size, tol=0.0,
                                  n_iter_no_change=10**9)
    _training.train(state, X, y, np.ones(N, np.float32), hyper=hyper, schedule=schedule,
                    seed=SEED)
    return initial, state.params


def _keras_optimizer(optimizer, learning_rate, weight_decay):
    keras = _backend.keras()
    decay = weight_decay or None
    return {
        "adam": lambda: keras.optimizers.Adam(learning_rate, weight_decay=decay),
        "adamw": lambda: keras.optimizers.AdamW(learning_rate, weight_decay=weight_decay),
        "sgd": lambda: keras.optimizers.SGD(learning_rate, momentum=0.9, weight_decay=decay),
        "rmsprop": lambda: keras.optimizers.RMSprop(learning_rate, weight_decay=decay),
    }[optimizer]()


def _keras_steps(initial, X, y, opt, batch_size, label_smoothing=0.0):
    """Keras's Dense layers, L2(1e-2), CategoricalCrossentropy and ``opt``, over our row order."""
    keras = _backend.keras()
    tf = _backend.tensorflow()
    reg = keras.regularizers.L2(1e-2)
    model = keras.Sequential([
        keras.Input((SIZES[0],)),
        keras.layers.Dense(SIZES[1], activation="relu", kernel_regularizer=reg),
        keras.layers.Dense(SIZES[2], kernel_regularizer=reg),
    ])
    model.set_weights(initial)
    loss_fn = keras.losses.CategoricalCrossentropy(from_logits=True,
                                                   label_smoothing=label_smoothing)
    onehot = np.eye(SIZES[2], dtype=np.float32)[y]
    for epoch in range(EPOCHS):
        order = stream(SEED, "shuffle", epoch).permutation(N)
        for start in range(0, N, batch_size):
            idx = order[start:start + batch_size]
            with tf.GradientTape() as tape:
                loss = loss_fn(onehot[idx], model(X[idx], training=True)) + tf.add_n(model.losses)
            grads = tape.gradient(loss, model.trainable_variables)
            opt.apply_gradients(zip(grads, model.trainable_variables))
    return [np.asarray(v) for v in model.get_weights()]


def _differ(ours, theirs):
    return any(not np.allclose(a, b, rtol=RTOL, atol=ATOL) for a, b in zip(ours, theirs))


@pytest.mark.parametrize("optimizer", ["adamw", "sgd"])
def test_weight_decay_matches_keras_decoupled_decay(data, optimizer):
    """AdamW and SGD(weight_decay=...): Keras 3 decays every variable, biases included, by
    ``w * wd * lr`` before the update (its base optimizer's rule, the same for RMSprop)."""
    X, y, _ = data
    initial, ours = _ours_with(X, y, optimizer, 8, weight_decay=WEIGHT_DECAY)
    theirs = _keras_steps(initial, X, y, _keras_optimizer(optimizer, LEARNING_RATE, WEIGHT_DECAY),
                          8)
    _assert_same(ours, theirs)
    _, undecayed = _ours_with(X, y, optimizer, 8)
    assert _differ(undecayed, theirs)  # the decay is large enough to be seen


class _Shifted:
    """A Keras schedule that counts steps from 1 (the off-by-one the test must catch)."""

    def __new__(cls, schedule):
        keras = _backend.keras()

        class Shifted(keras.optimizers.schedules.LearningRateSchedule):
            def __call__(self, step):
                return schedule(step + 1)

        return Shifted()


@pytest.mark.parametrize("optimizer, weight_decay", [("adam", 0.0), ("sgd", WEIGHT_DECAY)])
def test_cosine_schedule_matches_keras_cosine_decay(data, optimizer, weight_decay):
    """CosineDecay(lr, decay_steps=epochs * batches, alpha=0) at the optimizer's iterations
    (0 before the first update); the decay, when there is one, uses the scheduled rate."""
    keras = _backend.keras()
    X, y, _ = data
    initial, ours = _ours_with(X, y, optimizer, 8, weight_decay=weight_decay,
                               learning_rate_schedule="cosine")
    cosine = keras.optimizers.schedules.CosineDecay(LEARNING_RATE, EPOCHS * (N // 8), alpha=0.0)
    theirs = _keras_steps(initial, X, y, _keras_optimizer(optimizer, cosine, weight_decay), 8)
    _assert_same(ours, theirs)
    shifted = _keras_steps(initial, X, y,
                           _keras_optimizer(optimizer, _Shifted(cosine), weight_decay), 8)
    assert _differ(ours, shifted)


def test_label_smoothing_matches_keras_loss_and_training(data):
    """The loss value and the weights of CategoricalCrossentropy(label_smoothing=ls)."""
    keras = _backend.keras()
    tf = _backend.tensorflow()
    X, y, _ = data
    logits = tf.constant(X[:, :SIZES[2]] * 3)
    ours = _graph._sample_loss(tf, "cross_entropy", tf.constant(y), logits,
                               tf.constant(np.float32(SMOOTHING)))
    theirs = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=SMOOTHING)(
        np.eye(SIZES[2], dtype=np.float32)[y], logits)
    np.testing.assert_allclose(float(tf.reduce_mean(ours)), float(theirs), rtol=1e-6)
    initial, trained = _ours_with(X, y, "adam", 8, label_smoothing=SMOOTHING)
    expected = _keras_steps(initial, X, y, _keras_optimizer("adam", LEARNING_RATE, 0.0), 8,
                            label_smoothing=SMOOTHING)
    _assert_same(trained, expected)
    _, unsmoothed = _ours_with(X, y, "adam", 8)
    assert _differ(unsmoothed, expected)
