"""Fixed cost per fit, cold start and memory over many fits: Keras wrappers on a user's build function.

Question: how much does one small fit + score cost through the scikeras
drop-in (``skkeras_search.scikeras.wrappers.KerasClassifier``, scikeras's
parameters: ``model=build_fn``, ``model__*``, ``verbose=0``), through scikeras
0.13 itself, through our flat ``KerasClassifier(build_fn)``, through Keras's
own ``SKLearnClassifier`` and through plain Keras (build, compile,
``Model.fit``, ``evaluate``) on the same model function; how long does a
fresh process take to its first fit; and does memory grow fit after fit?
scikeras runs when installed (the ``bench`` extra) or from ``--scikeras-path``
(a ``pip install --no-deps --target DIR scikeras==0.13.0`` folder, put on its
worker's PYTHONPATH only); otherwise it is skipped.

Data: the first 300 of scikit-learn's 8x8 digits (64 features), 1 epoch,
batch 200, one hidden layer of 64 units, Adam, compiled by the build
function. Each estimator runs in its own fresh process: ``--warmup`` fits
untimed, ``--repeats`` timed fit + score calls (median and p10/p90, with the
fit and score parts), then more fits up to ``--memory-fits`` in all, reading
the resident set size after the first 5 and after the last. ``cold`` is the
time from the process's start (the parent's clock just before it starts the
worker) to the end of its first fit + score: interpreter, imports, first
traces. The 1-minute load average is recorded before and after each worker.
Both our wrappers run twice: with a new ``random_state`` per fit (worst case:
a new seed for every fit) and with one ``random_state`` (a search's folds of
a candidate). Every fit's accuracy is kept in the raw rows (with one seed,
all fits must agree).

Sample output (2 cores, load average 1.0 to 1.7, one run; TensorFlow threads as
configured; some columns left out; ``drop-in`` is ``skkeras_search.scikeras``)::

    estimator                                   median_ms  p10_ms  p90_ms  cold_ms  vs_scikeras  growth_mb
    ------------------------------------------  ---------  ------  ------  -------  -----------  ---------
    KerasClassifier (new seed per fit)               61.4   47.61   70.83     7042      0.05604      3.309
    KerasClassifier (same seed)                     64.62   50.38   68.85     8274      0.05898      3.191
    drop-in KerasClassifier (new seed per fit)      104.6   95.59   157.7     8199      0.09544      6.629
    drop-in KerasClassifier (same seed)             159.9   129.6   186.4     6393        0.146      6.121
    raw Keras                                       887.1   772.7    1218     6402       0.8097      967.9
    keras SKLearnClassifier                          1046   773.3    1267     6552       0.9543       1154
    scikeras 0.13                                    1096   913.9    1478     6638            1       1127

(``growth_mb`` over 200 fits. The drop-in calls the build function for every
fit, as scikeras does, and assigns the new weights into a pooled compiled twin;
its builds are named as the first one was, since TensorFlow keeps memory for
every new variable name, and a twin's optimizer is reset rather than built
again. A short test run overlapped the "same seed" worker of this run.)
"""

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402
import numpy as np  # noqa: E402

DROP_IN = "skkeras_search.scikeras KerasClassifier"
SCIKERAS = "scikeras 0.13"
ESTIMATORS = [f"{DROP_IN} (new seed per fit)", f"{DROP_IN} (same seed)", SCIKERAS,
              "keras SKLearnClassifier", "raw Keras", "KerasClassifier (new seed per fit)",
              "KerasClassifier (same seed)"]


def build(input_shape, n_classes, hidden_units=64, learning_rate=1e-3):
    """The model function every estimator gets (compiled, as Keras users write it)."""
    return _common._keras_mlp(input_shape[0], n_classes, hidden_units, learning_rate,
                              "sparse_categorical_crossentropy")


def build_scikeras(hidden_units, learning_rate, meta):
    """The same model as scikeras users write it: sizes from ``meta``."""
    return _common._keras_mlp(meta["n_features_in_"], meta["n_classes_"], hidden_units,
                              learning_rate, "sparse_categorical_crossentropy")


