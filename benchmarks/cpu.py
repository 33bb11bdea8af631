"""The CPU stage's speed on one core, next to bare and third-party text extraction, and its
peak memory on one long paper.

CPU stage: what the flow computes for one paper without I/O, i.e. `extract_paper` (parse,
layout, the six groups, figures) with the figure crops rendered, plus the first-page preview.
The bare pass opens the same bytes and calls `page.get_text("dict")` on every page; the two are
timed paper by paper, alternately, so load on the machine weighs on both alike.
`pymupdf4llm.to_markdown` and `pdfplumber` run in a child process (importing pymupdf4llm
switches on PyMuPDF's layout module process-wide, which must not touch the paperflow timings).

Peak RSS: eval papers joined (`insert_pdf`) into a 500-page paper, cut to 50/100/250/500 pages,
each through the CPU stage in a fresh process that reports its own peak (VmHWM).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pymupdf

ROOT = Path(__file__).resolve().parents[1]

STEPS = ("parse_layout", "analyse_layout", "title_authors_abstract", "institutions_keywords",
         "summary_citations", "starter_questions", "highlights", "references", "figures",
         "preview")
RSS_PAGES = (50, 100, 250, 500)
RSS_PAGES_QUICK = (4, 8)
QUICK_PAGES = 3
"""Pages per paper in quick mode (the first ones of each paper)."""
QUICK_PAPERS = 2


@contextlib.contextmanager
def one_core() -> Iterator[int]:
    """Pin this process (and the children it starts) to one CPU while the block runs."""
    if not hasattr(os, "sched_setaffinity"):
        yield -1
        return
    before = os.sched_getaffinity(0)
    core = min(before)
    os.sched_setaffinity(0, {core})
    try:
        yield core
    finally:
        os.sched_setaffinity(0, before)


def first_pages(data: bytes, count: int) -> bytes:
    """The first `count` pages of a PDF, as a new PDF."""
    with pymupdf.open(stream=data, filetype="pdf") as src, pymupdf.open() as out:
        out.insert_pdf(src, to_page=min(count, len(src)) - 1)
        return out.tobytes(garbage=1, deflate=True)


def load_papers(paths: list[Path], quick: bool) -> list[tuple[str, bytes]]:
    if quick:
        return [(p.stem, first_pages(p.read_bytes(), QUICK_PAGES)) for p in paths[:QUICK_PAPERS]]
    return [(p.stem, p.read_bytes()) for p in paths]


def machine() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    try:
        import pdfplumber
        plumber = str(pdfplumber.__version__)
    except ImportError:
        plumber = "missing"
    try:
        from importlib.metadata import version
        llm = version("pymupdf4llm")
    except Exception:
        llm = "missing"
    return {"nproc": os.cpu_count() or 1, "cpu_model": model,
            "python": platform.python_version(), "pymupdf": pymupdf.__version__,
            "pymupdf4llm": llm, "pdfplumber": plumber}


def bare_pass(data: bytes) -> int:
    """Every page's `get_text("dict")`; returns the page count."""
    pages = 0
    with pymupdf.open(stream=data, filetype="pdf") as doc:
        for page in doc:
            page.get_text("dict")
            pages += 1
    return pages


def cpu_stage(data: bytes) -> tuple[int, dict[str, float]]:
    """`extract_paper` with the figure crops rendered, then the preview: pages, step seconds."""
    from paperflow import pipeline
    from paperflow.figures import extract_figures
    from paperflow.preview import render_preview
    from paperflow.settings import get_settings

    settings = get_settings()

    def rendering(data: bytes, doc: Any, max_figures: int = 60, dpi: int = 150,
                  render: bool = True) -> Any:
        return extract_figures(data, doc, max_figures, dpi, render=True)

    with mock.patch.object(pipeline, "extract_figures", rendering):
        result = pipeline.extract_paper(data, settings)
    steps = {t.task: t.seconds for t in result.timings}
    start = time.perf_counter()
    render_preview(data, settings.preview_width)
    steps["preview"] = time.perf_counter() - start
    return result.page_count, steps


