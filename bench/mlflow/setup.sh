#!/usr/bin/env bash
# Creates .venv-bench/ at the repo root with the exact pins of bench/mlflow/requirements.txt (full mlflow + auth
# extra: its server and basic-auth app, and the client timed against both servers). Byte-compiled on install:
# every timed download is a fresh Python process, and compiling mlflow's imports on the first one would land in
# the first timed figure.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$here/../../scripts/make-venv.sh" .venv-bench "$here/requirements.txt" --compile
