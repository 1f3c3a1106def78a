"""The parameters and attributes both wrappers document, in numpydoc (one text for both)."""

__all__ = ["COMMON_DOC", "ATTRS_DOC"]

COMMON_DOC = """
    model : callable
        Function that builds and returns a ``keras.Model``. Its keyword
        arguments with defaults become parameters of this estimator (searchable
        by name); arguments named ``input_shape`` (the shape of one sample, a
        tuple) and ``{data}`` are filled in from the training data. If the
        model it returns is compiled, it is trained with its own optimizer,
        loss and metrics (what Keras users expect); if not, it is compiled
        with ``optimizer``, ``learning_rate`` and {loss}.
    optimizer : str, default='adam'
        Keras optimizer name, used only when ``model`` returns an uncompiled
        model (a build function may declare ``optimizer`` itself).
    learning_rate : float, default=1e-3
        Step size of that optimizer. Ignored when ``model`` compiles, unless
        the build function declares ``learning_rate`` itself, in which case it
        is the build function's parameter.
    epochs : int, default=10
        Passes over the training data (Keras's ``epochs``). Hyperband searches
        set it per budget.
    batch_size : int, default=32
        Minibatch size (Keras's); a batch larger than the training data is the
        whole training data.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data{strat} and stop
        when the validation loss has not improved by ``tol`` for
        ``n_iter_no_change`` epochs, keeping the best weights (Keras's
        ``EarlyStopping(restore_best_weights=True)``).
    validation_fraction : float, default=0.1
        Fraction held out for early stopping. Ignored unless
        ``early_stopping=True``.
    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs. Ignored unless
        ``early_stopping=True``.
    tol : float, default=1e-4
        Smallest decrease of the validation loss that counts as an
        improvement. Ignored unless ``early_stopping=True``.{extra}
    warm_start : bool, default=False
        When True and the estimator is fitted with the same parameters and
        input shape, ``fit`` trains ``epochs`` more epochs from the current
        weights and optimizer state.
    random_state : int, RandomState instance or None, default=None
        Seeds the build (weight initialisation and dropout seeds, through
        ``keras.utils.set_random_seed``), the validation split and the
        per-epoch shuffle. The caller's Python and NumPy global RNG states are
        left unchanged. An int gives identical predictions on CPU, in any
        process.
    verbose : int, default=0
        Keras's one line per epoch (``verbose=2``) when positive.
    callbacks : list of keras.callbacks.Callback, or of their classes, default=None
        Keras callbacks passed to every ``Model.fit`` (and ``partial_fit``
        call), after the package's own. Each fit gets deep copies of the
        instances (as ``sklearn.base.clone`` makes) and new instances of the
        classes, so the objects given here are never changed by a fit and no
        state (``EarlyStopping``'s best weights, patience counter) passes from
        one fit to the next. ``EarlyStopping(restore_best_weights=True)``
        works: the restored weights are the ones kept and predicted with. It
        monitors ``val_loss`` by default, which exists only with
        ``early_stopping=True`` (the hold-out); monitor ``'loss'`` otherwise.
        A fit with callbacks is not cached (``cache_dir`` is ignored, with a
        warning): callbacks may change what is trained in ways the cache key
        cannot see, and have effects (files, logs) a cached fit would skip.
        Raises TypeError at fit for an item that is not a Keras callback.
    cache_dir : str or None, default=None
        Folder of a fit cache shared by the fits of a search (used only with
        an int ``random_state``, ``warm_start=False``, no ``callbacks``, and
        not by ``partial_fit``). A fit whose
        parameters, data and seed match a cached one loads it; one asking for
        more ``epochs`` continues it from its weights, optimizer state and
        dropout seed state, training only the extra epochs, bit-identical to
        training from scratch on CPU (needs ``early_stopping=False``). The
        build function is keyed by its module, name, code, defaults, the
        values its closure captured and the network it builds (layers, their
        configs and shapes, the compiled optimizer and loss); the code of
        functions and layer classes it uses is not looked into, so clear the
        cache after editing those. Entries are ``.npz`` files, read without
        pickle.
"""

ATTRS_DOC = """
    n_features_in_ : int
        ``X.shape[1]`` at fit (for images, their height).
    input_shape_ : tuple of int
        Shape of one training sample, ``X.shape[1:]``.
    history_ : dict of list of float
        Keras's ``History.history``: per-epoch loss (and ``val_loss`` with
        early stopping, and compiled metrics).
    n_iter_ : int
        Epochs trained in all (including continued ones).
    n_epochs_trained_ : int
        Epochs trained by the last call to ``fit``: 0 when the fit cache
        supplied the weights, the extra epochs when a cached shorter fit was
        continued, fewer than ``epochs`` when early stopping ended it.
    model_ : keras.Model
        The fitted network, a compiled model of its own (built on first
        access, never one the pool shares): the trained weights, and the
        optimizer with its trained state (``model_.optimizer.iterations``),
        compiled with the loss the fits used, so ``model_.evaluate(X,
        y_encoded)``, ``model_.predict(X)`` and ``model_.fit`` work. Targets
        for ``evaluate`` are encoded as in training (class indices, one-hot
        for a ``categorical_crossentropy`` model, 0/1 columns for multilabel).
"""
