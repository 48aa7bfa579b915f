#!/usr/bin/env bash
# Creates .venv-compat/ at the repo root with the exact pins of test/compat/requirements.txt.
# Idempotent: when the venv's stamp (hash of requirements.txt + the interpreter's version) matches, it does nothing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/.venv-compat"
req="$here/requirements.txt"
py="${PYTHON:-python3}"
stamp="$venv/.requirements.sha256"
want="$({ sha256sum "$req"; "$py" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)"

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "compat venv up to date ($venv)"
  exit 0
fi

start=$SECONDS
rm -rf "$venv"
# --without-pip + the host's pip (--python) skips ensurepip, which costs ~6 s; the venv itself needs no pip.
"$py" -m venv --without-pip "$venv"
# --no-deps: every transitive package is pinned in requirements.txt (see the comment there on certifi).
# --only-binary: never build from source, so a missing wheel fails fast instead of compiling.
# --no-compile: skip byte-compiling ~10k files up front (~25 s); Python compiles what the tests import.
"$py" -m pip --python "$venv/bin/python" install --quiet --disable-pip-version-check --no-deps --only-binary=:all: --no-compile -r "$req"
echo "$want" >"$stamp"
echo "compat venv ready in $((SECONDS - start)) s ($venv)"
