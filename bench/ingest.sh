#!/usr/bin/env bash
# bench/ingest.sh — ingest throughput and memory of `shopseq ingest` against two peers
# (pandas, DuckDB) that build the same de-duplicated per-user time-sorted sequences from
# the same files, plus a correctness check of counts and sequence checksums on the real
# samples in ../shared/data. Not a test: it prints a table. See bench/README.md.
#
#   bench/ingest.sh                    # 20M-row simulator files (Taobao + REES46 layouts)
#   BENCH_ROWS=1000000 bench/ingest.sh # quick run
#
# Environment:
#   BENCH_ROWS=N         rows of the simulator file (default 20000000)
#   BENCH_SEED=S         simulator seed (default 42)
#   BENCH_TOOLS="..."    subset of: shopseq pandas duckdb duckdb-stable (default: all)
#   BENCH_FILES="..."    subset of: real-taobao real-rees46 taobao rees46 taobao-zst
#                        (default: all)
#   BENCH_TIMEOUT=S      limit per command in seconds (default 900)
#   BENCH_PERF=1         also `perf record` shopseq ingest on the Taobao-layout file and
#                        print the top functions
#   SHOPSEQ=path         use this binary instead of building build-bench/shopseq
# Scratch (data, .sqd files, logs, results.jsonl) goes to bench/out/ (gitignored); the
# generated CSVs are kept and reused by later runs with the same size and seed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
OUT=$BENCH/out
DATA=${SHOPSEQ_DATA:-$ROOT/../shared/data}
ROWS=${BENCH_ROWS:-20000000}
SEED=${BENCH_SEED:-42}
TOOLS=${BENCH_TOOLS:-shopseq pandas duckdb duckdb-stable}
FILES=${BENCH_FILES:-real-taobao real-rees46 taobao rees46 taobao-zst}
LIMIT=${BENCH_TIMEOUT:-900}
PY=/usr/bin/python3
export OMP_NUM_THREADS=2
mkdir -p "$OUT"
say() { printf '== %s\n' "$*" >&2; }
die() { printf 'bench/ingest.sh: %s\n' "$*" >&2; exit 1; }

for t in /usr/bin/time zstd node npm awk; do command -v "$t" >/dev/null || die "needs $t"; done
$PY -c 'import pandas, numpy' 2>/dev/null || die "needs python3-pandas for $PY (apt-get install python3-pandas)"

# ---- shopseq (Release) ----
if [ -z "${SHOPSEQ:-}" ]; then
    SHOPSEQ=$ROOT/build-bench/shopseq
    say "building shopseq (Release) in build-bench/"
    if ! { cmake -S "$ROOT" -B "$ROOT/build-bench" -DCMAKE_BUILD_TYPE=Release >/dev/null &&
           cmake --build "$ROOT/build-bench" -j2 --target shopseq >"$OUT/build.log" 2>&1; }; then
        [ -x "$SHOPSEQ" ] || { tail -20 "$OUT/build.log" >&2; die "build failed (log: $OUT/build.log)"; }
        say "build failed (log: bench/out/build.log); using the existing $SHOPSEQ"
    fi
fi
[ -x "$SHOPSEQ" ] || die "no shopseq binary at $SHOPSEQ"

# ---- DuckDB for Node ----
if [ ! -d "$BENCH/node_modules/@duckdb/node-api" ]; then
    say "npm install (@duckdb/node-api) into bench/node_modules"
    (cd "$BENCH" && npm install --no-audit --no-fund --loglevel=error) >&2
fi

# ---- data ----
tag=${ROWS}_s$SEED
SYN=$OUT/synth_$tag.csv
declare -A PATHS LAYOUT
if [[ " $FILES " == *" taobao"* || " $FILES " == *" rees46 "* ]]; then
    if [ ! -s "$OUT/synth_$tag.json" ] || [ ! -s "$SYN" ]; then  # the .json marks a finished file
        rm -f "$OUT/synth_$tag.json"
        # --events aims at about N (estimated from a sample; ~2% low at 1M): ask for 4% more
        say "shopseq synth --events $((ROWS * 104 / 100)) --seed $SEED"
        "$SHOPSEQ" synth --events "$((ROWS * 104 / 100))" --seed "$SEED" --out "$SYN" --quiet --json \
            > "$OUT/synth_$tag.json.tmp"
        mv "$OUT/synth_$tag.json.tmp" "$OUT/synth_$tag.json"
        rm -f "$OUT/taobao_$tag.csv" "$OUT/rees46_$tag.csv" "$OUT/taobao_$tag.csv.zst"  # stale layouts
    fi
    for l in taobao rees46; do
        f=$OUT/${l}_$tag.csv
        if [ ! -s "$f" ]; then
            say "converting to the $l layout"
            awk -v layout=$l -f "$BENCH/synth_to_layout.awk" "$SYN" > "$f.tmp" && mv "$f.tmp" "$f"
        fi
        PATHS[$l]=$f; LAYOUT[$l]=$l
    done
    if [[ " $FILES " == *" taobao-zst "* ]]; then
        z=$OUT/taobao_$tag.csv.zst
        if [ ! -s "$z" ]; then
            say "zstd -3 copy of the Taobao-layout file"
            zstd -q -T2 -3 -f "${PATHS[taobao]}" -o "$z.tmp" && mv "$z.tmp" "$z"
        fi
        PATHS[taobao-zst]=$z; LAYOUT[taobao-zst]=taobao
    fi
