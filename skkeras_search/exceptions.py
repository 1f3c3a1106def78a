"""Every public error and warning of skkeras_search.

Catch these by type; their messages are for people (they name the
parameter, file or column, the value, and the fix) and may change.

The data errors and warnings name the parameters they are about as
``{name}`` fields of a template, with the values given beside it, so one
message speaks two vocabularies: ``str(exc)`` writes them as keyword
arguments (``data='x.csv'``), as a library user calls
:func:`skkeras_search.datasets.load`, and the command renders the same
message in its flags (``--data x.csv``) with :meth:`DataError.render`.

A field may also give its value itself, as a Python literal: ``{decimal='.'}``
names the parameter with that value, so one message can offer two values of
one parameter (``Use {decimal='.'} or {decimal=','}``). Text that is not the
message's own (a path, a column name, a cell) enters a template through
:func:`literal`, so that it is written as it is, never read as a field.
"""

import ast
import re

__all__ = [
    "DataError",
    "DataUsageError",
    "DataWarning",
    "SearchWarning",
    "TrainingDivergedError",
]


# ``{{`` (an escaped brace), ``{name}`` or ``{name=literal}``
_FIELD = re.compile(r"\{\{|\{([a-z_]+)(?:=([^{}]*))?\}")


def keyword(name, value):
    """How a library message names a parameter: ``name=value!r``."""
    return f"{name}={value!r}"


def literal(text):
    """``text`` as template text that is written as it is: its ``{`` escaped as ``{{``.

    Parameters
    ----------
    text : object
        A path, a column name, a cell, an exception's message; ``str(text)``
        is used.

    Returns
    -------
    template : str
        Renders as ``str(text)`` in every vocabulary, whatever braces it holds.
    """
    return str(text).replace("{", "{{")


class _NamedParameters:
    """A message whose ``{name}`` fields name parameters; see the module docstring."""

    def __init__(self, template, /, **parameters):
        self.template, self.parameters = template, parameters
        super().__init__(self.render())

    def render(self, name=keyword):
        """The message, each ``{name}`` field written as ``name(name, value)``.

        Parameters
        ----------
        name : callable, default=keyword
            ``(parameter name, value) -> str``; the default writes keyword
            arguments. Only fields given as parameters or with their value
            (``{name=literal}``) are replaced, so other braces (a set) stay as
            they are; ``{{`` is one ``{`` (see :func:`literal`).

        Returns
        -------
        message : str
        """
        return _FIELD.sub(lambda m: self._field(m, name), self.template)

    def _field(self, match, name):
        whole, field, value = match[0], match[1], match[2]
        if whole == "{{":
            return "{"
        if value is not None:
            try:
                return name(field, ast.literal_eval(value))
            except (ValueError, SyntaxError):
                return whole
        return name(field, self.parameters[field]) if field in self.parameters else whole

    def __reduce__(self):  # across processes with the template, not the rendered text
        return _rebuild, (type(self), self.template, self.parameters)


def _rebuild(cls, template, parameters):
    return cls(template, **parameters)


class DataError(_NamedParameters, ValueError):
    """The data could not be used; the message says why and how to fix it.

    Parameters
    ----------
    template : str
        The message, naming parameters as ``{name}`` fields.
    **parameters
        The value of each named parameter.
    """


class DataUsageError(DataError):
    """The data was asked for wrongly (a missing file, an unknown column)."""


class DataWarning(_NamedParameters, UserWarning):
    """Legal but suspicious data, e.g. an identifier column used as a feature.

    Takes a template and parameters as :class:`DataError` does.
    """


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
