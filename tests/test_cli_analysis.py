"""The command's analysis outputs: report.html, what the search learned in report.json,
conditional spaces (--space with a JSON list), --warm-start-from and --mlflow-uri.

Runs are in-process on 300 digits, a few candidates and epochs. MLflow is
read back with ``MlflowClient`` from a real SQLite store.
"""

import base64
import contextlib
import csv
import io
import json
import re

import numpy as np
import pytest
from sklearn.datasets import load_digits

from skkeras_search.cli import main

SMALL = ["--cv", "2", "--epochs", "3", "-q"]
STRATEGIES = ["random", "grid", "halving", "hyperband", "tpe", "bohb", "asha"]


def _run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def digits_npz(tmp_path_factory):
    X, y = load_digits(return_X_y=True)
    path = tmp_path_factory.mktemp("data") / "digits300.npz"
    np.savez(path, X=X[:300], y=y[:300])
    return path


@pytest.fixture(scope="module")
def branches(tmp_path_factory):
    """A conditional space: one hidden layer with a width, or two layers with dropout."""
    path = tmp_path_factory.mktemp("space") / "branches.json"
    path.write_text(json.dumps([
        {"n_layers": [1], "hidden_units": [16, 48],
         "learning_rate": {"log_uniform": [1e-3, 1e-1]}},
        {"n_layers": [2], "dropout": [0.0, 0.2], "learning_rate": {"log_uniform": [1e-3, 1e-1]}},
    ]))
    return path


@pytest.fixture(scope="module")
def tpe_run(tmp_path_factory, digits_npz, branches):
    """A TPE run over the conditional space: report, HTML and cv_results read by several tests."""
    out = tmp_path_factory.mktemp("tpe")
    run = _run(["--data", digits_npz, "--strategy", "tpe", "--n-iter", "10", "--space", branches,
                *SMALL, "--cv", "3", "--out", out])  # the t-test needs 3 folds
    return out, run


def _rows(out):
    with open(out / "cv_results.csv") as fh:
        return list(csv.DictReader(fh))


def test_conditional_space_rows_hold_one_branch(tpe_run):
    out, (code, stdout, stderr) = tpe_run
    assert code == 0, stderr
    branch_keys = [{"n_layers", "hidden_units", "learning_rate"},
                   {"n_layers", "dropout", "learning_rate"}]
    rows = _rows(out)
    assert len(rows) == 10
    for row in rows:
        params = json.loads(row["params"])
        assert set(params) in branch_keys
        assert (params["n_layers"] == 1) == ("hidden_units" in params)
        masked = "param_dropout" if "hidden_units" in params else "param_hidden_units"
        assert row[masked] == ""  # scikit-learn's mask, written empty


def test_report_json_says_what_the_search_learned(tpe_run):
    out, _ = tpe_run
    report = json.loads((out / "report.json").read_text())
    ties = report["ties"]
    assert "Nadeau and Bengio" in ties["method"]
    assert ties["rows"][0]["tied"] and ties["rows"][0]["p_value"] == 1
    assert [r.get("tied") for r in report["top"]][0] is True
    importance = report["importance"]
    assert "values" in importance or "error" in importance
    if "values" in importance:
        assert abs(sum(importance["values"].values()) - 1) < 1e-6
    assert report["budget_correlation"] is None  # one budget
    assert report["files"]["report_html"] == "report.html"


def test_summary_marks_ties_and_names_the_test(tpe_run):
    _, (_, stdout, _) = tpe_run
    header = next(line for line in stdout.splitlines() if line.startswith("rank"))
    assert "tied" in header.split()
    assert re.search(r"Tied with the best \('='\): \d+ other candidate", stdout)
    assert "Nadeau and Bengio 2003" in stdout


def test_html_report_is_one_self_contained_file(tpe_run):
    out, _ = tpe_run
    page = (out / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)=["'](?!data:)""", page)  # nothing fetched from elsewhere
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    report = json.loads((out / "report.json").read_text())
    pngs = {f for f in report["files"].values() if f.endswith(".png")}
    assert len(images) == len(pngs) >= 3
    assert all(base64.b64decode(img)[:8] == b"\x89PNG\r\n\x1a\n" for img in images)
    assert "Best candidates" in page and "Hyperparameter importance" in page


def test_html_report_escapes_what_the_data_says(tmp_path):
    from skkeras_search.cli._html import html_report

    report = {
        "command": ["skkeras-search", "--data", "<x>.csv"], "versions": {"numpy": "2"},
        "data": {"name": "<script>alert(1)</script>", "n_samples": 10, "n_features": 2,
                 "task": "classification", "n_train": 8, "n_test": 2},
        "search": {"strategy": "random", "cv": 2, "epochs": 3, "scoring": "accuracy"},
        "n_candidates": 1, "n_failed_candidates": 0, "best_params": {"optimizer": "<b>"},
        "best_cv_score": 0.5, "test_score": 0.5, "elapsed_s": 1.0,
        "top": [{"rank": 1, "mean_test_score": 0.5, "std_test_score": 0.0, "mean_fit_time": 0.1,
                 "params": {"optimizer": "<b>"}}],
        "failed_candidates": [], "files": {"cv_results": "cv_results.csv"},
    }
    page = html_report(report, tmp_path)
    assert "<script>" not in page and "&lt;script&gt;" in page and "<b>" not in page


