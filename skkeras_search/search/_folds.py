"""One set of cross-validation folds per search ``fit``.

scikit-learn's ``evaluate_candidates`` calls ``cv.split`` again on every
call. A search made of many calls (Hyperband's rounds, TPE's batches) would
then score each call on other folds whenever the splitter is random without
a seed (``KFold(shuffle=True)``, ``ShuffleSplit()``), compare candidates on
different rows, and defeat the fit cache (which keys on the training fold);
a splitter whose ``split`` can be iterated only once would fail on the second
call. ``RandomizedSearchCV`` splits once. :class:`FrozenFoldsMixin` does the
same for our searches: it materialises ``cv.split(X, y, groups)`` once, before
any fit, and hands scikit-learn those folds as ``cv`` (:class:`FrozenSplits`).
"""

import hashlib

import numpy as np
from sklearn.base import is_classifier
from sklearn.model_selection import check_cv
from sklearn.utils.metadata_routing import get_routing_for_object

from skkeras_search._core.validation import _check_method_params, _num_samples, indexable

__all__ = ["FrozenFoldsMixin", "FrozenSplits", "freeze_splits", "splits_digest"]


def splits_digest(splits, n_samples):
    """SHA-256 (hex) of the folds: the number of samples, then each fold's indices in order.

    Two searches with the same digest scored every candidate on the same rows.
    """
    h = hashlib.sha256(f"n_samples={int(n_samples)};n_splits={len(splits)}".encode())
    for train, test in splits:
        for part in (train, test):
            h.update(np.asarray(part, dtype=np.int64).tobytes())
            h.update(b"|")
    return h.hexdigest()


def freeze_splits(search, X, y, params):
    """The search's folds as a list of ``(train, test)`` index arrays, split once.

    Parameters
    ----------
    search : BaseSearchCV
        Its ``cv`` and ``estimator`` decide the splitter, as in scikit-learn.
    X, y : array-like
        The data given to ``fit``.
    params : dict
        ``fit``'s keyword arguments (``groups`` reaches the splitter, also
        with metadata routing).

    Returns
    -------
    splits : list of tuple of ndarray
    n_samples : int

    Raises
    ------
    ValueError
        If the splitter yields no fold.
    """
    X, y = indexable(X, y)
    params = _check_method_params(X, params=params)
    routed = search._get_routed_params_for_fit(params)
    cv = check_cv(search.cv, y, classifier=is_classifier(search.estimator))
    splits = [(np.asarray(train), np.asarray(test))
              for train, test in cv.split(X, y, **routed.splitter.split)]
    if not splits:
        raise ValueError(f"cv={search.cv!r} yielded no train/test split. Use a splitter that "
                         "yields at least one fold, e.g. cv=5.")
    return splits, _num_samples(X)


class FrozenSplits:
    """A splitter that yields the same folds at every call, and routes like the original.

    ``split`` ignores its arguments (``groups`` already shaped the folds), and
    ``get_metadata_routing`` is the original splitter's, so with metadata
    routing enabled ``groups`` is still requested and accepted.
    """

    def __init__(self, splits, cv):
        self.splits, self.cv = splits, cv

    def split(self, X=None, y=None, groups=None, **params):
        return iter(self.splits)

    def get_n_splits(self, X=None, y=None, groups=None, **params):
        return len(self.splits)

    def get_metadata_routing(self):
        return get_routing_for_object(self.cv)

    def __repr__(self):
        return f"FrozenSplits({self.cv!r}, n_splits={len(self.splits)})"


class FrozenFoldsMixin:
    """``fit`` that freezes the folds, then runs ``BaseSearchCV.fit`` on them.

    Sets ``cv_splits_digest_`` (see :func:`splits_digest`). Put it left of
    ``BaseSearchCV`` in the bases.
    """

    def fit(self, X, y=None, **params):
        self._validate_params()
        splits, n_samples = freeze_splits(self, X, y, params)
        original = self.cv
        self.cv = FrozenSplits(splits, original)  # every call sees these folds
        try:
            super().fit(X, y, **params)
        finally:
            self.cv = original
        self.cv_splits_digest_ = splits_digest(splits, n_samples)
        return self
