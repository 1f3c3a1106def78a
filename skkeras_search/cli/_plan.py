"""The plan stage: which search runs, on what, and how many fits it takes, computed once.

:func:`make_plan` turns the checked :class:`~skkeras_search.cli._inputs.Inputs`
into one frozen :class:`Plan`: the searched space, a factory of the search
object (one of seven strategies over the task's pipeline), the candidates, the
total number of fits and the rounds of Hyperband's brackets (or ASHA's rungs),
the folds' digest, the banner line and the warnings about a small space. Every
later stage reads the plan; none recomputes a piece of it. Bracket and rung
arithmetic is the search wing's (:func:`skkeras_search.search.hyperband_brackets`,
``rung_budgets``). An asynchronous search (asha, ``--asynchronous``) decides as
fits end, so its number of fits is known only roughly in advance: the plan
counts the rows of successive halving with every candidate succeeding, and
says "about". The strategy, candidates, epochs and space name are the
inputs' ``choices`` (a table file's defaults where a flag was not given),
and the banner says which table defaults were taken, and why.
"""

import math
import os
from dataclasses import dataclass

import joblib
import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    RandomizedSearchCV,
    StratifiedKFold,
    check_cv,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from skkeras_search.cli._args import (
    MULTI_FIDELITY,
    ORDER_NOTE,
    STRATEGIES,
    TABLE_BUDGET_NOTE,
    asynchronous,
)
from skkeras_search.cli._progress import ProgressScorer
from skkeras_search.datasets import build_pipeline
from skkeras_search.search import (
    ASHASearchCV,
    HyperbandSearchCV,
    TPESearchCV,
    describe_space,
    hyperband_brackets,
    round_sizes,
)
from skkeras_search.search._asha import rung_budgets
from skkeras_search.search._candidates import list_space_size
from skkeras_search.search._folds import splits_digest
from skkeras_search.space import paper_grid, paper_space, tabular_space, tabular_training

__all__ = ["Plan", "make_plan", "STRATEGIES", "MULTI_FIDELITY", "build_search", "grid_for",
           "expected_fits", "n_candidates", "rung_sizes", "TPE_BATCH_SIZE", "TPE_N_STARTUP",
           "FACTOR", "prefixed", "target_transformer", "UNPREFIXED"]

#: TPE asks this many candidates at a time, whatever ``--n-jobs`` is, so results
#: do not depend on the number of workers; the first ``TPE_N_STARTUP`` are random.
TPE_BATCH_SIZE, TPE_N_STARTUP = 4, 8
#: Hyperband's eta: each round keeps a third of the candidates for three times the epochs.
FACTOR = 3
#: Searched names that are the pipeline's own step paths, not the network's: not prefixed.
UNPREFIXED = "preprocess__"
#: ``--target-transform``'s function and inverse.
_LOGS = {"log": (np.log, np.exp), "log1p": (np.log1p, np.expm1)}


@dataclass(frozen=True)
class Plan:
    """The search the command runs, decided once from the inputs.

    Attributes
    ----------
    strategy : str
        One of :data:`STRATEGIES`.
    space : dict or list of dict
        The searched space, parameter names as the network has them; a list
        of dicts is a conditional space (one branch per candidate).
    space_text : dict or list of dict
        Each parameter's distribution or choices as text (for the report).
    prefix : str
        The network's step prefix in the searched pipeline (``classifier__``).
    search : BaseSearchCV
        The search over the task's pipeline, unfitted until the execute
        stage fits it.
    n_candidates, total_fits : int
        Candidates sampled, and cross-validation fits (refit excluded); for
        an asynchronous search with ``rungs``, the fits of successive halving
        with every candidate succeeding (a few more run when a later result
        reorders a rung, fewer when fits fail).
    rounds : tuple of tuple of int
        Candidates in each round of each bracket (multi-fidelity), else ``()``;
        for asha (and bohb ``--asynchronous``) one tuple, the rows of each rung
        as counted for ``total_fits``.
    asynchronous : bool
        Whether the search starts a fit whenever a worker is free (asha,
        ``--asynchronous``): its results depend on the order fits end.
    rungs : tuple of int
        Epochs of each of ASHA's rungs (asha, bohb ``--asynchronous``), else ``()``.
    cv_digest : str
        Digest of the folds every candidate is scored on.
    progress_path : str
        ``OUT/progress.jsonl``, one line per scored fold.
    banner : str
        The line said on stderr before the search.
    warnings : tuple of str
        What to warn about before the search (a space too small for the plan).
    """

    strategy: str
    space: dict
    space_text: dict
    prefix: str
    search: object
    n_candidates: int
    total_fits: int
    rounds: tuple
    cv_digest: str
    progress_path: str
    banner: str
    warnings: tuple
    asynchronous: bool = False
    rungs: tuple = ()


