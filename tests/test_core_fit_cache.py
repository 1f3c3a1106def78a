"""The fit cache's rule (which fits it may keep, what keys them) and its store of arrays plus JSON."""

import json
import os

import numpy as np
import pytest

from skkeras_search._core import fit_cache
from skkeras_search._core.fit_cache import (
    NOT_IN_KEY,
    FitCache,
    cache_blocker,
    failures,
    key_params,
    unseeded_message,
)


@pytest.mark.parametrize("params, continuing, blocker", [
    ({"cache_dir": None, "random_state": None}, False, "cache_dir"),
    ({"cache_dir": None, "random_state": 0}, True, "cache_dir"),
    ({"cache_dir": "c", "random_state": None}, True, "random_state"),
    ({"cache_dir": "c", "random_state": 0}, True, "warm_start"),
    ({"cache_dir": "c", "random_state": 0, "warm_start": True}, False, None),
    ({"cache_dir": "c", "random_state": np.random.RandomState(0)}, False, None),
    ({}, False, "cache_dir"),
])
def test_cache_blocker_names_the_parameter_that_keeps_a_fit_out(params, continuing, blocker):
    assert cache_blocker(params, continuing=continuing) == blocker


def test_the_unseeded_message_names_both_parameters_and_the_fix():
    message = unseeded_message("/tmp/c")
    assert "cache_dir='/tmp/c'" in message and "random_state=None" in message
    assert "random_state=0" in message and "--" not in message


def test_key_params_drop_what_does_not_change_a_fit_and_canonicalise_class_weight():
    params = {name: 1 for name in NOT_IN_KEY}
    params.update(hidden_units=8, class_weight={np.int64(1): 2, 0: np.float64(0.5)})
    key = key_params(params)
    assert key == {"hidden_units": 8, "class_weight": [("0", 0.5), ("1", 2.0)]}
    assert key_params({"class_weight": {1: 2.0, 0: 0.5}}) == {"class_weight": key["class_weight"]}
    assert params["class_weight"] == {np.int64(1): 2, 0: 0.5}  # not changed in place
    json.dumps(key)


def cache(tmp_path, **params):
    return FitCache(str(tmp_path), {"a": 1, **params}, "data", seed=0)


def test_the_store_round_trips_named_arrays_and_json(tmp_path):
    arrays = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "s": np.int64(7),
              "empty": np.zeros(0)}
    cache(tmp_path).store(4, arrays, {"epoch": 4, "curve": [0.5, 0.25], "best": None})
    entry = cache(tmp_path).lookup(4)
    assert entry.failure is None and entry.epochs == 4
    assert entry.meta == {"epoch": 4, "curve": [0.5, 0.25], "best": None}
    assert set(entry.arrays) == set(arrays)
    for name, a in arrays.items():
        assert entry.arrays[name].dtype == np.asarray(a).dtype
        assert np.array_equal(entry.arrays[name], a)


def test_lookup_finds_the_exact_or_longest_shorter_entry_and_keys_differ(tmp_path):
    c = cache(tmp_path)
    for epochs in (2, 5):
        c.store(epochs, {"x": np.full(1, epochs)}, {})
    assert c.lookup(9).epochs == 5 and c.lookup(5).epochs == 5 and c.lookup(4).epochs == 2
    assert c.lookup(1) is None
    assert cache(tmp_path, a=2).lookup(9) is None  # other parameters: another key


def test_the_cache_reserves_the_name_meta(tmp_path):
    with pytest.raises(ValueError, match="'meta'"):
        cache(tmp_path).store(1, {"meta": np.zeros(1)}, {})


def test_failures_are_entries_and_a_structured_record(tmp_path):
    c = cache(tmp_path)
    c.store_failure(3, "diverged in epoch 3")
    entry = c.lookup(10)
    assert (entry.failure, entry.epochs, entry.arrays, entry.meta) == \
        ("diverged in epoch 3", 3, {}, {})
    (failure,) = failures(str(tmp_path))
    assert (failure.params, failure.epochs, failure.message) == ({"a": 1}, 3, "diverged in epoch 3")


def test_an_entry_of_another_format_never_matches(tmp_path, monkeypatch):
    c = cache(tmp_path)
    c.store(1, {"x": np.ones(1)}, {})
    monkeypatch.setattr(fit_cache, "FORMAT", fit_cache.FORMAT + 1)
    assert cache(tmp_path).lookup(1) is None  # another key


def test_a_write_the_disk_refuses_warns_and_leaves_no_temporary_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.warns(UserWarning, match="could not write a cache entry"):
        FitCache(str(blocker / "c"), {}, "data", 0).store(1, {"x": np.ones(1)}, {})
    folder = tmp_path / "ro"
    folder.mkdir()
    c = cache(folder)
    os.makedirs(c.folder)
    os.chmod(c.folder, 0o500)
    try:
        if os.access(c.folder, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        with pytest.warns(UserWarning, match="could not write a cache entry"):
            c.store(1, {"x": np.ones(1)}, {})
        assert os.listdir(c.folder) == []
    finally:
        os.chmod(c.folder, 0o700)
