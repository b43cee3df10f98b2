#!/usr/bin/env bash
# run_kv_server.sh SERVER: starts kv_server on a free loopback port and speaks RESP to it over
# bash's /dev/tcp: every command, binary-safe values, a pipelined batch of 200 commands in one
# write, command errors that leave the connection usable, framing errors that close it, state
# shared across connections; then, if redis-benchmark is installed, a short run (-n 20000 -P 16)
# that must finish without errors. Ends with SIGTERM.
set -euo pipefail
server=$1
out=$(mktemp)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -f "$out"' EXIT

fail() { echo "FAIL: $*"; echo "--- server output:"; cat "$out"; exit 1; }

rc=0; "$server" --workers x >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "--workers x: expected exit status 2, got $rc"

"$server" --port 0 --workers 2 >"$out" 2>&1 &
pid=$!
for _ in $(seq 1 100); do grep -q "listening on" "$out" && break; sleep 0.05; done
port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$out")
[ -n "$port" ] || fail "server did not start"

# cmd ARG...: one command as a RESP array of bulk strings.
cmd() {
  printf '*%d\r\n' $#
  local a
  for a in "$@"; do printf '$%d\r\n%s\r\n' "${#a}" "$a"; done
}

# reply FD: reads one reply into $r, flattened: +OK, -ERR ..., :3, "value", nil, [a,b].
reply() {
  local fd=$1 line n i acc
  IFS= read -r -t 5 line <&"$fd" || { r="<no reply>"; return 1; }
  line=${line%$'\r'}
  case $line in
    [+-:]*) r=$line ;;
    '$-1') r=nil ;;
    '$'*)
      n=${line#\$}
      IFS= read -r -t 5 -N $((n + 2)) line <&"$fd" || { r="<short bulk>"; return 1; }
      r="\"${line%$'\r\n'}\"" ;;
    '*'*)
      n=${line#\*}; acc=
      for ((i = 0; i < n; i++)); do reply "$fd"; acc+=${acc:+,}$r; done
      r="[$acc]" ;;
    *) r="<bad reply: $line>"; return 1 ;;
  esac
}

expect() { # expect WHAT REPLY: reads one reply from fd 3 and compares
  reply 3 || true
  [ "$r" = "$2" ] || fail "$1: got '$r', expected '$2'"
}

closed() { # closed FD: the server closed the connection (end of stream within 3 s)
  local rc=0 x
  IFS= read -r -t 3 -N 1 x <&"$1" || rc=$?
  [ "$rc" = 1 ]
}

exec 3<>"/dev/tcp/127.0.0.1/$port"
cmd PING >&3; expect PING "+PONG"
printf 'PING\r\n' >&3; expect "inline PING" "+PONG"
printf 'ECHO  inline-words \r\n' >&3; expect "inline ECHO" '"inline-words"'
cmd ECHO "hello world" >&3; expect ECHO '"hello world"'
cmd SET foo bar >&3; expect SET "+OK"
cmd GET foo >&3; expect GET '"bar"'
cmd GET missing >&3; expect "GET missing" nil
cmd SET foo "" >&3; expect "SET empty" "+OK"
cmd GET foo >&3; expect "GET empty" '""'
cmd INCR n >&3; expect "INCR new" ":1"
cmd INCR n >&3; expect "INCR again" ":2"
cmd SET big 9223372036854775807 >&3; expect "SET max" "+OK"
cmd INCR big >&3; expect "INCR overflow" "-ERR value is not an integer or out of range"
cmd INCR foo >&3; expect "INCR non-integer" "-ERR value is not an integer or out of range"
cmd MSET a 1 b 2 c 3 >&3; expect MSET "+OK"
cmd MGET a b nope c >&3; expect MGET '["1","2",nil,"3"]'
cmd EXISTS a b nope a >&3; expect EXISTS ":3"
cmd DEL a b nope >&3; expect DEL ":2"
cmd EXISTS a b c >&3; expect "EXISTS after DEL" ":1"
cmd COMMAND DOCS >&3; expect COMMAND "[]"
cmd CONFIG GET appendonly >&3; expect "CONFIG GET" '["appendonly","no"]'

# binary-safe: a value holding CRLF survives (the length, not the line, frames it)
printf '*3\r\n$3\r\nSET\r\n$3\r\nbin\r\n$4\r\na\r\nb\r\n' >&3; expect "SET binary" "+OK"
cmd GET bin >&3; expect "GET binary" $'"a\r\nb"'

# command errors: the connection stays usable
cmd NOSUCH x >&3; expect "unknown command" "-ERR unknown command 'NOSUCH'"
cmd GET >&3; expect "GET arity" "-ERR wrong number of arguments for 'get' command"
cmd MSET a 1 b >&3; expect "MSET arity" "-ERR wrong number of arguments for 'mset' command"
cmd SET k v EX 10 >&3; expect "SET options" "-ERR syntax error (SET options are not supported)"
cmd PING >&3; expect "PING after errors" "+PONG"

# pipelining: 200 commands in one write, 200 replies in order
batch=$( for i in $(seq 1 100); do cmd INCR pipe; cmd GET pipe; done; printf .)  # '.': $() would eat the last LF
printf '%s' "${batch%.}" >&3
for i in $(seq 1 100); do expect "pipelined INCR $i" ":$i"; expect "pipelined GET $i" "\"$i\""; done

# another connection (maybe on the other worker) sees the same store
exec 4<>"/dev/tcp/127.0.0.1/$port"
cmd GET pipe >&4; reply 4; [ "$r" = '"100"' ] || fail "second connection: GET pipe gave '$r'"
cmd QUIT >&4; reply 4; [ "$r" = "+OK" ] || fail "QUIT gave '$r'"
closed 4 || fail "connection open after QUIT"
exec 4<&-
exec 3<&-

# framing errors: a protocol error reply, then the connection is closed
for bad in $'*2\r\n$3\r\nGET\r\n:x\r\n' $'*x\r\n' $'*1\r\n$-5\r\n' $'*1\r\n$4\r\nPINGxx\r\n'; do
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf '%s' "$bad" >&3
  reply 3 || true
  [[ $r == "-ERR Protocol error"* ]] || fail "framing error ${bad@Q}: got '$r'"
  closed 3 || fail "connection open after framing error ${bad@Q}"
  exec 3<&-
done

# redis-benchmark, when installed: completes, with a rate for each test and no error
if command -v redis-benchmark >/dev/null; then
  bench=$(timeout 60 redis-benchmark -p "$port" -t ping,set,get,incr,mset -n 20000 -P 16 -q 2>&1) ||
    fail "redis-benchmark failed: $bench"
  echo "$bench"
  ! grep -qiE "error|warning" <<<"$bench" || fail "redis-benchmark reported an error"
  [ "$(grep -c "requests per second" <<<"$bench")" = 6 ] || fail "redis-benchmark did not run all 6 tests"
else
  echo "redis-benchmark not installed: skipping it"
fi

kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
pid=
[ "$rc" = 0 ] || fail "server exited with status $rc after SIGTERM"
grep -q "stopping after" "$out" || fail "no stop message"
cat "$out"
echo "kv_server ok"
