"""Interrupted searches lose nothing: SIGKILL, killed workers, --resume, failures."""

import csv
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from skkeras_search.cli import main

# 20 epochs: each fit takes far longer than the 20 ms between looks at the cache, so a kill
# after the third cached fit lands mid-search.
ARGS = ["--n-iter", "6", "--cv", "2", "--epochs", "20", "-q"]
FAST = ["--n-iter", "2", "--cv", "2", "--epochs", "2", "-q"]


def _script():
    return os.path.join(os.path.dirname(sys.executable), "skkeras-search")


def _scores(out):
    with open(os.path.join(out, "cv_results.csv")) as fh:
        return [row["mean_test_score"] for row in csv.DictReader(fh)]


def _entries(out):
    return {p: os.stat(p).st_mtime_ns
            for p in glob.glob(os.path.join(out, "fit-cache", "*", "*.npz"))}


@pytest.fixture(scope="module")
def fast_run(tmp_path_factory):
    """A finished run of FAST, in-process, with n_jobs=1."""
    out = str(tmp_path_factory.mktemp("fast"))
    assert main([*FAST, "--out", out]) == 0
    return out


def _command(out, *extra):
    """Run the command in a fresh process; its return code and stderr.

    The runs whose scores are compared train in fresh processes only (the command, its loky
    workers), never in pytest's: a test module that starts TensorFlow before skkeras_search
    configures it (at collection: tests/test_scikeras_checks.py builds a Keras optimizer at
    import) leaves pytest's process with all cores as intra-op threads, and where oneDNN is off
    (TensorFlow's default on an AMD EPYC) float32 products then round differently from a worker's
    one thread: on 2 cores the lr=0.66 candidate's second fold scored 248/673 in pytest's
    process, 247/673 in a worker (mean 0.23395 vs 0.23321).
    """
    done = subprocess.run([_script(), *ARGS, "--out", out, *extra], capture_output=True,
                          text=True, timeout=400)
    return done.returncode, done.stderr


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("full"))
    code, err = _command(out)
    assert code == 0, err[-3000:]
    return out


