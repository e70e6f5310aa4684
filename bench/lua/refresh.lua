-- refresh.lua: POST /api/v1/auth/token/refresh with the seeded sessions'
-- refresh tokens ($BENCH_REFRESH, one per line). Each answer's new refresh
-- token goes back into the thread's queue, so every request presents the
-- current token of its session (never a reused one). Threads take disjoint
-- slices of the file ($BENCH_THREADS of them).
dofile((os.getenv("BENCH_LUA") or "bench/lua") .. "/common.lua")

local queue, head, tail, path
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  local tokens = read_lines(os.getenv(os.getenv("BENCH_REFRESH_VAR") or "BENCH_REFRESH"))
  local threads = tonumber(os.getenv("BENCH_THREADS") or "1")
  path = os.getenv("BENCH_REFRESH_PATH") or "/api/v1/auth/token/refresh"
  queue, head, tail = {}, 1, 0
  for k, tok in ipairs(tokens) do
    if (k - 1) % threads == (tid or 0) then
      tail = tail + 1
      queue[tail] = tok
    end
  end
  assert(tail > 0, "no refresh tokens for this thread")
end

function request()
  if head > tail then
    -- Every token of the thread is in flight or was refused: the run is
    -- over-subscribed; fail loudly rather than reuse a token.
    error("refresh.lua: no token left in the queue (more connections than tokens, or refusals)")
  end
  local tok = queue[head]
  queue[head] = nil
  head = head + 1
  return wrk.format("POST", path, headers, '{"refresh_token":"' .. tok .. '"}')
end

function response(status, hdrs, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 200 then
    local tok = string.match(body, '"refresh_token":"([^"]+)"')
    if tok then
      tail = tail + 1
      queue[tail] = tok
      return
    end
  end
  if sample == nil then
    sample = status .. " " .. string.sub(body or "", 1, 300)
  end
end
