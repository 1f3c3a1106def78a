"""The wrappers of ``scikeras.wrappers``: ``KerasClassifier``, ``KerasRegressor``, ``BaseWrapper``.

``from skkeras_search.scikeras.wrappers import KerasClassifier`` replaces
``from scikeras.wrappers import KerasClassifier``: same parameters, routing,
``meta``, ``history_``, ``partial_fit``, encoders and pickling, on
scikit-learn 1.6 and later and Keras 3, with deterministic ``random_state``
and compiled models reused across the fits of a search.
"""

from skkeras_search.scikeras._base import BaseWrapper
from skkeras_search.scikeras._estimators import KerasClassifier, KerasRegressor

__all__ = ["BaseWrapper", "KerasClassifier", "KerasRegressor"]