def make_plan(inputs):
    """The :class:`Plan` of ``inputs`` (nothing is fitted or written)."""
    args, chosen = inputs.args, inputs.choices
    strategy, n_iter, epochs = chosen.strategy, chosen.n_iter, chosen.epochs
    space = inputs.space if inputs.space is not None else _named_space(inputs)
    prefix = "regressor__regressor__" if inputs.regression else "classifier__"
    size = list_space_size(space)
    rungs = _rungs(strategy, args.asynchronous, epochs)
    brackets = () if rungs else _brackets(strategy, epochs)
    rounds = _planned_rounds(strategy, n_iter, epochs, size, args.asynchronous)
    count = _n_candidates(strategy, n_iter, rounds, size)
    total = args.cv * (sum(sum(r) for r in rounds) if rounds else count)
    folds = (KFold if inputs.regression else StratifiedKFold)(args.cv, shuffle=True,
                                                             random_state=args.random_state)
    progress_path = os.path.join(args.out, "progress.jsonl")
    return Plan(strategy=strategy, space=space,
                space_text=describe_space(space), prefix=prefix,
                search=_search(inputs, space, prefix, folds, progress_path),
                n_candidates=count, total_fits=total, rounds=rounds,
                cv_digest=_cv_digest(folds, inputs), progress_path=progress_path,
                banner=_banner(inputs, count, total, rungs),
                warnings=tuple(filter(None, [_small_space(inputs, brackets, size)])),
                asynchronous=asynchronous(strategy, args.asynchronous), rungs=rungs)


def _named_space(inputs):
    """The space ``--space paper`` or ``tabular`` names, for these inputs' data.

    ``paper`` under ``--strategy grid`` is :func:`grid_for` ``--n-iter``.
    ``tabular`` searches the numeric scaling only where the table has numeric
    columns, and only the batch sizes that fit the smallest training fold
    (``'auto'``, the whole fold, where none does): a larger one would be cut
    to the fold, with a warning from every fit. A ``--batch-size`` given
    replaces the space's batch sizes.
    """
    chosen = inputs.choices
    if chosen.space == "paper":
        return grid_for(chosen.n_iter) if chosen.strategy == "grid" else paper_space()
    numeric = inputs.columns is not None and len(inputs.columns) > len(inputs.categorical)
    rows = len(inputs.y_tr) - math.ceil(len(inputs.y_tr) / inputs.args.cv)
    space = tabular_space(numeric_scaling=numeric)
    for branch in space:
        if "batch_size" in chosen.given:  # --batch-size, for every fit
            del branch["batch_size"]
        else:
            branch["batch_size"] = [b for b in branch["batch_size"] if b <= rows] or ["auto"]
    return space


def target_transformer(transform=None):
    """The regression target's transformer: ``transform`` ('log', 'log1p' or None), then
    standardisation, as one ``TransformedTargetRegressor(transformer=...)``.

    The network trains on ``(f(y) - mean) / std`` (``f`` the transform, fitted
    in each fold); ``TransformedTargetRegressor`` turns its predictions back
    with the inverse, ``exp`` or ``expm1``, so they are scored, saved and
    returned in the target's own units. ``FunctionTransformer`` checks on a
    sample at fit that the inverse undoes the function (``check_inverse``).
    """
    if transform is None:
        return StandardScaler()
    func, inverse = _LOGS[transform]
    return Pipeline([("log", FunctionTransformer(func, inverse_func=inverse,
                                                 check_inverse=True)),
                     ("standardise", StandardScaler())])


