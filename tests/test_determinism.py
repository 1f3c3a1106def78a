"""The same random_state gives the same bits whatever the threads: caps, n_jobs, oneDNN or not.

TensorFlow's CPU kernels split a matrix product over their intra-op pool, and the split changes
the rounding, so before that pool was pinned to one thread a fit ended with different weights
under 1 and 2 threads once the products are large enough to be split: float64 (Eigen's kernels,
oneDNN or not), and float32 when oneDNN is off (forced here with TF_ENABLE_ONEDNN_OPTS=0;
TensorFlow's default on CPUs without AVX512-VNNI, AVX-VNNI or AMX). ``n_jobs=1`` trained with
all cores' threads and a loky worker with cores // n_jobs, so a search's scores depended on
n_jobs.

Each case runs in fresh processes: the thread pools are fixed when TensorFlow starts. The
wrappers (``KerasClassifier``/``KerasRegressor``, Keras's own ``Model.fit``) are checked the
same way. One child per (oneDNN, cap) pair runs every fit; the child without oneDNN and without
a cap also runs the searches afterwards (the same process the search test needs), and a test
reads each child's results as soon as the child prints them, so the next children start while
the searches still run.
"""

import json
import os
import queue
import subprocess
import sys
import tempfile
import textwrap
import threading

import pytest

pytestmark = pytest.mark.slow

# Shapes whose products TensorFlow parallelises (and which differed by thread count before):
# two 512-wide layers, and batches of 1000 rows.
FITS = r"""
import hashlib, json, sys, warnings
import numpy as np
from sklearn.datasets import load_digits
from skkeras_search import KerasMLPClassifier, KerasMLPRegressor
from skkeras_search._core import backend as _backend

warnings.simplefilter("ignore")


def digest(*arrays):
    return hashlib.sha256(b"".join(np.ascontiguousarray(a).tobytes() for a in arrays)).hexdigest()


X, y = load_digits(return_X_y=True)
X = X / 16
target = np.stack([X[:, :32].sum(1), X[:, 32:].sum(1)], 1) / 10 + (y[:, None] % 3)
out = {}
for dtype in ("float32", "float64"):
    Xd = X.astype(dtype)
    for name, rows, kw in (("2x512", 1000, dict(hidden_units=512, n_layers=2)),
                           ("batch1000", None, dict(hidden_units=256, batch_size=1000))):
        Xs, ys, ts = Xd[:rows], y[:rows], target[:rows].astype(dtype)
        clf = KerasMLPClassifier(epochs=2, random_state=0, **kw).fit(Xs, ys)
        reg = KerasMLPRegressor(epochs=2, random_state=0, **kw).fit(Xs, ts)
        out[f"classifier {dtype} {name}"] = digest(*clf.coefs_, *clf.intercepts_,
                                                   clf.predict_proba(Xd))
        out[f"regressor {dtype} {name}"] = digest(*reg.coefs_, *reg.intercepts_, reg.predict(Xd))
import keras  # noqa: E402  (the wrappers: your own Keras model, trained by Model.fit)
from skkeras_search import KerasClassifier, KerasRegressor  # noqa: E402


def build_clf(input_shape, n_classes, units=512):
    return keras.Sequential([keras.Input(input_shape), keras.layers.Dense(units, activation="relu"),
                             keras.layers.Dense(units, activation="relu"),
                             keras.layers.Dense(n_classes, activation="softmax")])


def build_reg(input_shape, n_outputs, units=512):
    return keras.Sequential([keras.Input(input_shape), keras.layers.Dense(units, activation="relu"),
                             keras.layers.Dense(n_outputs)])


X32, Xs = X.astype("float32"), X[:1000].astype("float32")
wrapped = KerasClassifier(build_clf, epochs=2, batch_size=500, random_state=0).fit(Xs, y[:1000])
out["KerasClassifier float32"] = digest(wrapped.predict_proba(X32))
wrapped = KerasRegressor(build_reg, epochs=2, batch_size=500, random_state=0).fit(
    Xs, target[:1000].astype("float32"))
out["KerasRegressor float32"] = digest(wrapped.predict(X32))
tf = _backend.tensorflow()
out["pools"] = [tf.config.threading.get_intra_op_parallelism_threads(),
                tf.config.threading.get_inter_op_parallelism_threads()]
print(json.dumps(out), flush=True)
"""

