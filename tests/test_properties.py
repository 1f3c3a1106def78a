"""Hypothesis property tests of KerasMLPClassifier on small random problems."""

import pickle

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.base import clone

from skkeras_search import KerasMLPClassifier


@st.composite
def problems(draw):
    n_classes = draw(st.integers(2, 4))
    n_samples = draw(st.integers(n_classes * 2, 30))
    n_features = draw(st.integers(1, 6))
    X = draw(
        arrays(
            np.float64,
            (n_samples, n_features),
            elements=st.floats(-10, 10, allow_nan=False, allow_infinity=False, width=32),
        )
    )
    perm = draw(st.permutations(range(n_samples)))
    y = (np.arange(n_samples) % n_classes)[list(perm)]  # every class present
    return X, y


def est(**params):
    defaults = dict(hidden_units=4, epochs=2, learning_rate=0.01, random_state=0)
    return KerasMLPClassifier(**{**defaults, **params})


@given(problems(), st.integers(0, 2**31 - 1))
def test_probabilities_are_a_distribution_and_predict_is_their_argmax(problem, seed):
    X, y = problem
    clf = est(random_state=seed).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), len(np.unique(y)))
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert np.array_equal(clf.predict(X), clf.classes_[np.argmax(proba, axis=1)])


@given(problems(), st.lists(st.integers(-1000, 1000), min_size=4, max_size=4, unique=True))
def test_order_preserving_relabelling_only_relabels(problem, new_labels):
    X, y = problem
    new_labels = np.sort(new_labels)  # an increasing map 0..3 -> new_labels
    base = est().fit(X, y)
    relabelled = est().fit(X, new_labels[y])
    assert np.array_equal(relabelled.predict(X), new_labels[base.predict(X)])
    assert np.array_equal(relabelled.predict_proba(X), base.predict_proba(X))


@given(problems(), st.integers(0, 2**31 - 1), st.sampled_from([0.0, 0.3]))
def test_same_random_state_same_outputs(problem, seed, dropout):
    X, y = problem
    a = est(random_state=seed, dropout=dropout).fit(X, y)
    b = clone(a).fit(X, y)
    assert np.array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.loss_curve_ == b.loss_curve_


@given(
    st.integers(1, 512),
    st.integers(1, 4),
    st.sampled_from(["relu", "tanh", "logistic", "identity"]),
    st.floats(1e-6, 1.0),
    st.one_of(st.just("auto"), st.integers(1, 1000)),
)
def test_clone_and_params_roundtrip(hidden_units, n_layers, activation, lr, batch_size):
    clf = KerasMLPClassifier(
        hidden_units=hidden_units, n_layers=n_layers, activation=activation,
        learning_rate=lr, batch_size=batch_size,
    )
    assert clone(clf).get_params() == clf.get_params()
    other = KerasMLPClassifier().set_params(**clf.get_params())
    assert other.get_params() == clf.get_params()


@given(problems())
def test_pickle_roundtrip_preserves_predictions(problem):
    X, y = problem
    clf = est().fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    assert np.array_equal(again.predict_proba(X), clf.predict_proba(X))
    assert np.array_equal(again.predict(X), clf.predict(X))


@given(problems())
def test_fit_leaves_numpy_global_rng_unchanged(problem):
    X, y = problem
    before = np.random.get_state()
    est(random_state=None).fit(X, y)
    after = np.random.get_state()
    assert before[0] == after[0] and np.array_equal(before[1], after[1]) and before[2:] == after[2:]
