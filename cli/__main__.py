"""`python -m cli`: the same command line as the `paperflow` script."""

import sys

from cli.main import main

if __name__ == "__main__":
    sys.exit(main())
