"""The built-in estimators: a Keras multilayer perceptron trained by one compiled epoch function.

``KerasMLPClassifier`` and ``KerasMLPRegressor`` share ``_base`` (parameters,
validation, the fit cache's use) and the engine: ``_graph`` (the compiled
epoch function), ``_training`` (the epoch loop, early stopping, divergence)
and ``_model`` (the equivalent ``keras.Model`` kept as ``model_``).
"""

from skkeras_search.mlp._classifier import KerasMLPClassifier
from skkeras_search.mlp._regressor import KerasMLPRegressor

__all__ = ["KerasMLPClassifier", "KerasMLPRegressor"]