def _search(inputs, space, prefix, folds, progress_path):
    """The search object of the plan: the task's pipeline under the strategy's search."""
    args, chosen = inputs.args, inputs.choices
    network = inputs.network(epochs=chosen.epochs, batch_size=inputs.batch_size,
                             random_state=args.random_state, cache_dir=inputs.cache_dir)
    if chosen.space == "tabular":  # the preset's schedule (and label smoothing), not searched
        network.set_params(**tabular_training(network))
    if inputs.regression:  # targets (log-)standardised inside each fold, predictions in units
        network = TransformedTargetRegressor(
            network, transformer=target_transformer(args.target_transform))
    pipeline = build_pipeline(network, columns=inputs.columns, categorical=inputs.categorical,
                              na_values=args.na_values,
                              final="regressor" if inputs.regression else "classifier",
                              image_max=inputs.dataset.image_max
                              if inputs.dataset.kind == "images" else None,
                              random_state=args.random_state)
    searched = prefixed(space, prefix)
    names = dict.fromkeys(k for branch in (searched if isinstance(searched, list) else [searched])
                          for k in branch)  # in order, once each
    keys = list(names) + ([f"{prefix}epochs"] if chosen.strategy in MULTI_FIDELITY else [])
    return build_search(
        chosen.strategy, pipeline, searched, n_iter=chosen.n_iter, cv=folds,
        scoring=ProgressScorer(inputs.scoring, progress_path, keys=keys, prefix=prefix),
        n_jobs=_n_jobs(args),
        random_state=args.random_state, epochs=chosen.epochs, resource=f"{prefix}epochs",
        asynchronous=args.asynchronous, warm_start=args.warm_start_from,
    )


def prefixed(space, prefix):
    """``space`` (a dict, or a list of dicts: a conditional space) with each network name
    under ``prefix``; the pipeline's own names (``preprocess__...``) stay as they are."""
    if isinstance(space, list):
        return [prefixed(branch, prefix) for branch in space]
    return {name if name.startswith(UNPREFIXED) else f"{prefix}{name}": dist
            for name, dist in space.items()}


def _n_jobs(args):
    """The search's ``n_jobs``: -1 on Dask (its workers decide where fits run); with
    ``--gpus N`` and the default ``--n-jobs 1``, N (one worker per GPU; a larger
    ``--n-jobs`` caps them, as ``executor_for`` reads it)."""
    if args.scheduler:
        return -1
    if args.gpus and args.n_jobs == 1:
        return args.gpus
    return args.n_jobs


