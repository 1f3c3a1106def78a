"""Save a fitted model safely (Keras ``.keras`` plus JSON) and load it back.

Nothing is pickled: the network is a ``.keras`` archive loaded with Keras's
``safe_mode=True``, and everything else (classes, feature scaling, the
parameters) is plain JSON, so a saved model from an untrusted source cannot
run code when loaded.

>>> from skkeras_search.persistence import load_model  # doctest: +SKIP
>>> model = load_model("skkeras-search-out/best_model")  # doctest: +SKIP
>>> model.predict(X_raw)  # raw features, scaled as in training  # doctest: +SKIP
"""

import json
import os

import numpy as np

from . import _backend

__all__ = ["save_model", "load_model", "SavedModel"]

FORMAT_VERSION = 1


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def save_model(path, estimator, scaling=None, extra=None):
    """Write ``path/model.keras`` and ``path/metadata.json``.

    Parameters
    ----------
    path : str
        Folder to create (or overwrite files in).
    estimator : KerasMLPClassifier
        A fitted estimator.
    scaling : dict, optional
        How raw features become model input (see :mod:`.datasets`).
    extra : dict, optional
        More JSON-serialisable metadata.
    """
    import skkeras_search

    os.makedirs(path, exist_ok=True)
    estimator.model_.save(os.path.join(path, "model.keras"))
    meta = {
        "format_version": FORMAT_VERSION,
        "skkeras_search_version": skkeras_search.__version__,
        "classes": [_jsonable(c) for c in estimator.classes_],
        "classes_dtype": str(np.asarray(estimator.classes_).dtype),
        "n_features_in": int(estimator.n_features_in_),
        "params": {k: _jsonable(v) for k, v in estimator.get_params().items()
                   if isinstance(_jsonable(v), (int, float, str, bool, type(None)))},
        "scaling": {k: _jsonable(v) for k, v in (scaling or {"kind": "none"}).items()},
        **(extra or {}),
    }
    tmp = os.path.join(path, "metadata.json.tmp")
    with open(tmp, "w") as fh:
        json.dump(meta, fh, indent=2)
    os.replace(tmp, os.path.join(path, "metadata.json"))


class SavedModel:
    """A loaded model: scales raw features, predicts original labels."""

    def __init__(self, model, metadata):
        self.model = model
        self.metadata = metadata
        self.classes_ = np.asarray(metadata["classes"], dtype=metadata["classes_dtype"])

    def _scale(self, X):
        """Scale raw features exactly as in training: in the model's dtype."""
        dtype = np.dtype(self.model.inputs[0].dtype)
        X = np.asarray(X, dtype=dtype).reshape(len(X), -1)
        if X.shape[1] != self.metadata["n_features_in"]:
            raise ValueError(
                f"X has {X.shape[1]} features, but the saved model expects "
                f"{self.metadata['n_features_in']}. Pass data shaped like the training data."
            )
        s = self.metadata["scaling"]
        if s["kind"] == "divide":
            X = X / dtype.type(s["by"])
        elif s["kind"] == "standardize":
            X = (X - np.asarray(s["mean"], dtype=dtype)) / np.asarray(s["scale"], dtype=dtype)
        return X

    def predict_proba(self, X, batch_size=8192):
        """Class probabilities for raw (unscaled) features ``X``.

        Calls the model directly, in chunks: ``keras.Model.predict`` would cast
        float64 input to float32 and so lose a float64 model's precision.
        """
        X = self._scale(X)
        chunks = [np.asarray(self.model(X[i:i + batch_size], training=False))
                  for i in range(0, len(X), batch_size)]
        return np.concatenate(chunks) if chunks else np.empty((0, len(self.classes_)))

    def predict(self, X):
        """Labels (as in training) for raw (unscaled) features ``X``."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def load_model(path):
    """Load a model written by :func:`save_model` (safe mode, no pickle).

    Parameters
    ----------
    path : str
        The folder holding ``model.keras`` and ``metadata.json``.

    Returns
    -------
    model : SavedModel
        With ``predict``, ``predict_proba``, ``classes_``, ``metadata`` and
        the ``keras.Model`` as ``model``.
    """
    with open(os.path.join(path, "metadata.json")) as fh:
        metadata = json.load(fh)
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path}: metadata format_version={metadata.get('format_version')!r} is not "
            f"{FORMAT_VERSION}. Save the model again with this version of skkeras_search."
        )
    keras = _backend.keras()
    # compile=False: the archive's optimizer was never trained through Keras,
    # and inference does not need one (compile the model to train it further).
    model = keras.models.load_model(os.path.join(path, "model.keras"), safe_mode=True,
                                    compile=False)
    return SavedModel(model, metadata)
