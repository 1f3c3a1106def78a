"""Build the Keras model that holds a fitted MLP's weights."""

from skkeras_search._core import backend as _backend
from skkeras_search.mlp._graph import ACTIVATIONS, l2_coefficient

__all__ = ["build_mlp"]


def build_mlp(coefs, intercepts, activation, dropout, learning_rate, optimizer, seed, alpha=0.0,
              loss="cross_entropy", weight_decay=0.0, batch_size=200):
    """Return a compiled ``keras.Sequential`` MLP carrying the given weights.

    Parameters
    ----------
    coefs, intercepts : list of ndarray
        Kernels and biases, input layer first; their dtype sets the model's.
    activation : {'relu', 'tanh', 'logistic', 'identity'}
        Hidden-layer activation; the output layer is softmax for
        ``loss='cross_entropy'``, linear otherwise.
    dropout : float
        Dropout rate after each hidden layer (inactive at inference).
    learning_rate : float
        Learning rate of the optimizer the model is compiled with.
    optimizer : {'adam', 'adamw', 'sgd', 'rmsprop'}
        Optimizer the model is compiled with, so that ``model.fit`` works,
        at a constant ``learning_rate`` (a fresh optimizer: training's
        schedule, if any, is not carried over).
    seed : int
        Seed of the dropout layers.
    alpha : float, default=0.0
        scikit-learn's MLPClassifier ``alpha``, as in training, given to every
        kernel as ``keras.regularizers.L2(l2)`` with ``l2 =
        _graph.l2_coefficient(alpha, loss, batch_size, n_outputs)`` (``0.5 *
        alpha / batch_size``; ``alpha / batch_size`` for the mean squared
        error; a regression loss's divided by its outputs).
        Keras's ``L2`` is the same on every batch whatever its rows or sample
        weights, so ``model.fit`` follows training's objective exactly only
        on unweighted batches of ``batch_size`` rows: training penalised a
        smaller last batch more, and a weighted batch by its weight sum
        (Keras also divides a weighted data loss by the rows, not the weights).
        Only when the weights' dtype is Keras's floatx (float32 by default):
        Keras cannot add a float64 penalty to its float32 loss.
    loss : {'cross_entropy', 'squared_error', 'huber'}, default='cross_entropy'
        The training loss, as Keras's ``sparse_categorical_crossentropy``,
        ``mean_squared_error`` or ``Huber()`` (without label smoothing,
        which Keras's sparse cross-entropy does not take).
    weight_decay : float, default=0.0
        The optimizer's decoupled weight decay (Keras's ``weight_decay``
        argument, every weight decayed); 0 leaves it out.
    batch_size : int, default=200
        Rows of a full training batch, which ``alpha``'s coefficient is for
        (the fit's resolved batch size).

    Returns
    -------
    model : keras.Sequential
    """
    keras = _backend.keras()
    dtype = str(coefs[0].dtype)

    def l2():
        # Keras adds regularisation losses in its floatx; a penalty of another
        # dtype (a float64 model under float32 floatx) would break model.fit.
        same_dtype = dtype == keras.config.floatx()
        if not (alpha > 0 and same_dtype):
            return None
        return keras.regularizers.L2(l2_coefficient(alpha, loss, batch_size,
                                                    coefs[-1].shape[1]))

    layers = [keras.Input(shape=(coefs[0].shape[0],), dtype=dtype)]
    for i, kernel in enumerate(coefs[:-1]):
        layers.append(
            keras.layers.Dense(
                kernel.shape[1],
                activation=ACTIVATIONS[activation],
                kernel_initializer="zeros",  # overwritten below; draws no random numbers
                kernel_regularizer=l2(),
                dtype=dtype,
                name=f"hidden_{i + 1}",
            )
        )
        if dropout > 0:
            layers.append(keras.layers.Dropout(dropout, seed=seed + i, dtype=dtype))
    layers.append(
        keras.layers.Dense(
            coefs[-1].shape[1],
            activation="softmax" if loss == "cross_entropy" else "linear",
            kernel_initializer="zeros",
            kernel_regularizer=l2(),
            dtype=dtype,
            name="output",
        )
    )
    model = keras.Sequential(layers, name="mlp")
    weights = [w for pair in zip(coefs, intercepts) for w in pair]
    model.set_weights(weights)
    decay = float(weight_decay) if weight_decay > 0 else None
    opt = {
        "adam": lambda: keras.optimizers.Adam(float(learning_rate), weight_decay=decay),
        # AdamW refuses weight_decay=None; 0.0 decays by nothing
        "adamw": lambda: keras.optimizers.AdamW(float(learning_rate),
                                                weight_decay=float(weight_decay)),
        "sgd": lambda: keras.optimizers.SGD(float(learning_rate), momentum=0.9,
                                            weight_decay=decay),
        "rmsprop": lambda: keras.optimizers.RMSprop(float(learning_rate), weight_decay=decay),
    }[optimizer]
    model.compile(
        optimizer=opt(),
        loss={"cross_entropy": "sparse_categorical_crossentropy",
              "squared_error": "mean_squared_error",
              "huber": keras.losses.Huber()}[loss],
        metrics=["accuracy"] if loss == "cross_entropy" else ["mean_absolute_error"],
    )
    return model
