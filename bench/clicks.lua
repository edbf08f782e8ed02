-- wrk script: a click link with ~10 parameters, with a different device id
-- and click id on every request, so the lookup index sees random keys as it
-- would in production. The ids are made once at start-up, so the script
-- costs wrk little per request.
-- Usage: wrk -t1 -c64 -d30s -s bench/clicks.lua http://127.0.0.1:8080
local app = os.getenv("BENCH_APP") or "com.example.game"
local pool = {}
local n = 0

local function hex(k)
  local t = {}
  for i = 1, k do t[i] = string.format("%x", math.random(0, 15)) end
  return table.concat(t)
end

init = function(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
  for i = 1, 50000 do
    local gaid = hex(8) .. "-" .. hex(4) .. "-" .. hex(4) .. "-" .. hex(4) .. "-" .. hex(12)
    pool[i] = "/c/" .. app .. "?pid=examplenet_int&c=summer_sale&af_siteid=site" .. (i % 500) ..
      "&advertising_id=" .. gaid .. "&af_adset=adset" .. (i % 20) .. "&af_ad=ad" .. (i % 100) ..
      "&af_cost_model=CPI&af_cost_value=1.25&af_cost_currency=USD&is_incentivized=false&clickid=" .. hex(12)
  end
end

request = function()
  n = n + 1
  return wrk.format("GET", pool[(n % 50000) + 1] .. n)
end
