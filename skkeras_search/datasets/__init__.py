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

from skkeras_search.datasets._load import Dataset, load, load_idx_dir, read_idx, write_idx
from skkeras_search.datasets._preprocessing import (
    ImageScaler,
    TableSchema,
    build_pipeline,
    describe,
    select_features,
)
from skkeras_search.datasets._scaling import NumericScaler
from skkeras_search.exceptions import DataError, DataUsageError, DataWarning

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
