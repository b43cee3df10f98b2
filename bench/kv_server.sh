#!/usr/bin/env bash
# kv_server.sh BUILD_DIR [REQUESTS]: redis-benchmark against weft's examples/kv_server over
# loopback, the server pinned to CPU 0 with 1 worker and redis-benchmark to CPU 1:
#   redis-benchmark -t ping,set,get -n REQUESTS (default 100000) -P 16   (50 connections)
# Prints one line per test: kv_server weft <test> rps=<v> req/s   (test: ping_inline, ping_mbulk,
# set, get). Exits non-zero if the server does not start or redis-benchmark fails or reports an
# error. Needs redis-benchmark (Debian: redis-tools; scripts/install-deps installs it).
set -euo pipefail
build=${1:?usage: kv_server.sh BUILD_DIR [REQUESTS]}
requests=${2:-100000}
command -v redis-benchmark >/dev/null ||
  { echo "kv_server.sh: redis-benchmark is not installed (apt-get install redis-tools)" >&2; exit 1; }
[[ -x $build/examples/kv_server ]] || { echo "kv_server.sh: no $build/examples/kv_server" >&2; exit 1; }

out=$(mktemp)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -f "$out"' EXIT
taskset -c 0 "$build/examples/kv_server" --port 0 --workers 1 >"$out" 2>&1 &
pid=$!
for _ in $(seq 1 100); do grep -q "listening on" "$out" && break; sleep 0.05; done
port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$out")
[ -n "$port" ] || { echo "kv_server.sh: server did not start:" >&2; cat "$out" >&2; exit 1; }

# --csv: one "TEST","rps",... line per test, without the progress lines of -q.
csv=$(timeout 300 taskset -c 1 redis-benchmark -p "$port" -t ping,set,get -n "$requests" -P 16 --csv 2>&1) ||
  { echo "kv_server.sh: redis-benchmark failed: $csv" >&2; exit 1; }
kill -TERM "$pid"; wait "$pid" || true
pid=
if grep -qiE "error|warning" <<<"$csv"; then echo "kv_server.sh: redis-benchmark reported: $csv" >&2; exit 1; fi
awk -F'","' 'NR > 1 { gsub(/"/, "", $1); gsub(/"/, "", $2); printf "kv_server weft %s rps=%s req/s\n", tolower($1), $2 }' <<<"$csv"
