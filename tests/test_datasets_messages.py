"""Data messages name parameters as template fields: keywords in ``str``, flags through ``render``.

The library speaks in :func:`load`'s keyword arguments (``data='x.csv'``);
the command renders the same exception in its flags. ``flags`` below is a
stand-in for the command's renderer, enough to show each field is a
parameter of the function that raised it.
"""

import inspect
import pickle
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from skkeras_search.datasets import (
    DataError,
    DataUsageError,
    DataWarning,
    build_pipeline,
    load,
    select_features,
)
from skkeras_search.exceptions import literal

KEYWORDS = (set(inspect.signature(load).parameters) | set(inspect.signature(select_features).parameters)
            | set(inspect.signature(build_pipeline).parameters))


def flags(name, value):
    flag = "--" + name.replace("_", "-")
    if value is True:
        return flag
    if isinstance(value, (list, tuple)):
        value = ",".join(map(str, value))
    return f"{flag} {value}"


def _table(tmp_path, text, name="t.csv"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_load_error_renders_in_flags_and_in_keywords(tmp_path):
    missing = str(tmp_path / "nope.csv")
    with pytest.raises(DataUsageError) as err:
        load(data=missing)
    assert str(err.value) == f"data={missing!r}: no such file or folder. Check the path."
    assert err.value.render(flags) == f"--data {missing}: no such file or folder. Check the path."
    assert err.value.parameters == {"data": missing}


def test_data_error_with_a_boolean_fix_renders_as_a_bare_flag(tmp_path):
    path = _table(tmp_path, "a,label\n1,x\n2,\n")
    with pytest.raises(DataError) as err:
        load(data=path, target="label")
    assert type(err.value) is DataError
    assert str(err.value).endswith("Fill them in, or pass drop_missing_target=True to leave those "
                                   "rows out.")
    assert err.value.render(flags).endswith("Fill them in, or pass --drop-missing-target to leave "
                                            "those rows out.")
    assert str(path) in str(err.value) and "line 3" in str(err.value)


@pytest.mark.parametrize("kwargs, text, keywords, in_flags", [
    ({"target": None}, "a,label\n1,x\n", "e.g. target='label'", "e.g. --target label"),
    ({"target": "lable"}, "a,label\n1,x\n", "target='lable' is not a column of",
     "--target lable is not a column of"),
    ({"target": "y", "sep": ","}, "a;y\n1;0\n", "delimiter with sep=';'", "delimiter with --sep ;"),
    ({"target": "label", "decimal": "x"}, "a,label\n1,x\n", "decimal='x' is not a decimal mark",
     "--decimal x is not a decimal mark"),
    ({"target": "label", "encoding": "latin-99"}, "a,label\n1,x\n",
     "encoding='latin-99' is not an encoding", "--encoding latin-99 is not an encoding"),
    ({"target": "y", "task": "regression"}, "a,y\n1,0.5\n2,x\n",
     "task='regression' needs a number in every row", "--task regression needs a number"),
    ({"target": "n"}, "n;label\n3,417;a\n766;b\n", "Pass decimal=','", "Pass --decimal ,"),
    ({"dataset": "digts"}, None, "dataset='digts' is unknown. Did you mean 'digits'?",
     "--dataset digts is unknown"),
])
def test_each_field_is_a_keyword_of_load(tmp_path, kwargs, text, keywords, in_flags):
    if text is not None:
        kwargs = {"data": _table(tmp_path, text), **kwargs}
    with pytest.raises(DataError) as err:
        load(**kwargs)
    assert keywords in str(err.value) and in_flags in err.value.render(flags)
    assert set(err.value.parameters) <= KEYWORDS
    assert not re.search(r"(?<![\w-])--[a-z]", str(err.value))
    again = pickle.loads(pickle.dumps(err.value))  # across processes, still two vocabularies
    assert str(again) == str(err.value) and again.render(flags) == err.value.render(flags)


def test_ragged_row_names_the_delimiter_it_was_read_with(tmp_path):
    path = _table(tmp_path, "a,b,label\n1,2,x\n1,2,3,4\n")
    with pytest.raises(DataError) as err:
        load(data=path, target="label")
    assert str(err.value).endswith("pass the file's delimiter (it was read with sep=',').")
    assert err.value.render(flags).endswith("(it was read with --sep ,).")


def test_select_features_messages_name_its_keywords():
    frame = pd.DataFrame({"Id": np.arange(30), "x": np.arange(30) % 3,
                          "dose": ["1", "2", "-"] * 10, "label": np.arange(30) % 2})
    with pytest.raises(DataUsageError) as err:
        select_features(frame, "label", drop=["x", "Idd"])
    assert str(err.value).startswith("drop=['x', 'Idd'] names 'Idd', which is not a column. "
                                     "Did you mean 'Id'?")
    assert err.value.render(flags).startswith("--drop x,Idd names 'Idd'")
    with pytest.raises(DataUsageError) as err:
        select_features(frame, "label", categorical=["label"])
    assert err.value.render(flags).startswith("--categorical label names the label column "
                                              "(--target label)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        select_features(frame, "label", drop=["x"])
    found = [w.message for w in caught if isinstance(w.message, DataWarning)]
    assert {m.render(flags).split(" with ")[-1] for m in found if "identifier" in str(m)} == \
        {"--drop x,Id."}
    assert all(set(m.parameters) <= KEYWORDS for m in found)


# ---------------------------------------------------- user text is never a field
def test_a_path_with_a_field_in_it_is_written_as_it_is(tmp_path):
    path = _table(tmp_path, "a,b\n1,2\n", name="{target}.csv")
    with pytest.raises(DataUsageError) as err:
        load(data=path, target="q")
    assert str(err.value) == f"target='q' is not a column of {path}. Columns: a, b."
    assert err.value.render(flags) == f"--target q is not a column of {path}. Columns: a, b."
    again = pickle.loads(pickle.dumps(err.value))
    assert str(again) == str(err.value) and again.render(flags) == err.value.render(flags)


def test_column_names_with_braces_are_written_as_they_are(tmp_path):
    path = _table(tmp_path, "{data},{{target}},label\n1,2,x\n", name="t{.csv")
    with pytest.raises(DataUsageError) as err:
        load(data=path, target="{sep}")
    expected = f"is not a column of {path}. Columns: {{data}}, {{{{target}}}}, label."
    assert str(err.value) == "target='{sep}' " + expected
    assert err.value.render(flags) == "--target {sep} " + expected


def test_a_cell_with_a_field_in_it_is_written_as_it_is(tmp_path):
    rows = "".join(f"{i % 5},{i % 2}\n" for i in range(20))
    path = _table(tmp_path, "dose,label\n" + rows + "{na_values},1\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = load(data=path, target="label")
        select_features(ds.X.assign(label=ds.y), "label", lines=ds.lines)
    found = [w.message for w in caught if isinstance(w.message, DataWarning)
             and "mostly numbers" in str(w.message)]
    assert len(found) == 1
    assert "has text ('{na_values}' on line 22)" in str(found[0])
    assert "has text ('{na_values}' on line 22)" in found[0].render(flags)
    assert str(found[0]).endswith("pass na_values=['{na_values}']; otherwise fix those cells.")
    assert found[0].render(flags).endswith("pass --na-values {na_values}; otherwise fix those "
                                           "cells.")


def test_a_path_naming_the_field_of_its_own_message_is_written_as_it_is(tmp_path):
    path = _table(tmp_path, "a,b,label\n1,2,x\n1,2,3,4\n", name="{sep}.csv")
    with pytest.raises(DataError) as err:
        load(data=path, target="label")
    assert str(err.value).startswith(f"{path}: Expected 3 fields")
    assert str(err.value).endswith("(it was read with sep=',').")
    assert err.value.render(flags).startswith(f"{path}: Expected 3 fields")
    assert err.value.render(flags).endswith("(it was read with --sep ,).")


def test_literal_text_renders_verbatim_and_survives_pickling():
    exc = DataUsageError(literal("{data} {{x}} {a=1} }") + ": {data}, or {data='y'}.", data="x")
    assert str(exc) == "{data} {{x}} {a=1} }: data='x', or data='y'."
    assert exc.render(flags) == "{data} {{x}} {a=1} }: --data x, or --data y."
    again = pickle.loads(pickle.dumps(exc))
    assert (str(again), again.render(flags)) == (str(exc), exc.render(flags))
    assert DataError("a set {1, 2} and {unknown} stay").render(flags) == \
        "a set {1, 2} and {unknown} stay"


# -------------------------------------------- each alternative names its parameter
@pytest.mark.parametrize("kwargs, text, keywords, in_flags", [
    ({"target": "n"}, "n;label\n3,417;a\n766;b\n",
     "Pass decimal=',' if the comma is a decimal mark, or decimal='.' if it separates thousands.",
     "Pass --decimal , if the comma is a decimal mark, or --decimal . if it separates thousands."),
    ({"target": "label", "decimal": ";"}, "a,label\n1,x\n",
     "decimal=';' is not a decimal mark this reader knows. Use decimal='.' or decimal=','",
     "--decimal ; is not a decimal mark this reader knows. Use --decimal . or --decimal ,"),
    ({"dataset": "foo", "data": None}, None, "dataset='foo' is unknown. Use dataset='digits' or "
     "dataset='mnist'.", "--dataset foo is unknown. Use --dataset digits or --dataset mnist."),
])
def test_each_alternative_names_the_parameter(tmp_path, kwargs, text, keywords, in_flags):
    if text is not None:
        kwargs = {"data": _table(tmp_path, text), **kwargs}
    with pytest.raises(DataUsageError) as err:
        load(**kwargs)
    assert keywords in str(err.value) and in_flags in err.value.render(flags)
    assert set(err.value.parameters) <= KEYWORDS
    again = pickle.loads(pickle.dumps(err.value))
    assert str(again) == str(err.value) and again.render(flags) == err.value.render(flags)


# ----------------------------------- the library checks what the command checks
@pytest.mark.parametrize("kwargs, message, in_flags", [
    ({"task": "bogus"}, "task='bogus' is not a task. Use task='classification', "
     "task='regression' or task='auto'.", "--task bogus is not a task. Use --task "
     "classification, --task regression or --task auto."),
    ({"sep": ";;"}, "sep=';;' is not one character. Use e.g. sep=';', sep='|' or sep='\\t'.",
     "--sep ;; is not one character. Use e.g. --sep ;, --sep | or --sep \t."),
    ({"sep": 5}, "sep=5 is not one character.", "--sep 5 is not one character."),
    ({"na_values": 5}, "na_values=5 is not a list of cell texts. Pass a list, e.g. "
     "na_values=['-', 'n/a'].", "--na-values 5 is not a list of cell texts. Pass a list, e.g. "
     "--na-values -,n/a."),
    ({"na_values": "n/a"}, "na_values='n/a' is not a list of cell texts.",
     "--na-values n/a is not a list of cell texts."),
    ({"na_values": ["-", 5]}, "na_values=['-', 5] holds 5, which is not a cell text. Pass the "
     "texts as written in the file, e.g. '5'.", "--na-values -,5 holds 5"),
])
def test_arguments_are_checked_before_the_file_is_read(tmp_path, kwargs, message, in_flags):
    missing = str(tmp_path / "never-read.csv")  # checked first: no "no such file"
    with pytest.raises(DataUsageError) as err:
        load(data=missing, target="label", **kwargs)
    assert str(err.value).startswith(message) and err.value.render(flags).startswith(in_flags)
    assert set(err.value.parameters) <= KEYWORDS
    assert not re.search(r"(?<![\w-])--[a-z]", str(err.value))


def test_the_bundled_datasets_check_task_too():
    with pytest.raises(DataUsageError, match=re.escape("task='regresion' is not a task.")):
        load("digits", task="regresion")
