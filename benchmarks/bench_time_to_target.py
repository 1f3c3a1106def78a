"""Time to a good model: this package's searches against the tools a user would pick instead.

Question (issue 21): on the paper's space (``paper_space()``: ``hidden_units`` 16..496 step
32, ``learning_rate`` log-uniform on [1e-5, 1]), how soon does each tool find a model as good
as random search's, what does its whole run cost (cold process, epochs, memory), and how good
is the model it returns on held-out digits?

Data: MNIST's 10k test split (``../shared/datasets/mnist-test``) or, when missing,
scikit-learn's digits (the output says which): ``--n-samples`` (3,000) searched, stratified,
the rest (7,000) held out; the split and the 3 folds (``StratifiedKFold(shuffle=True)``) come
from ``--random-state``, the same for every contender and seed. Up to ``--epochs`` (27) per
candidate, batch 128, ``n_jobs=1``, failed fits scored NaN. Contenders (``--contenders``), the
first four this package's:

* ``tpe``: ``TPESearchCV``, ``--n-iter`` (30) candidates, the class's defaults;
* ``bohb``, ``hyperband``: ``HyperbandSearchCV`` with TPE or random proposals, one Hyperband
  iteration (all brackets, factor 3, 1 to 27 epochs), the command's ``--strategy bohb`` and
  ``--strategy hyperband``;
* ``halving``: ``HyperbandSearchCV(n_brackets=1)``, Hyperband's most aggressive bracket (27
  candidates from 1 epoch, factor 3), the command's ``--strategy halving``: the same plan as
  scikit-learn's halving below, with promoted candidates continuing;
* ``asha``: ``ASHASearchCV``, 27 candidates (as many as halving's: ``n_candidates``) on rungs
  of 1, 3, 9 and 27 epochs, factor 3, the command's ``--strategy asha`` (its default for a table, so the
  command's default multi-fidelity search);
* ``random``: ``RandomizedSearchCV`` + ``KerasMLPClassifier``, ``--n-iter`` candidates;
* ``sklearn-halving``: ``HalvingRandomSearchCV`` + ``MLPClassifier``, ``resource="max_iter"``,
  ``max_resources=27``, factor 3 (27 candidates);
* ``optuna``: Optuna's TPE with ``HyperbandPruner(1, 27, 3)``, ``--n-iter`` trials of a plain
  Keras model trained on the first fold's split, validation accuracy reported every epoch;
* ``keras-tuner``: ``keras_tuner.Hyperband(max_epochs=27, factor=3)``, one iteration, same split;
* ``scikeras``: scikeras 0.13's ``KerasClassifier`` over ``random``'s very candidates.

The other tools' processes import nothing of this package (the parent hands them the data
as ``.npz``) and build their models with ``import keras`` (TensorFlow's own thread pools).
Optuna and keras-tuner refit their best parameters on all searched rows for 27 epochs, as
scikit-learn's ``refit`` does. Each (seed, contender) is a fresh process, seed-major, the
contender order rotated by one per seed. Every evaluation is logged with its time as it
ends: by a scorer wrapper in the scikit-learn searches (a candidate is evaluated when its
last fold is scored; its score is the folds' mean), Optuna's ``datetime_complete``,
keras-tuner's ``on_trial_end``. Time to target: search seconds (after imports and data
loading) to the first full-budget (27-epoch) evaluation scoring at least random search's
median best CV - 0.005 (Optuna: the last epoch's, keras-tuner: its best epoch's accuracy on
its one validation split); the other columns are defined by the legend under the table.
A contender still running after ``--budget-minutes`` is killed and reported as stopped (its
evaluations until then count). Medians over seeds; a seed that does not reach the target, or
is stopped, counts as infinite. Issue 21's goals, printed as met or not met: our best
strategy's time to target at most 0.5x the fastest other contender's (``random`` is ours);
the command's default multi-fidelity search (``asha``) whole process at most
scikit-learn halving's, with held-out accuracy at least halving's - 0.002.

The full run (about an hour on 2 cores; run it on an otherwise idle machine)::

    python benchmarks/bench_time_to_target.py --seeds 0 1 2 --budget-minutes 15

Sample output -- a QUICK run, not the benchmark: ``--quick`` (500 MNIST digits searched, 500
held out, 4 candidates, 3 epochs, seed 0; 3.6 min on 2 cores of a shared machine; 3-epoch
searches on 500 digits answer nothing about the question), the markdown table and the goals
as printed (the aligned table and the per-run lines come first)::

    | contender | time to target | whole process | search | epochs x folds | peak memory | held-out |
    | --- | --- | --- | --- | --- | --- | --- |
    | `RandomizedSearchCV` + our `KerasMLPClassifier` | 0.784 s | 12.9 s | 1.25 s | 36 | 730 MB | 0.814 |
    | our `TPESearchCV` | 1.16 s | 13.2 s | 1.64 s | 36 | 724 MB | 0.830 |
    | our BOHB (1 iteration) | 1.32 s | 14 s | 2.05 s | 33 | 738 MB | 0.842 |
    | Optuna TPE + Hyperband pruning, plain Keras | 4.98 s | 26.2 s | 11.5 s | 10 | 810 MB | 0.846 |
    | keras-tuner `Hyperband` (one validation split) | 18.6 s | 41.6 s | 26.2 s | 11 | 835 MB | 0.816 |
    | our `HyperbandSearchCV` (1 iteration) | not reached | 13.3 s | 2.07 s | 33 | 732 MB | 0.790 |
    | our `HyperbandSearchCV(n_brackets=1)` (halving) | not reached | 13.2 s | 1.4 s | 15 | 727 MB | 0.790 |
    | our `ASHASearchCV` (as many candidates as halving) | not reached | 13.1 s | 1.52 s | 15 | 730 MB | 0.824 |
    | `HalvingRandomSearchCV` + `MLPClassifier` | not reached | 4.66 s | 0.996 s | 18 | 205 MB | 0.818 |
    | scikeras `KerasClassifier`, random's candidates | not reached | 48.7 s | 32.6 s | 36 | 893 MB | 0.848 |

    goal met: our best strategy's time to target (random, 0.7835 s) <= 0.5x the fastest other
        contender's (optuna, 4.982 s)
    goal not met: the command's default multi-fidelity search (asha, 13.1 s, held-out 0.824)
        whole process <= scikit-learn halving's (4.662 s, 0.818), held-out >= its - 0.002
"""

