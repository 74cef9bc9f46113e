"""`python -m tapegrad ...` runs the command line (tapegrad/cli.py)."""

import sys

from tapegrad.cli import main

sys.exit(main())
