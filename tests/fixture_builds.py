"""Build functions of the committed wrapper pickles in ``tests/fixtures/`` (pickled by reference)."""

import keras


def small_classifier(hidden_units=8):
    """A one-hidden-layer softmax classifier for 5 features and 3 classes."""
    return keras.Sequential([
        keras.Input((5,)),
        keras.layers.Dense(hidden_units, activation="relu"),
        keras.layers.Dense(3, activation="softmax"),
    ])


def small_regressor(hidden_units=8):
    """A one-hidden-layer linear-output regressor for 5 features."""
    return keras.Sequential([
        keras.Input((5,)),
        keras.layers.Dense(hidden_units, activation="relu"),
        keras.layers.Dense(1),
    ])
