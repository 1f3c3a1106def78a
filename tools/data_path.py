"""Follow the command's data path from ``--data`` to ``report.json``: which modules it enters.

Runs ``skkeras_search.cli.main`` in-process on a tiny search under
``sys.setprofile`` and records, in order, each call that a module of the
command makes into a different module of the package (its orchestration:
where the data goes next). Prints the modules entered in order and how many
times the path returns to a module it had already left (all calls the
command's modules make, and the calls of the hub, the module of ``main``), for the layout of
whatever ``skkeras_search`` is importable (``PYTHONPATH=<old checkout>`` for
an older one).

    python tools/data_path.py [--data table.csv --target y] [--json]
"""

import argparse
import json
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _is_command(module):
    """The command's own modules, in the flat layout (0.2) and in the wings (0.3)."""
    flat = {"skkeras_search.cli", "skkeras_search._prepare", "skkeras_search._search",
            "skkeras_search._report", "skkeras_search._plots", "skkeras_search._progress",
            "skkeras_search._tensorboard"}
    return module in flat or module.startswith("skkeras_search.cli.")


def trace(argv):
    """The sequence of (caller module, callee module) transitions the command makes."""
    from skkeras_search.cli import main

    steps = []

    def profile(frame, event, arg):
        if event != "call":
            return
        callee = frame.f_globals.get("__name__", "")
        caller_frame = frame.f_back
        caller = caller_frame.f_globals.get("__name__", "") if caller_frame else ""
        if (callee.startswith("skkeras_search") and callee != caller and _is_command(caller)):
            steps.append((caller, callee))

    sys.setprofile(profile)
    try:
        code = main(argv)
    finally:
        sys.setprofile(None)
    return code, steps


def summarise(steps, hub):
    """Modules in order of the path (consecutive repeats collapsed) and the returns.

    ``hub`` (the module of ``main``, which calls every stage) is left out of
    the path: coming back to it after each call is how a pipeline of stages
    reads, while coming back to any other module means the data went back.
    """
    path = []
    for caller, callee in steps:
        for module in (caller, callee):
            if module != hub and (not path or path[-1] != module):
                path.append(module)
    seen, returns = set(), 0
    for i, module in enumerate(path):
        if module in seen and path[i - 1] != module:
            returns += 1
        seen.add(module)
    stages = []
    for caller, callee in steps:
        if caller == hub and (not stages or stages[-1] != callee):
            stages.append(callee)
    stage_returns = sum(1 for i, m in enumerate(stages) if m in stages[:i])
    return {"hub": hub, "modules_entered": len(seen), "steps": len(path), "returns": returns,
            "path": path, "hub_calls": stages, "hub_returns": stage_returns}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args, rest = parser.parse_known_args(argv)
    with tempfile.TemporaryDirectory() as out:
        command = ["--n-iter", "2", "--cv", "2", "--epochs", "2", "--out", out, "-q", *rest]
        code, steps = trace(command)
    from skkeras_search.cli import main as command

    summary = summarise(steps, hub=command.__module__)
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        print(f"exit {code}: {summary['modules_entered']} modules entered besides the hub, "
              f"{summary['steps']} steps, {summary['returns']} returns to a module already left")
        print(" -> ".join(m.replace("skkeras_search.", "") for m in summary["path"]))
        print(f"the hub ({summary['hub']}) calls {len(set(summary['hub_calls']))} modules, "
              f"returning {summary['hub_returns']} times to one it had left:")
        print(" -> ".join(m.replace("skkeras_search.", "") for m in summary["hub_calls"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
