"""The built-in estimators: a Keras multilayer perceptron trained by one compiled epoch function.

``KerasMLPClassifier`` and ``KerasMLPRegressor`` share ``_base`` (parameters,
validation, the fit modes, the fit cache's use), ``_cached_state`` (the
training state as a fit-cache entry and back) and the engine: ``_graph``
(the compiled epoch function and its runner), ``_training`` (the epoch loop,
early stopping, divergence) and ``_model`` (the equivalent ``keras.Model``
kept as ``model_``).
"""

from skkeras_search.mlp._classifier import KerasMLPClassifier
from skkeras_search.mlp._regressor import KerasMLPRegressor

__all__ = ["KerasMLPClassifier", "KerasMLPRegressor"]
