#!/usr/bin/env bash
# shopseq analyze: the CLI contract (--help, exit codes 0/1/2, --json, output files).
set -euo pipefail
: "${SQ_BIN:?SQ_BIN must point at the shopseq binary}"
T="${SQ_TMPDIR:-/tmp}/analyze_cli"
rm -rf "$T" && mkdir -p "$T"
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_rc() { local want=$1; shift; set +e; "$@" > "$T/stdout" 2> "$T/stderr"; local rc=$?; set -e
  [ "$rc" = "$want" ] || fail "'$*' exited $rc, expected $want: $(cat "$T/stderr")"; }

expect_rc 0 "$SQ_BIN" analyze --help
grep -q -- "--out DIR" "$T/stdout" && grep -q -- "--json" "$T/stdout" && grep -q "example" "$T/stdout" \
  || fail "--help lacks flags or an example"

"$SQ_BIN" synth --users 300 --seed 3 --out "$T/s.csv" --quiet
"$SQ_BIN" ingest "$T/s.csv" --out "$T/s.sqd" --quiet

expect_rc 2 "$SQ_BIN" analyze "$T/s.sqd"                       # no --out
expect_rc 2 "$SQ_BIN" analyze --out "$T/o"                     # no dataset
expect_rc 2 "$SQ_BIN" analyze "$T/s.sqd" --out "$T/o" --top 0  # bad value
expect_rc 2 "$SQ_BIN" analyze "$T/s.sqd" --out "$T/o" --bogus
expect_rc 2 "$SQ_BIN" analyze "$T/s.sqd" --out "$T/o" --utc-offset 99
expect_rc 1 "$SQ_BIN" analyze "$T/missing.sqd" --out "$T/o"
[ "$(wc -l < "$T/stderr")" = 1 ] || fail "failure should be one line on stderr"
echo "not a dataset" > "$T/bad.sqd"
expect_rc 1 "$SQ_BIN" analyze "$T/bad.sqd" --out "$T/o"

expect_rc 0 "$SQ_BIN" analyze "$T/s.sqd" --out "$T/o" --json --top 5 --utc-offset 5.5
for f in analysis.json rfm.csv report.html; do [ -s "$T/o/$f" ] || fail "missing $f"; done
if command -v python3 >/dev/null; then
  python3 - "$T/stdout" "$T/o/analysis.json" "$T/o/rfm.csv" <<'PY' || fail "JSON/CSV check failed"
import json, sys, csv
s = json.load(open(sys.argv[1]))
a = json.load(open(sys.argv[2]))
assert s["users"] == a["dataset"]["users"] == 300, s
assert s["users_buy"] == a["funnel"]["users"]["reached"]["buy"]
assert len(a["items"]["top_by_views"]) <= 5
assert a["window"]["utc_offset_minutes"] == 330
rows = list(csv.DictReader(open(sys.argv[3])))
assert len(rows) == 300 and sum(1 for r in rows if r["segment"]) == 300
assert sum(v["users"] for v in a["users"]["rfm"]["segments"].values()) == 300
PY
fi
expect_rc 0 "$SQ_BIN" analyze "$T/s.sqd" --out "$T/o2" --quiet
[ ! -s "$T/stdout" ] || fail "--quiet printed something"
# deterministic: same input and flags give the same bytes
expect_rc 0 "$SQ_BIN" analyze "$T/s.sqd" --out "$T/o3" --quiet
cmp "$T/o2/report.html" "$T/o3/report.html" || fail "report.html is not deterministic"
cmp "$T/o2/analysis.json" "$T/o3/analysis.json" || fail "analysis.json is not deterministic"
echo PASS