def _start_and_kill(out, extra=(), after=3, sig=signal.SIGKILL, kill_worker=False):
    """Start the command, wait until `after` fits are cached, then kill it (or a worker)."""
    proc = subprocess.Popen([_script(), *ARGS, "--out", out, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 180
    while len(_entries(out)) < after and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    if kill_worker:
        # A worker, not loky's resource tracker (also a child with "loky" in its command line,
        # started first): killing that one leaves the search running, no worker lost.
        children = [int(p) for p in os.listdir("/proc") if p.isdigit() and _ppid(p) == proc.pid
                    and b"LokyProcess" in _cmdline(p)]
        assert children, "no loky worker found"
        os.kill(children[0], signal.SIGKILL)
    else:
        proc.send_signal(sig)
    _, err = proc.communicate(timeout=180)
    return proc.returncode, err


@pytest.fixture(scope="module")
def killed(tmp_path_factory):
    """Both killed commands, started at once in the background (while ``uninterrupted`` runs).

    ``killed[name].result()`` is ``(out, returncode, stderr, cache entries after the kill)``.
    Each waits for its own cache count before killing, whatever else runs meanwhile.
    """
    def run(out, **kwargs):
        code, err = _start_and_kill(out, **kwargs)
        return out, code, err, _entries(out)

    outs = {name: str(tmp_path_factory.mktemp(name)) for name in ("sigkill", "worker")}
    with ThreadPoolExecutor(2) as pool:
        yield {"sigkill": pool.submit(run, outs["sigkill"]),
               "worker": pool.submit(run, outs["worker"], extra=["--n-jobs", "2"], after=2,
                                     kill_worker=True)}


def _ppid(pid):
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read()
    except OSError:
        return b""


@pytest.mark.slow
def test_sigkill_then_resume_retrains_nothing_finished(killed, uninterrupted):
    out, code, _, before = killed["sigkill"].result(timeout=400)
    assert code == -signal.SIGKILL
    assert 3 <= len(before) < 12  # killed mid-search
    code, err = _command(out, "--resume")
    assert code == 0, err[-3000:]
    after = _entries(out)
    for path, mtime in before.items():  # finished fits were loaded, not retrained
        assert after[path] == mtime
    trained_on_rerun = len(after) - len(before)
    assert trained_on_rerun == 12 + 1 - len(before)  # the rest of the folds, and the refit
    assert _scores(out) == _scores(uninterrupted)
    report = json.loads(open(os.path.join(out, "report.json")).read())
    assert report["status"] == "finished" and report["search"]["resume"] is True


@pytest.mark.slow
def test_killed_loky_worker_clear_error_then_resume(killed, uninterrupted):
    out, code, err, before = killed["worker"].result(timeout=400)
    if code == 0:  # joblib recovered by itself: then it must have the same scores
        assert _scores(out) == _scores(uninterrupted)
        return
    assert code == 1
    last = err.strip().splitlines()[-1]
    assert "a worker process died" in last and "--resume" in last
    code, err = _command(out, "--resume", "--n-jobs", "2")
    assert code == 0, err[-3000:]
    after = _entries(out)
    assert all(after[p] == m for p, m in before.items())
    assert _scores(out) == _scores(uninterrupted)


def test_without_resume_a_rerun_starts_fresh(fast_run, tmp_path, capsys):
    out = str(tmp_path)
    shutil.copytree(fast_run, out, dirs_exist_ok=True)  # a finished run of FAST (mtimes kept)
    first = _entries(out)
    assert first
    assert main([*FAST, "--out", out]) == 0  # no --resume: every fit trained again
    second = _entries(out)
    assert set(first) == set(second) and all(second[p] != first[p] for p in first)


def test_resume_and_no_cache_conflict(tmp_path, capsys):
    assert main(["--resume", "--no-cache", "--out", str(tmp_path)]) == 2
    assert "--resume needs the fit cache" in capsys.readouterr().err


def test_diverging_candidate_is_a_failed_trial_with_reason(tmp_path, capsys):
    space = tmp_path / "space.json"
    space.write_text(json.dumps({"hidden_units": [16], "optimizer": ["sgd"],
                                 "learning_rate": [1e-2, 1e30]}))
    code = main(["--space", str(space), "--n-iter", "2", "--cv", "2", "--epochs", "3", "-q",
                 "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["n_failed_candidates"] == 1
    (failed,) = report["failed_candidates"]
    assert failed["params"]["learning_rate"] == 1e30
    assert failed["reason"].startswith("Training diverged in epoch ")
    (row,) = [line for line in out.splitlines() if " failed " in line]
    assert "learning_rate=1e+30" in row and "(Training diverged in epoch 1" in row
    assert report["best_params"]["learning_rate"] == 1e-2


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"learning_rat": [0.1]}, "Did you mean 'learning_rate'?"),
        ({"learning_rate": {"log_uniform": [1.0, 1e-5]}}, "low=1.0 must be smaller"),
        ({"hidden_units": {"normal": [1, 2]}}, "is not understood"),
    ],
)
def test_bad_space_file(tmp_path, capsys, spec, message):
    space = tmp_path / "space.json"
    space.write_text(json.dumps(spec))
    assert main(["--space", str(space), "-q", "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err.strip().splitlines()[-1]


def test_halving_strategy_cli(tmp_path, capsys):
    assert main(["--strategy", "halving", "--n-iter", "9", "--cv", "2", "--epochs", "9", "-q",
                 "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["search"]["strategy"] == "halving"
    assert set(report["best_params"]) == {"hidden_units", "learning_rate", "epochs"}
    with open(tmp_path / "cv_results.csv") as fh:
        epochs = {int(r["param_epochs"]) for r in csv.DictReader(fh)}
    assert epochs == {1, 3, 9}


def _ran_on_a_cluster_like(out, fast_run):
    assert _scores(out) == _scores(fast_run)  # the same run, in-process
    with open(os.path.join(out, "progress.jsonl")) as fh:
        pids = {json.loads(line)["pid"] for line in fh}
    assert os.getpid() not in pids  # the fits ran in the cluster's worker processes


@pytest.mark.slow
def test_scheduler_address_cli(fast_run, dask_cluster, tmp_path):
    out = str(tmp_path / "dask")
    assert main(["--scheduler", dask_cluster.scheduler_address, *FAST, "--out", out]) == 0
    _ran_on_a_cluster_like(out, fast_run)
    assert dask_cluster.status.name == "running"  # the command closed its client, not the cluster


# extended (about 30 s): a LocalCluster of its own, started and closed by the command; the
# address path above runs the same search on the session's cluster in the default run
@pytest.mark.slow
@pytest.mark.extended
def test_scheduler_local_cli(fast_run, tmp_path):
    out = str(tmp_path / "dask")
    assert main(["--scheduler", "local", *FAST, "--out", out]) == 0
    _ran_on_a_cluster_like(out, fast_run)


def test_unreachable_scheduler_is_a_usage_error_that_changes_nothing(tmp_path, capsys,
                                                                     monkeypatch):
    from skkeras_search.cli import _execute

    monkeypatch.setattr(_execute, "CONNECT_TIMEOUT", "2s")  # a real, refused address; less waiting
    out = tmp_path / "out"
    (out / "fit-cache" / "ab").mkdir(parents=True)
    kept = {out / "progress.jsonl": "{}\n", out / "fit-cache" / "ab" / "entry.npz": "x"}
    for path, text in kept.items():
        path.write_text(text)
    code = main(["--scheduler", "tcp://127.0.0.1:9", "--n-iter", "1", "--cv", "2",
                 "--epochs", "1", "-q", "--out", str(out)])
    assert code == 2
    assert "cannot connect" in capsys.readouterr().err.strip().splitlines()[-1]
    assert all(path.read_text() == text for path, text in kept.items())  # refused: untouched
