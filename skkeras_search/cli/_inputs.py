"""The inputs stage: the arguments checked, the data read and split, ``--space`` read.

:func:`read_inputs` returns one frozen :class:`Inputs` or raises
:class:`UsageError` (exit status 2) with one line naming the flag, the value
and the fix; the data functions raise ``DataError`` / ``DataUsageError``,
which the command prints in flags. Nothing here touches ``--out``, so a
refused run leaves earlier results as they were. ``args`` is never
rewritten: what is derived from it (the delimiter, the batch size, the
scorer of the task) is a field of :class:`Inputs`.

``--strategy``, ``--n-iter``, ``--epochs`` and ``--space`` are resolved
first, once (:func:`~skkeras_search.cli._args.choose`: a table file's
defaults where a flag is not given), and every check reads the result,
``Inputs.choices``. ``--space`` is checked against the estimator of the
task, which is known only once the data is read:
:class:`~skkeras_search.KerasMLPRegressor` for a regression target (it has
``loss``), :class:`~skkeras_search.KerasMLPClassifier` otherwise (it has
``class_weight``); a file may also search the pipeline's
``preprocess__numeric__scale__method`` where the table has numeric columns.
"""

import argparse
import difflib
import importlib.util
import json
import os
import socket
import tempfile
import time
import urllib.parse
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.metrics import get_scorer, get_scorer_names
from sklearn.model_selection import train_test_split

from skkeras_search import datasets
from skkeras_search._core.devices import visible_gpus
from skkeras_search.cli._args import (
    ASYNCHRONOUS,
    CAN_BE_ASYNCHRONOUS,
    MULTI_FIDELITY,
    SPACES,
    UsageError,
    asynchronous,
    check_numbers,
    choose,
    in_flags,
    table_sep,
)
from skkeras_search.cli._args import batch_size as parse_batch_size
from skkeras_search.cli._tensorboard import available as tensorboard_available
from skkeras_search.datasets import Dataset
from skkeras_search.exceptions import DataError, DataWarning, literal
from skkeras_search.mlp import KerasMLPClassifier, KerasMLPRegressor
from skkeras_search.space import NUMERIC_SCALING, SCALING_METHODS, space_from_dict

__all__ = ["UsageError", "Inputs", "read_inputs", "network_class", "check_writable"]


#: Parameters the command sets itself, so ``--space`` may not search them.
_FIXED = {"random_state", "verbose", "cache_dir", "warm_start"}
_FIXED_BY = {"random_state": "--random-state seeds the search and every fit.",
             "verbose": "-v/-q set what is printed.",
             "cache_dir": "--cache-dir (or --no-cache) sets the fit cache.",
             "warm_start": "each fit starts afresh (the fit cache continues shorter runs)."}


@dataclass(frozen=True)
class Inputs:
    """What the command was asked for and the data it got, checked.

    ``dataset`` is the data as read; ``X`` its feature columns (a table
    without the target, the dropped and the empty columns). ``task`` is
    ``'classification'`` or ``'regression'`` and ``network`` its estimator
    class. The split is stratified for classification; ``idx_te`` are the
    held-out rows' indices in the source. ``choices`` are the resolved
    strategy, ``n_iter``, ``epochs`` and space name
    (:class:`~skkeras_search.cli._args.Choices`); ``space`` is a ``--space``
    file read and checked against ``network`` (None for ``paper`` and
    ``tabular``: the plan builds those).
    """

    args: argparse.Namespace
    argv: tuple
    started: float
    sep: object
    batch_size: object
    cache_dir: object
    dataset: Dataset
    X: object
    n_features: int
    columns: object
    categorical: list
    dropped: dict
    warnings: tuple
    task: str
    regression: bool
    n_classes: object
    network: type
    scoring: str
    X_tr: object
    X_te: object
    y_tr: np.ndarray
    y_te: np.ndarray
    idx_te: np.ndarray
    space: object
    choices: object


