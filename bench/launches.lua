-- wrk script: first launches of the devices `touchpoint bench seed` made
-- touches for, one device per request, from BENCH_OFFSET on (each round of
-- bench/launches.sh starts at a new offset, so every launch is a first
-- one). Device i has the GAID BenchGAID(i) of cmd/touchpoint/bench.go.
-- Usage: BENCH_KEY=<dev key> BENCH_OFFSET=0 wrk -t1 -c64 -d20s -s bench/launches.lua http://127.0.0.1:8080
local key = os.getenv("BENCH_KEY") or ""
local offset = tonumber(os.getenv("BENCH_OFFSET") or "0")
local n = 0

wrk.method = "POST"
wrk.path = "/sdk/v1/apps/com.bench.game/launches"
wrk.headers["Authorization"] = "Bearer " .. key
wrk.headers["Content-Type"] = "application/json"

request = function()
  local i = offset + n
  n = n + 1
  local body = string.format('{"advertising_id":"%08x-0000-4000-8000-%012d","launch_id":"bench-%d",' ..
    '"device_model":"Pixel 8","os_version":"14","app_version":"1.0.0","sdk_version":"1.0","language":"en-US"}', i, i, i)
  return wrk.format(nil, nil, nil, body)
end
