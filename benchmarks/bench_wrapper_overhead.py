"""Fixed cost per fit and memory over many fits: KerasClassifier on a user's build function.

Question: how much does one small fit + score cost through our
``KerasClassifier(build_fn)``, compared with plain Keras (build, compile,
``Model.fit``, ``evaluate``) and Keras's own ``SKLearnClassifier`` on the same
model function, where does the time go, and does memory grow fit after fit?
scikeras is measured too when installed (the ``bench`` extra); otherwise its
figure is in ``results/bench_fit_overhead.*`` (same data, model and protocol).

Data: the first 300 of scikit-learn's 8x8 digits (64 features), 1 epoch,
batch 200, one hidden layer of 64 units, Adam, compiled by the build
function. Each estimator runs in its own fresh process: ``--warmup`` fits
untimed, ``--repeats`` timed fit + score calls (median and spread, with the
fit and score parts), then more fits up to ``--memory-fits`` in all, reading
the resident set size after the first 5 and after the last. Our wrapper runs
twice: with a new ``random_state`` per fit (worst case: the build function runs
for every new seed) and with one ``random_state`` (a search's folds of a
candidate).

Sample output (2 shared cores, TensorFlow threads as configured)::

    estimator                          median_ms  fit_ms  score_ms  ...  growth_mb
    KerasClassifier (same seed)             ...
    KerasClassifier (new seed per fit)      ...
    raw Keras                               ...
    keras SKLearnClassifier                 ...
"""

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402
import numpy as np  # noqa: E402

ESTIMATORS = ["KerasClassifier (new seed per fit)", "KerasClassifier (same seed)", "raw Keras",
              "keras SKLearnClassifier", "scikeras 0.13"]


def build(input_shape, n_classes, hidden_units=64, learning_rate=1e-3):
    """The model function every estimator gets (compiled, as Keras users write it)."""
    return _common._keras_mlp(input_shape[0], n_classes, hidden_units, learning_rate,
                              "sparse_categorical_crossentropy")


def _one(name, seed, X, y):
    """One fit + score; returns (fit seconds, score seconds)."""
    if name.startswith("KerasClassifier"):
        from skkeras_search import KerasClassifier

        est = KerasClassifier(build, epochs=1, batch_size=200, random_state=seed)
    elif name == "raw Keras":
        est = _common.RawKeras(64, 1e-3, 1, 200)
    else:
        est = _common.make_estimator(name, 64, 1e-3, 1, 200, seed)
    t0 = time.perf_counter()
    est.fit(X, y)
    t1 = time.perf_counter()
    est.score(X, y)
    return t1 - t0, time.perf_counter() - t1


def worker(name, repeats, warmup, memory_fits, seed):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X, y = (X[:300] / 16).astype(np.float32), y[:300]
    fixed = name == "KerasClassifier (same seed)"
    fits, scores, rss_5 = [], [], None
    n = max(memory_fits, warmup + repeats)
    for i in range(n):
        fit_s, score_s = _one(name, seed if fixed else seed + i, X, y)
        if warmup <= i < warmup + repeats:
            fits.append(fit_s * 1000)
            scores.append(score_s * 1000)
        if i + 1 == 5:
            rss_5 = _common.rss_mb()
    total = np.add(fits, scores)
    rss_n = _common.rss_mb()
    return {"estimator": name, "median_ms": float(np.median(total)),
            "p10_ms": float(np.percentile(total, 10)), "p90_ms": float(np.percentile(total, 90)),
            "fit_ms": float(np.median(fits)), "score_ms": float(np.median(scores)), "fits": n,
            "rss_after_5_mb": rss_5, "rss_after_n_mb": rss_n, "growth_mb": rss_n - rss_5,
            "times_ms": total.tolist()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=55)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--memory-fits", type=int, default=200)
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--estimators", nargs="+", default=ESTIMATORS, choices=ESTIMATORS)
    parser.add_argument("--out", default=None, help="results folder (default: benchmarks/results)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.repeats, args.warmup, args.memory_fits,
                                args.random_state)))
        return 0
    env = _common.environment()
    print(_common.env_line(env))
    print(f"# digits 300 x 64, 1 epoch, fit + score; {args.repeats} timed fits after "
          f"{args.warmup} warm-up; memory over {args.memory_fits} fits", flush=True)
    rows = []
    for k, name in enumerate(args.estimators, 1):
        if name == "scikeras 0.13" and not _common.have_scikeras():
            print(f"{name} ({k}/{len(args.estimators)}) skipped: not installed (pip install "
                  "-e '.[bench]'); see results/bench_fit_overhead.* for its figure")
            continue
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", name,
               "--repeats", str(args.repeats), "--warmup", str(args.warmup),
               "--memory-fits", str(args.memory_fits), "--random-state", str(args.random_state)]
        result, dt = _common.timed(lambda: subprocess.run(cmd, capture_output=True, text=True))
        if result.returncode != 0:
            print(f"{name} ({k}/{len(args.estimators)}) failed: {result.stderr.strip()[-500:]}")
            continue
        rows.append(json.loads(result.stdout.strip().splitlines()[-1]))
        print(f"{name} ({k}/{len(args.estimators)}) ... {dt:.1f}s", flush=True)
    raw = next((r["median_ms"] for r in rows if r["estimator"] == "raw Keras"), None)
    for r in rows:
        r["vs_raw_keras"] = r["median_ms"] / raw if raw else None
    rows.sort(key=lambda r: r["median_ms"])
    return _common.finish(
        __file__, env, rows,
        ["estimator", "median_ms", "p10_ms", "p90_ms", "fit_ms", "score_ms", "vs_raw_keras",
         "rss_after_5_mb", "rss_after_n_mb", "growth_mb"],
        "vs_raw_keras: median fit + score time / raw Keras's (build, compile, fit, evaluate), "
        "same run", out=args.out)


if __name__ == "__main__":
    sys.exit(main())
