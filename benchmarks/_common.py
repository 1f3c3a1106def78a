"""Shared by the benchmark scripts: data, environment, baselines, tables, results.

Not imported by the package. Baselines that are not installed (scikeras, in
the ``bench`` extra) are skipped with a note rather than failing the run.
"""

import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
MNIST = os.path.join(HERE, "..", "..", "shared", "datasets", "mnist-test")

warnings.filterwarnings("ignore")


def load_data(prefer_mnist=True, n_samples=None):
    """MNIST's 10k test split when present, else scikit-learn's digits, as float32 in [0, 1].

    Says which in the returned name.
    """
    from skkeras_search.datasets import load

    if prefer_mnist and os.path.isdir(MNIST):
        ds = load(data=MNIST)
        name = "mnist-test-10k"
    else:
        ds = load("digits")
        name = "digits" + (" (MNIST not found at ../shared)" if prefer_mnist else "")
    # The loader returns raw pixels; scale them as the command's pipeline does (ImageScaler).
    X, y = ds.X.astype(np.float32) / np.float32(ds.image_max), ds.y
    if n_samples is not None:
        X, y = X[:n_samples], y[:n_samples]
    return X, y, name


def add_search_args(parser, n_iter=8, epochs=3, random_state=42):
    """The options every search benchmark shares, with the paper-workload defaults."""
    parser.add_argument("--n-samples", type=int, default=None,
                        help="use only the first N samples (default: all)")
    parser.add_argument("--n-iter", type=int, default=n_iter)
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--random-state", type=int, default=random_state)
    parser.add_argument("--out", default=None, help="results folder (default: benchmarks/results)")
    return parser


def start(args, what):
    """Load the data, print the environment line and the workload line."""
    X, y, data_name = load_data(n_samples=args.n_samples)
    env = environment()
    print(env_line(env))
    print(f"# data: {data_name} {X.shape}; {what}", flush=True)
    return X, y, data_name, env


def environment():
    from skkeras_search._core import backend as _backend

    tf, keras = _backend.tensorflow(), _backend.keras()
    import sklearn

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if "model name" in line)
    except (OSError, StopIteration):
        pass
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(), "numpy": np.__version__,
        "scikit-learn": sklearn.__version__, "keras": keras.__version__,
        "tensorflow": tf.__version__, "backend": keras.backend.backend(),
        "cpu": cpu, "cores": os.cpu_count(),
        "device": "GPU" if tf.config.list_physical_devices("GPU") else "CPU",
    }


def env_line(env):
    return (f"# Python {env['python']}, scikit-learn {env['scikit-learn']}, Keras {env['keras']} "
            f"({env['backend']} {env['tensorflow']}), {env['device']}: {env['cpu']}, "
            f"{env['cores']} cores")


def table(rows, columns):
    """Aligned text table; numbers right-aligned."""
    cells = [[str(c) for c in columns]]
    for r in rows:
        cells.append([_fmt(r.get(c)) for c in columns])
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    out = []
    for k, row in enumerate(cells):
        out.append("  ".join(v.ljust(w) if i == 0 else v.rjust(w)
                             for i, (v, w) in enumerate(zip(row, widths))))
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def markdown_table(rows, columns, headers=None):
    """A markdown table of ``rows`` (dicts) in ``columns``; strings as they are, numbers by _fmt."""
    lines = ["| " + " | ".join(headers or columns) + " |", "|" + " --- |" * len(columns)]
    for r in rows:
        cells = (v if isinstance(v, str) else _fmt(v) for v in (r.get(c) for c in columns))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e5 else f"{v:.3e}"
    return str(v)


def finish(script, env, rows, columns, legend, extra=None, out=None, tag=None):
    """Print the aligned table and its legend, write the raw rows; return 0.

    ``tag`` names a variant of the script's workload: ``<script>-<tag>.json``.
    """
    print()
    print(table(rows, columns))
    print(f"({legend})")
    path = write_results(script, env, rows, extra=extra, out=out, tag=tag)
    print(f"raw rows: {os.path.relpath(path, os.path.join(HERE, '..'))}")  # repo-relative
    return 0


def write_results(script, env, rows, extra=None, out=None, tag=None):
    os.makedirs(out or RESULTS, exist_ok=True)
    name = os.path.splitext(os.path.basename(script))[0] + (f"-{tag}" if tag else "")
    path = os.path.join(out or RESULTS, f"{name}.json")
    with open(path, "w") as fh:
        json.dump({"script": name, "argv": sys.argv[1:], "environment": env, "rows": rows,
                   **(extra or {})}, fh, indent=2, default=_json_default)
    return path


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def peak_rss_mb():
    """This process's peak resident set size so far, in MB.

    VmHWM, not ``getrusage``'s ru_maxrss: Linux carries ru_maxrss across
    ``exec``, so a worker started by a parent that imported TensorFlow would
    report the parent's peak.
    """
    try:
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def interleaved(names, repeats):
    """``(repeat, name)`` pairs: every name once per repeat, order reversed every other repeat.

    So drifting machine load, and whatever runs first or last, hits all alike.
    """
    for rep in range(repeats):
        for name in (names if rep % 2 == 0 else names[::-1]):
            yield rep, name


