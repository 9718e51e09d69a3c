#!/usr/bin/env bash
# shopseq serve against a real server on 127.0.0.1 (a free port chosen by the kernel):
# health, auth, events (single, batch, unknown items, bad input), recommendations (known,
# unknown user), predict, explain, metrics, reload without dropped requests, kill -9 with
# every acknowledged event still there, graceful SIGTERM. The server is always killed.
set -euo pipefail
BIN=${SQ_BIN:?}
command -v curl >/dev/null || { echo "SKIP: curl not installed (scripts/install-deps.sh --test)"; exit 0; }
mkdir -p "${SQ_TMPDIR:-/tmp}"
T=$(mktemp -d "${SQ_TMPDIR:-/tmp}/serve_cli.XXXXXX")
PID=""
LOADPID=""
cleanup() {
  [ -n "$LOADPID" ] && kill "$LOADPID" 2>/dev/null || true
  [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$T/srv.log" ] && tail -20 "$T/srv.log"; exit 1; }

"$BIN" serve --help | grep "example" >/dev/null || fail "--help has no example"
for flag in --data --state --host --port --port-file --token-file --no-auth --threads \
            --score-threads --max-connections --timeout --max-body --max-body-total --max-events --history-cap --map-size; do
  "$BIN" serve --help | grep -- "$flag" >/dev/null || fail "--help does not mention $flag"
done
set +e
"$BIN" serve 2>/dev/null; [ $? -eq 2 ] || fail "no model must exit 2"
"$BIN" serve m --data d 2>/dev/null; [ $? -eq 2 ] || fail "no --state must exit 2"
env -u SHOPSEQ_TOKEN "$BIN" serve m --data d --state s 2>/dev/null; [ $? -eq 2 ] || fail "no token must exit 2"
set -e

"$BIN" synth --users 300 --items 400 --days 20 --out "$T/s.csv" >/dev/null 2>&1 || fail "synth"
"$BIN" ingest "$T/s.csv" --out "$T/s.sqd" >/dev/null 2>&1 || fail "ingest"
"$BIN" train "$T/s.sqd" --model sasrec --epochs 1 --dim 16 --heads 1 --maxlen 20 --batch 32 \
  --out "$T/m.safetensors" >/dev/null 2>&1 || fail "train"
echo "s3cret-token" > "$T/token"
TOK="Authorization: Bearer s3cret-token"

start() {
  rm -f "$T/port"
  "$BIN" serve "$T/m.safetensors" --data "$T/s.sqd" --state "$T/state" --port 0 \
    --port-file "$T/port" --token-file "$T/token" --threads 4 --max-body 65536 --timeout 5 \
    --max-body-total 80000 \
    2>>"$T/srv.log" &
  PID=$!
  for _ in $(seq 1 300); do [ -s "$T/port" ] && break; sleep 0.1; done
  [ -s "$T/port" ] || fail "server did not start"
  U="http://127.0.0.1:$(cat "$T/port")"
}
# code BODYFILE METHOD PATH [curl args...]: prints the status code, body into BODYFILE
req() {
  local out=$1 method=$2 path=$3; shift 3
  curl -s -m 10 -o "$out" -w '%{http_code}' -X "$method" "$@" "$U$path"
}
expect() { # want method path [args]
  local want=$1; shift
  local got; got=$(req "$T/body" "$@") || true
  [ "$got" = "$want" ] || { cat "$T/body"; echo; fail "$* -> $got, expected $want"; }
}
is_error_json() {
  python3 - "$T/body" "$1" <<'PY' || fail "not an error body with code $1: $(cat "$T/body")"
import json, sys
e = json.load(open(sys.argv[1]))["error"]
assert e["code"] == sys.argv[2] and e["message"], e
PY
}
alive() { expect 200 GET /healthz; }

start
expect 200 GET /healthz
python3 -c "import json,sys; j=json.load(open('$T/body')); assert j['status']=='ok' and j['model']['name']=='sasrec'" || fail "healthz body"

# ---- auth ----
expect 401 POST /v1/events -d '{"user":"a","item":"b"}'; is_error_json unauthorized; alive
expect 401 POST /v1/events -H "Authorization: Bearer wrong" -d '{"user":"a","item":"b"}'; alive
expect 401 POST /v1/admin/reload; alive
grep -q "s3cret-token" "$T/srv.log" && fail "token appears in the log"

# ---- events ----
KNOWN_USER=$(sed -n 2p "$T/s.csv" | cut -d, -f1)
ITEM1=$(sed -n 2p "$T/s.csv" | cut -d, -f2)
ITEM2=$(sed -n 3p "$T/s.csv" | cut -d, -f2)
expect 200 POST /v1/events -H "$TOK" -d "{\"user\":\"newbie\",\"item\":\"$ITEM1\",\"behavior\":\"cart\"}"
python3 -c "import json; j=json.load(open('$T/body')); assert j=={'accepted':1,'unknown_items':0,'durable':True}, j" || fail "events ack"
expect 200 POST /v1/events -H "$TOK" -d "[{\"user\":\"newbie\",\"item\":$ITEM2,\"time\":1704067200},{\"user\":\"newbie\",\"item\":\"no-such-item\",\"behavior\":\"buy\",\"time\":\"2024-01-02T00:00:00Z\"}]"
python3 -c "import json; j=json.load(open('$T/body')); assert j['accepted']==2 and j['unknown_items']==1, j" || fail "batch ack"
expect 200 GET /v1/users/newbie/history
python3 - "$T/body" "$ITEM1" "$ITEM2" <<'PY' || fail "history"
import json, sys
ev = json.load(open(sys.argv[1]))["events"]
assert [e["item"] for e in ev] == [sys.argv[2], sys.argv[3], "no-such-item"], ev
assert [e["behavior"] for e in ev] == ["cart", "view", "buy"], ev
assert ev[1]["time"] == 1704067200000 and ev[2]["known_item"] is False, ev
PY
expect 400 POST /v1/events -H "$TOK" -d '{"user":"a","item":"b","behavior":"peek"}'
is_error_json unknown_behavior; grep -q "behavior" "$T/body" || fail "400 does not name the field"; alive
expect 400 POST /v1/events -H "$TOK" -d '{"user":"a","item":'; is_error_json malformed_json; alive
expect 400 POST /v1/events -H "$TOK" -d 'not json at all'; is_error_json malformed_json; alive
expect 400 POST /v1/events -H "$TOK" -d '{"user":["a"],"item":"b"}'; is_error_json invalid_field; alive
expect 400 POST /v1/events -H "$TOK" -d '{"user":"a","item":"b","time":true}'; is_error_json invalid_field; alive
expect 400 POST /v1/events -H "$TOK" -d '{"user":"a","item":"b","price":"cheap"}'; is_error_json invalid_field; alive
expect 400 POST /v1/events -H "$TOK" -d '{"user":"a"}'; is_error_json missing_field; alive
expect 400 POST /v1/events -H "$TOK" -d '{"user":"a","item":"b","colour":"red"}'; is_error_json unknown_field; alive
expect 400 POST /v1/events -H "$TOK" -d '[]'; alive
expect 400 POST /v1/events -H "$TOK" -d '42'; alive
head -c 300000 /dev/zero | tr '\0' 'x' > "$T/big"
expect 413 POST /v1/events -H "$TOK" --data-binary @"$T/big"; is_error_json body_too_large; alive
# chunked body over the cap: the connection is closed, the server goes on
curl -s -m 10 -o /dev/null -X POST -H "$TOK" -H "Transfer-Encoding: chunked" --data-binary @"$T/big" "$U/v1/events" || true
alive
python3 -c "print('[' + ','.join(['{\"user\":\"x\",\"item\":\"y\"}'] * 1001) + ']')" > "$T/many"
expect 400 POST /v1/events -H "$TOK" --data-binary @"$T/many"; is_error_json too_many_events; alive
LONG=$(head -c 400 /dev/zero | tr '\0' 'u')
expect 400 POST /v1/events -H "$TOK" -d "{\"user\":\"$LONG\",\"item\":\"b\"}"; is_error_json too_long; alive

# ---- hostile input: a 4xx each time, the server goes on ----
# request line / headers beyond the 64 KiB connection buffer: the HTTP layer's 414/431
AS=$(head -c 100000 /dev/zero | tr '\0' a)
got=$(req "$T/body" GET "/v1/users/$AS/recommendations") || true
[ "$got" = 414 ] || fail "very long URL -> $got, expected 414"; alive
HDRS=(); for i in $(seq 1 3000); do HDRS+=(-H "X-Filler-$i: v"); done
got=$(req "$T/body" GET /healthz "${HDRS[@]}") || true
[ "$got" = 431 ] || fail "3000 headers -> $got, expected 431"; alive
# ids that are not UTF-8, or carry NUL, in the path and in bodies
expect 400 GET "/v1/users/%C3%28/recommendations"; is_error_json invalid_parameter; alive
expect 400 GET "/v1/users/%FF/history"; alive
printf '{"user":"\xc3\x28","item":"x"}' > "$T/bad"
expect 400 POST /v1/events -H "$TOK" --data-binary @"$T/bad"; is_error_json malformed_json; alive
expect 400 POST /v1/events -H "$TOK" -d '{"user":"a\u0000b","item":"x"}'; is_error_json malformed_json; alive
printf '{"user":"\xff"}' > "$T/bad"
expect 400 POST /v1/predict --data-binary @"$T/bad"; is_error_json malformed_json; alive
# numbers: negative / huge / non-integer k and n, NaN and overflowing prices and times
for q in k=-1 k=0 k=1001 k=99999999999999999999999 k=1e3 k=%205 k=+5 k= ; do
  expect 400 GET "/v1/users/newbie/recommendations?$q"; is_error_json invalid_parameter
done
expect 400 GET "/v1/users/newbie/explain?n=-5"; alive
expect 400 POST /v1/predict -d '{"user":"newbie","k":-3}'; is_error_json invalid_field
expect 400 POST /v1/predict -d '{"user":"newbie","k":1e30}'; is_error_json invalid_field
expect 400 POST /v1/events -H "$TOK" -d '{"user":"a","item":"x","price":NaN}'; is_error_json malformed_json
expect 400 POST /v1/events -H "$TOK" -d '{"user":"a","item":"x","price":1e999}'; is_error_json malformed_json
expect 400 POST /v1/events -H "$TOK" -d '{"user":"a","item":"x","price":-1}'; is_error_json invalid_field
expect 400 POST /v1/events -H "$TOK" -d '{"user":"a","item":"x","time":1e300}'; is_error_json invalid_field
expect 400 POST /v1/events -H "$TOK" -d '{"user":1.5,"item":"x"}'; is_error_json invalid_field
expect 400 POST /v1/events -H "$TOK" -d '{"user":"a","user":"b","item":"x"}'; is_error_json malformed_json
# nesting beyond the parser's depth, inside the body cap
python3 -c "print('[' * 30000 + ']' * 30000)" > "$T/deep"
expect 400 POST /v1/events -H "$TOK" --data-binary @"$T/deep"; is_error_json malformed_json
# 17 fields in one event, a Content-Length that overflows
expect 400 POST /v1/events -H "$TOK" -d '{"user":"a","item":"x","a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":11,"l":12,"m":13,"n":14,"o":15}'
is_error_json too_many_fields
got=$(req "$T/body" POST /v1/events -H "$TOK" -H "Content-Length: 99999999999999999999" -d '{}') || true
[ "$got" = 413 ] || fail "overflowing Content-Length -> $got, expected 413"; alive
expect 400 POST /v1/events -H "$TOK"; is_error_json malformed_json; alive
expect 405 FOO /healthz; alive
# bodies held over all connections are capped: while a slow upload holds ~64 KB, a
# request declaring 60 KB more gets 503 overloaded (tried for a few seconds: timing)
head -c 65000 /dev/zero | tr '\0' ' ' > "$T/slow"
head -c 60000 /dev/zero | tr '\0' ' ' > "$T/more"
curl -s -m 20 -o /dev/null --limit-rate 30k -X POST -H "$TOK" --data-binary @"$T/slow" "$U/v1/events" &
SLOWPID=$!
got=""
for _ in $(seq 1 20); do
  sleep 0.25
  got=$(req "$T/body" POST /v1/events -H "$TOK" --data-binary @"$T/more") || true
  [ "$got" = 503 ] && break
done
[ "$got" = 503 ] || fail "bodies over --max-body-total -> $got, expected 503"; is_error_json overloaded
wait "$SLOWPID" || true
expect 400 POST /v1/events -H "$TOK" --data-binary @"$T/more"; alive   # the budget is back

# ---- routing ----
expect 404 GET /nope; is_error_json not_found; alive
expect 404 GET /v1/users/x/nothing; alive
expect 405 GET /v1/events; is_error_json method_not_allowed; alive
curl -s -m 10 -o /dev/null -D - "$U/v1/events" | grep -qi "^Allow: POST" || fail "405 without an Allow header"
expect 405 DELETE /healthz; alive

# ---- recommendations ----
expect 200 GET "/v1/users/$KNOWN_USER/recommendations?k=5"
python3 - "$T/body" <<'PY' || fail "known-user recommendations"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["fallback"] is None and j["known_user"] is True and len(j["items"]) == 5, j
s = [x["score"] for x in j["items"]]
assert s == sorted(s, reverse=True) and [x["rank"] for x in j["items"]] == [1, 2, 3, 4, 5], j
PY
expect 200 GET "/v1/users/never-seen/recommendations"
python3 -c "import json; j=json.load(open('$T/body')); assert j['fallback']=='popularity' and len(j['items'])==10, j" || fail "popularity fallback"
expect 200 GET "/v1/users/newbie/recommendations?k=3&exclude_seen=true"
python3 - "$T/body" "$ITEM1" "$ITEM2" <<'PY' || fail "posted history drives recommendations"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["fallback"] is None and j["history_used"] == 2 and j["history_unknown_items"] == 1, j
assert not {x["item"] for x in j["items"]} & {sys.argv[2], sys.argv[3]}, j
PY
expect 400 GET "/v1/users/newbie/recommendations?k=0"; is_error_json invalid_parameter
expect 400 GET "/v1/users/newbie/recommendations?k=abc"; alive
expect 400 GET "/v1/users/newbie/recommendations?exclude_seen=maybe"; alive

# ---- predict, explain ----
expect 501 POST /v1/predict -d '{"user":"newbie","tasks":["purchase"]}'
is_error_json task_unavailable; grep -q "next_item" "$T/body" && grep -q -- "--predict-model" "$T/body" || fail "501 does not list the available tasks and the flag"
expect 400 POST /v1/predict -d '{"user":"newbie","tasks":["astrology"]}'
expect 400 POST /v1/predict -d '{"tasks":["next_item"]}'
expect 400 POST /v1/predict -d '{"user":'
expect 200 POST /v1/predict -d '{"user":"newbie","tasks":["next_item"],"k":4}'
python3 -c "import json; j=json.load(open('$T/body')); assert len(j['predictions']['next_item']['items'])==4, j" || fail "predict next_item"
expect 200 GET "/v1/users/$KNOWN_USER/explain?n=5"
python3 - "$T/body" <<'PY' || fail "explain"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["method"] == "occlusion" and j["top_item"] and len(j["events"]) == 5, j
for e in j["events"]:
    assert abs(j["top_score"] - e["score_without"] - e["score_drop"]) < 1e-4, e
PY
expect 404 GET "/v1/users/never-seen/explain"; is_error_json no_history
expect 400 GET "/v1/users/newbie/explain?n=1000"

# ---- metrics ----
expect 200 GET /metrics
python3 - "$T/body" <<'PY' || fail "metrics text"
import re, sys
names = set()
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if not line or line.startswith("#"):
        continue
    m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)', line)
    assert m, line
    float(m.group(4))
    names.add(m.group(1))
for n in ["shopseq_http_requests_total", "shopseq_http_request_duration_seconds_bucket",
          "shopseq_events_stored_total", "shopseq_model_info"]:
    assert n in names, n
PY
grep -q 'shopseq_http_requests_total{route="events",code="401"}' "$T/body" || fail "401s not counted"

# ---- reload while serving: no request fails ----
( for i in $(seq 1 200); do
    c=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$U/v1/users/$KNOWN_USER/recommendations?k=3")
    echo "$c"
  done > "$T/during" ) &
LOADPID=$!
expect 200 POST /v1/admin/reload -H "$TOK"
kill -HUP "$PID"
expect 200 POST /v1/admin/reload -H "$TOK"
wait "$LOADPID"; LOADPID=""
[ "$(sort -u "$T/during")" = "200" ] || fail "requests failed during reload: $(sort "$T/during" | uniq -c)"
expect 200 GET /healthz
python3 -c "import json; j=json.load(open('$T/body')); assert j['model']['generation']==4, j" || fail "generation after 3 reloads"

# ---- kill -9 mid-stream: every acknowledged event survives ----
( for i in $(seq 1 100000); do
    c=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -X POST -H "$TOK" \
        -d "{\"user\":\"durable\",\"item\":\"d$i\"}" "$U/v1/events" || true)
    [ "$c" = "200" ] && echo "d$i"
  done > "$T/acked" ) &
