"""``python -m skkeras_search`` is the ``skkeras-search`` command."""

import sys

from .cli import main

sys.exit(main())