import argparse
import contextlib
import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402
import bench_search  # noqa: E402
import numpy as np  # noqa: E402
from bench_strategies import median  # noqa: E402

#: name: (label, this package's?)
CONTENDERS = {
    "tpe": ("our `TPESearchCV`", True),
    "bohb": ("our BOHB (1 iteration)", True),
    "hyperband": ("our `HyperbandSearchCV` (1 iteration)", True),
    "halving": ("our `HyperbandSearchCV(n_brackets=1)` (halving)", True),
    "asha": ("our `ASHASearchCV` (as many candidates as halving)", True),
    "random": ("`RandomizedSearchCV` + our `KerasMLPClassifier`", True),
    "sklearn-halving": ("`HalvingRandomSearchCV` + `MLPClassifier`", False),
    "optuna": ("Optuna TPE + Hyperband pruning, plain Keras", False),
    "keras-tuner": ("keras-tuner `Hyperband` (one validation split)", False),
    "scikeras": ("scikeras `KerasClassifier`, random's candidates", False),
}
#: The command's default multi-fidelity search, which issue 21's second goal names.
#: The command uses it for a table (``TABLE_DEFAULTS``; ``check_space`` checks it is still so).
DEFAULT_MULTI_FIDELITY = "asha"
def n_candidates(epochs):
    """ASHA's candidates: as many as one halving bracket from 1 epoch starts (factor ** s_max,
    27 for 27 epochs), the count scikit-learn's halving gets."""
    s_max = 0
    while FACTOR ** (s_max + 1) <= epochs:
        s_max += 1
    return FACTOR ** s_max
