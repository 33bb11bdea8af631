"""Bulk runs on the server stack: throughput with a simulated LLM, one worker against two, and
what the orchestration costs on SQLite and on PostgreSQL.

`python -m benchmarks.workers [--papers 500] [--overhead-papers 34] [--out DIR]` (the second
half of `make bench`). Each row is one bulk run of the `bulk-process` deployment, split into
`bulk-chunk` flow runs (10 papers each) on the `papers` pool, on a stack started for the
benchmark (`Stack.up`: Prefect server, SeaweedFS, deployments; PostgreSQL, then SQLite) on free
loopback ports. Each worker has its own process, PREFECT_HOME and data folder, and it and its
flow-run processes are pinned to one core of their own, as one-core machines would be; the
server, PostgreSQL and SeaweedFS are not pinned. Every run has papers of its own (no cache hits):

- throughput (PostgreSQL): `--papers` distinct papers (the eval papers, each copy made distinct
  by a comment appended after its end, so pages and text are unchanged), the LLM simulated by
  the scripted OpenAI-compatible server answering every call after `--delay` s, with
  `--llm-concurrency` slots in the global "llm" limit; once on one worker, once on two. Its
  bound is min(C / (LLM calls per paper x delay), CPU limit), the CPU limit being the papers'
  CPU stage as plain calls on one core, measured in this run, times the workers' cores;
- overhead: `--overhead-papers` distinct papers without an LLM on one worker, on PostgreSQL and
  on SQLite, against the same papers' CPU stage as plain calls on one core.

Every run is accounted for: each source listed once in the run's outcomes table, none failed,
and the server's access log searched for 5xx answers. `--quick` (in `make test`): the first
pages of two eval papers, one paper per chunk, no target checked.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import cpu  # noqa: E402
from deployments.seaweedfs import s3_client  # noqa: E402
from deployments.stack import POOL, Stack, free_port, stop_process_group  # noqa: E402
from tests.llm_server import Recorded, Reply, ScriptedLLM, scripted_llm  # noqa: E402
from tests.paperflow.llm.test_groups import ANSWERS  # noqa: E402

EVAL_DIR = ROOT.parent / "shared" / "eval"
S3_PREFIX = "bench"
BATCH_SIZE = 10
"""Papers per `bulk-chunk` flow run."""
WORKER_LIMIT = 4
"""Flow runs (chunks) a worker takes at once."""
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
# uvicorn's access log line: `"POST /api/... HTTP/1.1" 503`.
SERVER_ERROR = re.compile(r'" 5\d\d\b')
# Whatever S3 or LLM the developer's shell names, the benchmark's stack uses its own.
NOT_MINE = dict.fromkeys((
    "PAPERFLOW_S3_BUCKET", "S3_BUCKET_NAME", "CLOUDFLARE_BUCKET_NAME",
    "PAPERFLOW_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "PAPERFLOW_AWS_ACCESS_KEY_ID",
    "PAPERFLOW_AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "PAPERFLOW_LLM_BASE_URL",
    "PAPERFLOW_LLM_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL"), "")


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and all its descendants: live ones counted by
    themselves, exited ones through the times their parent collected when it reaped them."""
    try:
        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0.0
    for process in tree:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def distinct_papers(base: list[bytes], count: int, tag: str) -> list[bytes]:
    """`count` papers cycling through `base`, each made distinct (another content hash) by a
    PDF comment after its end: pages, fonts and text stay as they were."""
    return [base[i % len(base)] + f"\n%paperflow-bench {tag} {i}\n".encode()
            for i in range(count)]


def plain_seconds(papers: list[bytes]) -> float:
    """The papers' CPU stage as plain calls (no Prefect, no storage) on one core."""
    with cpu.one_core():
        start = time.perf_counter()
        for data in papers:
            cpu.cpu_stage(data)
        return time.perf_counter() - start


def answering_after(delay: float) -> Any:
    def answer(request: Recorded) -> Reply:
        return Reply(json.dumps(ANSWERS[request.schema_name or ""]), usage=(500, 50),
                     delay=delay)
    return answer


