"""Save a fitted pipeline safely and load it back: skops, never pickle.

``save_model`` writes the whole fitted pipeline (preprocessing and
classifier) with skops, scikit-learn's safe persistence format, plus the
network alone as a Keras ``.keras`` archive and plain-JSON metadata.
``load_model`` reads the pipeline with an explicit list of trusted types:
it refuses any other type instead of running code, as ``pickle`` would.

Why skops and not Keras preprocessing layers: the saved object *is* the
fitted scikit-learn pipeline, so a reloaded model predicts bit-for-bit what
the search's in-memory model predicted, with scikit-learn's own imputation
and encoding rules (Keras has no median imputer or most-frequent
imputation, and its ``Normalization`` layer rounds differently). Users who
serve the network elsewhere (TensorFlow Serving) get ``model.keras``, which
takes the already-preprocessed features.

>>> from skkeras_search.persistence import load_model  # doctest: +SKIP
>>> model = load_model("skkeras-search-out/best_model")  # doctest: +SKIP
>>> model.predict(df)  # a DataFrame with the training columns, any order  # doctest: +SKIP
"""

import io
import json
import os
import zipfile

from skkeras_search._core.files import atomic_path, atomic_write, json_value
from skkeras_search._core.validation import fitted_network
from skkeras_search._version import __version__
from skkeras_search.datasets import ImageScaler, NumericScaler, TableSchema
from skkeras_search.mlp import KerasMLPClassifier, KerasMLPRegressor
from skkeras_search.mlp._training import TrainState
from skkeras_search.wrappers import KerasClassifier, KerasRegressor

__all__ = ["save_model", "load_model", "SavedModel", "TRUSTED_TYPES"]

#: 3 since the wings (release 0.3): the classes' module paths changed. Format 2
#: (release 0.2, the flat layout) still loads; see ``FORMAT_2_TYPES``.
FORMAT_VERSION = 3
READABLE_FORMATS = (2, 3)
PIPELINE_FILE = "pipeline.skops"

_OUR_TYPES = (KerasMLPClassifier, KerasMLPRegressor, TrainState, TableSchema, ImageScaler,
              NumericScaler)

#: Types outside skops's own safe defaults (scikit-learn, NumPy, SciPy) that a
#: saved model may hold. Loading refuses every other type.
TRUSTED_TYPES = (
    "numpy.dtype",
    # a list subclass that ColumnTransformer keeps in scikit-learn 1.6-1.7
    "sklearn.compose._column_transformer._RemainderColsList",
    *(f"{cls.__module__}.{cls.__qualname__}" for cls in _OUR_TYPES),
)

#: Where release 0.2 (format 2) kept our types, mapped to today's classes.
FORMAT_2_TYPES = {
    "skkeras_search._classifier.KerasMLPClassifier": KerasMLPClassifier,
    "skkeras_search._regressor.KerasMLPRegressor": KerasMLPRegressor,
    "skkeras_search._training.TrainState": TrainState,
    "skkeras_search._preprocessing.TableSchema": TableSchema,
    "skkeras_search._preprocessing.ImageScaler": ImageScaler,
}


def save_model(path, model, extra=None):
    """Write ``path/pipeline.skops``, ``path/model.keras`` and ``path/metadata.json``.

    Everything is checked and serialised before anything is written: a model
    that :func:`load_model` would refuse is refused here, and ``path`` is
    left as it was.

    Parameters
    ----------
    path : str
        Folder to create (or overwrite those files in).
    model : Pipeline, KerasMLPClassifier or KerasMLPRegressor
        Fitted; a pipeline ends with the estimator.
    extra : dict, optional
        More JSON-serialisable metadata.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        ``model`` is not fitted.
    ValueError
        ``model`` holds a type that :func:`load_model` does not trust, such as
        a ``KerasClassifier`` or ``KerasRegressor`` (they hold your build
        function, which is code).
    """
    import skops.io as sio
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model)
    classifier = fitted_network(model)
    _refuse_wrappers(model)
    blob = sio.dumps(model)
    refused = sorted(set(sio.get_untrusted_types(data=blob)) - set(TRUSTED_TYPES))
    if refused:
        raise ValueError(
            f"model holds type(s) {refused} that load_model does not trust, so it could not be "
            "loaded back; nothing was written. Save only pipelines of scikit-learn steps and "
            "skkeras_search's own estimators."
        )
    meta = _metadata(model, classifier, extra)
    os.makedirs(path, exist_ok=True)
    # Keras insists on the .keras ending; each file is complete before it is moved in
    with atomic_path(os.path.join(path, "model.keras"), suffix=".keras") as tmp:
        classifier.model_.save(tmp)
    atomic_write(os.path.join(path, PIPELINE_FILE), blob)
    atomic_write(os.path.join(path, "metadata.json"), json.dumps(meta, indent=2))


