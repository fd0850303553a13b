"""``python -m aggregator.cli``: the same as the ``eco-aggregator`` console script."""

import sys

from . import main

sys.exit(main())
