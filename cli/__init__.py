"""The `paperflow` command line: above the core, the flows and the deployments it drives.

The Prefect-free core (`paperflow/`) never imports this package; `python -m paperflow` is the
one entry point that reaches up to it.
"""

from cli.main import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, build_parser, main

__all__ = ["EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]
