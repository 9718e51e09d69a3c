#!/usr/bin/env bash
# The task heads of POST /v1/predict (purchase, churn, next_behavior) against a real server
# on 127.0.0.1: heads saved by `shopseq predict --save-model` give, for users without posted
# events, the probabilities offline `shopseq predict --format json` writes at the same cut;
# posted events change them (and move the cut past them), their prices and categories
# included; an unknown user gets the base
# rate, flagged; a missing head is a 501 naming --predict-model; truncated, edited, foreign
# or duplicated head files stop the server at start-up with a clear message.
set -euo pipefail
BIN=${SQ_BIN:?}
command -v curl >/dev/null || { echo "SKIP: curl not installed (scripts/install-deps.sh --test)"; exit 0; }
. "$(dirname "$0")/serve_lib.sh" serve_predict
fail() { echo "FAIL: $*"; [ -f "$T/srv.log" ] && tail -5 "$T/srv.log"; exit 1; }

"$BIN" synth --users 400 --items 300 --days 30 --out "$T/s.csv" >/dev/null 2>&1 || fail "synth"
"$BIN" ingest "$T/s.csv" --out "$T/s.sqd" >/dev/null 2>&1 || fail "ingest"
"$BIN" train "$T/s.sqd" --model sasrec --epochs 1 --dim 16 --heads 1 --maxlen 20 --batch 32 \
  --out "$T/m.safetensors" >/dev/null 2>&1 || fail "train"
for task in purchase churn next-behavior; do
  "$BIN" predict "$T/s.sqd" --task "$task" --format json --out "$T/$task.jsonl" \
    --save-model "$T/$task.safetensors" 2>"$T/predict.log" || { cat "$T/predict.log"; fail "predict $task"; }
  [ -s "$T/$task.safetensors" ] || fail "no saved model for $task"
done
"$BIN" predict "$T/s.sqd" --task purchase --evaluate --json --save-model "$T/eval.safetensors" \
  >/dev/null 2>&1 || fail "--evaluate --save-model"
# a neural head: the checkpoint's encoder fine-tuned with an MLP head, saved beside it
"$BIN" predict "$T/s.sqd" --task purchase --model "$T/m.safetensors" --finetune all --epochs 2 \
  --threads 1 \
  --format json --out "$T/neural.jsonl" --save-model "$T/neural.safetensors" 2>"$T/predict.log" \
  || { cat "$T/predict.log"; fail "predict --model --save-model"; }
[ -s "$T/neural.safetensors.encoder.safetensors" ] || fail "no encoder beside the neural head"
set +e
"$BIN" predict "$T/s.sqd" --task item --save-model "$T/x.safetensors" >/dev/null 2>"$T/err"
[ $? -eq 2 ] && grep -q "item" "$T/err" || fail "--task item --save-model must be refused (exit 2)"
set -e
"$BIN" predict --help | grep -- "--save-model" >/dev/null || fail "predict --help does not mention --save-model"
"$BIN" serve --help | grep -- "--predict-model" >/dev/null || fail "serve --help does not mention --predict-model"

HEADS=(--predict-model "$T/purchase.safetensors" --predict-model "$T/churn.safetensors"
       --predict-model "$T/next-behavior.safetensors")
start() { # extra serve args...
  rm -f "$T/port"
  "$BIN" serve "$T/m.safetensors" --data "$T/s.sqd" --state "$T/state" --port 0 \
    --port-file "$T/port" --no-auth "$@" 2>>"$T/srv.log" &
  PID=$!
  serve_wait_port || fail "server did not start"
  U="http://127.0.0.1:$(cat "$T/port")"
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }

# ---- refused at start-up: a clear message, exit 1, no server ----
refused() { # want-in-message file...
  local want=$1; shift
  local args=()
  for f in "$@"; do args+=(--predict-model "$f"); done
  set +e
  timeout 60 "$BIN" serve "$T/m.safetensors" --data "$T/s.sqd" --state "$T/state0" --port 0 \
    --no-auth "${args[@]}" >/dev/null 2>"$T/err"
  local rc=$?
  set -e
  [ $rc -eq 1 ] || fail "serve with $* -> exit $rc, expected 1 ($(cat "$T/err"))"
  grep -q -- "$want" "$T/err" || fail "serve with $*: message lacks '$want': $(cat "$T/err")"
}
cp "$T/purchase.safetensors" "$T/flip.safetensors"
python3 - "$T/flip.safetensors" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read()); b[-3] ^= 0x40; open(sys.argv[1], "wb").write(b)
PY
refused "checksum mismatch" "$T/flip.safetensors"
python3 - "$T/purchase.safetensors" "$T/thr.safetensors" <<'PY'
import re, sys
b = open(sys.argv[1], "rb").read()
m = re.search(rb'"threshold":"0\.(\d)', b)
d = b"1" if m.group(1) != b"1" else b"2"   # same length: only the value changes
open(sys.argv[2], "wb").write(b[:m.start(1)] + d + b[m.end(1):])
PY
refused "metadata checksum" "$T/thr.safetensors"
head -c 1000 "$T/purchase.safetensors" > "$T/trunc.safetensors"
refused "truncated" "$T/trunc.safetensors"
refused "not a prediction model" "$T/m.safetensors"
refused "both for task purchase" "$T/purchase.safetensors" "$T/purchase.safetensors"
"$BIN" synth --users 100 --items 300 --days 30 --seed 7 --out "$T/o.csv" >/dev/null 2>&1 || fail "synth other"
"$BIN" ingest "$T/o.csv" --out "$T/o.sqd" >/dev/null 2>&1 || fail "ingest other"
"$BIN" predict "$T/o.sqd" --task purchase --out "$T/o.csv.scores" --save-model "$T/other.safetensors" \
  >/dev/null 2>&1 || fail "predict other"
refused "another dataset" "$T/other.safetensors"
mkdir -p "$T/n2"
cp "$T/neural.safetensors" "$T/n2/neural.safetensors"
cp "$T/m.safetensors" "$T/n2/neural.safetensors.encoder.safetensors"   # another encoder
refused "not the one saved with it" "$T/n2/neural.safetensors"
rm "$T/n2/neural.safetensors.encoder.safetensors"
refused "cannot open" "$T/n2/neural.safetensors"

# ---- without heads: 501 naming the flag ----
start
code=$(curl -s -m 10 -o "$T/body" -w '%{http_code}' -d '{"user":"1","tasks":["churn"]}' "$U/v1/predict")
[ "$code" = 501 ] || fail "churn without a head -> $code, expected 501"
grep -q "task_unavailable" "$T/body" && grep -q -- "--predict-model" "$T/body" || fail "501 body: $(cat "$T/body")"
stop

# ---- with heads: equal to offline, then changed by posted events ----
start "${HEADS[@]}"
grep -q "task purchase from" "$T/srv.log" || fail "start-up log does not list the heads"
python3 - "$U" "$T" <<'PY' || fail "served heads"
import json, sys, urllib.request, urllib.error
base, T = sys.argv[1:3]

def post(path, body):
    rq = urllib.request.Request(base + path, data=json.dumps(body).encode(),
                                headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(rq, timeout=10) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)

def offline(task):
    return [json.loads(l) for l in open(f"{T}/{task}.jsonl")]