TOLERANCE, HELDOUT_TOLERANCE, RATIO_GOAL = 0.005, 0.002, 0.5
BATCH, FACTOR = 128, 3
LEGEND = (
    "time_to_target_s: search seconds to the first full-budget evaluation scoring >= the target "
    "('-': not reached in most seeds; a seed not reaching it, or stopped, counts as infinite); "
    "reached: seeds that did; whole_s: the fresh process timed from outside; search_s: search "
    "and refit inside it; epochs: all fits and folds, refit not counted; peak_rss_mb: the "
    "process's VmHWM; heldout: the refit model's accuracy on the held-out digits; best_val: best "
    "full-budget validation score (CV mean; one split for optuna and keras-tuner); candidates: "
    "distinct parameter sets evaluated; status: done, stopped (--budget-minutes) or failed")
#: paper_space() for the contenders that do not import this package (checked in check_space).
HIDDEN_UNITS, LEARNING_RATE = (16, 496, 32), (1e-5, 1.0)


# ------------------------------------------------------------------ worker side
class EventLog:
    """Evaluations as JSON lines, each with its time since :meth:`start`, flushed as they end."""

    def __init__(self, path):
        self.path, self.t0, self.wall0 = path, None, None

    def start(self):
        self.t0, self.wall0 = time.perf_counter(), time.time()

    def elapsed(self):
        return time.perf_counter() - self.t0

    def write(self, **event):
        event.setdefault("t", self.elapsed())
        with open(self.path, "a") as fh:
            fh.write(json.dumps(event, default=_common._json_default) + "\n")


class TimedScorer:
    """Accuracy of one fold, logged with its time, parameters, budget and epochs trained.

    Not the command's ``ProgressScorer``, which would import this package into
    the other tools' processes. Epochs: ``n_epochs_trained_`` (ours: a continued
    fit's extra epochs), else ``n_iter_`` (``MLPClassifier``), else the budget.
    """

    def __init__(self, log, keys, budget_key):
        self.log, self.keys, self.budget_key = log, keys, budget_key

    def __call__(self, estimator, X, y):
        score = float(np.mean(estimator.predict(X) == y))
        params = estimator.get_params()
        epochs = getattr(estimator, "n_epochs_trained_", None)
        if epochs is None:
            epochs = getattr(estimator, "n_iter_", params[self.budget_key])
        self.log.write(kind="fold", params={k: params[k] for k in self.keys},
                       budget=int(params[self.budget_key]), score=score, epochs=int(epochs))
        return score


def _folds(args):
    from sklearn.model_selection import StratifiedKFold

    return StratifiedKFold(args.cv, shuffle=True, random_state=args.random_state)


def sklearn_search(args, log):
    """The contender's (unfitted) scikit-learn search, scored by a TimedScorer."""
    from sklearn.model_selection import GridSearchCV

    common = {"cv": _folds(args), "n_jobs": 1, "error_score": np.nan}
    if args.worker == "sklearn-halving":
        from scipy.stats import loguniform
        from sklearn.experimental import enable_halving_search_cv  # noqa: F401
        from sklearn.model_selection import HalvingRandomSearchCV

        lo, hi, step = HIDDEN_UNITS
        space = {"hidden_layer_sizes": [(h,) for h in range(lo, hi + 1, step)],
                 "learning_rate_init": loguniform(*LEARNING_RATE)}
        mlp = _common.make_estimator("sklearn MLPClassifier", lo, 1e-3, args.epochs, BATCH,
                                     args.seed)
        scorer = TimedScorer(log, ("hidden_layer_sizes", "learning_rate_init"), "max_iter")
        return HalvingRandomSearchCV(mlp, space, resource="max_iter", max_resources=args.epochs,
                                     factor=FACTOR, random_state=args.seed, scoring=scorer,
                                     return_train_score=False, **common)
    if args.worker == "scikeras":  # random's very candidates, in scikeras's names
        import keras

        est = _common.make_estimator("scikeras 0.13", 16, 1e-3, args.epochs, BATCH, args.seed,
                                     keras=keras)
        grid = [{k: [v] for k, v in _common.params_for("scikeras 0.13", c).items()}
                for c in json.loads(args.candidates)]
        scorer = TimedScorer(log, ("model__hidden_units", "model__learning_rate"), "epochs")
        return GridSearchCV(est, grid, scoring=scorer, **common)
    from sklearn.model_selection import RandomizedSearchCV

    from skkeras_search import paper_space
    from skkeras_search._core import backend
    from skkeras_search.search import ASHASearchCV, HyperbandSearchCV, TPESearchCV

    backend.tensorflow()  # imported before the search starts, as the others' imports are
    clf = _common.make_estimator("KerasMLPClassifier", 16, 1e-3, args.epochs, BATCH, args.seed)
    common.update(scoring=TimedScorer(log, ("hidden_units", "learning_rate"), "epochs"),
                  random_state=args.seed)
    if args.worker == "random":
        return RandomizedSearchCV(clf, paper_space(), n_iter=args.n_iter, **common)
    if args.worker == "tpe":
        return TPESearchCV(clf, paper_space(), n_iter=args.n_iter, **common)
    if args.worker == "asha":
        return ASHASearchCV(clf, paper_space(), max_epochs=args.epochs, factor=FACTOR,
                            min_epochs=1, n_candidates=n_candidates(args.epochs), **common)
    return HyperbandSearchCV(clf, paper_space(), max_epochs=args.epochs, factor=FACTOR,
                             min_epochs=1, sampler="tpe" if args.worker == "bohb" else "random",
                             n_brackets=1 if args.worker == "halving" else None, **common)


