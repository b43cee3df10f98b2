#!/usr/bin/env bash
# run_echo_pair.sh SERVER CLIENT: starts the echo server on a free port, runs the client against
# it for one second, stops the server with SIGTERM and checks both ended well.
set -euo pipefail
server=$1 client=$2
out=$(mktemp)
trap 'kill "$pid" 2>/dev/null || true; rm -f "$out"' EXIT
"$server" --port 0 --workers 1 >"$out" 2>&1 &
pid=$!
for _ in $(seq 1 100); do grep -q "listening on" "$out" && break; sleep 0.05; done
port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$out")
[ -n "$port" ] || { echo "server did not start:"; cat "$out"; exit 1; }
"$client" --port "$port" --connections 8 --seconds 1 --workers 1
kill -TERM "$pid"
wait "$pid"
grep -q "stopping after 8 connections" "$out" || { echo "server output:"; cat "$out"; exit 1; }
echo "echo pair ok"
