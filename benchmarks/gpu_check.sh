#!/usr/bin/env bash
# gpu_check.sh: the paper's search on GPUs, checked in one run of under 8 minutes.
#
# NOT YET RUN ON A GPU. Written for issue 18 (GPU workers) when no GPU machine was lent
# to that task; only its CPU part has run, in the reduced mode (--tiny), on a 2-core
# machine without a GPU. The figures it prints on a GPU machine are still to be measured.
#
# Questions:
#   1. Per-epoch speed of the paper's search (paper_space(): one hidden layer of 16..496
#      units, learning rate 1e-5..1; KerasMLPClassifier, batch_size='auto') on MNIST's
#      10k test split (IDX files in ../shared/datasets/mnist-test, else ./shared/...,
#      else scikit-learn's digits), on one GPU against the CPU (CUDA_VISIBLE_DEVICES=
#      hides the GPUs). Each candidate: one warm-up epoch, then the median of 3 epochs.
#   2. A multi-GPU ASHA search (ASHASearchCV, max_epochs=9, factor=3, cv=2) with one
#      pinned worker per GPU (use_gpus(n)): wall time, how busy the workers were (fit
#      time / (workers x wall)), and nvidia-smi's utilisation and memory per GPU and per
#      process, sampled while it runs (one process per GPU, each holding a small part of
#      its GPU's memory, is what pinning plus TF_FORCE_GPU_ALLOW_GROWTH should give). On a
#      1-GPU machine the search runs one pinned worker and the report says so.
#
# Usage, from anywhere (the script goes to the repository root):
#   benchmarks/gpu_check.sh            # full sizes, on a GPU machine
#   benchmarks/gpu_check.sh --tiny     # reduced sizes (or GPU_CHECK_TINY=1): checks the
#                                      # script itself, also without a GPU (the ASHA part
#                                      # then runs on 2 fake GPUs: CPU workers, pinned)
# Setup: uses .venv if it exists and installs nothing; otherwise `pip install -e .` into
# the python on PATH (TensorFlow must see the GPU: tensorflow[and-cuda] on Linux).
# Output: report.txt and report.json (plus the raw parts) in $OUT if set, else in
# benchmarks/results/gpu_check/. Every part has a time limit; a part that runs out is
# reported as such and the script goes on.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export TF_CPP_MIN_LOG_LEVEL=3 PYTHONUNBUFFERED=1
TINY=${GPU_CHECK_TINY:-0}
for arg in "$@"; do
  case "$arg" in
    --tiny) TINY=1 ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "gpu_check.sh: unknown argument $arg (use --tiny or --help)" >&2; exit 2 ;;
  esac
done
REPORT=${OUT:-$ROOT/benchmarks/results/gpu_check}
mkdir -p "$REPORT"
START=$(date +%s)
DEADLINE=$((START + 450))  # 7.5 minutes: the last part gets what is left
left() { local s=$((DEADLINE - $(date +%s))); echo $((s > 10 ? s : 10)); }

if [ -f .venv/bin/activate ]; then
  . .venv/bin/activate
else
  echo "# no .venv: pip install -e ." >&2
  python -m pip install -q -e . || python -m pip install -q --no-build-isolation --no-deps -e .
fi

# ---- 0. devices: nvidia-smi and what skkeras_search sees (without TensorFlow)
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi -L > "$REPORT/nvidia-smi-L.txt" 2>&1 || true
  nvidia-smi > "$REPORT/nvidia-smi.txt" 2>&1 || true
else
  echo "nvidia-smi not on PATH" > "$REPORT/nvidia-smi-L.txt"
fi
GPUS=$(python -c "from skkeras_search._core.devices import visible_gpus; print(','.join(visible_gpus()))")
NGPUS=$(python -c "import sys; print(len([g for g in sys.argv[1].split(',') if g]))" "$GPUS")
echo "# $NGPUS GPU(s) visible: ${GPUS:-none}; tiny=$TINY; report in $REPORT"

