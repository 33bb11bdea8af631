"""OCR benchmark: scanned (rasterised) evaluation papers against their native text, and speed.

    .venv/bin/python -m benchmarks.ocr [--only V07 V09] [--workers 2] [--dpi 200]

For every evaluation paper with ground truth, its first two pages are extracted three ways: the
native text layer, an image-only copy rendered at `--dpi` (clean), and the same with skew, blur
and speckles (noisy). The soft F1 of title, authors and abstract (`paperflow.evaluate`) is
printed per way, with the scans' share of the native score (target: at least 90 %). Then a
10-page scan is parsed with OCR on one core (target: under 20 s).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pymupdf  # noqa: E402

from paperflow.evaluate import Counts, score_paper  # noqa: E402
from paperflow.pdf import parse_layout  # noqa: E402
from paperflow.pipeline import extract_paper  # noqa: E402
from paperflow.settings import get_settings  # noqa: E402
from tests.ocr_pages import rasterise  # noqa: E402

EVAL_DIR = Path(os.environ.get("PAPERFLOW_EVAL_DIR") or ROOT.parent / "shared" / "eval")
FIELDS = ("title", "authors", "abstract")
WAYS = ("native", "clean", "noisy")
TARGET_SHARE = 0.9
TARGET_SECONDS = 20.0


def first_pages(data: bytes, count: int = 2) -> bytes:
    doc = pymupdf.open(stream=data, filetype="pdf")
    doc.select(list(range(min(count, doc.page_count))))
    out = doc.tobytes()
    doc.close()
    return out


def score_one(gt_path: Path, dpi: int) -> dict[str, Any]:
    """Per way: the (correct, predicted, expected) soft counts of each field, and the seconds."""
    record = json.loads(gt_path.read_text(encoding="utf-8"))
    paper_id = record.get("id") or gt_path.name.removesuffix(".gt.json")
    data = (gt_path.parent / record.get("file", f"{paper_id}.pdf")).read_bytes()
    native = first_pages(data)
    inputs = {"native": native, "clean": rasterise(data, 2, dpi),
              "noisy": rasterise(data, 2, dpi, noise=True, seed=7)}
    out: dict[str, Any] = {"id": paper_id}
    settings = get_settings()
    for way, pdf in inputs.items():
        start = time.perf_counter()
        result = extract_paper(pdf, settings)
        seconds = time.perf_counter() - start
        soft = score_paper(paper_id, result, record["gt"], seconds).fields["soft"]
        out[way] = {"fields": {name: soft[name] for name in FIELDS}, "seconds": seconds,
                    "ocr_pages": sum(1 for w in result.warnings if "read by OCR" in w)}
    return out


def accuracy(papers: list[Path], dpi: int, workers: int) -> dict[str, dict[str, float]]:
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            rows = list(pool.map(score_one, papers, [dpi] * len(papers)))
    else:
        rows = [score_one(path, dpi) for path in papers]
    totals = {way: {name: Counts() for name in FIELDS} for way in WAYS}
    print(f"{'paper':42} " + " ".join(f"{way + ' t/a/b':>13}" for way in WAYS))
    for row in rows:
        cells = []
        for way in WAYS:
            fields = row[way]["fields"]
            for name in FIELDS:
                totals[way][name].add(*fields[name])
            cells.append("/".join(f"{fields[n][0]}" for n in FIELDS).rjust(13))
        print(f"{row['id'][:42]:42} " + " ".join(cells))
    print(f"\nsoft F1 over {len(rows)} papers (first 2 pages; scans at {dpi} dpi, read at "
          f"min({get_settings().ocr_dpi}, the scan's) dpi):")
    print(f"{'field':10} {'native':>8} {'clean':>8} {'noisy':>8} {'clean/nat':>10} "
          f"{'noisy/nat':>10}")
    summary: dict[str, dict[str, float]] = {}
    for name in FIELDS:
        f1 = {way: totals[way][name].f1 for way in WAYS}
        share = {way: f1[way] / f1["native"] if f1["native"] else 0.0 for way in WAYS[1:]}
        summary[name] = {**f1, **{f"{way}_share": share[way] for way in WAYS[1:]}}
        print(f"{name:10} {100 * f1['native']:8.1f} {100 * f1['clean']:8.1f} "
              f"{100 * f1['noisy']:8.1f} {100 * share['clean']:9.1f}% "
              f"{100 * share['noisy']:9.1f}%")
    seconds = {way: sum(row[way]["seconds"] for row in rows) / max(len(rows), 1)
               for way in WAYS}
    print("mean seconds per 2-page paper: "
          + ", ".join(f"{way} {value:.2f}" for way, value in seconds.items()))
    return summary


def ten_page_scan(paper: Path, dpi: int) -> dict[str, float]:
    """Parse a 10-page scan with OCR (Tesseract single-threaded, pages one after another)."""
    scan = rasterise(paper.read_bytes(), 10, dpi)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    doc = parse_layout(scan)
    wall = time.perf_counter() - start
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    own_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (children_after.ru_utime + children_after.ru_stime - children.ru_utime
           - children.ru_stime + own_after.ru_utime + own_after.ru_stime - own.ru_utime
           - own.ru_stime)
    ocred = sum(1 for page in doc.pages if page.text_source == "ocr")
    words = sum(len(page.text.split()) for page in doc.pages)
    print(f"\n10-page scan ({paper.name}, {dpi} dpi image, read at "
          f"min({get_settings().ocr_dpi}, {dpi}) dpi): "
          f"{len(doc.pages)} pages, {ocred} read by OCR, {words} words; wall {wall:.1f} s, "
          f"CPU {cpu:.1f} s (target: under {TARGET_SECONDS:g} s on one core)")
    return {"wall": wall, "cpu": cpu, "pages": len(doc.pages), "ocr_pages": ocred}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", default=[], help="paper id substrings")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--dpi", type=int, default=200, help="resolution of the scans")
    parser.add_argument("--timing-paper", default="V09_acl2020_s2orc")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--json", type=Path, help="write the numbers here")
    args = parser.parse_args(argv)
    from paperflow.ocr import ocr_available

    missing = ocr_available(get_settings().ocr_language)
    if missing:
        print(missing, file=sys.stderr)
        return 2
    papers = [path for path in sorted(EVAL_DIR.glob("*.gt.json"))
              if not args.only or any(part in path.name for part in args.only)]
    report: dict[str, Any] = {}
    if not args.skip_accuracy:
        report["accuracy"] = accuracy(papers, args.dpi, args.workers)
    timing_pdf = next(EVAL_DIR.glob(f"{args.timing_paper}*.pdf"))
    report["ten_pages"] = ten_page_scan(timing_pdf, args.dpi)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    ok = report["ten_pages"]["cpu"] < TARGET_SECONDS and all(
        row[f"{way}_share"] >= TARGET_SHARE
        for row in report.get("accuracy", {}).values() for way in ("clean", "noisy"))
    print("\ntargets met" if ok else "\ntargets missed")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
