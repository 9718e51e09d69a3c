# Sourced by the tests that start `shopseq serve` on 127.0.0.1: a temporary folder $T that
# is removed at exit with the server ($PID) killed, the wait for the port file of a server
# started with --port 0 --port-file "$T/port", and the top-10 check against `recommend`.
# Needs BIN set and a name for the folder as the first argument.
mkdir -p "${SQ_TMPDIR:-/tmp}"
T=$(mktemp -d "${SQ_TMPDIR:-/tmp}/${1:?}.XXXXXX")
PID=""
serve_cleanup() {
  if [ -n "$PID" ]; then kill -9 "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; fi
  rm -rf "$T"
}
trap serve_cleanup EXIT

# 0 once the server wrote its port (30 s at most), 1 if it never did
serve_wait_port() {
  for _ in $(seq 1 300); do [ -s "$T/port" ] && return 0; sleep 0.1; done
  return 1
}

# serve_same_top10 MODEL USER: 0 when the server's top-10 for USER equals `shopseq recommend`'s
# (same model and data), else 1 with both lists printed
serve_same_top10() {
  local got want
  got=$(curl -s -m 10 "http://127.0.0.1:$(cat "$T/port")/v1/users/$2/recommendations?k=10" |
        python3 -c "import json,sys; print(' '.join(x['item'] for x in json.load(sys.stdin)['items']))")
  want=$("$BIN" recommend "$1" --data "$T/s.sqd" --user "$2" --k 10 --format csv |
         tail -n 10 | cut -d, -f3 | tr '\n' ' ' | sed 's/ $//')
  [ "$got" = "$want" ] && return 0
  echo "user $2: server [$got], recommend [$want]"
  return 1
}