def run_sklearn(args, data, log):
    X, y, X_te, y_te = data
    search = sklearn_search(args, log)
    log.start()
    search.fit(X, y)
    search_s = log.elapsed()
    scores = np.column_stack([search.cv_results_[f"split{i}_test_score"]
                              for i in range(search.n_splits_)])
    return {"search_s": search_s, "best_cv": float(search.best_score_),
            "best_params": search.best_params_, "failed_fits": int(np.sum(~np.isfinite(scores))),
            "heldout": float(np.mean(search.predict(X_te) == y_te))}


def _keras_parts(args, data):
    """Plain Keras, seeded; the single validation split (the first fold); a model builder."""
    import keras

    keras.utils.set_random_seed(args.seed)
    X, y = data[0], data[1]
    fit, val = next(_folds(args).split(X, y))
    n_classes = int(y.max()) + 1

    def build(hidden_units, learning_rate):
        return _common._keras_mlp(X.shape[1], n_classes, int(hidden_units), learning_rate,
                                  "sparse_categorical_crossentropy", keras=keras)

    return keras, (X[fit], y[fit]), (X[val], y[val]), build


def _refit(args, data, build, params, log):
    """Train ``params`` on all searched rows; (search seconds so far, held-out accuracy)."""
    X, y, X_te, y_te = data
    model = build(params["hidden_units"], params["learning_rate"])
    model.fit(X, y, epochs=args.epochs, batch_size=BATCH, verbose=0)
    search_s = log.elapsed()
    return search_s, float(np.mean(np.argmax(model.predict(X_te, verbose=0), axis=1) == y_te))


def run_optuna(args, data, log):
    import optuna

    keras, train, validation, build = _keras_parts(args, data)
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    class Report(keras.callbacks.Callback):
        def __init__(self, trial):
            super().__init__()
            self.trial = trial

        def on_epoch_end(self, epoch, logs=None):
            self.trial.report(float(logs["val_accuracy"]), epoch + 1)
            if self.trial.should_prune():
                raise optuna.TrialPruned()

    def objective(trial):
        model = build(trial.suggest_int("hidden_units", *HIDDEN_UNITS[:2], step=HIDDEN_UNITS[2]),
                      trial.suggest_float("learning_rate", *LEARNING_RATE, log=True))
        history = model.fit(*train, validation_data=validation, epochs=args.epochs,
                            batch_size=BATCH, verbose=0, callbacks=[Report(trial)])
        return float(history.history["val_accuracy"][-1])

    def ended(study, trial):
        done = trial.state == optuna.trial.TrialState.COMPLETE
        log.write(kind="eval", t=trial.datetime_complete.timestamp() - log.wall0,
                  params=trial.params, budget=max(trial.intermediate_values, default=0),
                  score=trial.value if done else None, epochs=len(trial.intermediate_values),
                  state=trial.state.name)

    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=args.seed),
        pruner=optuna.pruners.HyperbandPruner(min_resource=1, max_resource=args.epochs,
                                              reduction_factor=FACTOR))
    log.start()
    study.optimize(objective, n_trials=args.n_iter, callbacks=[ended])
    search_s, heldout = _refit(args, data, build, study.best_params, log)
    return {"search_s": search_s, "best_cv": float(study.best_value),
            "best_params": study.best_params, "heldout": heldout,
            "failed_fits": sum(t.state.name == "FAIL" for t in study.trials)}


