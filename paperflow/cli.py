"""The `paperflow` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _cmd_eval(args: argparse.Namespace) -> int:
    from paperflow.evaluate import evaluate
    from paperflow.pipeline import extract_paper

    report = evaluate(Path(args.directory), extract_paper, only=args.only,
                      progress=lambda pid: print(f"  scored {pid}", file=sys.stderr))
    print("## Per field (%d papers)\n" % len(report.papers))
    print(report.field_table())
    print("\n## Per paper (soft matches / expected)\n")
    print(report.paper_table())
    if args.json:
        import json

        Path(args.json).write_text(json.dumps(report.to_dict(), indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="paperflow", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("eval", help="score extraction against ground truth (*.gt.json + PDFs)")
    ev.add_argument("directory", help="folder holding <id>.pdf and <id>.gt.json files")
    ev.add_argument("--only", nargs="*", default=[], help="paper ids (substrings) to score")
    ev.add_argument("--json", help="also write the scores as JSON to this file")
    ev.set_defaults(func=_cmd_eval)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