def read_inputs(args, argv, stderr):
    """Check ``args``, read and split the data, read ``--space``; DataWarnings go to ``stderr``.

    Raises
    ------
    UsageError
        A flag's value cannot work (exit status 2).
    DataUsageError, DataError
        From the data functions: asked for wrongly (2), or unusable (1).
    """
    choices = choose(args, argv)
    check_numbers(args)
    _check_options(args, choices.strategy)
    _check_tracking_and_warm_start(args, choices)
    sep, batch_size = table_sep(args), parse_batch_size(args.batch_size)
    _check_scorer_name(args.scoring)
    cache_dir = None if args.no_cache else (args.cache_dir or os.path.join(args.out, "fit-cache"))
    check_writable(args.out)
    if cache_dir is not None:
        check_writable(cache_dir, flag="--cache-dir")
    started = time.time()
    ds, X, columns, categorical, dropped, messages = _read_data(args, sep)
    for message in messages:
        stderr.write(f"skkeras-search: warning: {message}\n")
    regression = ds.task == "regression"
    scoring = args.scoring or ("r2" if regression else "accuracy")
    _check_target_transform(args.target_transform, ds, args.target)
    X_tr, X_te, y_tr, y_te, idx_te = _split(ds, X, args)
    _check_scoring(scoring, y_tr, ds.task)
    classes = None if ds.task == "regression" else np.unique(ds.y)
    space = None if choices.space in SPACES else read_space(
        choices.space, ds.task, choices.strategy, classes,
        numeric_scaling=ds.kind == "table" and len(columns) > len(categorical))
    return Inputs(args=args, argv=tuple(argv), started=started, sep=sep, batch_size=batch_size,
                  cache_dir=cache_dir, dataset=ds, X=X, n_features=int(np.shape(X)[1]),
                  columns=columns, categorical=categorical, dropped=dropped,
                  warnings=tuple(messages), task=ds.task, regression=regression,
                  n_classes=None if regression else int(len(np.unique(ds.y))),
                  network=network_class(ds.task), scoring=scoring, X_tr=X_tr, X_te=X_te,
                  y_tr=y_tr, y_te=y_te, idx_te=idx_te, space=space, choices=choices)


def _check_options(args, strategy):
    if args.tensorboard and not tensorboard_available():
        raise UsageError("--tensorboard needs the tensorboard package, which is not "
                         "installed. Install it with pip install 'skkeras-search[tensorboard]'.")
    if args.resume and args.no_cache:
        raise UsageError("--resume needs the fit cache, but --no-cache was given. Drop one.")
    if args.n_jobs == 0:
        raise UsageError("--n-jobs 0 runs nothing. Use --n-jobs 1, a larger number, or -1.")
    if args.asynchronous and strategy not in CAN_BE_ASYNCHRONOUS + ASYNCHRONOUS:
        raise UsageError(
            f"--asynchronous does not apply to --strategy {strategy}: only "
            f"{' and '.join(CAN_BE_ASYNCHRONOUS)} have an asynchronous mode "
            f"({', '.join(ASYNCHRONOUS)} always runs so). Drop --asynchronous, or use "
            f"--strategy {', '.join(CAN_BE_ASYNCHRONOUS)} or {', '.join(ASYNCHRONOUS)}."
        )
    _check_gpus(args, strategy)


def _check_tracking_and_warm_start(args, choices):
    if args.mlflow_experiment and not args.mlflow_uri:
        raise UsageError("--mlflow-experiment names an experiment of --mlflow-uri, which was not "
                         "given. Add --mlflow-uri URI, or drop --mlflow-experiment.")
    if args.mlflow_uri and importlib.util.find_spec("mlflow") is None:
        raise UsageError("--mlflow-uri needs the mlflow package, which is not installed. "
                         "Install it with pip install 'skkeras-search[mlflow]'.")
    if args.mlflow_uri:
        _check_reachable(args.mlflow_uri)
    if args.warm_start_from is None:
        return
    if choices.strategy != "tpe":
        default = " (the default for a table)" if "--strategy" in choices.table_defaults else ""
        raise UsageError(f"--warm-start-from gives earlier results to TPE's model, but --strategy "
                         f"{choices.strategy}{default} has none. Use --strategy tpe, or drop "
                         "--warm-start-from.")
    path = os.path.join(args.warm_start_from, "cv_results.csv")
    if not os.path.isfile(path):
        raise UsageError(f"--warm-start-from {args.warm_start_from}: no cv_results.csv there. "
                         "Give the --out folder of an earlier skkeras-search run.")
    if os.path.abspath(args.warm_start_from) == os.path.abspath(args.out):
        raise UsageError(f"--warm-start-from {args.warm_start_from} is also --out, whose "
                         "cv_results.csv this run replaces. Use another --out.")


def _check_reachable(uri, timeout=5.0):
    """Refuse an http(s) tracking server that does not answer, before the search runs
    (MLflow itself would retry for minutes, after it)."""
    parts = urllib.parse.urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=timeout).close()
    except OSError as exc:
        raise UsageError(f"--mlflow-uri {uri}: no server answers at {parts.hostname}:{port} "
                         f"({exc.strerror or exc}). Start it (mlflow server --host ... --port "
                         f"{port}) or check the address; nothing was run.") from None


