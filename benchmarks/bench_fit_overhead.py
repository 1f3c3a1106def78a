"""Fixed cost per fit, cold and warm, and resident memory over many consecutive fits.

Question: what does one small fit + score cost, when the arithmetic is
negligible, and does memory grow fit after fit?  A random search is hundreds
of such fits; a user's first one also pays for the imports and the traces.

Data: the first 300 of scikit-learn's 8x8 digits (64 features), 1 epoch,
batch 200, hidden 64. Each (estimator, process) runs in its own fresh Python
process, ``--processes`` per estimator, interleaved (order reversed every
other round). Cold: the wall time of a fresh process up to the end of its
first fit + score (interpreter, imports, first trace, the fit, exit).
Warm: ``--warmup`` fits untimed, then ``--repeats`` timed fit + score calls
(median over processes of each process's median; p10/p90 over all timed
fits). Memory: the first process of each estimator goes on to
``--memory-fits`` fits in all, reading the resident set size after the
first 5 and after the last.

Sample output (2 cores)::

    phase  estimator              median_ms  p10_ms  p90_ms  vs_ours  vs_mlp  peak_rss_mb  growth_mb
    cold   sklearn MLPClassifier        ...
    warm   KerasMLPClassifier           ...
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402
import numpy as np  # noqa: E402

ESTIMATORS = ["KerasMLPClassifier", "sklearn MLPClassifier", "scikeras 0.13", "raw Keras",
              "keras SKLearnClassifier"]
MLP = "sklearn MLPClassifier"


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

    times, rss_5, first_done = [], None, None
    n_fits = max(memory_fits, warmup + repeats)
    for i in range(n_fits):
        _, dt = _common.timed(lambda: one(i))
        if i == 0:
            first_done = time.perf_counter()
            first_ms = dt * 1000
        if warmup <= i < warmup + repeats:
            times.append(dt * 1000)
        if i + 1 == 5:
            rss_5 = _common.rss_mb()
    rss_n = _common.rss_mb()
    return {"estimator": name, "first_fit_ms": first_ms, "times_ms": times, "fits": n_fits,
            "rss_after_5_mb": rss_5 if memory_fits else None,
            "rss_after_n_mb": rss_n if memory_fits else None,
            "growth_mb": rss_n - rss_5 if memory_fits and rss_5 is not None else None,
            "peak_rss_mb": _common.peak_rss_mb(),
            # to subtract from the process's wall time: cold ends with the first fit
            "after_first_s": time.perf_counter() - first_done}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=55, help="timed fits per process")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--memory-fits", type=int, default=200)
    parser.add_argument("--processes", type=int, default=3,
                        help="fresh processes per estimator, interleaved (default: 3)")
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
    print(f"# digits 300 x 64, 1 epoch, fit + score; {args.processes} fresh processes per "
          f"estimator, each {args.repeats} timed fits after {args.warmup} warm-up; memory over "
          f"{args.memory_fits} fits in the first", flush=True)
    names = []
    for name in args.estimators:
        if name == "scikeras 0.13" and not _common.have_scikeras():
            print(f"{name} skipped: pip install -e '.[bench]'")
        else:
            names.append(name)
    runs = []
    for k, (rep, name) in enumerate(_common.interleaved(names, args.processes), 1):
        memory = args.memory_fits if rep == 0 else 0
        result, process_s = _common.fresh_process(__file__, [
            "--worker", name, "--repeats", args.repeats, "--warmup", args.warmup,
            "--memory-fits", memory, "--random-state", args.random_state])
        result.update(process=rep, process_s=process_s,
                      cold_ms=(process_s - result.pop("after_first_s")) * 1000)
        runs.append(result)
        print(f"{name} ({k}/{len(names) * args.processes}) ... {process_s:.1f}s, cold "
              f"{result['cold_ms'] / 1000:.2f}s, warm median {np.median(result['times_ms']):.1f} ms",
              flush=True)
    rows = []
    for name in names:
        mine = [r for r in runs if r["estimator"] == name]
        memory = next(r for r in mine if r["process"] == 0)
        colds = [r["cold_ms"] for r in mine]
        pooled = np.concatenate([r["times_ms"] for r in mine])
        common = {"estimator": name, "peak_rss_mb": float(np.median([r["peak_rss_mb"]
                                                                      for r in mine])),
                  "fits": memory["fits"], "rss_after_5_mb": memory["rss_after_5_mb"],
                  "rss_after_n_mb": memory["rss_after_n_mb"], "growth_mb": memory["growth_mb"]}
        rows.append({"phase": "cold", **common, "median_ms": float(np.median(colds)),
                     "p10_ms": float(min(colds)), "p90_ms": float(max(colds)),
                     "cold_ms": colds})
        rows.append({"phase": "warm", **common,
                     "median_ms": float(np.median([np.median(r["times_ms"]) for r in mine])),
                     "p10_ms": float(np.percentile(pooled, 10)),
                     "p90_ms": float(np.percentile(pooled, 90))})
    for r in rows:
        same = {o["estimator"]: o["median_ms"] for o in rows if o["phase"] == r["phase"]}
        r["vs_ours"] = r["median_ms"] / same["KerasMLPClassifier"] \
            if "KerasMLPClassifier" in same else None
        r["vs_mlp"] = r["median_ms"] / same[MLP] if MLP in same else None
    rows.sort(key=lambda r: (r["phase"], r["median_ms"]))
    return _common.finish(
        __file__, env, rows,
        ["phase", "estimator", "median_ms", "p10_ms", "p90_ms", "vs_ours", "vs_mlp",
         "peak_rss_mb", "rss_after_5_mb", "rss_after_n_mb", "growth_mb"],
        "cold: wall time of a fresh process up to the end of its first fit + score (imports, "
        "first trace, exit), median (p10/p90 columns: min/max) over processes; warm: median "
        "over processes of the per-process median fit + score after the warm-up, p10/p90 over "
        "all timed fits; vs_ours/vs_mlp: ratio of medians in the same phase, same run; memory "
        "columns: the first process, which ran all the memory fits",
        extra={"processes": args.processes, "warmup": args.warmup, "repeats": args.repeats,
               "memory_fits": args.memory_fits, "runs": runs}, out=args.out)


if __name__ == "__main__":
    sys.exit(main())
