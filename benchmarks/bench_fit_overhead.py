"""Fixed cost per fit, and resident memory over many consecutive fits.

Question: what does one small fit + score cost, when the arithmetic is
negligible, and does memory grow fit after fit?  A random search is hundreds
of such fits.

Data: the first 300 of scikit-learn's 8x8 digits (64 features), 1 epoch,
batch 200, hidden 64. Each estimator runs in its own fresh process (so memory
figures do not mix): ``--warmup`` fits untimed, then ``--repeats`` timed fit +
score calls (median and spread), then more fits up to ``--memory-fits`` in
all, reading the resident set size after the first 5 and after the last.

Sample output (2 cores)::

    estimator                median_ms  p10_ms  p90_ms  ratio  rss_after_5_mb  rss_after_n_mb  growth_mb
    sklearn MLPClassifier       ...
    KerasMLPClassifier          ...
"""

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402
import numpy as np  # noqa: E402

ESTIMATORS = ["KerasMLPClassifier", "sklearn MLPClassifier", "scikeras 0.13", "raw Keras",
              "keras SKLearnClassifier"]


def worker(name, repeats, warmup, memory_fits, seed):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X, y = (X[:300] / 16).astype(np.float32), y[:300]

    def one(i):
        if name == "raw Keras":
            est = _common.RawKeras(64, 1e-3, 1, 200)
        else:
            est = _common.make_estimator(name, 64, 1e-3, 1, 200, seed + i)
        return est.fit(X, y).score(X, y)

    times, rss_5 = [], None
    for i in range(max(memory_fits, warmup + repeats)):
        _, dt = _common.timed(lambda: one(i))
        if warmup <= i < warmup + repeats:
            times.append(dt * 1000)
        if i + 1 == 5:
            rss_5 = _common.rss_mb()
    times = np.array(times)
    return {"estimator": name, "median_ms": float(np.median(times)),
            "p10_ms": float(np.percentile(times, 10)), "p90_ms": float(np.percentile(times, 90)),
            "fits": max(memory_fits, warmup + repeats), "rss_after_5_mb": rss_5,
            "rss_after_n_mb": _common.rss_mb(), "growth_mb": _common.rss_mb() - rss_5,
            "times_ms": times.tolist()}


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
            print(f"{name} ({k}/{len(args.estimators)}) skipped: pip install -e '.[bench]'")
            continue
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", name,
               "--repeats", str(args.repeats), "--warmup", str(args.warmup),
               "--memory-fits", str(args.memory_fits), "--random-state", str(args.random_state)]
        result, dt = _common.timed(lambda: subprocess.run(cmd, capture_output=True, text=True))
        if result.returncode != 0:
            print(f"{name} ({k}/{len(args.estimators)}) failed: {result.stderr.strip()[-500:]}")
            continue
        row = json.loads(result.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(f"{name} ({k}/{len(args.estimators)}) ... {dt:.1f}s", flush=True)
    ours = next((r["median_ms"] for r in rows if r["estimator"] == "KerasMLPClassifier"), None)
    for r in rows:
        r["ratio"] = r["median_ms"] / ours if ours else None
    rows.sort(key=lambda r: r["median_ms"])
    return _common.finish(
        __file__, env, rows,
        ["estimator", "median_ms", "p10_ms", "p90_ms", "ratio", "rss_after_5_mb",
         "rss_after_n_mb", "growth_mb"],
        "ratio: median time / KerasMLPClassifier's median time, same run", out=args.out)


if __name__ == "__main__":
    sys.exit(main())
