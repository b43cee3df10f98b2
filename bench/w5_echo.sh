#!/usr/bin/env bash
# w5_echo.sh BUILD_DIR [SECONDS]: the W5 (echo throughput and latency) and W6 (syscalls per round
# trip) workloads. Runs the raw liburing echo server (bench/baseline) and weft's echo_server
# (examples) one after the other, each pinned to CPU 0 with echo_client (64 connections, 64-byte
# messages) pinned to CPU 1, and counts the server's syscalls with the raw_syscalls tracepoint.
# Prints workload lines, then ratios of weft to raw from this same run. Without perf (Debian
# linux-perf) the W6 lines are left out.
set -euo pipefail
build=${1:?usage: w5_echo.sh BUILD_DIR [SECONDS]}
secs=${2:-5}
client=$build/examples/echo_client
declare -A rts p99s

run_one() { # run_one NAME SERVER_BINARY [ARGS...]
  local name=$1 out pid port perf_out
  shift
  out=$(mktemp); perf_out=$(mktemp)
  taskset -c 0 "$@" --port 0 >"$out" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do grep -q "listening on" "$out" && break; sleep 0.05; done
  port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$out")
  local perf_pid=""
  if command -v perf >/dev/null 2>&1; then
    perf stat -e raw_syscalls:sys_enter -p "$pid" -x, -o "$perf_out" -- sleep "$((secs + 1))" &
    perf_pid=$!
  fi
  local lines
  lines=$(taskset -c 1 "$client" --port "$port" --connections 64 --size 64 --seconds "$secs" --workers 1)
  [ -n "$perf_pid" ] && { wait "$perf_pid" || true; }
  kill -TERM "$pid"; wait "$pid" || true
  local syscalls rt
  syscalls=$(awk -F, '/raw_syscalls:sys_enter/ {print $1}' "$perf_out")
  rt=$(sed -n 's/.*round_trips_per_s=\([0-9.e+]*\).*/\1/p' <<<"$lines")
  rts[$name]=$rt
  p99s[$name]=$(sed -n 's/.*p99_latency=\([0-9.e+]*\).*/\1/p' <<<"$lines")
  sed "s/weft-client/$name/" <<<"$lines"
  awk -v s="$syscalls" -v r="$rt" -v t="$secs" -v n="$name" \
    'BEGIN { if (s != "" && r > 0) printf "w6_syscalls %s syscalls_per_round_trip=%.4g calls\n", n, s / (r * t) }'
  rm -f "$out" "$perf_out"
}

run_one raw-liburing "$build/bench/raw_echo_server"
run_one weft-w1 "$build/examples/echo_server" --workers 1
awk -v w="${rts[weft-w1]}" -v r="${rts[raw-liburing]}" -v wp="${p99s[weft-w1]}" -v rp="${p99s[raw-liburing]}" \
  'BEGIN { if (r > 0) printf "w5_echo weft-w1 throughput_ratio_to_raw-liburing=%.3g x\n", w / r;
           if (rp > 0) printf "w5_echo weft-w1 p99_ratio_to_raw-liburing=%.3g x\n", wp / rp }'
