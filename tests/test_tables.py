"""Reading real-world tables: delimiters, decimal marks, encodings, compression, labels."""

import bz2
import gzip
import re
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from skkeras_search import KerasMLPClassifier
from skkeras_search.datasets import DataError, DataUsageError, load
from skkeras_search.datasets._dialect import detect_separator
from skkeras_search.datasets._preprocessing import DataWarning, build_pipeline, select_features

ROWS = [("1.5", "red", "a"), ("2.25", "blue", "b"), ("-3", "red", "a"), ("4e1", "green", "b")]


def _write(path, sep=",", decimal=".", rows=ROWS, header=("size", "colour", "label")):
    lines = [sep.join(header)] + [sep.join((r[0].replace(".", decimal),) + r[1:]) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_delimiter_detected(tmp_path, sep):
    ds = load(data=_write(tmp_path / "t.csv", sep=sep), target="label")
    assert ds.feature_names == ["size", "colour"]
    assert ds.X["size"].tolist() == [1.5, 2.25, -3.0, 40.0]
    assert ds.y.tolist() == ["a", "b", "a", "b"]
    assert (f"delimiter {sep!r} detected" in ds.notes) == (sep != ",")


def test_semicolon_with_decimal_comma_detected_and_arguments_override(tmp_path):
    path = _write(tmp_path / "eu.csv", sep=";", decimal=",")
    ds = load(data=path, target="label")
    assert ds.X["size"].tolist() == [1.5, 2.25, -3.0, 40.0]
    assert "decimal mark ',' detected" in ds.notes
    # explicit arguments win over detection
    forced = load(data=path, target="label", sep=";", decimal=".")
    assert forced.X["size"].dtype == object  # '1,5' stays text when told '.' is the mark


def test_wrong_sep_names_the_delimiter(tmp_path):
    path = _write(tmp_path / "t.csv", sep=";")
    with pytest.raises(DataUsageError, match=re.escape("pass the file's delimiter with sep=';'")):
        load(data=path, target="label", sep=",")


@given(st.lists(st.lists(st.sampled_from(["a", "b c", "1", "2.5", ""]), min_size=3, max_size=3),
                min_size=1, max_size=8),
       st.sampled_from([",", ";", "\t", "|"]))
def test_detect_separator_property(rows, sep):
    text = "\n".join(sep.join(r) for r in [["x", "y", "z"], *rows]) + "\n"
    assert detect_separator(text) == sep


def test_latin1_file_names_offset_and_encoding(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("Größe,label\n1,a\n2,b\n".encode("latin-1"))
    with pytest.raises(DataUsageError) as err:
        load(data=str(path), target="label")
    message = str(err.value)
    assert str(path) in message and "byte offset 2" in message and "0xf6" in message
    assert "encoding='latin-1'" in message and "\n" not in message
    ds = load(data=str(path), target="label", encoding="latin-1")
    assert ds.feature_names == ["Größe"]


def test_invalid_byte_deep_in_a_large_file_is_located(tmp_path):
    path = tmp_path / "late.csv"
    body = "".join(f"{i},a\n" for i in range(20000))
    path.write_bytes(("x,label\n" + body).encode() + b"1,caf\xe9\n")
    with pytest.raises(DataUsageError, match=rf"byte offset {len(body) + 8 + 5} .*line 20002"):
        load(data=str(path), target="label")


def test_utf8_with_and_without_bom(tmp_path):
    for name, prefix in [("bom.csv", "\ufeff"), ("plain.csv", "")]:
        (tmp_path / name).write_text(prefix + "zähler,label\n1,ä\n2,b\n", encoding="utf-8")
        ds = load(data=str(tmp_path / name), target="label")
        assert ds.feature_names == ["zähler"] and ds.y.tolist() == ["ä", "b"]


def test_unknown_encoding_is_a_usage_error(tmp_path):
    with pytest.raises(DataUsageError, match=re.escape("encoding='latin-99' is not an encoding")):
        load(data=_write(tmp_path / "t.csv"), target="label", encoding="latin-99")


@pytest.mark.parametrize("suffix", [".csv.gz", ".csv.zip", ".csv.bz2", ".tsv", ".parquet"])
def test_compressed_tsv_and_parquet(tmp_path, suffix):
    text = "size;colour;label\n1.5;red;a\n2.5;blue;b\n"
    path = tmp_path / f"t{suffix}"
    if suffix == ".csv.gz":
        path.write_bytes(gzip.compress(text.encode()))
    elif suffix == ".csv.bz2":
        path.write_bytes(bz2.compress(text.encode()))
    elif suffix == ".csv.zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("t.csv", text)
    elif suffix == ".tsv":
        path.write_text(text.replace(";", "\t"))
    else:
        pd.DataFrame({"size": [1.5, 2.5], "colour": ["red", "blue"],
                      "label": ["a", "b"]}).to_parquet(path)
    ds = load(data=str(path), target="label")
    assert ds.X["size"].tolist() == [1.5, 2.5] and ds.X["colour"].tolist() == ["red", "blue"]
    assert ds.y.tolist() == ["a", "b"]


def test_zip_with_two_tables_refused(tmp_path):
    path = tmp_path / "two.csv.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.csv", "x,y\n1,2\n")
        archive.writestr("b.csv", "x,y\n1,2\n")
    with pytest.raises(DataError, match="holds 2 files"):
        load(data=str(path), target="y")


def test_missing_labels_name_their_lines(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,label\n1,2\n2,\n\n3,4\n4,NA\n5, ?\n6,2\n7,\n8,4\n9,\n10,null\n")
    with pytest.raises(DataError) as err:
        load(data=str(path), target="label")
    message = str(err.value)
    assert "6 row(s) have no label in column 'label' (lines 3, 6, 7, 9, 11, ...)" in message
    assert "pass drop_missing_target=True to leave those rows out" in message
    ds = load(data=str(path), target="label", drop_missing_target=True)
    assert ds.y.tolist() == [2, 4, 2, 4] and ds.y.dtype == np.int64
    # index: the data row as pandas.read_csv numbers it (blank lines skipped)
    assert ds.X["a"].tolist() == [1, 3, 6, 8] and ds.index.tolist() == [0, 2, 5, 7]
    assert "left out 6 row(s) with no label" in ds.notes


def test_numbers_written_differently_are_one_class(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('a,label\n1,1\n2,1.0\n3," 1"\n4,1e0\n5,2\n6,2.00\n7,+2\n')
    ds = load(data=str(path), target="label")
    assert ds.y.tolist() == [1, 1, 1, 1, 2, 2, 2] and ds.y.dtype == np.int64
    path.write_text("a;label\n1;0,5\n2;0.5\n3;1\n")
    half = load(data=str(path), target="label", decimal=",")
    # fractional labels are classes by their shortest text (scikit-learn calls floats continuous)
    assert half.y.tolist() == ["0.5", "0.5", "1"]


def test_text_labels_are_stripped(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('a,label\n1,cat\n2," cat "\n3,"cat  "\n4,dog\n')
    assert load(data=str(path), target="label").y.tolist() == ["cat", "cat", "cat", "dog"]


def test_missing_value_markers_in_features(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("num,text,label\n1,M\n?,F,a\n,NA,b\nNaN,null,a\n2, ?,b\n-,x,a\n".replace(
        "1,M\n", "1,M,b\n"))
    ds = load(data=str(path), target="label", na_values=["-"])
    assert ds.X["num"].isna().tolist() == [False, True, True, True, False, True]
    assert ds.X["text"].isna().tolist() == [False, False, True, True, True, False]


def test_ragged_row_is_a_data_error(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,label\n1,2,x\n1,2,3,4\n")
    with pytest.raises(DataError, match="Expected 3 fields in line 3, saw 4"):
        load(data=str(path), target="label")


def test_empty_file(tmp_path):
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(DataError, match="the file is empty"):
        load(data=str(tmp_path / "e.csv"), target="y")


def test_utf16_excel_export_and_thousands_separator(tmp_path):
    path = tmp_path / "excel.txt"  # Excel's "Unicode text": UTF-16 with BOM, tab-separated
    path.write_bytes("Größe\tPreis\tlabel\n1,5\t1.234,5\tja\n2\t3,25\tnein\n".encode("utf-16"))
    ds = load(data=str(path), target="label")
    assert ds.X["Größe"].tolist() == [1.5, 2.0] and ds.X["Preis"].tolist() == [1234.5, 3.25]
    assert ds.y.tolist() == ["ja", "nein"]
    assert "UTF-16 detected (byte-order mark)" in ds.notes
    assert "decimal mark ',' detected, thousands separator '.'" in ds.notes


def test_boolean_labels_stay_booleans(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,label\n1,True\n2,false\n3,TRUE\n")
    ds = load(data=str(path), target="label")
    assert ds.y.dtype == bool and ds.y.tolist() == [True, False, True]


def test_trailing_delimiter_does_not_shift_columns(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("label,x,y\n" + "".join(f"{'ab'[i % 2]},{i % 3},{i + 0.25}," + "\n"
                                            for i in range(12)))
    ds = load(data=str(path), target="label")
    assert ds.y.tolist()[:4] == ["a", "b", "a", "b"]
    assert ds.X["x"].tolist()[:3] == [0, 1, 2] and ds.X["y"].tolist()[0] == 0.25


@pytest.mark.parametrize("cell", ["NA ", " ? ", '" "', " \t "])
def test_marker_with_spaces_keeps_a_numeric_column_numeric(tmp_path, cell):
    path = tmp_path / "t.csv"
    path.write_text("x,label\n1.5,a\n" + f"{cell},b\n" + "2.5,a\n")
    ds = load(data=str(path), target="label")
    assert ds.X["x"].dtype.kind == "f" and ds.X["x"].isna().tolist() == [False, True, False]


def test_boolean_feature_with_a_gap(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("flag,label\nTrue,a\nFalse,b\n,a\nTrue,b\n")
    ds = load(data=str(path), target="label")
    assert ds.X["flag"].isna().tolist() == [False, False, True, False]


def test_decimal_comma_wins_by_majority_and_in_quotes(tmp_path):
    path = tmp_path / "eu.csv"
    rows = [f"{60 + i},{i};v1;{i % 2}" for i in range(8)]
    path.write_text("Gewicht;Version;label\n60,0;1.2;0\n" + "\n".join(rows) + "\n")
    ds = load(data=str(path), target="label")
    assert ds.X["Gewicht"].dtype.kind == "f" and ds.X["Gewicht"].tolist()[:2] == [60.0, 60.0]
    path = tmp_path / "quoted.csv"
    path.write_text('w,label\n"60,5",0\n"61,25",1\n62,0\n')
    ds = load(data=str(path), target="label")
    assert ds.X["w"].tolist() == [60.5, 61.25, 62.0]
    assert "column 'w': decimal commas read as numbers, e.g. '60,5' as 60.5" in ds.notes


def test_names_equal_once_stripped_are_refused(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("x,x ,label\n1,2,a\n3,4,b\n")
    with pytest.raises(DataError, match=re.escape("columns 'x' and 'x ' have the same name")):
        load(data=str(path), target="label")


def test_excel_sep_line_and_macos_zip(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_text("sep=;\na;label\n1,5;x\n2;y\n")
    ds = load(data=str(path), target="label")
    assert ds.X["a"].tolist() == [1.5, 2.0] and ds.lines.tolist() == [3, 4]
    zipped = tmp_path / "mac.csv.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("t.csv", "a,label\n1,x\n2,y\n")
        archive.writestr("__MACOSX/._t.csv", "junk")
    assert load(data=str(zipped), target="label").y.tolist() == ["x", "y"]


def test_encoding_without_bom_is_a_usage_error(tmp_path):
    path = _write(tmp_path / "t.csv")
    with pytest.raises(DataUsageError, match="not valid utf-16.*encoding='latin-1'"):
        load(data=path, target="label", encoding="utf-16")


# Numbers written for people: thousands separators, currency and percent signs. Each is read
# as a number or refused with a message naming the column, never rescaled or one-hot encoded.


def test_quoted_thousands_in_a_comma_file_are_thousands(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('visits,big,label\n"3,417","1,234,567",a\n766,12,b\n"12,500",-3,a\n'
                    '"-1,000","2,000.5",b\n')
    ds = load(data=str(path), target="label")
    assert ds.X["visits"].tolist() == [3417, 766, 12500, -1000]  # not 3.417 < 766
    assert ds.X["big"].tolist() == [1234567, 12, -3, 2000.5]
    assert "column 'visits': thousands separators ',' read as numbers, e.g. '3,417' as 3417" \
        in ds.notes
    assert not any("decimal" in note for note in ds.notes)


def test_percent_column_is_numbers_as_written(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("rate,label\n19.1%,a\n2.5%,b\n100%,a\n0%,b\n-0.5 %,a\n")
    ds = load(data=str(path), target="label")
    assert ds.X["rate"].dtype.kind == "f"
    assert ds.X["rate"].tolist() == [19.1, 2.5, 100.0, 0.0, -0.5]  # not divided by 100
    assert "column 'rate': percentages read as numbers, e.g. '19.1%' as 19.1" in ds.notes


def test_currency_with_thousands_is_one_feature(tmp_path):
    amounts = ['"$4,494.33"', "$12.00", "-$5", '"($1,200.00)"', "$0.99", "", "$3", "$7.25",
               '"$10,000"', "$8", "$9.10", "$11"]
    path = tmp_path / "t.csv"
    path.write_text("price,euro,label\n" + "".join(
        f"{a},€{i % 4},{'ab'[i % 2]}\n" for i, a in enumerate(amounts)))
    ds = load(data=str(path), target="label")
    assert ds.X["price"].tolist()[:5] == [4494.33, 12.0, -5.0, -1200.0, 0.99]
    assert np.isnan(ds.X["price"][5]) and ds.X["euro"].tolist()[:5] == [0, 1, 2, 3, 0]
    assert ("column 'price': thousands separators ',', '$' amounts and negatives in parentheses "
            "read as numbers, e.g. '$4,494.33' as 4494.33") in ds.notes
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)  # not "looks like an identifier"
        columns, categorical, _ = select_features(ds.X.assign(label=ds.y), "label")
    assert categorical == []
    clf = KerasMLPClassifier(hidden_units=4, epochs=1)
    preprocess = build_pipeline(clf, columns=["price"])[:-1]
    assert preprocess.fit_transform(ds.X[["price"]], ds.y).shape == (12, 2)  # value + missing


@pytest.mark.parametrize("cell, value", [("€12", 12.0), ("£3.50", 3.5), ("12 CHF", 12.0),
                                         ("US$1,000", 1000.0), ("$-5", -5.0), ("(7)", -7.0)])
def test_currency_signs_and_codes(tmp_path, cell, value):
    path = tmp_path / "t.csv"
    path.write_text(f'amount,label\n"{cell}",a\n"{cell}",b\n')
    assert load(data=str(path), target="label").X["amount"].tolist() == [value, value]


def test_mixed_column_stays_text_whole_and_warns(tmp_path):
    path = tmp_path / "t.csv"
    cells = [f'"${i},250.50"' for i in range(1, 11)] + ["call us"]
    path.write_text("price,label\n" + "".join(f"{c},{'ab'[i % 2]}\n" for i, c in enumerate(cells)))
    ds = load(data=str(path), target="label")
    assert ds.X["price"].tolist() == [c.strip('"') for c in cells]  # not half converted
    with pytest.warns(DataWarning) as record:
        select_features(ds.X.assign(label=ds.y), "label", lines=ds.lines)
    messages = [str(w.message) for w in record]
    assert any("column 'price' is mostly numbers but has text ('call us' on line 12)" in m
               and "na_values=['call us']" in m for m in messages)
    assert not any("identifier" in m for m in messages)
    fixed = load(data=str(path), target="label", na_values=["call us"])
    assert fixed.X["price"].tolist()[:2] == [1250.5, 2250.5]


def test_numbers_written_two_ways_in_one_column_are_refused(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("price,label\n$5,a\n€6,b\n")
    with pytest.raises(DataError, match=re.escape("column 'price' mixes currencies ('$5' on line "
                                                  "2, '€6' on line 3)")):
        load(data=str(path), target="label")
    path.write_text("rate,label\n5%,a\n0.3,b\n")
    with pytest.raises(DataError, match=re.escape("column 'rate' writes some numbers as "
                                                  "percentages and some not ('5%' on line 2, "
                                                  "'0.3' on line 3)")):
        load(data=str(path), target="label")


def test_ambiguous_comma_outside_a_comma_file_asks_for_decimal(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("n;label\n3,417;a\n766;b\n")
    with pytest.raises(DataUsageError, match=re.escape(
            "column 'n' has '3,417' (line 2), which is 3417 with ',' as thousands separator and "
            "3.417 with a decimal comma. Pass decimal=',' if the comma is a decimal mark, or "
            "decimal='.' if it separates thousands.")):
        load(data=str(path), target="label")
    assert load(data=str(path), target="label", decimal=",").X["n"].tolist() == [3.417, 766]
    assert load(data=str(path), target="label", decimal=".").X["n"].tolist() == [3417, 766]
    # an unambiguous decimal comma elsewhere in the file decides
    path.write_text("n;m;price;label\n3,417;1,5;12,50 €;a\n766;2;1.234,50 €;b\n")
    ds = load(data=str(path), target="label")
    assert ds.X["n"].tolist() == [3.417, 766] and ds.X["m"].tolist() == [1.5, 2.0]
    assert ds.X["price"].tolist() == [12.5, 1234.5]
    assert "decimal mark ',' detected" in ds.notes


def test_decimal_mark_argument_is_checked(tmp_path):
    with pytest.raises(DataUsageError, match=re.escape("decimal='x' is not a decimal mark")):
        load(data=_write(tmp_path / "t.csv"), target="label", decimal="x")


def test_versions_and_dates_stay_text(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("version,day,label\n1.2.3,2024.01.05,a\n2.0.1,2024.02.05,b\n")
    ds = load(data=str(path), target="label")
    assert ds.X["version"].tolist() == ["1.2.3", "2.0.1"] and ds.notes == []


def test_parquet_text_amounts_are_numbers(tmp_path):
    path = tmp_path / "t.parquet"
    pd.DataFrame({"price": ["$1,200.50", "$3"], "label": ["a", "b"]}).to_parquet(path)
    assert load(data=str(path), target="label").X["price"].tolist() == [1200.5, 3.0]


@given(st.lists(st.floats(-1e9, 1e9, allow_nan=False).map(lambda v: round(v, 2)), min_size=1,
                max_size=20))
def test_formatted_amounts_read_back_property(values):
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/t.csv"
        cells = [f'"{"-" if v < 0 else ""}${abs(v):,.2f}"' for v in values]
        with open(path, "w") as fh:
            fh.write("amount,label\n" + "".join(f"{c},a\n" for c in cells))
        assert load(data=path, target="label").X["amount"].tolist() == pytest.approx(values)


# With a decimal comma, '.' separates thousands in every column, and only where each cell of the
# column is grouped in threes; nothing else in the file is touched (pandas's thousands= would
# drop every '.' of every column: 01.02.2024 as 1022024, 0.5 as 5).


def test_thousands_dots_are_removed_per_column_not_file_wide(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("betrag;datum;zeit;ip;label\n1.234,50;01.02.2024;12.30;192.168.1.1;0\n"
                    "2.000,00;15.03.2024;08.15;10.0.0.1;1\n3,5;31.12.2023;23.59;10.0.0.2;0\n"
                    "4,5;01.01.2024;00.00;10.0.0.3;1\n")
    with pytest.warns(DataWarning) as record:
        ds = load(data=str(path), target="label")
    assert ds.X["betrag"].tolist() == [1234.5, 2000.0, 3.5, 4.5]
    assert ds.X["datum"].tolist() == ["01.02.2024", "15.03.2024", "31.12.2023", "01.01.2024"]
    assert ds.X["zeit"].tolist() == ["12.30", "08.15", "23.59", "00.00"]
    assert ds.X["ip"].tolist() == ["192.168.1.1", "10.0.0.1", "10.0.0.2", "10.0.0.3"]
    messages = [str(w.message) for w in record]
    assert len(messages) == 1 and messages[0].startswith(
        "column 'zeit' is left as text (categorical): '12.30' on line 2 is not a number with the "
        "decimal mark ',' detected in the file (then '.' separates thousands")
    assert "column 'zeit': left as text, '12.30' on line 2 is not a number with the decimal " \
        "mark ',' detected in the file" in ds.notes


@pytest.mark.parametrize("decimal", [None, ","])
def test_dot_decimal_column_in_a_decimal_comma_file_is_not_rescaled(tmp_path, decimal):
    path = tmp_path / "t.csv"
    path.write_text("betrag;gewicht;label\n1.234,50;0.5;0\n2.000,00;1.25;1\n3,5;2.75;0\n"
                    "4,5;10.5;1\n")
    mark = "decimal=','" if decimal else "the decimal mark ',' detected in the file"
    with pytest.warns(DataWarning, match=re.escape(
            f"column 'gewicht' is left as text (categorical): '0.5' on line 2 is not a number "
            f"with {mark}")):
        ds = load(data=str(path), target="label", decimal=decimal)
    assert ds.X["betrag"].tolist() == [1234.5, 2000.0, 3.5, 4.5]
    assert ds.X["gewicht"].tolist() == ["0.5", "1.25", "2.75", "10.5"]  # not 5, 125, 275, 105


@pytest.mark.parametrize("decimal", [None, ","])
def test_decimal_comma_makes_dots_thousands_in_every_column(tmp_path, decimal):
    path = tmp_path / "t.csv"
    path.write_text("v;w;label\n1.234;1.234,5;0\n2.500;2,5;1\n3.000;3,5;0\n12.345;4,5;1\n")
    ds = load(data=str(path), target="label", decimal=decimal)
    assert ds.X["v"].tolist() == [1234, 2500, 3000, 12345]  # as 1.234,5 is 1234.5, not 1.234
    assert ds.X["w"].tolist() == [1234.5, 2.5, 3.5, 4.5]
    assert "column 'v': thousands separators '.' read as numbers, e.g. '1.234' as 1234" in ds.notes
