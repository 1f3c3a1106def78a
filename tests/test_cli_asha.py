"""The command's asynchronous searches: --strategy asha, --asynchronous, their report and resume.

Real runs of ``main`` on 300 of scikit-learn's digits with a few epochs. With
``--n-jobs 1`` an asynchronous search is deterministic, so these tests do not
depend on which fit ends first; the runs with two workers are in the slow lane.
"""

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from _signals import SIGINT_READY, WITH_SIGINT, sigint_state
from matplotlib import image

from skkeras_search.cli import main
from skkeras_search.cli._args import build_parser
from skkeras_search.cli._inputs import read_inputs
from skkeras_search.cli._plan import expected_fits, make_plan, rung_sizes
from skkeras_search.search import ASHASearchCV, TPESearchCV

#: The asha run of most tests: 6 candidates on rungs of 1, 3 and 9 epochs.
ASHA = ["--strategy", "asha", "--n-iter", "6", "--cv", "2", "--epochs", "9"]
#: A smaller one, for the tests that run the command twice: rungs of 1 and 3 epochs.
SMALL = ["--strategy", "asha", "--n-iter", "4", "--cv", "2", "--epochs", "3"]
ORDER = "results depend on the order fits end; deterministic with --n-jobs 1"
#: Columns of the synchronous searches that an asynchronous one does not have.
SYNCHRONOUS_COLUMNS = {"bracket", "round", "batch", "iter"}


@pytest.fixture(scope="module")
def digits_npz(tmp_path_factory, digits):
    X, y = digits
    path = tmp_path_factory.mktemp("data") / "digits300.npz"
    np.savez(path, X=X[:300], y=y[:300])
    return str(path)


@pytest.fixture(scope="module")
def asha_run(tmp_path_factory, digits_npz):
    """One asha run: (exit status, out folder, stdout, stderr)."""
    out = tmp_path_factory.mktemp("asha")
    stdout, stderr = io.StringIO(), io.StringIO()
    from contextlib import redirect_stderr, redirect_stdout

    with redirect_stdout(stdout), redirect_stderr(stderr):
        code = main(["--data", digits_npz, *ASHA, "--out", str(out)])
    return code, out, stdout.getvalue(), stderr.getvalue()


def _rows(out):
    with open(os.path.join(out, "cv_results.csv")) as fh:
        return list(csv.DictReader(fh))


def _report(out):
    with open(os.path.join(out, "report.json")) as fh:
        return json.load(fh)


def _stages(tmp_path, *flags):
    argv = [*flags, "--cv", "2", "-q", "--out", str(tmp_path)]
    inputs = read_inputs(build_parser().parse_args(argv), argv, io.StringIO())
    return inputs, make_plan(inputs)


def _scores(rows):
    """What a rerun must repeat: each row's candidate, rung, parameters and fold scores."""
    return [(r["candidate"], r["rung"], r["params"], r["split0_test_score"],
             r["split1_test_score"]) for r in rows]


def _without_times(report):
    """The report less what differs between two equal runs (times, the command, cache use)."""
    drop = {"command", "elapsed_s", "fits", "cache_bytes"}
    out = {k: v for k, v in report.items() if k not in drop}
    out["search"] = {k: v for k, v in report["search"].items() if k != "resume"}
    out["top"] = [{k: v for k, v in row.items() if k != "mean_fit_time"} for row in report["top"]]
    return out


# ------------------------------------------------------------------ the plan
def test_rung_sizes_count_successive_halving_with_at_least_one_row_per_rung():
    assert rung_sizes(6, 3) == (6, 2, 1)
    assert rung_sizes(27, 4) == (27, 9, 3, 1)
    assert rung_sizes(4, 4) == (4, 1, 1, 1)  # the end game promotes one to the top
    assert expected_fits("asha", 6, 2, 9, {"hidden_units": [16, 32, 48, 64, 80, 96]}) == 18


