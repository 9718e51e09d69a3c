#!/usr/bin/env bash
# The main job on a small simulated shop: every stage leaves its output.
set -euo pipefail
BIN=${SQ_BIN:?}
T=$(mktemp -d "${SQ_TMPDIR:-/tmp}/run.XXXXXX")
trap 'rm -rf "$T"' EXIT
"$BIN" run --users 400 --seed 7 --out "$T/r" > "$T/log"
for f in events.csv events.truth.csv shop.sqd ingest.json stats.json report.html analysis.json rfm.csv; do
  [ -s "$T/r/$f" ] || { echo "FAIL: run did not write $f"; cat "$T/log"; exit 1; }
done
grep -q "shopseq run: done" "$T/log"
python3 - "$T/r" <<'PY'
import json, sys
d = sys.argv[1]
ing = json.load(open(d + "/ingest.json"))
st = json.load(open(d + "/stats.json"))
assert ing["ok"] and ing["rejected_total"] == 0, ing
assert st["events"] == ing["events"] and st["users"] == 400, (st, ing)
PY
echo "run: ok"
# --json: exactly one JSON object on stdout
"$BIN" run --users 200 --out "$T/j" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["ok"] and d["stats"]["users"] == 200, d'
echo "run --json: ok"
