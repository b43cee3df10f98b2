#!/usr/bin/env bash
# run_http_hello.sh SERVER: starts http_hello on a free loopback port and checks its HTTP with
# bash's /dev/tcp (no curl needed): keep-alive, pipelining, HEAD, a discarded body, Connection:
# close, HTTP/1.0, malformed requests (400), an oversized head (431), the idle timeout, and then,
# if wrk is installed, 2 s of wrk with no socket errors and no non-2xx answers. Ends with SIGTERM.
set -euo pipefail
server=$1
out=$(mktemp)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -f "$out"' EXIT

fail() { echo "FAIL: $*"; echo "--- server output:"; cat "$out"; exit 1; }

# A bad flag is refused with status 2, before anything listens.
rc=0; "$server" --port nope >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "--port nope: expected exit status 2, got $rc"

"$server" --port 0 --workers 2 --idle-ms 400 --max-header-bytes 1024 >"$out" 2>&1 &
pid=$!
for _ in $(seq 1 100); do grep -q "listening on" "$out" && break; sleep 0.05; done
port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$out")
[ -n "$port" ] || fail "server did not start"

# response FD: reads one response from FD into $status, $headers (lower-cased) and $body.
response() {
  local fd=$1 line len=0
  status= headers= body=
  IFS= read -r -t 5 line <&"$fd" || return 1
  line=${line%$'\r'}
  status=${line#HTTP/1.1 }
  status=${status%% *}
  while IFS= read -r -t 5 line <&"$fd"; do
    line=${line%$'\r'}
    [ -z "$line" ] && break
    headers+="${line,,}"$'\n'
    [[ ${line,,} =~ ^content-length:\ *([0-9]+) ]] && len=${BASH_REMATCH[1]}
  done
  if ((len > 0)) && [ "${HEAD_REQUEST:-}" != 1 ]; then IFS= read -r -t 5 -N "$len" body <&"$fd" || return 1; fi
  return 0
}

# closed FD: true when the server closed the connection (end of stream within 3 s).
closed() {
  local rc=0 x
  IFS= read -r -t 3 -N 1 x <&"$1" || rc=$?
  [ "$rc" = 1 ]  # 1: end of stream; > 128: still open when the time ran out
}

expect() { # expect WHAT STATUS [BODY]
  [ "$status" = "$2" ] || fail "$1: status '$status', expected $2"
  [ $# -lt 3 ] || [ "$body" = "$3" ] || fail "$1: body '$body', expected '$3'"
}

get=$'GET / HTTP/1.1\r\nHost: test\r\n\r\n'

# keep-alive: two requests, one connection
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf '%s' "$get" >&3; response 3; expect "first request" 200 "Hello, World!"
printf '%s' "$get" >&3; response 3; expect "second request on the same connection" 200 "Hello, World!"
# pipelining: three requests in one write, three responses in order
printf '%s%s%s' "$get" "$get" "$get" >&3
for i in 1 2 3; do response 3; expect "pipelined request $i" 200 "Hello, World!"; done
# HEAD: the headers of a GET, no body (the next response must start cleanly)
printf 'HEAD / HTTP/1.1\r\nHost: test\r\n\r\n' >&3; HEAD_REQUEST=1 response 3; expect "HEAD" 200
[[ $headers == *"content-length: 13"* ]] || fail "HEAD: no Content-Length: 13 in: $headers"
# a POST with a body: 405, and the body is skipped, not taken as the next request
printf 'POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 9\r\n\r\nGET / BAD' >&3; response 3; expect "POST" 405
printf '%s' "$get" >&3; response 3; expect "request after a POST body" 200 "Hello, World!"
# Connection: close is honoured
printf 'GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n' >&3; response 3; expect "Connection: close" 200
[[ $headers == *"connection: close"* ]] || fail "Connection: close not echoed: $headers"
closed 3 || fail "connection still open after Connection: close"
exec 3<&-

# HTTP/1.0 closes by default
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'GET / HTTP/1.0\r\n\r\n' >&3; response 3; expect "HTTP/1.0" 200 "Hello, World!"
closed 3 || fail "HTTP/1.0 connection not closed"
exec 3<&-

# malformed requests: 400 and the connection is closed
for bad in $'GARBAGE\r\n\r\n' $'GET / HTTP/1.1\r\n\r\n' $'GET / HTTP/1.1\r\nHost: a\r\nNo colon here\r\n\r\n' \
  $'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n' $'GET /  HTTP/1.1\r\nHost: a\r\n\r\n'; do
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf '%s' "$bad" >&3; response 3; expect "malformed request ${bad@Q}" 400
  closed 3 || fail "connection open after malformed request ${bad@Q}"
  exec 3<&-
done

# a head over --max-header-bytes (1024): 431
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'GET / HTTP/1.1\r\nHost: a\r\nX-Big: %s\r\n\r\n' "$(head -c 2000 /dev/zero | tr '\0' x)" >&3
response 3; expect "oversized head" 431
closed 3 || fail "connection open after 431"
exec 3<&-

# idle timeout (--idle-ms 400): a silent connection is closed by the server
exec 3<>"/dev/tcp/127.0.0.1/$port"
closed 3 || fail "idle connection not closed by the server"
exec 3<&-

# wrk, when installed: no socket errors, no non-2xx responses
if command -v wrk >/dev/null; then
  wrk_out=$(timeout 20 wrk -t 1 -c 16 -d 2s "http://127.0.0.1:$port/") || fail "wrk failed: $wrk_out"
  echo "$wrk_out"
  ! grep -qE "Socket errors|Non-2xx" <<<"$wrk_out" || fail "wrk reported errors"
  grep -qE "^ *[1-9][0-9]* requests in" <<<"$wrk_out" || fail "wrk completed no requests"
else
  echo "wrk not installed: skipping the wrk run"
fi

kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
pid=
[ "$rc" = 0 ] || fail "server exited with status $rc after SIGTERM"
grep -q "stopping after" "$out" || fail "no stop message"
cat "$out"
echo "http_hello ok"
