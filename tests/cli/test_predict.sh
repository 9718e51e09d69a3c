#!/usr/bin/env bash
# CLI contract of 'shopseq predict' on a small simulated shop: usage errors, the --evaluate
# JSON schema for every task, purchase AUC well above chance (the simulator's users have
# latent types), scores with original ids (csv and JSON Lines), atomic --out, and a clear
# refusal of --model where the neural scorer is not built.
set -euo pipefail
BIN=${SQ_BIN:?}
mkdir -p "${SQ_TMPDIR:-/tmp}"
T=$(mktemp -d "${SQ_TMPDIR:-/tmp}/predict_cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
expect_rc() { # expected rc, command...
    local want=$1; shift
    set +e; "$@" >"$T/out" 2>"$T/err"; local rc=$?; set -e
    [[ $rc -eq $want ]] || { cat "$T/err"; fail "'$*' exited $rc, expected $want"; }
}

"$BIN" predict --help | grep "example" >/dev/null || fail "--help has no example"
"$BIN" synth --users 3000 --days 42 --seed 7 --out "$T/s.csv" >/dev/null 2>&1 || fail "synth"
"$BIN" ingest "$T/s.csv" --out "$T/s.sqd" >/dev/null 2>&1 || fail "ingest"
D="$T/s.sqd"

expect_rc 2 "$BIN" predict "$D"                                   # no --task
expect_rc 2 "$BIN" predict "$D" --task nope
expect_rc 2 "$BIN" predict "$D" --task purchase --horizon 3x
expect_rc 2 "$BIN" predict "$D" --task purchase --cut yesterday
expect_rc 2 "$BIN" predict "$D" --task purchase --json           # scores need --out
expect_rc 2 "$BIN" predict "$D" --task churn --category 1
expect_rc 1 "$BIN" predict "$T/none.sqd" --task purchase
# a label window past the data's end is refused, with the reason
expect_rc 1 "$BIN" predict "$D" --task purchase --evaluate --cut 2024-02-10 --horizon 7d
grep -q "runs past the data's end" "$T/err" || fail "past-the-end message: $(cat "$T/err")"
expect_rc 1 "$BIN" predict "$D" --task purchase --category no-such-category
# --model: the neural scorer, or a clear error, never a silent fallback to the baseline
set +e; "$BIN" predict "$D" --task purchase --model "$T/none.safetensors" >"$T/out" 2>"$T/err"; rc=$?; set -e
[[ $rc -ne 0 ]] || fail "--model with a missing checkpoint must fail"
grep -qi "neural\|safetensors\|checkpoint\|none.safetensors" "$T/err" || fail "--model error: $(cat "$T/err")"

# --evaluate --json for every task
for task in purchase churn next-behavior item; do
    "$BIN" predict "$D" --task $task --horizon 7d --evaluate --json >"$T/$task.json" 2>"$T/err" \
        || { cat "$T/err"; fail "evaluate $task"; }
done
python3 - "$T" <<'PY'
import json, sys
d = sys.argv[1]
binary = ("roc_auc", "pr_auc", "log_loss", "threshold", "accuracy", "precision", "recall", "f1")
for task in ("purchase", "churn", "next-behavior", "item"):
    r = json.load(open(f"{d}/{task}.json"))
    assert r["task"] == task, r["task"]
    for k in ("horizon", "horizon_s", "cut", "cut_ms", "train_cut", "train_cuts", "data_end", "examples", "scorers"):
        assert k in r, (task, k)
    assert r["horizon_s"] == 7 * 86400
    for part in ("fit", "valid", "test"):
        assert r["examples"][part]["n"] > 0, (task, part)
    s = r["scorers"][0]
    assert s["scorer"] == "logistic", s
    for part in ("test", "valid"):
        m = s[part]
        if task == "next-behavior":
            for k in ("n", "accuracy", "macro_f1", "log_loss", "auc", "f1", "support"):
                assert k in m, (task, k)
            assert set(m["auc"]) == set(r["classes"]), m["auc"]
            assert 0 <= m["accuracy"] <= 1
        else:
            for k in binary + ("n", "positives", "calibration"):
                assert k in m, (task, k)
            assert len(m["calibration"]) == 10
            if part == "test":
                roc = m["roc"]
                assert 2 <= len(roc["fpr"]) == len(roc["tpr"]) <= 101, roc
                assert roc["fpr"][0] == 0 and roc["tpr"][-1] == 1
            assert sum(b["count"] for b in m["calibration"]) == m["n"]
            for k in binary[:2] + binary[4:]:
                assert 0 <= m[k] <= 1, (task, k, m[k])
    print(task, "test AUC", s["test"].get("roc_auc"), "n", s["test"]["n"])
p = json.load(open(f"{d}/purchase.json"))["scorers"][0]["test"]
assert p["roc_auc"] > 0.65, ("purchase AUC should be well above chance", p["roc_auc"])
i = json.load(open(f"{d}/item.json"))["scorers"][0]["test"]
assert i["roc_auc"] > 0.6, i["roc_auc"]
PY
# purchase in one category (original category id)
cat=$(awk -F, 'NR > 1 && $4 == "buy" { print $3; exit }' "$T/s.csv")
"$BIN" predict "$D" --task purchase --category "$cat" --horizon 7d --evaluate --json >"$T/cat.json" 2>/dev/null \
    || fail "--category $cat"
python3 - "$T/cat.json" "$cat" "$T/purchase.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["category"] == sys.argv[2], r["category"]
all_buys = json.load(open(sys.argv[3]))["examples"]["test"]["positives"]
assert 0 < r["examples"]["test"]["positives"] <= all_buys, r["examples"]
PY
# the human table
"$BIN" predict "$D" --task churn --horizon 7d --evaluate >"$T/table" 2>/dev/null
grep -q "ROC-AUC" "$T/table" && grep -q "calibration" "$T/table" || fail "table: $(cat "$T/table")"

# scores: original ids, atomic file, csv and JSON Lines
"$BIN" predict "$D" --task purchase --horizon 7d --out "$T/p.csv" --json >"$T/sum.json" 2>/dev/null \
    || fail "scores"
python3 - "$T/sum.json" "$T/p.csv" "$T/s.csv" <<'PY'
import csv, json, sys
s = json.load(open(sys.argv[1]))
assert s["task"] == "purchase" and s["rows"] > 0, s
rows = list(csv.reader(open(sys.argv[2])))
assert rows[0] == ["user", "score"], rows[0]
assert len(rows) - 1 == s["rows"]
users = {r[0] for r in csv.reader(open(sys.argv[3]))}
for r in rows[1:]:
    assert r[0] in users, r
    assert 0 <= float(r[1]) <= 1
PY
ls "$T" | grep -q '\.tmp' && fail "temporary file left behind"
"$BIN" predict "$D" --task next-behavior --horizon 7d --format json >"$T/nb.jsonl" 2>/dev/null
python3 - "$T/nb.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    ps = [v for k, v in r.items() if k.startswith("p_")]
    assert "user" in r and "p_view" in r and "p_buy" in r, r
    assert abs(sum(ps) - 1) < 1e-4, r
PY
"$BIN" predict "$D" --task item --horizon 7d >"$T/item.csv" 2>/dev/null
head -1 "$T/item.csv" | grep -qx "user,item,score" || fail "item csv header"
[ "$(wc -l < "$T/item.csv")" -gt 100 ] || fail "item rows"
echo ok
