"""The command starts quickly: its flags are read before anything heavy, TensorFlow imports beside.

``skkeras_search._core.backend.lazy_exports`` makes the package faces load
their names on first use, so ``import skkeras_search.cli`` imports neither
scikit-learn nor TensorFlow; ``cli._console.console_main`` parses the flags,
then starts TensorFlow's import in a thread only when the run will train.
Each check of the process's modules needs a fresh process.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from skkeras_search._core.backend import stderr_silenced

HEAVY = ("sklearn", "pandas", "scipy", "matplotlib", "tensorflow", "keras", "mlflow", "optuna",
         "skops", "dask", "tensorboard")

# Runs console_main with argv, recording which threads start; prints the facts as JSON.
_CONSOLE = """
    import json, sys, threading
    from skkeras_search.cli import _console
    started = []
    _start = threading.Thread.start
    threading.Thread.start = lambda self: (started.append(self.name), _start(self))[1]
    sys.argv = ["skkeras-search", *{argv!r}]
    try:
        code = _console.console_main()
    except SystemExit as exc:
        code = exc.code
    print(json.dumps({{"code": code, "background": started.count(_console.BACKEND_THREAD),
                      "imported": sorted(m for m in {heavy!r} if m in sys.modules)}}))
"""


def _python(code, timeout=300):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})


def _console(*argv):
    result = _python(_CONSOLE.format(argv=list(argv), heavy=HEAVY))
    assert result.stdout.strip(), result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


@pytest.mark.parametrize("module", ["skkeras_search", "skkeras_search.cli"])
def test_importing_the_package_or_the_command_imports_nothing_heavy(module):
    result = _python(f"import sys, {module}; "
                     f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    assert result.stdout.strip() == "[]", result.stderr[-2000:]


def test_public_names_still_import_and_old_pickle_paths_name_todays_modules():
    result = _python("""
        import json, skkeras_search
        from skkeras_search import KerasMLPClassifier, TPESearchCV, paper_space, __version__
        from skkeras_search.datasets import load, build_pipeline, DataError
        from skkeras_search.cli import main
        from skkeras_search._flat_layout import FLAT_MODULES
        import skkeras_search._classifier as old
        print(json.dumps({
            "all": [hasattr(skkeras_search, name) for name in skkeras_search.__all__],
            "dir": sorted(set(skkeras_search.__all__) - set(dir(skkeras_search))),
            "old": old.KerasMLPClassifier is KerasMLPClassifier,
            "table": {name: m.__name__ for name, m in FLAT_MODULES.items()}
                     == skkeras_search._OLD_PATHS}))
    """)
    assert result.returncode == 0, result.stderr[-2000:]
    facts = json.loads(result.stdout.strip().splitlines()[-1])
    assert facts == {"all": [True] * 14, "dir": [], "old": True, "table": True}


def test_an_unknown_name_is_an_attribute_error():
    import skkeras_search

    with pytest.raises(AttributeError, match="KerasMLPClassifer"):
        skkeras_search.KerasMLPClassifer  # noqa: B018


def test_argparse_errors_and_help_start_no_import():
    for argv in (["--n-iter", "many"], ["--help"], ["--version"]):
        facts, _ = _console(*argv)
        assert (facts["code"], facts["background"], facts["imported"]) == (
            2 if argv[0] == "--n-iter" else 0, 0, []), argv


def test_a_bad_number_flag_starts_no_tensorflow_import():
    facts, err = _console("--n-iter", "0", "--out", os.devnull)
    assert (facts["code"], facts["background"]) == (2, 0)
    assert "tensorflow" not in facts["imported"]
    assert err.strip().endswith("Use --n-iter 1 or more.")


def test_a_run_that_trains_imports_tensorflow_in_the_background(tmp_path):
    facts, err = _console("--n-iter", "1", "--epochs", "1", "--cv", "2", "-q",
                          "--out", str(tmp_path))
    assert (facts["code"], facts["background"]) == (0, 1), err[-2000:]
    assert (tmp_path / "report.json").exists()
    assert err == ""  # -q: nothing, not even TensorFlow's start-up chatter


def test_a_usage_error_found_in_the_data_is_shown_and_does_not_wait(tmp_path):
    # The thread silences descriptor 2 while it imports TensorFlow; the message goes through
    # sys.stderr's copy of it, and the process leaves without waiting for the import.
    missing = tmp_path / "missing.csv"
    result = subprocess.run([sys.executable, "-m", "skkeras_search", "--data", str(missing),
                             "--target", "y", "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "skkeras-search: error:" in result.stderr and "missing.csv" in result.stderr


def test_silencing_spares_a_copy_of_stderr(capfd, monkeypatch):
    copy = os.fdopen(os.dup(2), "w", buffering=1)
    monkeypatch.setattr(sys, "stderr", copy)
    with stderr_silenced():
        os.write(2, b"chatter\n")  # TensorFlow's C++ logs
        copy.write("ours\n")
    copy.close()
    err = capfd.readouterr().err
    assert "ours" in err and "chatter" not in err
