"""Run scikeras 0.13's own test suite against ``skkeras_search.scikeras`` (issue 17).

Extracts scikeras's ``tests/`` folder (tag v0.13.0, commit e92a7dc4 by
default) into a temporary folder, rewrites its imports the way issue 17's
"Done when" allows, and nothing else:

* ``from scikeras... import ...`` -> ``from skkeras_search.scikeras... import ...``
  (and ``import scikeras[.x]`` -> ``import skkeras_search.scikeras[.x] as ...``
  so the bound name stays the same; the v0.13.0 tests have none);
* ``from keras.src.backend.common.variables import KerasVariable`` ->
  ``from keras import Variable as KerasVariable`` (Keras 3.15 renamed it).

Then runs pytest on the copy in a subprocess (``-p no:cacheprovider -q -rfE``)
and prints collected / passed / failed / errors / skipped / xfailed / xpassed,
the pass rate (passed / collected; xfail and skips count as not passed), and
how long collection took. Per-test outcomes are recorded by a small pytest
plugin written next to the copy (not into it), line by line, so a run killed
by ``--run-timeout`` still reports what it had done. This script does not
import TensorFlow or Keras itself.

Where the tests come from (one of):

    --scikeras-git DIR   a (bare) git dir of github.com/adriangb/scikeras;
                         --rev picks the tree (default v0.13.0, falling back to
                         e92a7dc466cef81b041740978cc047594fea6b4d)
    --tests DIR          an already extracted ``tests/`` folder

What it runs against:

    --target skkeras     (default) the rewritten tests; this checkout's root is
                         put first on PYTHONPATH so its ``skkeras_search`` is used
    --target scikeras    the tests with only the KerasVariable line rewritten,
                         against a real scikeras (reference run); give its
                         location with --pythonpath DIR (e.g. a
                         ``pip install --no-deps --target DIR scikeras==0.13.0``)
                         or --python of a venv that has it

Examples:

    python tools/scikeras_suite.py --scikeras-git /path/to/scikeras.git
    python tools/scikeras_suite.py --tests /tmp/skt/tests -k "test_api" -x
    python tools/scikeras_suite.py --scikeras-git G --json out.json --run-timeout 1800
    python tools/scikeras_suite.py --scikeras-git G --target scikeras \\
        --pythonpath /tmp/scikeras-ref/site
    python tools/scikeras_suite.py --scikeras-git G --collect-only

Exit status: 0 when the pass rate reaches --min-rate (default 0.9), 1 when
it does not, 2 on a usage or setup error.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

DEFAULT_REV = "v0.13.0"
FALLBACK_REV = "e92a7dc466cef81b041740978cc047594fea6b4d"
# Tests collected from v0.13.0's tests/ by a real scikeras 0.13.0 on scikit-learn 1.9.1
# and Keras 3.15.1 (test_scikit_learn_checks.py's count follows scikit-learn's checks).
REFERENCE_COLLECTED = 511
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

KERAS_VARIABLE_OLD = "from keras.src.backend.common.variables import KerasVariable"
KERAS_VARIABLE_NEW = "from keras import Variable as KerasVariable"

_FROM_RE = re.compile(r"^([ \t]*from[ \t]+)scikeras(?=[\s.])", re.MULTILINE)
_IMPORT_RE = re.compile(r"^([ \t]*import[ \t]+)(scikeras(?:\.\w+)*)(\s+as\s+\w+)?[ \t]*$",
                        re.MULTILINE)

# The recorder plugin: one JSON line per test phase result, plus timing marks.
_PLUGIN = r'''
import json
import os
import time

_PATH = os.environ["SCIKERAS_SUITE_RECORD"]
_T0 = time.monotonic()


def _write(obj):
    with open(_PATH, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(obj) + "\n")


def pytest_sessionstart(session):
    from importlib import metadata

    import sklearn

    versions = {"scikit-learn": sklearn.__version__}
    for name in ("keras", "tensorflow", "numpy", "scikeras"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    _write({"event": "sessionstart", "t": time.monotonic() - _T0, "versions": versions})


def pytest_collectreport(report):
    if report.failed:
        _write({"event": "collecterror", "nodeid": report.nodeid,
                "longrepr": str(report.longrepr)[-4000:]})


def pytest_collection_finish(session):
    _write({"event": "collected", "t": time.monotonic() - _T0,
            "nodeids": [item.nodeid for item in session.items]})


def pytest_runtest_logreport(report):
    entry = {"event": "report", "nodeid": report.nodeid, "when": report.when,
             "outcome": report.outcome, "duration": report.duration,
             "xfail": hasattr(report, "wasxfail")}
    if report.failed or report.skipped:
        entry["longrepr"] = str(report.longrepr)[-4000:]
    _write(entry)


def pytest_sessionfinish(session, exitstatus):
    _write({"event": "sessionfinish", "t": time.monotonic() - _T0,
            "exitstatus": int(exitstatus)})
'''


def rewrite_source(text, target):
    """Return (new_text, list of (old_line, new_line)) for one test module."""
    changes = []

    def _keep(old, new):
        if old != new:
            changes.append((old.strip(), new.strip()))
        return new

    if KERAS_VARIABLE_OLD in text:
        text = text.replace(KERAS_VARIABLE_OLD, KERAS_VARIABLE_NEW)
        changes.append((KERAS_VARIABLE_OLD, KERAS_VARIABLE_NEW))
    if target != "skkeras":
        return text, changes

    def _from(match):
        line_end = text.find("\n", match.start())
        old = text[match.start():line_end if line_end >= 0 else len(text)]
        new = match.group(1) + "skkeras_search.scikeras"
        _keep(old, new + old[len(match.group(0)):])
        return new

    def _import(match):
        prefix, dotted, alias = match.group(1), match.group(2), match.group(3)
        new_dotted = "skkeras_search." + dotted
        if alias:
            new = f"{prefix}{new_dotted}{alias}"
        elif "." in dotted:
            # ``import scikeras.wrappers`` binds ``scikeras``; keep that name.
            new = f"{prefix}skkeras_search.scikeras as scikeras; import {new_dotted}"
        else:
            new = f"{prefix}{new_dotted} as scikeras"
        return _keep(match.group(0), new)

    text = _FROM_RE.sub(_from, text)
    text = _IMPORT_RE.sub(_import, text)
    return text, changes


def resolve_rev(git_dir, rev):
    """The commit sha of ``rev`` in ``git_dir`` (falls back to the known commit)."""
    for candidate in ([rev] if rev != DEFAULT_REV else [rev, FALLBACK_REV]):
        proc = subprocess.run(["git", "--git-dir", git_dir, "rev-parse", "--verify", "-q",
                               candidate + "^{commit}"], capture_output=True, text=True)
        if proc.returncode == 0:
            return candidate, proc.stdout.strip()
    raise SystemExit(f"error: {rev!r} not found in {git_dir}")


def extract_tests(args, dest):
    """Put scikeras's tests/ at ``dest/tests``; return a description of the source."""
    if args.tests:
        src = os.path.abspath(args.tests)
        if not os.path.isfile(os.path.join(src, "conftest.py")):
            raise SystemExit(f"error: {src} has no conftest.py; is it scikeras's tests/?")
        shutil.copytree(src, os.path.join(dest, "tests"),
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        return {"tests": src}
    rev, sha = resolve_rev(args.scikeras_git, args.rev)
    archive = subprocess.run(["git", "--git-dir", args.scikeras_git, "archive", sha, "tests"],
                             capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", dest], input=archive.stdout, check=True)
    return {"git_dir": os.path.abspath(args.scikeras_git), "rev": rev, "commit": sha}


def rewrite_tree(tests_dir, target):
    """Rewrite every .py file under ``tests_dir`` in place; return the changes made."""
    all_changes = {}
    for root, _dirs, files in os.walk(tests_dir):
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            path = os.path.join(root, name)
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
            new_text, changes = rewrite_source(text, target)
            if changes:
                with open(path, "w", encoding="utf-8") as fh:
                    fh.write(new_text)
                all_changes[os.path.relpath(path, os.path.dirname(tests_dir))] = changes
    return all_changes


def has_module(python, module, env):
    probe = f"import importlib.util,sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
    return subprocess.run([python, "-c", probe], env=env, capture_output=True).returncode == 0


def summarize(record_path):
    """Fold the recorder's lines into per-test outcomes and timing."""
    tests, order, collect_errors = {}, [], []
    times = {}
    collected = None
    if not os.path.exists(record_path):
        return {"collected": None, "tests": {}, "collect_errors": [], "times": {}}
    with open(record_path, encoding="utf-8") as fh:
        for line in fh:
            try:
                ev = json.loads(line)
            except ValueError:
                continue  # a line cut short by a kill
            kind = ev["event"]
            if kind == "collected":
                collected = ev["nodeids"]
                times["collection_s"] = ev["t"]
            elif kind in ("sessionstart", "sessionfinish"):
                times[kind + "_s"] = ev["t"]
                if "versions" in ev:
                    times["versions"] = ev["versions"]
                if kind == "sessionfinish":
                    times["exitstatus"] = ev["exitstatus"]
            elif kind == "collecterror":
                collect_errors.append({"nodeid": ev["nodeid"], "longrepr": ev["longrepr"]})
            elif kind == "report":
                rec = tests.setdefault(ev["nodeid"], {"outcome": None, "duration": 0.0})
                if ev["nodeid"] not in order:
                    order.append(ev["nodeid"])
                rec["duration"] += ev["duration"]
                when, outcome = ev["when"], ev["outcome"]
                if outcome == "failed":
                    # A failing setup/teardown is an error; a failing call is a failure.
                    rec["outcome"] = "failed" if when == "call" else "error"
                    rec.setdefault("longrepr", ev.get("longrepr", ""))
                elif outcome == "skipped" and rec["outcome"] is None:
                    rec["outcome"] = "xfailed" if ev["xfail"] else "skipped"
                    rec["longrepr"] = ev.get("longrepr", "")
                elif outcome == "passed" and when == "call" and rec["outcome"] is None:
                    rec["outcome"] = "xpassed" if ev["xfail"] else "passed"
    for nodeid in collected or []:
        tests.setdefault(nodeid, {"outcome": "not run", "duration": 0.0})
    for rec in tests.values():
        if rec["outcome"] is None:
            rec["outcome"] = "not run"  # set up, then the run was killed
    return {"collected": collected, "tests": tests, "collect_errors": collect_errors,
            "times": times}


def _portable(text):
    """``text`` without this machine's paths: the environment as <env>, this checkout as <repo>."""
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    text = text.replace(sys.prefix + os.sep, "<env>/").replace(repo + os.sep, "<repo>/")
    return re.sub(r"\S*scikeras_suite_\w+/", "<suite>/", text)  # the temporary copy of tests/


def _first_line(longrepr):
    lines = [ln for ln in (longrepr or "").splitlines() if ln.strip()]
    for ln in reversed(lines):
        if ln.lstrip().startswith("E "):
            return _portable(ln.strip())[:200]
    return _portable(lines[-1].strip())[:200] if lines else ""


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Run scikeras 0.13's tests against skkeras_search.scikeras "
                    "(or against a real scikeras, --target scikeras).",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--scikeras-git", metavar="DIR",
                     help="git dir of adriangb/scikeras (bare is fine)")
    src.add_argument("--tests", metavar="DIR", help="an extracted scikeras tests/ folder")
    parser.add_argument("--rev", default=DEFAULT_REV,
                        help="tag or commit with --scikeras-git (default %(default)s)")
    parser.add_argument("--target", choices=("skkeras", "scikeras"), default="skkeras",
                        help="skkeras: rewritten imports (default); scikeras: reference run")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter that runs pytest (default: this one)")
    parser.add_argument("--pythonpath", action="append", default=[], metavar="DIR",
                        help="prepend DIR to PYTHONPATH (repeatable); with --target "
                             "skkeras this checkout's root is prepended as well")
    parser.add_argument("-k", dest="keyword", help="pytest -k expression")
    parser.add_argument("-x", "--exitfirst", action="store_true", help="pytest -x")
    parser.add_argument("--timeout", type=float, metavar="S",
                        help="per-test limit, passed to pytest-timeout (warned and "
                             "ignored when the plugin is not installed)")
    parser.add_argument("--run-timeout", type=float, metavar="S",
                        help="wall-clock limit for the whole pytest run; outcomes "
                             "recorded until then are still reported")
    parser.add_argument("--collect-only", action="store_true", help="pytest --collect-only")
    parser.add_argument("--pytest-arg", action="append", default=[], metavar="ARG",
                        help="extra argument for pytest (repeatable), e.g. "
                             "--pytest-arg=-n2 or --pytest-arg=tests/test_api.py")
    parser.add_argument("--json", metavar="OUT", help="write per-test outcomes as JSON")
    parser.add_argument("--keep", metavar="DIR",
                        help="extract into DIR (kept afterwards) instead of a temp folder")
    parser.add_argument("--expected", type=int, default=REFERENCE_COLLECTED,
                        help="tests the suite should collect; the pass rate is passed / "
                             "max(collected, this), so a module that fails to import "
                             "counts against it (default %(default)s; 0: collected only)")
    parser.add_argument("--min-rate", type=float, default=0.9,
                        help="pass rate for exit status 0 (default %(default)s)")
    parser.add_argument("--quiet-pytest", action="store_true",
                        help="do not echo pytest's own output")
    args = parser.parse_args(argv)

    if args.keep:
        work = os.path.abspath(args.keep)
        if os.path.exists(os.path.join(work, "tests")):
            parser.error(f"{work}/tests exists already")
        os.makedirs(work, exist_ok=True)
        cleanup = None
    else:
        cleanup = tempfile.TemporaryDirectory(prefix="scikeras_suite_")
        work = cleanup.name
    try:
        return _run(args, work)
    finally:
        if cleanup is not None:
            cleanup.cleanup()


def _run(args, work):
    source = extract_tests(args, work)
    tests_dir = os.path.join(work, "tests")
    changes = rewrite_tree(tests_dir, args.target)
    print(f"scikeras tests from {source}; target {args.target}")
    for path, items in changes.items():
        for old, new in items:
            print(f"  {path}: {old}  ->  {new}")

    plugin_dir = os.path.join(work, "_plugin")
    os.makedirs(plugin_dir)
    with open(os.path.join(plugin_dir, "_scikeras_suite_recorder.py"), "w",
              encoding="utf-8") as fh:
        fh.write(_PLUGIN)
    record = os.path.join(work, "record.jsonl")

    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env["SCIKERAS_SUITE_RECORD"] = record
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    paths = [plugin_dir] + [os.path.abspath(p) for p in args.pythonpath]
    if args.target == "skkeras":
        paths.append(REPO_ROOT)
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)

    cmd = [args.python, "-m", "pytest", "-p", "no:cacheprovider", "-p",
           "_scikeras_suite_recorder", "-q", "-rfE", "--rootdir", work,
           "--continue-on-collection-errors"]
    if args.keyword:
        cmd += ["-k", args.keyword]
    if args.exitfirst:
        cmd.append("-x")
    if args.collect_only:
        cmd.append("--collect-only")
    if args.timeout:
        if has_module(args.python, "pytest_timeout", env):
            cmd += ["--timeout", str(args.timeout)]
        else:
            print("warning: pytest-timeout is not installed; --timeout ignored "
                  "(--run-timeout limits the whole run)", file=sys.stderr)
    cmd += args.pytest_arg
    if not any(a.startswith("tests") for a in args.pytest_arg):
        cmd.append("tests")
    print("running:", " ".join(cmd), f"(cwd {work})", flush=True)

    t0 = time.monotonic()
    out = None if not args.quiet_pytest else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=out, stderr=out,
                            start_new_session=True)
    killed = False
    try:
        rc = proc.wait(timeout=args.run_timeout)
    except subprocess.TimeoutExpired:
        killed = True
        os.killpg(proc.pid, 15)
        try:
            rc = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            rc = proc.wait()
    wall = time.monotonic() - t0

    result = summarize(record)
    return _report(args, source, changes, result, rc, wall, killed)


