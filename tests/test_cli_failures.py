"""Failures are recognised by type and explained by the fit cache's records, never by text."""

import json
from concurrent.futures.process import BrokenProcessPool

import pytest
from joblib.externals.loky.process_executor import TerminatedWorkerError
from sklearn.model_selection import RandomizedSearchCV

from skkeras_search.cli import main

FAST = ["--n-iter", "2", "--cv", "2", "--epochs", "2", "-q"]


@pytest.mark.parametrize("error", [TerminatedWorkerError, BrokenProcessPool])
@pytest.mark.parametrize("cache, hint", [([], "--resume"), (["--no-cache"], "without --no-cache")])
def test_a_dead_worker_is_known_by_its_type(tmp_path, capsys, monkeypatch, error, cache, hint):
    def die(self, X, y=None, **params):
        raise error("a message the command does not read")

    monkeypatch.setattr(RandomizedSearchCV, "fit", die)
    assert main([*FAST, *cache, "--out", str(tmp_path)]) == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "a worker process died (killed, or out of memory) after 0 finished fits" in last
    assert hint in last


def _diverging(tmp_path):
    space = tmp_path / "space.json"
    space.write_text(json.dumps({"optimizer": ["sgd"], "learning_rate": [1e30],
                                 "hidden_units": [8]}))
    return ["--space", str(space), "--n-iter", "1", "--cv", "2", "--epochs", "2", "-q"]


def test_every_fit_failing_without_a_cache_passes_on_scikit_learns_report(tmp_path, capsys):
    assert main([*_diverging(tmp_path), "--no-cache", "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "every fit failed, and the fit cache recorded no reason" in err
    # scikit-learn's own report follows, as it was written: the error of each fit
    assert "TrainingDivergedError" in err and "Training diverged in epoch" in err
    assert err.count("--debug") == 0  # the report is the reason; no traceback hint


def test_a_failure_without_a_record_keeps_scikit_learns_words(tmp_path, capsys):
    from skkeras_search.cli._report import FIT_FAILED

    space = tmp_path / "space.json"
    space.write_text(json.dumps({"optimizer": ["sgd"], "learning_rate": [1e30, 0.01],
                                 "hidden_units": [8]}))
    out = tmp_path / "o"
    assert main(["--space", str(space), "--n-iter", "2", "--cv", "2", "--epochs", "2", "-q",
                 "--no-cache", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert [r["reason"] for r in report["failed_candidates"]] == [FIT_FAILED]
    assert report["failures"] == []  # no cache, no record
    assert any("Training diverged in epoch" in w for w in report["fit_failed_warnings"])
    assert "fit failed, reason not recorded" in capsys.readouterr().out


def test_another_value_error_is_not_every_fit_failing(tmp_path, capsys, monkeypatch):
    def bad(self, X, y=None, **params):
        raise ValueError("All the 4 fits failed.")  # the text alone decides nothing

    monkeypatch.setattr(RandomizedSearchCV, "fit", bad)
    assert main([*FAST, "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "every fit failed, and the fit cache recorded no reason" in err  # no fit was scored
    assert "the first reason" not in err  # and the cache recorded none
    assert err.strip().endswith("All the 4 fits failed.")  # scikit-learn's words, as they are


def test_failed_candidates_take_their_reason_from_the_records(tmp_path, capsys):
    space = tmp_path / "space.json"
    space.write_text(json.dumps({"hidden_units": [8], "optimizer": ["sgd"],
                                 "learning_rate": [1e-2, 1e29, 1e30]}))
    assert main(["--space", str(space), "--n-iter", "3", "--cv", "2", "--epochs", "2", "-q",
                 "--out", str(tmp_path / "o")]) == 0
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    reasons = {row["params"]["learning_rate"]: row["reason"] for row in report["failed_candidates"]}
    assert set(reasons) == {1e29, 1e30}
    for rate, reason in reasons.items():  # each its own record's message
        assert reason.startswith("Training diverged in epoch ")
        assert f"with learning_rate={rate!r}." in reason
    assert set(report["failures"]) >= set(reasons.values())


@pytest.mark.parametrize("name, flag", [("random_state", "--random-state"),
                                        ("cache_dir", "--cache-dir")])
def test_a_parameter_the_command_sets_is_refused_as_such_in_the_space(tmp_path, capsys, name,
                                                                      flag):
    space = tmp_path / "space.json"
    space.write_text(json.dumps({name: [1, 2]}))
    assert main(["--space", str(space), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert f"'{name}' is set by the command for every fit, not searched: {flag}" in err
    assert not (tmp_path / "o").exists()


def test_class_weight_keys_in_the_space_are_read_as_the_labels_they_spell(tmp_path, capsys):
    space = tmp_path / "space.json"
    space.write_text(json.dumps({"class_weight": [{"0": 3.0}, "balanced"], "hidden_units": [8]}))
    out = tmp_path / "o"
    assert main(["--space", str(space), "--n-iter", "2", "--cv", "2", "--epochs", "2", "-q",
                 "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["n_failed_candidates"] == 0  # {"0": 3.0} weighed digit 0, not a missing "0"
    space.write_text(json.dumps({"class_weight": [{"10": 2.0}]}))
    assert main(["--space", str(space), "--out", str(tmp_path / "p")]) == 2
    assert "class_weight has key '10', which is not a class of the target" in \
        capsys.readouterr().err
