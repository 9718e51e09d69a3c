#!/usr/bin/env bash
# shopseq serve answers every model family with the same top-k as `shopseq recommend`:
# the neural models go through the server's int8 scorer (encode + int8 pass + fp32
# rescoring), the counting baselines through their own score op.
set -euo pipefail
BIN=${SQ_BIN:?}
command -v curl >/dev/null || { echo "SKIP: curl not installed (scripts/install-deps.sh --test)"; exit 0; }
. "$(dirname "$0")/serve_lib.sh" serve_models
fail() { echo "FAIL: $*"; [ -f "$T/srv.log" ] && tail -5 "$T/srv.log"; exit 1; }

"$BIN" synth --users 200 --items 300 --days 15 --out "$T/s.csv" >/dev/null 2>&1 || fail "synth"
"$BIN" ingest "$T/s.csv" --out "$T/s.sqd" >/dev/null 2>&1 || fail "ingest"
echo "models-token" > "$T/token"
USERS=$(cut -d, -f1 "$T/s.csv" | sed 1d | sort -u | head -6)

for model in sasrec bert4rec gru4rec caser pop; do
  "$BIN" train "$T/s.sqd" --model "$model" --epochs 1 --dim 16 --maxlen 20 --batch 32 \
    --out "$T/$model.safetensors" >/dev/null 2>&1 || fail "train $model"
  rm -rf "$T/state" "$T/port"
  "$BIN" serve "$T/$model.safetensors" --data "$T/s.sqd" --state "$T/state" --port 0 \
    --port-file "$T/port" --token-file "$T/token" 2>"$T/srv.log" &
  PID=$!
  serve_wait_port || fail "$model: server did not start"
  case $model in
    pop) grep -q "scoring: model" "$T/srv.log" || fail "$model: expected its own score op" ;;
    *) grep -q "scoring: int8" "$T/srv.log" || fail "$model: expected the int8 scorer: $(head -1 "$T/srv.log")" ;;
  esac
  for u in $USERS; do
    msg=$(serve_same_top10 "$T/$model.safetensors" "$u") || fail "$model, $msg"
  done
  kill -TERM "$PID"; wait "$PID" || fail "$model: SIGTERM exit code $?"; PID=""
done
echo "test_serve_models: ok"
