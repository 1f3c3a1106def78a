"""GPU workers without a GPU: the device list, the pinned workers' environments, and searches
whose fits record, in a file, which process and device ran them.

``SKKERAS_SEARCH_FAKE_GPUS`` fakes the device list; the workers are real loky processes
(started with the environment of their device) and a real Dask cluster on 127.0.0.1. The
estimator here trains nothing: each fit appends a ``start`` and an ``end`` line (pid,
``CUDA_VISIBLE_DEVICES``, the fit's identity) to one events file, with one ``write`` per
line, so the file's order is the order the events happened. Overlaps are read from that
order, never from durations.
"""

import os
import signal
import stat
import sys

import joblib
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, ClassifierMixin

from skkeras_search._core.devices import gpu_worker_env, parse_nvidia_smi, visible_gpus
from skkeras_search.search import ASHASearchCV, TPESearchCV
from skkeras_search.search._executors import executor_for, use_gpus

NVIDIA_SMI = """\
GPU 0: NVIDIA H200 (UUID: GPU-aaaa-0000)
GPU 1: NVIDIA A100-SXM4-40GB (UUID: GPU-bbbb-1111)
  MIG 3g.20gb     Device  0: (UUID: MIG-cccc-2222)
  MIG 3g.20gb     Device  1: (UUID: MIG-dddd-3333)
GPU 2: NVIDIA H200 (UUID: GPU-eeee-4444)
"""


class Recorder(ClassifierMixin, BaseEstimator):
    """A fit that writes ``start``/``end`` events to ``<events>``; its score is ``width``'s.

    With ``kill_marker`` set, the first fit to remove that file writes ``kill`` and
    SIGKILLs its own process (once per marker).
    """

    def __init__(self, epochs=1, width=1, events=None, kill_marker=None):
        self.epochs = epochs
        self.width = width
        self.events = events
        self.kill_marker = kill_marker

    def _event(self, what, X):
        fit = f"w{self.width}e{self.epochs}n{len(X)}s{float(np.sum(X)):.3f}"
        line = f"{what} {os.getpid()} {os.environ.get('CUDA_VISIBLE_DEVICES', '<unset>')} {fit}\n"
        fd = os.open(self.events, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, line.encode())  # one write: lines of several processes never mix
        finally:
            os.close(fd)

    def fit(self, X, y):
        self._event("start", X)
        if self.kill_marker is not None and _claim(self.kill_marker):
            self._event("kill", X)
            os.kill(os.getpid(), signal.SIGKILL)
        np.linalg.svd(np.random.default_rng(0).random((200, 200)))  # a little work
        self.classes_ = np.unique(y)
        self._event("end", X)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])

    def score(self, X, y, sample_weight=None):
        return 1.0 / (1.0 + abs(self.width - 4)) + 0.01 * self.epochs


def _claim(marker):
    try:
        os.remove(marker)
    except FileNotFoundError:
        return False
    return True


def _read(events):
    with open(events) as fh:
        return [line.split() for line in fh]


def _check_one_fit_per_device(rows):
    """Per device, in file order: start, end (or kill), start, ...; never two starts in a row."""
    busy = {}  # device -> the fit running on it
    for what, pid, device, fit in rows:
        if what == "start":
            assert device not in busy, f"{fit} started on {device} while {busy.get(device)} ran"
            busy[device] = (pid, fit)
        else:
            assert busy.pop(device) == (pid, fit), (what, pid, device, fit)
    assert busy == {}


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    return rng.rand(30, 3), np.tile([0, 1, 2], 10)


@pytest.fixture
def fake_gpus(monkeypatch):
    monkeypatch.setenv("SKKERAS_SEARCH_FAKE_GPUS", "3")
    monkeypatch.delenv("SKKERAS_SEARCH_GPUS", raising=False)
    return ("0", "1", "2")


def _asha(tmp_path, **estimator):
    est = Recorder(events=str(tmp_path / "events.txt"), **estimator)
    return ASHASearchCV(est, {"width": list(range(1, 9))}, max_epochs=9, factor=3,
                        n_candidates=6, cv=2, random_state=0, refit=False, error_score="raise")


# -- the device list


def test_fake_gpus_count_or_list(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "7")  # the fake list wins
    for value, ids in [("3", ("0", "1", "2")), ("0", ()), ("0,2,5", ("0", "2", "5")),
                       ("5,", ("5",)), (" 1 , 3 ", ("1", "3"))]:
        monkeypatch.setenv("SKKERAS_SEARCH_FAKE_GPUS", value)
        assert visible_gpus() == ids, value


