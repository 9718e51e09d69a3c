#!/usr/bin/env bash
# Times 'shopseq synth' writing about 20M events (override with EVENTS=N) and prints
# events/s, MB/s and peak RSS. Usage: bench/synth.sh [path/to/shopseq]
# Env: EVENTS (default 20000000), BENCH_DIR (default /tmp/shopseq-bench), KEEP=1 keeps files,
#      ZST=1 also times a zstd-compressed run.
set -euo pipefail
BIN="${1:-${SQ_BIN:-build/shopseq}}"
EVENTS="${EVENTS:-20000000}"
DIR="${BENCH_DIR:-/tmp/shopseq-bench}"
mkdir -p "$DIR"
[[ -x "$BIN" ]] || { echo "bench/synth.sh: no shopseq binary at $BIN" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "bench/synth.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

run() { # out-file
    local out=$1
    /usr/bin/time -v "$BIN" synth --events "$EVENTS" --seed 1 --json --quiet --out "$out" \
        >"$DIR/synth.json" 2>"$DIR/time.txt"
    local json; json=$(cat "$DIR/synth.json")
    local ev sec bytes rss wall
    ev=$(grep -o '"events":[0-9]*' <<<"$json" | cut -d: -f2)
    sec=$(grep -o '"seconds":[0-9.]*' <<<"$json" | cut -d: -f2)
    bytes=$(grep -o '"bytes":[0-9]*' <<<"$json" | cut -d: -f2)
    rss=$(awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }' "$DIR/time.txt")
    wall=$(awk '/Elapsed \(wall clock\)/ { print $NF }' "$DIR/time.txt")
    awk -v ev="$ev" -v s="$sec" -v b="$bytes" -v rss="$rss" -v out="$out" -v wall="$wall" -v fsz="$(stat -c %s "$out")" 'BEGIN {
        printf "synth %-28s %11d events in %6.2f s (process wall %s): %5.2f M events/s, %6.1f MB/s CSV, file %.0f MB, peak RSS %.1f MB\n",
               out, ev, s, wall, ev / s / 1e6, b / s / 1e6, fsz / 1e6, rss / 1024 }'
}

echo "bench/synth.sh: $("$BIN" --version), target $EVENTS events, $(nproc) cores, $(uname -m)"
run "$DIR/synth.csv"
if [[ "${ZST:-0}" == 1 ]]; then run "$DIR/synth.csv.zst"; fi
if [[ "${KEEP:-0}" != 1 ]]; then rm -f "$DIR"/synth.csv "$DIR"/synth.csv.zst "$DIR"/synth.*.csv; fi
