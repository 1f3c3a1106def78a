"""The fit cache: exact reuse, epoch continuation, corruption, failures, versions."""

import glob
import os
import re

import numpy as np
import pytest
from sklearn.model_selection import StratifiedKFold, cross_val_score

import skkeras_search._version
from skkeras_search import KerasMLPClassifier, TrainingDivergedError
from skkeras_search._core.fit_cache import disk_usage
from skkeras_search.search import HyperbandSearchCV
from skkeras_search.space import int_range, log_uniform


def est(cache_dir=None, **params):
    defaults = dict(hidden_units=8, epochs=6, learning_rate=0.01, random_state=0,
                    n_iter_no_change=100, cache_dir=None if cache_dir is None else str(cache_dir))
    return KerasMLPClassifier(**{**defaults, **params})


def epochs_trained(capsys):
    return len([ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("Epoch ")])


def entries(cache_dir):
    return sorted(glob.glob(os.path.join(str(cache_dir), "*", "*.npz")))


def test_exact_hit_trains_nothing_and_matches(tiny, tmp_path, capsys):
    X, y = tiny
    first = est(tmp_path, verbose=1).fit(X, y)
    assert epochs_trained(capsys) == 6 and len(entries(tmp_path)) == 1
    again = est(tmp_path, verbose=1).fit(X, y)
    assert epochs_trained(capsys) == 0
    assert np.array_equal(first.predict_proba(X), again.predict_proba(X))
    assert again.loss_curve_ == first.loss_curve_ and again.n_iter_ == 6


def test_more_epochs_continue_bit_identical_to_scratch(tiny, tmp_path, capsys):
    X, y = tiny
    est(tmp_path, epochs=3, dropout=0.2).fit(X, y)
    capsys.readouterr()
    continued = est(tmp_path, epochs=9, dropout=0.2, verbose=1).fit(X, y)
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("Epoch 4 -")  # only epochs 4..9 trained
    assert len([ln for ln in out.splitlines() if ln.startswith("Epoch ")]) == 6
    scratch = est(None, epochs=9, dropout=0.2).fit(X, y)
    assert np.array_equal(continued.predict_proba(X), scratch.predict_proba(X))
    assert continued.loss_curve_ == scratch.loss_curve_ and continued.n_iter_ == 9


def test_continuation_respects_convergence_like_scratch(tiny, tmp_path):
    X, y = tiny
    # stops early through n_iter_no_change: the cached short run already converged
    short = est(tmp_path, epochs=40, n_iter_no_change=2, tol=1.0).fit(X, y)
    longer = est(tmp_path, epochs=80, n_iter_no_change=2, tol=1.0).fit(X, y)
    scratch = est(None, epochs=80, n_iter_no_change=2, tol=1.0).fit(X, y)
    assert short.n_iter_ == longer.n_iter_ == scratch.n_iter_ < 40
    assert np.array_equal(longer.predict_proba(X), scratch.predict_proba(X))


def test_different_data_params_or_seed_do_not_match(tiny, tmp_path, capsys):
    X, y = tiny
    est(tmp_path).fit(X, y)
    est(tmp_path, verbose=1).fit(X[:-1], y[:-1])
    est(tmp_path, verbose=1, random_state=1).fit(X, y)
    est(tmp_path, verbose=1, learning_rate=0.02).fit(X, y)
    assert epochs_trained(capsys) == 18 and len(entries(tmp_path)) == 4