@dataclass
class BenchStack:
    """A stack of its own for one or more rows, and the workers started on it."""

    stack: Stack
    root: Path
    workers: list[subprocess.Popen[bytes]]

    def api(self, path: str, body: dict[str, Any] | None = None) -> Any:
        url = f"{self.stack.api_url}{path}"
        response = httpx.get(url, timeout=60) if body is None else httpx.post(
            url, json=body, timeout=60)
        response.raise_for_status()
        return response.json()

    def start_worker(self, name: str, core: int | None, env: dict[str, str]) -> None:
        """A worker with its own PREFECT_HOME and data folder, pinned to `core`; `env` on top
        of the stack's (the LLM settings of the flow runs it starts)."""
        home = self.root / name
        home.mkdir(parents=True, exist_ok=True)
        env = {**self.stack.env(), "PREFECT_HOME": str(home / "prefect"),
               "PAPERFLOW_DATA_DIR": str(home / "data"), "PREFECT_WORKER_QUERY_SECONDS": "1",
               **env}

        def pin() -> None:
            if core is not None and hasattr(os, "sched_setaffinity"):
                os.sched_setaffinity(0, {core})

        log = (home / "worker.log").open("wb")
        self.workers.append(subprocess.Popen(
            [sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL, "--type",
             "process", "--limit", str(WORKER_LIMIT), "--name", name],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=pin))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.workers[-1].poll() is not None:
                raise RuntimeError(f"worker {name} exited; see {home / 'worker.log'}")
            online = {w["name"] for w in self.api(f"/work_pools/{POOL}/workers/filter", {})
                      if w["status"] == "ONLINE"}
            if name in online:
                return
            time.sleep(1)
        raise TimeoutError(f"worker {name} not online after 120 s; see {home / 'worker.log'}")

    def stop_workers(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                stop_process_group(process.pid, 20.0)
        self.workers.clear()

    def upload(self, papers: list[bytes], tag: str) -> list[str]:
        env = self.stack.s3_env
        client = s3_client(env["PAPERFLOW_S3_ENDPOINT_URL"], env["AWS_ACCESS_KEY_ID"],
                           env["AWS_SECRET_ACCESS_KEY"], env["AWS_REGION"])
        bucket = env["PAPERFLOW_S3_BUCKET"]
        sources = []
        for index, data in enumerate(papers):
            key = f"{S3_PREFIX}/inbox/{tag}-{index:04d}.pdf"
            client.put_object(Bucket=bucket, Key=key, Body=data)
            sources.append(f"s3://{bucket}/{key}")
        return sources

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds used so far by each part of the stack, its workers (with every flow run
        and sandbox they started), this process alone (the scripted LLM), and the machine."""
        pids: dict[str, list[int]] = {
            "workers": [w.pid for w in self.workers],
            "server": [pid for pid in [self.stack.running("server")] if pid],
            "s3": [pid for pid in [self.stack.running("weed")] if pid],
            "postgresql": [],
        }
        postmaster = self.stack.postgres().data_dir / "postmaster.pid"
        if postmaster.is_file():
            pids["postgresql"] = [int(postmaster.read_text().split()[0])]
        found = {name: round(sum(tree_cpu_seconds(pid) for pid in group), 2)
                 for name, group in pids.items()}
        # This process alone (the scripted LLM's threads): the stack and workers are its
        # children and are counted above.
        own = psutil.Process().cpu_times()
        found["bench"] = round(own.user + own.system, 2)
        machine = psutil.cpu_times()
        found["machine"] = round(sum(machine) - machine.idle - getattr(machine, "iowait", 0), 2)
        return found

    def server_errors(self) -> list[str]:
        """The server's access-log lines answering 5xx so far."""
        log = self.stack.root / "server.log"
        if not log.is_file():
            return []
        with log.open(errors="replace") as lines:
            return [line.strip() for line in lines if SERVER_ERROR.search(line)]

    def bulk(self, sources: list[str], batch_size: int, timeout: float) -> dict[str, Any]:
        """One bulk run of `sources`, chunked over the workers, followed to its end."""
        deployment = self.api("/deployments/name/bulk-process/bulk-process")
        errors_before = len(self.server_errors())
        cpu_before = self.cpu_seconds()
        start = time.perf_counter()
        run = self.api(f"/deployments/{deployment['id']}/create_flow_run",
                       {"parameters": {"sources": sources, "batch_size": batch_size}})
        deadline = time.monotonic() + timeout
        while True:
            parent = self.api(f"/flow_runs/{run['id']}")
            if parent["state"]["type"] in FINAL:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"bulk run {run['id']} not finished after {timeout:.0f} s "
                                   f"({parent['state']['type']})")
            time.sleep(1)
        wall = time.perf_counter() - start
        cpu_after = self.cpu_seconds()
        artifacts = {a["key"]: a for a in self.api("/artifacts/filter", {
            "artifacts": {"flow_run_id": {"any_": [run["id"]]}}}) if a["key"]}
        rows = json.loads(artifacts["bulk-outcomes"]["data"]) if "bulk-outcomes" in artifacts \
            else []
        chunks = json.loads(artifacts["bulk-chunks"]["data"]) if "bulk-chunks" in artifacts \
            else []
        listed = Counter(row["source"] for row in rows)
        statuses = Counter(row["status"] for row in rows)
        return {
            "papers": len(sources), "state": parent["state"]["type"], "wall_s": round(wall, 1),
            "papers_per_hour": round(3600 * len(sources) / max(wall, 1e-9)),
            "statuses": dict(statuses),
            "lost": sum(1 for s in sources if s not in listed),
            "listed_twice": sum(1 for n in listed.values() if n > 1),
            "chunks": len(chunks),
            "chunks_by_worker": dict(Counter(str(c.get("worker", "?")).split(" on ")[0]
                                             for c in chunks)),
            "server_5xx": len(errors := self.server_errors()[errors_before:]),
            "server_5xx_examples": errors[:3],
            "cpu_s": {name: round(cpu_after[name] - cpu_before.get(name, 0.0), 1)
                      for name in cpu_after},
        }


