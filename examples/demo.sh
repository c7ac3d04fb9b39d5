#!/usr/bin/env bash
# `make run` until the agent lands: start a local server with injected delays (offline, on
# 127.0.0.1 only) and probe it over HTTP and HTTPS with `phasewatch probe`, every 5 seconds.
set -euo pipefail
PHASEWATCH="${1:?usage: demo.sh PATH/TO/phasewatch}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TMP="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$TMP"' EXIT

python3 "$ROOT/Tests/Support/mkcerts.py" "$TMP/certs"
mkfifo "$TMP/hold"
python3 "$ROOT/Tests/Support/testserver.py" --listen http=http \
  --listen https=https,cert="$TMP/certs/server.pem",key="$TMP/certs/server.key",tls_delay=0.02 \
  <"$TMP/hold" >"$TMP/ports.json" &
exec 3>"$TMP/hold"  # keeps the server's stdin open while this script runs
for _ in $(seq 50); do [ -s "$TMP/ports.json" ] && break; sleep 0.1; done
read -r HTTP HTTPS < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["http"], d["https"])' "$TMP/ports.json")

echo "Local demo server: http://127.0.0.1:$HTTP and https://localhost:$HTTPS (20 ms TLS delay). Ctrl-C to stop."
while true; do
  echo; echo "\$ phasewatch probe 'http://127.0.0.1:$HTTP/?processing=0.05&transfer=0.02'"
  "$PHASEWATCH" probe "http://127.0.0.1:$HTTP/?processing=0.05&transfer=0.02" --format=text || true
  echo; echo "\$ phasewatch probe https://localhost:$HTTPS/?processing=0.03 --ca-file=... --resolve=localhost:$HTTPS:127.0.0.1"
  "$PHASEWATCH" probe "https://localhost:$HTTPS/?processing=0.03" --format=text \
    --ca-file="$TMP/certs/ca.pem" --resolve="localhost:$HTTPS:127.0.0.1" || true
  sleep 5
done
