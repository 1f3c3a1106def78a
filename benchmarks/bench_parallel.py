"""Parallel scaling of the search: n_jobs=1 against n_jobs=2 worker processes.

Question: does a second core make the search faster, and are the scores the
same?  Same search as bench_search.py (KerasMLPClassifier, 8 candidates x
3-fold, 3 epochs, batch 128, random_state=42) on MNIST 10k, or digits. Each
joblib worker caps TensorFlow's threads at its share of the cores (loky's
OMP_NUM_THREADS). Worker start-up (a fresh process importing TensorFlow,
about 5 s) is paid once per pool and reported separately: the warm rows reuse
the pool, as any session running more than one search does.

Sample output (2 cores)::

    n_jobs  pool  wall_s  speedup  identical_scores
         1     -     ...
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402
import numpy as np  # noqa: E402
from bench_search import run_search  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _common.add_search_args(parser)
    args = parser.parse_args(argv)
    X, y, data_name, env = _common.start(
        args, f"KerasMLPClassifier, {args.n_iter} candidates x {args.cv}-fold, "
              f"{args.epochs} epochs")
    settings = [(1, "-"), (2, "cold"), (2, "warm")]
    rows, baseline = [], None
    for i, (n_jobs, pool) in enumerate(settings, 1):
        search, wall = run_search("KerasMLPClassifier", X, y, args.n_iter, args.cv, args.epochs,
                                  args.batch_size, args.random_state, n_jobs=n_jobs)
        scores = search.cv_results_["mean_test_score"]
        if baseline is None:
            baseline = (wall, scores)
        rows.append({"n_jobs": n_jobs, "pool": pool, "wall_s": wall,
                     "speedup": baseline[0] / wall,
                     "identical_scores": bool(np.array_equal(scores, baseline[1])),
                     "mean_test_scores": scores.tolist()})
        print(f"n_jobs={n_jobs} {pool} ({i}/{len(settings)}) ... {wall:.1f}s", flush=True)
    return _common.finish(
        __file__, env, rows, ["n_jobs", "pool", "wall_s", "speedup", "identical_scores"],
        "speedup: n_jobs=1 wall time / this row's, same run; cold includes starting the worker "
        "processes",
        extra={"data": data_name}, out=args.out)


if __name__ == "__main__":
    sys.exit(main())
