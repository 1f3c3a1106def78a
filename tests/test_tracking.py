"""MLflow tracking of fitted searches, read back with MlflowClient from real stores.

The stores: a file store, a sqlite database, and a real ``mlflow server``
(sqlite behind it) on 127.0.0.1, started with the module so that its slow
start runs beside the other tests. A child process checks the ImportError
without MLflow (``sys.modules['mlflow'] = None``: a real failed import).
"""

import csv
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import warnings

import mlflow
import numpy as np
import pytest
import skops.io as sio
from mlflow import MlflowClient
from scipy.stats import loguniform
from sklearn.datasets import load_iris
from sklearn.exceptions import NotFittedError
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, HalvingRandomSearchCV, RandomizedSearchCV
from sklearn.preprocessing import scale

from skkeras_search import HyperbandSearchCV, KerasMLPClassifier
from skkeras_search.persistence import load_model
from skkeras_search.tracking import log_search
from skkeras_search.tracking._client import log_batches
from skkeras_search.tracking._layout import child_rows
from skkeras_search.tracking._values import param_text

_SERVER_TEST = "test_log_search_over_a_tracking_server"
_NO_MLFLOW_TEST = "test_without_mlflow_log_search_says_how_to_install_it"
_NO_MLFLOW_CHILD = """
import sys
sys.modules["mlflow"] = None  # a real import failure: `import mlflow` raises ImportError
import skkeras_search
from skkeras_search.tracking import log_search
try:
    log_search(object())
except ImportError as exc:
    print(exc)
"""


def _selected(request, name):
    return any(getattr(item, "originalname", None) == name for item in request.session.items)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module", autouse=True)
def background(request, tmp_path_factory):
    """The tracking server and the child without MLflow, started with the module (only for
    their selected tests) so that they start beside the other tests."""
    procs = {}
    if _selected(request, _SERVER_TEST):
        root = tmp_path_factory.mktemp("server")
        port = _free_port()
        err = open(root / "server.log", "w")
        # the job runner (GenAI jobs, 8 more processes) is no part of tracking
        env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false",
                   MLFLOW_DISABLE_TELEMETRY="true")
        cmd = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri",
               f"sqlite:///{root}/mlflow.db", "--default-artifact-root", str(root / "artifacts"),
               "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        proc = subprocess.Popen(cmd, stdout=err, stderr=err, cwd=root, env=env,
                                start_new_session=True)
        procs["server"] = (proc, port, root / "server.log", time.monotonic())
        procs["server_log"] = err
    if _selected(request, _NO_MLFLOW_TEST):
        procs["no_mlflow"] = subprocess.Popen([sys.executable, "-c", _NO_MLFLOW_CHILD],
                                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                              text=True)
    yield procs
    if "server" in procs:
        proc = procs["server"][0]
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        try:  # its own session: a uvicorn worker left behind by the server
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        procs["server_log"].close()
    if "no_mlflow" in procs and procs["no_mlflow"].poll() is None:
        procs["no_mlflow"].kill()
        procs["no_mlflow"].communicate()


# ------------------------------------------------------------------ searches and stores
@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return scale(X[::2]), y[::2]  # 75 rows; scaled, lbfgs converges in ~10 iterations


def _quiet_fit(search, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the failing candidate's FitFailedWarning, NaN scores
        return search.fit(X, y)


@pytest.fixture(scope="module")
def grid(iris):
    """C=-1 fails every fit (NaN scores); return_train_score adds train metrics."""
    search = GridSearchCV(LogisticRegression(max_iter=500), {"C": [-1.0, 0.1, 1.0]}, cv=2,
                          return_train_score=True)
    return _quiet_fit(search, *iris)


@pytest.fixture(scope="module")
def digits60(digits):
    X, y = digits
    return X[:60], y[:60]


@pytest.fixture(scope="module")
def hyperband(digits60):
    search = HyperbandSearchCV(KerasMLPClassifier(hidden_units=4, random_state=0),
                               {"learning_rate": [1e-3, 1e-2, 3e-2]}, max_epochs=3, factor=3,
                               cv=2, random_state=0)
    return _quiet_fit(search, *digits60)


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory):
    """One sqlite database for the module (each new one costs MLflow's schema migrations)."""
    root = tmp_path_factory.mktemp("sqlite")
    return f"sqlite:///{root}/mlflow.db", root


