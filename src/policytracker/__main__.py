"""``python -m policytracker``: the command line."""

import sys

from policytracker.cli import main

sys.exit(main())
