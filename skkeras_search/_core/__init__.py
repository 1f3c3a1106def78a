"""The ground floor: what every wing stands on, importing nothing of ours but ``_version``
and ``exceptions``.

``backend`` (TensorFlow and Keras, imported lazily and thread-capped),
``seeding`` (one seed discipline), ``validation`` (the one home of
scikit-learn's private imports), ``fit_cache`` (a store of named arrays plus
JSON) and ``files`` (atomic writes, JSON values).
"""
