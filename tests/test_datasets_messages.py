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
