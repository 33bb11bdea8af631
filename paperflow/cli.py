"""The `paperflow` command line.

Exit codes: 0 everything succeeded; 1 at least one source failed (the others are still
processed and written); 2 the command line itself is wrong; 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _prepare_prefect_env(verbose: bool) -> None:
    """Quiet, offline-friendly Prefect defaults for one-off local runs (explicit env wins)."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO" if verbose else "WARNING")
    os.environ.setdefault("PREFECT_LOGGING_LOGGERS_PREFECT_FLOW_RUNS_LEVEL", "INFO")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")


def _output_name(source: str, used: set[str]) -> str:
    from paperflow.sources import arxiv_id_of, classify

    kind = classify(source) if source.strip() else "path"
    if kind == "arxiv":
        stem = (arxiv_id_of(source) or "paper").replace("/", "_")
    else:
        stem = Path(source.split("?", 1)[0].rstrip("/")).stem or "paper"
    name, n = stem, 2
    while name in used:
        name, n = f"{stem}-{n}", n + 1
    used.add(name)
    return f"{name}.json"


def _cmd_process(args: argparse.Namespace) -> int:
    if args.out and len(args.sources) > 1:
        print("paperflow: --out takes one source; use --out-dir for several.", file=sys.stderr)
        return EXIT_USAGE
    _prepare_prefect_env(args.verbose)
    from paperflow.report import text_summary
    from paperflow.settings import reload_settings

    reload_settings()
    from flows.process_paper import ProcessOptions, process_paper

    options = ProcessOptions(figures=not args.no_figures, preview=not args.no_preview,
                             refresh_cache=args.refresh)
    out_dir = Path(args.out_dir) if args.out_dir else None
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    failures = 0
    for index, source in enumerate(args.sources, 1):
        print(f"[{index}/{len(args.sources)}] {source}: processing…", file=sys.stderr, flush=True)
        state = process_paper(source, options, return_state=True)
        if not state.is_completed():
            failures += 1
            message = _failure_message(state)
            print(f"[{index}/{len(args.sources)}] {source}: FAILED — {message}", file=sys.stderr)
            continue
        result = state.result()
        body = result.model_dump_json(indent=2)
        target = Path(args.out) if args.out else (out_dir / _output_name(source, used)
                                                  if out_dir else None)
        if target:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(target.suffix + ".part")
            tmp.write_text(body)
            tmp.replace(target)
        print(f"[{index}/{len(args.sources)}] {source}: done", file=sys.stderr)
        if args.json:
            print(body)
        else:
            print(text_summary(result))
            if target:
                print(f"Written:    {target}")
            print()
    if failures:
        print(f"paperflow: {failures} of {len(args.sources)} sources failed.", file=sys.stderr)
    return EXIT_FAILED if failures else EXIT_OK


def _failure_message(state: object) -> str:
    try:
        state.result()  # type: ignore[attr-defined]
    except BaseException as exc:
        return f"{type(exc).__name__}: {exc}"
    return str(getattr(state, "message", "") or "unknown failure")


def _cmd_eval(args: argparse.Namespace) -> int:
    from paperflow.evaluate import evaluate_many
    from paperflow.pipeline import extract_paper

    directories = [Path(d) for d in args.directories]
    report = evaluate_many(directories, extract_paper, only=args.only,
                           progress=lambda pid: print(f"  scored {pid}", file=sys.stderr))
    print(f"## Per field ({len(report.papers)} papers)\n")
    print(report.field_table())
    print("\n## Per template (soft F1 per field; template from the gt, else the folder)\n")
    print(report.group_table())
    print("\n## Per paper (soft matches / expected)\n")
    print(report.paper_table())
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_dict(), indent=2))
    errors = [p for p in report.papers if p.error]
    return EXIT_FAILED if errors else EXIT_OK


def _cmd_schema(args: argparse.Namespace) -> int:
    from paperflow.models import json_schema_text

    if args.out:
        Path(args.out).write_text(json_schema_text() + "\n")
    else:
        print(json_schema_text())
    return EXIT_OK