def _scikeras_style(package, seed):
    """scikeras's KerasClassifier, real (``scikeras``) or the drop-in, configured alike."""
    wrappers = __import__(f"{package}.wrappers", fromlist=["KerasClassifier"])
    return wrappers.KerasClassifier(model=build_scikeras, model__hidden_units=64,
                                    model__learning_rate=1e-3, epochs=1, batch_size=200,
                                    verbose=0, random_state=seed)


def _one(name, seed, X, y):
    """One fit + score; returns (fit seconds, score seconds, score)."""
    if name.startswith(DROP_IN):
        est = _scikeras_style("skkeras_search.scikeras", seed)
    elif name == SCIKERAS:
        est = _scikeras_style("scikeras", seed)
    elif name.startswith("KerasClassifier"):
        from skkeras_search import KerasClassifier

        est = KerasClassifier(build, epochs=1, batch_size=200, random_state=seed)
    elif name == "raw Keras":
        est = _common.RawKeras(64, 1e-3, 1, 200)
    else:
        est = _common.make_estimator(name, 64, 1e-3, 1, 200, seed)
    t0 = time.perf_counter()
    est.fit(X, y)
    t1 = time.perf_counter()
    score = est.score(X, y)
    return t1 - t0, time.perf_counter() - t1, float(score)


def worker(name, repeats, warmup, memory_fits, seed, t0):
    """Runs in a fresh process; ``t0`` is the parent's ``time.time()`` just before it started it."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X, y = (X[:300] / 16).astype(np.float32), y[:300]
    fixed = name.endswith("(same seed)")
    fits, scores, accuracies, rss_5 = [], [], [], None
    n = max(memory_fits, warmup + repeats)
    for i in range(n):
        fit_s, score_s, accuracy = _one(name, seed if fixed else seed + i, X, y)
        accuracies.append(accuracy)
        if i == 0:
            # cold: process start (the parent's clock) to the end of the first fit + score,
            # so it includes the interpreter, the imports and the first traces
            cold_ms = (time.time() - t0) * 1000
            first_ms = (fit_s + score_s) * 1000
        if warmup <= i < warmup + repeats:
            fits.append(fit_s * 1000)
            scores.append(score_s * 1000)
        if i + 1 == 5:
            rss_5 = _common.rss_mb()
    total = np.add(fits, scores)
    rss_n = _common.rss_mb()
    package = None
    if name == SCIKERAS:
        import scikeras

        package = f"scikeras {scikeras.__version__} ({os.path.dirname(scikeras.__file__)})"
    return {"estimator": name, "median_ms": float(np.median(total)),
            "p10_ms": float(np.percentile(total, 10)), "p90_ms": float(np.percentile(total, 90)),
            "fit_ms": float(np.median(fits)), "score_ms": float(np.median(scores)),
            "cold_ms": cold_ms, "first_fit_ms": first_ms, "fits": n,
            "rss_after_5_mb": rss_5, "rss_after_n_mb": rss_n, "growth_mb": rss_n - rss_5,
            "peak_rss_mb": _common.peak_rss_mb(), "times_ms": total.tolist(),
            # accuracy of every fit (fit data = score data): a wrong result shows here; with
            # one seed every fit must give the same figure
            "accuracy_first": accuracies[0], "accuracy_median": float(np.median(accuracies)),
            "accuracy_distinct": len(set(accuracies)), "package": package}


def _scikeras_env(path):
    """The environment for scikeras's worker: ``path`` (if any) first on its PYTHONPATH only."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    if path:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (path, env.get("PYTHONPATH")) if p)
    return env


