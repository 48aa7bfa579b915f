#!/bin/bash
# bench/s3-relay/ab.sh [MiB] — what a Node hop costs per byte in front of an S3 server (bench/results/2026-12-01-node-s3.md,
# "Candidates"). Starts versitygw v1.8.0 (test/s3/setup.sh builds it) on loopback in a temp dir, PUTs one object of
# random bytes (default 1024 MiB), then for each relay variant: a fresh process on 127.0.0.1:$RELAY_PORT, the body's
# SHA-256 checked equal to the file's, one warm-up, then $N curl downloads, each with its MB/s and the relay process's
# user+sys CPU seconds per GiB (/proc/PID/stat); a direct curl GET from versitygw after each round ($ROUNDS rounds).
# Everything it starts is stopped by PID at the end. Override VARIANTS (newline-separated commands) to choose.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH=$PWD/node_modules/.bin:$PATH
MIB=${1:-1024}; N=${N:-2}; ROUNDS=${ROUNDS:-2}; RELAY_PORT=${RELAY_PORT:-39300}; S3_PORT=${S3_PORT:-39111}
VGW=${REGATE_VERSITYGW_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/regate/versitygw-v1.8.0/versitygw}
AK=REGATETESTACCESSKEY1; SK=regate-test-secret-0123456789abcdefghij
SIG=(--aws-sigv4 aws:amz:us-east-1:s3 --user "$AK:$SK" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD')
TMP=$(mktemp -d /tmp/s3-relay-XXXXXX); mkdir -p "$TMP/s3"
VPID=; RPID=
cleanup() { [ -n "$RPID" ] && kill "$RPID" 2>/dev/null; [ -n "$VPID" ] && kill "$VPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
"$VGW" --access $AK --secret $SK --region us-east-1 --port 127.0.0.1:$S3_PORT --keep-alive --quiet posix "$TMP/s3" >"$TMP/vgw.log" 2>&1 & VPID=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$S3_PORT/" && break; sleep 0.1; done
S3=http://127.0.0.1:$S3_PORT
curl -sS "${SIG[@]}" -X PUT -o /dev/null "$S3/bkt"
head -c $((MIB * 1048576)) /dev/urandom > "$TMP/obj.bin"; SHA=$(sha256sum "$TMP/obj.bin" | cut -c1-64)
curl -sS "${SIG[@]}" -T "$TMP/obj.bin" -o /dev/null "$S3/bkt/obj.bin"; rm "$TMP/obj.bin"
ETAG=$(curl -sS "${SIG[@]}" -I "$S3/bkt/obj.bin" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p')
DEFAULT="node bench/s3-relay/regate-path.mts $RELAY_PORT $S3 bkt obj.bin '$ETAG'
env PLAIN_AGENT=1 node bench/s3-relay/regate-path.mts $RELAY_PORT $S3 bkt obj.bin '$ETAG'
env NODELAY=1 node bench/s3-relay/regate-path.mts $RELAY_PORT $S3 bkt obj.bin '$ETAG'
env NOSOCKTO=1 node bench/s3-relay/regate-path.mts $RELAY_PORT $S3 bkt obj.bin '$ETAG'
node --max-semi-space-size=64 bench/s3-relay/regate-path.mts $RELAY_PORT $S3 bkt obj.bin '$ETAG'
node bench/s3-relay/raw-get.mts $RELAY_PORT $S3_PORT bkt obj.bin '$ETAG' http
node bench/s3-relay/raw-get.mts $RELAY_PORT $S3_PORT bkt obj.bin '$ETAG' http-pipe
node bench/s3-relay/raw-get.mts $RELAY_PORT $S3_PORT bkt obj.bin '$ETAG' undici
node bench/s3-relay/relays.mjs http $RELAY_PORT $S3_PORT
node bench/s3-relay/relays.mjs http-onread $RELAY_PORT $S3_PORT
node bench/s3-relay/relays.mjs http-hwm $RELAY_PORT $S3_PORT
node bench/s3-relay/relays.mjs tcp-onread $RELAY_PORT $S3_PORT"
VARIANTS=${VARIANTS:-$DEFAULT}
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
URL=http://127.0.0.1:$RELAY_PORT/bkt/obj.bin
echo "object: $MIB MiB, sha256 $SHA, etag $ETAG; load average $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$ROUNDS"); do
  while IFS= read -r v; do
    [ -z "$v" ] && continue
    bash -c "exec $v" & RPID=$!
    for _ in $(seq 100); do curl -s -o /dev/null -r 0-0 "${SIG[@]}" "$URL" && break; sleep 0.1; done
    if [ "$round" = 1 ]; then got=$(curl -sS "${SIG[@]}" "$URL" | sha256sum | cut -c1-64); [ "$got" = "$SHA" ] || { echo "SHA-256 mismatch for: $v"; exit 1; }; fi
    printf '%-70s ' "${v:0:70}"
    for _ in $(seq "$N"); do
      a=$(cpu $RPID); s=$(curl -sS "${SIG[@]}" -o /dev/null -w '%{speed_download}' "$URL"); b=$(cpu $RPID)
      awk -v s="$s" -v a="$a" -v b="$b" -v m="$MIB" 'BEGIN { printf "%5.0f MB/s %4.2f cpu-s/GiB | ", s / 1e6, (b - a) / 100 * 1024 / m }'
    done; echo
    kill "$RPID"; wait "$RPID" 2>/dev/null || true; RPID=
  done <<< "$VARIANTS"
  printf '%-70s ' direct; for _ in $(seq "$N"); do curl -sS "${SIG[@]}" -o /dev/null -w '%{speed_download}' "$S3/bkt/obj.bin" | awk '{ printf "%5.0f MB/s | ", $1 / 1e6 }'; done; echo
done
