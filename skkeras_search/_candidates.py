"""Points of a search space: their keys, list-only spaces, and unseen points.

Shared by the searches that must not evaluate one candidate twice (BOHB's
brackets, TPE's batches).
"""

import itertools
import math

import numpy as np

__all__ = ["candidate_key", "list_space", "list_space_size", "unseen"]

_CHOICES = (list, tuple, range, np.ndarray)


def candidate_key(params):
    """A hashable key of a candidate's parameters (two equal candidates, one key)."""
    return repr(sorted(params.items()))


def list_space(param_distributions):
    """The lists of a space made only of lists (or ranges, tuples), or None if it has a distribution."""
    if not all(isinstance(v, _CHOICES) for v in param_distributions.values()):
        return None
    return {k: list(v) for k, v in param_distributions.items()}


def list_space_size(param_distributions):
    """Points of a space made only of lists (``ParameterSampler``'s count), else None.

    ``{}`` has one point: the estimator as given.
    """
    lists = list_space(param_distributions)
    return None if lists is None else math.prod(len(v) for v in lists.values())


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