fi
if [ -d "$DATA" ]; then
    zstd -q -d -f "$DATA/taobao_userbehavior/user_histories.csv.zst" -o "$OUT/real_taobao.csv"
    zstd -q -d -f "$DATA/rees46_multicategory/2019-Oct_head.csv.zst" -o "$OUT/real_rees46.csv"
    PATHS[real-taobao]=$OUT/real_taobao.csv; LAYOUT[real-taobao]=taobao
    PATHS[real-rees46]=$OUT/real_rees46.csv; LAYOUT[real-rees46]=rees46
else
    say "no $DATA: skipping the real samples"
fi

# ---- runs ----
RES=$OUT/results.jsonl
: > "$RES"
# run TOOL FILEKEY: one timed process; appends {tool,file,...,wall_s,maxrss_kb,json} to RES
run() {
    local tool=$1 key=$2 f=${PATHS[$2]} l=${LAYOUT[$2]} log=$OUT/$1_$2.log tv=$OUT/$1_$2.time
    local -a cmd
    case $tool in
        shopseq) cmd=("$SHOPSEQ" ingest "$f" --preset "$l" --out "$OUT/$key.sqd" --json --quiet) ;;
        pandas) cmd=("$PY" "$BENCH/peers/ingest_pandas.py" "$f" --layout "$l") ;;
        duckdb) cmd=(node "$BENCH/peers/ingest_duckdb.mjs" "$f" --layout "$l" --threads 2) ;;
        duckdb-stable) cmd=(node "$BENCH/peers/ingest_duckdb.mjs" "$f" --layout "$l" --threads 2 --stable) ;;
    esac
    say "$tool  $key  ($(basename "$f"))"
    local rc=0
    timeout "$LIMIT" /usr/bin/time -v -o "$tv" "${cmd[@]}" > "$log" 2> "$log.err" || rc=$?
    local extra='{}'
    if [ $rc -eq 0 ] && [ "$tool" = shopseq ]; then
        extra=$($PY "$BENCH/sqd_checksum.py" "$OUT/$key.sqd")   # outside the timed run
    fi
    $PY - "$tool" "$key" "$f" "$rc" "$tv" "$log" "$extra" >> "$RES" <<'PYEOF'
import json, os, re, sys
tool, key, f, rc, tv, log, extra = sys.argv[1:]
r = {"tool": tool, "file": key, "path": f, "bytes": os.path.getsize(f), "rc": int(rc)}
try:
    t = open(tv).read()
    m = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", t)
    r["wall_s"] = int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    r["maxrss_kb"] = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
except Exception:
    pass
try:
    r["out"] = json.loads(open(log).read())
except Exception:
    r["out"] = {}
r["check"] = json.loads(extra)
print(json.dumps(r))
PYEOF
    [ $rc -eq 0 ] || say "$tool on $key failed (rc $rc; see $log.err)"
}
for key in $FILES; do
    [ -n "${PATHS[$key]:-}" ] || continue
    for tool in $TOOLS; do run "$tool" "$key"; done
done

# ---- optional profile ----
if [ "${BENCH_PERF:-0}" = 1 ] && [ -n "${PATHS[taobao]:-}" ]; then
    say "perf record: shopseq ingest ${PATHS[taobao]}"
    perf record -o "$OUT/perf.data" -g -- "$SHOPSEQ" ingest "${PATHS[taobao]}" --preset taobao \
        --out "$OUT/perf.sqd" --quiet 2>"$OUT/perf.log" >/dev/null
    perf report -i "$OUT/perf.data" --no-children --stdio --percent-limit 1 -g none \
        --sort symbol 2>/dev/null | grep -v '^#' | grep -v '^$' | head -12 > "$OUT/perf_top.txt"
    echo; echo "perf: top functions of shopseq ingest (self time)"; cat "$OUT/perf_top.txt"
fi

echo
$PY "$BENCH/ingest_report.py" "$RES"