def _experiment(store, name):
    """An experiment of the sqlite store whose artifacts go to the test's folder (the store's
    own default is ./mlruns in the working directory)."""
    uri, root = store
    client = MlflowClient(uri)
    client.create_experiment(name, artifact_location=(root / name).as_uri())
    return uri, client


def _children(client, run):
    runs = client.search_runs([run.info.experiment_id],
                              f"tags.mlflow.parentRunId = '{run.info.run_id}'")
    return sorted(runs, key=lambda r: int(r.data.tags["cv_results_index"]))


def _csv_rows(client, run_id, dst):
    path = client.download_artifacts(run_id, "cv_results.csv", str(dst))
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _assert_fluent_state_unchanged(uri_before):
    assert mlflow.get_tracking_uri() == uri_before
    assert mlflow.active_run() is None


# ----------------------------------------------------------------------------- the layout
def test_grid_search_on_a_file_store(grid, iris, tmp_path, monkeypatch):
    # MLflow 3 refuses the file store ("maintenance mode", an MlflowException) unless this
    # switch is on; it is the file store's one opt-in, and the test needs nothing else of it
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri, before = (tmp_path / "mlruns").as_uri(), mlflow.get_tracking_uri()
    run_id = log_search(grid, uri, experiment="grid", run_name="grid-C")
    _assert_fluent_state_unchanged(before)
    client = MlflowClient(uri)
    parent = client.get_run(run_id)
    assert (parent.info.status, parent.info.run_name) == ("FINISHED", "grid-C")
    assert client.get_experiment(parent.info.experiment_id).name == "grid"
    params = parent.data.params
    assert params["best_C"] == str(grid.best_params_["C"]) == "1.0"
    assert params["cv"] == "2" and params["scoring"] == "None"
    assert params["estimator"] == "LogisticRegression(max_iter=500)"
    assert params["param_grid"] == "{'C': [-1.0, 0.1, 1.0]}"
    assert parent.data.metrics == {"best_cv_score": grid.best_score_}
    tags = parent.data.tags
    assert tags["estimator_name"] == "GridSearchCV"
    assert tags["estimator_class"] == "sklearn.model_selection._search.GridSearchCV"
    assert tags["base_estimator_name"] == "LogisticRegression"
    kids = _children(client, parent)
    assert [k.data.params for k in kids] == [{"C": "-1.0"}, {"C": "0.1"}, {"C": "1.0"}]
    assert {k.info.status for k in kids} == {"FINISHED"}
    assert {k.data.tags["estimator_name"] for k in kids} == {"LogisticRegression"}
    assert all(k.data.tags["mlflow.runName"] == k.info.run_name != "" for k in kids)
    expected = {f"{s}_{p}_score" for s in ("mean", "std", "split0", "split1")
                for p in ("test", "train")}
    expected |= {"rank_test_score", "mean_fit_time", "std_fit_time", "mean_score_time",
                 "std_score_time"}
    assert all(set(k.data.metrics) == expected for k in kids)
    assert math.isnan(kids[0].data.metrics["mean_test_score"])  # the failed fits: NaN, kept
    assert kids[0].data.metrics["rank_test_score"] == 3
    assert kids[2].data.metrics["split1_test_score"] == grid.cv_results_["split1_test_score"][2]
    assert {a.path for a in client.list_artifacts(run_id)} == {"cv_results.csv", "best_model"}
    rows = _csv_rows(client, run_id, tmp_path)
    assert [json.loads(r["params"]) for r in rows] == [{"C": -1.0}, {"C": 0.1}, {"C": 1.0}]
    skops_file = client.download_artifacts(run_id, "best_model/model.skops", str(tmp_path))
    best = sio.load(skops_file)  # trusts nothing: plain scikit-learn types only
    assert np.array_equal(best.predict_proba(iris[0]), grid.best_estimator_.predict_proba(iris[0]))


