#!/usr/bin/env bash
# The real-client compatibility suite: prepares .venv-compat/ (setup.sh), then runs pytest on test/compat.
# Extra arguments go to pytest (e.g. `-k artifacts -x`). The exit code is pytest's.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bash "$root/test/compat/setup.sh"
cd "$root"
exec .venv-compat/bin/python -m pytest test/compat -q "$@"
