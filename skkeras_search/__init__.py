"""Hyperparameter search for Keras neural networks, inside scikit-learn.

The package face: every public name, nothing defined here. The wings behind
it never import each other (``mlp``, ``wrappers``, ``scikeras``, ``search``,
``datasets``); they stand on ``_core`` and ``exceptions``; ``cli`` sits on top.
``skkeras_search.scikeras`` (scikeras 0.13's API) is imported by its own path,
as scikeras was: ``from skkeras_search.scikeras.wrappers import KerasClassifier``.
"""

from skkeras_search import _flat_layout  # noqa: F401 - 0.2's module paths, for its pickles
from skkeras_search._version import __version__
from skkeras_search.exceptions import TrainingDivergedError
from skkeras_search.mlp import KerasMLPClassifier, KerasMLPRegressor
from skkeras_search.search import ASHASearchCV, HyperbandSearchCV, TPESearchCV
from skkeras_search.space import int_range, log_uniform, paper_grid, paper_space, tabular_space
from skkeras_search.wrappers import KerasClassifier, KerasRegressor  # no TensorFlow import until a fit

__all__ = [
    "KerasMLPClassifier",
    "KerasMLPRegressor",
    "KerasClassifier",
    "KerasRegressor",
    "ASHASearchCV",
    "HyperbandSearchCV",
    "TPESearchCV",
    "TrainingDivergedError",
    "int_range",
    "log_uniform",
    "paper_grid",
    "paper_space",
    "tabular_space",
    "__version__",
]
