"""The command's flags: the argument table, and the one map from keyword to flag.

``args`` is read, never rewritten: what is derived from it (the table
delimiter, the batch size, the scorer of the task) lives in the objects of
the later stages. Library messages name keyword arguments (``data='x.csv'``);
:func:`in_flags` renders them as this command's flags (``--data x.csv``).

Four flags have other defaults for a table file (``--data x.csv``):
:data:`TABLE_DEFAULTS`. ``args`` holds argparse's defaults, the images'
ones, and :func:`given` tells which of those four flags the user typed;
:func:`choose` resolves them once, for the inputs stage (``Inputs.choices``).
The flags whose value alone can be wrong are checked here too
(:func:`check_numbers`, :func:`table_sep`, :func:`batch_size`), raising
:class:`UsageError` (exit status 2).
"""

import argparse
import os
from dataclasses import dataclass

from skkeras_search._version import __version__
from skkeras_search.datasets._files import is_table
from skkeras_search.exceptions import keyword

__all__ = ["STRATEGIES", "MULTI_FIDELITY", "ASYNCHRONOUS", "CAN_BE_ASYNCHRONOUS", "ORDER_NOTE",
           "EXAMPLES", "FLAGS", "SPACES", "TABLE_DEFAULTS", "TABLE_BUDGET_NOTE",
           "TARGET_TRANSFORMS", "DETECTED", "Choices", "UsageError", "build_parser", "in_flags",
           "asynchronous", "given", "choose", "check_numbers", "table_sep", "batch_size"]

STRATEGIES = ("random", "grid", "halving", "hyperband", "tpe", "bohb", "asha")
#: Strategies that race candidates over the epoch budget (Hyperband's brackets, ASHA's rungs).
MULTI_FIDELITY = ("halving", "hyperband", "bohb", "asha")
#: Strategies that are always asynchronous (a free worker starts the next fit at once).
ASYNCHRONOUS = ("asha",)
#: Strategies that ``--asynchronous`` makes asynchronous.
CAN_BE_ASYNCHRONOUS = ("tpe", "bohb")
#: The spaces ``--space`` names by a keyword (anything else is a JSON file).
SPACES = ("paper", "tabular")
#: ``--target-transform``'s choices: the function applied to a regression target before
#: it is standardised (its inverse turns predictions back into the target's units).
TARGET_TRANSFORMS = ("log", "log1p")
#: What a table file gets for each of these flags when it is not given: the budget was
#: measured to finish a 5,000-row table in under 10 minutes on 2 cores (see the README).
#: ``n_iter`` and ``epochs`` come with ``strategy``: when ``--strategy`` names another
#: strategy, those two keep the general defaults.
TABLE_DEFAULTS = {"space": "tabular", "strategy": "asha", "n_iter": 60, "epochs": 27}
#: Why: said in the banner when a table default applies.
TABLE_BUDGET_NOTE = "sized to finish a 5,000-row table in under 10 minutes on 2 cores"
#: What the command says of an asynchronous search wherever it names the strategy.
ORDER_NOTE = ("asynchronous: results depend on the order fits end; deterministic with "
              "--n-jobs 1")

class UsageError(Exception):
    """Bad flags or paths: exit status 2."""


EXAMPLES = """\
examples:
  # the paper's search on scikit-learn's bundled digits (no download)
  skkeras-search --out results

  # MNIST-format IDX files, 30 candidates, 2 worker processes
  skkeras-search --data path/to/mnist-folder --n-iter 30 --n-jobs 2 --out mnist-results

  # your own CSV with a label column: asha over the tabular space by default
  skkeras-search --data table.csv --target label --cv 5 --scoring balanced_accuracy

  # a positive, skewed regression target (prices): fitted on log(price), scored in price
  skkeras-search --data houses.csv --target price --target-transform log

  # Hyperband over up to 27 epochs; after a crash or Ctrl-C, add --resume
  skkeras-search --strategy hyperband --epochs 27 --out hyperband
  skkeras-search --strategy hyperband --epochs 27 --out hyperband --resume

  # model-based: TPE (Optuna) with 40 candidates, or BOHB; TensorBoard HParams too
  skkeras-search --strategy tpe --n-iter 40 --tensorboard --out tpe

  # asynchronous: ASHA starts 40 candidates on rungs up to 27 epochs, no worker waits
  skkeras-search --strategy asha --n-iter 40 --epochs 27 --n-jobs 2 --out asha

  # TPE starting from an earlier run's results; a conditional space (a JSON list)
  skkeras-search --strategy tpe --n-iter 8 --warm-start-from tpe --out tpe-more
  skkeras-search --strategy tpe --space branches.json --out conditional

  # log to MLflow too (pip install 'skkeras-search[mlflow]'); report.html is always written
  skkeras-search --strategy hyperband --mlflow-uri sqlite:///mlflow.db --out hyperband

  # on a Dask cluster (pip install 'skkeras-search[dask]')
  skkeras-search --scheduler tcp://scheduler-host:8786 --n-iter 100 --out big

Load the saved best model and predict on raw features:
  from skkeras_search.persistence import load_model
  model = load_model("results/best_model"); model.predict(X_raw)
"""