def test_hyperband_rows_per_budget_and_the_best_model(hyperband, digits60, sqlite_store, tmp_path):
    uri, client = _experiment(sqlite_store, "hyperband")
    before = mlflow.get_tracking_uri()
    run_id = log_search(hyperband, uri, experiment="hyperband")
    _assert_fluent_state_unchanged(before)
    parent = client.get_run(run_id)
    results = hyperband.cv_results_
    assert parent.data.metrics == {"best_cv_score": hyperband.best_score_}
    best = hyperband.best_params_
    assert float(parent.data.params["best_learning_rate"]) == best["learning_rate"]
    assert int(parent.data.params["best_epochs"]) == best["epochs"]
    assert parent.data.params["max_epochs"] == "3" and parent.data.params["sampler"] == "random"
    assert parent.data.tags["estimator_name"] == "HyperbandSearchCV"
    assert parent.data.tags["base_estimator_name"] == "KerasMLPClassifier"
    kids = _children(client, parent)
    assert len(kids) == len(results["params"]) > len({tuple(p.items()) for p in results["params"]
                                                      if p["epochs"] == 3})
    for i, kid in enumerate(kids):
        assert kid.data.params == {
            "learning_rate": repr(results["params"][i]["learning_rate"]),
            "epochs": str(results["params"][i]["epochs"]),
            "n_resources": str(results["n_resources"][i]), "bracket": str(results["bracket"][i]),
            "round": str(results["round"][i])}
        assert kid.data.metrics["mean_test_score"] == results["mean_test_score"][i]
        assert kid.data.metrics["n_epochs_trained"] == results["n_epochs_trained"][i]
    assert len(_csv_rows(client, run_id, tmp_path)) == len(results["params"])
    model = load_model(client.download_artifacts(run_id, "best_model", str(tmp_path)))
    X = digits60[0]
    assert np.array_equal(model.predict(X), hyperband.best_estimator_.predict(X))
    assert np.array_equal(model.predict_proba(X), hyperband.best_estimator_.predict_proba(X))


def test_max_child_runs_keeps_the_best_rows_ties_in_row_order(iris, sqlite_store):
    search = _quiet_fit(GridSearchCV(LogisticRegression(max_iter=500),
                                     {"C": [1.0, 0.001, 1.0, 0.1]}, cv=2), *iris)
    assert search.cv_results_["rank_test_score"].tolist() == [1, 4, 1, 3]  # rows 0 and 2 tie
    for k, rows in [(2, [0, 2]), (3, [0, 2, 3]), (0, []), (10, [0, 1, 2, 3]), (None, [0, 1, 2, 3])]:
        assert child_rows(search, k) == rows
    uri, client = _experiment(sqlite_store, "max-child-runs")
    parent = client.get_run(log_search(search, uri, "max-child-runs", 1, model=False))
    assert [int(r.data.tags["cv_results_index"]) for r in _children(client, parent)] == [0]
    assert parent.info.status == "FINISHED"


def test_halving_search_rows_carry_iter_and_n_resources(iris, sqlite_store):
    search = _quiet_fit(HalvingRandomSearchCV(LogisticRegression(max_iter=500),
                                              {"C": loguniform(1e-2, 1e2)}, n_candidates=2,
                                              factor=2, cv=2, random_state=0), *iris)
    uri, client = _experiment(sqlite_store, "halving")
    parent = client.get_run(log_search(search, uri, "halving", model=False))
    assert parent.data.params["param_distributions"] == "{'C': loguniform(0.01, 100.0)}"
    kids = _children(client, parent)
    assert len(kids) == len(search.cv_results_["params"]) == 3  # 2 candidates, then the best
    for i, kid in enumerate(kids):
        assert kid.data.params["iter"] == str(search.cv_results_["iter"][i])
        assert kid.data.params["n_resources"] == str(search.cv_results_["n_resources"][i])