def run_keras_tuner(args, data, log):
    import keras_tuner

    keras, train, validation, build = _keras_parts(args, data)

    class Tuner(keras_tuner.Hyperband):
        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            hp = trial.hyperparameters.values
            log.write(kind="eval", params={k: hp[k] for k in ("hidden_units", "learning_rate")},
                      budget=hp["tuner/epochs"], score=trial.score, state=str(trial.status),
                      epochs=hp["tuner/epochs"] - hp["tuner/initial_epoch"])

    def hypermodel(hp):
        return build(hp.Int("hidden_units", *HIDDEN_UNITS[:2], step=HIDDEN_UNITS[2]),
                     hp.Float("learning_rate", *LEARNING_RATE, sampling="log"))

    with tempfile.TemporaryDirectory(prefix="bench-kt-") as folder:
        tuner = Tuner(hypermodel, objective="val_accuracy", max_epochs=args.epochs,
                      factor=FACTOR, hyperband_iterations=1, seed=args.seed, directory=folder,
                      project_name="kt", overwrite=True)
        log.start()
        tuner.search(*train, validation_data=validation, batch_size=BATCH, verbose=0)
        best = tuner.get_best_hyperparameters(1)[0].values
        search_s, heldout = _refit(args, data, build, best, log)
        trials = tuner.oracle.get_best_trials(1)
    return {"search_s": search_s, "best_cv": float(trials[0].score),
            "best_params": {k: best[k] for k in ("hidden_units", "learning_rate")},
            "heldout": heldout, "failed_fits": None}


def worker(args):
    """One contender and seed in this fresh process; prints its summary as JSON."""
    loaded = np.load(args.data)
    data = tuple(loaded[k] for k in ("X", "y", "X_test", "y_test"))
    log = EventLog(args.events)
    run = {"optuna": run_optuna, "keras-tuner": run_keras_tuner}.get(args.worker, run_sklearn)
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        result = run(args, data, log)
    result["peak_rss_mb"] = _common.peak_rss_mb()
    print(json.dumps(result, default=_common._json_default))
    return 0


# ------------------------------------------------------------------ parent side
def check_space():
    """The constants the other tools search are paper_space()'s; our contenders are the command's.

    Returns the differences as ``#`` lines (empty when none): a contender whose
    settings drift from the command's ``--strategy`` plan, or a command whose
    table default is no longer :data:`DEFAULT_MULTI_FIDELITY`.
    """
    from skkeras_search import KerasMLPClassifier, paper_space
    from skkeras_search.cli._args import TABLE_DEFAULTS
    from skkeras_search.cli._plan import build_search

    space = paper_space()
    h, lr = space["hidden_units"], space["learning_rate"]
    if (h.low, h.high, h.step) != HIDDEN_UNITS or (lr.low, lr.high) != LEARNING_RATE:
        raise RuntimeError(f"paper_space() is now {space}: update HIDDEN_UNITS and LEARNING_RATE")
    notes = []
    if TABLE_DEFAULTS["strategy"] != DEFAULT_MULTI_FIDELITY:
        notes.append(f"# the command's table default is now --strategy "
                     f"{TABLE_DEFAULTS['strategy']}, not {DEFAULT_MULTI_FIDELITY}")
    budget = {"factor": FACTOR, "min_epochs": 1}
    contenders = {"hyperband": {**budget, "n_brackets": None, "sampler": "random"},
                  "bohb": {**budget, "n_brackets": None, "sampler": "tpe"},
                  "halving": {**budget, "n_brackets": 1, "sampler": "random"},
                  "asha": {**budget, "n_candidates": n_candidates(27), "sampler": "random"}}
    for strategy, ours in contenders.items():
        command = build_search(strategy, KerasMLPClassifier(), space, n_iter=n_candidates(27), cv=3,
                               scoring=None, n_jobs=1, random_state=0, epochs=27).get_params()
        differs = {k: command[k] for k in ours if command[k] != ours[k]}
        if differs:
            notes.append(f"# the command's --strategy {strategy} differs from the contender: "
                         f"{differs}")
    return "\n".join(notes) or None


