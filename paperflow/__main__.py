"""`python -m paperflow`: the same command line as the `paperflow` script."""

from __future__ import annotations

import sys

from paperflow.cli import main

if __name__ == "__main__":
    sys.exit(main())
