"""Hyperparameter search for Keras neural networks, inside scikit-learn.

The package face: every public name, nothing defined here. The wings behind
it never import each other (``mlp``, ``wrappers``, ``scikeras``, ``search``,
``datasets``); they stand on ``_core`` and ``exceptions``; ``cli`` sits on top.
``skkeras_search.scikeras`` (scikeras 0.13's API) is imported by its own path,
as scikeras was: ``from skkeras_search.scikeras.wrappers import KerasClassifier``.

Each name is imported on first use (``from skkeras_search import X`` works
as before): ``import skkeras_search`` imports neither scikit-learn nor
TensorFlow, which lets the ``skkeras-search`` command read its flags first.
0.2's module paths (``skkeras_search._classifier`` and the like, which its
pickles name) stay importable; they load today's modules on first use.
"""

from skkeras_search._core.backend import lazy_exports
from skkeras_search._version import __version__

#: Each public name -> the module that holds it.
_EXPORTS = {
    "KerasMLPClassifier": "skkeras_search.mlp",
    "KerasMLPRegressor": "skkeras_search.mlp",
    "KerasClassifier": "skkeras_search.wrappers",  # no TensorFlow import until a fit
    "KerasRegressor": "skkeras_search.wrappers",
    "ASHASearchCV": "skkeras_search.search",
    "HyperbandSearchCV": "skkeras_search.search",
    "TPESearchCV": "skkeras_search.search",
    "TrainingDivergedError": "skkeras_search.exceptions",
    "int_range": "skkeras_search.space",
    "log_uniform": "skkeras_search.space",
    "paper_grid": "skkeras_search.space",
    "paper_space": "skkeras_search.space",
    "tabular_space": "skkeras_search.space",
}

#: 0.2's module paths (its pickles name them) -> the module holding their classes today;
#: ``skkeras_search._flat_layout.FLAT_MODULES`` is the same table, as imported modules.
_OLD_PATHS = {
    "_base": "skkeras_search.mlp._base",
    "_classifier": "skkeras_search.mlp._classifier",
    "_regressor": "skkeras_search.mlp._regressor",
    "_training": "skkeras_search.mlp._training",
    "_preprocessing": "skkeras_search.datasets._preprocessing",
    "_keras_fit": "skkeras_search.wrappers._keras_fit",  # KerasClassifier/KerasRegressor pickles
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, aliases=_OLD_PATHS)

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
