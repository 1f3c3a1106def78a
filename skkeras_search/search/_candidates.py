"""Points of a search space: their keys, list-only spaces, and unseen points.

Shared by the searches that must not evaluate one candidate twice (BOHB's
brackets, TPE's batches).
"""

import itertools
import math

import numpy as np

__all__ = ["candidate_key", "check_not_empty", "list_space", "list_space_size", "unseen"]

_CHOICES = (list, tuple, range, np.ndarray)


_SCALARS = (type(None), bool, int, float, complex, str, bytes, np.number, np.bool_)


def _value_key(value):
    """A hashable key of one parameter value: equal plain values (numbers of one type,
    strings, None, tuples of them) share a key; any other object is known by identity.

    Never ``repr``: scikit-learn and NumPy elide long reprs ('...'), which would make
    distinct estimators or arrays one candidate.
    """
    if isinstance(value, _SCALARS):
        return (type(value).__name__, value)
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, tuple(_value_key(v) for v in value))
    return ("id", id(value))


def candidate_key(params):
    """A hashable key of a candidate's parameters (two equal candidates, one key).

    Objects other than plain values are compared by identity, so the same
    choice drawn twice from a list is one candidate, and two equal-looking
    estimators given as separate choices are two (as ``RandomizedSearchCV``
    evaluates them).
    """
    return tuple(sorted((name, _value_key(value)) for name, value in params.items()))


def list_space(param_distributions):
    """The lists of a space made only of lists (or ranges, tuples), or None if it has a distribution."""
    if not all(isinstance(v, _CHOICES) for v in param_distributions.values()):
        return None
    return {k: list(v) for k, v in param_distributions.items()}


def list_space_size(param_distributions):
    """Points of a space made only of lists (``ParameterSampler``'s count), else None.

    ``{}`` has one point: the estimator as given. A list of dicts counts the
    points of every dict (``ParameterGrid``'s count) when all are list-only.
    """
    if isinstance(param_distributions, (list, tuple)):
        sizes = [list_space_size(space) for space in param_distributions]
        return None if not sizes or None in sizes else sum(sizes)
    lists = list_space(param_distributions)
    return None if lists is None else math.prod(len(v) for v in lists.values())


def check_not_empty(param_distributions, owner):
    """Refuse a space without a point: ``[]``, or a parameter whose list of choices is empty.

    Raises
    ------
    ValueError
        Naming the parameter and the fix.
    """
    spaces = param_distributions if isinstance(param_distributions, (list, tuple)) else \
        [param_distributions]
    if not spaces:
        raise ValueError(f"{owner}: param_distributions={param_distributions!r} holds no dict, so "
                         "there is no candidate. Give a dict such as {'learning_rate': [0.01]}, "
                         "or {} for the estimator as given.")
    for space in spaces:
        for name, value in space.items():
            if isinstance(value, _CHOICES) and len(value) == 0:
                raise ValueError(f"{owner}: param_distributions[{name!r}] is an empty "
                                 f"{type(value).__name__}, so no candidate has a value for it. "
                                 "Give at least one choice, or leave the parameter out.")


def unseen(lists, seen, rng, tries=100, enumerate_up_to=100_000):
    """A point of a list-only space whose key is not in ``seen``, or None if there is none.

    Random points first; a small space is then listed in full, so a point is
    found whenever one exists (lists may repeat a value, then none may).
    """
    names = list(lists)
    for _ in range(tries):
        candidate = {k: lists[k][rng.randint(len(lists[k]))] for k in names}
        if candidate_key(candidate) not in seen:
            return candidate
    if math.prod(len(v) for v in lists.values()) > enumerate_up_to:
        return None
    free = [c for c in (dict(zip(names, values)) for values in itertools.product(*lists.values()))
            if candidate_key(c) not in seen]
    return free[rng.randint(len(free))] if free else None
