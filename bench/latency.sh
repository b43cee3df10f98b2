#!/usr/bin/env bash
# latency.sh BUILD_DIR [SECONDS] [CONNS...]: W8, tail latency and fairness of echo ping-pong (issue
# 25). For each connection count (default 64 1000 4000 10000) it runs, one after the other, each
# server pinned to CPU 0 with bench/latency_client pinned to CPU 1 (a plain epoll program, not on
# weft, so it cannot hide weft's ordering), every connection keeping one 512-byte message in flight:
#   raw         bench/raw_uring_mshot_echo (plain liburing, multishot recv, provided buffer ring)
#   weft-uring  examples/echo_server --workers 1, WEFT_BACKEND=io_uring
#   weft-epoll  examples/echo_server --workers 1, WEFT_BACKEND=epoll
#   asio        bench/asio_echo (Boost.Asio, one thread, epoll)
# Prints each client line (p50/p99/p99.9/max latency, least_served = the least-served connection's
# round trips over the mean), then per connection count the ratios from this same run: weft on
# io_uring against raw, weft on epoll against Asio.
#
# Environment: LATENCY_SERVERS="raw weft-uring" runs a subset (in that order); LATENCY_WARMUP
# (seconds, default 1); LATENCY_SIZE (bytes, default 512). Exit status 1 if any run failed.
# Bounded: every client runs under `timeout`, every server is stopped (SIGTERM, then SIGKILL after
# 5 s) after its run and by the EXIT trap on any failure or interrupt.
set -euo pipefail
usage="usage: latency.sh BUILD_DIR [SECONDS] [CONNS...]"
build=${1:?$usage}
secs=${2:-5}
shift $(($# < 2 ? $# : 2))
conns_list=("$@")
[ ${#conns_list[@]} -gt 0 ] || conns_list=(64 1000 4000 10000)
warmup=${LATENCY_WARMUP:-1}
size=${LATENCY_SIZE:-512}
read -r -a servers <<<"${LATENCY_SERVERS:-raw weft-uring weft-epoll asio}"
client=$build/bench/latency_client

for n in "$secs" "$warmup" "$size" "${conns_list[@]}"; do
  [[ $n =~ ^[0-9]+$ && $n -gt 0 ]] || { echo "latency.sh: '$n' is not a positive number; $usage" >&2; exit 2; }
done
for s in "${servers[@]}"; do
  case $s in raw | weft-uring | weft-epoll | asio) ;;
    *) echo "latency.sh: unknown server '$s' in LATENCY_SERVERS (raw weft-uring weft-epoll asio)" >&2; exit 2 ;;
  esac
done
for bin in "$client" "$build/bench/raw_uring_mshot_echo" "$build/examples/echo_server" "$build/bench/asio_echo"; do
  [ -x "$bin" ] || { echo "latency.sh: $bin is missing: build latency_client raw_uring_mshot_echo echo_server asio_echo" >&2; exit 2; }
done

# Each side needs one fd per connection plus a few; servers and client inherit the limit.
max_conns=$(printf '%s\n' "${conns_list[@]}" | sort -n | tail -1)
need=$((max_conns + 256))
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$need" ]; then
  ulimit -Hn "$need" 2>/dev/null || { echo "latency.sh: $max_conns connections need ulimit -n $need (hard limit $(ulimit -Hn); run as root or raise it)" >&2; exit 2; }
fi
ulimit -Sn "$need"

tmp=$(mktemp -d)
server_pid=""
stop_server() {
  [ -n "$server_pid" ] || return 0
  kill -TERM "$server_pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}
trap 'stop_server; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

declare -A p99 least
failed=0

run_one() { # run_one KEY CONNS: one server, one client run; records p99[KEY/CONNS], least[KEY/CONNS]
  local key=$1 conns=$2 label port line rc=0
  local -a cmd env_vars=()
  case $key in
    raw) label=raw-uring-mshot; cmd=("$build/bench/raw_uring_mshot_echo") ;;
    weft-uring) label=weft-w1; env_vars=(WEFT_BACKEND=io_uring); cmd=("$build/examples/echo_server" --workers 1) ;;
    weft-epoll) label=weft-w1-epoll; env_vars=(WEFT_BACKEND=epoll); cmd=("$build/examples/echo_server" --workers 1) ;;
    asio) label=asio-w1; cmd=("$build/bench/asio_echo") ;;
  esac
  taskset -c 0 env "${env_vars[@]}" "${cmd[@]}" --port 0 >"$tmp/server.out" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do grep -q "listening on" "$tmp/server.out" && break; sleep 0.1; done
  port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/server.out")
  if [ -z "$port" ]; then
    echo "# $label conns=$conns: the server did not start:" >&2
    sed 's/^/#   /' "$tmp/server.out" >&2
    stop_server
    failed=1
    return
  fi
  # Setup (bounded by the client at 60 s) + warmup + window + slack.
  line=$(timeout $((secs + warmup + 90)) taskset -c 1 "$client" --port "$port" --connections "$conns" \
    --size "$size" --seconds "$secs" --warmup "$warmup" --label "$label") || rc=$?
  stop_server
  # Whatever the server said besides its start and stop lines (accept errors, say) is worth seeing.
  grep -v -e "listening on" -e "stopping" "$tmp/server.out" | sed "s/^/# $label: /" >&2 || true
  [ -n "$line" ] && echo "$line"
  if [ "$rc" -ne 0 ]; then
    echo "# $label conns=$conns: the client failed (exit $rc)" >&2
    failed=1
  fi
  [ -n "$line" ] || return 0
  p99[$key/$conns]=$(sed -n 's/.* p99_us=\([0-9.e+]*\).*/\1/p' <<<"$line")
  least[$key/$conns]=$(sed -n 's/.* least_served=\([0-9.e+-]*\).*/\1/p' <<<"$line")
}

ratio() { # ratio KEY BASE CONNS LABEL BASE_LABEL: p99 ratio and both least_served, when both ran
  local k=$1/$3 b=$2/$3
  [ -n "${p99[$k]:-}" ] && [ -n "${p99[$b]:-}" ] || return 0
  awk -v n="$4" -v bn="$5" -v c="$3" -v p="${p99[$k]}" -v bp="${p99[$b]}" -v l="${least[$k]}" -v bl="${least[$b]}" \
    'BEGIN { if (bp > 0) printf "w8_latency %s conns=%s p99_ratio_to_%s=%.3g least_served=%s %s_least_served=%s\n", n, c, bn, p / bp, l, bn, bl }'
}

for conns in "${conns_list[@]}"; do
  for key in "${servers[@]}"; do run_one "$key" "$conns"; done
  ratio weft-uring raw "$conns" weft-w1 raw-uring-mshot
  ratio weft-epoll asio "$conns" weft-w1-epoll asio-w1
done
exit "$failed"
