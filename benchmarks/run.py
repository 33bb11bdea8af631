"""Speed and memory benchmarks; targets are ratios measured within this one run.

Run with `make bench` (`python -m benchmarks.run [--quick] [--out DIR]`). Writes
`out/bench.json` and `out/bench.md` and exits non-zero when a target is missed:
- cpu: the CPU stage (`extract_paper` with figure crops, plus the preview) runs at >= 0.5x the
  pages per second of a bare `page.get_text("dict")` pass, on one core over the eval papers
  (`benchmarks.cpu`; pymupdf4llm and pdfplumber measured alongside, without a target);
- rss: the CPU stage on one 500-page paper (eval papers joined) peaks at <= 1 GiB RSS;
- cache: a second run of the same paper spends < 5% of the first run's extraction time;
- memory: reading 10x the pages costs at most 15x the extra peak RSS (linear, not worse).
- cli: `paperflow process` of the sample, each call a fresh process, once the first call has
  started the background server and left a warm process: at most the paper's own work + 3 s;
- llm: with an endpoint that takes 1 s per answer, the flow's LLM phase (six groups, six allowed
  in flight) takes less than 2x its slowest single call (the calls overlap, not queue);
- bulk: the eval papers through `bulk_process` in one process (embedded server, storage and
  embeddings included) take at most 1.3x their CPU stage as plain calls in the same process.
Reported without a target: the fan-out's task-time sum over its wall time (CPU-bound heuristics
share one interpreter, so the overlap pays off for I/O: storage, LLM calls, downloads).

`--quick` measures only the CPU stage, the other extractors and the peak RSS, on the first
pages of two eval papers (seconds, not minutes); its numbers are a smoke test, not a result,
so it checks no target.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="paperflow-bench-prefect-")
os.environ["PAPERFLOW_DATA_DIR"] = tempfile.mkdtemp(prefix="paperflow-bench-data-")

from benchmarks import cpu  # noqa: E402
from paperflow.pipeline import extract_paper  # noqa: E402
from tests.pdfs import make_pages  # noqa: E402

SAMPLE = ROOT / "samples" / "webb2017-vespa-peerjcs.pdf"
EVAL_DIR = ROOT.parent / "shared" / "eval"


def bench_core() -> dict[str, float]:
    """Core extraction (no Prefect) over the evaluation papers: seconds per paper and page."""
    papers = sorted(EVAL_DIR.glob("*.pdf")) or [SAMPLE]
    seconds, pages = 0.0, 0
    for path in papers:
        data = path.read_bytes()
        start = time.perf_counter()
        result = extract_paper(data)
        seconds += time.perf_counter() - start
        pages += result.page_count
    return {"papers": len(papers), "pages": pages, "seconds": round(seconds, 3),
            "ms_per_page": round(1000 * seconds / max(pages, 1), 2),
            "s_per_paper": round(seconds / len(papers), 3)}


# Writing 5 to clear_refs resets the kernel's peak-RSS mark (VmHWM) after the imports.
_PEAK_SCRIPT = """
import re, sys
from paperflow.pdf import parse_layout
def hwm():
    return int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))
data = open(sys.argv[1], "rb").read()
open("/proc/self/clear_refs", "w").write("5")
before = hwm()
parse_layout(data, max_pages=100_000)
print(hwm() - before)
"""


def _extra_peak_kib(data: bytes) -> int:
    """Peak RSS growth of a fresh process reading `data` (MuPDF's C memory included)."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(data)
        handle.flush()
        out = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, handle.name],
                             cwd=ROOT, capture_output=True, text=True, check=True)
    return max(int(out.stdout.strip()), 1)


def bench_memory() -> dict[str, float]:
    """Extra peak RSS of reading 300 vs 3000 pages."""
    text = "Line of body text on page {n}, long enough to look like a paper's running text. "
    small = _extra_peak_kib(make_pages(300, text * 3))
    large = _extra_peak_kib(make_pages(3000, text * 3))
    return {"pages_small": 300, "pages_large": 3000,
            "extra_peak_mib_small": round(small / 1024, 2),
            "extra_peak_mib_large": round(large / 1024, 2),
            "ratio": round(large / small, 2)}


