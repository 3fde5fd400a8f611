-- POST only: every request a valid create with an apelido no other request uses (run tag,
-- wrk thread number and a per-thread counter; at most 32 characters). nome and stack follow
-- the payload file's valid bodies: nome 1-100 random letters and spaces (about 50 on
-- average), stack null (7%) or 1-26 elements from the same 24 technologies, so indexing
-- and memory costs match the tournament's.
--   BENCH_TAG=m1 wrk -t1 -c64 -d20s --latency -s ops/bench/post.lua http://127.0.0.1:9999

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local report = dofile(dir .. "report.lua")

local POOL_SIZE = 1024
local TECHNOLOGIES = { "C#", "HTML", "Perl", "PHP", "NoSQL", "Clojure", "Swift", "C", "Scala",
  "R", "Matlab", "SQL", "Javascript", "C++", "Kotlin", "TypeScript", "Go", "Python", "Ruby",
  "CSS", "Java", "MySQL", "Postgres", "Rust" }
local LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ "
local headers = { ["Content-Type"] = "application/json" }
local nomes, stacks = {}, {}
local counter = 0

local function random_nome()
  local chars = {}
  for i = 1, math.random(100) do
    local at = math.random(#LETTERS)
    chars[i] = LETTERS:sub(at, at)
  end
  return table.concat(chars)
end

local function random_stack()
  if math.random() < 0.07 then return "null" end
  local items = {}
  for i = 1, math.random(26) do
    items[i] = '"' .. TECHNOLOGIES[math.random(#TECHNOLOGIES)] .. '"'
  end
  return "[" .. table.concat(items, ", ") .. "]"
end

function setup(thread)
  report.register(thread)
end

-- Pools built once per thread, so request() only formats a string.
function init()
  math.randomseed(thread_number)
  for i = 1, POOL_SIZE do
    nomes[i] = random_nome()
    stacks[i] = random_stack()
  end
end

function request()
  counter = counter + 1
  local apelido = string.format("%s-%d-%d", run_tag, thread_number, counter)
  local body = string.format(
    '{"apelido": "%s", "nome": "%s", "nascimento": "19%02d-%02d-%02d", "stack": %s}',
    apelido, nomes[counter % POOL_SIZE + 1], counter % 100, counter % 12 + 1,
    counter % 28 + 1, stacks[(counter * 7) % POOL_SIZE + 1])
  return wrk.format("POST", "/pessoas", headers, body)
end

function response(status)
  report.count(status)
end

function done(summary, latency)
  report.done(summary, latency, "post")
end
