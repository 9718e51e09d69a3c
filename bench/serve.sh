#!/usr/bin/env bash
# Latency and throughput of `shopseq serve` under wrk, with a PyTorch peer, in one run.
#
#   bench/serve.sh [BUILD_DIR]            (default build-serve; ~15 min from scratch on 2 cores)
#
# 1. A simulator shop with a ~100k-item catalogue (USERS users over DAYS days, --items
#    ITEMS, flat item popularity so that most items occur), ingested; SASRec trained for one
#    epoch (capped at TRAIN_SECONDS) per maxlen in MAXLENS, dim 64 - speed, not accuracy.
# 2. Per maxlen: the server on 127.0.0.1 (SERVE_ARGS), then wrk (Debian's, installed when
#    missing) for DURATION seconds per row, closed loop, CONNS connections:
#      recs   GET /v1/users/{id}/recommendations?k=10 over 2000 known users in rotation
#      predict POST /v1/predict {"tasks":["purchase"]} over the same users: the purchase
#              scorer saved by `shopseq predict --task purchase --save-model` (logistic;
#              PREDICT_ARGS="--model CKPT" saves the neural head instead) and served with
#              --predict-model: the user's merged history, the features, the scorer
#      events POST /v1/events, one event per request (durable: an fsync'd LMDB commit each)
#    MODES picks the rows (default: all three; events last, as they add to the histories
#    the other rows read). bench/serve_wrk.lua rotates ids and prints throughput and
#    p50/p99/p99.9 latency.
#    cpu_ms/req = the server's user+system CPU time (/proc/PID/stat) per request: the
#    figure that the machine's other load does not inflate. Peak RSS = VmHWM at the end.
# 3. The peer: bench/serve_torch.py scores the same requests in-process with PyTorch
#    (tests/reference/sasrec_twin.py's SASRec, forward over the same history, gemv over the
#    catalogue, mask, top-k) with 1 and with 2 threads, one request at a time; its top-10
#    for 20 users is compared with the server's answers.
# wrk runs on the same cores as the server: with 2 cores, its CPU is part of the budget.
# The machine may be shared: quote the load average printed at the start and the end.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build-serve}
SQ=$BUILD/shopseq
OUT=${OUT:-bench/out/serve}
USERS=${USERS:-20000}
DAYS=${DAYS:-30}
ITEMS=${ITEMS:-100000}
MAXLENS=${MAXLENS:-50 200}
TRAIN_SECONDS=${TRAIN_SECONDS:-150}
DURATION=${DURATION:-10}
CONNS=${CONNS:-1 8 64}
SERVE_ARGS=${SERVE_ARGS:---score-threads 1}
MODES=${MODES:-recs predict events}
PREDICT_ARGS=${PREDICT_ARGS:-}
TORCH_REQUESTS=${TORCH_REQUESTS:-2000}
PY=/usr/bin/python3
[ -x "$SQ" ] || { echo "build first: cmake -S . -B $BUILD -DCMAKE_BUILD_TYPE=Release && cmake --build $BUILD -j2" >&2; exit 1; }
mkdir -p "$OUT"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
if ! command -v wrk >/dev/null; then
  echo "installing wrk"; $SUDO apt-get install -y -qq wrk >/dev/null
fi
HAVE_TORCH=1
if ! $PY -c "import torch" 2>/dev/null; then
  echo "installing python3-torch (the peer)"
  $SUDO apt-get install -y -qq python3-torch >/dev/null || HAVE_TORCH=0
fi
# the peer at its best: torch's BLAS through libblas.so.3 should be OpenBLAS (pthread)
ALT=libblas.so.3-x86_64-linux-gnu
OB=/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3
if [ -e $OB ] && ! update-alternatives --query $ALT 2>/dev/null | grep -q "^Value: $OB" && [ "$(id -u)" = 0 ]; then
  update-alternatives --set $ALT $OB
fi
echo "machine: $(nproc) cores, $(uptime | sed 's/.*load/load/')"

# ---- data and models ----
if [ ! -s "$OUT/shop.sqd" ]; then
  "$SQ" synth --users "$USERS" --days "$DAYS" --items "$ITEMS" --item-zipf 0.5 --seed 7 \
      --out "$OUT/shop.csv" --quiet
  "$SQ" ingest "$OUT/shop.csv" --out "$OUT/shop.sqd" > /dev/null
fi
RES=$OUT/results.txt
: > "$RES"
for ML in $MAXLENS; do
  M=$OUT/sasrec_$ML.safetensors
  if [ ! -s "$M" ]; then
    echo "== training SASRec maxlen $ML (1 epoch, at most $TRAIN_SECONDS s) =="
    "$SQ" train "$OUT/shop.sqd" --model sasrec --dim 64 --heads 1 --maxlen "$ML" --epochs 1 \
        --eval-every 0 --max-seconds "$TRAIN_SECONDS" --threads 2 --out "$M" 2>&1 \
        | tr '\r' '\n' | grep -E "^(train|done|epoch)" || true
    [ -s "$M" ] || { echo "training wrote no checkpoint" >&2; exit 1; }
  fi
