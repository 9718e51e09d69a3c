#!/usr/bin/env bash
# GRU4Rec on yoochoose_rsc15_100k: padded-sequence vs session-parallel mini-batches, full
# softmax CE vs BPR-max over shared samples. One line per setting: Recall@20, MRR@20 (all
# 2,933 items ranked, ties against the model, every next click of test.tsv) and training
# events/s. Protocol and settings: docs/models.md ("GRU4Rec batching and losses").
#
#   bench/gru4rec_batching.sh [BUILD_DIR]     (default build; THREADS=1, EPOCHS=3)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
THREADS=${THREADS:-1}
EPOCHS=${EPOCHS:-3}
OUT=${OUT:-bench/out/gru4rec_batching}
D=/work/shared/data/yoochoose_rsc15_100k
SQ=$BUILD/shopseq
[ -x "$SQ" ] || { echo "build first: cmake -S . -B $BUILD && cmake --build $BUILD -j2" >&2; exit 1; }
mkdir -p "$OUT"
[ -f "$OUT/train.sqd" ] || "$SQ" ingest $D/train_full.tsv.zst --preset yoochoose --out "$OUT/train.sqd" >/dev/null 2>&1
[ -f "$OUT/test.sqd" ] || "$SQ" ingest $D/test.tsv.zst --preset yoochoose --out "$OUT/test.sqd" >/dev/null 2>&1
run() { # name, flags...
    local name=$1
    shift
    "$SQ" compare "$OUT/train.sqd" --test-data "$OUT/test.sqd" --models gru4rec --epochs "$EPOCHS" \
        --maxlen 50 --threads "$THREADS" --quiet --json "$@" > "$OUT/$name.json"
    python3 - "$OUT/$name.json" "$name" "$*" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["models"][0]
print(f"{sys.argv[2]:<22} Recall@20 {r['hr@20']:.4f} MRR@20 {r['mrr@20']:.4f} "
      f"{r['events_per_second']:>8.0f} events/s  ({sys.argv[3]})", flush=True)
PY
}
SEL=${SEL:-padded_ce,sp_ce,sp_ce_b128,sp_bprmax,sp_bprmax_a05}
for s in ${SEL//,/ }; do
    case $s in
    padded_ce) run $s --batching padded --batch 128 --lr 0.01 --loss ce ;;
    sp_ce) run $s --batching session-parallel --batch 32 --lr 0.003 --loss ce ;;
    sp_ce_b128) run $s --batching session-parallel --batch 128 --lr 0.01 --loss ce ;;
    sp_bprmax) run $s --batching session-parallel --batch 32 --lr 0.003 --loss bpr-max \
        --negatives 2048 --sample-alpha 0 --bpreg 0.5 --final-elu 0.5 --dropout 0 ;;
    sp_bprmax_a05) run $s --batching session-parallel --batch 32 --lr 0.003 --loss bpr-max \
        --negatives 2048 --sample-alpha 0.5 --bpreg 0.5 --final-elu 0.5 --dropout 0 ;;
    *) echo "unknown setting $s" >&2; exit 2 ;;
    esac
done
