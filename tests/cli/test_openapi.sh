#!/usr/bin/env bash
# docs/openapi.yaml stays true to the server: every route of src/serve/routes.c is in the
# spec and every path+method of the spec is served (405 lists exactly the spec's methods);
# the error codes in src/serve/*.c equal the spec's Error.code enum; the limits in
# sq_serve_limits_default equal the spec's; a live response of every operation (200s and
# the documented errors) validates against its schema, with a status the spec lists.
set -euo pipefail
BIN=${SQ_BIN:?}
SRC=${SQ_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
python3 -c "import yaml" 2>/dev/null || { echo "SKIP: python3-yaml not installed (scripts/install-deps.sh --test)"; exit 0; }
. "$(dirname "$0")/serve_lib.sh" openapi_cli
fail() { echo "FAIL: $*"; [ -f "$T/srv.log" ] && tail -20 "$T/srv.log"; exit 1; }

"$BIN" synth --users 200 --items 300 --days 15 --out "$T/s.csv" >/dev/null 2>&1 || fail "synth"
"$BIN" ingest "$T/s.csv" --out "$T/s.sqd" >/dev/null 2>&1 || fail "ingest"
"$BIN" train "$T/s.sqd" --model sasrec --epochs 1 --dim 16 --heads 1 --maxlen 20 --batch 32 \
  --out "$T/m.safetensors" >/dev/null 2>&1 || fail "train"
# two task heads; churn stays without one (its 501 is checked)
for task in purchase next-behavior; do
  "$BIN" predict "$T/s.sqd" --task $task --out "$T/$task.csv" --save-model "$T/$task.safetensors" \
    >/dev/null 2>&1 || fail "predict $task"
done
echo "openapi-token" > "$T/token"
"$BIN" serve "$T/m.safetensors" --data "$T/s.sqd" --state "$T/state" --port 0 \
  --port-file "$T/port" --token-file "$T/token" --max-body 65536 \
  --predict-model "$T/purchase.safetensors" --predict-model "$T/next-behavior.safetensors" \
  2>>"$T/srv.log" &
PID=$!
serve_wait_port || fail "server did not start"
KNOWN_USER=$(sed -n 2p "$T/s.csv" | cut -d, -f1)
KNOWN_ITEM=$(sed -n 2p "$T/s.csv" | cut -d, -f2)

python3 - "$SRC" "http://127.0.0.1:$(cat "$T/port")" "openapi-token" "$KNOWN_USER" "$KNOWN_ITEM" <<'PY' || fail "openapi"
import json, re, sys, urllib.error, urllib.request
import yaml

src, base, token, known_user, known_item = sys.argv[1:6]
spec = yaml.safe_load(open(f"{src}/docs/openapi.yaml"))
assert spec["openapi"].startswith("3.0"), spec["openapi"]
routes_c = open(f"{src}/src/serve/routes.c").read()
problems = []

# ---- 1. routes: routes.c <-> spec ----
served = set()
for path, route, post in re.findall(r'\{"(/[a-z0-9/]+)", (SQ__R_[A-Z]+), ([01])\}', routes_c):
    served.add((path, "post" if post == "1" else "get"))
for sub, route in re.findall(r'\{"(/[a-z]+)", (SQ__R_[A-Z]+)\}', routes_c):
    served.add(("/v1/users/{id}" + sub, "get"))
assert len(served) >= 8, f"could not read the route table of routes.c: {served}"
documented = {(p, m) for p, ops in spec["paths"].items() for m in ops if m in
              ("get", "put", "post", "delete", "patch", "head", "options")}
for r in sorted(served - documented): problems.append(f"served but not in the spec: {r}")
for r in sorted(documented - served): problems.append(f"in the spec but not in routes.c: {r}")

# ---- 2. error codes and limits: source <-> spec ----
def split_args(s):
    out, depth, cur, q = [], 0, "", False
    i = 0
    while i < len(s):
        c = s[i]
        if q:
            cur += c
            if c == "\\": cur += s[i + 1]; i += 1
            elif c == '"': q = False
        elif c == '"': q = True; cur += c
        elif c in "([{": depth += 1; cur += c
        elif c in ")]}": depth -= 1; cur += c
        elif c == "," and depth == 0: out.append(cur); cur = ""
        else: cur += c
        i += 1
    return out + [cur]

codes = set()
for f in ("routes.c", "parse.c", "http.c", "store.c", "engine.c", "metrics.c"):
    text = open(f"{src}/src/serve/{f}").read()
    for fn, pos in (("sq__error_response", 2), ("send_error", 3), ("fail", 2)):
        for m in re.finditer(r"\b" + fn + r"\(", text):
            if text[max(0, m.start() - 30):m.start()].rstrip().endswith(("static sq_status", "enum MHD_Result", "void")):
                continue  # the definition
            depth, j = 1, m.end()
            while depth:
                depth += {"(": 1, ")": -1}.get(text[j], 0); j += 1
            args = split_args(text[m.end():j - 1])
            if len(args) > pos:
                codes |= set(re.findall(r'"([a-z_]+)"', args[pos]))
    codes |= set(re.findall(r'\*code = "([a-z_]+)"', text))
enum = set(spec["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"])
for c in sorted(codes - enum): problems.append(f"error code '{c}' is produced but not in Error.code")
for c in sorted(enum - codes): problems.append(f"error code '{c}' is in Error.code but never produced")

parse_c = open(f"{src}/src/serve/parse.c").read()
lim = {k: int(v) for k, v in re.findall(r"l->(max_\w+) = (\d+);", parse_c)}
m = re.search(r"l->max_body = 1u << (\d+);", parse_c)
lim["max_body"] = 1 << int(m.group(1))
S = spec["components"]["schemas"]
P = spec["paths"]
def query_param(path, name):
    return next(p for p in P[path]["get"]["parameters"] if p.get("name") == name)["schema"]
checks = [
    ("max_events", P["/v1/events"]["post"]["requestBody"]["content"]["application/json"]["schema"]["oneOf"][1]["maxItems"]),
    ("max_id_len", S["Id"]["oneOf"][0]["maxLength"]),
    ("max_id_len", spec["components"]["parameters"]["UserId"]["schema"]["maxLength"]),
    ("max_fields", S["Event"]["maxProperties"]),
    ("max_k", query_param("/v1/users/{id}/recommendations", "k")["maximum"]),
    ("max_k", P["/v1/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]["k"]["maximum"]),
    ("max_explain", query_param("/v1/users/{id}/explain", "n")["maximum"]),
]
for name, got in checks:
    if lim[name] != got: problems.append(f"limit {name}: parse.c {lim[name]}, spec {got}")
beh_h = open(f"{src}/include/shopseq/behavior.h").read()
behaviors = re.findall(r'X\(SQ_BEHAVIOR_\w+, \d+, "(\w+)"\)', beh_h)
if behaviors != S["Event"]["properties"]["behavior"]["enum"]:
    problems.append(f"behavior enum {S['Event']['properties']['behavior']['enum']} != behavior.h {behaviors}")

# ---- 3. a small validator for the subset of OpenAPI 3.0 schemas used here ----
def resolve(s):
    while "$ref" in s:
        node = spec
        for part in s["$ref"][2:].split("/"): node = node[part]
        s = node
    return s

def validate(v, s, where):
    s = resolve(s)
    if v is None:
        if not s.get("nullable"): raise AssertionError(f"{where}: null but not nullable")
        return
    if "oneOf" in s:
        ok = 0
        for alt in s["oneOf"]:
            try: validate(v, alt, where); ok += 1
            except AssertionError: pass
        if ok != 1: raise AssertionError(f"{where}: {v!r} matches {ok} of oneOf")
        return
    t = s.get("type")
    types = {"object": dict, "array": list, "string": str, "boolean": bool}
    if t == "integer":
        if not (isinstance(v, int) and not isinstance(v, bool)): raise AssertionError(f"{where}: {v!r} not an integer")
    elif t == "number":
        if not (isinstance(v, (int, float)) and not isinstance(v, bool)): raise AssertionError(f"{where}: {v!r} not a number")
    elif t in types and not isinstance(v, types[t]):
        raise AssertionError(f"{where}: {v!r} not {t}")
    if "enum" in s and v not in s["enum"]: raise AssertionError(f"{where}: {v!r} not in {s['enum']}")
    if "minimum" in s and v < s["minimum"]: raise AssertionError(f"{where}: {v!r} < {s['minimum']}")
    if "maximum" in s and v > s["maximum"]: raise AssertionError(f"{where}: {v!r} > {s['maximum']}")
    if t == "object":
        for r in s.get("required", []):
            if r not in v: raise AssertionError(f"{where}: required field '{r}' missing")
        for k, sub in s.get("properties", {}).items():
            if k in v: validate(v[k], sub, f"{where}.{k}")
        if s.get("additionalProperties") is False:
            extra = set(v) - set(s.get("properties", {}))
            if extra: raise AssertionError(f"{where}: fields not in the schema: {extra}")
    if t == "array":
        for i, x in enumerate(v): validate(x, s.get("items", {}), f"{where}[{i}]")

def call(method, path, body=None, auth=False, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    rq = urllib.request.Request(base + path, data=data, method=method)
    if data is not None: rq.add_header("Content-Type", "application/json")
    if auth: rq.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(rq, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()

def op_of(path_tmpl, method):
    return spec["paths"][path_tmpl][method]

seen_ok = set()
def check(method, path_tmpl, path, want, body=None, auth=False, raw=None):
    status, headers, payload = call(method.upper(), path, body, auth, raw)
    where = f"{method.upper()} {path}"
    if status != want:
        problems.append(f"{where}: status {status}, expected {want}: {payload[:200]!r}"); return
    op = op_of(path_tmpl, method)
    resp = op["responses"].get(str(status))
    if resp is None:
        problems.append(f"{where}: status {status} is not listed in the spec"); return
    resp = resolve(resp)
    ctype = headers.get("Content-Type", "").split(";")[0]
    content = resp.get("content", {})
    if ctype not in content:
        problems.append(f"{where}: Content-Type {ctype} not in the spec's {list(content)}"); return
    if ctype == "application/json":
        try:
            validate(json.loads(payload), content[ctype]["schema"], where)
        except AssertionError as e:
            problems.append(str(e)); return
    if status == 200: seen_ok.add((path_tmpl, method))

# every route the spec documents is served: not 404, and a wrong method gets 405 + Allow
for path_tmpl, ops in spec["paths"].items():
    path = path_tmpl.replace("{id}", "probe-user")
    methods = {m.upper() for m in ops if m != "parameters"}
    other = "DELETE"
    status, headers, _ = call(other, path)
    if status != 405:
        problems.append(f"{other} {path}: {status}, expected 405 (route missing?)")
    else:
        allow = {a.strip() for a in headers.get("Allow", "").split(",") if a.strip()} - {"HEAD"}
        if allow != methods: problems.append(f"{path}: Allow {allow}, spec {methods}")
status, _, payload = call("GET", "/v1/not-a-route")
if status != 404 or json.loads(payload)["error"]["code"] != "not_found":
    problems.append(f"unknown route: {status} {payload!r}")

R, E, H = "/v1/users/{id}/recommendations", "/v1/users/{id}/explain", "/v1/users/{id}/history"
u = known_user
check("post", "/v1/events", "/v1/events", 200,
      [{"user": "oa", "item": known_item, "behavior": "cart", "time": "2024-01-02T10:00:00Z"},
       {"user": "oa", "item": "not-in-catalogue", "category": 3, "price": 9.5, "session": "s1"}], auth=True)
check("post", "/v1/events", "/v1/events", 200, {"user": 7, "item": int(known_item) if known_item.isdigit() else known_item, "time": 1704067200}, auth=True)
check("post", "/v1/events", "/v1/events", 401, {"user": "a", "item": "b"})
check("post", "/v1/events", "/v1/events", 400, raw=b"{not json", auth=True)
check("post", "/v1/events", "/v1/events", 400, {"user": "a", "item": "b", "behavior": "peek"}, auth=True)
check("post", "/v1/events", "/v1/events", 413, raw=b"[" + b" " * 70000 + b"]", auth=True)
check("get", R, f"/v1/users/{u}/recommendations?k=5&exclude_seen=false", 200)
check("get", R, "/v1/users/oa/recommendations", 200)
check("get", R, "/v1/users/never-seen-user/recommendations?k=3", 200)
check("get", R, f"/v1/users/{u}/recommendations?k=0", 400)
check("get", R, "/v1/users/%FF%FE/recommendations", 400)
check("post", "/v1/predict", "/v1/predict", 200, {"user": u, "tasks": ["next_item"], "k": 3})
check("post", "/v1/predict", "/v1/predict", 200, {"user": "never-seen-user"})
check("post", "/v1/predict", "/v1/predict", 200, {"user": u, "tasks": ["purchase", "next_behavior"]})
check("post", "/v1/predict", "/v1/predict", 200, {"user": "oa", "tasks": ["purchase"], "time": "2024-01-03T00:00:00Z"})
check("post", "/v1/predict", "/v1/predict", 400, {"user": u, "tasks": ["purchase"], "time": [1]})
check("post", "/v1/predict", "/v1/predict", 400, {"tasks": ["next_item"]})
check("post", "/v1/predict", "/v1/predict", 501, {"user": u, "tasks": ["churn"]})
check("get", E, f"/v1/users/{u}/explain?n=3", 200)
check("get", E, "/v1/users/never-seen-user/explain", 404)
check("get", E, f"/v1/users/{u}/explain?n=0", 400)
check("get", H, "/v1/users/oa/history", 200)
check("get", H, "/v1/users/never-seen-user/history", 200)
check("get", "/healthz", "/healthz", 200)
check("get", "/metrics", "/metrics", 200)
check("post", "/v1/admin/reload", "/v1/admin/reload", 401)
check("post", "/v1/admin/reload", "/v1/admin/reload", 200, auth=True)
missing_ok = documented - seen_ok
for r in sorted(missing_ok): problems.append(f"no 200 response checked for {r}")

if problems:
    print("\n".join(problems))
    sys.exit(1)
print(f"openapi: {len(documented)} operations, {len(enum)} error codes, limits and live responses agree")
PY
kill -TERM "$PID"; wait "$PID" || fail "SIGTERM exit code $?"; PID=""
echo "test_openapi: ok"
