"""Starting a child whose Ctrl-C test can work, and reading whether it can (Linux).

A process started in the background by a non-interactive shell (``pytest ... &``,
nohup, some CI runners) ignores SIGINT; an ignored signal stays ignored across fork
and exec, and Python then installs no KeyboardInterrupt handler: the command, rightly
for a background job, would not see the test's Ctrl-C and would run its whole search.
"""

import signal

__all__ = ["WITH_SIGINT", "SIGINT_READY", "sigint_state"]

#: ``[sys.executable, "-c", WITH_SIGINT, program, *args]`` runs ``program`` with SIGINT at
#: its default and unblocked, whatever the test process has (same pid: it execs).
WITH_SIGINT = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
               "signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT]); "
               "os.execv(sys.argv[1], sys.argv[1:])")
#: SIGINT's bits of a Python process that will raise KeyboardInterrupt on it.
SIGINT_READY = {"SigBlk": False, "SigIgn": False, "SigCgt": True}


def sigint_state(pid):
    """SIGINT's bits in /proc/<pid>/status (blocked, ignored, caught); None off Linux."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            fields = dict(line.rstrip("\n").split(":\t", 1) for line in fh if ":\t" in line)
    except FileNotFoundError:
        return None
    bit = 1 << (signal.SIGINT - 1)
    return {name: bool(int(fields[name], 16) & bit) for name in SIGINT_READY}
