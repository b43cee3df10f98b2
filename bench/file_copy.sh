#!/usr/bin/env bash
# file_copy.sh BUILD_DIR [MIB]: weft's examples/file_copy against cp on a MIB-MiB file (default
# 1024) of random bytes in a scratch directory under /tmp (removed at the end). Each tool copies
# it 3 times, alternating, into a fresh destination; the best run of each is reported:
#   file_copy weft MBps=<v> MB/s
#   file_copy cp MBps=<v> MB/s
#   file_copy weft ratio_to_cp=<v> x      (> 1: weft copies faster)
# MB is 10^6 bytes; times are wall-clock around the whole process, for both tools alike.
# Warm cache only: dropping the page cache needs root and a write to /proc/sys/vm/drop_caches,
# which this machine (a container) does not allow, so the source is read once before the runs
# and both tools copy from memory into the page cache. No fsync: neither waits for the device.
# Needs about 2 x MIB MiB free in /tmp.
set -euo pipefail
build=${1:?usage: file_copy.sh BUILD_DIR [MIB]}
mib=${2:-1024}
prog=$build/examples/file_copy
[[ -x $prog ]] || { echo "file_copy.sh: no $prog" >&2; exit 1; }
dir=$(mktemp -d /tmp/weft-file-copy.XXXXXX)
trap 'rm -rf "$dir"' EXIT

head -c $((mib * 1024 * 1024)) /dev/urandom >"$dir/src"
cat "$dir/src" >/dev/null  # warm the page cache
bytes=$(stat -c %s "$dir/src")

# timed_copy CMD...: runs the copy into $dir/dst and prints its wall time in seconds.
timed_copy() {
  rm -f "$dir/dst"
  local t0 t1
  t0=$(date +%s%N)
  timeout 300 "$@" >/dev/null
  t1=$(date +%s%N)
  cmp -s "$dir/src" "$dir/dst" || { echo "file_copy.sh: $1 made a different copy" >&2; exit 1; }
  rm -f "$dir/dst"
  awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.6f\n", ns / 1e9 }'
}

best_weft= best_cp=
for _ in 1 2 3; do
  t=$(timed_copy "$prog" "$dir/src" "$dir/dst")
  best_weft=$(awk -v a="$t" -v b="${best_weft:-1e9}" 'BEGIN { print (a < b ? a : b) }')
  t=$(timed_copy cp "$dir/src" "$dir/dst")
  best_cp=$(awk -v a="$t" -v b="${best_cp:-1e9}" 'BEGIN { print (a < b ? a : b) }')
done
awk -v n="$bytes" -v w="$best_weft" -v c="$best_cp" 'BEGIN {
  printf "file_copy weft MBps=%.1f MB/s\n", n / w / 1e6
  printf "file_copy cp MBps=%.1f MB/s\n", n / c / 1e6
  printf "file_copy weft ratio_to_cp=%.3g x\n", c / w
}'