def test_multi_fidelity_report_has_the_budget_correlation(tmp_path, digits_npz):
    code, stdout, stderr = _run(["--data", digits_npz, "--strategy", "hyperband", "--cv", "2",
                                 "--epochs", "9", "-q", "--out", tmp_path])
    assert code == 0, stderr
    report = json.loads((tmp_path / "report.json").read_text())
    corr = report["budget_correlation"]
    assert corr["method"].startswith("Spearman")
    assert [(p["from"], p["to"]) for p in corr["overall"]] == [(1, 3), (3, 9)]
    assert set(corr["per_bracket"]) == {"0", "1", "2"}
    assert corr["per_bracket"]["2"] == []  # the last bracket starts at the full budget
    assert report["files"]["budget_correlation"] == "budget_correlation.png"
    assert (tmp_path / "budget_correlation.png").stat().st_size > 1000
    assert "Budget rank correlation (Spearman" in stdout
    assert "Ties with the best not tested: " in stdout and "Use --cv 3 or more" in stdout
    assert "needs at least 3" in report["ties"]["error"]


@pytest.mark.parametrize("argv, message", [
    (["--warm-start-from", "{prev}", "--strategy", "random"], "--strategy random has none"),
    (["--warm-start-from", "{empty}", "--strategy", "tpe"], "no cv_results.csv there"),
    (["--warm-start-from", "{out}", "--strategy", "tpe"], "is also --out"),
    (["--mlflow-experiment", "x"], "--mlflow-uri, which was not given"),
    (["--mlflow-uri", "http://127.0.0.1:9"], "no server answers at 127.0.0.1:9"),
])
def test_bad_flags_are_refused_before_any_fit(tmp_path, capsys, argv, message):
    (tmp_path / "prev").mkdir()
    (tmp_path / "prev" / "cv_results.csv").write_text("params,mean_test_score\n")
    (tmp_path / "empty").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "cv_results.csv").write_text("params,mean_test_score\n")
    argv = [a.format(prev=tmp_path / "prev", empty=tmp_path / "empty", out=tmp_path / "out")
            for a in argv]
    assert main([*argv, "--out", str(tmp_path / "out"), "-q"]) == 2
    assert message in capsys.readouterr().err
    assert (tmp_path / "out" / "cv_results.csv").read_text() == "params,mean_test_score\n"


def test_warm_start_from_an_earlier_run(tmp_path, digits_npz, branches, tpe_run):
    first, _ = tpe_run
    code, stdout, stderr = _run(["--data", digits_npz, "--strategy", "tpe", "--n-iter", "4",
                                 "--space", branches, *SMALL, "--warm-start-from", first,
                                 "--out", tmp_path])
    assert code == 0, stderr
    assert "warning" not in stderr.lower(), stderr  # same data, same space
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["search"]["warm_start_from"] == str(first)
    assert report["data"]["fingerprint"] == json.loads((first / "report.json").read_text())[
        "data"]["fingerprint"]
    assert len(_rows(tmp_path)) == 4  # the earlier rows are the model's, not this run's rows


def _mlflow_runs(uri):
    mlflow = pytest.importorskip("mlflow")
    client = mlflow.MlflowClient(uri)
    runs = [r for e in client.search_experiments() for r in
            client.search_runs([e.experiment_id], max_results=1000)]
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    return client, parents, runs


@pytest.mark.parametrize("strategy", [  # by default one multi-fidelity run; all in extended
    "hyperband", *[pytest.param(s, marks=pytest.mark.extended) for s in STRATEGIES
                   if s != "hyperband"],
])
def test_mlflow_uri_logs_a_parent_and_one_child_per_row(tmp_path, monkeypatch, digits_npz,
                                                        strategy):
    pytest.importorskip("mlflow")
    monkeypatch.chdir(tmp_path)  # a sqlite store keeps new experiments' artifacts in ./mlruns
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    n_iter = "4"
    out = tmp_path / "out"
    code, stdout, stderr = _run(["--data", digits_npz, "--strategy", strategy, "--n-iter", n_iter,
                                 *SMALL, "--mlflow-uri", uri, "--mlflow-experiment", "cli",
                                 "--out", out])
    assert code == 0, stderr
    client, parents, runs = _mlflow_runs(uri)
    assert len(parents) == 1
    parent = parents[0]
    report = json.loads((out / "report.json").read_text())
    assert report["mlflow"]["parent_run_id"] == parent.info.run_id
    assert f"MLflow: parent run {parent.info.run_id}" in stdout
    assert parent.data.metrics["best_cv_score"] == pytest.approx(report["best_cv_score"])
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == len(_rows(out))
    logged = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"report.json", "report.html", "cv_results.csv", "best_model"} <= logged
    if strategy in ("halving", "hyperband", "bohb", "asha"):
        assert all("n_resources" in c.data.params for c in children)


def test_mlflow_failure_keeps_the_results(tmp_path, monkeypatch, digits_npz):
    pytest.importorskip("mlflow")
    monkeypatch.chdir(tmp_path)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store's folder should be")
    out = tmp_path / "out"
    code, stdout, stderr = _run(["--data", digits_npz, "--n-iter", "2", *SMALL, "--mlflow-uri",
                                 f"sqlite:///{blocker}/mlflow.db", "--out", out])
    assert code == 1
    assert "logging failed" in stderr and "are complete" in stderr
    assert "Best CV accuracy" in stdout
    assert (out / "report.json").exists() and (out / "best_model").is_dir()
