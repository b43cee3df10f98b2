#!/usr/bin/env bash
# run_pipeline.sh PIPELINE: runs the word-count pipeline over a scratch directory whose counts are
# known: words split across the 256 KiB read blocks (a 500 KB file of one word per line), a single
# word longer than a block, numbers (not words), identifiers with digits and '_', a hidden file, a
# nested directory, and a symlink (not followed, so not counted twice). The top list and the file
# and byte totals must match exactly, with 1 stage and with 4 stages on 2 workers; --metrics must
# print the table. Then the error paths: a missing directory, a file as --dir, bad flags.
set -euo pipefail
prog=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

mkdir -p "$dir/tree/a/b"
printf 'apple banana apple\ncherry 123 apple_pie\n' >"$dir/tree/a/one.txt"
printf 'banana banana x1 42 apple' >"$dir/tree/a/b/two.c"
printf '(apple)\n' >"$dir/tree/.hidden"
awk 'BEGIN { for (i = 0; i < 100000; i++) print "zeta" }' >"$dir/tree/big.txt"  # 500,000 bytes: words cross block ends
head -c 300000 /dev/zero | tr '\0' q >"$dir/tree/long.txt"  # one word longer than a block
ln -s a/one.txt "$dir/tree/link.txt"
bytes=$(find "$dir/tree" -type f -printf '%s\n' | awk '{s += $1} END {print s}')

expected=$(printf '%12s  %s\n' 100000 zeta 4 apple 3 banana 1 apple_pie 1 cherry)

check_run() {
  local out top
  out=$("$prog" --dir "$dir/tree" --top 5 "$@") || fail "pipeline $*: exit status $?"
  top=$(grep -E '^ +[0-9]+  ' <<<"$out")
  [ "$top" = "$expected" ] || fail "pipeline $*: top words differ:
$top
expected:
$expected"
  grep -q "^pipeline: 5 files, $bytes bytes in " <<<"$out" || fail "pipeline $*: totals wrong: $out"
  grep -q "^pipeline: 7 distinct words; 0 files skipped" <<<"$out" || fail "pipeline $*: distinct words: $out"
  grep -q "^pipeline: top 5 words$" <<<"$out" || fail "pipeline $*: no top header: $out"
  printf '%s\n' "$out"
}
check_run --stages 1 --workers 1
check_run --stages 4 --workers 2
out=$(check_run --stages 2 --workers 2 --metrics)
grep -qE '^  tasks started +[0-9]+$' <<<"$out" || fail "--metrics: no tasks row: $out"
grep -qE '^  (SQEs submitted|epoll_wait calls) +[1-9][0-9]*$' <<<"$out" || fail "--metrics: no IO row: $out"
# --top larger than the vocabulary lists every word once.
n=$("$prog" --dir "$dir/tree" --top 100 --workers 1 | grep -cE '^ +[0-9]+  ') || true
[ "$n" = 7 ] || fail "--top 100: $n words listed, expected 7"

# error_case WANT_STATUS MESSAGE ARGS...: the program fails with that status and message
error_case() {
  local want=$1 msg=$2 rc=0 err
  shift 2
  err=$("$prog" "$@" 2>&1 >/dev/null) || rc=$?
  [ "$rc" = "$want" ] || fail "pipeline $*: status $rc, expected $want ($err)"
  [[ $err == *"$msg"* ]] || fail "pipeline $*: message '$err' lacks '$msg'"
}
error_case 1 "pipeline: cannot walk '$dir/missing': No such file or directory" --dir "$dir/missing"
error_case 1 "pipeline: cannot walk '$dir/tree/big.txt': not a directory" --dir "$dir/tree/big.txt"
error_case 2 "usage" --dir "$dir/tree" --stages 0
error_case 2 "needs a number" --dir "$dir/tree" --top many
error_case 2 "needs a value" --dir
error_case 2 "unknown option" --dir "$dir/tree" --fast
echo "pipeline ok"
