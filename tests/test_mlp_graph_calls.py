"""How a fit calls its compiled graphs: the flat call after the first trace, eager mode, and
what the variables keep between fits (``mlp._graph._FlatCall``, ``EpochRunner.release``).

The first call of an epoch or prediction function traces it through ``tf.function``'s public
call; later calls go straight to the traced concrete function. Both must compute the same
bits, and ``tf.config.run_functions_eagerly(True)`` (a user debugging) must still train.
"""

import numpy as np
import pytest

from skkeras_search import KerasMLPClassifier
from skkeras_search._core import backend as _backend
from skkeras_search.mlp import _graph


def _fit(X, y, **kw):
    params = {"hidden_units": 8, "epochs": 3, "batch_size": 16, "random_state": 0, **kw}
    return KerasMLPClassifier(**params).fit(X, y)


def _weights(est):
    return [w.copy() for w in est.coefs_ + est.intercepts_]


@pytest.fixture(scope="module")
def small(digits):
    X, y = digits
    return X[:120].astype(np.float32), y[:120]


def test_the_flat_call_computes_what_the_traced_call_computed(small):
    X, y = small
    # a kind of graph no other test builds here (rmsprop, tanh, 3 layers), so its first fit
    # is the one that traces it through the public call
    kw = {"n_layers": 3, "activation": "tanh", "optimizer": "rmsprop"}
    first = _fit(X, y, **kw)
    runner = _graph.epoch_runner(3, "tanh", "rmsprop", "float32", False)
    assert runner._run._flat is not None  # traced: later calls are flat
    again = _fit(X, y, **kw)
    for a, b in zip(_weights(first), _weights(again)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(first.predict_proba(X), again.predict_proba(X))


def test_eager_functions_still_train_to_the_same_model(small):
    X, y = small
    graph = _fit(X, y)
    tf = _backend.tensorflow()
    tf.config.run_functions_eagerly(True)
    try:
        eager = _fit(X, y)
        proba = eager.predict_proba(X)
    finally:
        tf.config.run_functions_eagerly(False)
    # eager runs op by op, without graph rewrites: equal up to float32 rounding
    for a, b in zip(_weights(graph), _weights(eager)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(graph.predict_proba(X), proba, rtol=1e-4, atol=1e-5)


def test_a_large_state_is_dropped_after_the_fit_and_a_small_one_kept(small):
    X, y = small
    runner = _graph.epoch_runner(1, "relu", "adam", "float32", False)
    _fit(X, y, hidden_units=8)
    assert runner.params[0].numpy().shape == (X.shape[1], 8)  # ~600 values: kept for the next load
    wide = np.tile(X, (1, 48))  # 3,072 features x 400 units: 1.2M weights, over KEEP_VALUES
    assert wide.shape[1] * 400 > _graph.EpochRunner.KEEP_VALUES
    est = _fit(wide, y, hidden_units=400, epochs=1)
    assert all(v.numpy().shape == (0,) for v in (*runner.params, *runner.slots_1, *runner.slots_2))
    assert est.coefs_[0].shape == (wide.shape[1], 400)  # the model kept its own copy
    after = _fit(X, y, hidden_units=8)  # the emptied variables take the next state
    for a, b in zip(_weights(after), _weights(_fit(X, y, hidden_units=8))):
        np.testing.assert_array_equal(a, b)
