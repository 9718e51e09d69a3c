#!/usr/bin/env bash
# The CLI contract of train, eval and recommend on a tiny SASRec-format file: exit codes,
# --help, JSON keys, CSV columns with original ids, refusal of damaged checkpoints.
set -euo pipefail
BIN=${SQ_BIN:?}
T=$(mktemp -d "${SQ_TMPDIR:-/tmp}/train_cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

for cmd in train eval recommend; do
  "$BIN" $cmd --help | grep "example" >/dev/null || fail "$cmd --help has no example"
done
# 40 users walking 15 items ("user item" lines, SASRec format)
python3 - "$T/d.txt" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for u in range(40):
        for j in range(10):
            f.write(f"{u + 1} {100 + (u + j * (1 + u % 2)) % 15}\n")
PY
"$BIN" ingest "$T/d.txt" --preset sasrec --out "$T/d.sqd" >/dev/null 2>&1 || fail "ingest"
set +e
"$BIN" train "$T/d.sqd" --bogus 2>/dev/null; [ $? -eq 2 ] || fail "bad flag must exit 2"
"$BIN" train "$T/d.sqd" 2>/dev/null; [ $? -eq 2 ] || fail "missing --out must exit 2"
"$BIN" train "$T/d.sqd" --loss nope --out x 2>/dev/null; [ $? -eq 2 ] || fail "bad loss must exit 2"
"$BIN" train "$T/d.sqd" --dim 10 --heads 3 --out x 2>/dev/null; [ $? -eq 2 ] || fail "dim/heads must exit 2"
"$BIN" train "$T/d.sqd" --model gru4rec --init-std 0.02 --out x 2>/dev/null; [ $? -eq 2 ] || fail "--init-std on gru4rec must exit 2"
"$BIN" train "$T/d.sqd" --model sasrec --mask-prob 0.2 --out x 2>/dev/null; [ $? -eq 2 ] || fail "--mask-prob on sasrec must exit 2"
"$BIN" train "$T/d.sqd" --model bert4rec --loss shared --sample-alpha 0.5 --epochs 1 --out "$T/x.st" 2>"$T/sa.err"
[ $? -eq 1 ] && grep -q "gru4rec and lstm only" "$T/sa.err" || fail "--sample-alpha on bert4rec must be refused: $(cat "$T/sa.err")"
"$BIN" train "$T/nothing.sqd" --out "$T/m" 2>/dev/null; [ $? -eq 1 ] || fail "missing data must exit 1"
"$BIN" train "$T/d.sqd" --model sasrec --output-bias 1 --out x 2>/dev/null; [ $? -eq 2 ] || fail "--output-bias on sasrec must exit 2"
"$BIN" train "$T/d.sqd" --model bert4rec --loss shared --output-bias 1 --epochs 1 --out "$T/x.st" 2>"$T/ob.err"
[ $? -eq 1 ] && grep "needs --loss ce" "$T/ob.err" >/dev/null || fail "--output-bias with --loss shared must be refused: $(cat "$T/ob.err")"
set -e
# bert4rec's masked-LM head has its per-item output bias by default (the paper), learned;
# with --loss shared it has none
"$BIN" train "$T/d.sqd" --model bert4rec --dim 16 --heads 2 --maxlen 8 --batch 16 --epochs 2 \
  --eval-every 0 --out "$T/b.safetensors" 2>"$T/log" || { cat "$T/log"; fail "bert4rec train"; }
"$BIN" train "$T/d.sqd" --model bert4rec --loss shared --dim 16 --heads 2 --maxlen 8 --batch 16 \
  --epochs 1 --eval-every 0 --out "$T/bs.safetensors" 2>"$T/log" || { cat "$T/log"; fail "bert4rec shared"; }
python3 - "$T/b.safetensors" "$T/bs.safetensors" <<'PY'
import json, struct, sys
def tensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8:8 + n]), raw[8 + n:]
hdr, data = tensors(sys.argv[1])
t = hdr["head.out_bias"]
assert t["dtype"] == "F32" and t["shape"] == [15], t
b0, b1 = t["data_offsets"]
vals = struct.unpack(f"<{(b1 - b0) // 4}f", data[b0:b1])
assert any(abs(v) > 1e-6 for v in vals), "the output bias was not trained"
assert hdr["__metadata__"]["output_bias"] == "1", hdr["__metadata__"]
hdr, _ = tensors(sys.argv[2])
assert "head.out_bias" not in hdr and hdr["__metadata__"]["output_bias"] == "0"
PY
"$BIN" eval "$T/d.sqd" "$T/b.safetensors" --json >/dev/null || fail "eval of a bert4rec with output bias"
"$BIN" train "$T/d.sqd" --model sasrec --dim 16 --heads 2 --maxlen 8 --batch 16 --epochs 20 \
  --eval-every 5 --lr 0.01 --loss ce --out "$T/m.safetensors" 2>"$T/log" || { cat "$T/log"; fail "train"; }
grep -q "validation" "$T/log" || fail "no validation lines"
grep -q "\[#" "$T/log" && fail "progress bar written to a non-terminal"
"$BIN" eval "$T/d.sqd" "$T/m.safetensors" --json > "$T/e.json"
"$BIN" eval "$T/d.sqd" "$T/m.safetensors" --protocol sampled100 | grep "sampled" >/dev/null || fail "sampled protocol not labelled"
"$BIN" eval "$T/d.sqd" "$T/m.safetensors" --no-mask-history | grep "NOT masked" >/dev/null || fail "masking not labelled"
python3 - "$T/e.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["protocol"] == "full" and r["mask_history"] is True, r
for k in (1, 5, 10, 20):
    for m in ("HR", "NDCG", "MRR"):
        assert f"{m}@{k}" in r["metrics"], (m, k)
assert r["users"] == 40, r
assert r["metrics"]["HR@5"] > 0.5, r
PY
"$BIN" recommend "$T/m.safetensors" --data "$T/d.sqd" --all-users --k 3 --format csv > "$T/r.csv"
head -1 "$T/r.csv" | grep -qx "user,rank,item,score" || fail "csv header"
[ "$(wc -l < "$T/r.csv")" -eq 121 ] || fail "40 users x 3 rows expected"
grep -q "^7,1,1[0-9][0-9]," "$T/r.csv" || fail "original ids expected"
"$BIN" recommend "$T/m.safetensors" --data "$T/d.sqd" --user 7 --k 2 | grep "user 7" >/dev/null || fail "one user"
set +e
"$BIN" recommend "$T/m.safetensors" --data "$T/d.sqd" --user nobody 2>/dev/null; [ $? -eq 1 ] || fail "unknown user must exit 1"
head -c 3000 "$T/m.safetensors" > "$T/cut.safetensors"
"$BIN" eval "$T/d.sqd" "$T/cut.safetensors" 2>"$T/err"; [ $? -eq 1 ] || fail "truncated checkpoint must exit 1"
grep -q "truncated" "$T/err" || fail "truncation message: $(cat "$T/err")"
set -e
echo ok