def _check_gpus(args, strategy):
    """``--gpus``: a count, for an asynchronous search run here, at most the GPUs visible."""
    n = args.gpus
    if n is None:
        return
    if n < 0:
        raise UsageError(f"--gpus {n} is not a number of GPUs. Use --gpus 0 (no pinning) or more.")
    if not asynchronous(strategy, args.asynchronous):
        raise UsageError(
            f"--gpus {n} pins one worker process per GPU for an asynchronous search, but "
            f"--strategy {strategy} runs its fits through joblib. Use --strategy asha, or "
            f"--strategy {' or '.join(CAN_BE_ASYNCHRONOUS)} with --asynchronous, or drop --gpus.")
    if args.scheduler:
        raise UsageError(
            f"--gpus {n} does not apply with --scheduler: on Dask, workers started with "
            "--resources GPU=1 receive one fit at a time. Drop --gpus.")
    devices = visible_gpus()
    if n > len(devices):
        raise UsageError(
            f"--gpus {n} asks for more GPUs than the {len(devices)} visible "
            f"({', '.join(devices) or 'none'}). Use --gpus {len(devices)} or fewer, or check "
            "CUDA_VISIBLE_DEVICES and nvidia-smi.")


def _check_target_transform(transform, ds, column):
    """``--target-transform``: a regression target inside the function's domain."""
    if transform is None:
        return
    if ds.task != "regression":
        raise UsageError(f"--target-transform {transform} applies to regression targets, but "
                         f"this target is {ds.task}. Drop --target-transform, or use --task "
                         "regression for a numeric target.")
    y = np.asarray(ds.y, dtype=float)
    low, outside = (0.0, y <= 0) if transform == "log" else (-1.0, y <= -1)
    if outside.any():
        where = f"column {column!r}" if column else literal(ds.name)
        fix = ("Use --target-transform log1p for a target >= 0, or drop --target-transform."
               if transform == "log" and y.min() >= 0 else "Drop --target-transform.")
        raise UsageError(f"--target-transform {transform} needs every target above {low:g}, but "
                         f"{where} has {int(outside.sum())} value(s) <= {low:g} (smallest "
                         f"{y.min():g}). {fix}")


def _check_scorer_name(scoring):
    if scoring is not None and scoring not in get_scorer_names():
        close = difflib.get_close_matches(scoring, get_scorer_names(), n=1)
        hint = (f"Did you mean --scoring {close[0]}?" if close
                else "See sklearn.metrics.get_scorer_names().")
        raise UsageError(f"--scoring {scoring!r} is not a scikit-learn scorer. {hint}")


def check_writable(path, flag="--out"):
    """Refuse a folder that cannot be written, without creating or changing anything.

    An existing folder gets a probe file (removed at once); for a folder
    still to be made, the nearest existing parent must be a writable folder.
    """
    existing = os.path.abspath(path)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    try:
        if not os.path.isdir(existing):
            raise NotADirectoryError(20, "Not a directory")
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise UsageError(f"{flag} {path}: cannot write there ({exc.strerror}). "
                         "Choose a writable folder.") from None


