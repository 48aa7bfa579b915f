#!/usr/bin/env bash
# Creates .venv-compat/ at the repo root with the exact pins of test/compat/requirements.txt (see the comment
# there on certifi). Without byte-compiling (~25 s saved); Python compiles what the tests import.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$here/../../scripts/make-venv.sh" .venv-compat "$here/requirements.txt"