def test_cuda_visible_devices_read_as_cuda_reads_it(monkeypatch):
    monkeypatch.delenv("SKKERAS_SEARCH_FAKE_GPUS", raising=False)
    for value, ids in [("0,2", ("0", "2")), ("", ()), ("-1", ()), ("1,-1,2", ("1",)),
                       ("GPU-aaaa,MIG-bbbb", ("GPU-aaaa", "MIG-bbbb")), ("3,,4", ("3",))]:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", value)
        assert visible_gpus() == ids, value


def test_nvidia_smi_gives_uuids_and_mig_instances(monkeypatch, tmp_path):
    monkeypatch.delenv("SKKERAS_SEARCH_FAKE_GPUS", raising=False)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert visible_gpus() == ()  # no nvidia-smi on PATH: no GPU
    script = tmp_path / "nvidia-smi"
    # shell builtins only: PATH holds nothing else
    script.write_text("#!/bin/sh\n" + "".join(f"echo '{line}'\n" for line in NVIDIA_SMI.splitlines()))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    assert visible_gpus() == ("GPU-aaaa-0000", "MIG-cccc-2222", "MIG-dddd-3333", "GPU-eeee-4444")
    script.write_text("#!/bin/sh\necho 'NVIDIA-SMI has failed' >&2\nexit 9\n")
    assert visible_gpus() == ()  # a failing driver: no GPU


@given(st.lists(st.integers(0, 15), min_size=0, max_size=8, unique=True))
def test_parse_nvidia_smi_keeps_every_gpu_in_order(indexes):
    text = "".join(f"GPU {i}: NVIDIA T4 (UUID: GPU-{i:04d})\n" for i in indexes)
    assert parse_nvidia_smi(text) == tuple(f"GPU-{i:04d}" for i in indexes)


def test_worker_env_pins_one_device_with_memory_growth(monkeypatch):
    monkeypatch.delenv("TF_FORCE_GPU_ALLOW_GROWTH", raising=False)
    assert gpu_worker_env("MIG-cccc", 4) == {
        "CUDA_VISIBLE_DEVICES": "MIG-cccc", "TF_FORCE_GPU_ALLOW_GROWTH": "true",
        "SKKERAS_SEARCH_THREADS": "4", "OMP_NUM_THREADS": "4"}
    monkeypatch.setenv("TF_FORCE_GPU_ALLOW_GROWTH", "false")  # the user's choice is kept
    assert gpu_worker_env("1", 1)["TF_FORCE_GPU_ALLOW_GROWTH"] == "false"
    with pytest.raises(ValueError, match="device='0,1'"):
        gpu_worker_env("0,1", 1)
    with pytest.raises(ValueError, match="threads=0"):
        gpu_worker_env("0", 0)


# -- which executor


def _kind(n_jobs, gpus=None):
    executor = executor_for(n_jobs, gpus=gpus)
    try:
        return type(executor).__name__, getattr(executor, "devices", None), executor.n_workers
    finally:
        executor.close()


def test_executor_for_pins_one_worker_per_gpu(fake_gpus, monkeypatch):
    assert _kind(None) == ("Inline", None, 1)  # sklearn's n_jobs=None: one worker, here
    assert _kind(1) == ("Inline", None, 1)
    assert _kind(2) == ("Pinned", ("0", "1"), 2)  # n_jobs caps the GPUs
    assert _kind(None, gpus=3) == ("Pinned", fake_gpus, 3)
    assert _kind(2, gpus=3) == ("Pinned", ("0", "1"), 2)
    assert _kind(2, gpus=0)[0] == "Futures"  # 0 turns pinning off
    with use_gpus(2):
        assert _kind(None) == ("Pinned", ("0", "1"), 2)
        with use_gpus(0):
            assert _kind(2)[0] == "Futures"
        assert _kind(None, gpus=1) == ("Pinned", ("0",), 1)  # the argument wins
    monkeypatch.setenv("SKKERAS_SEARCH_GPUS", "1")
    assert _kind(None) == ("Pinned", ("0",), 1)
    with use_gpus(3):  # a block wins over the environment
        assert _kind(None)[2] == 3
    with joblib.parallel_config(backend="threading"):
        monkeypatch.setenv("SKKERAS_SEARCH_GPUS", "0")
        assert _kind(2)[0] == "Futures"
    monkeypatch.setenv("SKKERAS_SEARCH_FAKE_GPUS", "0")
    monkeypatch.delenv("SKKERAS_SEARCH_GPUS")
    assert _kind(2)[0] == "Futures"  # no GPU: loky's processes as before