def bench_cpu(papers: list[tuple[str, bytes]]) -> dict[str, Any]:
    """Pages per second of the CPU stage and of the bare pass, over the same papers."""
    cpu_pages = bare_pages = 0
    bare_s = 0.0
    steps: dict[str, float] = dict.fromkeys(STEPS, 0.0)
    with one_core() as core:
        for _, data in papers:
            start = time.perf_counter()
            bare_pages += bare_pass(data)
            bare_s += time.perf_counter() - start
            pages, timed = cpu_stage(data)
            cpu_pages += pages
            for name, seconds in timed.items():
                steps[name] = steps.get(name, 0.0) + seconds
    cpu_s = sum(steps.values())
    cpu_rate = cpu_pages / max(cpu_s, 1e-9)
    bare_rate = bare_pages / max(bare_s, 1e-9)
    return {
        "core": core, "papers": len(papers), "pages": cpu_pages,
        "cpu_stage_s": round(cpu_s, 3), "cpu_stage_pages_per_s": round(cpu_rate, 2),
        "bare_pages": bare_pages, "bare_s": round(bare_s, 3),
        "bare_pages_per_s": round(bare_rate, 2),
        "ratio_to_bare": round(cpu_rate / bare_rate, 3),
        "preview_ms_per_paper": round(1000 * steps["preview"] / max(len(papers), 1), 1),
        "figures_ms_per_paper": round(1000 * steps["figures"] / max(len(papers), 1), 1),
        "step_seconds": dict(steps),  # unrounded: a cached step takes microseconds
        "step_shares": {k: v / max(cpu_s, 1e-9) for k, v in steps.items()},
    }


_OTHERS_SCRIPT = """
import json, sys, time
paths = json.loads(sys.argv[1])
import pdfplumber
import pymupdf
import pymupdf4llm
if hasattr(pymupdf4llm, "use_layout") and sys.argv[2] == "legacy":
    pymupdf4llm.use_layout(False)
out = {"pymupdf4llm_s": 0.0, "pdfplumber_s": 0.0, "pages": 0, "chars_pymupdf4llm": 0,
       "chars_pdfplumber": 0}
for path in paths:
    with pymupdf.open(path) as doc:
        out["pages"] += len(doc)
    start = time.perf_counter()
    markdown = pymupdf4llm.to_markdown(path, use_ocr=False, show_progress=False)
    out["pymupdf4llm_s"] += time.perf_counter() - start
    out["chars_pymupdf4llm"] += len(markdown)
    start = time.perf_counter()
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            out["chars_pdfplumber"] += len(page.extract_text() or "")
            page.close()
    out["pdfplumber_s"] += time.perf_counter() - start
print(json.dumps(out))
"""


def bench_others(papers: list[tuple[str, bytes]], mode: str = "legacy") -> dict[str, Any]:
    """pymupdf4llm's markdown and pdfplumber's text over the same papers, in one child process.

    `mode="legacy"`: pymupdf4llm without its layout model (no OCR either way): the text path
    comparable with paperflow's. Pages per second are over the same page count as the bare pass.
    """
    with tempfile.TemporaryDirectory(prefix="paperflow-bench-") as folder, one_core():
        paths = []
        for i, (_, data) in enumerate(papers):
            path = Path(folder) / f"{i:03d}.pdf"
            path.write_bytes(data)
            paths.append(str(path))
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        done = subprocess.run([sys.executable, "-c", _OTHERS_SCRIPT, json.dumps(paths), mode],
                              cwd=ROOT, capture_output=True, text=True, check=True, env=env)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    pages = found["pages"]
    return {
        "pages": pages, "pymupdf4llm_mode": mode,
        "pymupdf4llm_s": round(found["pymupdf4llm_s"], 3),
        "pymupdf4llm_pages_per_s": round(pages / max(found["pymupdf4llm_s"], 1e-9), 2),
        "pdfplumber_s": round(found["pdfplumber_s"], 3),
        "pdfplumber_pages_per_s": round(pages / max(found["pdfplumber_s"], 1e-9), 2),
        "chars_pymupdf4llm": found["chars_pymupdf4llm"],
        "chars_pdfplumber": found["chars_pdfplumber"],
    }


def joined_paper(papers: list[tuple[str, bytes]], pages: int) -> bytes:
    """A paper of exactly `pages` pages: the papers joined one after another, over and over."""
    with pymupdf.open() as out:
        while len(out) < pages:
            for _, data in papers:
                with pymupdf.open(stream=data, filetype="pdf") as src:
                    take = min(len(src), pages - len(out))
                    out.insert_pdf(src, to_page=take - 1)
                if len(out) >= pages:
                    break
        return out.tobytes(garbage=1, deflate=True)


# ru_maxrss survives fork and exec on Linux (a child starts with its parent's peak), so the child
# reads its own high-water mark, VmHWM, which starts afresh with the new program.
_RSS_SCRIPT = """
import json, re, resource, sys, time
from benchmarks.cpu import cpu_stage
def kib(field):
    try:
        status = open("/proc/self/status").read()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(re.search(field + r":\\s+(\\d+)", status).group(1))
import paperflow.pipeline, paperflow.preview
before = kib("VmHWM")
data = open(sys.argv[1], "rb").read()
start = time.perf_counter()
pages, steps = cpu_stage(data)
seconds = time.perf_counter() - start
print(json.dumps({"pages": pages, "peak_kib": kib("VmHWM"), "imports_kib": before,
                  "seconds": seconds}))
"""


