"""`python -m paperflow`: the same command line as the `paperflow` script.

The one place the core reaches up to the `cli` package: an entry point, never imported.
"""

from __future__ import annotations

import sys

from cli.main import main

if __name__ == "__main__":
    sys.exit(main())