def prepare_data(args, folder):
    """Load and split once; the workers read the arrays from ``folder/data.npz``."""
    from sklearn.model_selection import train_test_split

    X, y, name = _common.load_data()
    n_search = min(args.n_samples, int(0.6 * len(X)))
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, train_size=n_search, test_size=args.n_test,
                                              stratify=y, random_state=args.random_state)
    path = os.path.join(folder, "data.npz")
    np.savez(path, X=X_tr, y=y_tr, X_test=X_te, y_test=y_te)
    return path, name, len(X_tr), len(X_te)


def available(names):
    """The contenders whose tools are installed (the others skipped with a note); random first."""
    names = ["random"] + [n for n in names if n != "random"]
    missing = {"scikeras": not _common.have_scikeras(),
               "keras-tuner": importlib.util.find_spec("keras_tuner") is None}
    for n in names:
        if missing.get(n):
            print(f"# {n} skipped: not installed (pip install -e '.[bench]')")
    return [n for n in names if not missing.get(n)]


def run_one(args, name, seed, data_path, folder):
    """One fresh process; its record: status, times, peak, held-out and its evaluations."""
    events = os.path.join(folder, f"{name}-{seed}.jsonl")
    argv = ["--worker", name, "--seed", seed, "--data", data_path, "--events", events,
            "--epochs", args.epochs, "--n-iter", args.n_iter, "--cv", args.cv,
            "--random-state", args.random_state]
    if name == "scikeras":
        argv += ["--candidates", json.dumps(bench_search.candidates(args.n_iter, seed))]
    record = {"contender": name, "seed": seed, "status": "done"}
    start = time.perf_counter()
    try:
        result, record["process_s"] = _common.fresh_process(
            __file__, argv, timeout=args.budget_minutes * 60)
        record.update(result)
    except subprocess.TimeoutExpired:
        record.update(status="stopped", process_s=None, stopped_after_s=time.perf_counter() - start)
    except RuntimeError as error:  # a broken contender: said in the table, not a NaN
        record.update(status="failed", process_s=None, error=str(error)[-2000:])
    from skkeras_search.cli._progress import read_progress

    record["events"] = read_progress(events)
    record["evaluations"] = evaluations(record["events"], 1 if name in SINGLE_SPLIT else args.cv)
    record["epochs"] = sum(e["epochs"] for e in record["events"])
    record["candidates"] = len({json.dumps(e["params"], sort_keys=True)
                                for e in record["evaluations"]})
    full = [e["score"] for e in record["evaluations"]
            if e["budget"] == args.epochs and e["score"] is not None]
    record["best_val"] = max(full) if full else None
    return record


SINGLE_SPLIT = ("optuna", "keras-tuner")


def evaluations(events, folds):
    """Candidate evaluations in the order they ended.

    A cross-validating search's fold scores become one evaluation when the
    candidate's last fold is scored (the mean, as ``mean_test_score``); a
    candidate with a failed fold never completes (its mean is NaN).
    """
    out, pending = [], {}
    for e in events:
        if e["kind"] != "fold":
            out.append(e)
            continue
        group = pending.setdefault(json.dumps([e["params"], e["budget"]], sort_keys=True), [])
        group.append(e)
        if len(group) == folds:
            out.append({"t": e["t"], "params": e["params"], "budget": e["budget"],
                        "score": float(np.mean([g["score"] for g in group])),
                        "epochs": sum(g["epochs"] for g in group)})
            group.clear()
    return out


def time_to(record, threshold, full_budget):
    """Search seconds to the first full-budget evaluation scoring >= threshold, else inf."""
    for e in record["evaluations"]:
        if e["budget"] == full_budget and e["score"] is not None and e["score"] >= threshold:
            return e["t"]
    return np.inf


