"""The one early-stopping hold-out of the MLP and the wrappers (``holdout_split``)."""

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from skkeras_search._core.seeding import stream
from skkeras_search._core.validation import holdout_split


def data(n=50, n_classes=3):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 4)), np.arange(n) % n_classes, rng.uniform(size=n)


def test_the_split_is_train_test_split_on_the_seeds_split_stream():
    X, y, w = data()
    (Xt, yt, wt), (Xv, yv, wv) = holdout_split(X, y, w, fraction=0.2, seed=7, stratify=True)
    expected = train_test_split(X, y, w, test_size=0.2, stratify=y,
                                random_state=int(stream(7, "split").integers(2**31)))
    for got, want in zip((Xt, Xv, yt, yv, wt, wv), expected):
        assert np.array_equal(got, want)
    assert len(yv) == 10 and sorted(np.bincount(yv)) == [3, 3, 4]  # stratified


def test_without_weights_both_parts_carry_none():
    X, y, _ = data()
    train, validation = holdout_split(X, y, fraction=0.1, seed=0)
    assert train[2] is None and validation[2] is None
    assert len(train[0]) == 45 and len(validation[0]) == 5


def test_a_class_too_rare_to_stratify_gives_a_plain_split():
    X, y, w = data(n=20)
    y = y.copy()
    y[0] = 9  # a class of one sample
    got = holdout_split(X, y, w, fraction=0.25, seed=1, stratify=True)
    plain = holdout_split(X, y, w, fraction=0.25, seed=1, stratify=False)
    for a, b in zip(got[0] + got[1], plain[0] + plain[1]):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("fraction, fix", [(0.01, "Increase"), (0.99, "Lower")])
def test_a_side_below_min_size_is_refused_naming_the_fix(fraction, fix):
    X, y, w = data(n=20)
    with pytest.raises(ValueError, match=f"validation_fraction={fraction!r} holds out .* {fix} "
                                         "validation_fraction"):
        holdout_split(X, y, w, fraction=fraction, seed=0, min_size=2)
