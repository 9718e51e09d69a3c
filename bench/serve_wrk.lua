-- wrk script for bench/serve.sh: rotating user ids (and items for POST /v1/events).
-- Env: SERVE_MODE=recs|events|predict (predict: POST /v1/predict for the purchase head),
--      SERVE_USERS=file of user ids (one a line),
--      SERVE_ITEMS=file of item ids, SERVE_TOKEN=bearer token, SERVE_K=k.
-- done() prints one line: "wrk_result requests=... rps=... p50_us=... p99_us=... p999_us=..."
local mode = os.getenv("SERVE_MODE") or "recs"
local k = os.getenv("SERVE_K") or "10"
local token = os.getenv("SERVE_TOKEN") or ""

local function lines(path)
  local t = {}
  if path then for l in io.lines(path) do if #l > 0 then t[#t + 1] = l end end end
  return t
end

local users, items = {}, {}
local counter = 0

function init(args)
  users = lines(os.getenv("SERVE_USERS"))
  items = lines(os.getenv("SERVE_ITEMS"))
  -- each wrk thread starts at a different offset, so that threads do not move in step
  counter = math.random(1, #users)
end

function request()
  counter = counter + 1
  local u = users[(counter % #users) + 1]
  if mode == "events" then
    local it = items[((counter * 7919) % #items) + 1]
    local body = '{"user":"' .. u .. '","item":"' .. it .. '","behavior":"view"}'
    return wrk.format("POST", "/v1/events",
      {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
  end
  if mode == "predict" then
    local body = '{"user":"' .. u .. '","tasks":["purchase"]}'
    return wrk.format("POST", "/v1/predict", {["Content-Type"] = "application/json"}, body)
  end
  return wrk.format("GET", "/v1/users/" .. u .. "/recommendations?k=" .. k)
end

function done(summary, latency, requests)
  local s = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "wrk_result requests=%d seconds=%.2f rps=%.1f p50_us=%d p99_us=%d p999_us=%d max_us=%d non2xx=%d sock_errors=%d\n",
    summary.requests, s, summary.requests / s, latency:percentile(50), latency:percentile(99),
    latency:percentile(99.9), latency.max, e.status, e.connect + e.read + e.write + e.timeout))
end