def llm_env(llm: ScriptedLLM) -> dict[str, str]:
    """A worker's settings for the scripted LLM."""
    return {"PAPERFLOW_LLM_BASE_URL": llm.base_url, "PAPERFLOW_LLM_API_KEY": "sk-bench",
            "PAPERFLOW_LLM_MODEL": "scripted", "PAPERFLOW_LLM_REQUESTS_PER_MINUTE": "0",
            "PAPERFLOW_LLM_TIMEOUT_SECONDS": "60"}


@contextmanager
def bench_stack(postgres: bool, llm_concurrency: int) -> Iterator[BenchStack]:
    """`Stack.up` with S3, without its own worker, on free ports; everything stopped after."""
    root = Path(tempfile.mkdtemp(prefix="paperflow-bench-stack-"))
    stack = Stack(root / "stack", port=free_port(), s3_port=free_port(), pg_port=free_port(),
                  extra_env={
        **NOT_MINE, "PREFECT_HOME": str(root / "prefect"),
        "PAPERFLOW_DATA_DIR": str(root / "data"), "PAPERFLOW_S3_PREFIX": S3_PREFIX,
        "PREFECT_LOGGING_LEVEL": "WARNING", "PREFECT_SERVER_LOGGING_LEVEL": "INFO",
        "PAPERFLOW_WORKER_LIMIT": str(WORKER_LIMIT),
        "PAPERFLOW_LLM_GLOBAL_LIMIT": str(llm_concurrency)})
    bench = BenchStack(stack, root, [])
    try:
        stack.up(s3=True, worker=False, postgres=postgres, query_seconds=1)
        yield bench
    finally:
        bench.stop_workers()
        stack.down(timeout=10)
        if postgres:
            stack.postgres().remove()
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Plan:
    """What one benchmark run measures."""

    papers: int
    overhead_papers: int
    delay: float
    llm_concurrency: int
    batch_size: int
    seconds_per_paper: float
    """The base papers' CPU stage as plain calls on one core, per paper."""

    def timeout(self, papers: int) -> float:
        return max(600.0, 20 * papers * self.seconds_per_paper)


