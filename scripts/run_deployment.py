"""Run a paperflow deployment from Python, wait for it, and print its result as JSON.

    python scripts/run_deployment.py samples/webb2017-vespa-peerjcs.pdf
    python scripts/run_deployment.py 2304.02623 --webhook-url https://example.org/hook
    python scripts/run_deployment.py --deployment bulk-process/bulk-process \
        --params '{"folder": "samples"}'
    python scripts/run_deployment.py --result <flow-run-id>     # print a finished run's result

Needs PREFECT_API_URL pointing at the server (`make up` prints it).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from pydantic import BaseModel


def result_json(flow_run: FlowRun) -> str:
    """The run's return value as JSON, or its state and message if it has none to give."""
    state = flow_run.state
    if state is None or not state.is_completed():
        name = state.name if state else "unknown"
        message = state.message if state else ""
        return json.dumps({"flow_run_id": str(flow_run.id), "state": name, "message": message})
    value: Any = state.result(raise_on_failure=False)
    if isinstance(value, BaseModel):
        return value.model_dump_json(indent=2)
    return json.dumps(value, indent=2, default=str)


def read_flow_run(flow_run_id: UUID) -> FlowRun:
    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", nargs="?", help="a path, URL, s3:// URI or arXiv id")
    parser.add_argument("--deployment", default="process-paper/process-paper")
    parser.add_argument("--webhook-url")
    parser.add_argument("--params", default="{}", help="more parameters, as a JSON object")
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--result", metavar="FLOW_RUN_ID", help="print a finished run's result")
    args = parser.parse_args(argv)
    if args.result:
        flow_run = read_flow_run(UUID(args.result))
    else:
        parameters: dict[str, Any] = json.loads(args.params)
        if args.source:
            parameters["source"] = args.source
        if args.webhook_url:
            parameters["webhook_url"] = args.webhook_url
        flow_run = run_deployment(args.deployment, parameters=parameters, timeout=args.timeout,
                                  poll_interval=1, as_subflow=False)
        print(f"flow run {flow_run.id}: {flow_run.state.name if flow_run.state else '?'}",
              file=sys.stderr)
    print(result_json(flow_run))
    return 0 if flow_run.state and flow_run.state.is_completed() else 1


if __name__ == "__main__":
    sys.exit(main())
