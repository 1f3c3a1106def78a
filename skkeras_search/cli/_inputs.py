"""Checking the command's arguments and preparing its data, before any search.

Everything here either returns what the search needs or raises
:class:`UsageError` (exit status 2) with one line naming the flag, the value
and the fix, and it runs before any earlier result in ``--out`` is touched.
"""

import os
import platform
import warnings

import numpy as np

__all__ = ["UsageError", "check_args", "check_writable", "make_dir", "load_space", "split",
           "check_scoring", "versions"]


class UsageError(Exception):
    """Bad flags or paths: exit status 2."""


def check_args(args):
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
    if args.tensorboard:
        from skkeras_search.cli._tensorboard import available

        if not available():
            raise UsageError("--tensorboard needs the tensorboard package, which is not "
                             "installed. Install it with pip install 'skkeras-search[tensorboard]'.")
    if args.resume and args.no_cache:
        raise UsageError("--resume needs the fit cache, but --no-cache was given. Drop one.")
    if args.n_jobs == 0:
        raise UsageError("--n-jobs 0 runs nothing. Use --n-jobs 1, a larger number, or -1.")
    if args.sep is not None:
        args.sep = {"\\t": "\t", "tab": "\t", "TAB": "\t"}.get(args.sep, args.sep)
        if len(args.sep) != 1:
            raise UsageError(f"--sep {args.sep!r} is not one character. Use e.g. --sep ';', "
                             "--sep '|' or --sep tab.")
    if args.decimal is not None and len(args.decimal) != 1:
        raise UsageError(f"--decimal {args.decimal!r} is not one character. Use --decimal , "
                         "or --decimal .")
    if args.batch_size != "auto":
        try:
            args.batch_size = int(args.batch_size)
        except ValueError:
            raise UsageError(f"--batch-size {args.batch_size!r} is not an integer. "
                             "Use e.g. --batch-size 128 or --batch-size auto.") from None
        if args.batch_size < 1:
            raise UsageError(f"--batch-size {args.batch_size} must be at least 1.")
    from sklearn.metrics import get_scorer_names

    if args.scoring is not None and args.scoring not in get_scorer_names():
        import difflib

        close = difflib.get_close_matches(args.scoring, get_scorer_names(), n=1)
        hint = f"Did you mean --scoring {close[0]}?" if close else "See sklearn.metrics.get_scorer_names()."
        raise UsageError(f"--scoring {args.scoring!r} is not a scikit-learn scorer. {hint}")


def load_space(path):
    import json

    from skkeras_search.mlp._classifier import KerasMLPClassifier
    from skkeras_search.space import space_from_dict

    try:
        with open(path) as fh:
            spec = json.load(fh)
    except OSError as exc:
        raise UsageError(f"--space {path}: cannot read it ({exc.strerror}). Check the path.") \
            from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"--space {path}: not valid JSON ({exc.msg} at line {exc.lineno}). "
                         "Fix the file.") from None
    fixed = {"random_state", "verbose", "cache_dir", "warm_start"}
    names = set(KerasMLPClassifier().get_params()) - fixed
    try:
        space = space_from_dict(spec, valid_names=names)
        for name, dist in space.items():  # every choice and bound must be a legal value
            values = dist if isinstance(dist, list) else [
                dist.low, dist.high]
            for value in values:
                KerasMLPClassifier(**{name: value})._validate_params()
    except (TypeError, ValueError) as exc:
        message = " ".join(str(exc).split())
        raise UsageError(f"--space {path}: {message}") from None
    return space


def check_writable(path, flag="--out"):
    """Refuse a folder that cannot be written, without creating or changing anything.

    An existing folder gets a probe file (removed at once); for a folder
    still to be made, the nearest existing parent must be a writable folder.
    """
    import tempfile

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


def make_dir(path, flag="--out"):
    """Create ``path`` (after every argument and the data were accepted)."""
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{flag} {path}: cannot write there ({exc.strerror}). "
                         "Choose a writable folder.") from None


def split(ds, args):
    from sklearn.model_selection import train_test_split

    if ds.task == "regression":
        return _split_regression(ds, args)
    classes, counts = np.unique(ds.y, return_counts=True)
    if len(classes) < 2:
        from skkeras_search.exceptions import DataError

        raise DataError(f"{ds.name}: every sample has label {classes[0].item()!r}; a classifier needs "
                        "at least two classes. Check the target column.")
    if counts.min() < 2:
        from skkeras_search.exceptions import DataError

        rare = classes[np.argmin(counts)].item()
        raise DataError(f"{ds.name}: class {rare!r} has a single sample, too few for a "
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
    X_tr, X_te = _take(ds.X, idx_tr), _take(ds.X, idx_te)
    y_tr, y_te = ds.y[idx_tr], ds.y[idx_te]
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
    return X_tr, X_te, y_tr, y_te, ds.index[idx_te]


def _split_regression(ds, args):
    from sklearn.model_selection import train_test_split

    n = len(ds.y)
    n_test = int(np.ceil(args.test_size * n))
    if n_test < 1 or n - n_test < 2 * args.cv:
        raise UsageError(f"--test-size {args.test_size} with --cv {args.cv} leaves {n - n_test} "
                         f"training rows of {n}; each fold needs at least 2. Lower --test-size "
                         "or --cv, or add rows.")
    idx_tr, idx_te = train_test_split(np.arange(n), test_size=args.test_size,
                                      random_state=args.random_state)
    return (_take(ds.X, idx_tr), _take(ds.X, idx_te), ds.y[idx_tr], ds.y[idx_te],
            ds.index[idx_te])


def _take(X, rows):
    return X.iloc[rows] if hasattr(X, "iloc") else X[rows]


def check_scoring(scoring, y, task="classification"):
    """Fail before the search if the scorer cannot score this kind of target at all."""
    from sklearn.dummy import DummyClassifier, DummyRegressor
    from sklearn.metrics import get_scorer

    X = np.zeros((len(y), 1))
    dummy = (DummyRegressor() if task == "regression" else DummyClassifier(strategy="prior"))
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


def versions():
    import sklearn

    from skkeras_search._core import backend as _backend
    from skkeras_search._version import __version__

    keras, tf = _backend.keras(), _backend.tensorflow()

    return {"skkeras_search": __version__, "python": platform.python_version(),
            "numpy": np.__version__, "scikit-learn": sklearn.__version__,
            "keras": keras.__version__, "tensorflow": tf.__version__,
            "keras_backend": keras.backend.backend()}