def test_several_scorers_give_a_best_score_each(iris, sqlite_store):
    search = _quiet_fit(GridSearchCV(LogisticRegression(max_iter=500), {"C": [0.001, 1.0]}, cv=2,
                                     scoring={"acc": "accuracy", "bacc": "balanced_accuracy"},
                                     refit="bacc"), *iris)
    uri, client = _experiment(sqlite_store, "multi")
    parent = client.get_run(log_search(search, uri, "multi", max_child_runs=1, model=False))
    i = search.best_index_
    assert parent.data.metrics == {
        "best_cv_score": search.best_score_,
        "best_cv_score_acc": search.cv_results_["mean_test_acc"][i],
        "best_cv_score_bacc": search.cv_results_["mean_test_bacc"][i]}
    (kid,) = _children(client, parent)
    assert kid.data.tags["cv_results_index"] == str(i)  # picked by the refit scorer's rank
    assert {"mean_test_acc", "split1_test_bacc", "rank_test_acc", "rank_test_bacc",
            "std_test_bacc"} <= set(kid.data.metrics)
    assert "mean_test_score" not in kid.data.metrics


def test_a_conditional_space_leaves_masked_params_out(iris, sqlite_store, tmp_path, monkeypatch):
    space = [{"C": [0.1, 1.0]}, {"tol": [1e-3, 1e-4]}]
    search = _quiet_fit(RandomizedSearchCV(LogisticRegression(max_iter=500), space, n_iter=4,
                                           cv=2, random_state=0), *iris)
    keys = [set(p) for p in search.cv_results_["params"]]
    assert {"C"} in keys and {"tol"} in keys  # both branches drawn
    uri, client = _experiment(sqlite_store, "conditional")
    # no tracking_uri or experiment: MLflow's own resolution, from its environment variables
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "conditional")
    run_id = log_search(search, model=False)
    assert client.get_run(run_id).info.experiment_id == \
        client.get_experiment_by_name("conditional").experiment_id
    kids = _children(client, client.get_run(run_id))
    assert [set(k.data.params) for k in kids] == keys
    rows = _csv_rows(client, run_id, tmp_path)
    assert [r["param_C"] == "" for r in rows] == ["C" not in k for k in keys]  # masked: empty


