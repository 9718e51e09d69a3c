#!/usr/bin/env bash
# Side features (--features behavior,category,price,gap) through the CLI on small synthetic
# data: train -> eval -> recommend for every neural model with all of them on, the config in
# the checkpoint, compare, a clear refusal where the data lacks a column, and the server
# feeding the same features (same top-k as recommend).
set -euo pipefail
BIN=${SQ_BIN:?}
. "$(dirname "$0")/serve_lib.sh" features_cli
fail() { echo "FAIL: $*"; exit 1; }

"$BIN" train --help | grep -- "--features" >/dev/null || fail "train --help lacks --features"
"$BIN" synth --users 200 --items 300 --days 15 --out "$T/s.csv" >/dev/null 2>&1 || fail "synth"
"$BIN" ingest "$T/s.csv" --out "$T/s.sqd" >/dev/null 2>&1 || fail "ingest"
SMALL="--dim 16 --heads 2 --maxlen 20 --batch 32 --eval-every 1"

"$BIN" train "$T/s.sqd" --model sasrec $SMALL --epochs 2 --features all \
  --out "$T/sasrec.safetensors" 2>"$T/log" || { cat "$T/log"; fail "train sasrec"; }
grep -q "features behavior,category,price,gap" "$T/log" || fail "features not in the log"
python3 - "$T/sasrec.safetensors" <<'PY'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
h = json.loads(raw[8:8 + n])
m = h["__metadata__"]
for k in ("use_behavior", "use_category", "use_price", "use_gap"):
    assert m[k] == "1", (k, m.get(k))
assert int(m["n_categories"]) > 0, m
for t in ("beh_emb.weight", "cat_emb.weight", "price_emb.weight", "gap_emb.weight"):
    assert t in h, t
assert h["gap_emb.weight"]["shape"][0] == 32, h["gap_emb.weight"]
for t in ("feature.item_category", "feature.item_price_bucket"):
    assert h[t]["dtype"] == "I32" and h[t]["shape"] == [int(m["n_items"])], h[t]
PY
"$BIN" eval "$T/s.sqd" "$T/sasrec.safetensors" --json > "$T/e.json" || fail "eval"
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['metrics']['HR@20'] > 0, r" "$T/e.json"
"$BIN" recommend "$T/sasrec.safetensors" --data "$T/s.sqd" --all-users --k 5 --format csv > "$T/r.csv" \
  || fail "recommend"
[ "$(wc -l < "$T/r.csv")" -gt 5 ] || fail "recommend wrote nothing"

for model in bert4rec gru4rec lstm caser; do
  "$BIN" train "$T/s.sqd" --model "$model" $SMALL --epochs 1 --features all \
    --out "$T/$model.safetensors" >/dev/null 2>&1 || fail "train $model"
  "$BIN" eval "$T/s.sqd" "$T/$model.safetensors" --json > /dev/null || fail "eval $model"
done
# the old flag still works and means --features behavior
"$BIN" train "$T/s.sqd" --model gru4rec $SMALL --epochs 1 --behavior --quiet \
  --out "$T/b.safetensors" || fail "--behavior"
"$BIN" compare "$T/s.sqd" --models sasrec,pop --epochs 1 --maxlen 20 --dim 16 --batch 32 \
  --features category,gap --quiet --json > "$T/c.json" || fail "compare --features"

# data without categories, prices or times: a clear error naming the column
printf '1 5\n1 6\n1 7\n2 5\n2 6\n2 8\n' > "$T/d.txt"
"$BIN" ingest "$T/d.txt" --preset sasrec --out "$T/d.sqd" >/dev/null 2>&1 || fail "ingest sasrec"
set +e
for f in category price gap; do
  "$BIN" train "$T/d.sqd" --features "$f" --epochs 1 --out "$T/x.safetensors" 2>"$T/err"
  [ $? -eq 1 ] || fail "--features $f on data without it must exit 1"
  grep -q "features $f" "$T/err" || fail "message: $(cat "$T/err")"
done
"$BIN" train "$T/d.sqd" --features colour --out "$T/x.safetensors" 2>"$T/err"
[ $? -eq 2 ] || fail "unknown feature must exit 2"
grep -q "colour" "$T/err" || fail "unknown feature message: $(cat "$T/err")"
"$BIN" compare "$T/d.sqd" --models sasrec --features price 2>"$T/err"
[ $? -eq 1 ] || fail "compare --features price on data without prices must exit 1"
grep -q "'price'" "$T/err" || fail "compare message: $(cat "$T/err")"
set -e

# the server: gaps from stored times, category/price from the checkpoint's tables
if command -v curl >/dev/null; then
  echo "features-token" > "$T/token"
  "$BIN" serve "$T/sasrec.safetensors" --data "$T/s.sqd" --state "$T/state" --port 0 \
    --port-file "$T/port" --token-file "$T/token" 2>"$T/srv.log" &
  PID=$!
  serve_wait_port || { tail -3 "$T/srv.log"; fail "server did not start"; }
  # four users, and the two with the most events: their window (maxlen 20) starts deep in
  # the history, so its first gap is to an event outside it
  for u in $(cut -d, -f1 "$T/s.csv" | sed 1d | sort -u | head -4) \
           $(cut -d, -f1 "$T/s.csv" | sed 1d | sort | uniq -c | sort -k1,1nr | head -2 | awk '{print $2}'); do
    msg=$(serve_same_top10 "$T/sasrec.safetensors" "$u") || fail "$msg"
  done
  kill -TERM "$PID"; wait "$PID" || fail "server exit code $?"; PID=""
else
  echo "SKIP (server part): curl not installed"
fi
echo "test_features: ok"
