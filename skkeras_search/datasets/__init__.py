"""Reading the experiment's data, and the table rules the searched pipeline applies.

:func:`load` (``_load``) returns a :class:`Dataset` (bundled digits, MNIST,
tables, NPZ and IDX files); ``_tables`` reads a table, with one module per
job beside it (``_files``, ``_dialect``, ``_readers``, ``_cells``,
``_numbers``, ``_targets``; pandas does the parsing).
:class:`NumericScaler` (``_scaling``) is the numeric columns' searchable
scaling step.
What the features become is decided in the searched pipeline
(:func:`build_pipeline`), so each fold fits its own preprocessing.
"""

from skkeras_search._core.backend import lazy_exports

#: Each public name -> its module, imported on first use: the command's flags read
#: ``datasets._files`` without importing scikit-learn and pandas through the others.
_EXPORTS = {
    **dict.fromkeys(["Dataset", "load", "load_idx_dir", "read_idx", "write_idx"],
                    "skkeras_search.datasets._load"),
    **dict.fromkeys(["ImageScaler", "TableSchema", "build_pipeline", "describe", "select_features"],
                    "skkeras_search.datasets._preprocessing"),
    "NumericScaler": "skkeras_search.datasets._scaling",
    **dict.fromkeys(["DataError", "DataUsageError", "DataWarning"], "skkeras_search.exceptions"),
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "DataError",
    "DataUsageError",
    "DataWarning",
    "Dataset",
    "ImageScaler",
    "NumericScaler",
    "TableSchema",
    "build_pipeline",
    "describe",
    "load",
    "load_idx_dir",
    "read_idx",
    "write_idx",
    "select_features",
]