def bench_flow() -> dict[str, float]:
    """The sample through the real flow twice: cold, then from the cache."""
    from flows.process_paper import ProcessOptions, process_paper

    runs = []
    for options in (ProcessOptions(refresh_cache=True), ProcessOptions()):
        start = time.perf_counter()
        result = process_paper(str(SAMPLE), options)
        runs.append((time.perf_counter() - start, result))
    (cold_wall, cold), (warm_wall, warm) = runs
    cold_work = sum(t.seconds for t in cold.timings)
    warm_work = sum(t.seconds for t in warm.timings if not t.cached)
    fan_out = [t for t in cold.timings if t.task != "parse_pdf"]
    span = max(t.started_at + t.seconds for t in fan_out) - min(t.started_at for t in fan_out)
    task_sum = sum(t.seconds for t in fan_out)
    return {"cold_wall_s": round(cold_wall, 3), "warm_wall_s": round(warm_wall, 3),
            "cold_work_s": round(cold_work, 3), "warm_work_s": round(warm_work, 3),
            "warm_cached_tasks": sum(t.cached for t in warm.timings),
            "fan_out_task_sum_s": round(task_sum, 3), "fan_out_wall_s": round(span, 3),
            "fan_out_overlap": round(task_sum / max(span, 1e-9), 2)}


def bench_cli_call(paper: Path = SAMPLE, calls: int = 3) -> dict[str, float]:
    """`paperflow process PAPER --refresh --json` as a user runs it, each call a fresh process:
    the first starts the background server and leaves a warm process (cli/warm.py); then
    `calls` warm calls, and as many with warm calls off (the server still running). Each
    against the paper's own work: the span of the result's task timings."""
    import socket
    import statistics

    from cli import warm

    work = Path(tempfile.mkdtemp(prefix="paperflow-bench-cli-"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "PAPERFLOW_DATA_DIR": str(work / "data"),
           "PREFECT_HOME": str(work / "prefect"), "PAPERFLOW_LOCAL_SERVER_PORT": str(port),
           "XDG_RUNTIME_DIR": tempfile.mkdtemp(prefix="pfb-"),  # AF_UNIX paths are short
           "PAPERFLOW_BACKGROUND_SERVER": "true", "PAPERFLOW_WARM_PROCESS": "true"}
    env.pop("PREFECT_API_URL", None)

    def call(extra: dict[str, str] | None = None) -> tuple[float, float]:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "paperflow", "process", str(paper),
                               "--refresh", "--json"], cwd=ROOT, env={**env, **(extra or {})},
                              capture_output=True, text=True, timeout=600)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"paperflow process failed ({done.returncode}): "
                               f"{done.stderr[-2000:]}")
        timings = [t for t in json.loads(done.stdout)["timings"] if t["started_at"] is not None]
        span = max(t["started_at"] + t["seconds"] for t in timings) \
            - min(t["started_at"] for t in timings)
        return wall, span

    try:
        first_wall, _ = call()
        sock_path = warm.socket_path(env, ROOT)
        deadline = time.monotonic() + 120
        while sock_path is not None and not sock_path.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        warm_runs = [call() for _ in range(calls)]
        log = sock_path.with_suffix(".log") if sock_path is not None else None
        served = sum(" child " in line for line in log.read_text().splitlines()) \
            if log is not None and log.exists() else 0
        cold_runs = [call({"PAPERFLOW_WARM_PROCESS": "false"}) for _ in range(calls)]
    finally:
        subprocess.run([sys.executable, "-m", "paperflow", "down"], cwd=ROOT, env=env,
                       capture_output=True, timeout=120)
    warm_wall = statistics.median(wall for wall, _ in warm_runs)
    cold_wall = statistics.median(wall for wall, _ in cold_runs)
    own_work = statistics.median(span for _, span in warm_runs)
    return {"first_call_s": round(first_wall, 2), "warm_calls": calls,
            "warm_calls_served_warm": served,
            "warm_call_s": round(warm_wall, 2),
            "cold_call_s": round(cold_wall, 2), "own_work_s": round(own_work, 2),
            "warm_over_work_s": round(warm_wall - own_work, 2),
            "cold_over_work_s": round(cold_wall - statistics.median(s for _, s in cold_runs), 2)}


def bench_llm() -> dict[str, float]:
    """The flow's LLM phase against a scripted endpoint answering every call after 1 s.

    Six calls with six allowed in flight: ideally the phase lasts one call. The first paper
    of a process also loads the tokenizer and HTTP client; the target is on the second.
    """
    from flows.process_paper import ProcessOptions, process_paper
    from paperflow.llm.settings import reload_llm_settings
    from tests.llm_server import Recorded, Reply, scripted_llm
    from tests.paperflow.llm.test_groups import by_schema
    from tests.pdfs import make_paper

    def slow(request: Recorded) -> Reply:
        reply = by_schema(request)
        reply.delay = 1.0
        return reply

    env = {"PAPERFLOW_LLM_MODEL": "scripted", "PAPERFLOW_LLM_RESPONSE_FORMAT": "json_schema",
           "PAPERFLOW_LLM_REQUESTS_PER_MINUTE": "0", "PAPERFLOW_LLM_MAX_CONCURRENCY": "6"}
    results: dict[str, float] = {}
    with scripted_llm() as server:
        server.responder = slow
        os.environ.update(env, PAPERFLOW_LLM_BASE_URL=server.base_url)
        reload_llm_settings()
        try:
            for run in ("first", "second"):
                result = process_paper(make_paper(nonce=f"bench-llm-{run}"),
                                       ProcessOptions(preview=False))
                report = result.llm
                assert report is not None, "the LLM phase did not run"
                slowest = max(c.seconds for c in report.calls)
                results |= {f"{run}_calls": len(report.calls), f"{run}_phase_s": report.seconds,
                            f"{run}_slowest_call_s": slowest,
                            f"{run}_phase_over_slowest": round(report.seconds / slowest, 2)}
        finally:
            for name in (*env, "PAPERFLOW_LLM_BASE_URL"):
                os.environ.pop(name, None)
            reload_llm_settings()
    results["peak_in_flight"] = server.peak_in_flight
    return results


