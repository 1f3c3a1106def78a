"""Every public error and warning of skkeras_search.

Catch these by type; their messages are for people (they name the
parameter, file or column, the value, and the fix) and may change.
"""

__all__ = [
    "DataError",
    "DataUsageError",
    "DataWarning",
    "SearchWarning",
    "TrainingDivergedError",
]


class DataError(ValueError):
    """The data could not be used; the message says why and how to fix it."""


class DataUsageError(DataError):
    """The data was asked for wrongly (a missing file, an unknown column)."""


class DataWarning(UserWarning):
    """Legal but suspicious data, e.g. an identifier column used as a feature."""


class SearchWarning(UserWarning):
    """What a search could not do as asked: rows it could not keep, or a best
    row below the full budget."""


class TrainingDivergedError(FloatingPointError, ValueError):
    """Raised when the training loss becomes NaN, infinite or above 1e6.

    A diverged network predicts garbage; raising lets a search's
    ``error_score`` record the candidate as failed instead of scoring it.
    ``epoch`` is the (1-based) epoch in which it happened.
    """

    def __init__(self, message, epoch=None):
        super().__init__(message)
        self.epoch = epoch