# ---- 1. per-epoch speed, CPU and GPU, each in a fresh process
epoch_part() {  # $1 = cpu|gpu, $2 = CUDA_VISIBLE_DEVICES
  CUDA_VISIBLE_DEVICES="$2" TF_FORCE_GPU_ALLOW_GROWTH=true GPU_CHECK_TINY=$TINY PYTHONWARNINGS=ignore \
    timeout "$3" python - "$1" "$REPORT/epochs-$1.json" <<'PY' || echo "{\"mode\": \"$1\", \"status\": \"failed or out of time (rc $?)\"}" > "$REPORT/epochs-$1.json"
import json, os, sys, time
import numpy as np
from sklearn.model_selection import ParameterSampler
from skkeras_search import KerasMLPClassifier, paper_space
from skkeras_search._core import backend

mode, out = sys.argv[1], sys.argv[2]
tiny = os.environ["GPU_CHECK_TINY"] == "1"


def load():
    from skkeras_search.datasets import load as load_dataset
    for path in ("../shared/datasets/mnist-test", "shared/datasets/mnist-test"):
        if os.path.isdir(path):
            ds, name = load_dataset(data=path), "mnist-test-10k"
            break
    else:
        ds, name = load_dataset("digits"), "digits (MNIST not found)"
    X, y = ds.X.astype(np.float32) / np.float32(ds.image_max), ds.y
    return (X[:300], y[:300], name + " first 300") if tiny else (X, y, name)


X, y, data = load()
tf = backend.tensorflow()
gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
rows = []
candidates = list(ParameterSampler(paper_space(), 2 if tiny else 5, random_state=0))
for i, params in enumerate(candidates, 1):
    clf = KerasMLPClassifier(**params, random_state=0)
    clf.partial_fit(X, y, classes=np.unique(y))  # warm-up: builds and traces
    times = []
    for _ in range(1 if tiny else 3):
        t = time.perf_counter()
        clf.partial_fit(X, y)
        times.append(time.perf_counter() - t)
    epoch = float(np.median(times))
    try:
        weights_on = clf.model_.weights[0].value.device
    except AttributeError:
        weights_on = "?"
    rows.append({**params, "epoch_s": epoch, "samples_per_s": len(X) / epoch,
                 "times_s": times, "weights_on": weights_on})
    print(f"{mode}: hidden_units={params['hidden_units']} ({i}/{len(candidates)}) "
          f"{epoch:.3f} s/epoch on {weights_on}", flush=True)
memory = None
if gpus:
    info = tf.config.experimental.get_memory_info("GPU:0")
    memory = {"current_mb": info["current"] / 2**20, "peak_mb": info["peak"] / 2**20}
with open(out, "w") as fh:
    json.dump({"mode": mode, "status": "ok", "data": data, "shape": list(X.shape),
               "tensorflow": tf.__version__, "gpus_seen_by_tensorflow": gpus,
               "tf_memory_gpu0": memory, "candidates": rows,
               "search_epoch_s": sum(r["epoch_s"] for r in rows)}, fh, indent=1)
PY
}

epoch_part cpu "" 100
if [ "$NGPUS" -gt 0 ]; then
  epoch_part gpu "${GPUS%%,*}" 100
else
  echo '{"mode": "gpu", "status": "skipped: no GPU visible"}' > "$REPORT/epochs-gpu.json"
fi

# ---- 2. ASHA with one pinned worker per GPU, nvidia-smi sampled meanwhile
ASHA_GPUS=$NGPUS
FAKE=""
if [ "$NGPUS" -eq 0 ] && [ "$TINY" = 1 ]; then ASHA_GPUS=2; FAKE=2; fi
SAMPLERS=()
if [ "$NGPUS" -gt 0 ]; then
  nvidia-smi --query-gpu=timestamp,index,uuid,utilization.gpu,memory.used,memory.total \
    --format=csv,noheader,nounits -lms 500 > "$REPORT/gpu-samples.csv" 2>/dev/null &
  SAMPLERS+=($!)
  ( while sleep 1; do
      nvidia-smi --query-compute-apps=timestamp,pid,gpu_uuid,used_memory \
        --format=csv,noheader,nounits 2>/dev/null || true
    done ) > "$REPORT/gpu-processes.csv" &
  SAMPLERS+=($!)
