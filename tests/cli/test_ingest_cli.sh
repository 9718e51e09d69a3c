#!/usr/bin/env bash
# The CLI contract of ingest and stats: exit codes, --help, --json keys, stdin, messages.
set -euo pipefail
BIN=${SQ_BIN:?}
T=$(mktemp -d "${SQ_TMPDIR:-/tmp}/ingest_cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

for cmd in ingest stats run; do
  "$BIN" $cmd --help | grep "example" >/dev/null || fail "$cmd --help has no example"
done
set +e
"$BIN" ingest --bogus >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad flag must exit 2"
"$BIN" ingest x.csv >/dev/null 2>&1; [ $? -eq 2 ] || fail "missing --out must exit 2"
"$BIN" ingest "$T/missing.csv" --out "$T/x.sqd" 2>"$T/err"; [ $? -eq 1 ] || fail "missing file must exit 1"
grep -q "missing.csv" "$T/err" || fail "error must name the file"
"$BIN" ingest x --preset nope --out "$T/x.sqd" 2>/dev/null; [ $? -eq 2 ] || fail "unknown preset must exit 2"
"$BIN" stats "$T/nothing.sqd" 2>/dev/null; [ $? -eq 1 ] || fail "stats of a missing file must exit 1"
"$BIN" nosuchcommand 2>/dev/null; [ $? -eq 2 ] || fail "unknown command must exit 2"
set -e

printf 'user_id,item_id,category_id,behavior,timestamp,price\nu1,i1,c1,view,1700000000,1.5\nu1,i2,c1,buy,1700000060,2\nu2,i1,c1,teleport,1700000100,1\nu2,i1,c1,view,1700000100,1\n' > "$T/a.csv"
# stdin, JSON report
"$BIN" ingest - --out "$T/a.sqd" --json --max-errors 50% < "$T/a.csv" > "$T/r.json"
python3 - "$T/r.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for k in ("rows_read", "events", "duplicates", "rejected"):
    assert k in r, k
assert r["rows_read"] == 4 and r["events"] == 3 and r["rejected"]["unknown_behavior"] == 1, r
assert "<stdin>:4" in r["rejected_examples"]["unknown_behavior"][0], r
PY
# default limit (10%) refuses the same file, exit 1, no output
set +e
"$BIN" ingest "$T/a.csv" --out "$T/b.sqd" >/dev/null 2>"$T/err"; rc=$?
set -e
[ $rc -eq 1 ] || fail "too many rejects must exit 1"
[ ! -e "$T/b.sqd" ] || fail "no output after an abort"
grep -q "unknown_behavior" "$T/err" || fail "the reject table goes to stderr"

"$BIN" stats "$T/a.sqd" --json > "$T/s.json"
python3 - "$T/s.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
for k in ("users", "items", "categories", "events", "sessions", "by_behavior", "time_min", "time_max"):
    assert k in s, k
assert s["users"] == 2 and s["events"] == 3 and s["by_behavior"]["buy"] == 1, s
assert s["time_min"] == "2023-11-14T22:13:20Z", s
PY
"$BIN" stats "$T/a.sqd" | grep "events per user" >/dev/null || fail "stats table"
echo "ingest/stats CLI: ok"
