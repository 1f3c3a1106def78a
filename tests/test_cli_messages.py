"""The command speaks in flags: data messages rendered through its one keyword -> flag map."""

import inspect
import re

import pytest

from skkeras_search.cli import main
from skkeras_search.cli._args import FLAGS, build_parser, in_flags
from skkeras_search.datasets import build_pipeline, load, select_features
from skkeras_search.exceptions import DataUsageError

FAST = ["--n-iter", "2", "--cv", "2", "--epochs", "2", "-q"]


def test_every_mapped_keyword_is_a_data_keyword_and_every_flag_exists():
    keywords = (set(inspect.signature(load).parameters)
                | set(inspect.signature(select_features).parameters)
                | set(inspect.signature(build_pipeline).parameters))
    options = {o for action in build_parser()._actions for o in action.option_strings}
    assert set(FLAGS) <= keywords
    assert set(FLAGS.values()) <= options


@pytest.mark.parametrize("name, value, text", [
    ("data", "dir/x.csv", "--data dir/x.csv"),  # a path as typed
    ("target", "label", "--target 'label'"),
    ("sep", ";", "--sep ';'"),
    ("task", "regression", "--task regression"),
    ("drop", ["id", "code"], "--drop id,code"),  # a list as the flag takes it
    ("drop_missing_target", True, "--drop-missing-target"),
    ("target", None, "--target"),
    ("columns", ["a"], "columns=['a']"),  # no flag sets it: the keyword form stays
])
def test_in_flags(name, value, text):
    assert in_flags(name, value) == text


def test_one_exception_two_vocabularies():
    exc = DataUsageError("{data}: no such file or folder. Check the path.", data="x.csv")
    assert str(exc) == "data='x.csv': no such file or folder. Check the path."
    assert exc.render(in_flags) == "--data x.csv: no such file or folder. Check the path."


def _table(tmp_path, text):
    path = tmp_path / "t.csv"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("make_args, status, line", [
    (lambda p: ["--data", str(p / "missing.csv")], 2,
     "--data {p}/missing.csv: no such file or folder. Check the path."),
    (lambda p: ["--data", _table(p, "a,label\n1,x\n")], 2,
     "--data {p}/t.csv is a table, so it needs a label column: pass its name, e.g. "
     "--target 'label'."),
    (lambda p: ["--data", _table(p, "a,label\n1,x\n"), "--target", "lable"], 2,
     "--target 'lable' is not a column of {p}/t.csv. Did you mean 'label'?"),
    (lambda p: ["--data", _table(p, "a,label\n1,x\n2,\n"), "--target", "label"], 1,
     "Fill them in, or pass --drop-missing-target to leave those rows out."),
])
def test_data_errors_name_flags_not_keywords(tmp_path, capsys, make_args, status, line):
    code = main([*FAST, *make_args(tmp_path), "--out", str(tmp_path / "out")])
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == status
    assert line.format(p=tmp_path) in last
    assert not re.search(r"\b(data|target|drop_missing_target)=", last)


def test_data_warnings_name_flags(tmp_path, capsys):
    rows = "".join(f"{1000 + i},{i % 7},{i % 2}\n" for i in range(40))
    data = _table(tmp_path, "id,x,label\n" + rows)
    assert main([*FAST, "--data", data, "--target", "label", "--out", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err
    assert "warning: column 'id' has a different value in every row" in err
    assert "Leave it out with --drop id." in err and "drop=" not in err
