-- avatar.lua: PUT /api/v1/users/me/avatar, multipart field "avatar" holding
-- $BENCH_JPEG, each request as the next seeded user ($BENCH_TOKENS).
dofile((os.getenv("BENCH_LUA") or "bench/lua") .. "/common.lua")

local tokens, n, i, body
local boundary = "----accountsbench7d1f0a"

function init(args)
  tokens = read_lines(os.getenv("BENCH_TOKENS"))
  n = #tokens
  body = "--" .. boundary .. "\r\n" ..
    'Content-Disposition: form-data; name="avatar"; filename="avatar.jpg"\r\n' ..
    "Content-Type: image/jpeg\r\n\r\n" ..
    read_file(os.getenv("BENCH_JPEG")) .. "\r\n" ..
    "--" .. boundary .. "--\r\n"
  i = start_index(n)
  track_statuses()
end

function request()
  i = i % n + 1
  return wrk.format("PUT", "/api/v1/users/me/avatar", {
    ["Authorization"] = "Bearer " .. tokens[i],
    ["Content-Type"] = "multipart/form-data; boundary=" .. boundary,
  }, body)
end