TOL = 1e-5
checked = 0
for task, api in (("purchase", "purchase"), ("churn", "churn"), ("next-behavior", "next_behavior")):
    rows = offline(task)
    assert len(rows) >= 6, (task, len(rows))
    for row in rows[:4] + rows[len(rows) // 2: len(rows) // 2 + 2] + rows[-2:]:
        st, j = post("/v1/predict", {"user": row["user"], "tasks": [api]})
        assert st == 200, (st, j)
        h = j["predictions"][api]
        assert h["fallback"] is None and h["history_used"] > 0, h
        if api == "next_behavior":
            for k, v in row.items():
                if k.startswith("p_"):
                    assert abs(h["probabilities"][k[2:]] - v) <= TOL, (row, h)
            assert h["label"] == max(h["probabilities"], key=h["probabilities"].get), h
        else:
            assert abs(h["probability"] - row["score"]) <= TOL, (task, row, h)
            assert h["label"] == (h["probability"] >= h["threshold"]), h
        if api == "churn":
            assert h["eligible"] is True, h   # offline scores active users only
        checked += 1
assert checked >= 24, checked

# every head at once, and the cut given explicitly: the same answer
u = offline("purchase")[0]["user"]
st, j = post("/v1/predict", {"user": u})
assert st == 200 and set(j["predictions"]) == {"next_item", "purchase", "churn", "next_behavior"}, j
assert set(j["available_tasks"]) == {"next_item", "purchase", "churn", "next_behavior"}, j
p0 = j["predictions"]["purchase"]
st, j2 = post("/v1/predict", {"user": u, "tasks": ["purchase"], "time": p0["cut"]})
assert st == 200 and j2["predictions"]["purchase"] == p0, (p0, j2)
st, j3 = post("/v1/predict", {"user": u, "tasks": ["purchase"], "time": p0["cut_ms"] - 86400000})
assert st == 200 and j3["predictions"]["purchase"]["cut_ms"] == p0["cut_ms"] - 86400000, j3
assert j3["predictions"]["purchase"]["history_used"] <= p0["history_used"], j3
st, j4 = post("/v1/predict", {"user": u, "tasks": ["purchase"], "time": "yesterday"})
assert st == 400 and j4["error"]["code"] == "invalid_field", j4

# posted events change the prediction: buys after the data's end move the cut past them
cut = p0["cut_ms"]
item = open(f"{T}/s.csv").readlines()[1].split(",")[1]
ev = [{"user": u, "item": item, "behavior": b, "time": cut + 3600000 * (i + 1)}
      for i, b in enumerate(["view", "cart", "buy"])]
st, a = post("/v1/events", ev)
assert st == 200 and a["accepted"] == 3, a
st, j = post("/v1/predict", {"user": u, "tasks": ["purchase", "churn"]})
p1 = j["predictions"]["purchase"]
assert p1["history_used"] == p0["history_used"] + 3, (p0, p1)
assert p1["cut_ms"] == cut + 3 * 3600000 + 1, p1
assert abs(p1["probability"] - p0["probability"]) > 1e-4, (p0, p1)
# an event before the data's end: the cut stays, the history grows, the answer moves
u2 = offline("purchase")[1]["user"]
st, j = post("/v1/predict", {"user": u2, "tasks": ["purchase"]})
q0 = j["predictions"]["purchase"]
st, a = post("/v1/events", {"user": u2, "item": "never-seen-item", "behavior": "buy", "time": cut - 60000})
assert st == 200 and a["unknown_items"] == 1, a
st, j = post("/v1/predict", {"user": u2, "tasks": ["purchase"]})
q1 = j["predictions"]["purchase"]
assert q1["cut_ms"] == q0["cut_ms"] and q1["history_used"] == q0["history_used"] + 1, (q0, q1)
assert abs(q1["probability"] - q0["probability"]) > 1e-4, (q0, q1)

# a user the service has never seen: the base rate, flagged
st, j = post("/v1/predict", {"user": "never-seen-user", "tasks": ["purchase", "next_behavior"]})
assert st == 200, j
h = j["predictions"]["purchase"]
assert h["fallback"] == "base_rate" and h["history_used"] == 0 and h["eligible"] is False, h
assert 0 < h["probability"] < 1, h
nb = j["predictions"]["next_behavior"]
assert nb["fallback"] == "base_rate" and abs(sum(nb["probabilities"].values()) - 1) < 1e-4, nb
# a user known only from posted events is scored from them
st, a = post("/v1/events", [{"user": "fresh", "item": item, "behavior": "view", "time": cut - 7200000},
                            {"user": "fresh", "item": item, "behavior": "cart", "time": cut - 3600000}])
st, j = post("/v1/predict", {"user": "fresh", "tasks": ["churn"]})
h = j["predictions"]["churn"]
assert st == 200 and h["fallback"] is None and h["history_used"] == 2 and h["eligible"], h
# posted prices and categories are kept and read: the same events with and without them
# differ in monetary value and distinct categories
pair = lambda extra: [dict({"item": item, "behavior": "view", "time": cut - 7200000}),
                      dict({"item": item, "behavior": "buy", "time": cut - 3600000}, **extra),
                      dict({"item": item, "behavior": "buy", "time": cut - 1800000}, **extra)]
probs = {}
for name, extra in (("plain", {}), ("priced", {"price": 250.0}), ("catted", {"category": "brand-new-cat"})):
    evs = [dict(e, user=f"f-{name}") for e in pair(extra)]
    evs[2] = dict(evs[2], **({"category": "another-cat"} if name == "catted" else {}))
    st, a = post("/v1/events", evs)
    assert st == 200, a
    st, j = post("/v1/predict", {"user": f"f-{name}", "tasks": ["purchase"]})
    probs[name] = j["predictions"]["purchase"]["probability"]
assert abs(probs["priced"] - probs["plain"]) > 1e-6, probs
assert abs(probs["catted"] - probs["plain"]) > 1e-6, probs
rq = urllib.request.Request(base + "/v1/users/f-priced/history")
with urllib.request.urlopen(rq, timeout=10) as r:
    ev = json.load(r)["events"]
assert "price" not in ev[0] and ev[1]["price"] == 250.0 and "category" not in ev[1], ev

# reload keeps the heads
rq = urllib.request.Request(base + "/v1/admin/reload", data=b"", method="POST")
with urllib.request.urlopen(rq, timeout=30) as r:
    assert r.status == 200
st, j = post("/v1/predict", {"user": u, "tasks": ["purchase"]})
assert st == 200 and j["predictions"]["purchase"] == p1, (p1, j)
print("served heads ok:", checked, "users x tasks equal to offline")
PY
stop

# ---- a neural head: equal to offline, posted events (unknown items too) scored ----
rm -rf "$T/state"
start --predict-model "$T/neural.safetensors"
python3 - "$U" "$T" <<'PY' || fail "served neural head"
import json, sys, urllib.request, urllib.error
base, T = sys.argv[1:3]
def post(path, body):
    rq = urllib.request.Request(base + path, data=json.dumps(body).encode())
    try:
        with urllib.request.urlopen(rq, timeout=30) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)
