"""The module paths of release 0.2 (the flat layout), for the pickles it wrote.

A pickle names each class by its module path; those written by 0.2 name
``skkeras_search._classifier``, ``skkeras_search._training`` and the like.
Each old path is registered as another name of the module that holds the
class today when the package is imported (unpickling imports it first), so
those pickles load and predict as before. Saved-model folders of format 2
are mapped in :mod:`skkeras_search.persistence` instead: skops reads names
from the file and imports nothing it was not told to trust.
"""

import sys

from skkeras_search.datasets import _preprocessing
from skkeras_search.mlp import _base, _classifier, _regressor, _training
from skkeras_search.wrappers import _keras_fit

#: 0.2's module name -> the module holding its classes today.
FLAT_MODULES = {
    "_base": _base,
    "_classifier": _classifier,
    "_regressor": _regressor,
    "_training": _training,
    "_preprocessing": _preprocessing,
    "_keras_fit": _keras_fit,  # KerasClassifier/KerasRegressor pickles name its Spec
}

for _name, _module in FLAT_MODULES.items():
    sys.modules.setdefault(f"{__name__.rpartition('.')[0]}.{_name}", _module)