def overhead_row(bench: BenchStack, base: list[bytes], plan: Plan, database: str
                 ) -> dict[str, Any]:
    """One worker on core 0, no LLM: the bulk run against its papers' plain CPU stage."""
    bench.start_worker("overhead-worker", 0, {})
    tag = f"overhead-{database}"
    sources = bench.upload(distinct_papers(base, plan.overhead_papers, tag), tag)
    row = bench.bulk(sources, plan.batch_size, plan.timeout(plan.overhead_papers))
    bench.stop_workers()
    plain = plan.overhead_papers * plan.seconds_per_paper
    return row | {"over_plain": round(row["wall_s"] / max(plain, 1e-9), 2)}


def throughput_rows(bench: BenchStack, base: list[bytes], plan: Plan) -> dict[str, Any]:
    """One worker, then two, with the simulated LLM; each run its own distinct papers."""
    rows: dict[str, Any] = {"delay_s": plan.delay, "llm_concurrency": plan.llm_concurrency}
    with scripted_llm() as llm:
        llm.responder = answering_after(plan.delay)
        for workers in (1, 2):
            while len(bench.workers) < workers:
                index = len(bench.workers)
                bench.start_worker(f"worker-{index + 1}", index % (os.cpu_count() or 1),
                                   llm_env(llm))
            tag = f"throughput-{workers}w"
            sources = bench.upload(distinct_papers(base, plan.papers, tag), tag)
            calls_before = len(llm.chat_requests())
            llm.peak_in_flight = 0
            row = bench.bulk(sources, plan.batch_size, plan.timeout(plan.papers))
            calls = len(llm.chat_requests()) - calls_before
            per_paper = calls / max(plan.papers, 1)
            llm_bound = 3600 * plan.llm_concurrency / max(per_paper * plan.delay, 1e-9)
            cpu_bound = 3600 * workers / max(plan.seconds_per_paper, 1e-9)
            row |= {"workers": workers, "llm_calls": calls,
                    "llm_calls_per_paper": round(per_paper, 2),
                    "llm_peak_in_flight": llm.peak_in_flight,
                    "llm_bound_papers_per_hour": round(llm_bound),
                    "cpu_bound_papers_per_hour": round(cpu_bound),
                    "share_of_bound": round(row["papers_per_hour"]
                                            / max(min(llm_bound, cpu_bound), 1e-9), 3)}
            rows[f"{workers}_workers"] = row
        bench.stop_workers()
    one, two = rows["1_workers"], rows["2_workers"]
    rows["two_over_one"] = round(two["papers_per_hour"] / max(one["papers_per_hour"], 1), 2)
    return rows


def bench_workers(papers: int, overhead_papers: int, delay: float, llm_concurrency: int,
                  quick: bool = False) -> dict[str, Any]:
    """Every row; `quick` takes the first pages of two eval papers, chunks of one paper."""
    paths = sorted(EVAL_DIR.glob("*.pdf"))
    if not paths:
        raise FileNotFoundError(f"No eval papers in {EVAL_DIR}: the benchmark needs them.")
    base = [data for _, data in cpu.load_papers(paths, quick)]
    plan = Plan(papers, overhead_papers, delay, llm_concurrency, 1 if quick else BATCH_SIZE,
                plain_seconds(base) / len(base))
    overhead: dict[str, Any] = {"papers": overhead_papers,
                                "plain_s": round(overhead_papers * plan.seconds_per_paper, 1)}
    with bench_stack(True, llm_concurrency) as bench:
        overhead["postgresql"] = overhead_row(bench, base, plan, "postgresql")
        throughput = throughput_rows(bench, base, plan)
    with bench_stack(False, llm_concurrency) as bench:
        overhead["sqlite"] = overhead_row(bench, base, plan, "sqlite")
    return {"base_papers": len(base), "plain_seconds_per_paper": round(plan.seconds_per_paper, 3),
            "batch_size": plan.batch_size, "worker_limit": WORKER_LIMIT,
            "throughput": throughput, "overhead": overhead}


