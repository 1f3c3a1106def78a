"""Your own Keras model as a scikit-learn estimator: ``KerasClassifier`` and ``KerasRegressor``.

``_factory`` makes one estimator class per build function (so the
function's keyword arguments are real parameters), ``_base`` holds what the
two estimators share (parameters, the fit), ``_estimators`` the two
estimators (``_targets`` the classifier's labels and multilabel targets,
``_docs`` the parameters' documentation), ``_keras_fit`` trains and predicts
with a compiled ``keras.Model`` kept warm per architecture (``_core.keras_state``
keeps Keras's global names and seeds steady around its builds),
``_callbacks`` gives each fit fresh copies of the user's Keras callbacks,
``_cached_fit`` turns a fit into a fit-cache entry and back, and ``_checks``
refuses models the fit cache or the predictions could not trust.
"""

from skkeras_search.wrappers._estimators import KerasClassifier, KerasRegressor
from skkeras_search.wrappers._factory import _instance_of  # noqa: F401 - see below

__all__ = ["KerasClassifier", "KerasRegressor"]

# Pickles made by release 0.2 name ``skkeras_search.wrappers._instance_of`` (imported
# above); its other old paths are in ``skkeras_search._flat_layout``.