fi
if [ "$ASHA_GPUS" -gt 0 ]; then
  # PYTHONWARNINGS reaches the workers too: no ConvergenceWarning per short fit
  SKKERAS_SEARCH_FAKE_GPUS=$FAKE GPU_CHECK_TINY=$TINY PYTHONWARNINGS=ignore timeout "$(left)" \
    python - "$ASHA_GPUS" "$REPORT/asha.json" "${FAKE:+fake}" <<'PY' || echo "{\"status\": \"failed or out of time (rc $?)\"}" > "$REPORT/asha.json"
import json, os, sys, time
import numpy as np
from skkeras_search import KerasMLPClassifier, paper_space
from skkeras_search._core.devices import visible_gpus
from skkeras_search.search import ASHASearchCV
from skkeras_search.search._executors import use_gpus

n_gpus, out, fake = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "fake"
tiny = os.environ["GPU_CHECK_TINY"] == "1"
from skkeras_search.datasets import load as load_dataset
for path in ("../shared/datasets/mnist-test", "shared/datasets/mnist-test", None):
    if path is None:
        ds, data = load_dataset("digits"), "digits (MNIST not found)"
    elif os.path.isdir(path):
        ds, data = load_dataset(data=path), "mnist-test-10k"
        break
X, y = ds.X.astype(np.float32) / np.float32(ds.image_max), ds.y
if tiny:
    X, y, data = X[:300], y[:300], data + " first 300"
max_epochs, n_candidates = (3, 4) if tiny else (9, min(81, 9 * max(n_gpus, 2)))
search = ASHASearchCV(KerasMLPClassifier(random_state=0), paper_space(), max_epochs=max_epochs,
                      factor=3, n_candidates=n_candidates, cv=2, random_state=0, refit=False)
assert "tensorflow" not in sys.modules  # the parent never touches a GPU
start = time.time()
with use_gpus(n_gpus):
    search.fit(X, y)
wall = time.time() - start
r = search.cv_results_
fit_s = float(np.sum(r["mean_fit_time"] * search.n_splits_ + r["mean_score_time"] * search.n_splits_))
first = float(np.min(r["finish_time"]))
json.dump({"status": "ok", "data": data, "shape": list(X.shape), "gpus": list(visible_gpus()),
           "fake_gpus": fake, "workers": n_gpus, "n_candidates": n_candidates,
           "max_epochs": max_epochs, "rows": len(r["params"]), "fits": len(r["params"]) * 2,
           "start_epoch": start, "wall_s": wall, "fit_and_score_s": fit_s,
           "occupancy": fit_s / (n_gpus * wall), "first_row_done_s": first,
           "best_mean_test_score_full_budget": float(np.nanmax(np.where(
               np.asarray(r["n_resources"]) == max_epochs, r["mean_test_score"], np.nan)))},
          open(out, "w"), indent=1)
print(f"ASHA: {len(r['params'])} rows on {n_gpus} worker(s) in {wall:.1f} s, "
      f"workers busy {fit_s / (n_gpus * wall):.0%}", flush=True)
PY
else
  echo '{"status": "skipped: no GPU visible (run with --tiny to check it on fake GPUs)"}' \
    > "$REPORT/asha.json"
fi
for pid in "${SAMPLERS[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done

# ---- 3. the report
python - "$REPORT" "$NGPUS" "$TINY" "$(( $(date +%s) - START ))" <<'PY'
import csv, json, os, platform, sys

report, n_gpus, tiny, elapsed = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", int(sys.argv[4])


def part(name):
    with open(os.path.join(report, name)) as fh:
        return json.load(fh)


def num(text):
    try:
        return float(text)
    except ValueError:  # "[N/A]" (MIG instances, some drivers)
        return 0.0


def rows(name):
    path = os.path.join(report, name)
    if not os.path.exists(path):
        return []
    with open(path) as fh:
        return [[c.strip() for c in row] for row in csv.reader(fh) if len(row) > 3]


cpu, gpu, asha = part("epochs-cpu.json"), part("epochs-gpu.json"), part("asha.json")
summary = {"host": platform.node(), "tiny": tiny, "gpus_visible": n_gpus, "elapsed_s": elapsed,
           "cpu_epochs": cpu, "gpu_epochs": gpu, "asha": asha}