rows = [json.loads(l) for l in open(f"{T}/neural.jsonl")]
for row in rows[:5] + rows[-3:]:
    st, j = post("/v1/predict", {"user": row["user"], "tasks": ["purchase"]})
    h = j["predictions"]["purchase"]
    assert st == 200 and abs(h["probability"] - row["score"]) <= 1e-5, (row, h)
u = rows[0]["user"]
st, j = post("/v1/predict", {"user": u, "tasks": ["purchase"]})
p0 = j["predictions"]["purchase"]
item = open(f"{T}/s.csv").readlines()[1].split(",")[1]
ev = [{"user": u, "item": it, "behavior": "cart", "time": p0["cut_ms"] + 60000 * (i + 1)}
      for i, it in enumerate([item, "unknown-item-x", item])]
st, a = post("/v1/events", ev)
assert st == 200 and a["unknown_items"] == 1, a
st, j = post("/v1/predict", {"user": u, "tasks": ["purchase"]})
p1 = j["predictions"]["purchase"]
assert st == 200 and p1["history_used"] == p0["history_used"] + 3, (p0, p1)
assert abs(p1["probability"] - p0["probability"]) > 1e-6, (p0, p1)
# a user known only by items the encoder has never seen: the base rate, flagged
st, a = post("/v1/events", {"user": "only-new-items", "item": "unknown-item-y", "time": p0["cut_ms"] - 1000})
st, j = post("/v1/predict", {"user": "only-new-items", "tasks": ["purchase"]})
assert st == 200 and j["predictions"]["purchase"]["fallback"] == "base_rate", j
print("served neural head ok")
PY
stop
echo "PASS"
