"""``skkeras-search``: the paper's random search, end to end, as one command.

The only package that prints or exits, and the only one that speaks in
flags. One module per stage, data flowing one way: ``_args`` (the flags)
-> ``_inputs`` (data and space, checked against the task's estimator) ->
``_plan`` (the search, computed once) -> ``_execute`` (local or Dask,
progress, failures) -> ``_outputs`` (the report and every artefact).
"""

from skkeras_search.cli._main import console_main, main

__all__ = ["main", "console_main"]
