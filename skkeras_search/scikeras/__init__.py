"""scikeras 0.13's public API on current scikit-learn and Keras 3.

Migrating from scikeras is changing ``scikeras`` to ``skkeras_search.scikeras``
in the imports.
"""
