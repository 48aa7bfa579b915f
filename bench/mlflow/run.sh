#!/usr/bin/env bash
# The real MLflow client against regate and against MLflow's own server, in one run.
#   bash bench/mlflow/run.sh [--smoke] [--rounds N] [--keep] <out.json>
# Prepares .venv-bench/ (setup.sh, idempotent), then runs bench.py on it: writes <out.json>, prints a table.
# Exit code: 0 when the run completed (goals met or missed are in the JSON), 1 when it failed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if [[ ! -x "$root/node_modules/.bin/node" ]]; then
  echo "bench/mlflow: $root/node_modules/.bin/node is missing: run npm ci first" >&2
  exit 2
fi
bash "$here/setup.sh"
cd "$root"
unset PYTHONDONTWRITEBYTECODE
exec "$root/.venv-bench/bin/python" "$here/bench.py" "$@"
