import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402
from sklearn.datasets import load_digits, make_classification  # noqa: E402

settings.register_profile(
    "dev",
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "ci",
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

MNIST_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets", "mnist-test")


@pytest.fixture(scope="session")
def tiny():
    """60 samples, 5 features, 3 classes."""
    X, y = make_classification(
        n_samples=60, n_features=5, n_informative=4, n_redundant=0, n_classes=3,
        random_state=0,
    )
    return X, y


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's 8x8 digits, scaled to [0, 1], as float32."""
    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y


@pytest.fixture(scope="session")
def mnist_dir():
    path = os.path.abspath(MNIST_DIR)
    if not os.path.isdir(path):
        pytest.skip(f"MNIST test split not found at {path}")
    return path


@pytest.fixture(scope="session")
def dask_cluster():
    """A Dask LocalCluster on 127.0.0.1, 2 single-threaded worker processes, for the session.

    Shared by the modules that search on Dask (each with a Client of its own), so that its
    workers start and import TensorFlow once. A test that kills a worker waits for the nanny
    to restart it.
    """
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None,
                                       silence_logs=50)
    yield cluster
    cluster.close()


@pytest.fixture
def trained_epochs(monkeypatch):
    """Epochs asked of every training call made in this process."""
    from skkeras_search.mlp import _training

    calls = []
    original = _training.train

    def counting(state, *args, schedule, **kwargs):
        calls.append(schedule.epochs)
        return original(state, *args, schedule=schedule, **kwargs)

    monkeypatch.setattr(_training, "train", counting)
    return calls
