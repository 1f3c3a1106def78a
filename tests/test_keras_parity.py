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


def _ours(X, y, w, optimizer, alpha, batch_size):
    state = _training.new_state(SEED, SIZES, np.float32)
    initial = [p.copy() for p in state.params]
    hyper = {"activation": "relu", "optimizer": optimizer, "learning_rate": LEARNING_RATE,
             "alpha": alpha, "dropout": 0.0}
    schedule = _training.Schedule(epochs=EPOCHS, batch_size=batch_size, tol=0.0,
                                  n_iter_no_change=10**9)
    _training.train(state, X, y, w * (N / w.sum()), hyper=hyper, schedule=schedule, seed=SEED)
    return initial, state.params


def _keras(initial, X, y, w, optimizer, alpha, batch_size, constants=None, per_batch=True):
    """Keras's Model.fit over our row order (shuffle=False), one fit call per epoch."""
    keras = _backend.keras()
    c = {"beta_2": 0.999, "rho": 0.9, "momentum": 0.9, **(constants or {})}
    reg = keras.regularizers.L2(alpha) if alpha else None
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
        if per_batch:  # Keras divides by the batch size; ours by the batch's weight sum
            for start in range(0, N, batch_size):
                part = weights[start:start + batch_size]
                weights[start:start + batch_size] = part * (len(part) / part.sum())
        model.fit(X[order], y[order], sample_weight=weights, batch_size=batch_size, epochs=1,
                  shuffle=False, verbose=0)
    return [np.asarray(v) for v in model.get_weights()]


def _assert_same(ours, theirs):
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("optimizer", _graph.UPDATE_RULES)
@pytest.mark.parametrize("alpha", [0.0, 1e-2])
@pytest.mark.parametrize("batch_size", [N, 8], ids=["full-batch", "mini-batch"])
def test_unweighted_training_matches_keras_fit(data, optimizer, alpha, batch_size):
    X, y, _ = data
    ones = np.ones(N, np.float32)
    initial, ours = _ours(X, y, ones, optimizer, alpha, batch_size)
    _assert_same(ours, _keras(initial, X, y, ones, optimizer, alpha, batch_size))


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
             "alpha": 1e-2, "dropout": 0.0, "loss": loss}
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
