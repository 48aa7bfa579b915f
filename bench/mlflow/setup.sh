#!/usr/bin/env bash
# Creates .venv-bench/ at the repo root with the exact pins of bench/mlflow/requirements.txt (full mlflow + auth
# extra: its server and basic-auth app, and the client timed against both servers).
# Idempotent: when the venv's stamp (hash of requirements.txt + the interpreter's version) matches, it does nothing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/.venv-bench"
req="$here/requirements.txt"
py="${PYTHON:-python3}"
stamp="$venv/.requirements.sha256"
want="$({ sha256sum "$req"; "$py" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)"

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "bench venv up to date ($venv)"
  exit 0
fi

start=$SECONDS
rm -rf "$venv"
# --without-pip + the host's pip (--python): no ensurepip; the venv itself needs no pip.
"$py" -m venv --without-pip "$venv"
# --no-deps: every transitive package is pinned in requirements.txt. --only-binary: wheels only, never a build.
# Byte-compiled on install (unlike the compat venv): every timed download is a fresh Python process, and
# compiling mlflow's imports on the first one would land in the first timed figure.
"$py" -m pip --python "$venv/bin/python" install --quiet --disable-pip-version-check --no-deps --only-binary=:all: -r "$req"
# Keep the venv out of git status (Python < 3.13 does not write this itself).
echo "*" >"$venv/.gitignore"
echo "$want" >"$stamp"
echo "bench venv ready in $((SECONDS - start)) s ($venv)"
