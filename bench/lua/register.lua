-- register.lua: POST /api/v1/auth/register with a new email on every request
-- (run id + thread id + counter), so no request hits email_taken.
dofile((os.getenv("BENCH_LUA") or "bench/lua") .. "/common.lua")

local prefix, counter = nil, 0
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  prefix = "reg-" .. (os.getenv("BENCH_RUN_ID") or "0") .. "-" .. (tid or 0) .. "-"
  track_statuses()
end

function request()
  counter = counter + 1
  return wrk.format("POST", "/api/v1/auth/register", headers,
    '{"first_name":"Load","last_name":"Test","email":"' .. prefix .. counter ..
    '@example.com","password":"correct horse battery"}')
end
