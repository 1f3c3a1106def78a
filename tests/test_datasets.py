"""Data loaders: IDX parsing on files the tests write, CSV, NPZ, errors."""

import gzip
import re

import numpy as np
import pytest

from skkeras_search.datasets import DataError, DataUsageError, load, read_idx, write_idx


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_roundtrip(tmp_path, dtype):
    array = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
    if dtype == np.uint8:
        array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a.idx", array)
    back = read_idx(tmp_path / "a.idx")
    assert back.shape == array.shape and np.array_equal(back, array)


def test_idx_gzip_and_known_bytes(tmp_path):
    # hand-written header: magic 0x00000801 (uint8, 1-D), 3 items
    raw = bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9])
    with gzip.open(tmp_path / "l.idx1-ubyte.gz", "wb") as fh:
        fh.write(raw)
    assert read_idx(tmp_path / "l.idx1-ubyte.gz").tolist() == [7, 8, 9]


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"", "not an IDX file"),
        (bytes([1, 2, 3, 4]), "bad magic number 01020304"),
        (bytes([0, 0, 8, 2, 0, 0]), "header is truncated"),
        (bytes([0, 0, 8, 1, 0, 0, 0, 5, 1, 2]), "declares shape (5,) (5 bytes) but the file holds 2"),
    ],
)
def test_idx_corrupt_files(tmp_path, raw, message):
    path = tmp_path / "bad.idx"
    path.write_bytes(raw)
    with pytest.raises(DataError, match=re.escape(message)):
        read_idx(path)


def test_idx_folder(tmp_path):
    rng = np.random.RandomState(0)
    write_idx(tmp_path / "train-images-idx3-ubyte", rng.randint(0, 256, (20, 4, 4)).astype(np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", (np.arange(20) % 2).astype(np.uint8))
    ds = load(data=str(tmp_path))
    assert ds.X.shape == (20, 16) and ds.X.dtype == np.uint8  # raw: scaled in the pipeline
    assert ds.kind == "images" and ds.image_max == 255.0 and ds.image_shape == (4, 4)


def test_idx_folder_needs_one_pair(tmp_path):
    with pytest.raises(DataUsageError, match="expected one '\\*images-idx3\\*'"):
        load(data=str(tmp_path))


def test_real_mnist_test_split(mnist_dir):
    ds = load(data=mnist_dir)
    assert ds.X.shape == (10000, 784)
    assert np.bincount(ds.y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_digits_bundled():
    ds = load("digits")
    assert ds.X.shape == (1797, 64) and ds.X.max() == 16.0 and ds.image_max == 16.0


def test_csv(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,label\n1,2,cat\n3,4.5,dog\n5,6,cat\n")
    ds = load(data=str(path), target="label")
    assert ds.X.to_numpy().tolist() == [[1, 2], [3, 4.5], [5, 6]]
    assert ds.y.tolist() == ["cat", "dog", "cat"] and ds.feature_names == ["a", "b"]


def test_csv_errors(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,label\n1,x,cat\n")
    with pytest.raises(DataUsageError, match=re.escape("target='lable' is not a column of")):
        load(data=str(path), target="lable")
    with pytest.raises(DataUsageError, match=re.escape(
            "is a table, so it needs a label column: pass its name, e.g. target='label'")):
        load(data=str(path))


def test_npz_and_pickle_rejected(tmp_path):
    np.savez(tmp_path / "ok.npz", X=np.ones((4, 3)), y=np.array([0, 1, 0, 1]))
    assert load(data=str(tmp_path / "ok.npz")).X.shape == (4, 3)
    np.savez(tmp_path / "obj.npz", X=np.ones((2, 2)), y=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(DataError, match="pickled"):
        load(data=str(tmp_path / "obj.npz"))
    np.savez(tmp_path / "noy.npz", X=np.ones((2, 2)))
    with pytest.raises(DataUsageError, match=re.escape("no array named ['y']")):
        load(data=str(tmp_path / "noy.npz"))


def test_missing_and_unknown_files(tmp_path):
    with pytest.raises(DataUsageError, match="no such file"):
        load(data=str(tmp_path / "nope.csv"))
    (tmp_path / "x.xlsx").write_text("")
    with pytest.raises(DataUsageError, match="unknown file type"):
        load(data=str(tmp_path / "x.xlsx"))


def test_mnist_download_failure_is_one_line(tmp_path):
    """The real Keras download, with an empty cache: offline it must fail in one line."""
    import os
    import subprocess
    import sys

    code = (
        "from skkeras_search.datasets import load, DataError\n"
        "try:\n    ds = load('mnist'); print('OK', ds.X.shape)\n"
        "except DataError as e:\n    print('ERR', e)\n"
    )
    env = {**os.environ, "KERAS_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=600)
    assert out.returncode == 0, out.stderr
    line = out.stdout.strip()
    if line.startswith("OK"):  # online: the real data arrived
        assert line == "OK (70000, 784)"
    else:
        assert line.startswith("ERR could not download MNIST (")
        assert line.endswith("use dataset='digits'.") and "\n" not in line


def test_npz_shape_checks(tmp_path):
    np.savez(tmp_path / "short.npz", X=np.ones((10, 3)), y=np.arange(7) % 2)
    with pytest.raises(DataError, match=re.escape("y has shape (7,) but X has 10 rows")):
        load(data=str(tmp_path / "short.npz"))
    np.savez(tmp_path / "onehot.npz", X=np.ones((4, 3)), y=np.eye(2)[[0, 1, 0, 1]])
    with pytest.raises(DataError, match="1-D array of class labels"):
        load(data=str(tmp_path / "onehot.npz"))
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(DataError, match="not an .npz archive"):
        load(data=str(tmp_path / "text.npz"))


def test_csv_bom_blank_lines_header_only(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufefflabel,a\n007,1\n\n7,2\nx,3\n".encode())
    ds = load(data=str(path), target="label")
    assert ds.feature_names == ["a"] and ds.y.tolist() == ["007", "7", "x"]  # text labels
    assert ds.lines.tolist() == [2, 4, 5]  # the file's own line numbers, blank line skipped
    path.write_text("a,label\n")
    with pytest.raises(DataError, match="no data rows"):
        load(data=str(path), target="label")
    path.write_text("a,label\n1,3\n2,-1\n")
    assert load(data=str(path), target="label").y.dtype == np.int64


def test_idx_labels_must_be_one_dimensional(tmp_path):
    write_idx(tmp_path / "t-images-idx3-ubyte", np.zeros((4, 2, 2), np.uint8))
    write_idx(tmp_path / "t-labels-idx1-ubyte", np.zeros((4, 2), np.uint8))
    with pytest.raises(DataError, match="expected 1-D labels"):
        load(data=str(tmp_path))
