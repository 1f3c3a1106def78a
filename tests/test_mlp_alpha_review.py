"""``alpha`` with several regression outputs: MLPRegressor's minimiser, not its reported loss.

scikit-learn's ``squared_loss`` averages the outputs, but ``_backprop``'s gradient is that of
the squared error summed over them (``deltas = activations - y``, divided by the batch weight
only; scikit-learn issue #8349). Keras's losses average the outputs, so with ``k`` outputs our
penalty per unit of loss is ``1/k`` of the one-output coefficient: one float64 SGD epoch of
ours at rate ``lr`` is MLPRegressor's at ``2 lr / k`` (squared error) or ``lr / k`` (Huber,
residuals below its delta), same ``alpha``. One output: tests/test_mlp_alpha.py.
"""

import glob
import os
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor

from skkeras_search import KerasMLPRegressor
from skkeras_search._core.fit_cache import FitCache, data_fingerprint, key_params
from skkeras_search._core.seeding import resolve_seed, stream
from skkeras_search.mlp import _graph, _training

N, BATCH, LR, SEED, ALPHA, K = 10, 4, 0.1, 0, 0.5, 3


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = 0.1 * rng.normal(size=(N, 4))  # small residuals: below Huber's delta throughout
    Y = np.stack([0.2 * X[:, j] - 0.1 * X[:, j + 1] for j in range(K)], axis=1)
    return X, Y, rng.uniform(0.5, 4.0, N)


def _ours(X, Y, w, loss):
    state = _training.new_state(SEED, [4, 6, Y.shape[1]], np.float64)
    initial = [p.copy() for p in state.params]
    hyper = {"activation": "relu", "optimizer": "sgd", "learning_rate": LR, "alpha": ALPHA,
             "dropout": 0.0, "loss": loss}
    schedule = _training.Schedule(epochs=1, batch_size=BATCH, tol=0.0, n_iter_no_change=10**9)
    _training.train(state, X, Y, w, hyper=hyper, schedule=schedule, seed=SEED)
    return initial, state.params


def _sklearn(initial, X, Y, w, alpha, lr):
    """MLPRegressor's weights after one SGD epoch from ``initial`` over our row order."""
    est = MLPRegressor(hidden_layer_sizes=(6,), alpha=alpha, solver="sgd", momentum=0.9,
                       nesterovs_momentum=False, learning_rate_init=lr, batch_size=BATCH,
                       shuffle=False, max_iter=1, random_state=0)
    order = stream(SEED, "shuffle", 0).permutation(N)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, Y)
        # copies: scikit-learn updates its weights in place
        est.coefs_ = [p.copy() for p in initial[0::2]]
        est.intercepts_ = [p.copy() for p in initial[1::2]]
        est.set_params(warm_start=True)
        est.fit(X[order], Y[order], sample_weight=w[order])
    return [p for pair in zip(est.coefs_, est.intercepts_) for p in pair]


def _same(ours, theirs):
    return all(np.allclose(a, b, rtol=1e-9, atol=1e-12) for a, b in zip(ours, theirs))


@pytest.mark.parametrize("loss", ["squared_error", "huber"])
def test_several_outputs_train_as_mlpregressor_with_the_same_alpha(data, loss):
    X, Y, w = data
    initial, ours = _ours(X, Y, w, loss)
    rate = {"squared_error": 2 * LR, "huber": LR}[loss] / K
    assert _same(ours, _sklearn(initial, X, Y, w, ALPHA, rate))
    # the penalty is seen: K times alpha (revision 2's strength) is another epoch
    assert not _same(ours, _sklearn(initial, X, Y, w, K * ALPHA, rate))


def test_l2_coefficient_divides_a_regression_penalty_by_its_outputs():
    assert _graph.l2_coefficient(0.3, "squared_error", 16, 3) == pytest.approx(0.3 / 48)
    assert _graph.l2_coefficient(0.3, "huber", 16, 3) == pytest.approx(0.15 / 48)
    assert _graph.l2_coefficient(0.3, "cross_entropy", 16, 3) == pytest.approx(0.15 / 16)


def test_model_of_a_multi_output_regressor_carries_the_per_output_coefficient(data):
    X, Y, _ = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = KerasMLPRegressor(hidden_units=4, epochs=1, alpha=0.3, batch_size=5,
                                random_state=0).fit(X.astype(np.float32), Y)
    squares = sum(float(np.sum(c.astype(np.float64) ** 2)) for c in reg.coefs_)
    assert float(sum(reg.model_.losses)) == pytest.approx(0.3 / (5 * K) * squares, rel=1e-5)


def test_entries_of_revision_2_are_not_loaded(data, tmp_path):
    """Revision 2 trained a multi-output regressor with K times the penalty: its entry (the
    current key with ``arithmetic`` 2) is retrained, not loaded."""
    X, Y, _ = data
    est = KerasMLPRegressor(hidden_units=4, epochs=1, batch_size=5, random_state=0,
                            cache_dir=str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, Y)
        (entry,) = glob.glob(str(tmp_path / "*" / "*.npz"))
        assert clone(est).fit(X, Y).n_epochs_trained_ == 0  # loads where it is
        fingerprint = data_fingerprint(X, Y, np.ones(N))  # the regressor's: X, targets, weights
        params = key_params(est.get_params())

        def cache(revision):
            return FitCache(str(tmp_path), {**params, "arithmetic": revision}, fingerprint,
                            resolve_seed(0))

        current, former = cache(_graph.ARITHMETIC_REVISION), cache(2)
        assert os.path.basename(entry).startswith(current.key)
        os.makedirs(former.folder, exist_ok=True)
        os.replace(entry, os.path.join(former.folder,
                                       os.path.basename(entry).replace(current.key, former.key)))
        assert clone(est).fit(X, Y).n_epochs_trained_ == 1  # trained again
