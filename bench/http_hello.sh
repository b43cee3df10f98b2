#!/usr/bin/env bash
# http_hello.sh BUILD_DIR [SECS]: wrk against weft's examples/http_hello and Go's net/http hello
# server (bench/compare/go_http), one after the other in this one run. Each server is pinned to
# CPU 0 (weft with 1 worker, Go with GOMAXPROCS=1 from its affinity mask) and wrk to CPU 1
# (1 thread, 64 connections, SECS seconds, default 5), over loopback. Prints
#   http_hello weft rps=<v> req/s
#   http_hello go rps=<v> req/s
#   http_hello weft ratio_to_go=<v> x      (> 1: weft serves more requests per second)
# Exits non-zero if a server does not start, wrk fails or reports socket errors or non-2xx answers.
# Needs wrk and go (Debian: wrk, golang-go; scripts/install-deps installs wrk). The Go program is
# built offline into bench/compare/.build/ like bench/compare/run does.
set -euo pipefail
build=${1:?usage: http_hello.sh BUILD_DIR [SECS]}
secs=${2:-5}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
gobuild=$here/compare/.build
command -v wrk >/dev/null || { echo "http_hello.sh: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
command -v go >/dev/null || { echo "http_hello.sh: go is not installed (apt-get install golang-go)" >&2; exit 1; }
[[ -x $build/examples/http_hello ]] || { echo "http_hello.sh: no $build/examples/http_hello" >&2; exit 1; }

mkdir -p "$gobuild"
(cd "$here/compare/go_http" && GO111MODULE=on GOPROXY=off GOFLAGS=-mod=mod GOPATH=$gobuild/gopath \
  GOCACHE=$gobuild/gocache timeout 300 go build -o "$gobuild/go-http" .)

declare -A rps
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null || true' EXIT

run_one() { # run_one NAME SERVER [ARGS...]: starts the server, runs wrk, records rps[NAME]
  local name=$1 out port wrk_out
  shift
  out=$(mktemp)
  taskset -c 0 "$@" >"$out" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do grep -q "listening on" "$out" && break; sleep 0.05; done
  port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$out")
  [ -n "$port" ] || { echo "http_hello.sh: $name did not start:" >&2; cat "$out" >&2; exit 1; }
  wrk_out=$(timeout $((secs + 30)) taskset -c 1 wrk -t 1 -c 64 -d "${secs}s" "http://127.0.0.1:$port/") ||
    { echo "http_hello.sh: wrk failed against $name: $wrk_out" >&2; exit 1; }
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  pid=
  rm -f "$out"
  if grep -qE "Socket errors|Non-2xx" <<<"$wrk_out"; then
    echo "http_hello.sh: wrk reported errors against $name:" >&2; echo "$wrk_out" >&2; exit 1
  fi
  rps[$name]=$(awk '/^Requests\/sec:/ {print $2}' <<<"$wrk_out")
  echo "http_hello $name rps=${rps[$name]} req/s"
}

run_one weft "$build/examples/http_hello" --port 0 --workers 1
run_one go "$gobuild/go-http" -port 0
awk -v w="${rps[weft]}" -v g="${rps[go]}" 'BEGIN { if (g > 0) printf "http_hello weft ratio_to_go=%.3g x\n", w / g }'