def _have_scikeras(env):
    """Whether ``import scikeras`` would work in a process with ``env`` (no import made here)."""
    if env.get("PYTHONPATH") == os.environ.get("PYTHONPATH"):
        return importlib.util.find_spec("scikeras") is not None
    code = "import importlib.util, sys; sys.exit(importlib.util.find_spec('scikeras') is None)"
    return subprocess.run([sys.executable, "-c", code], env=env).returncode == 0


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  python benchmarks/bench_wrapper_overhead.py --scikeras-path /tmp/scikeras-ref/site\n"
               "  python benchmarks/bench_wrapper_overhead.py --repeats 25 --memory-fits 60 "
               "--out /tmp/bench\n")
    parser.add_argument("--repeats", type=int, default=55)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--memory-fits", type=int, default=200)
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--estimators", nargs="+", default=ESTIMATORS, choices=ESTIMATORS)
    parser.add_argument("--scikeras-path", default=None,
                        help="a folder holding scikeras 0.13 (pip install --no-deps --target "
                             "DIR scikeras==0.13.0), put on scikeras's worker's PYTHONPATH only; "
                             "default: scikeras as installed (the bench extra)")
    parser.add_argument("--out", default=None, help="results folder (default: benchmarks/results)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--t0", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.repeats, args.warmup, args.memory_fits,
                                args.random_state, args.t0 or time.time())))
        return 0
    env = _common.environment()
    print(_common.env_line(env))
    print(f"# digits 300 x 64, 1 epoch, fit + score; {args.repeats} timed fits after "
          f"{args.warmup} warm-up; memory over {args.memory_fits} fits; load average "
          f"{os.getloadavg()[0]:.2f} at start", flush=True)
    scikeras_env = _scikeras_env(args.scikeras_path)
    rows, started = [], time.perf_counter()
    for k, name in enumerate(args.estimators, 1):
        if name == SCIKERAS and not _have_scikeras(scikeras_env):
            print(f"{name} ({k}/{len(args.estimators)}) skipped: not installed (pip install "
                  "-e '.[bench]', or --scikeras-path); see results/bench_fit_overhead.*")
            continue
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", name,
               "--repeats", str(args.repeats), "--warmup", str(args.warmup),
               "--memory-fits", str(args.memory_fits), "--random-state", str(args.random_state)]
        load_before = os.getloadavg()[0]
        t0 = time.time()
        result, dt = _common.timed(lambda: subprocess.run(
            [*cmd, "--t0", repr(t0)], capture_output=True, text=True,
            env=scikeras_env if name == SCIKERAS else {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}))
        if result.returncode != 0:
            print(f"{name} ({k}/{len(args.estimators)}) failed: {result.stderr.strip()[-500:]}")
            continue
        row = json.loads(result.stdout.strip().splitlines()[-1])
        row.update(process_s=dt, load_1m_before=load_before, load_1m_after=os.getloadavg()[0])
        rows.append(row)
        print(f"{name} ({k}/{len(args.estimators)}) ... {dt:.1f}s, cold {row['cold_ms'] / 1000:.2f}s,"
              f" warm median {row['median_ms']:.1f} ms, growth {row['growth_mb']:.1f} MB, load "
              f"{load_before:.2f} -> {row['load_1m_after']:.2f}", flush=True)
    medians = {r["estimator"]: r["median_ms"] for r in rows}
    raw, ref = medians.get("raw Keras"), medians.get(SCIKERAS)
    for r in rows:
        r["vs_raw_keras"] = r["median_ms"] / raw if raw else None
        r["vs_scikeras"] = r["median_ms"] / ref if ref else None
    ratios = {f"{n} / {SCIKERAS}": m / ref for n, m in medians.items()
              if ref and n.startswith(DROP_IN)}
    rows.sort(key=lambda r: r["median_ms"])
    extra = {"ratios": ratios, "total_s": time.perf_counter() - started,
             "load_1m_end": os.getloadavg()[0],
             "scikeras_path": args.scikeras_path}
    code = _common.finish(
        __file__, env, rows,
        ["estimator", "median_ms", "p10_ms", "p90_ms", "fit_ms", "score_ms", "cold_ms",
         "vs_scikeras", "vs_raw_keras", "rss_after_5_mb", "rss_after_n_mb", "growth_mb"],
        "median/p10/p90: fit + score after the warm-up, one process each; cold: from the "
        "process's start to the end of its first fit + score (interpreter, imports, first "
        "traces); vs_scikeras, vs_raw_keras: ratio of medians, same run; growth: RSS after the "
        "last fit - after the 5th", extra=extra, out=args.out)
    for label, ratio in ratios.items():
        print(f"{label}: {ratio:.3f} (goal: at most 0.25)")
    print(f"total {extra['total_s']:.0f}s; load average {extra['load_1m_end']:.2f} at the end")
    return code


if __name__ == "__main__":
    sys.exit(main())
