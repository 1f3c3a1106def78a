"""Earlier results as finished trials: ``TPESearchCV(warm_start=...)``.

A source is a fitted search (anything with ``cv_results_``), a ``cv_results_``
dict, or a folder written by the ``skkeras-search`` command (its
``cv_results.csv``: a JSON ``params`` column, ``mean_test_*`` and, for a
multi-fidelity search, ``n_resources``; and ``report.json``, whose
``data.fingerprint`` and ``search.space`` are compared when present). The
source is only read.

Each earlier row whose parameters fit the new space becomes an Optuna trial
(``optuna.trial.create_trial``: the objective's mean test score, a failed row
(NaN) as pruned) and a known candidate. A multi-fidelity source gives only its
full-budget rows (the largest ``n_resources``), without its budget parameter.
Names are matched directly, else by their last ``__`` part (the command writes
``hidden_units`` for a pipeline's ``classifier__hidden_units``) when exactly
one name of the new space has it.
"""

import hashlib
import json
import re
import warnings
from collections.abc import Mapping

import numpy as np

from skkeras_search.exceptions import SearchWarning
from skkeras_search.search._optuna_space import describe
from skkeras_search.search._warm_start_sources import (
    UNTOLD,
    arithmetic_revision,
    epochs_of,
    final_class,
    read_source,
    scoring_text,
)

__all__ = ["describe_space", "warm_start_digest", "warm_start_trials", "WarmStart"]

def describe_space(param_distributions):
    """Stable text of a space, for ``report.json`` and for comparing two spaces.

    Parameters
    ----------
    param_distributions : dict or list of dicts

    Returns
    -------
    description : dict of str to str, or list of such dicts
        Each distribution or list as text without memory addresses
        (``LogUniform(1e-05, 1.0)``, ``scipy.stats.uniform(0, 1)``, ``[16, 32]``).
    """
    if isinstance(param_distributions, Mapping):
        return {str(k): describe(v) for k, v in param_distributions.items()}
    return [describe_space(space) for space in param_distributions]


def warm_start_digest(source):
    """BLAKE2 (hex) of what a ``warm_start`` source holds: its rows' parameters, scores and
    budgets, and its data fingerprint; equal digests, equal trials for one space.

    For keys of a search's records (the asynchronous decision log): the
    search's parameters hold the source itself, which names a folder by its
    path and a fitted search by its settings, not by their results.

    Parameters
    ----------
    source : search, dict, str or os.PathLike
        As ``TPESearchCV``'s ``warm_start``.

    Returns
    -------
    digest : str
    """
    earlier = read_source(source)
    results = earlier.results
    columns = {k: np.asarray(v, dtype=float).tolist() for k, v in results.items()
               if k.startswith("mean_test_") or k == "n_resources"}
    params = [sorted((str(k), re.sub(r" at 0x[0-9a-fA-F]+", "", repr(v))) for k, v in p.items())
              for p in results["params"]]
    text = json.dumps([params, columns, earlier.fingerprint], sort_keys=True)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class WarmStart:
    """The trials and known candidates that a source gives a new search.

    Attributes
    ----------
    trials : list of optuna.trial.FrozenTrial
        For ``study.add_trials``, in the source's row order.
    known : list of (dict, float)
        Each trial's candidate (decoded by the new space) and score.
    label : str or None
        ``warm_start=...`` as messages name the source.
    """

    def __init__(self, trials, known, label=None):
        self.trials, self.known, self.label = trials, known, label


def _objective(earlier, names, required=True):
    """The first of ``names`` the source has; else ValueError, or None if not ``required``."""
    for name in names:
        if name in earlier.results:
            return name
    have = sorted(k for k in earlier.results if k.startswith("mean_test_"))
    if not required:
        return None
    raise ValueError(f"{earlier.label} has none of the columns {list(names)} (it has {have}), "
                     "so its scores are not this search's objective. Set refit to the metric "
                     "of one of them.")


