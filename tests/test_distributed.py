"""Searches on a real dask.distributed cluster on 127.0.0.1 (2 worker processes)."""

import glob
import os
import signal
import threading
import time

import joblib
import numpy as np
import pytest
from sklearn.model_selection import RandomizedSearchCV

from skkeras_search import KerasMLPClassifier
from skkeras_search.space import int_range, log_uniform

distributed = pytest.importorskip("dask.distributed")

SPACE = {"hidden_units": int_range(8, 40, 16), "learning_rate": log_uniform(1e-3, 1e-1)}


@pytest.fixture(scope="module")
def cluster(dask_cluster):
    """The session's cluster (tests/conftest.py) and this module's client of it."""
    client = distributed.Client(dask_cluster)
    client.wait_for_workers(2, timeout=60)
    yield dask_cluster, client
    client.close()


@pytest.fixture(scope="module")
def data(digits):
    X, y = digits
    return X[:300], y[:300]


def search(n_iter=4, epochs=5, cache_dir=None):
    clf = KerasMLPClassifier(epochs=epochs, random_state=0, cache_dir=cache_dir)
    return RandomizedSearchCV(clf, SPACE, n_iter=n_iter, cv=2, random_state=0, n_jobs=-1,
                              error_score="raise")


@pytest.mark.slow
def test_dask_cluster_equals_n_jobs_1(cluster, data):
    X, y = data
    _, client = cluster
    with joblib.parallel_config(backend="dask"):
        on_dask = search().fit(X, y)
    local = search().set_params(n_jobs=1).fit(X, y)
    for key in ("split0_test_score", "split1_test_score", "mean_test_score"):
        assert np.array_equal(on_dask.cv_results_[key], local.cv_results_[key]), key
    # the fits really ran on the cluster (which worker ran which fit is not tested)
    ran = client.run(lambda: "tensorflow" in __import__("sys").modules)
    assert len(ran) == 2 and any(ran.values())


@pytest.mark.slow
def test_killed_dask_worker_search_still_completes(cluster, data, tmp_path):
    X, y = data
    local_cluster, client = cluster
    result, errors = {}, []

    def run():
        try:
            with joblib.parallel_config(backend="dask"):
                result["search"] = search(n_iter=6, epochs=100, cache_dir=str(tmp_path)).fit(X, y)
        except Exception as exc:  # surfaced below
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.time() + 120
    while not glob.glob(str(tmp_path / "*" / "*.npz")) and time.time() < deadline:
        time.sleep(0.05)
    pids = client.run(os.getpid)
    victim = sorted(pids.values())[0]
    os.kill(victim, signal.SIGKILL)  # mid-search: one fit finished, others running
    finished_at_kill = len(glob.glob(str(tmp_path / "*" / "*.npz")))
    thread.join(timeout=300)
    assert not errors, errors
    finished = len(glob.glob(str(tmp_path / "*" / "*.npz")))
    local = search(n_iter=6, epochs=100).set_params(n_jobs=1).fit(X, y)
    assert np.array_equal(result["search"].cv_results_["mean_test_score"],
                          local.cv_results_["mean_test_score"])
    assert finished_at_kill < 12 <= finished  # killed mid-search; every fold finished
    client.wait_for_workers(2, timeout=60)  # the nanny restarted the killed worker
    assert victim not in client.run(os.getpid).values()
