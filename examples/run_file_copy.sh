#!/usr/bin/env bash
# run_file_copy.sh FILE_COPY: copies files in a scratch directory and compares bytes: a random
# file whose size is no multiple of the block (with a small window, with 2 workers, with
# --fsync), an empty file over an existing one, permission bits; then the error paths: a missing
# source, a directory as source, the same file twice, bad flags.
set -euo pipefail
prog=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

head -c $((5 * 1024 * 1024 + 123)) /dev/urandom >"$dir/src"
chmod 640 "$dir/src"

"$prog" "$dir/src" "$dir/a" --window 4 --block-kib 64
cmp "$dir/src" "$dir/a" || fail "copy with --window 4 --block-kib 64 differs"
[ "$(stat -c %a "$dir/a")" = 640 ] || fail "permission bits not kept: $(stat -c %a "$dir/a")"
"$prog" "$dir/src" "$dir/b" --workers 2 --window 16 --block-kib 4
cmp "$dir/src" "$dir/b" || fail "copy with 2 workers differs"
"$prog" --fsync "$dir/src" "$dir/c"
cmp "$dir/src" "$dir/c" || fail "copy with --fsync differs"

: >"$dir/empty"
"$prog" "$dir/empty" "$dir/a"   # over the 5 MiB copy: must truncate it
[ -f "$dir/a" ] && [ ! -s "$dir/a" ] || fail "empty file: destination is not empty"

# error_case WANT_STATUS MESSAGE ARGS...: the program fails with that status and message
error_case() {
  local want=$1 msg=$2 rc=0 err
  shift 2
  err=$("$prog" "$@" 2>&1 >/dev/null) || rc=$?
  [ "$rc" = "$want" ] || fail "file_copy $*: status $rc, expected $want ($err)"
  [[ $err == *"$msg"* ]] || fail "file_copy $*: message '$err' lacks '$msg'"
}
error_case 1 "cannot open '$dir/missing': No such file or directory" "$dir/missing" "$dir/d"
[ ! -e "$dir/d" ] || fail "a destination was created for a missing source"
error_case 1 "is not a regular file" "$dir" "$dir/d"
error_case 1 "are the same file" "$dir/src" "$dir/src"
cmp -s "$dir/src" "$dir/c" || fail "copying a file onto itself damaged it"
error_case 1 "cannot create '$dir/nodir/x'" "$dir/src" "$dir/nodir/x"
error_case 2 "usage" "$dir/src"
error_case 2 "usage" "$dir/src" "$dir/d" --window 0
error_case 2 "needs a number" "$dir/src" "$dir/d" --block-kib lots
error_case 2 "unknown option" "$dir/src" "$dir/d" --fast
echo "file_copy ok"