def bench_rss(papers: list[tuple[str, bytes]], sizes: tuple[int, ...]) -> dict[str, Any]:
    """Peak RSS of the CPU stage on one long paper of each size, each in a fresh process."""
    rows = []
    longest = joined_paper(papers, max(sizes))
    with tempfile.TemporaryDirectory(prefix="paperflow-bench-") as folder:
        for size in sizes:
            path = Path(folder) / f"joined-{size}.pdf"
            path.write_bytes(first_pages(longest, size))
            done = subprocess.run([sys.executable, "-c", _RSS_SCRIPT, str(path)], cwd=ROOT,
                                  capture_output=True, text=True, check=True)
            found = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append({"pages": found["pages"], "bytes": path.stat().st_size,
                         "peak_rss_mib": round(found["peak_kib"] / 1024, 1),
                         "after_imports_mib": round(found["imports_kib"] / 1024, 1),
                         "seconds": round(found["seconds"], 2)})
    peak = max(row["peak_rss_mib"] for row in rows)
    return {"rows": rows, "max_peak_rss_mib": peak}


def markdown(results: dict[str, Any]) -> str:
    """The machine, the speed table, the step shares and the memory table."""
    m, cpu, others = results["machine"], results["cpu"], results["others"]
    lines = [f"# paperflow benchmark{' (quick)' if results.get('quick') else ''}", "",
             "| machine | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in m.items()]
    lines += ["", f"CPU stage on one core (CPU {cpu['core']}) over {cpu['papers']} papers, "
              f"{cpu['pages']} pages:", "",
              "| extraction | pages/s | vs bare pass |", "|---|---:|---:|"]
    bare = cpu["bare_pages_per_s"]
    for name, rate in (
        ('bare `page.get_text("dict")`', bare),
        ("paperflow CPU stage (extract_paper + figure crops + preview)",
         cpu["cpu_stage_pages_per_s"]),
        (f"pymupdf4llm.to_markdown ({others['pymupdf4llm_mode']}, no OCR)",
         others["pymupdf4llm_pages_per_s"]),
        ("pdfplumber extract_text", others["pdfplumber_pages_per_s"]),
    ):
        lines.append(f"| {name} | {rate:.2f} | {rate / max(bare, 1e-9):.3f}x |")
    lines += ["", f"Preview {cpu['preview_ms_per_paper']} ms/paper, figures "
              f"{cpu['figures_ms_per_paper']} ms/paper.", "",
              "| step | seconds | share |", "|---|---:|---:|"]
    for name in cpu["step_seconds"]:
        lines.append(f"| {name} | {cpu['step_seconds'][name]:.3f} | "
                     f"{100 * cpu['step_shares'][name]:.1f} % |")
    rss = results["rss"]
    lines += ["", "Peak RSS of the CPU stage on one joined paper (fresh process each):", "",
              "| pages | PDF MiB | peak RSS MiB | after imports MiB | seconds |",
              "|---:|---:|---:|---:|---:|"]
    for row in rss["rows"]:
        lines.append(f"| {row['pages']} | {row['bytes'] / 2**20:.1f} | {row['peak_rss_mib']} | "
                     f"{row['after_imports_mib']} | {row['seconds']} |")
    if results.get("flow"):
        flow = results["flow"]
        lines += ["", f"The sample through the flow: cold {flow['cold_wall_s']} s wall "
                  f"({flow['cold_work_s']} s of task work), from the cache {flow['warm_wall_s']} "
                  f"s ({flow['warm_cached_tasks']} cached tasks, {flow['warm_work_s']} s of work)."]
    if results.get("cli"):
        cli = results["cli"]
        lines += [f"`paperflow process` of the sample, a fresh process each call: first "
                  f"{cli['first_call_s']} s (starts the server), warm {cli['warm_call_s']} s, "
                  f"warm calls off {cli['cold_call_s']} s, for {cli['own_work_s']} s of its own "
                  f"work (warm: +{cli['warm_over_work_s']} s; off: +{cli['cold_over_work_s']} s)."]
    if results.get("llm"):
        llm = results["llm"]
        lines += [f"LLM phase with a 1 s endpoint: {llm['second_phase_s']} s for "
                  f"{llm['second_calls']} calls ({llm['second_phase_over_slowest']}x the slowest "
                  f"call; at most {llm['peak_in_flight']} in flight)."]
    if results.get("bulk"):
        bulk = results["bulk"]
        lines += [f"Bulk of {bulk['papers']} papers in one process: {bulk['bulk_s']} s "
                  f"({bulk['papers_per_hour']} papers/hour, {bulk['failed']} failed) against "
                  f"{bulk['core_s']} s of their CPU stage as plain calls: {bulk['ratio']}x."]
    if results.get("checks"):
        lines += ["", "| target | met |", "|---|---|"]
        lines += [f"| {name} | {'yes' if ok else 'NO'} |"
                  for name, ok in results["checks"].items()]
    return "\n".join(lines) + "\n"