@pytest.mark.parametrize("flags, cls, sampler", [
    (["--strategy", "asha"], ASHASearchCV, "random"),
    (["--strategy", "asha", "--asynchronous"], ASHASearchCV, "random"),  # already asynchronous
    (["--strategy", "bohb", "--asynchronous"], ASHASearchCV, "tpe"),
    (["--strategy", "tpe", "--asynchronous"], TPESearchCV, None),
])
def test_the_plan_builds_a_seeded_resumable_asynchronous_search(tmp_path, flags, cls, sampler):
    _, plan = _stages(tmp_path, *flags, "--n-iter", "7", "--epochs", "9", "--random-state", "3")
    search = plan.search
    assert type(search) is cls and plan.asynchronous
    assert search.random_state == 3  # seeded, and ...
    assert search.estimator.get_params()["classifier__cache_dir"] == str(tmp_path / "fit-cache")
    # ... with the command's cache, where the decision log is kept for --resume
    if cls is ASHASearchCV:
        assert (search.n_candidates, search.max_epochs, search.factor, search.min_epochs,
                search.sampler) == (7, 9, 3, 1, sampler)
        assert search.resource == "classifier__epochs"
        assert plan.rungs == (1, 3, 9) and plan.rounds == ((7, 2, 1),)
        assert plan.total_fits == 2 * 10 and "about 20 fits" in plan.banner
        assert "rungs of 1, 3, 9 epochs" in plan.banner
    else:
        assert search.asynchronous is True and search.n_iter == 7
        assert plan.rungs == () and plan.total_fits == 14
    assert plan.banner.endswith(f"({'asynchronous: ' + ORDER}).")


def test_two_plans_of_one_command_key_the_same_decision_log(tmp_path):
    """A resumed run finds the first run's log only if the search's settings read the same
    (the scorer's text included: no memory address)."""
    from skkeras_search.search._decision_log import log_key

    keys = [log_key(_stages(tmp_path, *ASHA)[1].search, "folds", "data") for _ in range(2)]
    assert keys[0] == keys[1]


def test_a_small_list_space_warns_with_the_candidates_asha_can_start(tmp_path):
    space = tmp_path / "space.json"
    space.write_text(json.dumps({"hidden_units": [16, 32, 48]}))
    _, plan = _stages(tmp_path, "--space", str(space), *ASHA)
    assert plan.rounds == ((3, 1, 1),)
    assert plan.warnings == ("--space has only 3 points; asha search evaluates each at most "
                             "once per rung (--n-iter 6 asks for more). Widen the space, or use "
                             "--strategy grid to evaluate each point once.",)


# -------------------------------------------------------------- usage errors
@pytest.mark.parametrize("strategy", ["random", "grid", "halving", "hyperband"])
def test_asynchronous_with_a_synchronous_only_strategy_is_a_usage_error(tmp_path, capsys,
                                                                        strategy):
    out = tmp_path / "out"
    code = main(["--strategy", strategy, "--asynchronous", "--out", str(out)])
    assert code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last == (f"skkeras-search: error: --asynchronous does not apply to --strategy "
                    f"{strategy}: only tpe and bohb have an asynchronous mode (asha always runs "
                    "so). Drop --asynchronous, or use --strategy tpe, bohb or asha.")
    assert not out.exists()  # refused before anything is written


@pytest.mark.parametrize("flags, line", [
    (["--gpus", "1"], "--gpus 1 pins one worker process per GPU for an asynchronous search, but "
     "--strategy random runs its fits through joblib. Use --strategy asha, or --strategy tpe or "
     "bohb with --asynchronous, or drop --gpus."),
    (["--gpus", "1", "--strategy", "hyperband"], "--strategy hyperband runs its fits through"),
    (["--gpus", "3", "--strategy", "asha"], "--gpus 3 asks for more GPUs than the 2 visible "
     "(0, 1). Use --gpus 2 or fewer, or check CUDA_VISIBLE_DEVICES and nvidia-smi."),
    (["--gpus", "1", "--strategy", "asha", "--scheduler", "local"],
     "--gpus 1 does not apply with --scheduler: on Dask, workers started with --resources GPU=1 "
     "receive one fit at a time. Drop --gpus."),
    (["--gpus", "-1", "--strategy", "tpe", "--asynchronous"],
     "--gpus -1 is not a number of GPUs. Use --gpus 0 (no pinning) or more."),
])
def test_gpus_outside_a_local_asynchronous_search_is_a_usage_error(tmp_path, capsys,
                                                                    monkeypatch, flags, line):
    monkeypatch.setenv("SKKERAS_SEARCH_FAKE_GPUS", "2")  # two GPUs, as _core.devices reads them
    out = tmp_path / "out"
    assert main([*flags, "--out", str(out)]) == 2
    assert line in capsys.readouterr().err.strip().splitlines()[-1]
    assert not out.exists()


