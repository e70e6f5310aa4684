-- me.lua: GET /api/v1/users/me, each request with the next seeded user's
-- token ($BENCH_TOKENS, one per line), so the database sees many accounts.
dofile((os.getenv("BENCH_LUA") or "bench/lua") .. "/common.lua")

local reqs, n, i

function init(args)
  local tokens = read_lines(os.getenv("BENCH_TOKENS"))
  n = #tokens
  reqs = {}
  -- Formatted once: the load generator shares the cores with the server.
  for k, tok in ipairs(tokens) do
    reqs[k] = wrk.format("GET", "/api/v1/users/me", { ["Authorization"] = "Bearer " .. tok })
  end
  i = start_index(n)
end

function request()
  i = i % n + 1
  return reqs[i]
end
