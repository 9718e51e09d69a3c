#!/usr/bin/env bash
# Training speed of SASRec: shopseq vs a PyTorch twin trainer, same run, same threads.
#
#   bench/train_sasrec.sh [BUILD_DIR]        (default build-sas; THREADS=2, EPOCHS_TIMED=1)
#   BEAUTY_CE=1 ML1M=0 bench/train_sasrec.sh [BUILD_DIR]   (only the full-softmax part below)
#
# Paper settings on ml1m_approx: maxlen 200, dim 50, 2 blocks, 1 head, dropout 0.2,
# batch 128, Adam(W) lr 1e-3, BCE with one negative per position.
#  * shopseq: `shopseq train --epochs 1+EPOCHS_TIMED --eval-every 0`; the first epoch is the
#    warm-up, the timed figure is the mean of the following epochs' logged seconds.
#  * torch:   bench/peers/sasrec_torch_train.py (tests/reference/sasrec_twin.py's modules,
#    batched/padded as SASRec.pytorch), 5 warm-up batches, then EPOCHS_TIMED epochs.
# Peak RSS from /usr/bin/time -v.  Also: sgemm peak (bench/sgemm_peak.c) and shopseq's
# achieved GFLOP/s against the useful FLOP count below.
#
# FLOP count (useful work only; multiply-add = 2 FLOP; elementwise ops not counted).
# Per sequence with L real input positions (L = min(len(train part) - 1, maxlen)), per block:
#   Q,K,V,out projections + W1, W2:  6 * 2 L C^2
#   causal attention QK^T and AV:    2 * 2 C * L(L+1)/2
# plus the BCE scores 2 * 2 L C; backward = 2x forward, so an epoch = 3x the forward sum.
# The dense count (what a padded PyTorch step computes: L = maxlen everywhere, full L^2
# attention) is printed too.  On a shared 2-core machine the timings are noisy: run it quiet.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build-sas}
THREADS=${THREADS:-2}
EPOCHS_TIMED=${EPOCHS_TIMED:-1}
OUT=${OUT:-bench/out/train_sasrec}
DATA_ZST=/work/shared/data/ml1m_approx/ml-1m.txt.zst
PY=/usr/bin/python3
mkdir -p "$OUT"
SQ=$BUILD/shopseq
[ -x "$SQ" ] || { echo "build first: cmake -S . -B $BUILD -DCMAKE_BUILD_TYPE=Release && cmake --build $BUILD -j2" >&2; exit 1; }

# the peer at its best: torch's BLAS through libblas.so.3 should be OpenBLAS (pthread)
ALT=libblas.so.3-x86_64-linux-gnu
OB=/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3
if update-alternatives --query $ALT 2>/dev/null | grep -q "^Value: $OB"; then
    echo "libblas.so.3 -> $OB (openblas-pthread)"
elif [ -e $OB ] && [ "$(id -u)" = 0 ]; then
    update-alternatives --set $ALT $OB && echo "libblas.so.3 set to $OB"
else
    echo "warning: libblas.so.3 is not OpenBLAS: $(update-alternatives --query $ALT 2>/dev/null | grep ^Value)"
fi

if [ "${ML1M:-1}" = 1 ]; then
zstd -dcf "$DATA_ZST" > "$OUT/ml-1m.txt"
"$SQ" ingest "$DATA_ZST" --preset sasrec --out "$OUT/ml1m.sqd" > /dev/null

echo "== sgemm peak (OpenBLAS) =="
cc -O2 bench/sgemm_peak.c -o "$OUT/sgemm_peak" $(pkg-config --cflags --libs openblas)
for t in 1 2; do OPENBLAS_NUM_THREADS=$t "$OUT/sgemm_peak"; done | tee "$OUT/sgemm.txt"

echo "== FLOP count =="
$PY - "$OUT/ml-1m.txt" <<'PY' | tee "$OUT/flops.txt"
import sys, numpy as np
a = np.loadtxt(sys.argv[1], dtype=np.int64, ndmin=2)
_, cnt = np.unique(a[:, 0], return_counts=True)
cnt = cnt[cnt >= 3]
C, maxlen, blocks = 50, 200, 2
L = np.minimum(cnt - 2 - 1, maxlen).astype(np.float64)
useful = 3 * (blocks * (12 * L * C * C + 2 * C * L * (L + 1)).sum() + 4 * L.sum() * C)
Ld = np.full_like(L, maxlen)
dense = 3 * (blocks * (12 * Ld * C * C + 4 * C * Ld * Ld).sum() + 4 * Ld.sum() * C)
print(f"users {len(L)} positions {int(L.sum())} useful_gflop_per_epoch {useful/1e9:.1f} dense_gflop_per_epoch {dense/1e9:.1f}")
PY
USEFUL=$(awk '{for(i=1;i<=NF;i++) if($i=="useful_gflop_per_epoch") print $(i+1)}' "$OUT/flops.txt")

