#!/usr/bin/env bash
# shopseq compare on a tiny deterministic walk: every model trains and evaluates, exit codes,
# JSON keys; and train/eval/recommend take every model of the family through the same CLI.
set -euo pipefail
BIN=${SQ_BIN:?}
T=$(mktemp -d "${SQ_TMPDIR:-/tmp}/compare_cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$BIN" compare --help | grep "example" >/dev/null || fail "compare --help has no example"
python3 - "$T/d.txt" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for u in range(60):
        for j in range(12):
            f.write(f"{u + 1} {100 + (u + j) % 20}\n")
PY
"$BIN" ingest "$T/d.txt" --preset sasrec --out "$T/d.sqd" >/dev/null 2>&1 || fail "ingest"
set +e
"$BIN" compare "$T/d.sqd" --models sasrec,nope 2>/dev/null; [ $? -eq 2 ] || fail "unknown model must exit 2"
"$BIN" compare 2>/dev/null; [ $? -eq 2 ] || fail "missing data must exit 2"
"$BIN" compare "$T/none.sqd" --models pop 2>/dev/null; [ $? -eq 1 ] || fail "absent file must exit 1"
set -e
"$BIN" compare "$T/d.sqd" --epochs 6 --maxlen 10 --batch 16 --lr 0.01 --quiet --json > "$T/c.json" \
  || fail "compare"
python3 - "$T/c.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
names = [m["model"] for m in r["models"]]
assert names == "sasrec,bert4rec,gru4rec,lstm,caser,pop,itemknn,markov".split(","), names
for m in r["models"]:
    assert m["ok"], m
    for k in ("hr@10", "ndcg@10", "mrr@10", "hr@20", "ndcg@20", "mrr@20", "coverage@10",
              "train_seconds", "events_per_second", "peak_rss_mb", "parameters"):
        assert k in m, (m["model"], k)
    assert m["test_users"] == 60
by = {m["model"]: m for m in r["models"]}
assert by["markov"]["ndcg@10"] == 1.0, by["markov"]  # the walk is a Markov chain
assert by["pop"]["ndcg@10"] < 0.5
PY
"$BIN" compare "$T/d.sqd" --models pop,markov --quiet | grep "NDCG@10" >/dev/null || fail "table header"
# the family through train / eval / recommend
for m in gru4rec lstm caser bert4rec itemknn; do
  "$BIN" train "$T/d.sqd" --model $m --dim 16 --heads 2 --maxlen 10 --batch 16 --epochs 3 \
    --eval-every 1 --lr 0.01 --quiet --out "$T/$m.safetensors" || fail "train $m"
  "$BIN" eval "$T/d.sqd" "$T/$m.safetensors" --json > "$T/e.json" || fail "eval $m"
  grep -q '"protocol"' "$T/e.json" || fail "eval json $m"
  "$BIN" recommend "$T/$m.safetensors" --data "$T/d.sqd" --user 1 --k 3 | grep . >/dev/null \
    || fail "recommend $m"
done
# the shared-candidate softmax where models have it; sasrec refuses it
for m in gru4rec bert4rec; do
  "$BIN" train "$T/d.sqd" --model $m --dim 16 --heads 2 --maxlen 10 --batch 16 --epochs 2 \
    --loss shared --negatives 5 --quiet --out "$T/s_$m.safetensors" || fail "train $m --loss shared"
done
set +e
"$BIN" train "$T/d.sqd" --model sasrec --loss shared --out "$T/x" 2>/dev/null
[ $? -eq 1 ] || fail "sasrec --loss shared must fail"
set -e
# --no-mask-history: the protocol line says so, and popularity ranks the user's own items
# again (masking only removes the target's competitors, so it cannot score higher)
"$BIN" compare "$T/d.sqd" --models pop,markov --quiet --json > "$T/m.json" || fail "compare masked"
"$BIN" compare "$T/d.sqd" --models pop,markov --quiet --json --no-mask-history > "$T/k.json" \
  || fail "compare --no-mask-history"
python3 - "$T/m.json" "$T/k.json" <<'PY'
import json, sys
m, k = (json.load(open(p)) for p in sys.argv[1:3])
assert m["protocol"].endswith("history masked"), m["protocol"]
assert k["protocol"].endswith("history not masked"), k["protocol"]
pm, pk = m["models"][0], k["models"][0]
assert pm["model"] == pk["model"] == "pop"
assert pk["hr@10"] <= pm["hr@10"] and pk["ndcg@10"] < pm["ndcg@10"], (pm, pk)
PY
"$BIN" compare "$T/d.sqd" --models pop --no-mask-history 2>/dev/null | grep "history not masked" >/dev/null \
  || fail "the table does not name the protocol"
echo ok
