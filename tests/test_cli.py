"""The skkeras-search command: in-process runs, one real subprocess, errors."""

import contextlib
import csv
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from _signals import SIGINT_READY, WITH_SIGINT, sigint_state
from matplotlib import image

from skkeras_search.cli import main

FAST = ["--n-iter", "2", "--cv", "2", "--epochs", "2", "-q"]


def _captured_main(argv):
    """``main(argv)`` with its stdout and stderr kept: for module-scoped runs (no capsys)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def digits_run_streams(tmp_path_factory):
    """The digits run that several tests read: its folder, exit code, stdout and stderr."""
    out = tmp_path_factory.mktemp("run")
    code, stdout, stderr = _captured_main([*FAST[:-1], "--out", str(out)])
    return code, out, stdout, stderr


@pytest.fixture(scope="module")
def digits_run(digits_run_streams):
    code, out, _, _ = digits_run_streams
    return code, out


@pytest.fixture(scope="module")
def census_run(tmp_path_factory):
    """A mixed table (UCI adult's shape) searched twice: as given, then with --drop id."""
    tmp = tmp_path_factory.mktemp("census")
    data, out = _census(tmp / "adult.csv"), tmp / "out"
    first = _captured_main([*FAST, "--data", data, "--target", "income", "--out", str(out)])
    second = _captured_main([*FAST, "--data", data, "--target", "income", "--drop", "id",
                             "--out", str(out)])
    return data, out, first, second


@pytest.fixture(scope="module")
def houses_run(tmp_path_factory):
    """A regression table, its task found automatically."""
    tmp = tmp_path_factory.mktemp("houses")
    data, out = _houses(tmp / "houses.csv"), tmp / "out"
    run = _captured_main(["--n-iter", "2", "--cv", "2", "--epochs", "30", "--data", data,
                          "--target", "price", "--out", str(out)])
    return data, out, run


# What a user does in a fresh process with each saved model: load it, predict the held-out rows.
_RELOAD = """
import csv, json, sys, traceback, warnings
import numpy as np, pandas as pd
from skkeras_search.persistence import load_model


def digits(out, data):
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    rows = list(csv.DictReader(open(out + "/test_predictions.csv")))
    idx = np.array([int(r["index"]) for r in rows])
    model = load_model(out + "/best_model")
    pred = model.predict(X[idx])
    return [int(np.sum(pred == np.array([int(r["y_pred"]) for r in rows]))), len(rows)]


def census(out, data):  # plain pandas, columns shuffled, the label left in
    expected = pd.read_csv(out + "/test_predictions.csv")
    rows = pd.read_csv(data).iloc[expected["index"]]
    rows = rows[list(rows.columns[::-1])]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pred = load_model(out + "/best_model").predict(rows)
    return [int((pred == expected["y_pred"].to_numpy()).sum()), len(expected),
            sorted({str(w.message)[:40] for w in caught if "not trained on" in str(w.message)})]


def houses(out, data):
    expected = pd.read_csv(out + "/test_predictions.csv")
    rows = pd.read_csv(data).iloc[expected["index"]].drop(columns="price")
    model = load_model(out + "/best_model")
    return [bool(np.array_equal(model.predict(rows), expected["y_pred"].to_numpy())),
            str(model.classes_)]


results = {}
for name, out, data in json.loads(sys.argv[1]):
    try:
        results[name] = {"result": globals()[name](out, data)}
    except Exception:
        results[name] = {"error": traceback.format_exc()}
print(json.dumps(results))
"""


def _reload(runs):
    """The fresh process reloading the saved models of ``runs``: its JSON results."""
    result = subprocess.run([sys.executable, "-c", _RELOAD, json.dumps(runs)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _script():
    return [os.path.join(os.path.dirname(sys.executable), "skkeras-search")]


def _finished(proc):
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _console_runs(tmp):
    """The console script's three processes, side by side (each its own --out, or none)."""
    def start(*argv):
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    procs = [start(*_script(), "--help"),
             start(*_script(), "--n-iter", "0", "--out", str(tmp / "bad")),
             start(sys.executable, "-m", "skkeras_search", *FAST, "--out", str(tmp / "ok"))]
    return [_finished(proc) for proc in procs]


def _interrupted_run(tmp):
    """A long command, sent SIGINT after its third finished fit: (returncode, stderr, state).

    ``state`` is the command's SIGINT state just before the signal (see ``_signals.sigint_state``);
    a command not ready to catch it is killed instead. The run is far longer than any lag of
    this reader (a thread of the loaded test process may read the third progress line long
    after it was written), so the signal always finds it searching."""
    proc = subprocess.Popen(
        [sys.executable, "-c", WITH_SIGINT, *_script(), "--n-iter", "300", "--cv", "2",
         "--epochs", "30", "--out", str(tmp)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.time() + 120
    for line in proc.stderr:  # wait for the third finished fit
        if line.startswith("[3/600]") or time.time() > deadline:
            break
    state = sigint_state(proc.pid)
    proc.send_signal(signal.SIGINT if state in (None, SIGINT_READY) else signal.SIGKILL)
    _, err = proc.communicate(timeout=300)  # unloaded it exits in 0.2 s; a loaded CI took > 60 s
    return proc.returncode, err, state


# Tests whose child processes start with the module and run beside the in-process tests
# (they read nothing the other tests write); a child starts only if its test is selected.
_READERS = {"console": {"test_console_script_subprocess"},
            "ctrl-c": {"test_ctrl_c_exits_130_and_keeps_finished_fits"},
            "reload": {"test_saved_model_reloads_in_fresh_process",
                       "test_mixed_table_end_to_end_and_reload_in_fresh_process",
                       "test_regression_end_to_end_auto_task_and_fresh_process_reload"}}


@pytest.fixture(scope="module", autouse=True)
def background(request, tmp_path_factory):
    """``{name: future}`` of the selected children of ``_READERS``, started before the first
    test: the two command-line runs at once, the reload once its three runs are done here."""
    selected = {getattr(item, "originalname", None) for item in request.session.items
                if item.path == request.node.path}
    jobs = {}
    with ThreadPoolExecutor(3) as pool:
        if selected & _READERS["console"]:
            jobs["console"] = pool.submit(_console_runs, tmp_path_factory.mktemp("console"))
        if selected & _READERS["ctrl-c"]:
            out = tmp_path_factory.mktemp("ctrl-c")
            jobs["ctrl-c"] = pool.submit(lambda: (*_interrupted_run(out), out))
        if selected & _READERS["reload"]:  # the runs train here, beside the children above
            digits, census, houses = (request.getfixturevalue(name) for name in
                                      ("digits_run", "census_run", "houses_run"))
            jobs["reload"] = pool.submit(_reload, [
                ("digits", str(digits[1]), None), ("census", str(census[1]), census[0]),
                ("houses", str(houses[1]), houses[0])])
        yield jobs


@pytest.fixture(scope="module")
def reloaded(background):
    """One fresh process reloads the three saved models; ``reloaded(name)`` is its result."""
    def get(name):
        results = background["reload"].result(timeout=600)
        assert "error" not in results[name], results[name]["error"]
        return results[name]["result"]

    return get


def _copy_of(run, path):
    """A finished run's folder copied to ``path``, for tests that continue from one."""
    shutil.copytree(run, path, dirs_exist_ok=True)
    return str(path)


def _scores(path):
    with open(path) as fh:
        return [row["mean_test_score"] for row in csv.DictReader(fh)]


def test_run_writes_every_file(digits_run):
    code, out = digits_run
    assert code == 0
    names = set(os.listdir(out))
    assert {"cv_results.csv", "report.json", "score_vs_learning_rate.png",
            "score_vs_hidden_units.png", "best_loss_curve.png", "best_model",
            "test_predictions.csv", "progress.jsonl"} <= names
    assert set(os.listdir(out / "best_model")) == {"pipeline.skops", "model.keras", "metadata.json"}
    for png in ("score_vs_learning_rate.png", "score_vs_hidden_units.png", "best_loss_curve.png"):
        pixels = image.imread(out / png)
        assert pixels.shape[0] > 100 and pixels.shape[1] > 100
        assert pixels.std() > 0.01  # not a blank image


def test_report_json_fields(digits_run):
    _, out = digits_run
    report = json.loads((out / "report.json").read_text())
    assert report["status"] == "finished"
    assert report["command"][:3] == ["skkeras-search", "--n-iter", "2"]
    fingerprint = report["data"].pop("fingerprint")  # what --warm-start-from compares
    assert re.fullmatch("[0-9a-f]{40}", fingerprint)
    assert report["data"] == {"name": "digits", "n_samples": 1797, "n_features": 64,
                              "task": "classification", "n_classes": 10, "n_train": 1347,
                              "n_test": 450}
    assert set(report["best_params"]) == {"hidden_units", "learning_rate"}
    assert 0 <= report["test_score"] <= 1 and 0 <= report["best_cv_score"] <= 1
    assert report["random_state"] == 0
    assert {"tensorflow", "keras", "scikit-learn"} <= set(report["versions"])
    assert report["search"]["space"]["hidden_units"] == "IntRange(16, 496, step=32)"
    assert re.fullmatch("[0-9a-f]{64}", report["search"]["cv_splits_digest"])  # the folds used
    with open(out / "cv_results.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 and "split1_test_score" in rows[0]


def test_stdout_summary_and_stderr_progress(digits_run_streams):
    code, _, out, err = digits_run_streams
    assert code == 0
    assert "rank" in out and "Best parameters: hidden_units=" in out
    assert "Held-out test accuracy of the refit best model:" in out
    assert "[4/4]" in err and "ETA" in err and "best" in err
    assert "[4/4]" not in out  # progress never reaches the report stream


def test_same_random_state_same_scores(digits_run, tmp_path):
    _, first = digits_run
    assert main([*FAST, "--out", str(tmp_path)]) == 0
    assert _scores(first / "cv_results.csv") == _scores(tmp_path / "cv_results.csv")


def test_csv_and_npz_data(tmp_path, digits):
    X, y = digits
    header = ",".join([f"p{i}" for i in range(64)] + ["digit"])
    lines = [header] + [",".join(map(str, (X[i] * 16).astype(int))) + f",{y[i]}"
                        for i in range(300)]
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    assert main([*FAST, "--data", str(tmp_path / "d.csv"), "--target", "digit",
                 "--out", str(tmp_path / "csv")]) == 0
    meta = json.loads((tmp_path / "csv" / "best_model" / "metadata.json").read_text())
    assert meta["preprocessing"]["kind"] == "table" and meta["preprocessing"]["n_features_out"] == 64
    assert meta["feature_names"] == [f"p{i}" for i in range(64)]
    np.savez(tmp_path / "d.npz", X=X[:300], y=y[:300])
    assert main([*FAST, "--data", str(tmp_path / "d.npz"), "--out", str(tmp_path / "npz")]) == 0


def test_mnist_idx_folder(mnist_dir, tmp_path, capsys):
    assert main([*FAST, "--data", mnist_dir, "--test-size", "0.9", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["data"]["n_features"] == 784 and report["data"]["n_samples"] == 10000


def _space(tmp_path, spec):
    path = tmp_path / "space.json"
    path.write_text(json.dumps(spec))
    return str(path)


def _bad_csv(tmp_path, text):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    "make_args, status, message",
    [
        (lambda p: ["--data", str(p / "missing.csv"), "--target", "y"], 2, "no such file"),
        (lambda p: ["--data", _bad_csv(p, "a,y\n1,0\n2,1\n"), "--target", "label"], 2,
         "--target 'label' is not a column"),
        (lambda p: ["--data", _bad_csv(p, "a,y\n1,0\n2,\n3,1\n"), "--target", "y"], 1,
         "1 row(s) have no label in column 'y' (line 3)"),
        (lambda p: ["--data", _bad_csv(p, "a,y\n1,0\ninf,1\n"), "--target", "y"], 1,
         "line 3: column 'a' is infinite"),
        (lambda p: ["--data", _bad_csv(p, "a;y\n1;0\n2;1\n"), "--target", "y", "--sep", ","], 2,
         "pass the file's delimiter with --sep"),
        (lambda p: ["--data", _bad_csv(p, "a,y\n1,0\n2,1\n"), "--target", "y", "--drop", "b"], 2,
         "--drop b names 'b', which is not a column"),
        (lambda p: ["--drop", "x"], 2, "--drop and --categorical name table columns"),
        (lambda p: ["--data", _bad_csv(p, "a,y\n1,0\n2,0\n3,0\n"), "--target", "y"], 1,
         "at least two classes"),
        (lambda p: ["--n-iter", "0"], 2, "--n-iter 0 samples no candidate"),
        (lambda p: ["--cv", "200"], 2, "--cv 200 needs at least 200 samples of each class"),
        (lambda p: ["--scoring", "acuracy"], 2, "Did you mean --scoring accuracy?"),
        (lambda p: ["--out", _bad_csv(p, "x") + "/sub"], 2, "cannot write there"),
        (lambda p: ["--random-state", "-1"], 2, "--random-state -1 is out of range"),
        (lambda p: ["--scoring", "roc_auc"], 2,
         "--scoring roc_auc cannot score this classification target"),
        (lambda p: ["--data", _bad_csv(p, "a,y\n1,0.5\n2,x\n3,1\n"), "--target", "y",
                    "--task", "regression"], 1, "--task regression needs a number in every row"),
        (lambda p: ["--test-size", "0.001"], 2, "--test-size 0.001 gives 2 test"),
        (lambda p: ["--space", _space(p, {"hidden_units": [0]})], 2,
         "The 'hidden_units' parameter of KerasMLPClassifier must be"),
        (lambda p: ["--space", _space(p, {"learning_rate": [-1.0, 0.1]})], 2,
         "The 'learning_rate' parameter"),
    ],
)
def test_bad_input_one_line_and_status(tmp_path, capsys, make_args, status, message):
    code = main([*FAST, "--out", str(tmp_path / "out" / "run"), *make_args(tmp_path)])
    err = capsys.readouterr().err
    assert code == status
    last = err.strip().splitlines()[-1]
    assert message in last and last.startswith("skkeras-search: error:")
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()  # a refused run leaves no folder behind


def test_pickled_npz_rejected(tmp_path, capsys):
    np.savez(tmp_path / "obj.npz", X=np.ones((4, 2)), y=np.array([{}, {}, 1, 2], dtype=object))
    assert main([*FAST, "--data", str(tmp_path / "obj.npz"), "--out", str(tmp_path)]) == 1
    assert "pickled" in capsys.readouterr().err


def test_debug_shows_traceback(tmp_path, capsys):
    assert main([*FAST, "--debug", "--data", str(tmp_path / "nope.npz")]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--n-iter", "many"])
    assert exc.value.code == 2


def test_console_script_subprocess(background):
    help_, bad, ok = background["console"].result(timeout=600)  # started with the module
    assert help_.returncode == 0 and "examples:" in help_.stdout
    assert bad.returncode == 2 and bad.stderr.strip().endswith("Use --n-iter 1 or more.")
    assert ok.returncode == 0, ok.stderr
    assert "Best parameters" in ok.stdout
    assert ok.stderr == "", ok.stderr  # -q: nothing, not even TensorFlow's start-up chatter


@pytest.mark.slow
def test_ctrl_c_exits_130_and_keeps_finished_fits(background):
    code, err, state, out = background["ctrl-c"].result(timeout=600)  # started with the module
    assert state in (None, SIGINT_READY), (
        f"the command could not catch SIGINT (/proc/<pid>/status, SIGINT's bits: {state}): "
        f"it was started with SIGINT ignored or blocked. Its stderr:\n{err[-2000:]}")
    assert code == 130, err
    report = json.loads((out / "report.json").read_text())
    assert report["status"] == "interrupted" and report["fits_finished"] >= 3
    assert "Traceback" not in err


# The README's main run, at its full budget (20 candidates x 3 folds x 30 epochs): the score the
# defaults reach. Every stage of that run is exercised by the short runs above.
@pytest.mark.slow
@pytest.mark.extended
def test_default_command_reaches_095_on_digits(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "-q"]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["test_score"] >= 0.95


def test_progress_with_two_worker_processes(tmp_path, capsys):
    assert main([*FAST[:-1], "--n-jobs", "2", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("[")]
    assert [line.split("]")[0] for line in lines] == ["[1/4", "[2/4", "[3/4", "[4/4"]
    with open(tmp_path / "progress.jsonl") as fh:
        pids = {json.loads(line)["pid"] for line in fh}
    assert os.getpid() not in pids  # scored in the workers, reported by the parent


def test_unwritable_cache_dir_refused_before_search(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = main([*FAST, "--out", str(tmp_path / "out"), "--cache-dir", str(blocker / "c")])
    assert code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "--cache-dir" in last and "cannot write there" in last
    assert not (tmp_path / "out").exists()


def test_every_fit_failing_says_why(tmp_path, capsys):
    space = _space(tmp_path, {"optimizer": ["sgd"], "learning_rate": [1e30], "hidden_units": [8]})
    code = main(["--space", space, "--n-iter", "1", "--cv", "2", "--epochs", "2", "-q",
                 "--out", str(tmp_path / "out")])
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 1
    assert "every fit failed; the first reason: Training diverged in epoch" in last


def test_usage_error_keeps_earlier_results(digits_run, tmp_path, capsys):
    out = tmp_path / "out"
    _copy_of(digits_run[1], out)  # an earlier run's results
    cached = sorted(out.glob("fit-cache/*/*.npz"))
    assert cached
    assert main([*FAST, "--out", str(out), "--test-size", "0.0001"]) == 2
    assert sorted(out.glob("fit-cache/*/*.npz")) == cached
    assert (out / "progress.jsonl").exists() and (out / "report.json").exists()


def test_resume_progress_counts_this_run_only(digits_run, tmp_path, capsys):
    out = _copy_of(digits_run[1], tmp_path)  # a finished run of these flags
    assert main([*FAST[:-1], "--out", out, "--resume"]) == 0
    err = capsys.readouterr().err
    counters = [line.split("]")[0] for line in err.splitlines() if line.startswith("[")]
    assert counters == ["[1/4", "[2/4", "[3/4", "[4/4"]
    with open(tmp_path / "progress.jsonl") as fh:
        assert len(fh.readlines()) == 4
    assert "the folds differ" not in err


def test_resume_on_other_folds_says_so(digits_run, tmp_path, capsys):
    out = _copy_of(digits_run[1], tmp_path)  # a finished run of these flags
    assert main([*FAST[:-1], "--out", out, "--resume", "--test-size", "0.3"]) == 0
    assert "--resume: the folds differ" in capsys.readouterr().err


def test_failure_reasons_come_from_the_records_with_equal_parameters():
    from skkeras_search._core.fit_cache import FitFailure
    from skkeras_search.cli._report import FIT_FAILED, reason

    records = [FitFailure({"learning_rate": 0.55, "hidden_units": 8}, 2, "diverged at 0.55. x"),
               FitFailure({"learning_rate": 0.5, "hidden_units": 8}, 1, "diverged at 0.5. y")]
    assert reason({"learning_rate": 0.5, "hidden_units": 8}, records).endswith("y")
    assert reason({"learning_rate": np.float64(0.55), "hidden_units": np.int64(8)},
                  records).endswith("x")  # values compared, whatever their NumPy type
    assert reason({"learning_rate": 0.55, "hidden_units": 8, "epochs": 3},
                  records).endswith("x")  # the budget is not part of a record's key
    assert reason({"learning_rate": 0.05, "hidden_units": 8}, records) == FIT_FAILED
    assert reason({"learning_rate": 0.5, "hidden_units": 16}, records) == FIT_FAILED
    weighted = [FitFailure({"class_weight": [["0", 2.0]], "hidden_units": "np.int64(8)"}, 1, "w")]
    assert reason({"class_weight": {0: 2.0}, "hidden_units": np.int64(8)}, weighted) == "w"


def _census(path, n=240, seed=0):
    """A table shaped like UCI adult: an id, numbers, text, '?' cells, ', ' separators."""
    rng = np.random.RandomState(seed)
    lines = ["id, age, workclass, education, hours-per-week, sex, capital-gain, income"]
    for i in range(n):
        age, hours = rng.randint(17, 80), rng.randint(10, 70)
        education = rng.choice(["HS-grad", "Bachelors", "Masters", "Some-college"])
        sex = rng.choice(["Male", "Female"])
        score = (age - 40) / 10 + (hours - 40) / 10 + 1.5 * (education in ("Bachelors", "Masters"))
        label = ">50K" if score + rng.randn() > 1 else "<=50K"
        workclass = rng.choice(["Private", "Self-emp", "Gov", "?"], p=[0.6, 0.2, 0.15, 0.05])
        age_text = "?" if rng.rand() < 0.05 else str(age)
        gain = rng.choice([0, 0, 0, rng.randint(1, 20000)])
        lines.append(f"{5000 + i}, {age_text}, {workclass}, {education}, {hours}, {sex}, {gain}, "
                     f"{label}")
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_mixed_table_end_to_end_and_reload_in_fresh_process(census_run, reloaded):
    _, out, (code, _, err), (code_dropped, summary, _) = census_run
    assert code == 0
    assert "warning: column 'id' has a different value in every row" in err
    assert "--drop id" in err
    assert code_dropped == 0
    assert "Preprocessing: 6 columns -> " in summary and "dropped: id (--drop)" in summary
    report = json.loads((out / "report.json").read_text())
    pre = report["preprocessing"]
    assert pre["numeric"] == ["age", "hours-per-week", "capital-gain"]
    assert set(pre["categorical"]) == {"workclass", "education", "sex"}
    assert pre["imputed"]["age"] > 0 and pre["imputed"]["workclass"] > 0
    assert pre["missing_indicators"] == ["age"] and pre["dropped"] == {"id": "--drop"}
    assert pre["n_features_out"] == 3 + 1 + pre["categorical"]["workclass"] + 4 + 2
    # A fresh process, as a user would: plain pandas, columns shuffled, the label left in.
    same, total, extra = reloaded("census")
    assert total == 60 and same == total
    assert extra == ["X has column(s) ['income', 'id'] that th"]  # names stripped like ours


def test_drop_missing_target_is_said_in_the_summary(tmp_path, capsys):
    path = tmp_path / "t.csv"
    rng = np.random.RandomState(0)
    rows = [f"{a:.3f},{'' if i % 9 == 0 else int(a > 0)}" for i, a in enumerate(rng.randn(80))]
    path.write_text("x,label\n" + "\n".join(rows) + "\n")
    assert main([*FAST, "--data", str(path), "--target", "label", "--out", str(tmp_path / "o")]) == 1
    assert "--drop-missing-target" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    assert main([*FAST, "--data", str(path), "--target", "label", "--drop-missing-target",
                 "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "Data: left out 9 row(s) with no label" in out
    assert json.loads((tmp_path / "o" / "report.json").read_text())["data"]["n_samples"] == 71


@pytest.mark.parametrize("strategy", ["grid", "halving", "hyperband", "tpe", "bohb"])
def test_every_strategy_end_to_end(tmp_path, capsys, strategy):
    from skkeras_search import paper_space
    from skkeras_search.cli._plan import expected_fits, grid_for

    out = tmp_path / strategy
    args = ["--strategy", strategy, "--n-iter", "4", "--cv", "2", "--epochs", "5",
            "--out", str(out)]
    assert main(args) == 0
    captured = capsys.readouterr()
    report = json.loads((out / "report.json").read_text())
    space = grid_for(4) if strategy == "grid" else paper_space()
    total = expected_fits(strategy, 4, 2, 5, space)
    assert f"[{total}/{total}]" in captured.err  # the progress total is right
    assert report["fits"]["fits"] == total
    assert report["refit_epochs"] == 5  # the refit trains the full budget (5, not a power of 3)
    with open(out / "cv_results.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) * 2 == total  # every (candidate, budget) row is kept
    if strategy in ("halving", "hyperband", "bohb"):
        assert {int(r["n_resources"]) for r in rows} > {5}  # lower budgets were raced
        assert all(row["params"]["epochs"] == 5 for row in report["top"])  # table: full budget
        assert "Candidates at the full budget of 5 epochs" in captured.out
        assert report["fits"]["training_epochs"] < 5 * total + 5  # continuation saved epochs
    assert (out / "search_history.png").exists()
    assert f"{strategy} search" in captured.out.splitlines()[0]


def test_plot_titles_name_the_strategy_and_budgets(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from skkeras_search.cli import _plots

    results = {"param_learning_rate": [0.01, 0.1, 0.01], "param_hidden_units": [16, 48, 16],
               "mean_test_score": [0.5, 0.6, 0.7], "std_test_score": [0.0, 0.0, 0.0],
               "n_resources": [1, 1, 3], "n_epochs_trained": [1, 1, 2]}
    titles = []
    original = plt.Axes.set_title
    try:
        plt.Axes.set_title = lambda ax, text, *a, **k: (titles.append(text),
                                                       original(ax, text, *a, **k))[1]
        _plots.plot_search(results, tmp_path / "a.png", tmp_path / "b.png", "accuracy",
                           "hyperband", 3)
        spent, best = _plots.plot_history(results, tmp_path / "c.png", "accuracy", "hyperband",
                                          3, n_splits=2)
    finally:
        plt.Axes.set_title = original
    assert titles == ["Hyperband: CV score against learning rate",
                      "Hyperband: CV score against hidden units", "Hyperband: search history"]
    assert spent.tolist() == [2, 4, 8]  # continuation: 2 extra epochs x 2 folds
    assert best[:2].tolist() == [-np.inf, -np.inf] and best[2] == 0.7  # full budget only


def test_tensorboard_hparams_runs(tmp_path, capsys):
    from tensorboard.backend.event_processing import event_accumulator

    out = tmp_path / "tb"
    assert main([*FAST, "--strategy", "hyperband", "--epochs", "3", "--tensorboard",
                 "--out", str(out)]) == 0
    runs = sorted((out / "tensorboard").glob("run-*"))
    with open(out / "cv_results.csv") as fh:
        assert len(runs) == len(list(csv.DictReader(fh)))
    acc = event_accumulator.EventAccumulator(str(runs[-1]))
    acc.Reload()
    assert {"_hparams_/session_start_info", "cv_accuracy", "fit_time_s"} <= set(acc.Tags()["tensors"])
    assert capsys.readouterr().err == ""  # -q, and TensorBoard's import stays quiet


def test_grid_strategy_needs_lists_in_space(tmp_path, capsys):
    space = _space(tmp_path, {"hidden_units": [8, 16], "learning_rate": {"log_uniform": [1e-3, 1e-1]}})
    code = main([*FAST, "--strategy", "grid", "--space", space, "--out", str(tmp_path / "o")])
    assert code == 2
    assert "--strategy grid needs a list of values" in capsys.readouterr().err


@pytest.mark.parametrize("flags, message", [
    (["--sep", ",,"], "--sep ',,' is not one character"),
    (["--decimal", ",,"], "--decimal ',,' is not one character"),
])
def test_bad_table_flags_are_usage_errors(tmp_path, capsys, flags, message):
    data = _bad_csv(tmp_path, "a,y\n1,0\n2,1\n")
    code = main([*FAST, "--data", data, "--target", "y", *flags, "--out", str(tmp_path / "o")])
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_sep_backslash_t_means_tab(tmp_path, capsys):
    path = tmp_path / "t.txt"
    rng = np.random.RandomState(0)
    path.write_text("x\tlabel\n" + "".join(f"{v:.3f}\t{int(v > 0)}\n" for v in rng.randn(40)))
    assert main([*FAST, "--data", str(path), "--target", "label", "--sep", "\\t",
                 "--out", str(tmp_path / "o")]) == 0


def test_fractional_labels_are_classes(tmp_path, capsys):
    path = tmp_path / "rating.csv"
    rng = np.random.RandomState(0)
    path.write_text("x,rating\n" + "".join(f"{v:.3f},{['3.5', '4.0', '4.5'][i % 3]}\n"
                                           for i, v in enumerate(rng.randn(60))))
    assert main([*FAST, "--data", str(path), "--target", "rating", "--out", str(tmp_path)]) == 0
    meta = json.loads((tmp_path / "best_model" / "metadata.json").read_text())
    assert meta["classes"] == ["3.5", "4", "4.5"]


def _houses(path, n=160):
    rng = np.random.RandomState(0)
    lines = ["size,rooms,district,price"]
    for _ in range(n):
        size, rooms = rng.uniform(30, 150), rng.randint(1, 6)
        district = rng.choice(["north", "south", "east"])
        price = (2000 * size + 15000 * rooms + {"north": 50000, "south": 0, "east": 20000}[district]
                 + rng.normal(0, 10000))
        lines.append(f"{size:.1f},{rooms},{district},{price:.0f}")
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_regression_end_to_end_auto_task_and_fresh_process_reload(houses_run, reloaded):
    _, out, (code, stdout, stderr) = houses_run
    assert code == 0
    assert "regression target (auto: 160 distinct numeric values" in stderr
    assert "Held-out test r2 of the refit best model:" in stdout
    report = json.loads((out / "report.json").read_text())
    assert report["data"]["task"] == "regression" and report["search"]["scoring"] == "r2"
    assert report["test_score"] > 0.5 and report["fits"]["loaded_from_cache"] == 0
    # a table's defaults (issue 20): one branch of the tabular space, at asha's full budget
    assert report["search"]["strategy"] == "asha" and report["search"]["space_name"] == "tabular"
    assert {"n_layers", "hidden_units", "learning_rate", "batch_size",
            "preprocess__numeric__scale__method", "epochs"} <= set(report["best_params"])
    assert (out / "predicted_vs_true.png").exists()
    assert reloaded("houses") == [True, "None"]


# (placed after the runs above, so that their shared fresh process has finished meanwhile)
def test_saved_model_reloads_in_fresh_process(reloaded):
    same, total = reloaded("digits")
    assert total == 450 and same == total


def test_task_classification_overrides_auto(tmp_path, capsys):
    path = tmp_path / "codes.csv"
    rng = np.random.RandomState(0)
    rows = [f"{v:.3f},{i % 25}" for i, v in enumerate(rng.randn(300))]  # 25 integer codes
    path.write_text("x,code\n" + "\n".join(rows) + "\n")
    args = [*FAST, "--data", str(path), "--target", "code", "--test-size", "0.5"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert json.loads((tmp_path / "a" / "report.json").read_text())["data"]["task"] == "regression"
    assert main([*args, "--task", "classification", "--out", str(tmp_path / "b")]) == 0
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    assert report["data"]["task"] == "classification" and report["data"]["n_classes"] == 25


def test_reused_out_folder_keeps_no_stale_plots_or_tensorboard_runs(tmp_path, capsys):
    out = tmp_path / "out"
    data = _houses(tmp_path / "houses.csv", n=120)
    assert main([*FAST, "--data", data, "--target", "price", "--tensorboard",
                 "--out", str(out)]) == 0
    assert (out / "predicted_vs_true.png").exists()
    (out / "notes.txt").write_text("mine")  # the user's own file stays
    assert main([*FAST, "--strategy", "halving", "--epochs", "3", "--tensorboard",
                 "--out", str(out)]) == 0
    assert not (out / "predicted_vs_true.png").exists() and (out / "notes.txt").exists()
    with open(out / "cv_results.csv") as fh:
        assert len(list((out / "tensorboard").glob("run-*"))) == len(list(csv.DictReader(fh)))


@pytest.mark.parametrize("strategy", ["random", "halving", "hyperband", "bohb"])
def test_small_list_space_caps_the_plan_and_warns(tmp_path, capsys, strategy):
    space = _space(tmp_path, {"hidden_units": [16], "learning_rate": [0.01, 0.02]})
    code = main(["--space", space, "--strategy", strategy, "--n-iter", "4", "--cv", "2",
                 "--epochs", "9", "--out", str(tmp_path / "o")])
    assert code == 0
    err = capsys.readouterr().err
    assert "warning: --space has only 2 points" in err
    counters = [line.split("]")[0] for line in err.splitlines() if line.startswith("[")]
    total = counters[-1].split("/")[1]
    assert counters[-1] == f"[{total}/{total}"  # the progress total is what ran


def test_a_best_below_the_full_budget_is_said_on_stderr_stdout_and_in_the_report(tmp_path,
                                                                                 capsys):
    # SGD with learning rates of 150-300 scores after 1 epoch and diverges by the third
    import pandas as pd
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    table = pd.DataFrame(X[:300], columns=[f"p{i}" for i in range(64)]).assign(label=y[:300])
    table.to_csv(tmp_path / "digits.csv", index=False)
    space = _space(tmp_path, {"learning_rate": [150.0, 200.0, 300.0], "optimizer": "sgd",
                              "hidden_units": 8})
    assert main(["--data", str(tmp_path / "digits.csv"), "--target", "label", "--space", space,
                 "--strategy", "hyperband", "--epochs", "3", "--cv", "2",
                 "--out", str(tmp_path / "o")]) == 0
    captured = capsys.readouterr()
    assert "warning: No candidate succeeded at the full budget (max_epochs=3)" in captured.err
    assert "Candidates at 1 epochs: none succeeded at the full budget of 3 epochs" in captured.out
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["refit_epochs"] == 1 and report["best_params"]["epochs"] == 1
    assert any("No candidate succeeded" in w for w in report["search_warnings"])
    assert all(row["params"]["epochs"] == 1 for row in report["top"])


@pytest.mark.parametrize("points, n_iter, epochs, warned", [
    ([0.01, 0.02, 0.03], 20, 3, False),  # hyperband ignores --n-iter: brackets of 3 and 2
    ([0.01, 0.02, 0.03, 0.04], 2, 9, True),  # its first bracket starts 9 candidates
])
def test_small_space_warning_of_hyperband_follows_its_brackets(tmp_path, capsys, points, n_iter,
                                                               epochs, warned):
    space = _space(tmp_path, {"hidden_units": [16], "learning_rate": points})
    assert main(["--space", space, "--strategy", "hyperband", "--n-iter", str(n_iter),
                 "--cv", "2", "--epochs", str(epochs), "--out", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err
    assert ("--space has only" in err) == warned
    if warned:
        assert "largest bracket starts 9 candidates" in err


def test_regression_space_searches_the_regressors_loss(tmp_path, capsys):
    data, out = _houses(tmp_path / "houses.csv", n=120), tmp_path / "out"
    space = _space(tmp_path, {"loss": ["squared_error", "huber"], "hidden_units": [16]})
    assert main([*FAST, "--data", data, "--target", "price", "--task", "regression",
                 "--space", space, "--out", str(out)]) == 0
    with open(out / "cv_results.csv") as fh:
        assert {row["param_loss"] for row in csv.DictReader(fh)} == {"squared_error", "huber"}
    report = json.loads((out / "report.json").read_text())
    assert report["data"]["task"] == "regression" and "loss" in report["best_params"]


@pytest.mark.parametrize("task, spec, message", [
    ("regression", {"class_weight": ["balanced"]},
     "'class_weight' is not a parameter of KerasMLPRegressor. Only KerasMLPClassifier has it"),
    ("classification", {"loss": ["huber"]},
     "'loss' is not a parameter of KerasMLPClassifier. Only KerasMLPRegressor has it"),
    ("regression", {"hidden_unit": [16]},
     "'hidden_unit' is not a parameter of KerasMLPRegressor. Did you mean 'hidden_units'?"),
    ("regression", {"loss": ["absolute_error"]}, "The 'loss' parameter of KerasMLPRegressor"),
])
def test_space_is_checked_against_the_estimator_of_the_task(tmp_path, capsys, task, spec,
                                                            message):
    data = (["--data", _houses(tmp_path / "houses.csv", n=120), "--target", "price"]
            if task == "regression" else [])  # else digits
    code = main([*FAST, *data, "--task", task, "--space", _space(tmp_path, spec),
                 "--out", str(tmp_path / "out")])
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and last.startswith("skkeras-search: error: --space ")
    assert message in last
    assert not (tmp_path / "out").exists()  # refused before any fit
