-- Rinha-shaped traffic: ~50% creates from the tournament's payload file (its own mix of
-- valid, 400, 422 and duplicate bodies), ~35% GET of a bard this thread created (Location
-- of a 201), 10% searches with the tournament terms, ~4% searches without t (400), ~1% counts.
--   BENCH_TAG=m1 wrk -t1 -c64 -d20s --latency -s ops/bench/mixed.lua http://127.0.0.1:9999
-- Environment: RINHA_DATA_DIR (default /work/shared/rinha-2023-q3).

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local report = dofile(dir .. "report.lua")

local data_dir = os.getenv("RINHA_DATA_DIR") or "/work/shared/rinha-2023-q3"
-- The part of the payload file a full tournament run consumes.
local PAYLOAD_LINES = 54640
local MAX_APELIDO_CHARS = 32
local KEPT_LOCATIONS = 50000

local headers = { ["Content-Type"] = "application/json" }
local apelidos, rests, terms = {}, {}, {}
local locations, location_count = {}, 0
local next_line, round = 1, 0
local next_term = 1
issued_counts = {}

local function read_lines(file, limit)
  local lines = {}
  local handle = assert(io.open(data_dir .. "/" .. file, "r"))
  handle:read("*l") -- header
  for line in handle:lines() do
    if #lines >= limit then break end
    if #line > 0 then table.insert(lines, line) end
  end
  handle:close()
  return lines
end

function setup(thread)
  report.register(thread)
end

-- Splits each body at its apelido (always the first field, a string, in this file) so the
-- apelido can be made unique per run, thread and pass while keeping its length class.
function init()
  for _, line in ipairs(read_lines("pessoas-payloads.tsv", PAYLOAD_LINES)) do
    local apelido, rest = line:match('^{"apelido": "([^"]*)"(.*)$')
    if apelido then
      table.insert(apelidos, apelido)
      table.insert(rests, rest)
    end
  end
  for _, term in ipairs(read_lines("termos-busca.tsv", math.huge)) do
    -- Letters and spaces only; the file may already carry + or %20 for spaces.
    table.insert(terms, (term:gsub("%+", "%%20"):gsub(" ", "%%20")))
  end
  math.randomseed(thread_number)
  -- Threads start at different lines, like users at different points of one feeder.
  next_line = ((thread_number - 1) * 7919) % #apelidos + 1
end

-- Appends "_<tag><thread>.<pass>": equal apelidos in the file stay equal (duplicates), a
-- valid one stays within 32 characters (its tail is replaced if needed), a too-long one stays
-- too long.
local function unique_apelido(apelido)
  local suffix = string.format("_%s%d.%d", run_tag, thread_number, round)
  if #apelido + #suffix <= MAX_APELIDO_CHARS or #apelido > MAX_APELIDO_CHARS then
    return apelido .. suffix
  end
  return apelido:sub(1, MAX_APELIDO_CHARS - #suffix) .. suffix
end

local function create()
  local line = next_line
  next_line = next_line + 1
  if next_line > #apelidos then next_line, round = 1, round + 1 end
  local body = '{"apelido": "' .. unique_apelido(apelidos[line]) .. '"' .. rests[line]
  return "post", wrk.format("POST", "/pessoas", headers, body)
end

local function search()
  local term = terms[next_term]
  next_term = next_term % #terms + 1
  return "search", wrk.format("GET", "/pessoas?t=" .. term)
end

local function pick()
  local roll = math.random()
  if roll < 0.50 then return create() end
  if roll < 0.85 then
    if location_count == 0 then return create() end
    return "get", wrk.format("GET", locations[math.random(math.min(location_count, KEPT_LOCATIONS))])
  end
  if roll < 0.95 then return search() end
  if roll < 0.99 then return "search_without_t", wrk.format("GET", "/pessoas") end
  return "count", wrk.format("GET", "/contagem-pessoas")
end

function request()
  local kind, request_text = pick()
  issued_counts[kind] = (issued_counts[kind] or 0) + 1
  return request_text
end

function response(status, response_headers)
  report.count(status)
  if status == 201 then
    local location = response_headers["location"] or response_headers["Location"]
    if location then
      -- A ring of recent creations: GETs hit bards this thread saw created.
      location_count = location_count + 1
      locations[(location_count - 1) % KEPT_LOCATIONS + 1] = location
    end
  end
end

function done(summary, latency)
  report.done(summary, latency, "mixed")
end