def summarise(runs, names, args):
    """The target, and one row of medians over seeds per contender, fastest to the target first."""
    best = [r["best_val"] for r in runs if r["contender"] == "random" and r["best_val"] is not None]
    target = float(np.median(best)) - TOLERANCE if best else np.inf
    rows = []
    for name in names:
        mine = [r for r in runs if r["contender"] == name]
        for r in mine:  # None: not reached
            t = time_to(r, target, args.epochs)
            r["time_to_target_s"] = t if np.isfinite(t) else None
        done = [r for r in mine if r["status"] == "done"]

        def med(key, rs=mine, default=np.inf):
            return median([r.get(key) if r.get(key) is not None else default for r in rs])

        rows.append({
            "contender": name, "ours": CONTENDERS[name][1],
            "time_to_target_s": med("time_to_target_s"),
            "reached": f"{sum(r['time_to_target_s'] is not None for r in mine)}/{len(mine)}",
            "whole_s": med("process_s"), "search_s": med("search_s"),
            "epochs": med("epochs"), "peak_rss_mb": med("peak_rss_mb", done, None),
            "heldout": med("heldout", done, None), "best_val": med("best_val", mine, -np.inf),
            "candidates": med("candidates"),
            "status": ", ".join(sorted({r["status"] for r in mine})),
            "per_seed_time_to_target_s": [r["time_to_target_s"] for r in mine],
        })
    rows.sort(key=lambda r: r["time_to_target_s"] if r["time_to_target_s"] is not None else np.inf)
    return target, rows


def goals(rows):
    """Issue 21's two goals on this run: (text, met, or None where a contender is missing)."""
    by, fmt = {r["contender"]: r for r in rows}, _common._fmt

    def get(r, key):
        return np.inf if r is None or r[key] is None else r[key]

    key = "time_to_target_s"
    ours = min((r for r in rows if r["ours"]), key=lambda r: get(r, key))
    other = min((r for r in rows if not r["ours"]), key=lambda r: get(r, key), default=None)
    t_ours, t_other = get(ours, key), get(other, key)  # inf: not reached
    met = None if other is None else bool(np.isfinite(t_ours) and t_ours <= RATIO_GOAL * t_other)
    out = [(f"our best strategy's time to target ({ours['contender']}, {fmt(ours[key])} s) <= "
            f"{RATIO_GOAL}x the fastest other contender's ({other and other['contender']}, "
            f"{fmt(other and other[key])} s)", met)]
    mf, sk = by.get(DEFAULT_MULTI_FIDELITY), by.get("sklearn-halving")
    met = None if not (mf and sk) else bool(
        get(mf, "whole_s") <= get(sk, "whole_s") < np.inf
        and mf["heldout"] >= sk["heldout"] - HELDOUT_TOLERANCE)
    out.append((f"the command's default multi-fidelity search ({DEFAULT_MULTI_FIDELITY}, "
                f"{fmt(mf and mf['whole_s'])} s, held-out {fmt(mf and mf['heldout'])}) whole "
                f"process <= scikit-learn halving's ({fmt(sk and sk['whole_s'])} s, "
                f"{fmt(sk and sk['heldout'])}), held-out >= its - {HELDOUT_TOLERANCE}", met))
    return out


