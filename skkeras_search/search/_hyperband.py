"""Hyperband's bracket arithmetic (Li et al. 2017, Algorithm 1) in integer epochs.

With ``R = max_epochs / min_epochs`` and ``eta = factor``, Hyperband runs the
brackets ``s = s_max, ..., 0`` with ``s_max = floor(log_eta R)`` and budget
``B = (s_max + 1) R``. Bracket ``s`` starts ``n = ceil(B / R * eta**s / (s + 1))``
candidates; round ``i`` evaluates ``n_i = floor(n / eta**i)`` of them with
``r_i = R * eta**(i - s)`` (times ``min_epochs``) and keeps the best
``floor(n_i / eta)``. Epochs are whole numbers, so here
``r_i = floor(max_epochs / eta**(s - i))``: the last round of every bracket
is exactly ``max_epochs`` (8 stays 8), no round exceeds the paper's real
budget, and budgets still grow strictly (``eta >= 2``). Everything is
computed in integers, so ``R = 81, eta = 3`` gives the paper's table exactly.
"""

from dataclasses import dataclass

import numpy as np

__all__ = ["Bracket", "max_halvings", "hyperband_brackets", "n_promoted", "round_sizes", "top_k"]


@dataclass(frozen=True)
class Bracket:
    """One bracket of successive halving.

    Attributes
    ----------
    s : int
        Number of halvings (Li et al.'s ``s``); the bracket has ``s + 1`` rounds.
    n_candidates : tuple of int
        Candidates evaluated in each round (``n_i``).
    budgets : tuple of int
        Epochs of each round (``r_i``), ending with ``max_epochs``.
    """

    s: int
    n_candidates: tuple
    budgets: tuple


def max_halvings(max_epochs, min_epochs, factor):
    """``s_max``: the largest ``s`` with ``min_epochs * factor**s <= max_epochs``."""
    s = 0
    while min_epochs * factor ** (s + 1) <= max_epochs:
        s += 1
    return s


def hyperband_brackets(max_epochs, factor=3, min_epochs=1, n_brackets=None):
    """The brackets Hyperband runs, most exploratory (largest ``s``) first.

    Parameters
    ----------
    max_epochs : int
        Epochs of the last round of every bracket (Li et al.'s ``R`` in epochs).
    factor : int, default=3
        ``eta``: each round keeps ``1/factor`` of the candidates and gives
        them ``factor`` times the epochs.
    min_epochs : int, default=1
        Smallest budget any round may have.
    n_brackets : int or None, default=None
        How many brackets to run. None runs one Hyperband iteration
        (``s_max + 1`` brackets); more repeat the cycle ``s_max, ..., 0``.

    Returns
    -------
    brackets : list of Bracket
    """
    s_max = max_halvings(max_epochs, min_epochs, factor)
    total = s_max + 1 if n_brackets is None else n_brackets
    brackets = []
    for k in range(total):
        s = s_max - k % (s_max + 1)
        n = -(-(s_max + 1) * factor**s // (s + 1))  # ceil(B/R * eta**s / (s+1)), exactly
        brackets.append(Bracket(
            s=s,
            n_candidates=tuple(n // factor**i for i in range(s + 1)),
            budgets=tuple(max_epochs // factor ** (s - i) for i in range(s + 1)),
        ))
    return brackets


def n_promoted(n, factor):
    """How many of a round's ``n`` candidates the next round trains: the top ``1/factor``,
    at least one (successive halving; Li et al. 2017, Algorithm 1)."""
    return max(1, n // factor)


def round_sizes(n_first, n_rounds, factor):
    """Candidates in each of ``n_rounds`` rounds of a bracket that starts with ``n_first``.

    Equal to a :class:`Bracket`'s ``n_candidates`` when ``n_first`` is its
    first count; smaller when a small finite space caps the first round.
    """
    sizes = [n_first]
    for _ in range(n_rounds - 1):
        sizes.append(n_promoted(sizes[-1], factor))
    return tuple(sizes)


def top_k(scores, k):
    """Indices of the ``k`` best finite ``scores``, best first; ties keep the earlier one.

    Failed candidates (NaN scores) are never promoted.
    """
    scores = np.asarray(scores, dtype=float)
    finite = np.flatnonzero(np.isfinite(scores))
    order = finite[np.lexsort((finite, -scores[finite]))]
    return order[:k].tolist()
