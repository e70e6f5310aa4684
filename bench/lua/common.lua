-- common.lua: helpers shared by the workload scripts, loaded with dofile.
-- Each wrk thread runs its own Lua state; setup() numbers the threads so they
-- start at different places in the rotation, and done() (main state) writes
-- one JSON summary to $BENCH_OUT (stdout when unset) for bench/report.

local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

-- read_lines returns the non-empty lines of a file, failing loudly.
function read_lines(path)
  assert(path and path ~= "", "file path not set (see bench/run.sh)")
  local f = assert(io.open(path, "r"), "cannot open " .. path)
  local out = {}
  for line in f:lines() do
    if line ~= "" then out[#out + 1] = line end
  end
  f:close()
  assert(#out > 0, path .. " is empty")
  return out
end

function read_file(path)
  assert(path and path ~= "", "file path not set (see bench/run.sh)")
  local f = assert(io.open(path, "rb"), "cannot open " .. path)
  local data = f:read("*a")
  f:close()
  return data
end

-- start_index spreads the threads over a rotation of n items.
function start_index(n)
  return ((tid or 0) * 4999) % n
end

-- Status counting costs a Lua call per response, so only the slow workloads
-- (login, register, avatar) turn it on with track_statuses().
statuses = {}
sample = nil

function track_statuses()
  function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
    if status >= 300 and sample == nil then
      sample = status .. " " .. string.sub(body or "", 1, 300)
    end
  end
end

local function json_string(s)
  s = string.gsub(s, '[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == "\\" then return "\\\\" end
    return string.format("\\u%04x", string.byte(c))
  end)
  return '"' .. s .. '"'
end

function done(summary, latency, requests)
  local e = summary.errors
  local codes, first = {}, nil
  for _, t in ipairs(threads) do
    local st = t:get("statuses")
    if type(st) == "table" then
      for code, n in pairs(st) do codes[code] = (codes[code] or 0) + n end
    end
    first = first or t:get("sample")
  end
  local parts = {}
  for code, n in pairs(codes) do parts[#parts + 1] = string.format('"%d":%d', code, n) end
  local secs = summary.duration / 1e6
  local out = string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"rps":%.2f,' ..
    '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d},' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"statuses":{%s},"sample":%s}',
    summary.requests, summary.duration, summary.bytes, summary.requests / secs,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout,
    table.concat(parts, ","), first and json_string(first) or "null")
  local path = os.getenv("BENCH_OUT")
  if path and path ~= "" then
    local f = assert(io.open(path, "w"))
    f:write(out, "\n")
    f:close()
  else
    io.write(out, "\n")
  end
end