def bench_bulk() -> dict[str, float]:
    """Orchestration overhead: the eval papers through `bulk_process` (one process, the
    embedded server) against the same papers' CPU stage as plain calls in this one process."""
    from flows.bulk_process import bulk_process

    paths = sorted(EVAL_DIR.glob("*.pdf")) or [SAMPLE]
    start = time.perf_counter()
    for path in paths:
        cpu.cpu_stage(path.read_bytes())
    core = time.perf_counter() - start
    start = time.perf_counter()
    summary = bulk_process(sources=[str(p) for p in paths], batch_size=len(paths))
    bulk = time.perf_counter() - start
    return {"papers": len(paths), "core_s": round(core, 2), "bulk_s": round(bulk, 2),
            "failed": summary.failed, "ratio": round(bulk / max(core, 1e-9), 2),
            "papers_per_hour": round(3600 * len(paths) / max(bulk, 1e-9))}


def bench_cpu_stage(quick: bool) -> dict[str, object]:
    """CPU stage vs bare pass vs pymupdf4llm/pdfplumber, then peak RSS by page count."""
    paths = sorted(EVAL_DIR.glob("*.pdf")) or [SAMPLE]
    papers = cpu.load_papers(paths, quick)
    return {"machine": cpu.machine(), "cpu": cpu.bench_cpu(papers),
            "others": cpu.bench_others(papers),
            "rss": cpu.bench_rss(cpu.load_papers(paths, quick=False) if not quick else papers,
                                 cpu.RSS_PAGES_QUICK if quick else cpu.RSS_PAGES)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a few pages, CPU stage and memory only, no targets checked")
    parser.add_argument("--out", type=Path, default=ROOT / "out",
                        help="folder for bench.json and bench.md (default: out/)")
    args = parser.parse_args(argv)
    results: dict[str, object] = {"quick": args.quick, **bench_cpu_stage(args.quick)}
    checks: dict[str, bool] = {}
    if not args.quick:
        results |= {"core": bench_core(), "memory": bench_memory(), "flow": bench_flow(),
                    "cli": bench_cli_call(), "llm": bench_llm(), "bulk": bench_bulk()}
        stage, rss = results["cpu"], results["rss"]
        flow, memory, llm = results["flow"], results["memory"], results["llm"]
        bulk = results["bulk"]
        checks = {
            "cpu: CPU stage >= 0.5x the bare get_text pass":
                stage["ratio_to_bare"] >= 0.5,  # type: ignore[index]
            "rss: 500-page paper <= 1 GiB peak RSS":
                rss["max_peak_rss_mib"] <= 1024,  # type: ignore[index]
            "cache: warm work < 5% of cold work":
                flow["warm_work_s"] < 0.05 * flow["cold_work_s"],  # type: ignore[index]
            "memory: 10x pages <= 15x extra peak RSS":
                memory["ratio"] <= 15,  # type: ignore[index]
            "cli: a warm one-paper call <= its own work + 3 s":
                results["cli"]["warm_over_work_s"] <= 3.0  # type: ignore[index]
                and results["cli"]["warm_calls_served_warm"]  # type: ignore[index]
                == results["cli"]["warm_calls"],  # type: ignore[index]
            "llm: phase < 2x slowest call":
                llm["second_phase_over_slowest"] < 2,  # type: ignore[index]
            "bulk: bulk run <= 1.3x its papers' CPU stage as plain calls, one process":
                bulk["ratio"] <= 1.3 and bulk["failed"] == 0,  # type: ignore[index]
        }
    results["checks"] = checks
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(results, indent=2))
    (out / "bench.md").write_text(cpu.markdown(results))
    print(json.dumps(results, indent=2))
    failed = [name for name, ok in checks.items() if not ok]
    for name in failed:
        print(f"MISSED: {name}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
