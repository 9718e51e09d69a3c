#!/usr/bin/env bash
# The main job on a small simulated shop: every stage leaves its output. The compare stage
# is kept tiny here (1 epoch, three models); its full size is measured in docs/models.md.
set -euo pipefail
BIN=${SQ_BIN:?}
T=$(mktemp -d "${SQ_TMPDIR:-/tmp}/run.XXXXXX")
trap 'rm -rf "$T"' EXIT
"$BIN" run --users 400 --seed 7 --out "$T/r" --compare-epochs 1 --compare-models pop,markov,sasrec \
  > "$T/log" 2> "$T/err"
for f in events.csv events.truth.csv shop.sqd ingest.json stats.json report.html analysis.json rfm.csv \
         compare.json; do
  [ -s "$T/r/$f" ] || { echo "FAIL: run did not write $f"; cat "$T/log" "$T/err"; exit 1; }
done
grep -q "shopseq run: done" "$T/log"
grep -q "^== compare" "$T/log" && grep -q "^sasrec " "$T/log" || { echo "FAIL: no compare table"; cat "$T/log"; exit 1; }
grep -q "Model comparison" "$T/r/report.html" || { echo "FAIL: report has no comparison"; exit 1; }
grep -q 'data-chart="compare-ndcg"' "$T/r/report.html"
python3 - "$T/r" <<'PY'
import json, sys
d = sys.argv[1]
ing = json.load(open(d + "/ingest.json"))
st = json.load(open(d + "/stats.json"))
assert ing["ok"] and ing["rejected_total"] == 0, ing
assert st["events"] == ing["events"] and st["users"] == 400, (st, ing)
c = json.load(open(d + "/compare.json"))
assert [m["model"] for m in c["models"]] == ["pop", "markov", "sasrec"], c
assert all(m["ok"] for m in c["models"]) and c["users"] == 400, c
by = {m["model"]: m for m in c["models"]}
assert by["sasrec"]["epochs"] == 1 and by["markov"]["ndcg@10"] > by["pop"]["ndcg@10"], by
PY
echo "run: ok"
# --json: exactly one JSON object on stdout, the comparison in it
"$BIN" run --users 200 --out "$T/j" --json --compare-models pop | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["ok"] and d["stats"]["users"] == 200, d
assert [m["model"] for m in d["compare"]["models"]] == ["pop"], d["compare"]'
echo "run --json: ok"
# --no-compare: no compare.json, and the report has no comparison section
"$BIN" run --users 200 --out "$T/n" --no-compare --quiet > /dev/null
[ ! -e "$T/n/compare.json" ] && [ -s "$T/n/report.html" ]
! grep -q "Model comparison" "$T/n/report.html"
set +e
"$BIN" run --users 200 --out "$T/x" --compare-models pop,nope 2>/dev/null; [ $? -eq 2 ] || { echo "FAIL: unknown model must exit 2"; exit 1; }
set -e
echo "run --no-compare: ok"
