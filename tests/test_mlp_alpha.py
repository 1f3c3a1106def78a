"""``alpha`` is scikit-learn's: MLPClassifier's and MLPRegressor's L2 term, batch by batch.

scikit-learn adds ``0.5 * alpha * sum(W**2) / sw_sum`` to each batch's loss (``_backprop`` in
``sklearn/neural_network/_multilayer_perceptron.py``; ``sw_sum`` is the batch's rows, or its
sum of sample weights as given), on the weights before the batch's update. Its SGD with
``momentum=0.9, nesterovs_momentum=False`` is Keras's momentum update, so one epoch of both
from the same weights over the same row order must end with the same float64 weights: with a
partial last batch (10 rows in batches of 4), with and without sample weights. Keras's own
``L2`` on the converted coefficient: tests/test_keras_parity.py.
"""

import glob
import os
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

from skkeras_search import KerasMLPClassifier, KerasMLPRegressor
from skkeras_search._core.fit_cache import FitCache, data_fingerprint, key_params
from skkeras_search._core.seeding import resolve_seed, stream
from skkeras_search.mlp import _graph, _training

N, BATCH, LR, SEED = 10, 4, 0.1, 0
SIZES = [4, 6, 3]
ALPHA = 0.5  # large enough that a wrong penalty moves the weights far beyond the tolerance


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(N, SIZES[0]))
    y = np.r_[0, 1, 2, rng.randint(0, 3, N - 3)]
    w = rng.uniform(0.5, 4.0, N)  # mean about 2: the weights' scale sets the penalty
    return X, y, w


def _ours(X, y, w, alpha, loss="cross_entropy", lr=LR):
    """Initial weights and ours after one SGD epoch in our row order; and the loss curve."""
    sizes = SIZES if loss == "cross_entropy" else [SIZES[0], SIZES[1], 1]
    state = _training.new_state(SEED, sizes, np.float64)
    initial = [p.copy() for p in state.params]
    hyper = {"activation": "relu", "optimizer": "sgd", "learning_rate": lr, "alpha": alpha,
             "dropout": 0.0, "loss": loss}
    schedule = _training.Schedule(epochs=1, batch_size=BATCH, tol=0.0, n_iter_no_change=10**9)
    history = _training.train(state, X, y, w, hyper=hyper, schedule=schedule, seed=SEED)
    return initial, state.params, history.loss_curve


def _sklearn(cls, initial, X, y, w, alpha, lr=LR):
    """scikit-learn's weights after one SGD epoch from ``initial`` over our row order."""
    est = cls(hidden_layer_sizes=(SIZES[1],), alpha=alpha, solver="sgd", momentum=0.9,
              nesterovs_momentum=False, learning_rate_init=lr, batch_size=BATCH, shuffle=False,
              max_iter=1, random_state=0)
    order = stream(SEED, "shuffle", 0).permutation(N)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)  # sets up its layers; the weights are replaced next
        est.coefs_, est.intercepts_ = list(initial[0::2]), list(initial[1::2])
        est.set_params(warm_start=True)  # keeps the weights, starts a fresh optimizer
        est.fit(X[order], y[order], sample_weight=None if w is None else w[order])
    return [p for pair in zip(est.coefs_, est.intercepts_) for p in pair], est.loss_curve_[-1]


def _same(ours, theirs):
    return all(np.allclose(a, b, rtol=1e-9, atol=1e-12) for a, b in zip(ours, theirs))


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weight"])
def test_penalty_is_mlpclassifiers_batch_by_batch(data, weighted):
    X, y, w = data
    w = w if weighted else None
    ones = np.ones(N)
    initial, ours, _ = _ours(X, y.astype(np.int32), ones if w is None else w, ALPHA)
    theirs, _ = _sklearn(MLPClassifier, initial, X, y, w, ALPHA)
    assert _same(ours, theirs)
    _, unpenalised, _ = _ours(X, y.astype(np.int32), ones if w is None else w, 0.0)
    assert not _same(unpenalised, theirs)  # the penalty is seen


def test_loss_curve_is_mlpclassifiers_loss(data):
    """Each batch's loss with its L2 term, averaged over rows; the term on the epoch's last
    weights (MLPClassifier: on each batch's), so equal where the weights stay put."""
    X, y, _ = data
    _, _, curve = _ours(X, y.astype(np.int32), np.ones(N), ALPHA, lr=1e-12)
    initial, _, _ = _ours(X, y.astype(np.int32), np.ones(N), ALPHA)
    _, their_loss = _sklearn(MLPClassifier, initial, X, y, None, ALPHA, lr=1e-12)
    assert curve[0] == pytest.approx(their_loss, rel=1e-9)
    _, _, unpenalised = _ours(X, y.astype(np.int32), np.ones(N), 0.0, lr=1e-12)
    assert curve[0] - unpenalised[0] > 1e-3  # the penalty is in it


