"""``skkeras-search``: the paper's random search, end to end, as one command.

The only package that prints or exits, and the only one that speaks in
flags (``_args.in_flags`` renders the library's keyword messages). One
module per stage, data flowing one way, each stage handing the next one
frozen object: ``_args`` (the flags) -> ``_inputs`` (``Inputs``: the checked
arguments, the data and ``--space``, checked against the task's estimator)
-> ``_plan`` (``Plan``: the search, its candidates, fits and rounds, computed
once) -> ``_execute`` (``Outcome``: local or Dask, progress, failures by type)
-> ``_outputs`` (one function per artefact). ``_main.main`` calls them in
turn; ``_console.console_main`` (the console script) parses the flags before
importing the stages, and imports TensorFlow beside them. Beside the stages:
``_progress`` (the live progress of any worker),
``_report`` (the report's content and the summary), ``_plots`` and
``_tensorboard`` (those artefacts).
"""

from skkeras_search._core.backend import lazy_exports
from skkeras_search.cli._console import console_main

#: ``main`` imports every stage (scikit-learn with them): loaded on first use.
__getattr__, __dir__ = lazy_exports(__name__, {"main": "skkeras_search.cli._main"})

__all__ = ["main", "console_main"]