SEARCH = r"""
import json, warnings
import joblib
import numpy as np
from scipy.stats import loguniform
from sklearn.datasets import load_digits
from sklearn.model_selection import RandomizedSearchCV
from skkeras_search import KerasMLPClassifier

warnings.simplefilter("ignore")
X, y = load_digits(return_X_y=True)
X = (X / 16).astype(np.float32)
space = {"hidden_units": [256, 512], "n_layers": [1, 2], "learning_rate": loguniform(1e-4, 1e-2)}
scores = {}
for backend, n_jobs in (("loky", 1), ("loky", 2), ("threading", 2)):
    with joblib.parallel_config(backend=backend):
        search = RandomizedSearchCV(KerasMLPClassifier(epochs=3, random_state=0), space,
                                    n_iter=3, cv=2, scoring="neg_log_loss", random_state=0,
                                    n_jobs=n_jobs, error_score="raise", refit=False).fit(X, y)
    scores[f"{backend} n_jobs={n_jobs}"] = {k: [float(v).hex() for v in search.cv_results_[k]]
                                            for k in ("split0_test_score", "split1_test_score")}
print(json.dumps(scores), flush=True)
"""

_THREAD_VARS = ("SKKERAS_SEARCH_THREADS", "OMP_NUM_THREADS", "TF_ENABLE_ONEDNN_OPTS")

# (a cap of 2 is "no cap" on a 2-core machine, so all cores stand for it)
CAPS = {"SKKERAS_SEARCH_THREADS=1": {"SKKERAS_SEARCH_THREADS": "1"},
        "OMP_NUM_THREADS=1 (a loky or Dask worker)": {"OMP_NUM_THREADS": "1"},
        "no cap (n_jobs=1: all cores)": {}}
NO_CAP = "no cap (n_jobs=1: all cores)"
# OMP_NUM_THREADS=1 gives TensorFlow the pools SKKERAS_SEARCH_THREADS=1 gives (both caps read
# by _backend._thread_cap; tests/test_backend.py checks the pools a cap gives): the extended
# run checks that its fits' bits equal one thread's, with and without oneDNN (a child each).
DEFAULT_CAPS = {"0": ["SKKERAS_SEARCH_THREADS=1", NO_CAP],
                "1": ["SKKERAS_SEARCH_THREADS=1", NO_CAP]}


class _Child:
    """A fresh process running FITS (and SEARCH after it); its JSON lines, read as printed."""

    def __init__(self, code, **env):
        base = {k: v for k, v in os.environ.items() if k not in _THREAD_VARS}
        self.err = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)],
                                     env={**base, "TF_CPP_MIN_LOG_LEVEL": "3", **env},
                                     stdout=subprocess.PIPE, stderr=self.err, text=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.results = []

    def _read(self):
        for line in self.proc.stdout:
            if line.startswith("{"):
                self.lines.put(json.loads(line))
        self.proc.wait()
        self.lines.put(None)  # the end: no more results

    def result(self, index):
        """The index-th JSON line the child printed (0: FITS, 1: SEARCH)."""
        while len(self.results) <= index:
            line = self.lines.get(timeout=600)
            if line is None:
                self.err.seek(0)
                raise AssertionError(f"the child exited with {self.proc.returncode} after "
                                     f"{len(self.results)} result(s):\n{self.err.read()[-3000:]}")
            self.results.append(line)
        return self.results[index]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.err.close()


@pytest.fixture(scope="module")
def child():
    """``child(onednn, cap)``: that pair's process, started on first use, kept for the module."""
    children = {}

    def get(onednn, cap):
        if (onednn, cap) not in children:
            with_search = onednn == "0" and cap == NO_CAP
            children[onednn, cap] = _Child(FITS + SEARCH if with_search else FITS,
                                           TF_ENABLE_ONEDNN_OPTS=onednn, **CAPS[cap])
        return children[onednn, cap]

    yield get
    for proc in children.values():
        proc.stop()


def _assert_fits_identical(child, onednn, caps):
    started = {cap: child(onednn, cap) for cap in caps}  # all running before the first wait
    results = {cap: proc.result(0) for cap, proc in started.items()}
    reference = results["SKKERAS_SEARCH_THREADS=1"]
    for name, result in results.items():
        for fit, value in result.items():
            if fit != "pools":
                assert value == reference[fit], f"{fit}: {name} differs from 1 thread"
        assert result["pools"][0] == 1, name  # the intra-op pool, whatever the cap


@pytest.mark.parametrize("onednn", ["0", "1"])
def test_fits_are_bit_identical_for_any_thread_cap(child, onednn):
    _assert_fits_identical(child, onednn, DEFAULT_CAPS[onednn])


@pytest.mark.extended
@pytest.mark.parametrize("onednn", ["0", "1"])
def test_fits_under_omp_num_threads_1_are_bit_identical_to_one_thread(child, onednn):
    _assert_fits_identical(child, onednn, ["SKKERAS_SEARCH_THREADS=1",
                                           "OMP_NUM_THREADS=1 (a loky or Dask worker)"])


def test_search_scores_are_bit_identical_for_n_jobs_1_and_2(child):
    # Without oneDNN: the kernels whose float32 sums depended on the thread count.
    scores = child("0", NO_CAP).result(1)
    assert scores["loky n_jobs=2"] == scores["loky n_jobs=1"]  # worker processes, 1 thread each
    assert scores["threading n_jobs=2"] == scores["loky n_jobs=1"]  # fits side by side, one pool
