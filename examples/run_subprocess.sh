#!/usr/bin/env bash
# run_subprocess.sh SUBPROCESS: checks the default set (outputs, exit codes, a failing child
# makes the program fail), that children run concurrently, the timeout, a child killed by a
# signal, a child that floods stderr while we read stdout (no deadlock), and bad flags.
set -euo pipefail
prog=$1
fail() { echo "FAIL: $*"; echo "--- output:"; echo "$out"; exit 1; }

# run_prog WANT_STATUS ARGS...: runs the program into $out, checks its exit status
run_prog() {
  local want=$1 rc=0
  shift
  out=$(timeout 20 "$prog" "$@" 2>&1) || rc=$?
  [ "$rc" = "$want" ] || fail "subprocess $*: status $rc, expected $want"
}
has() { grep -qF -- "$1" <<<"$out" || fail "output lacks '$1'"; }

run_prog 1  # the default set has two failing commands
has "[1] exit 0"; has "out| hello from a child"
has "[3] exit 0"; has "out| slept 300 ms"
has "[4] exit 2"; has "err| ls: cannot access '/nonexistent-weft-dir'"
has "[5] exit 3"; has "out| partial"
has "subprocess: 5 commands, 3 succeeded, 2 failed"

run_prog 0 "echo one" "echo two >&2" "true"
has "[1] exit 0"; has "out| one"; has "err| two"; has "3 commands, 3 succeeded, 0 failed"

# four 0.5 s sleeps together: about 0.5 s, far from the 2 s they would take one after another
run_prog 0 "sleep 0.5" "sleep 0.5" "sleep 0.5" "sleep 0.5"
ms=$(sed -n 's/.*failed, in \([0-9]*\) ms.*/\1/p' <<<"$out")
[ -n "$ms" ] && [ "$ms" -lt 1500 ] || fail "four 0.5 s children took ${ms:-?} ms: not concurrent"

# the timeout kills; a grandchild that keeps the pipes open stops the reading at the same deadline
run_prog 1 --timeout-ms 300 "sleep 5; echo never" "sleep 5 & echo started" "echo quick"
has "[1] timed out, killed"; has "[2] exit 0"; has "out| started"; has "note: its output was still open"
has "[3] exit 0"
ms=$(sed -n 's/.*failed, in \([0-9]*\) ms.*/\1/p' <<<"$out")
[ -n "$ms" ] && [ "$ms" -lt 2000 ] || fail "the 300 ms timeout took ${ms:-?} ms"
! grep -q "out| never" <<<"$out" || fail "a timed-out child's later output appeared"

run_prog 1 'kill -TERM $$'
has "killed by signal 15"

# 300 KB on stderr while nothing is read from stdout yet: no deadlock, output capped
run_prog 0 'head -c 300000 /dev/zero | tr "\0" e >&2; echo done'
has "out| done"; has "err| [cut at 64 KiB]"

run_prog 2 --timeout-ms 0 "true"
run_prog 2 --verbose "true"
echo "subprocess ok"