LOADPID=$!
for _ in $(seq 1 100); do [ "$(wc -l < "$T/acked")" -ge 20 ] && break; sleep 0.1; done
kill -9 "$PID"; wait "$PID" 2>/dev/null || true; PID=""
sleep 0.5; kill "$LOADPID" 2>/dev/null || true; wait "$LOADPID" 2>/dev/null || true; LOADPID=""
N=$(wc -l < "$T/acked")
[ "$N" -ge 1 ] || fail "no event acknowledged before kill -9"
start
expect 200 GET /v1/users/durable/history
python3 - "$T/body" "$T/acked" <<'PY' || fail "acknowledged events lost after kill -9"
import json, sys
got = [e["item"] for e in json.load(open(sys.argv[1]))["events"]]
acked = [l.strip() for l in open(sys.argv[2]) if l.strip()]
cap = 200
missing = [a for a in acked[-cap:] if a not in got]
assert not missing, missing[:5]
print(f"durability: {len(acked)} acknowledged, all present (history holds {len(got)})")
PY
expect 200 GET /v1/users/newbie/history
python3 -c "import json; assert len(json.load(open('$T/body'))['events'])==3" || fail "earlier events lost"

# ---- graceful SIGTERM ----
kill -TERM "$PID"
rc=0; wait "$PID" || rc=$?; PID=""
[ "$rc" -eq 0 ] || fail "SIGTERM exit code $rc"
grep -q "stopped" "$T/srv.log" || fail "no clean stop in the log"
echo "test_serve: ok"
