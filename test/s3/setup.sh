#!/usr/bin/env bash
# Creates .venv-s3/ at the repo root with the exact pins of test/s3/requirements.txt: moto's S3 server, which
# test/helpers/s3-server.ts starts on loopback for the S3 adapter's contract tests. Idempotent (a no-op when
# the venv matches the pins); .ci/run calls it before `npm test`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$here/../../scripts/make-venv.sh" .venv-s3 "$here/requirements.txt"