def fresh_process(script, args, timeout=None):
    """Run ``python script *args`` in a fresh interpreter; return (its last stdout line as JSON, wall s).

    The wall time is the whole process: interpreter start, imports, first
    traces, the work, and exit. A failing worker raises with its stderr, so
    a broken baseline stops the benchmark instead of becoming a NaN. A worker
    still running after ``timeout`` seconds is killed and
    ``subprocess.TimeoutExpired`` raised.
    """
    start = time.perf_counter()
    result = subprocess.run([sys.executable, os.path.abspath(script), *map(str, args)],
                            capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"worker {' '.join(map(str, args))} failed (exit "
                           f"{result.returncode}):\n{result.stderr.strip()[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1]), wall


def spread(values):
    """Median, min and max of ``values`` as floats."""
    return float(np.median(values)), float(min(values)), float(max(values))


def rss_mb():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


# ------------------------------------------------------------------ baselines
def _keras_mlp(n_features, n_classes, hidden_units, learning_rate, loss, seed=None, keras=None):
    """A compiled one-hidden-layer Keras MLP; ``keras``: a module imported by the caller.

    Without ``keras``, Keras comes through this package's backend, which sets
    TensorFlow's thread pools: a contender measured as plain Keras passes
    ``import keras`` instead.
    """
    if keras is None:
        from skkeras_search._core import backend as _backend

        keras = _backend.keras()
    init = keras.initializers.GlorotUniform(seed=seed)
    model = keras.Sequential([
        keras.Input((n_features,)),
        keras.layers.Dense(hidden_units, activation="relu", kernel_initializer=init),
        keras.layers.Dense(n_classes, activation="softmax", kernel_initializer=init),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss,
                  metrics=["accuracy"])
    return model


def have_scikeras():
    try:
        import scikeras  # noqa: F401
    except ImportError:
        return False
    return True


def make_estimator(name, hidden_units, learning_rate, epochs, batch_size, random_state,
                   keras=None):
    """One of the compared estimators, with the paper's two hyperparameters.

    ``keras`` (scikeras only): the Keras module its models are built with (see
    :func:`_keras_mlp`).
    """
    if name == "KerasMLPClassifier":
        from skkeras_search import KerasMLPClassifier

        return KerasMLPClassifier(hidden_units=hidden_units, learning_rate=learning_rate,
                                  epochs=epochs, batch_size=batch_size,
                                  random_state=random_state)
    if name == "sklearn MLPClassifier":
        from sklearn.neural_network import MLPClassifier

        return MLPClassifier(hidden_layer_sizes=(hidden_units,), learning_rate_init=learning_rate,
                             max_iter=epochs, batch_size=batch_size, random_state=random_state)
    if name == "scikeras 0.13":
        from scikeras.wrappers import KerasClassifier

        def build(hidden_units, learning_rate, meta):
            return _keras_mlp(meta["n_features_in_"], meta["n_classes_"], hidden_units,
                              learning_rate, "sparse_categorical_crossentropy", keras=keras)

        return KerasClassifier(model=build, model__hidden_units=hidden_units,
                               model__learning_rate=learning_rate, epochs=epochs,
                               batch_size=batch_size, verbose=0, random_state=random_state)
    if name == "keras SKLearnClassifier":
        from keras.wrappers import SKLearnClassifier

        def build(X, y, hidden_units, learning_rate):
            return _keras_mlp(X.shape[1], y.shape[1], hidden_units, learning_rate,
                              "categorical_crossentropy")

        return SKLearnClassifier(
            model=build,
            model_kwargs={"hidden_units": hidden_units, "learning_rate": learning_rate},
            fit_kwargs={"epochs": epochs, "batch_size": batch_size, "verbose": 0},
        )
    raise ValueError(f"unknown estimator {name!r}")


def params_for(name, candidate):
    """Translate {'hidden_units', 'learning_rate'} into ``name``'s parameters."""
    h, lr = int(candidate["hidden_units"]), float(candidate["learning_rate"])
    if name == "KerasMLPClassifier":
        return {"hidden_units": h, "learning_rate": lr}
    if name == "sklearn MLPClassifier":
        return {"hidden_layer_sizes": (h,), "learning_rate_init": lr}
    if name == "scikeras 0.13":
        return {"model__hidden_units": h, "model__learning_rate": lr}
    return {"model_kwargs": {"hidden_units": h, "learning_rate": lr}}


class RawKeras:
    """Plain ``Sequential.fit``/``evaluate``: the floor of any Keras wrapper."""

    def __init__(self, hidden_units, learning_rate, epochs, batch_size):
        self.hidden_units, self.learning_rate = hidden_units, learning_rate
        self.epochs, self.batch_size = epochs, batch_size

    def fit(self, X, y):
        self.model = _keras_mlp(X.shape[1], int(y.max()) + 1, self.hidden_units,
                                self.learning_rate, "sparse_categorical_crossentropy")
        self.model.fit(X, y, epochs=self.epochs, batch_size=self.batch_size, verbose=0)
        return self

    def score(self, X, y):
        return self.model.evaluate(X, y, verbose=0)[1]


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start
