"""`python -m solver` runs the filatherm command line."""

import sys

from solver.cli import main

sys.exit(main())
