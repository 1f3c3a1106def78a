"""scikeras 0.13's public API on current scikit-learn and Keras 3: change the import.

``from skkeras_search.scikeras.wrappers import KerasClassifier`` replaces
``from scikeras.wrappers import KerasClassifier``; the same holds for
``KerasRegressor``, ``BaseWrapper``, ``scikeras.utils`` (``loss_name``,
``metric_name``), ``scikeras.utils.transformers`` and
``scikeras.utils.random_state``. The wrappers add deterministic seeds that leave
global generators alone, compiled models reused across a search's fits, and
``cache_dir`` (see the README's "Coming from scikeras").

The rooms: ``wrappers`` (the public classes) over ``_base`` (parameters,
state, the API), ``_building`` (build function, compile, pickling),
``_fitting`` (the steps of fit and predict), ``_routing`` (routed
parameters), ``_data`` (checks of X, y, sample_weight), ``_pool`` (compiled
models kept for reuse), ``_cache`` (the fit cache) and ``_history``.
"""