def _refuse_wrappers(model):
    """Refuse KerasClassifier/KerasRegressor anywhere in ``model``, saying why and what to do."""
    steps = [s for _, s in model.steps] if hasattr(model, "steps") else [model]
    steps += [getattr(s, "regressor_", None) for s in steps]
    for step in steps:
        if isinstance(step, (KerasClassifier, KerasRegressor)):
            kind = KerasClassifier if isinstance(step, KerasClassifier) else KerasRegressor
            build = getattr(step.model, "__qualname__", repr(step.model))
            raise ValueError(
                f"save_model cannot save a {kind.__name__}: it holds your build function "
                f"model={build}, which is code, and load_model never "
                "loads code from a file, so it would refuse this model; nothing was written. "
                "Save the fitted network with est.model_.save('model.keras') (load it with "
                "keras.models.load_model), or pickle the estimator (joblib.dump) if you trust "
                "whoever loads it."
            )


def _metadata(model, classifier, extra):
    names = getattr(model, "feature_names_in_", None)
    return {
        "format_version": FORMAT_VERSION,
        "skkeras_search_version": __version__,
        "task": "classification" if hasattr(classifier, "classes_") else "regression",
        "classes": ([json_value(c) for c in classifier.classes_]
                    if hasattr(classifier, "classes_") else None),
        "n_outputs": int(getattr(classifier, "n_outputs_", 1)),
        "feature_names": None if names is None else [str(n) for n in names],
        "n_features_in": int(getattr(model, "n_features_in_", classifier.n_features_in_)),
        "params": {k: json_value(v) for k, v in classifier.get_params().items()
                   if isinstance(json_value(v), (int, float, str, bool, type(None)))},
        **(extra or {}),
    }


class SavedModel:
    """A loaded model: the fitted pipeline, predicting from raw features.

    Attributes
    ----------
    pipeline : Pipeline or KerasMLPClassifier
        The fitted object as it was saved.
    classes_ : ndarray of shape (n_classes,) or None
        None for a regressor.
    feature_names_in_ : ndarray of str or None
        The training columns of a table.
    metadata : dict
    """

    def __init__(self, pipeline, metadata):
        self.pipeline = pipeline
        self.metadata = metadata
        self.classes_ = getattr(fitted_network(pipeline), "classes_", None)  # None: a regressor
        self.feature_names_in_ = getattr(pipeline, "feature_names_in_", None)

    @property
    def model(self):
        """The fitted network, a ``keras.Model`` taking preprocessed features."""
        return fitted_network(self.pipeline).model_

    def predict_proba(self, X):
        """Class probabilities (a classifier), shape (n_samples, n_classes), ``classes_`` order.

        Parameters
        ----------
        X : DataFrame or array-like
            A DataFrame with the training columns in any order (extra columns
            are ignored with a warning), or an array with them in training
            order; images of the training shape.

        Raises
        ------
        ValueError
            A training column is missing, or ``X`` has the wrong width.
        """
        return self.pipeline.predict_proba(X)

    def predict(self, X):
        """Labels as in training (a classifier) or targets (a regressor), shape (n_samples,)
        or (n_samples, n_outputs); ``X`` as in :meth:`predict_proba`."""
        return self.pipeline.predict(X)


def load_model(path):
    """Load a model written by :func:`save_model`; never unpickles.

    Parameters
    ----------
    path : str
        The folder holding ``pipeline.skops`` and ``metadata.json``.

    Returns
    -------
    model : SavedModel

    Raises
    ------
    FileNotFoundError
        ``path`` holds no saved model.
    ValueError
        The model was saved in another format version, or the file holds a
        type outside :data:`TRUSTED_TYPES`.
    """
    import skops.io as sio

    with open(os.path.join(path, "metadata.json")) as fh:
        metadata = json.load(fh)
    version = metadata.get("format_version")
    if version not in READABLE_FORMATS:
        raise ValueError(
            f"{path}: metadata format_version={version!r} is not one of {READABLE_FORMATS} "
            f"(skkeras_search {metadata.get('skkeras_search_version', '?')} saved it). Rerun the "
            "search with this version, or load model.keras with keras.models.load_model and "
            "scale the inputs as metadata.json says."
        )
    file = os.path.join(path, PIPELINE_FILE)
    with open(file, "rb") as fh:
        blob = fh.read()
    if version == 2:
        blob = _from_format_2(blob)
    untrusted = sio.get_untrusted_types(data=blob)
    refused = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if refused:
        raise ValueError(f"{file}: holds type(s) {refused} that skkeras_search does not trust; "
                         "refusing to load. Load only models that skkeras_search saved.")
    return SavedModel(sio.loads(blob, trusted=list(untrusted)), metadata)


def _from_format_2(blob):
    """A format-2 skops archive with each of our types renamed to its home today.

    Only the names in :data:`FORMAT_2_TYPES` change; every other entry,
    arrays included, is copied byte for byte.
    """
    def rename(node):
        if isinstance(node, dict):
            cls = FORMAT_2_TYPES.get(f"{node.get('__module__')}.{node.get('__class__')}")
            if cls is not None:
                node["__module__"] = cls.__module__
            for value in node.values():
                rename(value)
        elif isinstance(node, list):
            for value in node:
                rename(value)

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(blob)) as old, zipfile.ZipFile(out, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            if info.filename == "schema.json":
                schema = json.loads(data)
                rename(schema)
                data = json.dumps(schema).encode()
            new.writestr(info, data)
    return out.getvalue()