def test_no_cache_without_random_state(tiny, tmp_path):
    X, y = tiny
    est(tmp_path, random_state=None).fit(X, y)
    assert entries(tmp_path) == []


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage"])
def test_corrupt_entry_is_refit_not_loaded(tiny, tmp_path, capsys, damage):
    X, y = tiny
    good = est(tmp_path).fit(X, y)
    (path,) = entries(tmp_path)
    data = open(path, "rb").read()
    with open(path, "wb") as fh:
        if damage == "truncate":
            fh.write(data[: len(data) // 2])
        elif damage == "flip":  # same size, one weight byte changed
            i = data.index(b"p0.npy") + 200
            fh.write(data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:])
        else:
            fh.write(b"not a zip file")
    again = est(tmp_path, verbose=1).fit(X, y)
    assert epochs_trained(capsys) == 6
    assert np.array_equal(good.predict_proba(X), again.predict_proba(X))
    assert len(entries(tmp_path)) == 1  # rewritten


def test_consistent_rewrite_that_passes_the_zip_crc_is_caught_by_the_checksum(
        tiny, tmp_path, capsys):
    """A valid archive (fresh CRCs) whose weights no longer match the recorded SHA-256."""
    import zipfile

    X, y = tiny
    good = est(tmp_path).fit(X, y)
    (path,) = entries(tmp_path)
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays["p0"] = arrays["p0"] + 0.5  # tampered weights, old metadata and checksum
    np.savez(path, **arrays)
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None  # every CRC is right: only the checksum can tell
    again = est(tmp_path, verbose=1).fit(X, y)
    assert epochs_trained(capsys) == 6  # refit, not loaded
    assert np.array_equal(good.predict_proba(X), again.predict_proba(X))
    with np.load(path, allow_pickle=False) as archive:
        assert np.array_equal(archive["p0"], good.coefs_[0])  # the entry was rewritten


def test_other_package_version_not_reused(tiny, tmp_path, capsys, monkeypatch):
    X, y = tiny
    est(tmp_path).fit(X, y)
    monkeypatch.setattr(skkeras_search._version, "__version__", "999.0")
    est(tmp_path, verbose=1).fit(X, y)
    assert epochs_trained(capsys) == 6 and len(entries(tmp_path)) == 2


@pytest.mark.parametrize("library", ["tensorflow", "keras"])
def test_other_tensorflow_or_keras_version_not_reused(tiny, tmp_path, capsys, monkeypatch,
                                                     library):
    from skkeras_search._core import backend as _backend

    X, y = tiny
    est(tmp_path).fit(X, y)
    module = getattr(_backend, library)()
    monkeypatch.setattr(module, "__version__", "0.0.1")
    est(tmp_path, verbose=1).fit(X, y)
    assert epochs_trained(capsys) == 6 and len(entries(tmp_path)) == 2


def test_diverged_fit_recorded_and_fails_at_once(tiny, tmp_path, capsys):
    X, y = tiny
    bad = dict(learning_rate=100.0, optimizer="sgd", verbose=1)  # diverges in epoch 4
    with pytest.raises(TrainingDivergedError, match="epoch 4"):
        est(tmp_path, **bad).fit(X.astype(np.float32), y)
    assert epochs_trained(capsys) == 3
    with pytest.raises(TrainingDivergedError, match=re.escape("epoch 4: the loss became")) as again:
        est(tmp_path, **bad).fit(X.astype(np.float32), y)
    assert epochs_trained(capsys) == 0  # not retrained
    assert again.value.epoch == 4  # the replayed failure keeps its epoch
    with pytest.raises(TrainingDivergedError):  # a longer budget fails the same way
        est(tmp_path, **{**bad, "epochs": 20}).fit(X.astype(np.float32), y)
    assert epochs_trained(capsys) == 0


def test_unwritable_cache_warns_and_fits(tiny, tmp_path):
    X, y = tiny
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.warns(UserWarning, match="could not write a cache entry"):
        clf = est(blocker / "cache").fit(X, y)
    assert clf.n_iter_ == 6


def test_entries_are_not_pickles(tiny, tmp_path):
    X, y = tiny
    est(tmp_path).fit(X, y)
    (path,) = entries(tmp_path)
    with np.load(path, allow_pickle=False) as archive:  # would raise on object arrays
        assert "meta" in archive.files and archive["p0"].shape == (5, 8)
    assert disk_usage(str(tmp_path)) == os.path.getsize(path)


def test_halving_over_epochs_continues_and_matches_uncached(digits, tmp_path, capsys):
    X, y = digits
    X, y = X[:300], y[:300]
    space = {"hidden_units": int_range(8, 40, 16), "learning_rate": log_uniform(1e-3, 1e-1)}

    def search(cache_dir):
        clf = KerasMLPClassifier(epochs=9, random_state=0, verbose=1, n_iter_no_change=100,
                                 cache_dir=cache_dir)
        return HyperbandSearchCV(
            clf, space, max_epochs=9, min_epochs=1, factor=3, n_brackets=1, cv=cv,
            random_state=0, error_score="raise", refit=False,
        ).fit(X, y)

    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    cached = search(str(tmp_path))
    # 9 candidates x 1 epoch, then 3 continue to 3 epochs, then 1 continues to 9, per fold
    assert epochs_trained(capsys) == 2 * (9 * 1 + 3 * (3 - 1) + 1 * (9 - 3))
    finalist = cached.cv_results_["params"][-1]
    assert finalist["epochs"] == 9
    scratch = cross_val_score(KerasMLPClassifier(random_state=0, n_iter_no_change=100,
                                                 **finalist), X, y, cv=cv)
    assert np.array_equal(scratch.mean(), cached.cv_results_["mean_test_score"][-1])


def test_class_weight_with_numpy_keys_is_cacheable(tiny, tmp_path, capsys):
    X, y = tiny
    weights = dict(zip(np.unique(y), [1.0, 2.0, 3.0]))
    first = est(tmp_path, class_weight=weights).fit(X, y)
    again = est(tmp_path, class_weight=weights, verbose=1).fit(X, y)
    assert epochs_trained(capsys) == 0
    assert np.array_equal(first.predict_proba(X), again.predict_proba(X))


@pytest.mark.parametrize("content", ["[]", "null", '{"format": 1}', "{"])
def test_malformed_failure_record_is_refit(tiny, tmp_path, capsys, content):
    X, y = tiny
    bad = dict(learning_rate=100.0, optimizer="sgd")
    with pytest.raises(TrainingDivergedError):
        est(tmp_path, **bad).fit(X.astype(np.float32), y)
    (record,) = glob.glob(os.path.join(str(tmp_path), "*", "*.failed.json"))
    with open(record, "w") as fh:
        fh.write(content)
    with pytest.raises(TrainingDivergedError):  # trained again, not a crash
        est(tmp_path, verbose=1, **bad).fit(X.astype(np.float32), y)
    assert epochs_trained(capsys) == 3  # the epochs before the one that diverged (the 4th)


def test_entries_are_readable_by_others(tiny, tmp_path):
    X, y = tiny
    old = os.umask(0o022)
    try:
        est(tmp_path).fit(X, y)
    finally:
        os.umask(old)
    (path,) = entries(tmp_path)
    assert os.stat(path).st_mode & 0o777 == 0o644
