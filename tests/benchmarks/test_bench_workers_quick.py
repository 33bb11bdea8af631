"""`python -m benchmarks.workers --quick` runs every bulk row on real stacks (PostgreSQL and
SQLite, SeaweedFS, workers, the scripted LLM) and accounts for every paper.

No speed is asserted: the rows only have to exist, add up and lose nothing.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.workers import distinct_papers
from paperflow.pipeline import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
PAPERS, OVERHEAD_PAPERS = 2, 1
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("bench-workers")
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.workers", "--quick", "--papers", str(PAPERS),
         "--overhead-papers", str(OVERHEAD_PAPERS), "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((out / "bench-workers.json").read_text()), \
        (out / "bench-workers.md").read_text()


def test_every_bulk_run_accounts_for_its_papers(quick: tuple[dict, str]) -> None:
    results, _ = quick
    throughput, overhead = results["throughput"], results["overhead"]
    runs = {"1 worker": throughput["1_workers"], "2 workers": throughput["2_workers"],
            "sqlite": overhead["sqlite"], "postgresql": overhead["postgresql"]}
    for name, run in runs.items():
        papers = OVERHEAD_PAPERS if name in overhead else PAPERS
        assert run["state"] == "COMPLETED", (name, run)
        assert run["papers"] == papers and run["statuses"] == {"completed": papers}, name
        assert run["lost"] == 0 and run["listed_twice"] == 0, name
        assert run["chunks"] == papers, name  # quick: one paper per chunk run
        assert sum(run["chunks_by_worker"].values()) == papers, name
        assert run["wall_s"] > 0 and run["papers_per_hour"] > 0, name
        # Where the CPU went: the workers' process trees (flow runs, sandboxes) did the work.
        cpu_s = run["cpu_s"]
        assert set(cpu_s) == {"workers", "server", "postgresql", "s3", "bench", "machine"}
        assert cpu_s["workers"] > 0 and cpu_s["server"] > 0 and cpu_s["machine"] > 0, name
        assert (cpu_s["postgresql"] > 0) == (name != "sqlite"), name
    # PostgreSQL answers the stack's requests without a 5xx (SQLite may not; it is reported).
    for name in ("1 worker", "2 workers", "postgresql"):
        assert runs[name]["server_5xx"] == 0, runs[name]["server_5xx_examples"]


def test_throughput_rows_count_the_llm_calls(quick: tuple[dict, str]) -> None:
    results, markdown = quick
    throughput = results["throughput"]
    for workers in (1, 2):
        row = throughput[f"{workers}_workers"]
        assert row["workers"] == workers
        # Every paper asks the scripted LLM at least once per LLM group, in at most C slots.
        assert row["llm_calls_per_paper"] >= sum(spec.llm for spec in REGISTRY), (workers, row)
        assert 0 < row["llm_peak_in_flight"] <= throughput["llm_concurrency"], (workers, row)
        assert row["cpu_bound_papers_per_hour"] == pytest.approx(
            workers * throughput["1_workers"]["cpu_bound_papers_per_hour"], rel=0.01)
    assert throughput["two_over_one"] > 0
    assert results["checks"] == {}  # quick mode checks no target
    assert "| PostgreSQL, 2 workers | 2 |" in markdown and "| sqlite |" in markdown


def test_distinct_papers_differ_only_after_the_end() -> None:
    import pymupdf

    base = (ROOT / "samples" / "webb2017-vespa-peerjcs.pdf").read_bytes()
    copies = distinct_papers([base], 3, "t")
    assert len(set(copies)) == 3 and all(c.startswith(base) for c in copies)
    with pymupdf.open(stream=base) as original, pymupdf.open(stream=copies[2]) as copy:
        assert len(copy) == len(original)
        assert copy[0].get_text("dict") == original[0].get_text("dict")