def checks(results: dict[str, Any]) -> dict[str, bool]:
    """The issue's targets for these rows."""
    throughput, overhead = results["throughput"], results["overhead"]
    runs = [throughput["1_workers"], throughput["2_workers"], overhead["sqlite"],
            overhead["postgresql"]]
    return {
        "bulk: papers/hour >= 80 % of min(LLM bound, CPU bound), one worker":
            throughput["1_workers"]["share_of_bound"] >= 0.8,
        "workers: 2 workers >= 1.7x the papers/hour of 1 (PostgreSQL)":
            throughput["two_over_one"] >= 1.7,
        "accounted: every paper listed once, none failed, no 5xx, in every bulk run":
            all(r["lost"] == 0 and r["listed_twice"] == 0 and r["server_5xx"] == 0
                and r["state"] == "COMPLETED" and set(r["statuses"]) == {"completed"}
                for r in runs),
    }


def cpu_split(row: dict[str, Any]) -> str:
    cpu_s = row["cpu_s"]
    return " / ".join(f"{cpu_s[name]:.0f}" for name in (
        "workers", "server", "postgresql", "s3", "bench", "machine"))


def markdown(results: dict[str, Any]) -> str:
    throughput, overhead = results["throughput"], results["overhead"]
    lines = ["", f"Bulk runs on the server stack (chunks of {results['batch_size']} papers, "
             f"{results['worker_limit']} chunk runs per worker, each worker pinned to one core; "
             f"LLM simulated: {throughput['delay_s']} s per call, "
             f"{throughput['llm_concurrency']} slots). CPU stage as plain calls: "
             f"{results['plain_seconds_per_paper']} s per paper on one core.", "",
             "| run | papers | wall s | papers/hour | bound (LLM / CPU) | share of bound | "
             "LLM calls/paper | lost | 5xx | chunks by worker | CPU s: workers / server / "
             "PostgreSQL / S3 / LLM / machine |",
             "|---|---:|---:|---:|---|---:|---:|---:|---:|---|---|"]
    for workers in (1, 2):
        row = throughput[f"{workers}_workers"]
        lines.append(
            f"| PostgreSQL, {workers} worker{'s' if workers > 1 else ''} | {row['papers']} | "
            f"{row['wall_s']} | {row['papers_per_hour']} | {row['llm_bound_papers_per_hour']} "
            f"/ {row['cpu_bound_papers_per_hour']} | {100 * row['share_of_bound']:.0f} % | "
            f"{row['llm_calls_per_paper']} | {row['lost']} | {row['server_5xx']} | "
            f"{', '.join(f'{k}: {v}' for k, v in sorted(row['chunks_by_worker'].items()))} | "
            f"{cpu_split(row)} |")
    lines += ["", f"Two workers against one: {throughput['two_over_one']}x.", "",
              f"Orchestration overhead, {overhead['papers']} papers without an LLM, one worker on "
              f"one core; plain calls {overhead['plain_s']} s:", "",
              "| database | wall s | papers/hour | vs plain calls | lost | 5xx | CPU s: workers / "
              "server / PostgreSQL / S3 / LLM / machine |",
              "|---|---:|---:|---:|---:|---:|---|"]
    for database in ("sqlite", "postgresql"):
        row = overhead[database]
        lines.append(f"| {database} | {row['wall_s']} | {row['papers_per_hour']} | "
                     f"{row['over_plain']}x | {row['lost']} | {row['server_5xx']} | "
                     f"{cpu_split(row)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.workers",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--papers", type=int, default=500,
                        help="distinct papers in each throughput run (default 500)")
    parser.add_argument("--overhead-papers", type=int, default=34,
                        help="distinct papers in each overhead run (default 34)")
    parser.add_argument("--delay", type=float, default=1.0, help="seconds per LLM answer")
    parser.add_argument("--llm-concurrency", type=int, default=32,
                        help="slots of the global 'llm' limit (default 32)")
    parser.add_argument("--quick", action="store_true",
                        help="first pages of two eval papers; no targets checked")
    parser.add_argument("--out", type=Path, default=ROOT / "out")
    args = parser.parse_args(argv)
    results = bench_workers(args.papers, args.overhead_papers, args.delay,
                            args.llm_concurrency, args.quick)
    results["checks"] = {} if args.quick else checks(results)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench-workers.json").write_text(json.dumps(results, indent=2))
    (args.out / "bench-workers.md").write_text(markdown(results))
    print(json.dumps(results, indent=2))
    missed = [name for name, ok in results["checks"].items() if not ok]
    for name in missed:
        print(f"MISSED: {name}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