# ------------------------------------------------------------------- failures and refusals
def test_a_failure_midway_ends_the_runs_failed(grid, sqlite_store, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.json").write_text("{}")
    os.symlink(tmp_path / "gone.png", out / "plot.png")  # a dangling link: copying it fails
    uri, client = _experiment(sqlite_store, "failing")
    with pytest.raises(FileNotFoundError, match="plot.png"):
        log_search(grid, uri, "failing", artifacts=[out], model=False)
    exp = client.get_experiment_by_name("failing")
    (parent,) = [r for r in client.search_runs([exp.experiment_id])
                 if "mlflow.parentRunId" not in r.data.tags]
    assert parent.info.status == "FAILED"
    assert [r.info.status for r in _children(client, parent)] == ["FINISHED"] * 3
    assert mlflow.active_run() is None


def test_refusals_come_before_any_run(grid, iris, sqlite_store, tmp_path):
    uri, client = _experiment(sqlite_store, "refused")
    with pytest.raises(NotFittedError, match="has no cv_results_: it is not fitted"):
        log_search(GridSearchCV(LogisticRegression(), {"C": [1.0]}), uri, "refused")
    with pytest.raises(ValueError, match="max_child_runs=-1 is not a count"):
        log_search(grid, uri, "refused", -1)
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        log_search(grid, uri, "refused", artifacts=[tmp_path / "missing.txt"])
    (tmp_path / "cv_results.csv").write_text("x")
    with pytest.raises(ValueError, match="name 'cv_results.csv' is log_search's own"):
        log_search(grid, uri, "refused", artifacts=[tmp_path / "cv_results.csv"])
    (tmp_path / "best_model").mkdir()
    with pytest.raises(ValueError, match=r"or pass model=False"):
        log_search(grid, uri, "refused", artifacts=[tmp_path / "best_model"])
    odd = _quiet_fit(GridSearchCV(LogisticRegression(max_iter=500), {"C": [1.0]}, cv=2,
                                  scoring={"acc@1": "accuracy"}, refit="acc@1"), *iris)
    with pytest.raises(ValueError, match=r"'mean_test_acc@1'"):
        log_search(odd, uri, "refused")
    assert client.search_runs([client.get_experiment_by_name("refused").experiment_id]) == []


def _double(X):
    return 2 * X


def test_a_best_model_holding_code_is_skipped_with_a_warning(iris, sqlite_store):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    pipe = make_pipeline(FunctionTransformer(_double), LogisticRegression(max_iter=500))
    search = _quiet_fit(GridSearchCV(pipe, {"logisticregression__C": [1.0]}, cv=2), *iris)
    uri, client = _experiment(sqlite_store, "skipped-model")
    with pytest.warns(UserWarning, match=r"best model is not logged: Pipeline holds type\(s\) "
                                         r"\['[\w.]*_double'\] that skops does not trust") as caught:
        run_id = log_search(search, uri, "skipped-model")
    assert caught[0].filename == __file__  # points at the call
    assert [a.path for a in client.list_artifacts(run_id)] == ["cv_results.csv"]
    assert client.get_run(run_id).info.status == "FINISHED"


def test_without_mlflow_log_search_says_how_to_install_it(background):
    out, err = background["no_mlflow"].communicate(timeout=120)
    assert background["no_mlflow"].returncode == 0, err[-2000:]
    assert 'pip install "skkeras-search[mlflow]"' in out
    assert "log_search needs MLflow" in out


# ------------------------------------------------------------------------- values, batches
def test_param_text_is_short_and_stable():
    assert param_text(np.float64(0.5)) == "0.5" and param_text(np.int64(3)) == "3"
    assert param_text("relu") == "relu" and param_text((8,)) == "(8,)" and param_text(None) == "None"
    assert param_text({"C": loguniform(1e-3, 1e-1), "u": [1, np.float64(2.5)]}) == \
        "{'C': loguniform(0.001, 0.1), 'u': [1, 2.5]}"
    assert param_text(np.log1p) == "numpy.log1p"
    assert param_text(object()) == "<object object>"  # no memory address
    assert len(param_text("x" * 7000)) == 6000 and param_text("x" * 7000).endswith("...")


def test_log_batches_goes_past_mlflow_per_batch_limits(sqlite_store):
    uri, client = _experiment(sqlite_store, "batches")
    run = client.create_run(client.get_experiment_by_name("batches").experiment_id)
    log_batches(client, run.info.run_id, {f"p{i}": str(i) for i in range(150)},
                {f"m{i}": float(i) for i in range(1100)})  # limits: 100 params, 1,000 in all
    client.set_terminated(run.info.run_id)
    data = client.get_run(run.info.run_id).data
    assert len(data.params) == 150 and len(data.metrics) == 1100 and data.metrics["m1099"] == 1099


# -------------------------------------------------------------------------- a real server
# The server takes 17 to 29 s (10 s of CPU) to answer here: the extended run.
@pytest.mark.slow
@pytest.mark.extended
def test_log_search_over_a_tracking_server(background, grid, tmp_path):
    proc, port, log, started = background["server"]
    url = f"http://127.0.0.1:{port}"
    deadline = started + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"mlflow server did not answer {url}/health within 60 s "
                        f"(exit code {proc.poll()}):\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    out = tmp_path / "out"
    (out / "plots").mkdir(parents=True)
    (out / "report.json").write_text('{"ok": true}')
    (out / "plots" / "history.png").write_bytes(b"\x89PNG")
    before = mlflow.get_tracking_uri()
    run_id = log_search(grid, url, "over-http", artifacts=[out / "report.json", out / "plots"])
    _assert_fluent_state_unchanged(before)
    client = MlflowClient(url)
    parent = client.get_run(run_id)
    assert parent.info.status == "FINISHED" and parent.data.params["best_C"] == "1.0"
    assert parent.data.metrics == {"best_cv_score": grid.best_score_}
    assert {a.path for a in client.list_artifacts(run_id)} == {
        "cv_results.csv", "best_model", "report.json", "plots"}
    assert [a.path for a in client.list_artifacts(run_id, "plots")] == ["plots/history.png"]
    kids = _children(client, parent)
    assert [k.data.params for k in kids] == [{"C": "-1.0"}, {"C": "0.1"}, {"C": "1.0"}]
    assert {k.info.status for k in kids} == {"FINISHED"}
    assert math.isnan(kids[0].data.metrics["mean_test_score"])  # NaN through the REST API too
    assert kids[2].data.metrics["mean_test_score"] == grid.cv_results_["mean_test_score"][2]
