"""The command's flags: the argument table, and the one map from keyword to flag.

``args`` is read, never rewritten: what is derived from it (the table
delimiter, the batch size, the scorer of the task) lives in the objects of
the later stages. Library messages name keyword arguments (``data='x.csv'``);
:func:`in_flags` renders them as this command's flags (``--data x.csv``).
"""

import argparse

from skkeras_search._version import __version__
from skkeras_search.exceptions import keyword

__all__ = ["STRATEGIES", "MULTI_FIDELITY", "ASYNCHRONOUS", "CAN_BE_ASYNCHRONOUS", "ORDER_NOTE",
           "EXAMPLES", "FLAGS", "build_parser", "in_flags", "asynchronous"]

STRATEGIES = ("random", "grid", "halving", "hyperband", "tpe", "bohb", "asha")
#: Strategies that race candidates over the epoch budget (Hyperband's brackets, ASHA's rungs).
MULTI_FIDELITY = ("halving", "hyperband", "bohb", "asha")
#: Strategies that are always asynchronous (a free worker starts the next fit at once).
ASYNCHRONOUS = ("asha",)
#: Strategies that ``--asynchronous`` makes asynchronous.
CAN_BE_ASYNCHRONOUS = ("tpe", "bohb")
#: What the command says of an asynchronous search wherever it names the strategy.
ORDER_NOTE = ("asynchronous: results depend on the order fits end; deterministic with "
              "--n-jobs 1")

EXAMPLES = """\
examples:
  # the paper's search on scikit-learn's bundled digits (no download)
  skkeras-search --out results

  # MNIST-format IDX files, 30 candidates, 2 worker processes
  skkeras-search --data path/to/mnist-folder --n-iter 30 --n-jobs 2 --out mnist-results

  # your own CSV with a label column
  skkeras-search --data table.csv --target label --cv 5 --scoring balanced_accuracy

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
            "held-out test split. Tables are imputed, standardised and one-hot encoded inside "
            "the searched pipeline (each fold fits its own preprocessing). Writes "
            "cv_results.csv, report.json, PNG plots and the best model (best_model/: the "
            "whole pipeline as pipeline.skops, the network as model.keras, metadata.json) to "
            "--out. Progress goes to stderr, the summary to stdout."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    data = parser.add_argument_group("data")
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
    search = parser.add_argument_group("search")
    search.add_argument("--n-iter", type=int, default=20,
                        help="candidates sampled from the space; for asha (and bohb "
                             "--asynchronous) those started on the lowest rung (default: 20)")
    search.add_argument("--cv", type=int, default=3, help="stratified folds (default: 3)")
    search.add_argument("--epochs", type=int, default=30,
                        help="training epochs per fit (default: 30)")
    search.add_argument("--batch-size", default="auto",
                        help="minibatch size, or 'auto' = min(200, n_samples) (default: auto)")
    search.add_argument("--n-jobs", type=int, default=1,
                        help="worker processes; each imports TensorFlow once (default: 1)")
    search.add_argument("--random-state", type=int, default=0,
                        help="seed of the sampling, the splits and every fit (default: 0)")
    search.add_argument("--scoring", default=None,
                        help="any scikit-learn scorer name (default: accuracy, or r2 for "
                             "regression)")
    search.add_argument("--space", metavar="FILE.json",
                        help="search space instead of the paper's, e.g. "
                             '{"hidden_units": {"int_range": [16, 496, 32]}, '
                             '"learning_rate": {"log_uniform": [1e-5, 1.0]}, '
                             '"optimizer": ["adam", "sgd"]}')
    search.add_argument("--strategy", choices=list(STRATEGIES), default="random",
                        help="random: RandomizedSearchCV; grid: GridSearchCV over about --n-iter "
                             "points; tpe: Optuna's TPE, --n-iter candidates in fixed batches; "
                             "halving, hyperband, bohb: Hyperband's brackets over the epoch "
                             "budget (one bracket, all brackets, TPE proposals), --epochs is the "
                             "full budget and promoted candidates continue training; asha: "
                             "asynchronous successive halving, --n-iter candidates on rungs of "
                             "epochs up to --epochs (default: random)")
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
    out = parser.add_argument_group("output")
    out.add_argument("--out", default="skkeras-search-out", metavar="DIR",
                     help="folder for the results (default: skkeras-search-out)")
    out.add_argument("--top", type=int, default=5, help="rows of the summary table (default: 5)")
    out.add_argument("--tensorboard", action="store_true",
                     help="also write the search to OUT/tensorboard in TensorBoard's HParams "
                          "format (needs the tensorboard package)")
    out.add_argument("--mlflow-uri", metavar="URI",
                     help="also log the search to MLflow at URI (a tracking URI such as "
                          "sqlite:///mlflow.db or http://host:5000; MLflow 3 refuses file: "
                          "stores unless MLFLOW_ALLOW_FILE_STORE=true): a parent run with the best parameters, the report, "
                          "plots and model, and a child run per row of cv_results.csv "
                          "(needs the mlflow extra)")
    out.add_argument("--mlflow-experiment", metavar="NAME",
                     help="MLflow experiment of --mlflow-uri's runs (default: MLflow's "
                          "default experiment)")
    out.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    out.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def asynchronous(args):
    """Whether the search of ``args`` is asynchronous (asha, or ``--asynchronous``)."""
    return args.strategy in ASYNCHRONOUS or bool(args.asynchronous)


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
