#!/usr/bin/env bash
# The real-client compatibility suite: prepares .venv-compat/ (setup.sh), then runs pytest on test/compat.
# Extra arguments go to pytest (e.g. `-k artifacts -x`). The exit code is pytest's.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bash "$root/test/compat/setup.sh"
cd "$root"
# setup.sh installs without byte-compiling (faster); let Python cache what the suite imports, so only the
# first run pays for compiling mlflow & co. (~5 s per process otherwise, chunk-download subprocesses included).
unset PYTHONDONTWRITEBYTECODE
exec .venv-compat/bin/python -m pytest test/compat -q "$@"
