"""``python -m firmware_sim.demo`` (``make demo``)."""

import sys

from . import main

sys.exit(main())
