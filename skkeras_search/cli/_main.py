"""``main``: the stages in order, and the exit status.

The only module that exits. ``main(argv)`` returns 0 on success, 2 on usage
errors (bad flags, missing files, unknown columns), 1 on runtime failures
(unusable data, every fit failed, a dead worker, MLflow refusing the runs after
the results were written), 130 on Ctrl-C after
keeping what was finished. Data errors are printed in the command's
vocabulary (``--data x.csv``) through :func:`~skkeras_search.cli._args.in_flags`.
"""

import os
import sys
import traceback

from skkeras_search.cli._args import build_parser, in_flags
from skkeras_search.cli._execute import EveryFitFailed, SchedulerError, execute
from skkeras_search.cli._inputs import UsageError, read_inputs
from skkeras_search.cli._outputs import (
    interrupted_text,
    summary_text,
    write_interrupted,
    write_outputs,
)
from skkeras_search.cli._plan import make_plan
from skkeras_search.cli._tracking import TrackingError, log_to_mlflow
from skkeras_search.exceptions import DataError, DataUsageError

__all__ = ["main", "run_parsed", "run"]


def run(args, argv, stdout, stderr):
    """The experiment, stage by stage; returns the exit code."""
    inputs = read_inputs(args, argv, stderr)
    plan = make_plan(inputs)
    outcome = execute(inputs, plan, stderr)
    if outcome.status == "interrupted":
        stderr.write(interrupted_text(inputs, write_interrupted(inputs, plan, outcome)))
        return 130
    report = write_outputs(inputs, plan, outcome)
    stdout.write(summary_text(inputs, report))
    stdout.flush()
    if args.mlflow_uri:
        run_id = log_to_mlflow(inputs, plan, outcome, report)["mlflow"]["parent_run_id"]
        stdout.write(f"MLflow: parent run {run_id} at {args.mlflow_uri}"
                     + (f", experiment {args.mlflow_experiment!r}" if args.mlflow_experiment
                        else "") + "\n")
        stdout.flush()
    return 0


def _message(exc):
    """One line of ``exc``; data errors with their parameters as flags."""
    text = exc.render(in_flags) if isinstance(exc, DataError) else str(exc)
    return text.strip().splitlines()[0] if text.strip() else ""


def _own_stderr():
    """A private copy of stderr, so silencing TensorFlow's fd 2 spares our output."""
    try:
        fd = os.dup(sys.stderr.fileno())
    except (AttributeError, OSError, ValueError):
        return sys.stderr  # not a real file (in-process capture)
    return os.fdopen(fd, "w", buffering=1)


def main(argv=None):
    """Entry point of ``skkeras-search``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 on usage errors, 0 on --help
    return run_parsed(parser, args, argv)


def run_parsed(parser, args, argv):
    """:func:`main` after the flags were parsed: the run, its errors, the exit status."""
    stderr = _own_stderr()
    try:
        return run(args, argv, sys.stdout, stderr)
    except (UsageError, DataUsageError, SchedulerError) as exc:
        if args.debug:
            traceback.print_exc()
        parser.print_usage(sys.stderr)
        sys.stderr.write(f"skkeras-search: error: {_message(exc)}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted\n")
        return 130
    except TrackingError as exc:  # the results are written and summarised already
        sys.stderr.write(f"skkeras-search: error: {exc}\n")
        return 1
    except EveryFitFailed as exc:  # one line, then scikit-learn's report when no record
        sys.stderr.write(f"skkeras-search: error: {exc}\n")
        if exc.details:
            sys.stderr.write(exc.details + "\n")
        return 1
    except Exception as exc:  # one line, no traceback
        if args.debug:
            traceback.print_exc()
        kind = "" if isinstance(exc, DataError) else f"{type(exc).__name__}: "
        sys.stderr.write(f"skkeras-search: error: {kind}{_message(exc)}"
                         f"{'' if args.debug else ' (run with --debug for the traceback)'}\n")
        return 1