COMMON="--maxlen 200 --dim 50 --blocks 2 --heads 1 --dropout 0.2 --batch 128 --lr 1e-3"
echo "== shopseq ($THREADS threads) =="
OMP_NUM_THREADS=$THREADS /usr/bin/time -v -o "$OUT/shopseq.time" \
    "$SQ" train "$OUT/ml1m.sqd" --model sasrec $COMMON --loss bce --negatives 1 \
    --epochs $((EPOCHS_TIMED + 1)) --eval-every 0 --threads "$THREADS" \
    --out "$OUT/ml1m.safetensors" 2>&1 | tr '\r' '\n' | grep -E '^epoch [0-9]+/[0-9]+ loss' | tee "$OUT/shopseq.log"
SQ_S=$(awk 'NR>1 {s+=$5; n++} END {printf "%.2f", s/n}' "$OUT/shopseq.log")
SQ_RSS=$(awk -F': ' '/Maximum resident/ {printf "%.0f", $2/1024}' "$OUT/shopseq.time")

echo "== torch ($THREADS threads) =="
OMP_NUM_THREADS=$THREADS /usr/bin/time -v -o "$OUT/torch.time" \
    $PY bench/peers/sasrec_torch_train.py "$OUT/ml-1m.txt" --threads "$THREADS" \
    --epochs "$EPOCHS_TIMED" --warmup-batches 5 2>&1 | tee "$OUT/torch.log"
PT_S=$(awk '/^torch_epoch_seconds/ {s+=$2; n++} END {printf "%.2f", s/n}' "$OUT/torch.log")
PT_RSS=$(awk -F': ' '/Maximum resident/ {printf "%.0f", $2/1024}' "$OUT/torch.time")

echo "== result (ml1m_approx, paper settings, $THREADS threads; load average $(cut -d' ' -f1-3 /proc/loadavg)) =="
printf "shopseq  %8.2f s/epoch  peak RSS %6s MB  %6.1f GFLOP/s useful (%s GFLOP/epoch)\n" \
    "$SQ_S" "$SQ_RSS" "$(echo "$USEFUL / $SQ_S" | bc -l)" "$USEFUL"
printf "torch    %8.2f s/epoch  peak RSS %6s MB\n" "$PT_S" "$PT_RSS"
printf "speed-up %8.2fx (torch s/epoch / shopseq s/epoch)\n" "$(echo "$PT_S / $SQ_S" | bc -l)"
fi

# Full softmax over a big catalogue (Beauty_bert4rec, 54,542 items): BEAUTY_CE=1 adds it.
# The twin times TORCH_CE_BATCHES batches of its epoch and extrapolates (a whole epoch of
# (rows x 54,542) logits takes minutes in PyTorch on 2 threads).
if [ "${BEAUTY_CE:-0}" = 1 ]; then
    BEAUTY_ZST=/work/shared/data/sasrec_format/Beauty_bert4rec.txt.zst
    zstd -dcf "$BEAUTY_ZST" > "$OUT/beauty.txt"
    "$SQ" ingest "$BEAUTY_ZST" --preset sasrec --out "$OUT/beauty.sqd" > /dev/null
    CE="--maxlen 50 --dim 64 --blocks 2 --heads 1 --dropout 0.1 --batch 128 --lr 1e-3"
    echo "== shopseq, Beauty, full-softmax CE ($THREADS threads) =="
    OMP_NUM_THREADS=$THREADS "$SQ" train "$OUT/beauty.sqd" --model sasrec $CE --loss ce \
        --epochs 1 --eval-every 0 --threads "$THREADS" --out "$OUT/beauty.safetensors" 2>&1 \
        | tr '\r' '\n' | grep -E '^epoch [0-9]+/[0-9]+ loss' | tee "$OUT/shopseq_ce.log"
    SQ_CE=$(awk '{print $5}' "$OUT/shopseq_ce.log" | tail -1)
    echo "== torch, Beauty, full-softmax CE ($THREADS threads) =="
    OMP_NUM_THREADS=$THREADS $PY bench/peers/sasrec_torch_train.py "$OUT/beauty.txt" --loss ce \
        $CE --threads "$THREADS" --max-batches "${TORCH_CE_BATCHES:-40}" 2>&1 | tee "$OUT/torch_ce.log"
    PT_CE=$(awk '/^torch_epoch_seconds/ {print $2}' "$OUT/torch_ce.log" | tail -1)
    echo "== result (Beauty_bert4rec, full-softmax CE, $THREADS threads) =="
    printf "shopseq  %8.2f s/epoch\ntorch    %8.2f s/epoch (extrapolated)\nspeed-up %8.2fx\n" \
        "$SQ_CE" "$PT_CE" "$(echo "$PT_CE / $SQ_CE" | bc -l)"
fi