def _cmd_stack(args: argparse.Namespace) -> int:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from deployments.stack import default_stack

    stack = default_stack()
    try:
        lines = stack.up(s3=args.s3) if args.command == "up" else stack.down()
    except (RuntimeError, TimeoutError, ValueError) as exc:
        print(f"paperflow {args.command}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print("\n".join(lines))
    return EXIT_OK


def _cmd_blocks(args: argparse.Namespace) -> int:
    _prepare_prefect_env(False)
    from deployments.blocks import register_blocks
    from paperflow.settings import reload_settings

    for name, outcome in register_blocks(reload_settings()).items():
        print(f"{name}: {outcome}")
    return EXIT_OK


def _print_hits(hits: list, as_json: bool) -> None:
    if as_json:
        print(json.dumps([hit.model_dump(mode="json") for hit in hits], indent=2,
                         ensure_ascii=False))
        return
    if not hits:
        print("No papers found (is anything indexed? `paperflow index`).")
    for hit in hits:
        print(f"{hit.rank:>3}  {hit.score:6.3f}  {(hit.title or '(untitled)')[:90]}  {hit.sha256}")


def _cmd_index(args: argparse.Namespace) -> int:
    from paperflow.embeddings import get_embedder
    from paperflow.settings import reload_settings
    from paperflow.storage import get_storage
    from paperflow.vectors import get_vector_store, index_stored

    settings = reload_settings()
    embedder = get_embedder(settings)
    store = get_vector_store(embedder.model, settings)
    report = index_stored(get_storage(settings), embedder, store, settings, refresh=args.refresh,
                          progress=lambda sha, what: print(f"  {what} {sha}", file=sys.stderr))
    print(f"Indexed {len(report.added)} papers, {len(report.skipped)} already indexed, "
          f"{len(report.failed)} failed ({embedder.model} in {store.name}).")
    for sha, error in report.failed.items():
        print(f"paperflow index: {sha}: {error}", file=sys.stderr)
    return EXIT_FAILED if report.failed else EXIT_OK


def _cmd_search(args: argparse.Namespace) -> int:
    from paperflow.errors import PaperflowError
    from paperflow.settings import reload_settings
    from paperflow.vectors import search_text

    try:
        hits = search_text(args.query, args.k, reload_settings())
    except PaperflowError as exc:
        print(f"paperflow search: {exc}", file=sys.stderr)
        return EXIT_FAILED
    _print_hits(hits, args.json)
    return EXIT_OK


def _cmd_similar(args: argparse.Namespace) -> int:
    from paperflow.errors import PaperflowError
    from paperflow.settings import reload_settings
    from paperflow.vectors import similar_to

    try:
        answer = similar_to(args.source, args.k, reload_settings())
    except PaperflowError as exc:
        print(f"paperflow similar: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if not args.json:
        print(f"Papers like {answer.title or '(untitled)'} ({answer.sha256}, {answer.how}):",
              file=sys.stderr)
    _print_hits(answer.hits, args.json)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paperflow", description="Scientific papers in, structured metadata out.")
    sub = parser.add_subparsers(dest="command", required=True)

    process = sub.add_parser(
        "process", help="extract metadata from papers (paths, URLs, arXiv ids)",
        description="Run the process-paper flow on each source, on Prefect's embedded server "
                    "(or the server PREFECT_API_URL names).")
    process.add_argument("sources", nargs="+", metavar="SOURCE",
                         help="a PDF path, http(s) URL, arXiv id (2304.02623) or s3:// URI")
    target = process.add_mutually_exclusive_group()
    target.add_argument("--out", help="write the JSON result of the (single) source here")
    target.add_argument("--out-dir", help="write <stem>.json per source into this folder")
    process.add_argument("--json", action="store_true", help="print the JSON, not a summary")
    process.add_argument("--refresh", action="store_true", help="ignore cached results")
    process.add_argument("--no-figures", action="store_true", help="skip figure extraction")
    process.add_argument("--no-preview", action="store_true", help="skip the page-1 preview")
    process.add_argument("-v", "--verbose", action="store_true", help="show every task's log")
    process.set_defaults(func=_cmd_process)

    ev = sub.add_parser("eval", help="score extraction against ground truth (*.gt.json + PDFs)")
    ev.add_argument("directories", nargs="+", metavar="directory",
                    help="folders holding <id>.pdf and <id>.gt.json files")
    ev.add_argument("--only", nargs="*", default=[], help="paper ids (substrings) to score")
    ev.add_argument("--json", help="also write the scores as JSON to this file")
    ev.set_defaults(func=_cmd_eval)

    schema = sub.add_parser("schema", help="print the result's JSON Schema")
    schema.add_argument("--out", help="write it to this file instead")
    schema.set_defaults(func=_cmd_schema)

    blocks = sub.add_parser("blocks", help="save the Prefect blocks the environment describes")
    blocks.add_argument("action", choices=["register"],
                        help="register: create or update S3 and Secret blocks (idempotent)")
    blocks.set_defaults(func=_cmd_blocks)

    index = sub.add_parser("index", help="embed every stored paper not yet in the vector store")
    index.add_argument("--refresh", action="store_true", help="re-embed every stored paper")
    index.set_defaults(func=_cmd_index)
    search = sub.add_parser("search", help="find stored papers by meaning: a query text")
    search.add_argument("query", help="what the papers should be about")
    search.add_argument("-k", type=int, default=10, help="how many papers (default 10)")
    search.add_argument("--json", action="store_true", help="print the hits as JSON")
    search.set_defaults(func=_cmd_search)
    similar = sub.add_parser("similar", help="stored papers like a paper (sha256 or source)")
    similar.add_argument("source", metavar="SOURCE_OR_SHA256",
                         help="a stored paper's sha256, or a PDF path, URL or arXiv id")
    similar.add_argument("-k", type=int, default=10, help="how many papers (default 10)")
    similar.add_argument("--json", action="store_true", help="print the hits as JSON")
    similar.set_defaults(func=_cmd_similar)

    up = sub.add_parser("up", help="start the local stack: Prefect server, deployments, worker")
    up.add_argument("--s3", action=argparse.BooleanOptionalAction, default=None,
                    help="S3 for assets and results: SeaweedFS on :8333 (PAPERFLOW_STACK_S3_PORT),"
                         " or your own when PAPERFLOW_S3_ENDPOINT_URL is set (default: on when "
                         "S3 is configured or SeaweedFS is installed; --no-s3: local disk)")
    up.set_defaults(func=_cmd_stack)
    down = sub.add_parser("down", help="stop what `paperflow up` started")
    down.set_defaults(func=_cmd_stack)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    home = os.environ.get("PREFECT_HOME")
    if home:  # Prefect creates only the last folder; its database cannot open without it
        Path(home).expanduser().mkdir(parents=True, exist_ok=True)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("paperflow: interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