done
# the purchase head of POST /v1/predict, on the same data (its fingerprint is checked);
# kept between runs like the checkpoints: delete it to change PREDICT_ARGS
P=$OUT/purchase.safetensors
if [ ! -s "$P" ]; then
  echo "== saving a purchase scorer (shopseq predict --task purchase --save-model) =="
  # shellcheck disable=SC2086
  "$SQ" predict "$OUT/shop.sqd" --task purchase $PREDICT_ARGS --out "$OUT/purchase_scores.csv" \
      --save-model "$P" > /dev/null
  [ -s "$P" ] || { echo "predict saved no scorer" >&2; exit 1; }
fi
# 2000 users of the training data, 20000 items of the catalogue, in a fixed shuffled order
"$PY" - "$OUT/shop.csv" "$OUT/users.txt" "$OUT/items.txt" <<'PY'
import random, sys
users, items = {}, {}
with open(sys.argv[1]) as f:
    next(f)
    for line in f:
        u, i = line.split(",", 2)[:2]
        users.setdefault(u, None)
        items.setdefault(i, None)
r = random.Random(7)
u = list(users); r.shuffle(u)
i = list(items); r.shuffle(i)
open(sys.argv[2], "w").write("\n".join(u[:2000]) + "\n")
open(sys.argv[3], "w").write("\n".join(i[:20000]) + "\n")
PY
echo "dataset: $(wc -l < "$OUT/shop.csv") events; catalogue: $("$SQ" stats "$OUT/shop.sqd" --json | "$PY" -c 'import json,sys; j=json.load(sys.stdin); print(j.get("items", j.get("n_items", "?")))') items"

PID=""
cleanup() { if [ -n "$PID" ]; then kill -9 "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; fi; }
trap cleanup EXIT
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TOKEN=bench-token
echo "$TOKEN" > "$OUT/token"

for ML in $MAXLENS; do
  M=$OUT/sasrec_$ML.safetensors
  rm -rf "$OUT/state_$ML" "$OUT/port"
  # shellcheck disable=SC2086
  "$SQ" serve "$M" --data "$OUT/shop.sqd" --state "$OUT/state_$ML" --port 0 \
      --port-file "$OUT/port" --token-file "$OUT/token" --predict-model "$P" $SERVE_ARGS \
      2> "$OUT/server_$ML.log" &
  PID=$!
  for _ in $(seq 1 600); do [ -s "$OUT/port" ] && break; sleep 0.1; done
  [ -s "$OUT/port" ] || { cat "$OUT/server_$ML.log"; exit 1; }
  U="http://127.0.0.1:$(cat "$OUT/port")"
  head -1 "$OUT/server_$ML.log"
  # the server's answers for the first 20 users, to compare with the peer's
  for u in $(head -20 "$OUT/users.txt"); do
    printf '%s\t' "$u"; curl -s "$U/v1/users/$u/recommendations?k=10"; echo
  done > "$OUT/server_top_$ML.tsv"
  SERVE_USERS=$OUT/users.txt wrk -t1 -c8 -d2s -s bench/serve_wrk.lua "$U" > /dev/null  # warm-up
  for mode in $MODES; do
    for c in $CONNS; do
      t=$(( c < 2 ? c : 2 ))
      c0=$(cpu_ticks $PID)
      line=$(SERVE_MODE=$mode SERVE_USERS=$OUT/users.txt SERVE_ITEMS=$OUT/items.txt SERVE_TOKEN=$TOKEN \
             wrk -t$t -c$c -d${DURATION}s --timeout 10s -s bench/serve_wrk.lua "$U" | grep '^wrk_result')
      c1=$(cpu_ticks $PID)
      echo "server maxlen=$ML mode=$mode conns=$c cpu_ticks=$((c1 - c0)) $line" | tee -a "$RES"
    done
  done
  echo "server maxlen=$ML rss_kb=$(awk '/VmHWM/ {print $2}' /proc/$PID/status)" | tee -a "$RES"
  kill -TERM "$PID"; wait "$PID" || true; PID=""
  if [ "$HAVE_TORCH" = 1 ] && [ "${PEER:-1}" = 1 ]; then
    for th in 1 2; do
      line=$(OMP_NUM_THREADS=$th "$PY" bench/serve_torch.py "$M" "$OUT/shop.sqd" "$OUT/users.txt" \
             --requests "$TORCH_REQUESTS" --threads $th --top-json "$OUT/torch_top_$ML.json" | grep '^torch_result')
      echo "torch maxlen=$ML $line" | tee -a "$RES"
    done
    "$PY" - "$OUT/server_top_$ML.tsv" "$OUT/torch_top_$ML.json" <<'PY' | tee -a "$RES"
import json, sys
torch_top = json.load(open(sys.argv[2]))
same = total = 0
for line in open(sys.argv[1]):
    u, body = line.rstrip("\n").split("\t", 1)
    if u not in torch_top: continue
    total += 1
    same += [x["item"] for x in json.loads(body)["items"]] == torch_top[u]
print(f"agree top10_same={same} of={total}")
PY
  fi
done
echo "machine at the end: $(uptime | sed 's/.*load/load/')"
"$PY" bench/serve_report.py "$RES" "$(getconf CLK_TCK)"