def markdown(rows):
    """The issue's table: medians, formatted for the README."""
    def s(v, unit=""):
        return "-" if v is None else (f"{v:.3g}" if v < 1000 else f"{v:,.0f}") + unit

    cells = [{"contender": CONTENDERS[r["contender"]][0], "peak": s(r["peak_rss_mb"], " MB"),
              "ttt": s(r["time_to_target_s"], " s") if r["time_to_target_s"] is not None
              else "not reached",
              "whole": s(r["whole_s"], " s") if r["whole_s"] is not None else r["status"],
              "search": s(r["search_s"], " s"), "epochs": f"{r['epochs']:,.0f}",
              "heldout": "-" if r["heldout"] is None else f"{r['heldout']:.3f}"} for r in rows]
    return _common.markdown_table(
        cells, ["contender", "ttt", "whole", "search", "epochs", "peak", "heldout"],
        ["contender", "time to target", "whole process", "search", "epochs x folds", "peak memory",
         "held-out"])


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=None,
                   help="one run of every contender per seed (default: 0 1 2; --quick: 0)")
    p.add_argument("--contenders", nargs="+", default=list(CONTENDERS), choices=list(CONTENDERS),
                   help="random always runs: its median best sets the target")
    p.add_argument("--budget-minutes", type=float, default=15,
                   help="wall-clock cap of one contender's process; then it is stopped")
    p.add_argument("--n-samples", type=int, default=3000, help="stratified subset searched")
    p.add_argument("--n-test", type=int, default=None, help="held out (default: the rest)")
    p.add_argument("--n-iter", type=int, default=30, help="tpe, random, optuna, scikeras")
    p.add_argument("--epochs", type=int, default=27, help="full budget per candidate")
    p.add_argument("--cv", type=int, default=3)
    p.add_argument("--random-state", type=int, default=42, help="the split and the folds")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: 500 searched, 500 held out, 4 candidates, 3 epochs, seed 0")
    p.add_argument("--out", default=None, help="results folder (default: benchmarks/results)")
    for hidden in ("--worker", "--seed", "--data", "--events", "--candidates"):
        p.add_argument(hidden, help=argparse.SUPPRESS, type=int if hidden == "--seed" else str)
    args = p.parse_args(argv)
    if args.quick:
        args.n_samples, args.n_iter, args.epochs = 500, 4, 3
        args.n_test = args.n_test or 500
    args.seeds = args.seeds if args.seeds is not None else [0] if args.quick else [0, 1, 2]
    return args


def main(argv=None):
    args = parse(argv)
    if args.worker:
        return worker(args)
    env = _common.environment()
    env.update({k: importlib.metadata.version(k) if importlib.util.find_spec(m) else None
                for k, m in (("optuna", "optuna"), ("keras-tuner", "keras_tuner"),
                             ("scikeras", "scikeras"))})
    print(_common.env_line(env))
    note = check_space()
    names = available(args.contenders)
    with tempfile.TemporaryDirectory(prefix="bench-ttt-") as folder:
        data_path, data_name, n_search, n_test = prepare_data(args, folder)
        print(f"# data: {data_name}, {n_search} searched (stratified), {n_test} held out; "
              f"{args.cv}-fold, up to {args.epochs} epochs, batch {BATCH}, {args.n_iter} "
              f"candidates; seeds {args.seeds}; cap {args.budget_minutes:g} min per contender; "
              f"optuna {env['optuna']}, keras-tuner {env['keras-tuner']}, scikeras "
              f"{env['scikeras']}", flush=True)
        if note:
            print(note)
        runs, total = [], len(names) * len(args.seeds)
        for i, seed in enumerate(args.seeds):  # seed-major, the order rotated by one per seed
            for name in names[i % len(names):] + names[:i % len(names)]:
                r = run_one(args, name, seed, data_path, folder)
                runs.append(r)
                print(f"{name} seed={seed} ({len(runs)}/{total}) ... {r['status']}, whole "
                      f"{_common._fmt(r['process_s'])} s, search {_common._fmt(r.get('search_s'))} "
                      f"s, {r['epochs']} epochs, best val {_common._fmt(r['best_val'])}, held-out "
                      f"{_common._fmt(r.get('heldout'))}, peak "
                      f"{_common._fmt(r.get('peak_rss_mb'))} MB", flush=True)
    target, rows = summarise(runs, names, args)
    print(f"\ntarget: random search's median best CV - {TOLERANCE} = {target:.4f}")
    met = goals(rows)
    _common.finish(
        __file__, env, rows,
        ["contender", "time_to_target_s", "reached", "whole_s", "search_s", "epochs",
         "peak_rss_mb", "heldout", "best_val", "candidates", "status"],
        f"medians over seeds {args.seeds}; " + LEGEND,
        extra={"data": data_name, "n_searched": n_search, "n_heldout": n_test,
               "target": target, "tolerance": TOLERANCE, "goals": met, "runs": runs},
        out=args.out)
    md = markdown(rows)
    with open(os.path.join(args.out or _common.RESULTS, "bench_time_to_target.md"), "w") as fh:
        fh.write(md + "\n")
    print("\n" + md + "\n")
    for text, ok in met:
        print(f"goal {'met' if ok else 'not met' if ok is not None else 'not evaluated'}: {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