def build_parser():
    """The argument parser of ``skkeras-search`` (the argument table)."""
    parser = argparse.ArgumentParser(
        prog="skkeras-search",
        description=(
            "Random search over a Keras MLP's hidden_units (16..496, step 32) and "
            "learning_rate (log-uniform on [1e-5, 1]) with scikit-learn's "
            "RandomizedSearchCV, cross-validated; the best model is refit and scored on a "
            "held-out test split. A table file (--data x.csv) gets other defaults: ASHA over "
            f"{TABLE_DEFAULTS['n_iter']} candidates of the tabular space (depth, width, dropout, "
            "learning rate, weight decay, batch size, numeric scaling) on rungs up to "
            f"{TABLE_DEFAULTS['epochs']} epochs. Tables are imputed, "
            "scaled and one-hot encoded inside "
            "the searched pipeline (each fold fits its own preprocessing). Writes "
            "cv_results.csv, report.json, PNG plots and the best model (best_model/: the "
            "whole pipeline as pipeline.skops, the network as model.keras, metadata.json) to "
            "--out. Progress goes to stderr, the summary to stdout."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_data_flags(parser.add_argument_group("data"))
    search = parser.add_argument_group("search")
    _add_search_flags(search)
    _add_execution_flags(search)
    _add_output_flags(parser.add_argument_group("output"))
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def _add_data_flags(data):
    """Where the data comes from and how a table is read (the ``data`` group)."""
    data.add_argument("--dataset", choices=["digits", "mnist"], default="digits",
                      help="bundled dataset when --data is not given (default: digits; "
                           "mnist downloads through Keras)")
    data.add_argument("--data", metavar="PATH",
                      help="your data: a table (.csv, .tsv, .txt, optionally .gz/.zip/.bz2/.xz, "
                           "or .parquet) with --target, an .npz holding X and y, or a folder "
                           "of MNIST-format IDX files")
    data.add_argument("--target", metavar="COLUMN", help="label column of a table")
    data.add_argument("--drop", metavar="COL[,COL...]", type=_names, action="extend", default=[],
                      help="table columns to leave out (e.g. an identifier); repeatable")
    data.add_argument("--categorical", metavar="COL[,COL...]", type=_names, action="extend", default=[],
                      help="numeric-looking table columns to one-hot encode as categories "
                           "(e.g. a code); repeatable")
    data.add_argument("--drop-missing-target", action="store_true",
                      help="leave out rows whose label is missing (default: refuse them)")
    data.add_argument("--sep", metavar="CHAR",
                      help="table delimiter (default: detected among , ; tab |)")
    data.add_argument("--decimal", metavar="CHAR",
                      help="decimal mark (default: '.', or ',' when the file writes 1,5)")
    data.add_argument("--encoding", metavar="NAME",
                      help="table text encoding (default: UTF-8, with or without BOM)")
    data.add_argument("--na-values", metavar="TEXT[,TEXT...]", type=_names, action="extend", default=[],
                      help="more cell texts meaning 'missing' (always: empty, ?, NA, NaN, "
                           "null, N/A, None); repeatable")
    data.add_argument("--task", choices=["auto", "classification", "regression"],
                      default="auto",
                      help="what the target is; auto: a numeric target with more than 20 "
                           "distinct values is regression (KerasMLPRegressor on standardised "
                           "targets), anything else classification (default: auto)")
    data.add_argument("--test-size", type=float, default=0.25,
                      help="fraction held out (stratified) for the final test (default: 0.25)")
    data.add_argument("--target-transform", choices=list(TARGET_TRANSFORMS),
                      help="regression only: fit the network on log(y) (positive targets) or "
                           "log1p(y) (targets above -1), standardised, and predict and score "
                           "in the target's own units (default: the target as it is)")


def _add_search_flags(search):
    """What is searched, and how (the ``search`` group's first part)."""
    search.add_argument("--n-iter", type=int, default=20,
                        help="candidates sampled from the space; for asha (and bohb "
                             "--asynchronous) those started on the lowest rung (default: 20; "
                             f"{TABLE_DEFAULTS['n_iter']} for a table's default strategy)")
    search.add_argument("--cv", type=int, default=3, help="stratified folds (default: 3)")
    search.add_argument("--epochs", type=int, default=30,
                        help="training epochs per fit; the full budget of the multi-fidelity "
                             "strategies (default: 30; "
                             f"{TABLE_DEFAULTS['epochs']} for a table's default strategy)")
    search.add_argument("--batch-size", default="auto",
                        help="minibatch size, or 'auto' = min(200, n_samples) (default: auto)")
    search.add_argument("--n-jobs", type=int, default=1,
                        help="worker processes; each imports TensorFlow once (default: 1)")
    search.add_argument("--random-state", type=int, default=0,
                        help="seed of the sampling, the splits and every fit (default: 0)")
    search.add_argument("--scoring", default=None,
                        help="any scikit-learn scorer name (default: accuracy, or r2 for "
                             "regression)")
    search.add_argument("--space", metavar="paper|tabular|FILE.json", default="paper",
                        help="paper: Bergstra and Bengio's hidden_units and learning_rate; "
                             "tabular: skkeras_search.space.tabular_space() (1-4 layers of "
                             "64-512 units, dropout, learning rate, AdamW weight decay, batch "
                             "size and, for a table with numeric columns, "
                             "preprocess__numeric__scale__method); or a JSON file: an object, "
                             "or a list of them (a conditional space), e.g. "
                             '{"hidden_units": {"int_range": [16, 496, 32]}, '
                             '"learning_rate": {"log_uniform": [1e-5, 1.0]}, '
                             '"optimizer": ["adam", "sgd"]} (default: paper; tabular for a '
                             "table, except with --strategy grid)")
    search.add_argument("--strategy", choices=list(STRATEGIES), default="random",
                        help="random: RandomizedSearchCV; grid: GridSearchCV over about --n-iter "
                             "points; tpe: Optuna's TPE, --n-iter candidates in fixed batches; "
                             "halving, hyperband, bohb: Hyperband's brackets over the epoch "
                             "budget (one bracket, all brackets, TPE proposals), --epochs is the "
                             "full budget and promoted candidates continue training; asha: "
                             "asynchronous successive halving, --n-iter candidates on rungs of "
                             "epochs up to --epochs (default: random; asha for a table)")


def _add_execution_flags(search):
    """Where the fits run, and what an earlier run gives (the ``search`` group's rest)."""
    search.add_argument("--asynchronous", action="store_true",
                        help="with --strategy tpe or bohb: start a fit whenever a worker is "
                             "free instead of waiting for a batch or round (bohb becomes ASHA "
                             "with TPE proposals); results then depend on the order fits end, "
                             "deterministic with --n-jobs 1 (asha always runs so)")
    search.add_argument("--gpus", type=int, metavar="N",
                        help="with an asynchronous search (asha, or tpe/bohb --asynchronous): "
                             "N worker processes, one per GPU, each seeing only its own GPU "
                             "(CUDA_VISIBLE_DEVICES) with TensorFlow's memory growth on; "
                             "--n-jobs above 1 caps them; 0 turns pinning off (default: "
                             "--n-jobs above 1 on a GPU machine pins min(--n-jobs, GPUs) "
                             "workers)")
    search.add_argument("--scheduler", metavar="ADDRESS",
                        help="run the fits on a Dask cluster: a scheduler address such as "
                             "tcp://10.0.0.5:8786, or 'local' for a cluster on this machine "
                             "(needs the dask extra)")
    search.add_argument("--resume", action="store_true",
                        help="reuse the fits an earlier, interrupted run with the same --out "
                             "finished (from its fit cache) instead of training them again")
    search.add_argument("--warm-start-from", metavar="OUT",
                        help="with --strategy tpe: give TPE the results of an earlier run's "
                             "--out folder (its cv_results.csv) as finished trials before the "
                             "first proposal; a different data set or space is a warning")
    search.add_argument("--cache-dir", metavar="DIR",
                        help="fit cache folder (default: OUT/fit-cache)")
    search.add_argument("--no-cache", action="store_true",
                        help="keep no fit cache (no --resume, halving retrains from scratch)")


def _add_output_flags(out):
    """What is written where (the ``output`` group)."""
    out.add_argument("--out", default="skkeras-search-out", metavar="DIR",
                     help="folder for the results (default: skkeras-search-out)")
    out.add_argument("--top", type=int, default=5, help="rows of the summary table (default: 5)")
    out.add_argument("--tensorboard", action="store_true",
                     help="also write the search to OUT/tensorboard in TensorBoard's HParams "
                          "format (needs the tensorboard package)")
    out.add_argument("--mlflow-uri", metavar="URI",
                     help="also log the search to MLflow at URI (a tracking URI such as "
                          "sqlite:///mlflow.db or http://host:5000; MLflow 3 refuses file: "
                          "stores unless MLFLOW_ALLOW_FILE_STORE=true): a parent run with the "
                          "best parameters, the report, "
                          "plots and model, and a child run per row of cv_results.csv "
                          "(needs the mlflow extra)")
    out.add_argument("--mlflow-experiment", metavar="NAME",
                     help="MLflow experiment of --mlflow-uri's runs (default: MLflow's "
                          "default experiment)")
    out.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    out.add_argument("--debug", action="store_true", help="show tracebacks on errors")


def asynchronous(strategy, asynchronous_flag):
    """Whether a ``strategy`` search is asynchronous (asha, or ``--asynchronous``)."""
    return strategy in ASYNCHRONOUS or bool(asynchronous_flag)


#: The flags whose absence the command reads (:func:`given`), by their ``args`` names:
#: those of :data:`TABLE_DEFAULTS`, and ``--batch-size``, which the tabular space searches.
DETECTED = (*TABLE_DEFAULTS, "batch_size")


def given(argv):
    """The flags of :data:`DETECTED` that ``argv`` sets, by their ``args`` names.

    ``argv`` parsed again with a marker as those flags' defaults, so a flag
    typed with its default value (``--epochs 30``) counts as given, and an
    abbreviation (``--strat``) as its flag.

    Returns
    -------
    names : frozenset of str
        Among ``'space'``, ``'strategy'``, ``'n_iter'``, ``'epochs'``, ``'batch_size'``.
    """
    unset = object()  # not a string, so argparse does not parse it as a typed value
    parser = build_parser()
    parser.set_defaults(**dict.fromkeys(DETECTED, unset))
    parsed = parser.parse_args(list(argv))
    return frozenset(name for name in DETECTED if getattr(parsed, name) is not unset)


@dataclass(frozen=True)
class Choices:
    """What ``--strategy``, ``--n-iter``, ``--epochs`` and ``--space`` mean for one run.

    ``space`` is ``'paper'``, ``'tabular'`` or a JSON file's path;
    ``table_defaults`` the flags that took their :data:`TABLE_DEFAULTS`
    value (``('--space', '--strategy', '--n-iter', '--epochs')`` for
    ``--data x.csv`` alone), empty when none did; ``given`` the flags of
    :data:`DETECTED` the user typed (:func:`given`).
    """

    strategy: str
    n_iter: int
    epochs: int
    space: str
    table_defaults: tuple = ()
    given: frozenset = frozenset()


def choose(args, argv):
    """The :class:`Choices` of ``args`` (parsed from ``argv``): the one place they are resolved.

    A flag the user gave always wins. For a table file (``--data`` with a
    table's suffix, the files read with ``--target``; an ``.npz`` archive,
    an IDX folder and the bundled sets keep argparse's defaults) each flag
    not given takes :data:`TABLE_DEFAULTS`, except that ``--n-iter`` and
    ``--epochs`` keep argparse's when ``--strategy`` names another strategy
    than the table default's (its budget is sized for that one), and
    ``--space`` stays ``paper`` under ``--strategy grid`` (a grid needs
    lists). The inputs stage calls this once and keeps the result.

    Raises
    ------
    UsageError
        ``--space tabular`` with ``--strategy grid``.
    """
    typed = given(argv)
    defaults = {}
    if args.data is not None and not os.path.isdir(args.data) and is_table(args.data):
        defaults = {name: value for name, value in TABLE_DEFAULTS.items() if name not in typed}
        strategy = defaults.get("strategy", args.strategy)
        if strategy != TABLE_DEFAULTS["strategy"]:
            defaults = {k: v for k, v in defaults.items() if k not in ("n_iter", "epochs")}
        if strategy == "grid":
            defaults.pop("space", None)
    values = {name: defaults.get(name, getattr(args, name)) for name in TABLE_DEFAULTS}
    if values["space"] == "tabular" and values["strategy"] == "grid":
        raise UsageError("--space tabular holds ranges, but --strategy grid needs a list of "
                         "values for every parameter. Use another --strategy, or --space "
                         "FILE.json with lists.")
    flags = tuple(f"--{name.replace('_', '-')}" for name in TABLE_DEFAULTS if name in defaults)
    return Choices(**values, table_defaults=flags, given=typed)


def check_numbers(args):
    """Refuse a number flag whose value cannot work."""
    if not 0 <= args.random_state < 2**32:
        raise UsageError(f"--random-state {args.random_state} is out of range. Use an integer "
                         "from 0 to 4294967295.")
    if args.n_iter < 1:
        raise UsageError(f"--n-iter {args.n_iter} samples no candidate. Use --n-iter 1 or more.")
    if args.cv < 2:
        raise UsageError(f"--cv {args.cv} is not a cross-validation. Use --cv 2 or more.")
    if args.epochs < 1:
        raise UsageError(f"--epochs {args.epochs} trains nothing. Use --epochs 1 or more.")
    if not 0 < args.test_size < 1:
        raise UsageError(f"--test-size {args.test_size} must lie strictly between 0 and 1, "
                         "e.g. --test-size 0.25.")


def table_sep(args):
    """The delimiter ``--sep`` means (``\\t`` and ``tab`` are a tab); checks ``--decimal``."""
    sep = args.sep
    if sep is not None:
        sep = {"\\t": "\t", "tab": "\t", "TAB": "\t"}.get(sep, sep)
        if len(sep) != 1:
            raise UsageError(f"--sep {sep!r} is not one character. Use e.g. --sep ';', "
                             "--sep '|' or --sep tab.")
    if args.decimal is not None and len(args.decimal) != 1:
        raise UsageError(f"--decimal {args.decimal!r} is not one character. Use --decimal , "
                         "or --decimal .")
    return sep


def batch_size(text):
    """``--batch-size`` as the estimators take it: ``'auto'`` or a positive int."""
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        raise UsageError(f"--batch-size {text!r} is not an integer. "
                         "Use e.g. --batch-size 128 or --batch-size auto.") from None
    if value < 1:
        raise UsageError(f"--batch-size {value} must be at least 1.")
    return value


def _names(text):
    """'a,b' -> ['a', 'b'] (argparse type of the column-list flags)."""
    return [name.strip() for name in text.split(",") if name.strip()]


#: The flag that sets each keyword argument of the data functions
#: (``datasets.load``, ``select_features``, ``build_pipeline``): the one map
#: from the library's vocabulary to the command's.
FLAGS = {
    "dataset": "--dataset", "data": "--data", "target": "--target", "drop": "--drop",
    "categorical": "--categorical", "drop_missing_target": "--drop-missing-target",
    "sep": "--sep", "decimal": "--decimal", "encoding": "--encoding",
    "na_values": "--na-values", "task": "--task",
}
#: Values shown as the user typed them: a path, a choice word.
_AS_TYPED = {"data", "task"}


def in_flags(name, value):
    """A message's parameter as this command's flag (for ``DataError.render``).

    ``data='x.csv'`` becomes ``--data x.csv``, ``target='label'`` becomes
    ``--target 'label'``, a list ``--drop a,b`` as the flag takes it, a switch
    (``True``) or an absent value (``None``) the flag alone. A name that no
    flag sets keeps its keyword form.
    """
    flag = FLAGS.get(name)
    if flag is None:
        return keyword(name, value)
    if value is None or isinstance(value, bool):
        return flag
    if isinstance(value, (list, tuple)):
        return f"{flag} {','.join(str(v) for v in value)}"
    if name in _AS_TYPED or not isinstance(value, str):
        return f"{flag} {value}"
    return f"{flag} {value!r}"
