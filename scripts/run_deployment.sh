#!/usr/bin/env bash
# Run the process-paper deployment on one source, watch it, then print its result as JSON.
#   scripts/run_deployment.sh samples/webb2017-vespa-peerjcs.pdf [webhook_url]
# Needs PREFECT_API_URL pointing at the server (`make up` prints it).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-$here/../.venv/bin/python}"
source="${1:?usage: run_deployment.sh SOURCE [WEBHOOK_URL]}"
params=(--param "source=$source")
if [[ -n "${2:-}" ]]; then params+=(--param "webhook_url=$2"); fi

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
status=0
"$python" -m prefect deployment run 'process-paper/process-paper' "${params[@]}" --watch \
    --watch-interval 2 2>&1 | tee "$out" || status=$?
run_id="$(grep -oE '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}' "$out" | head -1)"
if [[ -z "$run_id" ]]; then
    echo "run_deployment.sh: no flow run id in the output above" >&2
    exit 1
fi
"$python" "$here/run_deployment.py" --result "$run_id" || status=$?
exit "$status"
