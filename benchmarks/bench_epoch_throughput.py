"""Training throughput of one epoch, against the machine's measured sgemm peak.

Question: once the fixed cost is paid, how close does a training epoch get to
what the CPU can do?  Samples per second of one epoch on MNIST 10k (784
features, 10 classes), hidden 256 and 1024, batch 32/128/512, float32; the
FLOPs of forward and backward passes (4*n*d*h + 6*n*h*k: the first layer
needs no input gradient) divided by the time give GFLOP/s, reported as a
fraction of numpy's float32 matrix-multiply peak measured in the same run.
KerasMLPClassifier epochs are timed with ``partial_fit`` (one epoch each,
after one warm-up epoch); raw Keras ``Sequential.fit(epochs=1)`` beside it.

Sample output (2 cores)::

    estimator           hidden  batch  samples_per_s  gflops  peak_fraction  ratio_vs_raw_keras
    KerasMLPClassifier    1024    512            ...
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402
import numpy as np  # noqa: E402


def sgemm_peak(n=2048, repeats=5):
    """Best GFLOP/s of numpy float32 n x n matrix products."""
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    a @ b
    best = min(_common.timed(lambda: a @ b)[1] for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def flops_per_epoch(n, d, h, k):
    return 4 * n * d * h + 6 * n * h * k


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-samples", type=int, default=None, help="default: all 10,000")
    parser.add_argument("--hidden", type=int, nargs="+", default=[256, 1024])
    parser.add_argument("--batch", type=int, nargs="+", default=[32, 128, 512])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--no-raw-keras", action="store_true")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    from skkeras_search import KerasMLPClassifier

    X, y, data_name = _common.load_data(n_samples=args.n_samples)
    env = _common.environment()
    peak = sgemm_peak()
    print(_common.env_line(env))
    print(f"# data: {data_name} {X.shape}; numpy float32 sgemm peak {peak:.1f} GFLOP/s", flush=True)
    n, d, k = X.shape[0], X.shape[1], len(np.unique(y))
    rows = []
    configs = [(h, b) for h in args.hidden for b in args.batch]
    for i, (h, b) in enumerate(configs, 1):
        clf = KerasMLPClassifier(hidden_units=h, batch_size=b, random_state=args.random_state)
        clf.partial_fit(X, y, classes=np.unique(y))  # warm-up epoch (traces the graph once)
        times = [_common.timed(lambda: clf.partial_fit(X, y))[1] for _ in range(args.repeats)]
        t = float(np.median(times))
        row = {"estimator": "KerasMLPClassifier", "hidden": h, "batch": b,
               "epoch_s": t, "samples_per_s": n / t,
               "gflops": flops_per_epoch(n, d, h, k) / t / 1e9, "times_s": times}
        row["peak_fraction"] = row["gflops"] / peak
        rows.append(row)
        line = f"hidden={h} batch={b} ({i}/{len(configs)}) ours {t:.3f}s"
        if not args.no_raw_keras:
            raw = _common.RawKeras(h, 1e-3, 1, b).fit(X, y)  # builds + warm-up epoch
            raw_times = [_common.timed(lambda: raw.model.fit(X, y, epochs=1, batch_size=b,
                                                             verbose=0))[1]
                         for _ in range(args.repeats)]
            rt = float(np.median(raw_times))
            rows.append({"estimator": "raw Keras fit", "hidden": h, "batch": b, "epoch_s": rt,
                         "samples_per_s": n / rt,
                         "gflops": flops_per_epoch(n, d, h, k) / rt / 1e9,
                         "peak_fraction": flops_per_epoch(n, d, h, k) / rt / 1e9 / peak,
                         "times_s": raw_times})
            row["ratio_vs_raw_keras"] = rt / t
            line += f", raw Keras {rt:.3f}s"
        print(line, flush=True)
    rows.sort(key=lambda r: (r["estimator"], r["hidden"], r["batch"]))
    return _common.finish(
        __file__, env, rows,
        ["estimator", "hidden", "batch", "epoch_s", "samples_per_s", "gflops", "peak_fraction",
         "ratio_vs_raw_keras"],
        "peak_fraction: achieved GFLOP/s / numpy sgemm GFLOP/s; ratio_vs_raw_keras: raw Keras "
        "epoch time / ours",
        extra={"sgemm_peak_gflops": peak, "data": data_name}, out=args.out)


if __name__ == "__main__":
    sys.exit(main())
