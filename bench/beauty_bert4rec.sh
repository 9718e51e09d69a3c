#!/usr/bin/env bash
# BERT4Rec on Beauty_bert4rec (leave-one-out, full ranking over all 54,542 items, history
# masked): the recipe behind the figures in docs/models.md, end to end, and the test
# metrics next to the published full-ranking BERT4Rec figures (NDCG@10 0.0187, HR@10 0.0338).
#
#   bench/beauty_bert4rec.sh [BUILD_DIR]      (default build; THREADS=2, SEED=42, the default)
#
# Settings: the published full-CE ones (maxlen 50, dim 64, 2 blocks, 2 heads, dropout 0.1,
# Cloze probability 0.2, AdamW lr 1e-3, batch 128) with the preset's output bias; validation
# (second-to-last event of every user) every 2 epochs; when it has not improved for PATIENCE
# validations the weights go back to the best epoch and the learning rate drops 10x
# (--lr-drop 0.1 --lr-drops 1), and the run stops after PATIENCE more. The test metrics are
# those of the best-validation checkpoint. About 17 s per epoch on 2 quiet cores, 25-35
# minutes in all: not for CI.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
THREADS=${THREADS:-2}
PATIENCE=${PATIENCE:-8}
SEED=${SEED:-42}
OUT=${OUT:-bench/out/beauty_bert4rec}
SQ=$BUILD/shopseq
DATA_ZST=../shared/data/sasrec_format/Beauty_bert4rec.txt.zst
[ -x "$SQ" ] || { echo "build first: cmake -S . -B $BUILD -DCMAKE_BUILD_TYPE=Release && cmake --build $BUILD -j2" >&2; exit 1; }
[ -f "$DATA_ZST" ] || { echo "missing $DATA_ZST" >&2; exit 1; }
mkdir -p "$OUT"
"$SQ" ingest "$DATA_ZST" --preset sasrec --out "$OUT/beauty.sqd" > /dev/null
"$SQ" train "$OUT/beauty.sqd" --model bert4rec --loss ce --maxlen 50 --dim 64 --blocks 2 \
    --heads 2 --dropout 0.1 --mask-prob 0.2 --lr 1e-3 --batch 128 --epochs 300 \
    --eval-every 2 --patience "$PATIENCE" --lr-drop 0.1 --lr-drops 1 --seed "$SEED" --threads "$THREADS" \
    --out "$OUT/bert4rec.safetensors" 2>&1 | tr '\r' '\n' \
    | grep -E 'validation|plateau|early stop|^done' | tee "$OUT/train.log"
"$SQ" eval "$OUT/beauty.sqd" "$OUT/bert4rec.safetensors" --threads "$THREADS" --json > "$OUT/test.json"
python3 - "$OUT/test.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
m = r["metrics"]
assert r["protocol"] == "full" and r["mask_history"], r
print(f"== test, {r['users']} users, full ranking, history masked ==")
print(f"{'':10} {'NDCG@10':>8} {'HR@10':>8} {'MRR@10':>8} {'NDCG@20':>8} {'HR@20':>8}")
print(f"{'shopseq':10} {m['NDCG@10']:8.4f} {m['HR@10']:8.4f} {m['MRR@10']:8.4f} "
      f"{m['NDCG@20']:8.4f} {m['HR@20']:8.4f}")
print(f"{'published':10} {0.0187:8.4f} {0.0338:8.4f}")
PY
