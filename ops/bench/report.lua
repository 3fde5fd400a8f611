-- Shared by post.lua and mixed.lua (loaded with dofile): per-thread status counting and one
-- machine-readable summary line, which http.sh parses.
--
--   RESULT scenario=... requests=... rps=... p50_us=... p90_us=... p99_us=... max_us=...
--          errors=... status_5xx=...   (one line)
--   STATUS 201=... 400=... ...        (every status seen, all threads together)

local report = {}
local threads = {}

-- Main thread: number each wrk thread (1, 2, ...) so bodies can be made unique per thread.
function report.register(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
  thread:set("run_tag", os.getenv("BENCH_TAG") or "r")
end

-- Worker threads: counts live in a global table so the main thread can read them back.
status_counts = {}
function report.count(status)
  status_counts[status] = (status_counts[status] or 0) + 1
end

local function merged_counts(name)
  local total = {}
  for _, thread in ipairs(threads) do
    for key, count in pairs(thread:get(name) or {}) do
      total[key] = (total[key] or 0) + count
    end
  end
  return total
end

local function sorted_pairs_line(prefix, counts)
  local keys = {}
  for key in pairs(counts) do table.insert(keys, key) end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local parts = { prefix }
  for _, key in ipairs(keys) do
    table.insert(parts, string.format("%s=%d", tostring(key), counts[key]))
  end
  return table.concat(parts, " ")
end

function report.done(summary, latency, scenario)
  local statuses = merged_counts("status_counts")
  local server_errors = 0
  for status, count in pairs(statuses) do
    if status >= 500 then server_errors = server_errors + count end
  end
  local errors = summary.errors
  local socket_errors = errors.connect + errors.read + errors.write + errors.timeout
  local seconds = summary.duration / 1e6
  print(string.format(
    "RESULT scenario=%s requests=%d seconds=%.1f rps=%.0f p50_us=%d p90_us=%d p99_us=%d"
      .. " max_us=%d errors=%d timeouts=%d status_5xx=%d",
    scenario, summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    socket_errors, errors.timeout, server_errors))
  print(sorted_pairs_line("STATUS", statuses))
  local kinds = merged_counts("issued_counts")
  if next(kinds) then print(sorted_pairs_line("ISSUED", kinds)) end
end

return report
