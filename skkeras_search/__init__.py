"""Hyperparameter search for Keras neural networks, inside scikit-learn."""

from ._classifier import KerasMLPClassifier
from ._training import TrainingDivergedError

__version__ = "0.1.0"

__all__ = ["KerasMLPClassifier", "TrainingDivergedError", "__version__"]