def test_gpus_set_the_workers_of_the_plan(tmp_path, monkeypatch):
    monkeypatch.setenv("SKKERAS_SEARCH_FAKE_GPUS", "2")
    _, plan = _stages(tmp_path, *ASHA, "--gpus", "2")
    assert plan.search.n_jobs == 2  # the default --n-jobs 1 does not cap the GPU workers
    assert plan.banner.endswith(" 2 worker processes, one per GPU.")
    _, plan = _stages(tmp_path, *ASHA, "--gpus", "2", "--n-jobs", "3")
    assert plan.search.n_jobs == 3 and plan.banner.endswith(" 2 worker processes, one per GPU.")


def test_help_lists_asha_and_asynchronous(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "{random,grid,halving,hyperband,tpe,bohb,asha}" in text
    assert "--asynchronous" in text and "deterministic with --n-jobs 1" in text
    assert "--gpus N" in text and "one per GPU" in text


# ---------------------------------------------------------------- end to end
def test_asha_end_to_end_says_it_is_asynchronous(asha_run):
    code, _, stdout, stderr = asha_run
    assert code == 0
    banner = stderr.splitlines()[0]
    assert "asha search: 6 candidates (rungs of 1, 3, 9 epochs), 2 folds, about 18 fits." \
        in banner
    assert ORDER in banner
    assert stdout.splitlines()[0].startswith("Objective: mean CV accuracy (2-fold), asha search "
                                             f"(asynchronous: {ORDER}), 6 candidates, 0 failed")
    progress = [line.split("]")[0] + "]" for line in stderr.splitlines() if line.startswith("[")]
    assert progress[0] == "[1/~18]"  # the total is the plan's estimate


def test_asha_report_has_its_rungs_and_rows_in_finish_order(asha_run):
    _, out, stdout, _ = asha_run
    report, rows = _report(out), _rows(out)
    assert report["search"]["strategy"] == "asha" and report["search"]["asynchronous"] is True
    assert report["search"]["rung_epochs"] == [1, 3, 9]
    rungs = report["rungs"]
    assert [r["epochs"] for r in rungs] == [1, 3, 9] and [r["rung"] for r in rungs] == [0, 1, 2]
    assert rungs[0]["rows"] == 6 and rungs[1]["rows"] >= 2 and rungs[2]["rows"] >= 1
    assert sum(r["rows"] for r in rungs) == len(rows) and report["fits"]["fits"] == 2 * len(rows)
    for rung in rungs:  # each rung's best is the best of its rows
        scores = [float(r["mean_test_score"]) for r in rows if int(r["rung"]) == rung["rung"]]
        assert rung["best_mean_test_score"] == pytest.approx(max(scores))
    assert {"candidate", "rung", "n_resources", "finish_order", "finish_time"} <= set(rows[0])
    assert not SYNCHRONOUS_COLUMNS & set(rows[0])
    assert [int(r["finish_order"]) for r in rows] == list(range(len(rows)))
    assert report["n_candidates"] == 6 == len({r["candidate"] for r in rows})
    assert all(row["params"]["epochs"] == 9 for row in report["top"])  # the full budget
    assert report["best_params"]["epochs"] == 9 and report["refit_epochs"] == 9
    assert report["fits"]["training_epochs"] < 9 * len(rows) * 2  # promotions continued
    assert "Candidates at the full budget of 9 epochs" in stdout
    assert "Rungs (rows trained to each budget, in finish order in cv_results.csv): " \
           f"1 epoch: 6, 3 epochs: {rungs[1]['rows']}, 9 epochs: {rungs[2]['rows']}" in stdout


def test_asha_plots_draw_the_rungs(asha_run):
    _, out, _, _ = asha_run
    for png in ("score_vs_learning_rate.png", "score_vs_hidden_units.png", "search_history.png"):
        pixels = image.imread(out / png)
        assert pixels.shape[0] > 100 and pixels.std() > 0.01  # drawn, not blank
    from skkeras_search.cli import _plots

    results = {k: [row[k] for row in _rows(out)]
               for k in ("mean_test_score", "n_resources", "n_epochs_trained")}
    spent, best = _plots.plot_history(results, out / "h.png", "accuracy", "asha", 9, n_splits=2)
    assert spent[-1] == sum(float(e) for e in results["n_epochs_trained"]) * 2
    full = [float(s) for s, b in zip(results["mean_test_score"], results["n_resources"])
            if b == "9"]
    assert best[-1] == pytest.approx(max(full))  # only the full budget counts
    assert _plots.title("asha", True) == "ASHA"
    assert _plots.title("tpe", True) == "Asynchronous TPE search"


def test_tpe_asynchronous_end_to_end(tmp_path, capsys, digits_npz):
    out = tmp_path / "tpe"
    assert main(["--data", digits_npz, "--strategy", "tpe", "--asynchronous", "--n-iter", "4",
                 "--cv", "2", "--epochs", "2", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "asynchronous tpe search: 4 candidates (2 epochs each), 2 folds, 8 fits." \
        in captured.err.splitlines()[0]
    assert f"tpe search (asynchronous: {ORDER})" in captured.out.splitlines()[0]
    assert "[8/8]" in captured.err  # TPE's count is exact
    report, rows = _report(out), _rows(out)
    assert report["search"]["asynchronous"] is True and "rungs" not in report
    assert report["n_candidates"] == 4 and report["fits"]["fits"] == 8 and len(rows) == 4
    assert {"finish_order", "finish_time"} <= set(rows[0])
    assert not (SYNCHRONOUS_COLUMNS | {"rung", "n_resources"}) & set(rows[0])
    assert [int(r["finish_order"]) for r in rows] == [0, 1, 2, 3]
    assert sorted(int(r["rank_test_score"]) for r in rows) == [1, 2, 3, 4]
    assert (out / "search_history.png").exists()


def test_bohb_asynchronous_is_asha_with_tpe_proposals(tmp_path, capsys, digits_npz):
    out = tmp_path / "bohb"
    assert main(["--data", digits_npz, "--strategy", "bohb", "--asynchronous", "--n-iter", "5",
                 "--cv", "2", "--epochs", "3", "-q", "--out", str(out)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert f"bohb search (asynchronous: {ORDER}), 5 candidates" in first
    report = _report(out)
    assert [r["epochs"] for r in report["rungs"]] == [1, 3] and report["rungs"][0]["rows"] == 5
    assert report["best_params"]["epochs"] == 3


# -------------------------------------------------------------------- resume
def test_resume_replays_the_search_and_trains_nothing_new(tmp_path, capsys, digits_npz):
    out = str(tmp_path / "o")
    command = ["--data", digits_npz, *SMALL, "-q", "--out", out]
    assert main(command) == 0
    first, first_rows = _report(out), _rows(out)
    logs = os.listdir(os.path.join(out, "fit-cache", "searches"))
    assert len(logs) == 1 and logs[0].endswith(".jsonl")  # the decision log, in the cache
    assert main([*command, "--resume"]) == 0
    second, second_rows = _report(out), _rows(out)
    assert second["fits"] == {"fits": first["fits"]["fits"],
                              "loaded_from_cache": first["fits"]["fits"], "training_epochs": 0,
                              "refit_epochs_trained": 0}
    assert _scores(second_rows) == _scores(first_rows)  # same rows, same finish order
    assert _without_times(second) == _without_times(first)
    assert os.listdir(os.path.join(out, "fit-cache", "searches")) == logs  # found, not rewritten
    assert second["search_warnings"] == []  # the search decided as its record says
    capsys.readouterr()


def test_a_run_without_resume_forgets_the_earlier_decisions(tmp_path, capsys, digits_npz):
    out = str(tmp_path / "o")
    command = ["--data", digits_npz, *SMALL, "-q", "--out", out]
    assert main(command) == 0
    first = _rows(out)
    folder = os.path.join(out, "fit-cache", "searches")
    (log,) = os.listdir(folder)
    path = os.path.join(folder, log)
    with open(path) as fh:
        events = [json.loads(line) for line in fh]
    events[0]["key"] = "another search's first row"  # a record this search would not repeat
    with open(path, "w") as fh:
        fh.writelines(json.dumps(e) + "\n" for e in events)
    assert main(command) == 0  # no --resume: a fresh start, the record is not replayed
    report = _report(out)
    assert report["search_warnings"] == [] and report["fits"]["loaded_from_cache"] == 0
    assert _scores(_rows(out)) == _scores(first)
    capsys.readouterr()


def _script():
    return [sys.executable, "-c", "import sys; from skkeras_search.cli import console_main; "
            "sys.exit(console_main())"]


# extended (92 s): the library's replay with two workers is tests/test_asha.py's, the command's
# resume with one worker runs above
@pytest.mark.slow
@pytest.mark.extended
def test_two_workers_resumed_repeat_the_first_runs_order(tmp_path, digits_npz):
    """With two workers the order fits end varies from run to run; a resumed run, whose
    fits all come from the cache, repeats the first run's order from its decision log."""
    out = str(tmp_path / "o")
    command = [*_script(), "--data", digits_npz, *ASHA, "--n-jobs", "2", "-q", "--out", out]
    # In child processes: an asynchronous search's workers are loky's reusable pool, and a
    # later joblib search in the same process (test_cli.py's) then fails to reuse it
    # (AttributeError: no '_temp_folder_manager'), a search-wing issue kept out of this one.
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    assert subprocess.run(command, capture_output=True, env=env).returncode == 0
    first, first_rows = _report(out), _rows(out)
    assert subprocess.run([*command, "--resume"], capture_output=True, env=env).returncode == 0
    second = _report(out)
    assert second["fits"]["training_epochs"] == 0
    assert second["fits"]["loaded_from_cache"] == first["fits"]["fits"]
    assert _scores(_rows(out)) == _scores(first_rows)
    assert _without_times(second) == _without_times(first)


# extended (46 s): an interrupted search's replay is tests/test_async_dask.py's, Ctrl-C
# then --resume is tests/test_resume.py's for the other strategies
@pytest.mark.slow
@pytest.mark.extended
def test_ctrl_c_then_resume_finishes_without_retraining_the_finished_fits(tmp_path, digits_npz):
    out = str(tmp_path / "o")
    command = ["--data", digits_npz, "--strategy", "asha", "--n-iter", "12", "--cv", "2",
               "--epochs", "9", "--out", out]
    proc = subprocess.Popen([sys.executable, "-c", WITH_SIGINT, *_script(), *command],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    deadline = time.time() + 300
    for line in proc.stderr:  # wait for the fourth finished fit
        if line.startswith("[4/") or time.time() > deadline:
            break
    state = sigint_state(proc.pid)
    proc.send_signal(signal.SIGINT if state in (None, SIGINT_READY) else signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    assert state in (None, SIGINT_READY), f"started with SIGINT ignored or blocked: {state}"
    assert proc.returncode == 130, err
    interrupted = _report(out)
    assert interrupted["status"] == "interrupted" and interrupted["fits_finished"] >= 4
    assert "rerun the same command with --resume" in err
    assert main([*command, "-q", "--resume"]) == 0
    resumed = _report(out)
    assert resumed["fits"]["loaded_from_cache"] >= interrupted["fits_finished"]
    assert resumed["search_warnings"] == []  # the record was replayed, not contradicted
    fresh = str(tmp_path / "fresh")
    assert main([*command[:-1], fresh, "-q"]) == 0  # uninterrupted: --n-jobs 1 is deterministic
    assert _scores(_rows(out)) == _scores(_rows(fresh))


# extended (40 s): the pinned workers are tests/test_devices.py's; --gpus reaching the plan
# is test_gpus_set_the_workers_of_the_plan
@pytest.mark.slow
@pytest.mark.extended
def test_gpus_run_one_pinned_worker_process_per_gpu(tmp_path, capsys, monkeypatch, digits_npz):
    """Two (fake) GPUs: the fits run in two worker processes, not here. On a machine without
    a GPU, TensorFlow in a worker started with CUDA_VISIBLE_DEVICES=0 runs on the CPU."""
    monkeypatch.setenv("SKKERAS_SEARCH_FAKE_GPUS", "2")
    out = tmp_path / "gpus"
    assert main(["--data", digits_npz, *SMALL, "--gpus", "2", "-q", "--out", str(out)]) == 0
    with open(out / "progress.jsonl") as fh:
        pids = {json.loads(line)["pid"] for line in fh}
    assert len(pids) == 2 and os.getpid() not in pids
    report = _report(out)
    assert report["search"]["gpus"] == 2 and report["rungs"][0]["rows"] == 4
