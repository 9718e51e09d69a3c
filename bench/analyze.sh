#!/usr/bin/env bash
# bench/analyze.sh — time and peak RSS of `shopseq analyze` on a 20M-event simulator file
# and on the Taobao user histories, against pandas computing the same funnel + RFM
# (bench/analyze_pandas.py) in the same run; checks that both agree. Not a test.
#
#   bench/analyze.sh                      # 20M events (synth) + Taobao user histories
#   BENCH_EVENTS=2000000 bench/analyze.sh # quick run
#
# Environment: BENCH_EVENTS (default 20000000), BENCH_SEED (42), SHOPSEQ=path to a built
# binary (default: build Release into build-bench/), SHOPSEQ_DATA (../shared/data).
# Scratch goes to bench/out/analyze/ (gitignored); generated files are reused.
# Timing: analyze is the best of 3 runs (file in the page cache); pandas runs once; its
# compute time excludes the CSV parse (analyze reads the ingested .sqd), and the ratio
# uses that compute time, so it favours pandas.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$ROOT/bench/out/analyze
DATA=${SHOPSEQ_DATA:-$ROOT/../shared/data}
EVENTS=${BENCH_EVENTS:-20000000}
SEED=${BENCH_SEED:-42}
PY=/usr/bin/python3
mkdir -p "$OUT"
say() { printf '== %s\n' "$*" >&2; }
die() { printf 'bench/analyze.sh: %s\n' "$*" >&2; exit 1; }
for t in /usr/bin/time zstd; do command -v "$t" >/dev/null || die "needs $t"; done
$PY -c 'import pandas, numpy' 2>/dev/null || die "needs python3-pandas for $PY"

if [ -z "${SHOPSEQ:-}" ]; then
    SHOPSEQ=$ROOT/build-bench/shopseq
    say "building shopseq (Release) in build-bench/"
    cmake -S "$ROOT" -B "$ROOT/build-bench" -DCMAKE_BUILD_TYPE=Release >/dev/null &&
        cmake --build "$ROOT/build-bench" -j2 --target shopseq_cli >"$OUT/build.log" 2>&1 ||
        [ -x "$SHOPSEQ" ] || die "build failed (log: $OUT/build.log)"
fi
[ -x "$SHOPSEQ" ] || die "no shopseq binary at $SHOPSEQ"

# ---- data ----
SYN=$OUT/synth_${EVENTS}_s${SEED}
if [ ! -s "$SYN.csv" ]; then
    say "synth --events $EVENTS"
    "$SHOPSEQ" synth --events "$EVENTS" --seed "$SEED" --out "$SYN.csv" --quiet
fi
[ -s "$SYN.sqd" ] || { say "ingest $SYN.csv"; "$SHOPSEQ" ingest "$SYN.csv" --out "$SYN.sqd" --quiet; }
TB=$OUT/taobao_user_histories
if [ -f "$DATA/taobao_userbehavior/user_histories.csv.zst" ]; then
    [ -s "$TB.csv" ] || zstd -qdc "$DATA/taobao_userbehavior/user_histories.csv.zst" > "$TB.csv"
    [ -s "$TB.sqd" ] || "$SHOPSEQ" ingest "$TB.csv" --preset taobao --out "$TB.sqd" --quiet
    SETS="synth taobao"
else
    say "no Taobao data in $DATA: synth only"
    SETS="synth"
fi

# "<seconds> <peak RSS MB>" from a /usr/bin/time -v log
tv() { awk -F': ' '/Elapsed \(wall clock\)/{n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]}
                  /Maximum resident set size/{r=$2/1024} END{printf "%.3f %.0f", s, r}' "$1"; }

printf '\n%-8s %12s | %-28s | %-52s | %8s | %s\n' "data" "events" "shopseq analyze (s, MB)" \
    "pandas funnel+RFM (read s, compute s, process s, MB)" "speed-up" "agree"
for set in $SETS; do
    if [ "$set" = synth ]; then csv=$SYN.csv; sqd=$SYN.sqd; layout=synth; else csv=$TB.csv; sqd=$TB.sqd; layout=taobao; fi
    best=""; rss=""
    for i in 1 2 3; do
        /usr/bin/time -v "$SHOPSEQ" analyze "$sqd" --out "$OUT/$set" --json > "$OUT/$set.analyze.json" 2> "$OUT/$set.analyze.time"
        read -r s r <<< "$(tv "$OUT/$set.analyze.time")"
        if [ -z "$best" ] || awk -v a="$s" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$s; rss=$r; fi
    done
    /usr/bin/time -v $PY "$ROOT/bench/analyze_pandas.py" "$csv" "$layout" > "$OUT/$set.pandas.json" 2> "$OUT/$set.pandas.time"
    read -r ps pr <<< "$(tv "$OUT/$set.pandas.time")"
    read -r events rs cs agree <<< "$($PY - "$OUT/$set/analysis.json" "$OUT/$set.pandas.json" <<'PYEOF'
import json, sys
a, p = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
f = a["funnel"]
ok = all(f["users"]["reached"].get(s, 0) == p["users_reached"][s] for s in p["users_reached"]) and \
     all(f["sessions"]["reached"].get(s, 0) == p["sessions_reached"][s] for s in p["sessions_reached"]) and \
     f["cart_abandonment"]["carted_pairs"] == p["carted_pairs"] and \
     f["cart_abandonment"]["bought_after_cart_pairs"] == p["carted_bought_pairs"]
segs = {k: v["users"] for k, v in a["users"]["rfm"]["segments"].items()}
# users whose segment differs (at most): float sums of prices can round a user across a
# score boundary differently in pandas (float32 pairwise sums) and here (double sums)
moved = sum(abs(segs.get(k, 0) - p["segments"].get(k, 0)) for k in set(segs) | set(p["segments"])) // 2
print(a["dataset"]["events"], p["read_s"], p["compute_s"],
      ("funnel=yes" if ok else "funnel=NO") + (",rfm=yes" if moved == 0 else ",rfm=%d-users-differ" % moved))
PYEOF
)"
    ratio=$(awk -v p="$cs" -v s="$best" 'BEGIN{printf "%.1fx", p/s}')
    printf '%-8s %12s | %8.3f s %8s MB      | %7.2f s %7.2f s %7.2f s %8s MB         | %8s | %s\n' \
        "$set" "$events" "$best" "$rss" "$rs" "$cs" "$ps" "$pr" "$ratio" "$agree"
    echo "{\"data\":\"$set\",\"events\":$events,\"analyze_s\":$best,\"analyze_rss_mb\":$rss,\"pandas_read_s\":$rs,\"pandas_compute_s\":$cs,\"pandas_rss_mb\":$pr,\"pandas_total_s\":$ps,\"speedup_vs_compute\":\"$ratio\",\"agree\":\"$agree\"}" >> "$OUT/results.jsonl"
done
echo
echo "speed-up = pandas compute time (funnel + RFM only, CSV already parsed) / shopseq analyze"
echo "(whole process: open, funnel, retention, activity, items, RFM, JSON, CSV, HTML report)."
echo "shopseq RSS counts the pages of the mmapped .sqd it touched; pandas 'process s' is the"
echo "whole python run (start-up, imports, CSV parse, compute). Times have 10 ms resolution."
echo "results appended to bench/out/analyze/results.jsonl"
