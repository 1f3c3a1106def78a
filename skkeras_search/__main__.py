"""``python -m skkeras_search`` is the ``skkeras-search`` command."""

import sys

from .cli import console_main

sys.exit(console_main())