# ------------------------------------------------------------------- data
def _read_data(args, sep):
    """(dataset, features, columns, categorical, dropped, DataWarning messages in flags)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataWarning)
        ds = datasets.load(args.dataset, args.data, args.target, sep=sep,
                           decimal=args.decimal, encoding=args.encoding,
                           na_values=args.na_values, drop_missing_target=args.drop_missing_target,
                           task=args.task)
        X, columns, categorical, dropped = ds.X, None, [], {}
        if ds.kind == "table":
            columns, categorical, why = datasets.select_features(
                ds.X, args.target, drop=args.drop, categorical=args.categorical, lines=ds.lines,
                name=args.data or ds.name)
            X = ds.X[columns]
            # each left-out column, and why: "--drop" for those the flag named
            dropped = {c: "--drop" if c in args.drop else reason for c, reason in why.items()}
        elif args.drop or args.categorical:
            raise UsageError(f"--drop and --categorical name table columns, but {ds.name} holds "
                             "images. Drop those flags.")
    messages = [" ".join(_in_flags(w.message).split()) for w in caught
                if issubclass(w.category, DataWarning)]
    return ds, X, columns, categorical, dropped, messages


def _in_flags(message):
    """A data message as the command says it: its parameters as flags."""
    return message.render(in_flags) if isinstance(message, (DataError, DataWarning)) \
        else str(message)


def _split(ds, X, args):
    """(X_tr, X_te, y_tr, y_te, held-out indices): stratified for classes, checked for --cv."""
    if ds.task == "regression":
        return _split_regression(ds, X, args)
    classes, counts = np.unique(ds.y, return_counts=True)
    if len(classes) < 2:
        raise DataError(f"{literal(ds.name)}: every sample has label "
                        f"{literal(repr(classes[0].item()))}; a classifier "
                        "needs at least two classes. Check the target column.")
    if counts.min() < 2:
        rare = classes[np.argmin(counts)].item()
        raise DataError(f"{literal(ds.name)}: class {literal(repr(rare))} has a single sample, "
                        "too few for a "
                        "stratified test split. Drop that class or add samples.")
    n_test = int(np.ceil(args.test_size * len(ds.y)))
    if n_test < len(classes) or len(ds.y) - n_test < len(classes):
        raise UsageError(
            f"--test-size {args.test_size} gives {n_test} test and {len(ds.y) - n_test} training "
            f"samples, but a stratified split needs at least {len(classes)} (one per class) on "
            "each side. Choose a --test-size between "
            f"{len(classes) / len(ds.y):.3g} and {1 - len(classes) / len(ds.y):.3g}."
        )
    idx_tr, idx_te = train_test_split(
        np.arange(len(ds.y)), test_size=args.test_size, stratify=ds.y,
        random_state=args.random_state,
    )
    y_tr = ds.y[idx_tr]
    _, train_counts = np.unique(y_tr, return_counts=True)
    smallest = int(train_counts.min())
    if smallest < args.cv:
        raise UsageError(
            f"--cv {args.cv} needs at least {args.cv} samples of each class in the training "
            f"split, but the rarest class has {smallest}. Use --cv {max(2, smallest)} or fewer."
            if smallest >= 2 else
            f"--cv {args.cv}: the rarest class has {smallest} training sample(s). Lower "
            "--test-size or add samples."
        )
    return _take(X, idx_tr), _take(X, idx_te), y_tr, ds.y[idx_te], ds.index[idx_te]


def _split_regression(ds, X, args):
    n = len(ds.y)
    n_test = int(np.ceil(args.test_size * n))
    if n_test < 1 or n - n_test < 2 * args.cv:
        raise UsageError(f"--test-size {args.test_size} with --cv {args.cv} leaves {n - n_test} "
                         f"training rows of {n}; each fold needs at least 2. Lower --test-size "
                         "or --cv, or add rows.")
    idx_tr, idx_te = train_test_split(np.arange(n), test_size=args.test_size,
                                      random_state=args.random_state)
    return (_take(X, idx_tr), _take(X, idx_te), ds.y[idx_tr], ds.y[idx_te], ds.index[idx_te])


def _take(X, rows):
    return X.iloc[rows] if hasattr(X, "iloc") else X[rows]


def _check_scoring(scoring, y, task):
    """Fail before the search if the scorer cannot score this kind of target at all."""
    X = np.zeros((len(y), 1))
    dummy = DummyRegressor() if task == "regression" else DummyClassifier(strategy="prior")
    dummy = dummy.fit(X, y)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            get_scorer(scoring)(dummy, X, y)
    except (ValueError, TypeError) as exc:
        reason = " ".join(str(exc).split())[:200]
        example = "r2" if task == "regression" else "accuracy"
        raise UsageError(f"--scoring {scoring} cannot score this {task} target ({reason}). "
                         f"Choose another scorer, e.g. --scoring {example}.") from None


# ------------------------------------------------------------------ space
def network_class(task):
    """The network estimator of ``task``: the one home of that choice."""
    return KerasMLPRegressor if task == "regression" else KerasMLPClassifier


def read_space(path, task, strategy, classes=None, numeric_scaling=False):
    """``--space``'s file as a search space, every name and value legal for the task's estimator.

    The file holds one JSON object (a space) or a list of them (a conditional
    space, as ``RandomizedSearchCV`` takes it: each candidate is drawn from
    one branch and has only that branch's parameters). JSON writes every key
    as text, so a ``class_weight`` dict's keys are read as the target's
    ``classes`` they spell (``"0"`` as the label 0). With ``numeric_scaling``
    (a table with numeric columns) a branch may also hold the pipeline's
    ``preprocess__numeric__scale__method``: a list of scaling methods.

    Raises
    ------
    UsageError
        Unreadable or invalid JSON; an empty list; a name the estimator does
        not have (with "did you mean"); a value it refuses; a distribution
        under ``--strategy grid``; ``epochs`` under a multi-fidelity strategy.
        A message about a branch of a list names it (``(branch 1)``, from 0).
    """
    try:
        with open(path) as fh:
            spec = json.load(fh)
    except OSError as exc:
        raise UsageError(f"--space {path}: cannot read it ({exc.strerror}). Check the path.") \
            from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"--space {path}: not valid JSON ({exc.msg} at line {exc.lineno}). "
                         "Fix the file.") from None
    if not isinstance(spec, list):
        return _read_branch(spec, path, "", task, strategy, classes, numeric_scaling)
    if not spec:
        raise UsageError(f"--space {path}: the list of spaces is empty. Give one object per "
                         'branch, e.g. [{"optimizer": ["adam"]}, {"optimizer": ["sgd"], '
                         '"momentum": [0.0, 0.9]}], or one object.')
    return [_read_branch(branch, path, f"branch {i}: ", task, strategy, classes, numeric_scaling)
            for i, branch in enumerate(spec)]


def _read_branch(spec, path, where, task, strategy, classes, numeric_scaling):
    """One JSON object of ``--space`` as a space (``where`` names its branch in messages)."""
    estimator = network_class(task)
    try:
        if isinstance(spec, dict):
            _check_names(spec, estimator, task, numeric_scaling)
        space = space_from_dict(spec)
        for name, dist in space.items():  # every choice and bound must be a legal value
            for value in dist if isinstance(dist, list) else [dist.low, dist.high]:
                if name != NUMERIC_SCALING:
                    estimator(**{name: value})._validate_params()
                elif value not in SCALING_METHODS:
                    raise ValueError(f"{name}={value!r} is not a scaling method. Use a list of "
                                     f"{', '.join(map(repr, SCALING_METHODS))}.")
    except (TypeError, ValueError) as exc:
        raise UsageError(f"--space {path}{where}: {' '.join(str(exc).split())}") from None
    _check_strategy(space, strategy, where)
    if isinstance(space.get("class_weight"), list) and classes is not None:
        space["class_weight"] = [_weights_by_label(w, classes, path) for w in space["class_weight"]]
    return space


def _weights_by_label(weights, classes, path):
    """A JSON ``class_weight`` dict with each key read as the class it spells."""
    if not isinstance(weights, dict):
        return weights
    by_text = {str(c): c for c in classes.tolist()}
    unknown = [k for k in weights if k not in by_text]
    if unknown:
        raise UsageError(f"--space {path}: class_weight has key {unknown[0]!r}, which is not a "
                         f"class of the target ({sorted(by_text)[:10]}). Use the labels as keys, "
                         f'e.g. {{"{sorted(by_text)[0]}": 2.0}}.')
    return {by_text[k]: v for k, v in weights.items()}


def _check_names(spec, estimator, task, numeric_scaling=False):
    names = set(estimator().get_params()) - _FIXED | ({NUMERIC_SCALING} if numeric_scaling else set())
    for name in spec:
        if name in names:
            continue
        if name == NUMERIC_SCALING:
            raise ValueError(f"{name!r} scales a table's numeric columns, but this data has none "
                             "(images, or only categorical columns). Remove it from the space.")
        if name in _FIXED:
            raise ValueError(f"{name!r} is set by the command for every fit, not searched: "
                             f"{_FIXED_BY[name]} Remove it from the space.")
        other_task = "classification" if task == "regression" else "regression"
        other = network_class(other_task)
        if name in set(other().get_params()) - _FIXED:
            hint = (f"Only {other.__name__} has it, for {other_task} targets, and this target "
                    f"is {task}. Remove it from the space, or use --task {other_task}.")
        else:
            close = difflib.get_close_matches(name, sorted(names), n=1)
            hint = f"Did you mean {close[0]!r}?" if close else f"Use one of {sorted(names)}."
        raise ValueError(f"{name!r} is not a parameter of {estimator.__name__}. {hint}")


def _check_strategy(space, strategy, where=""):
    if strategy == "grid":
        ranges = [k for k, v in space.items() if not isinstance(v, list)]
        if ranges:
            raise UsageError(f"--strategy grid needs a list of values for every parameter of "
                             f"--space, but {ranges[0]!r}{where} is a distribution. Write it as a list, "
                             "e.g. [0.001, 0.01, 0.1].")
    if strategy in MULTI_FIDELITY and "epochs" in space:
        raise UsageError(f"--strategy {strategy} sets the epoch budget itself, but --space"
                         f"{where} has 'epochs'. Remove it from the space and use --epochs for the full "
                         "budget.")