lines = [f"gpu_check: {n_gpus} GPU(s) visible, tiny={tiny}, {elapsed} s in all"]
if cpu.get("status") == "ok" and gpu.get("status") == "ok":
    lines.append(f"data {cpu['data']} {cpu['shape']}; TensorFlow {gpu['tensorflow']} sees "
                 f"{gpu['gpus_seen_by_tensorflow'] or 'no GPU'}")
    lines.append(f"{'hidden':>6} {'lr':>9} {'cpu s/epoch':>12} {'gpu s/epoch':>12} {'speed-up':>9}")
    for c, g in zip(cpu["candidates"], gpu["candidates"]):
        lines.append(f"{c['hidden_units']:>6} {c['learning_rate']:>9.2e} {c['epoch_s']:>12.3f} "
                     f"{g['epoch_s']:>12.3f} {c['epoch_s'] / g['epoch_s']:>8.2f}x")
    if not gpu["gpus_seen_by_tensorflow"] or any("GPU" not in str(g["weights_on"])
                                                   for g in gpu["candidates"]):
        lines.append("WARNING: the 'gpu' run trained on the CPU (TensorFlow sees no GPU, or the "
                     "weights were not placed on one): install tensorflow[and-cuda]")
    summary["gpu_speedup_search_epoch"] = cpu["search_epoch_s"] / gpu["search_epoch_s"]
    lines.append(f"one epoch of each candidate: CPU {cpu['search_epoch_s']:.2f} s, GPU "
                 f"{gpu['search_epoch_s']:.2f} s ({summary['gpu_speedup_search_epoch']:.2f}x)")
else:
    lines.append(f"epochs: CPU {cpu.get('status')}, GPU {gpu.get('status')}")
    if cpu.get("status") == "ok":
        lines.append(f"CPU, one epoch of each candidate: {cpu['search_epoch_s']:.2f} s "
                     f"({cpu['data']} {cpu['shape']})")
if asha.get("status") == "ok":
    kind = "fake GPUs (CPU workers)" if asha["fake_gpus"] else "GPUs"
    lines.append(f"ASHA: {asha['rows']} rows, {asha['fits']} fits on {asha['workers']} pinned "
                 f"worker(s) on {kind} in {asha['wall_s']:.1f} s; workers busy "
                 f"{asha['occupancy']:.0%} of the wall time (worker start-up included: the first "
                 f"row ended at {asha['first_row_done_s']:.1f} s)")
    lines.append("      (fit times include each worker's TensorFlow import and device start in its "
                 "first fit)")
    if asha["workers"] == 1 and not asha["fake_gpus"]:
        lines.append("ASHA: 1-GPU machine: one pinned worker, so no multi-GPU utilisation here")
else:
    lines.append(f"ASHA: {asha.get('status')}")
samples, procs = rows("gpu-samples.csv"), rows("gpu-processes.csv")
if samples:
    per_gpu = {}
    for _, index, uuid, util, used, total in samples:
        per_gpu.setdefault(index, {"uuid": uuid, "util": [], "used_mb": [], "total_mb": total})
        per_gpu[index]["util"].append(num(util))
        per_gpu[index]["used_mb"].append(num(used))
    owners = {}
    for _, pid, uuid, used in procs:
        owners.setdefault(uuid, {}).setdefault(pid, 0.0)
        owners[uuid][pid] = max(owners[uuid][pid], num(used))
    summary["per_gpu"] = {}
    for index, g in sorted(per_gpu.items()):
        mean, peak = sum(g["util"]) / len(g["util"]), max(g["util"])
        summary["per_gpu"][index] = {"uuid": g["uuid"], "mean_util_pct": mean,
                                     "max_util_pct": peak, "max_used_mb": max(g["used_mb"]),
                                     "total_mb": g["total_mb"],
                                     "processes_max_mb": owners.get(g["uuid"], {})}
        lines.append(f"GPU {index}: utilisation mean {mean:.0f}% max {peak:.0f}%, memory max "
                     f"{max(g['used_mb']):.0f}/{g['total_mb']} MB, processes seen "
                     f"{len(owners.get(g['uuid'], {}))} (max MB each: "
                     f"{sorted(owners.get(g['uuid'], {}).values())})")
with open(os.path.join(report, "report.json"), "w") as fh:
    json.dump(summary, fh, indent=1)
with open(os.path.join(report, "report.txt"), "w") as fh:
    fh.write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
