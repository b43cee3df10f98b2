#!/usr/bin/env bash
# w5_echo.sh BUILD_DIR [SECONDS]: the W5 (echo throughput and latency) and W6 (syscalls per round
# trip) workloads. Runs, one after the other, the raw liburing echo server (bench/baseline), weft's
# echo_server (examples) on the io_uring backend and on the epoll backend, and Tokio's echo server
# (bench/compare/tokio_echo, epoll-based; left out when cargo or Debian's tokio crates are
# missing), each pinned to CPU 0 with echo_client (64 connections, 64-byte messages, on weft's
# io_uring backend) pinned to CPU 1, and counts the server's syscalls with the raw_syscalls
# tracepoint. Prints workload lines, then ratios from this same run. Without perf (Debian
# linux-perf) the W6 lines are left out.
set -euo pipefail
build=${1:?usage: w5_echo.sh BUILD_DIR [SECONDS]}
secs=${2:-5}
client=$build/examples/echo_client
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
declare -A rts p99s

# tokio_echo: builds bench/compare/tokio_echo offline against Debian's crates; prints its path.
tokio_echo() {
  command -v cargo >/dev/null || return 1
  dpkg -s librust-tokio-dev librust-mio-dev librust-socket2-dev >/dev/null 2>&1 || return 1
  local target=$here/compare/.build/cargo-echo
  (cd "$here/compare/tokio_echo" && rm -f Cargo.lock &&
    timeout 600 cargo build --offline --release --quiet --target-dir "$target") >&2 || return 1
  echo "$target/release/tokio-echo"
}

run_one() { # run_one NAME SERVER_BINARY [ARGS...]
  local name=$1 out pid port perf_out
  shift
  out=$(mktemp); perf_out=$(mktemp)
  taskset -c 0 env "${server_env[@]}" "$@" --port 0 >"$out" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do grep -q "listening on" "$out" && break; sleep 0.05; done
  port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$out")
  local perf_pid=""
  if command -v perf >/dev/null 2>&1; then
    perf stat -e raw_syscalls:sys_enter -p "$pid" -x, -o "$perf_out" -- sleep "$((secs + 1))" &
    perf_pid=$!
  fi
  local lines
  lines=$(taskset -c 1 env WEFT_BACKEND=io_uring "$client" --port "$port" --connections 64 --size 64 \
    --seconds "$secs" --workers 1)
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

server_env=()
run_one raw-liburing "$build/bench/raw_echo_server"
server_env=(WEFT_BACKEND=io_uring)
run_one weft-w1 "$build/examples/echo_server" --workers 1
server_env=(WEFT_BACKEND=epoll)
run_one weft-w1-epoll "$build/examples/echo_server" --workers 1
server_env=()
if tokio=$(tokio_echo); then
  run_one tokio-w1 "$tokio" --workers 1
else
  echo "# tokio-w1 left out: needs cargo and librust-tokio-dev, librust-mio-dev, librust-socket2-dev"
fi

ratio() { # ratio NAME BASE: throughput and p99 ratios of NAME to BASE from this run
  awk -v n="$1" -v b="$2" -v w="${rts[$1]:-}" -v r="${rts[$2]:-}" -v wp="${p99s[$1]:-}" -v rp="${p99s[$2]:-}" \
    'BEGIN { if (w > 0 && r > 0) printf "w5_echo %s throughput_ratio_to_%s=%.3g x\n", n, b, w / r;
             if (wp > 0 && rp > 0) printf "w5_echo %s p99_ratio_to_%s=%.3g x\n", n, b, wp / rp }'
}
ratio weft-w1 raw-liburing
ratio weft-w1-epoll raw-liburing
ratio weft-w1 tokio-w1
ratio weft-w1-epoll tokio-w1