def _report(args, source, changes, result, rc, wall, killed):
    tests = result["tests"]
    counts = {}
    for rec in tests.values():
        counts[rec["outcome"]] = counts.get(rec["outcome"], 0) + 1
    collected = len(result["collected"]) if result["collected"] is not None else None
    passed = counts.get("passed", 0)
    denominator = max(collected or 0, args.expected)
    selected = any(a.startswith("tests") for a in args.pytest_arg)
    if args.keyword or args.collect_only or args.exitfirst or killed or selected:
        denominator = collected or 0  # a partial run: rate over what it collected
    rate = passed / denominator if denominator else 0.0
    per_file = {}
    for nodeid, rec in tests.items():
        f = per_file.setdefault(nodeid.split("::")[0], {})
        f[rec["outcome"]] = f.get(rec["outcome"], 0) + 1

    print()
    print("=" * 72)
    print(f"scikeras suite, target {args.target}: pytest exit {rc}"
          + (" (killed by --run-timeout)" if killed else "") + f", wall {wall:.1f} s")
    if "collection_s" in result["times"]:
        print(f"collection: {result['times']['collection_s']:.1f} s "
              f"(pytest start, Keras import by conftest included, to end of collection)")
    print(f"collected {collected}  passed {passed}  failed {counts.get('failed', 0)}  "
          f"errors {counts.get('error', 0)}  skipped {counts.get('skipped', 0)}  "
          f"xfailed {counts.get('xfailed', 0)}  xpassed {counts.get('xpassed', 0)}  "
          f"not run {counts.get('not run', 0)}")
    if result["collect_errors"]:
        print(f"collection errors in {len(result['collect_errors'])} module(s) "
              "(their tests are not collected):")
        for err in result["collect_errors"]:
            print(f"  {err['nodeid']}: {_first_line(err['longrepr'])}")
    ran = denominator - counts.get("skipped", 0) - counts.get("xfailed", 0)
    print(f"pass rate without skips/xfails: {passed}/{ran} = "
          f"{passed / ran if ran > 0 else 0.0:.1%} (scikeras itself skips ~100 of "
          "test_scikit_learn_checks.py's tests by design)")
    print(f"pass rate: {passed}/{denominator} = {rate:.1%} (goal {args.min_rate:.0%}; "
          f"denominator max(collected, --expected {args.expected}), or collected "
          "for a partial run)")
    if "versions" in result["times"]:
        print("versions in the test process: " + ", ".join(
            f"{k} {v}" for k, v in result["times"]["versions"].items()))
    print("per file (passed/total):")
    for f in sorted(per_file):
        c = per_file[f]
        print(f"  {f:45s} {c.get('passed', 0):4d}/{sum(c.values()):4d}  "
              + " ".join(f"{k}={v}" for k, v in sorted(c.items()) if k != "passed"))

    if args.json:
        payload = {"source": source, "target": args.target, "rewrites": changes,
                   "pytest_exit": rc, "killed": killed, "wall_s": wall,
                   "times": result["times"], "collected": collected,
                   "counts": counts, "denominator": denominator, "pass_rate": rate, "per_file": per_file,
                   "collect_errors": result["collect_errors"],
                   "tests": {k: {"outcome": v["outcome"],
                                 "duration": round(v["duration"], 3),
                                 "message": _first_line(v.get("longrepr", ""))}
                             for k, v in tests.items()}}
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=1)
        print(f"per-test outcomes written to {args.json}")
    if collected is None:
        return 2
    return 0 if rate >= args.min_rate else 1


if __name__ == "__main__":
    sys.exit(main())