@pytest.mark.parametrize("loss", ["squared_error", "huber"])
def test_penalty_keeps_mlpregressors_strength_relative_to_the_data(data, loss):
    """Keras's MSE is twice MLPRegressor's squared loss, so the whole objective is twice its
    own (alpha's term too): ours at rate lr is MLPRegressor at 2 lr. Huber is half the squared
    error below delta=1, so on residuals below 1 it is MLPRegressor's at the same rate."""
    X, _, w = data
    X = 0.1 * X  # small inputs and targets: every residual stays below Huber's delta
    y = 0.2 * X[:, 0] - 0.1 * X[:, 1]
    initial, ours, _ = _ours(X, y[:, None], w, ALPHA, loss)
    W1, b1, W2, b2 = initial
    assert np.abs(np.maximum(X @ W1 + b1, 0) @ W2 + b2 - y[:, None]).max() < 0.8
    rate = {"squared_error": 2 * LR, "huber": LR}[loss]
    theirs, _ = _sklearn(MLPRegressor, initial, X, y, w, ALPHA, lr=rate)
    assert _same(ours, theirs)
    wrong = {"squared_error": ALPHA / 2, "huber": 2 * ALPHA}[loss]  # the other loss's factor
    assert not _same(ours, _sklearn(MLPRegressor, initial, X, y, w, wrong, lr=rate)[0])


def test_l2_coefficient_is_per_unit_of_batch_weight():
    assert _graph.l2_coefficient(1e-4, "cross_entropy", 128) == pytest.approx(1e-4 / 256)
    assert _graph.l2_coefficient(1e-4, "huber", 128) == pytest.approx(1e-4 / 256)
    assert _graph.l2_coefficient(1e-4, "squared_error", 128) == pytest.approx(1e-4 / 128)


def test_the_scale_of_sample_weight_sets_the_penalty_and_keys_the_cache(tiny, tmp_path):
    X, y = tiny
    w = np.linspace(0.5, 1.5, len(y))

    def fit(weights, alpha):
        est = KerasMLPClassifier(hidden_units=4, epochs=2, alpha=alpha, batch_size=20,
                                 random_state=0, cache_dir=str(tmp_path / str(alpha)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return est.fit(X, y, sample_weight=weights)

    base, tripled = fit(w, 10.0), fit(3 * w, 10.0)
    assert tripled.n_epochs_trained_ == 2  # trained: the scale is part of the cache key
    assert not np.allclose(base.coefs_[0], tripled.coefs_[0], rtol=1e-4)  # a third the penalty
    plain, plain_tripled = fit(w, 0.0), fit(3 * w, 0.0)
    for a, b in zip(plain.coefs_, plain_tripled.coefs_):  # without alpha the scale is moot
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_model_carries_the_converted_coefficient(tiny):
    """Keras's L2(alpha / batch_size) for the mean squared error (the classifier's
    0.5 * alpha / batch_size with batch_size='auto': tests/test_persistence.py)."""
    X, y = tiny
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = KerasMLPRegressor(hidden_units=4, epochs=1, alpha=0.3, batch_size=16,
                                random_state=0).fit(X.astype(np.float32), y)
    squares = sum(float(np.sum(c.astype(np.float64) ** 2)) for c in reg.coefs_)
    assert float(sum(reg.model_.losses)) == pytest.approx(0.3 / 16 * squares, rel=1e-5)


def test_cache_entries_of_the_former_alpha_are_not_loaded(tiny, tmp_path):
    """An entry stored under the key the code computed when alpha was Keras's L2(alpha)
    (the same key without the arithmetic revision) is retrained, not loaded."""
    X, y = tiny
    est = KerasMLPClassifier(hidden_units=4, epochs=2, random_state=0, cache_dir=str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
        (entry,) = glob.glob(str(tmp_path / "*" / "*.npz"))
        assert clone(est).fit(X, y).n_epochs_trained_ == 0  # the entry loads where it is
        labels = np.unique(y)  # the classifier's fingerprint: X, codes, weights, labels
        fingerprint = data_fingerprint(X, np.searchsorted(labels, y).astype(np.int32),
                                       np.ones(len(y)), labels)
        params = key_params(est.get_params())

        def key(params):
            return FitCache(str(tmp_path), params, fingerprint, resolve_seed(0))

        current = key({**params, "arithmetic": _graph.ARITHMETIC_REVISION})
        assert os.path.basename(entry).startswith(current.key)  # the recipe is the estimator's
        former = key(params)
        os.makedirs(former.folder, exist_ok=True)
        os.replace(entry, os.path.join(former.folder,
                                       os.path.basename(entry).replace(current.key, former.key)))
        assert clone(est).fit(X, y).n_epochs_trained_ == 2  # trained again
