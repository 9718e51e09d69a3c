#!/usr/bin/env bash
# CLI contract of 'shopseq synth': help, usage errors, files and their headers, --json.
set -euo pipefail
: "${SQ_BIN:?SQ_BIN must point at the shopseq binary}"
T="${SQ_TMPDIR:-/tmp}/synth_cli"
rm -rf "$T"
mkdir -p "$T"

fail() { echo "FAIL: $*" >&2; exit 1; }
expect_rc() { # expected rc, command...
    local want=$1; shift
    set +e; "$@" >"$T/out" 2>"$T/err"; local rc=$?; set -e
    [[ $rc -eq $want ]] || { cat "$T/err" >&2; fail "'$*' exited $rc, expected $want"; }
}

# --help: exit 0, documents every flag and an example
expect_rc 0 "$SQ_BIN" synth --help
for flag in --users --events --seed --out --items --categories --days --start --churn-rate \
            --anomaly-rate --new-user-share --new-item-share --activity --drift --item-zipf \
            --category-zipf --json --quiet --help example; do
    grep -q -- "$flag" "$T/out" || fail "--help does not mention $flag"
done

# bad usage: exit 2 with a one-line reason naming the command
expect_rc 2 "$SQ_BIN" synth --no-such-flag
grep -q '^shopseq synth: ' "$T/err" || fail "no 'shopseq synth:' reason on stderr"
expect_rc 2 "$SQ_BIN" synth --users abc
expect_rc 2 "$SQ_BIN" synth --users 0
expect_rc 2 "$SQ_BIN" synth --churn-rate 2 --out "$T/x.csv"
expect_rc 2 "$SQ_BIN" synth --start 2024-13-01 --out "$T/x.csv"
expect_rc 2 "$SQ_BIN" synth --users 10 --events 1000
expect_rc 2 "$SQ_BIN" synth stray-argument
expect_rc 2 "$SQ_BIN" synth --seed
# failure: exit 1 with a one-line reason
expect_rc 1 "$SQ_BIN" synth --users 5 --quiet --out /nonexistent-dir/x.csv
[[ $(wc -l <"$T/err") -eq 1 ]] || fail "failure message is not one line"
grep -q '^shopseq synth: ' "$T/err" || fail "failure message lacks the prefix"

# writes the three files with the documented headers
expect_rc 0 "$SQ_BIN" synth --users 300 --seed 4 --out "$T/demo.csv" --quiet
[[ ! -s "$T/out" ]] || fail "--quiet printed something"
[[ $(head -1 "$T/demo.csv") == "user_id,item_id,category_id,behavior,timestamp,price" ]] || fail "events header"
[[ $(head -1 "$T/demo.truth.csv") == user_id,latent_type,arrival_time,churn_time,anomaly,anomaly_kind* ]] || fail "truth header"
[[ $(head -1 "$T/demo.items.csv") == "item_id,category_id,price,launch_time,popularity_rank" ]] || fail "items header"
[[ $(($(wc -l <"$T/demo.truth.csv") - 1)) -eq 300 ]] || fail "truth rows != users"
# behaviours are canonical names, prices have two decimals
awk -F, 'NR > 1 && ($4 !~ /^(view|fav|cart|buy)$/ || $6 !~ /^[0-9]+\.[0-9][0-9]$/ || NF != 6) { bad++ }
         END { exit bad > 0 }' "$T/demo.csv" || fail "malformed event rows"
ls "$T"/*.tmp.* 2>/dev/null && fail "temporary files left behind"

# same seed, same bytes; other seed, other bytes
expect_rc 0 "$SQ_BIN" synth --users 300 --seed 4 --out "$T/again.csv" --quiet
cmp -s "$T/demo.csv" "$T/again.csv" || fail "same seed gave different files"
expect_rc 0 "$SQ_BIN" synth --users 300 --seed 5 --out "$T/other.csv" --quiet
cmp -s "$T/demo.csv" "$T/other.csv" && fail "different seeds gave the same file"

# --json: one object on stdout with the documented keys
expect_rc 0 "$SQ_BIN" synth --users 200 --days 10 --start 2023-06-01 --json --out "$T/j.csv.gz"
[[ $(wc -l <"$T/out") -eq 1 ]] || fail "--json printed more than one line"
for key in '"events":' '"users":200' '"items":' '"seconds":' '"events_per_s":' '"files":' \
           '"truth":' "j.truth.csv"; do
    grep -q -- "$key" "$T/out" || fail "--json lacks $key"
done
[[ $(zcat "$T/j.csv.gz" | head -1) == "user_id,item_id,category_id,behavior,timestamp,price" ]] || fail "gz output"
# --start and --days bound the timestamps (2023-06-01 = 1685577600, +10 days)
zcat "$T/j.csv.gz" | awk -F, 'NR > 1 && ($5 < 1685577600 || $5 >= 1686441600) { bad++ } END { exit bad > 0 }' \
    || fail "timestamps outside --start/--days"

# --events aims at a total
expect_rc 0 "$SQ_BIN" synth --events 50000 --json --quiet --out "$T/e.csv"
ev=$(grep -o '"events":[0-9]*' "$T/out" | cut -d: -f2)
(( ev > 40000 && ev < 60000 )) || fail "--events 50000 gave $ev"

echo "test_synth.sh: all passed"
