"""The ground floor: what every wing stands on, importing nothing of ours but ``_version``
and ``exceptions``.

``backend`` (TensorFlow and Keras, imported lazily and thread-capped),
``seeding`` (one seed discipline), ``validation`` (the one home of
scikit-learn's private imports, and the rules every estimator shares: class
weights, the early-stopping hold-out), ``fit_cache`` (which fits may use the
cache and what keys them, and a store of named arrays plus JSON),
``divergence`` (when training has diverged), ``files`` (atomic writes,
JSON values), ``architecture`` and ``keras_state`` (facts about Keras models,
seeded builds) and ``devices`` (the GPUs there are, and a worker's pinned
environment, without importing TensorFlow).
"""