def _same_objective(earlier, search, space):
    """False (with a warning) if the source was scored otherwise; warnings for another
    budget or estimator, whose scores are used as they are."""
    scoring = scoring_text(search.scoring, search.estimator, search.refit)
    if earlier.scoring is not None and earlier.scoring != scoring:
        warnings.warn(
            f"{earlier.label} was scored with {earlier.scoring}, this search with {scoring}: "
            "its scores are not on this search's scale; no earlier result is used. Give "
            "results scored alike, or set scoring to match.", SearchWarning, stacklevel=4)
        return False
    searched = any(name.rsplit("__", 1)[-1] == "epochs" for name in space.names)
    epochs = None if searched else epochs_of(search.estimator)
    if earlier.epochs is not None and epochs is not None and earlier.epochs != epochs:
        warnings.warn(
            f"{earlier.label} trained {earlier.epochs} epochs per fit, this search {epochs}: "
            "its scores are not comparable with this search's. They are used as they are; "
            f"give results of {epochs} epochs, or warm_start=None.", SearchWarning, stacklevel=4)
    estimator = final_class(search.estimator)
    if earlier.estimator is not None and earlier.estimator != estimator:
        warnings.warn(
            f"{earlier.label} searched {earlier.estimator}, this search {estimator}: its scores "
            "are not comparable with this search's. They are used as they are; give results "
            f"of {estimator}, or warm_start=None.", SearchWarning, stacklevel=4)
    _check_arithmetic(earlier, arithmetic_revision(search.estimator))
    return True


def _check_arithmetic(earlier, revision):
    """Warn when the source's scores came from another revision of the MLP's arithmetic."""
    if revision is None or earlier.arithmetic is UNTOLD or earlier.arithmetic == revision:
        return
    told = ("does not record which revision of the training arithmetic scored it (reports of "
            "releases before December 2026 do not)" if earlier.arithmetic is None else
            f"was scored by revision {earlier.arithmetic} of the training arithmetic")
    warnings.warn(
        f"{earlier.label} {told}; this search trains with revision {revision}. Revisions "
        "differ in what a parameter means (revision 2 made alpha scikit-learn's strength, "
        "about batch_size / n_samples of revision 1's), so its scores may rank candidates "
        "otherwise. They are used as they are; rerun the earlier search with this version, "
        "or warm_start=None.", SearchWarning, stacklevel=5)


def _nothing_used(label, why):
    warnings.warn(f"{label} {why}: no earlier result is used. Give results of this search's "
                  "space and objective, or warm_start=None.", SearchWarning, stacklevel=4)
    return WarmStart([], [])


def _rename(there, here):
    """Map the source's names to this space's: equal, else the one sharing the last ``__`` part."""
    mapping = {}
    for name in there:
        if name in here:
            mapping[name] = name
            continue
        same = [h for h in here if h.rsplit("__", 1)[-1] == name.rsplit("__", 1)[-1]]
        mapping[name] = same[0] if len(same) == 1 else name
    return mapping


def _full_budget(results):
    """Row indices to use: all, or those of the largest ``n_resources`` (multi-fidelity)."""
    n = len(results["params"])
    if "n_resources" not in results or not n:
        return np.arange(n), None
    budgets = np.asarray(results["n_resources"], dtype=float)
    return np.flatnonzero(budgets == np.nanmax(budgets)), budgets


def _check_data(earlier, fingerprint, shape):
    if earlier.fingerprint is None or fingerprint is None or earlier.fingerprint == fingerprint:
        return
    sizes = [f"{what} {a} there, {b} here" for what, a, b in
             zip(("n_samples", "n_features"), earlier.shape or (None, None), shape)
             if a is not None and b is not None and a != b]
    warnings.warn(
        f"{earlier.label} was fitted on other data: its data fingerprint "
        f"{earlier.fingerprint[:12]} differs from this data's {fingerprint[:12]}"
        + (f" ({'; '.join(sizes)})" if sizes else "") + ". Its scores are used as they are; "
        "give results on this data set, or warm_start=None.",
        SearchWarning, stacklevel=4,
    )


def _flat(description, mapping=None):
    """``{name: set of texts}`` of a described space (a dict or a list of dicts)."""
    spaces = [description] if isinstance(description, Mapping) else list(description)
    out = {}
    for space in spaces:
        for name, text in space.items():
            out.setdefault((mapping or {}).get(name, name), set()).add(str(text))
    return out


def _check_space(earlier, param_distributions):
    if earlier.space is None:
        return
    there = earlier.space if _is_described(earlier.space) else describe_space(earlier.space)
    here = _flat(describe_space(param_distributions))
    there = _flat(there, _rename(_flat(there), here))
    differ = []
    for name in sorted(set(here) | set(there)):
        a, b = there.get(name), here.get(name)
        if a is not None and b is not None and any(" at 0x" in t for t in a | b):
            continue  # an old report's repr of a scipy distribution: not comparable
        if a != b:
            differ.append(f"{name} ({' | '.join(sorted(a)) if a else 'not searched'} there, "
                          f"{' | '.join(sorted(b)) if b else 'not searched'} here)")
    if differ:
        warnings.warn(
            f"{earlier.label} searched another space: {', '.join(differ)}. Its rows that fit "
            "param_distributions are used, the others skipped.",
            SearchWarning, stacklevel=4,
        )


