"""`python -m benchmarks.run --quick` writes every key of the benchmark, with positive numbers.

No timing is asserted: the numbers only have to exist and make sense.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.cpu import RSS_PAGES_QUICK, STEPS

ROOT = Path(__file__).resolve().parents[2]


def _numbers(value: object, path: str = "") -> list[tuple[str, float]]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [(path, float(value))]
    if isinstance(value, dict):
        return [n for key, item in value.items() for n in _numbers(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [n for i, item in enumerate(value) for n in _numbers(item, f"{path}[{i}]")]
    return []


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("bench")
    subprocess.run([sys.executable, "-m", "benchmarks.run", "--quick", "--out", str(out)],
                   cwd=ROOT, check=True, capture_output=True, text=True, timeout=600)
    return json.loads((out / "bench.json").read_text()), (out / "bench.md").read_text()


def test_quick_json_has_every_key(quick: tuple[dict, str]) -> None:
    results, _ = quick
    assert results["quick"] is True
    assert set(results["machine"]) == {"nproc", "cpu_model", "python", "pymupdf", "pymupdf4llm",
                                       "pdfplumber"}
    stage = results["cpu"]
    for key in ("papers", "pages", "cpu_stage_s", "cpu_stage_pages_per_s", "bare_pages",
                "bare_s", "bare_pages_per_s", "ratio_to_bare", "preview_ms_per_paper",
                "figures_ms_per_paper"):
        assert stage[key] > 0, key
    assert set(stage["step_seconds"]) == set(STEPS) == set(stage["step_shares"])
    assert sum(stage["step_shares"].values()) == pytest.approx(1.0, abs=0.01)
    others = results["others"]
    for key in ("pages", "pymupdf4llm_s", "pymupdf4llm_pages_per_s", "pdfplumber_s",
                "pdfplumber_pages_per_s", "chars_pymupdf4llm", "chars_pdfplumber"):
        assert others[key] > 0, key
    assert others["pages"] == stage["bare_pages"]
    rows = results["rss"]["rows"]
    assert [row["pages"] for row in rows] == list(RSS_PAGES_QUICK)
    assert results["rss"]["max_peak_rss_mib"] == max(row["peak_rss_mib"] for row in rows)


def test_quick_numbers_are_positive(quick: tuple[dict, str]) -> None:
    results, _ = quick
    numbers = _numbers({k: v for k, v in results.items() if k != "cpu"})
    numbers += _numbers({k: v for k, v in results["cpu"].items() if k != "core"})
    assert numbers
    assert [path for path, value in numbers if value <= 0] == []


def test_quick_markdown_names_the_machine_and_the_tables(quick: tuple[dict, str]) -> None:
    results, text = quick
    assert results["machine"]["cpu_model"] in text and "nproc" in text
    for name in ("bare `page.get_text(\"dict\")`", "pymupdf4llm", "pdfplumber", "peak RSS",
                 "| preview |", "| figures |", "| parse_layout |"):
        assert name in text, name