def test_executor_for_refuses_what_it_cannot_pin(fake_gpus, monkeypatch):
    with pytest.raises(ValueError, match="gpus=4 asks for more GPUs than the 3 visible"):
        executor_for(None, gpus=4)
    with pytest.raises(ValueError, match="gpus=-1"):
        executor_for(None, gpus=-1)
    with pytest.raises(ValueError, match=r"n=1\.5"):
        with use_gpus(1.5):
            pass
    with joblib.parallel_config(backend="threading"), \
            pytest.raises(ValueError, match=r"use_gpus\(2\) pins one worker process per GPU"):
        with use_gpus(2):
            executor_for(2)
    monkeypatch.setenv("SKKERAS_SEARCH_GPUS", "two")
    with pytest.raises(ValueError, match="SKKERAS_SEARCH_GPUS='two'"):
        executor_for(2)


# -- searches on pinned workers


@pytest.mark.slow
def test_asha_on_fake_gpus_runs_one_fit_per_device(fake_gpus, data, tmp_path):
    X, y = data
    with use_gpus(3):
        search = _asha(tmp_path).fit(X, y)
    rows = _read(tmp_path / "events.txt")
    pids = {pid for _, pid, _, _ in rows}
    assert str(os.getpid()) not in pids  # every fit ran in a worker
    device_of = {pid: device for _, pid, device, _ in rows}
    assert all(device_of[pid] == device for _, pid, device, _ in rows)  # a worker keeps its GPU
    assert sorted(set(device_of.values())) == list(fake_gpus)  # every GPU was used
    _check_one_fit_per_device(rows)
    starts = [row for row in rows if row[0] == "start"]
    assert len(starts) == 2 * len(search.cv_results_["params"])  # each fold fit ran once
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


# extended: a killed loky worker's fit resubmitted is tests/test_asha.py's (same restart rule)
@pytest.mark.slow
@pytest.mark.extended
def test_killed_pinned_worker_has_its_fit_resubmitted(fake_gpus, data, tmp_path):
    X, y = data
    marker = tmp_path / "kill-once"
    marker.touch()
    est = Recorder(events=str(tmp_path / "events.txt"), kill_marker=str(marker))
    search = TPESearchCV(est, {"width": list(range(1, 9))}, n_iter=6, cv=2, random_state=0,
                         asynchronous=True, refit=False, error_score="raise")
    with use_gpus(2):
        search.fit(X, y)
    rows = _read(tmp_path / "events.txt")
    kills = [row for row in rows if row[0] == "kill"]
    assert not marker.exists() and len(kills) == 1
    _, victim, device, fit = kills[0]
    reruns = [row for row in rows if row[0] == "start" and row[3] == fit and row[1] != victim]
    assert len(reruns) == 1 and reruns[0][2] == device  # again, by a new worker on its GPU
    assert any(row[0] == "end" and row[3] == fit for row in rows)
    _check_one_fit_per_device(rows)
    assert len(search.cv_results_["params"]) == 6
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


# -- Dask workers with a GPU resource


# extended: a Dask cluster of its own (about 20 s); the Dask executor is tests/test_async_dask.py's
@pytest.mark.slow
@pytest.mark.extended
def test_dask_workers_with_a_gpu_resource_get_one_fit_at_a_time(data, tmp_path, monkeypatch):
    distributed = pytest.importorskip("dask.distributed")
    monkeypatch.setenv("SKKERAS_SEARCH_FAKE_GPUS", "3")  # ignored on Dask: resources decide
    X, y = data
    # two threads per worker: without the resource, a worker would take two fits at once
    with distributed.LocalCluster(n_workers=2, threads_per_worker=2, processes=True,
                                  resources={"GPU": 1}, host="127.0.0.1",
                                  dashboard_address=None, silence_logs=50) as cluster, \
            distributed.Client(cluster) as client:
        client.run(lambda path: sys.path.insert(0, path), os.path.dirname(__file__))
        assert executor_for(None).n_workers == 2
        search = _asha(tmp_path).fit(X, y)
        worker_pids = set(client.run(os.getpid).values())
    rows = _read(tmp_path / "events.txt")
    assert {pid for _, pid, _, _ in rows} <= {str(p) for p in worker_pids}
    # one GPU per worker: read each worker's pid as its device
    _check_one_fit_per_device([(what, pid, pid, fit) for what, pid, _, fit in rows])
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
