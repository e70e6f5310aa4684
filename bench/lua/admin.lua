-- admin.lua: GET $BENCH_ADMIN_PATH (an admin list request: first page, a
-- search, a status filter, a deep cursor) with the seeded admin's token
-- ($BENCH_ADMIN_TOKEN, a file). The same request every time: what is
-- measured is the query's cost at its depth, not a rotation.
dofile((os.getenv("BENCH_LUA") or "bench/lua") .. "/common.lua")

local req

function init(args)
  local token = read_lines(os.getenv("BENCH_ADMIN_TOKEN"))[1]
  local path = os.getenv("BENCH_ADMIN_PATH")
  assert(path and path ~= "", "BENCH_ADMIN_PATH not set (see bench/run.sh)")
  req = wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
end

function request()
  return req
end

-- A few hundred answers a second at most: counting them is cheap, and a
-- refused cursor (400) must show in the report.
track_statuses()
