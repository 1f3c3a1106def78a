"""``python -m skkeras_search`` is the ``skkeras-search`` command."""

import sys

from skkeras_search.cli import console_main

sys.exit(console_main())