def grid_for(n_iter):
    """A grid over the paper's space with about ``n_iter`` points (rates x widths).

    ``round(sqrt(n_iter))`` log-spaced learning rates (at least 2) times as
    many widths as fit in ``n_iter`` (1 to 16): the grid Bergstra and Bengio
    compare random search with at an equal number of trials.
    """
    n_rates = max(2, round(math.sqrt(n_iter)))
    return paper_grid(n_learning_rates=n_rates, n_hidden_units=max(1, min(16, n_iter // n_rates)))


def build_search(strategy, estimator, space, *, n_iter, cv, scoring, n_jobs, random_state,
                 epochs, resource="epochs", asynchronous=False, warm_start=None):
    """The search object of ``strategy`` (one of :data:`STRATEGIES`).

    * ``random``: ``RandomizedSearchCV``, ``n_iter`` candidates at ``epochs``.
    * ``grid``: ``GridSearchCV`` over ``space`` (lists only).
    * ``halving``, ``hyperband``, ``bohb``: :class:`~skkeras_search.search.HyperbandSearchCV`
      with one bracket, all of Hyperband's brackets, or TPE proposals (BOHB);
      ``epochs`` is the full budget and candidate counts follow Li et al.
      (2017), not ``n_iter``. ``resource`` names the epochs parameter
      (``classifier__epochs`` in a pipeline); with the estimator's fit cache a
      promoted candidate trains only its extra epochs.
    * ``tpe``: :class:`~skkeras_search.search.TPESearchCV`, ``n_iter`` candidates
      in batches of :data:`TPE_BATCH_SIZE`; with ``asynchronous``, one
      candidate per free worker (``TPESearchCV(asynchronous=True)``);
      ``warm_start`` (an earlier run's ``--out`` folder, or None) gives TPE
      its results as finished trials (``TPESearchCV(warm_start=...)``).
    * ``asha``: :class:`~skkeras_search.search.ASHASearchCV` (Li et al. 2020),
      ``n_iter`` candidates started on rungs of epochs up to ``epochs``
      (factor :data:`FACTOR`, at least 1 epoch); ``bohb`` with
      ``asynchronous`` is the same with TPE proposals (``sampler='tpe'``),
      BOHB's model on asynchronous rungs.

    ``asynchronous`` with another strategy is refused by the inputs stage;
    here it is ignored for ``asha`` (always asynchronous) and must be False
    for ``random``, ``grid``, ``halving`` and ``hyperband``.
    """
    common = dict(cv=cv, scoring=scoring, n_jobs=n_jobs, error_score=np.nan, refit=True,
                  return_train_score=False)
    if strategy == "random":
        return RandomizedSearchCV(estimator, space, n_iter=n_iter, random_state=random_state,
                                  **common)
    if strategy == "grid":
        return GridSearchCV(estimator, space, **common)
    if strategy == "tpe":
        return TPESearchCV(estimator, space, n_iter=n_iter, batch_size=TPE_BATCH_SIZE,
                           n_startup=TPE_N_STARTUP, random_state=random_state,
                           asynchronous=asynchronous, warm_start=warm_start, **common)
    if strategy == "asha" or (strategy == "bohb" and asynchronous):
        return ASHASearchCV(estimator, space, max_epochs=epochs, factor=FACTOR, min_epochs=1,
                            n_candidates=n_iter, resource=resource,
                            sampler="tpe" if strategy == "bohb" else "random",
                            random_state=random_state, **common)
    if asynchronous:
        raise ValueError(f"strategy={strategy!r} has no asynchronous mode. Use "
                         "strategy='tpe', 'bohb' or 'asha', or asynchronous=False.")
    return HyperbandSearchCV(
        estimator, space, max_epochs=epochs, factor=FACTOR, min_epochs=1,
        n_brackets=_n_brackets(strategy), resource=resource,
        sampler="tpe" if strategy == "bohb" else "random", random_state=random_state, **common,
    )


def _n_brackets(strategy):
    return 1 if strategy == "halving" else None


def _rungs(strategy, asynchronous_, epochs):
    """The epochs of ASHA's rungs (asha, bohb with ``asynchronous_``), else ()."""
    if strategy == "asha" or (strategy == "bohb" and asynchronous_):
        return rung_budgets(epochs, FACTOR, 1)
    return ()


def rung_sizes(n_candidates, n_rungs, factor=FACTOR):
    """Rows of each of ASHA's rungs when every candidate succeeds: the plan's count.

    ``n_candidates`` start on rung 0 and each rung promotes a ``1/factor``
    of its rows (at least one, as :class:`~skkeras_search.search.ASHASearchCV`
    promotes until a row reaches the top). Asynchronous promotion can run a
    few more: a candidate promoted early stays promoted when later results
    push it out of the top ``1/factor``.

    Returns
    -------
    sizes : tuple of int of length ``n_rungs``
    """
    sizes = [n_candidates]
    for _ in range(n_rungs - 1):
        sizes.append(max(1, sizes[-1] // factor))
    return tuple(sizes)


def _brackets(strategy, epochs):
    """The brackets a multi-fidelity strategy runs (the search wing's arithmetic), else ()."""
    if strategy not in MULTI_FIDELITY:
        return ()
    return tuple(hyperband_brackets(epochs, FACTOR, 1, _n_brackets(strategy)))


def _rounds(brackets, size):
    """Candidates per round of every bracket, as the search will run them.

    A list-only space of ``size`` points gives a bracket at most ``size``
    distinct candidates (``ParameterSampler`` for Hyperband, BOHB's capped
    draws); each later round then keeps what ``HyperbandSearchCV`` promotes
    (:func:`skkeras_search.search.round_sizes`).
    """
    rounds = []
    for bracket in brackets:
        if size is None or size >= bracket.n_candidates[0]:
            rounds.append(tuple(bracket.n_candidates))
            continue
        rounds.append(round_sizes(size, len(bracket.budgets), FACTOR))
    return tuple(rounds)


def _n_candidates(strategy, n_iter, rounds, size):
    if strategy in MULTI_FIDELITY and rounds:
        return sum(r[0] for r in rounds)
    if strategy == "grid":
        return size
    if strategy == "random" and size is not None:
        return min(n_iter, size)  # ParameterSampler samples a list-only space without repeats
    return n_iter


def _planned_rounds(strategy, n_iter, epochs, size, asynchronous_):
    """Rows per round of every bracket, or per rung of ASHA (one tuple), else ()."""
    rungs = _rungs(strategy, asynchronous_, epochs)
    if rungs:
        return (rung_sizes(min(n_iter, size or n_iter), len(rungs)),)
    return _rounds(_brackets(strategy, epochs), size)


def n_candidates(strategy, n_iter, epochs, space, asynchronous=False):
    """Candidates the search samples (Hyperband: summed over brackets; ASHA: ``n_iter``)."""
    size = list_space_size(space)
    return _n_candidates(strategy, n_iter,
                         _planned_rounds(strategy, n_iter, epochs, size, asynchronous), size)


def expected_fits(strategy, n_iter, cv, epochs, space, asynchronous=False):
    """Number of cross-validation fits the search will run (refit excluded).

    For the multi-fidelity strategies this counts every (candidate, budget)
    of Hyperband's brackets; fewer run when a round's candidates all fail.
    For asha (and bohb with ``asynchronous``) it is :func:`rung_sizes`'s
    count, which the search may exceed by a few rows.
    """
    size = list_space_size(space)
    rounds = _planned_rounds(strategy, n_iter, epochs, size, asynchronous)
    return cv * (sum(sum(r) for r in rounds) if rounds else _n_candidates(strategy, n_iter, (),
                                                                          size))


def _cv_digest(folds, inputs):
    """The digest of the folds every candidate is scored on (the searches split once)."""
    folds = check_cv(folds, inputs.y_tr, classifier=not inputs.regression)
    return splits_digest(list(folds.split(inputs.X_tr, inputs.y_tr)), len(inputs.y_tr))


def _small_space(inputs, brackets, size):
    """The warning for a list-only space with fewer points than the plan asks for, or None."""
    chosen = inputs.choices
    strategy, n_iter = chosen.strategy, chosen.n_iter
    if size is None:
        return None
    if brackets:
        asked = max(b.n_candidates[0] for b in brackets)
        why = f"with --epochs {chosen.epochs} its largest bracket starts {asked} candidates"
    elif strategy == "random" or strategy in MULTI_FIDELITY:  # random, ASHA's rungs
        asked, why = n_iter, f"--n-iter {n_iter} asks for more"
    else:
        return None
    if size >= asked:
        return None
    step = "rung" if strategy in MULTI_FIDELITY and not brackets else "round"
    return (f"--space has only {size} points; {strategy} search evaluates each at most "
            f"once per {step} ({why}). Widen the space, or use --strategy grid to evaluate each "
            "point once.")


def _banner(inputs, count, total, rungs=()):
    args, ds, chosen = inputs.args, inputs.dataset, inputs.choices
    if ds.kind == "table":
        columns = (f"{len(inputs.columns)} feature columns "
                   f"({len(inputs.columns) - len(inputs.categorical)} numeric, "
                   f"{len(inputs.categorical)} categorical)")
    else:
        columns = f"{ds.n_features} features"
    notes = "".join(f"; {note}" for note in ds.notes)
    if rungs:
        budget = f"rungs of {', '.join(map(str, rungs))} epochs"
    elif chosen.strategy in MULTI_FIDELITY:
        budget = f"Hyperband brackets up to {chosen.epochs} epochs, candidate counts from --epochs"
    else:
        budget = f"{chosen.epochs} epochs each"
    kind = f"asynchronous {chosen.strategy}" if args.asynchronous and chosen.strategy != "asha" \
        else chosen.strategy
    space = ""
    if chosen.space == "tabular":
        fixed = ", ".join(f"{k}={v!r}" for k, v in tabular_training(inputs.network).items())
        space = f" (tabular space; fixed: {fixed})"
    line = (
        f"skkeras-search: {ds.name}, {len(ds.y)} samples x {columns}, {_target_text(inputs)}"
        f"{notes}; {len(inputs.y_tr)} for the search, {len(inputs.y_te)} held out. "
        f"{kind} search{space}: {count} candidates ({budget}), {args.cv} folds, "
        f"{'about ' if rungs else ''}{total} fits."
    )
    line += _table_defaults_text(chosen, rungs)
    if asynchronous(chosen.strategy, args.asynchronous):
        line += f" A fit starts whenever a worker is free ({ORDER_NOTE})."
    if args.gpus:
        workers = min(args.gpus, joblib.effective_n_jobs(_n_jobs(args)))
        line += f" {workers} worker process{'es' if workers > 1 else ''}, one per GPU."
    return line


def _table_defaults_text(chosen, rungs):
    """The banner's sentence on the table defaults taken (flags not given), or ''."""
    if not chosen.table_defaults:
        return ""
    said = {"--space": f"the {chosen.space} space", "--strategy": chosen.strategy,
            "--n-iter": f"{chosen.n_iter} candidates",
            "--epochs": f"up to {chosen.epochs} epochs" if rungs else f"{chosen.epochs} epochs"}
    flags = chosen.table_defaults
    return (f" Defaults for a table: {', '.join(said[f] for f in flags)} ({TABLE_BUDGET_NOTE}; "
            f"{'/'.join(flags)} to change).")


def _target_text(inputs):
    if not inputs.regression:
        return f"{inputs.n_classes} classes"
    how = (f"auto: {len(np.unique(inputs.dataset.y))} distinct numeric values; --task "
           "classification to override" if inputs.args.task == "auto" else "--task regression")
    transform = inputs.args.target_transform
    if transform:
        how += f"; fitted on {transform}(y), scored in the target's units"
    return f"regression target ({how})"
