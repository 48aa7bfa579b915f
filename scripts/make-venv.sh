#!/usr/bin/env bash
# make-venv.sh VENV REQUIREMENTS [--compile]
# Creates the venv VENV (relative to the repo root) with the exact pins of REQUIREMENTS. Idempotent: when the
# venv's stamp (hash of the requirements + the interpreter's version) matches, it does nothing. Used by
# test/compat/setup.sh and bench/mlflow/setup.sh.
# --compile byte-compiles on install (for timed runs, where the first import must not pay for compiling).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/$1"
req="$2"
compile="--no-compile"
[[ "${3:-}" == "--compile" ]] && compile="--compile"
py="${PYTHON:-python3}"
stamp="$venv/.requirements.sha256"
want="$({ sha256sum "$req"; "$py" -c 'import sys; print(sys.version)'; echo "$compile"; } | sha256sum | cut -d' ' -f1)"

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "venv up to date ($venv)"
  exit 0
fi

start=$SECONDS
rm -rf "$venv"
# --without-pip + the host's pip (--python) skips ensurepip, which costs ~6 s; the venv itself needs no pip.
"$py" -m venv --without-pip "$venv"
# --no-deps: every transitive package is pinned in the requirements file.
# --only-binary: never build from source, so a missing wheel fails fast instead of compiling.
"$py" -m pip --python "$venv/bin/python" install --quiet --disable-pip-version-check --no-deps --only-binary=:all: "$compile" -r "$req"
# Keep the venv out of git status (Python < 3.13 does not write this itself).
echo "*" >"$venv/.gitignore"
echo "$want" >"$stamp"
echo "venv ready in $((SECONDS - start)) s ($venv)"
