#!/usr/bin/env bash
# Builds versitygw v1.8.0 (Apache-2.0, a Go S3 server that checks SigV4 signatures), which
# test/helpers/s3-server.ts starts on loopback with its posix backend for the S3 adapter's tests (and
# bench/figures/node-s3.ts for figure 8). The binary is cached outside the repo, in
# ${XDG_CACHE_HOME:-~/.cache}/regate/versitygw-v1.8.0/versitygw (or at $REGATE_VERSITYGW_BIN), and built only
# when missing. Measured on 2 cores (shared, load ~10): 50 s with a warm Go build cache, 58 s with an empty build
# cache and the Go modules already downloaded, 154 s with both caches empty (a fresh machine).
# Go: `go` on PATH or /usr/local/go/bin/go when it is 1.21 or newer (GOTOOLCHAIN=auto then fetches the 1.25
# toolchain versitygw's go.mod asks for, if older). Otherwise (no Go, or Debian bookworm's 1.19) the Go 1.25
# toolchain is fetched from the Go module proxy, where Go publishes it as the module golang.org/toolchain, into
# the same cache. .ci/run calls this before `npm test`.
set -euo pipefail
VERSION=v1.8.0
GO_TOOLCHAIN=go1.25.0
cache="${XDG_CACHE_HOME:-$HOME/.cache}/regate"
bin="${REGATE_VERSITYGW_BIN:-$cache/versitygw-$VERSION/versitygw}"
if [[ -x "$bin" ]]; then
  echo "versitygw $VERSION present ($bin)"
  exit 0
fi

go_ok() { # usable: Go 1.21+ (it understands GOTOOLCHAIN)
  local v
  v="$("$1" env GOVERSION 2>/dev/null)" || return 1
  [[ "$v" =~ ^go1\.([0-9]+) ]] && (( BASH_REMATCH[1] >= 21 ))
}
go=""
for cand in "$(command -v go || true)" /usr/local/go/bin/go "$cache/$GO_TOOLCHAIN/bin/go"; do
  if [[ -n "$cand" && -x "$cand" ]] && go_ok "$cand"; then go="$cand"; break; fi
done
if [[ -z "$go" ]]; then
  arch="$(uname -m)"; case "$arch" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; esac
  zip_url="${GOPROXY_URL:-https://proxy.golang.org}/golang.org/toolchain/@v/v0.0.1-$GO_TOOLCHAIN.linux-$arch.zip"
  echo "no Go 1.21+ found: fetching $GO_TOOLCHAIN from $zip_url"
  tmpd="$(mktemp -d)"
  curl -fsSL -o "$tmpd/go.zip" "$zip_url"
  # The module zip holds golang.org/toolchain@…/{bin,pkg,src,…}: unpack, then keep that root as $cache/$GO_TOOLCHAIN.
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$tmpd/go.zip" "$tmpd/x"
  root="$(dirname "$(dirname "$(find "$tmpd/x" -path '*/bin/go' -type f | head -n1)")")"
  chmod +x "$root"/bin/* "$root"/pkg/tool/*/* 2>/dev/null || true
  mkdir -p "$cache" && rm -rf "${cache:?}/$GO_TOOLCHAIN" && mv "$root" "$cache/$GO_TOOLCHAIN"
  rm -rf "$tmpd"
  go="$cache/$GO_TOOLCHAIN/bin/go"
fi

dir="$(dirname "$bin")"
mkdir -p "$dir"
start=$(date +%s)
echo "building versitygw $VERSION with $("$go" version) into $dir"
# go install writes <GOBIN>/versitygw: a temp GOBIN then a rename, so a killed build leaves no half-written
# binary that the check above would take as built.
tmp="$(mktemp -d "$dir/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
GOBIN="$tmp" GOTOOLCHAIN="${GOTOOLCHAIN:-auto}" GOFLAGS="${GOFLAGS:-} -trimpath" \
  "$go" install "github.com/versity/versitygw/cmd/versitygw@$VERSION"
mv "$tmp/versitygw" "$bin"
echo "built versitygw $VERSION in $(( $(date +%s) - start )) s"
