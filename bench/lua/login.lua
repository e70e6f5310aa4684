-- login.lua: POST /api/v1/auth/login (step one: password check, code mailed)
-- for the seeded users in turn ($BENCH_EMAILS), all with $BENCH_PASSWORD.
dofile((os.getenv("BENCH_LUA") or "bench/lua") .. "/common.lua")

local reqs, n, i

function init(args)
  local emails = read_lines(os.getenv("BENCH_EMAILS"))
  local password = os.getenv("BENCH_PASSWORD") or "correct horse battery"
  n = #emails
  reqs = {}
  for k, email in ipairs(emails) do
    reqs[k] = wrk.format("POST", "/api/v1/auth/login", { ["Content-Type"] = "application/json" },
      '{"email":"' .. email .. '","password":"' .. password .. '"}')
  end
  i = start_index(n)
  track_statuses()
end

function request()
  i = i % n + 1
  return reqs[i]
end
