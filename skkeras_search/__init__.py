"""Hyperparameter search for Keras neural networks, inside scikit-learn."""

from ._classifier import KerasMLPClassifier
from ._regressor import KerasMLPRegressor
from ._training import TrainingDivergedError
from .search import HyperbandSearchCV, TPESearchCV
from .space import int_range, log_uniform, paper_grid, paper_space
from .wrappers import KerasClassifier, KerasRegressor  # no TensorFlow import until a fit

__version__ = "0.2.0"

__all__ = [
    "KerasMLPClassifier",
    "KerasMLPRegressor",
    "KerasClassifier",
    "KerasRegressor",
    "HyperbandSearchCV",
    "TPESearchCV",
    "TrainingDivergedError",
    "int_range",
    "log_uniform",
    "paper_grid",
    "paper_space",
    "__version__",
]