def _is_described(space):
    spaces = [space] if isinstance(space, Mapping) else list(space)
    return all(isinstance(s, Mapping) and all(isinstance(t, str) for t in s.values())
               for s in spaces)


def warm_start_trials(source, space, param_distributions, *, objectives, fingerprint, shape,
                      search):
    """The finished trials of ``source`` that fit ``space``, with warnings for what differs.

    Parameters
    ----------
    source : search, dict or path
        ``warm_start``: a fitted search, a ``cv_results_`` dict, or a folder of
        the command.
    space : SearchSpace
        The new search's space (:mod:`~skkeras_search.search._conditional`).
    param_distributions : dict or list of dicts
        The new search's, for comparing spaces.
    objectives : sequence of str
        The columns that may hold the objective, in order of preference.
    fingerprint : str or None
        The new data's ``data_fingerprint`` (None: no comparison).
    shape : tuple of (int or None, int or None)
        ``(n_samples, n_features)`` of the new data, named when data differ.
    search : BaseSearchCV
        The new search, for its ``scoring``, ``refit`` and ``estimator`` (its class,
        a pipeline's final step's, and its ``epochs``), compared with the source's.

    Returns
    -------
    warm : WarmStart

    Raises
    ------
    ValueError
        For a path that does not exist or lacks ``cv_results.csv``, an
        unfitted search, or rows without the objective's column.

    Warns
    -----
    SearchWarning
        Once for rows that do not fit ``space`` (how many, the parameters, an
        example); once for other data (fingerprints differ); once for a search
        (or report) whose space differs (the parameters that differ); once for a
        source trained another number of epochs, or of another estimator class
        (both named; its scores are used); once for a folder whose scores came
        from another revision of the MLP's training arithmetic, or that does not
        record it (its scores are used). Once, and no earlier result is used, for
        a source scored otherwise (both scorers named), without the column of a
        multi-metric search's ``refit`` metric, or without a usable row.
    """
    from optuna.trial import TrialState, create_trial

    earlier = read_source(source)
    _check_data(earlier, fingerprint, shape)
    _check_space(earlier, param_distributions)
    if not _same_objective(earlier, search, space):
        return WarmStart([], [])
    results = earlier.results
    rows, budgets = _full_budget(results)
    if not len(rows):
        return _nothing_used(earlier.label, "holds no rows")
    several = isinstance(search.scoring, (Mapping, list, tuple, set))
    column = _objective(earlier, objectives, required=not several)
    if column is None:
        return _nothing_used(earlier.label, f"has no column {objectives[0]} (it has "
                             f"{sorted(k for k in results if k.startswith('mean_test_'))}), "
                             "the objective of this search's refit metric")
    scores = np.asarray(results[column], dtype=float)
    names = {k for i in rows for k in results["params"][i]}
    mapping = _rename(names, space.names)
    trials, known, skipped = [], [], []
    for i in rows:
        params = {mapping[k]: v for k, v in results["params"][i].items()}
        if budgets is not None:  # the budget parameter of a multi-fidelity search
            params = {k: v for k, v in params.items()
                      if k in space.names or not _equals(v, budgets[i])}
        seen = space.observation(params, strict=True)
        if seen is None:
            skipped.append((i, params))
            continue
        encoded, distributions = seen
        if np.isfinite(scores[i]):
            trials.append(create_trial(params=encoded, distributions=distributions,
                                       value=float(scores[i])))
        else:  # failed: a bad observation, as in the search itself
            trials.append(create_trial(state=TrialState.PRUNED, params=encoded,
                                       distributions=distributions))
        known.append((space.decode(encoded), float(scores[i])))
    if skipped:
        _warn_skipped(earlier.label, skipped, len(rows), space)
    return WarmStart(trials, known, earlier.label)


def _equals(value, budget):
    try:
        return float(value) == float(budget)
    except (TypeError, ValueError):
        return False


def _warn_skipped(label, skipped, total, space):
    problems = [(i, params, space.mismatch(params)) for i, params in skipped]
    names = sorted({p[0] for _, _, p in problems if p is not None})
    i, params, (name, value, problem) = problems[0]
    example = f"{name} {problem} in row {i} ({params!r})" if problem == "is missing" else \
        f"{name}={value!r} {problem} (row {i})"
    warnings.warn(
        f"{label}: {len(skipped)} of {total} earlier rows do not fit param_distributions "
        f"({', '.join(names)}) and were skipped"
        + (": no earlier result is used" if len(skipped) == total else "")
        + f"; e.g. {example}. Give results of this space, "
        "or widen param_distributions to hold them.",
        SearchWarning, stacklevel=4,
    )
