"""``console_main``: the ``skkeras-search`` command's own process, started quickly.

The console script owns its process, so it may do what the library must not
(start a thread, change ``sys.stderr``, leave without Python's teardown):

1. The flags are parsed before anything heavy is imported (the package
   faces load their names on first use), so ``--help``, ``--version`` and
   argparse's usage errors answer at once, importing neither scikit-learn
   nor TensorFlow.
2. Every run whose flags pass :func:`~skkeras_search.cli._args.check_numbers`
   (and the other checks of a flag's value alone) trains, so TensorFlow and Keras start importing in a
   background thread (through :mod:`~skkeras_search._core.backend`'s locked
   loader) while this thread imports the stages (scikit-learn, pandas,
   SciPy), reads the data, builds the plan and prints the banner. The fit's
   own ``backend.keras()`` then waits for the thread's import to finish (on
   the backend's lock, or on the module's import lock), and a failed
   import is reported there, as without the thread.
3. ``sys.stderr`` is pointed at a copy of file descriptor 2 first: the
   backend silences descriptor 2 during the import (TensorFlow's C++
   logs), and the command's messages and Python's warnings must not vanish
   with them.
4. A run that ends before its first fit (a usage error found in the data,
   Ctrl-C) does not wait for the import: it leaves with ``os._exit`` once
   its output is flushed. A finished run freezes the garbage collector, which
   spares the process a one-by-one teardown of TensorFlow's objects at exit
   (about 0.9 s of a cold run, measured in ``benchmarks/bench_search.py``'s
   whole-process timings).

``main`` called from Python (the tests, a notebook) does none of this.
"""

import gc
import importlib
import os
import sys
import threading

from skkeras_search._core import backend as _backend
from skkeras_search.cli._args import UsageError, batch_size, build_parser, check_numbers, table_sep

__all__ = ["console_main", "BACKEND_THREAD"]

#: The background import's thread name (tests look for it).
BACKEND_THREAD = "skkeras-search-import-tensorflow"


def console_main():
    """The ``skkeras-search`` console script; returns the exit status."""
    argv = sys.argv[1:]
    parser = build_parser()
    args = parser.parse_args(argv)  # --help, --version, usage errors: exit here, nothing imported
    sys.stderr = _stderr_copy()
    importing = threading.Thread(target=_import_backend, name=BACKEND_THREAD, daemon=True)
    if _flags_are_usable(args):  # else the inputs stage refuses them, as without the thread
        importing.start()
    try:
        stages = importlib.import_module("skkeras_search.cli._main")  # beside TensorFlow's import
        code = stages.run_parsed(parser, args, argv)
    except KeyboardInterrupt:  # Ctrl-C while the stages were still importing
        sys.stderr.write("\ninterrupted\n")
        code = 130
    sys.stdout.flush()
    sys.stderr.flush()
    if importing.is_alive():  # no fit ran: TensorFlow is not needed, don't wait for it
        os._exit(code)
    gc.freeze()
    return code


def _flags_are_usable(args):
    """Whether the flags whose value alone can be wrong are right (the run will train)."""
    try:
        check_numbers(args)
        table_sep(args)
        batch_size(args.batch_size)
    except UsageError:
        return False
    return True


def _import_backend():
    """The background thread: TensorFlow and Keras, configured; errors are left to the fit."""
    try:
        _backend.keras()
    except Exception:  # noqa: S110 - the fit's own backend.keras() raises it again, in its place
        pass


def _stderr_copy():
    """``sys.stderr`` on a copy of descriptor 2 (unchanged when it is not a real file)."""
    try:
        fd = os.dup(sys.stderr.fileno())
    except (AttributeError, OSError, ValueError):
        return sys.stderr
    return os.fdopen(fd, "w", buffering=1, encoding=sys.stderr.encoding,
                     errors=sys.stderr.errors)
