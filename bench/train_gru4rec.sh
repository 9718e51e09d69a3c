#!/usr/bin/env bash
# GRU4Rec training throughput: shopseq vs its PyTorch twin trainer, same data, same run,
# same threads; plus the yoochoose next-click accuracy of both settings.
#
#   bench/train_gru4rec.sh [BUILD_DIR]      (default build-family; THREADS=2, EPOCHS=3)
#
# Data: yoochoose_rsc15_100k (session-rec's prepared RecSys'15 sample): train_full / test.
# Model (both sides): GRU 100 units, 1 layer, tied item embeddings, dropout 0.1, AdamW
# lr 0.01 betas (0.9, 0.98), batches of 128 whole sessions (the last 51 events), loss over
# every position: full softmax CE over all 2,933 items, sampled softmax with 64 uniform
# negatives per row, or the shared-candidate softmax (the batch's targets + 64 shared uniform
# items, one candidate set for all rows: the official GRU4Rec's in-batch + shared sampling). events/s = training rows (events with a next event) per second of
# training, validation excluded (there is none: the session protocol trains on all events).
#  * shopseq: `shopseq compare --test-data` (one child process per run), EPOCHS epochs,
#    the mean over all epochs (the first included).
#  * torch:   bench/peers/gru4rec_torch_train.py, 5 warm-up batches, then 1 epoch.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build-family}
THREADS=${THREADS:-2}
EPOCHS=${EPOCHS:-3}
OUT=${OUT:-bench/out/train_gru4rec}
D=/work/shared/data/yoochoose_rsc15_100k
PY=/usr/bin/python3
SQ=$BUILD/shopseq
[ -x "$SQ" ] || { echo "build first: cmake -S . -B $BUILD && cmake --build $BUILD -j2" >&2; exit 1; }
mkdir -p "$OUT"
"$SQ" ingest $D/train_full.tsv.zst --preset yoochoose --out "$OUT/train.sqd" >/dev/null 2>&1
"$SQ" ingest $D/test.tsv.zst --preset yoochoose --out "$OUT/test.sqd" >/dev/null 2>&1
zstd -dcf $D/train_full.tsv.zst > "$OUT/train.tsv"
for loss in ce sampled shared; do
    echo "== loss $loss =="
    "$SQ" compare "$OUT/train.sqd" --test-data "$OUT/test.sqd" --models gru4rec --epochs "$EPOCHS" \
        --batch 128 --lr 0.01 --loss $loss --negatives 64 --threads "$THREADS" --quiet --json \
        | tee "$OUT/shopseq_$loss.json"
    $PY bench/peers/gru4rec_torch_train.py "$OUT/train.tsv" --epochs 1 --batch 128 --loss $loss \
        --negatives 64 --threads "$THREADS" --lr 0.01 | tee "$OUT/torch_$loss.json"
    $PY - "$OUT/shopseq_$loss.json" "$OUT/torch_$loss.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["models"][0]
t = json.loads(open(sys.argv[2]).read())
print(f"shopseq {s['events_per_second']:.0f} events/s, torch {t['events_per_second']:.0f} events/s: "
      f"{s['events_per_second'] / t['events_per_second']:.2f}x; shopseq Recall@20 {s['hr@20']:.4f} "
      f"MRR@20 {s['mrr@20']:.4f} after {s['epochs']} epochs")
PY
done
