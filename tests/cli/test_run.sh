#!/usr/bin/env bash
# The main job on a small simulated shop: every stage leaves its output. The compare stage
# is kept tiny here (1 epoch, three models); its full size is measured in docs/models.md.
# The predict stage runs at its defaults (purchase, churn; logistic baseline).
set -euo pipefail
BIN=${SQ_BIN:?}
T=$(mktemp -d "${SQ_TMPDIR:-/tmp}/run.XXXXXX")
trap 'rm -rf "$T"' EXIT
"$BIN" run --users 400 --seed 7 --out "$T/r" --compare-epochs 1 --compare-models pop,markov,sasrec \
  > "$T/log" 2> "$T/err"
for f in events.csv events.truth.csv shop.sqd ingest.json stats.json report.html analysis.json rfm.csv \
         compare.json predictions.json; do
  [ -s "$T/r/$f" ] || { echo "FAIL: run did not write $f"; cat "$T/log" "$T/err"; exit 1; }
done
grep -q "shopseq run: done" "$T/log"
grep -q "^== compare" "$T/log" && grep -q "^sasrec " "$T/log" || { echo "FAIL: no compare table"; cat "$T/log"; exit 1; }
grep -q "Model comparison" "$T/r/report.html" || { echo "FAIL: report has no comparison"; exit 1; }
grep -q 'data-chart="compare-ndcg"' "$T/r/report.html"
grep -q "^== predict" "$T/log" && grep -q "^  purchase 7d " "$T/log" || { echo "FAIL: no predictions table"; cat "$T/log"; exit 1; }
for id in predict-roc-purchase predict-calibration-purchase predict-table-purchase predict-roc-churn; do
  grep -q "data-chart=\"$id\"" "$T/r/report.html" || { echo "FAIL: report has no $id"; exit 1; }
done
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
p = json.load(open(d + "/predictions.json"))
assert p["users"] == 400 and p["events"] == st["events"], p
assert [t["task"] for t in p["tasks"]] == ["purchase", "churn"], p["tasks"]
for t in p["tasks"]:
    assert "error" not in t, t
    s = t["scorers"][0]
    assert s["scorer"] == "logistic", s
    auc = s["test"]["roc_auc"]
    assert 0 <= auc <= 1, (t["task"], auc)
    assert len(s["test"]["roc"]["fpr"]) >= 2, t["task"]
    print(t["task"], "ROC-AUC", round(auc, 4))
PY
echo "run: ok"
# --json: exactly one JSON object on stdout, the comparison in it
"$BIN" run --users 200 --out "$T/j" --json --compare-models pop | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["ok"] and d["stats"]["users"] == 200, d
assert [m["model"] for m in d["compare"]["models"]] == ["pop"], d["compare"]
assert [t["task"] for t in d["predict"]["tasks"]] == ["purchase", "churn"], d["predict"]
assert any(f.endswith("/predictions.json") for f in d["files"]), d["files"]'
echo "run --json: ok"
# a predictions file made on another dataset is refused by analyze, and nothing is written
set +e
"$BIN" analyze "$T/r/shop.sqd" --out "$T/wrong" --predictions "$T/j/predictions.json" 2> "$T/err"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "another dataset" "$T/err" && [ ! -e "$T/wrong/report.html" ] \
  || { echo "FAIL: another dataset's predictions accepted (rc $rc)"; cat "$T/err"; exit 1; }
# --no-compare --no-predict: neither file (not even a stale one from an earlier run in the
# same folder), and the report has neither section
mkdir -p "$T/n" && cp "$T/r/compare.json" "$T/r/predictions.json" "$T/n/"
"$BIN" run --users 200 --out "$T/n" --no-compare --no-predict --quiet > /dev/null
# (an && list does not stop a set -e script, hence the explicit exit)
{ [ ! -e "$T/n/compare.json" ] && [ ! -e "$T/n/predictions.json" ] && [ -s "$T/n/report.html" ]; } \
  || { echo "FAIL: --no-compare/--no-predict left compare.json or predictions.json"; exit 1; }
! grep -q "Model comparison" "$T/n/report.html"
! grep -q "<h2>Predictions" "$T/n/report.html"
set +e
"$BIN" run --users 200 --out "$T/x" --compare-models pop,nope 2>/dev/null; [ $? -eq 2 ] || { echo "FAIL: unknown model must exit 2"; exit 1; }
"$BIN" run --users 200 --out "$T/x" --predict-tasks purchase,nope 2>/dev/null; [ $? -eq 2 ] || { echo "FAIL: unknown task must exit 2"; exit 1; }
set -e
echo "run --no-compare --no-predict: ok"
