-- POST /api/v1/auth/switch as many different people, each between their two memberships.
--   wrk ... -s switch.lua URL -- PAIRS_FILE THREADS
-- bench/run writes PAIRS_FILE with one "<access token> <dealership id>" line per person and
-- direction: a token of one membership and the dealership of the other. Thread i of THREADS
-- takes lines i+1, i+1+THREADS, ...; a switch spends nothing (each answers a new family), so
-- the lines go round.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  local nthreads = tonumber(args[2])
  requests = {}
  local i = 0
  for line in io.lines(args[1]) do
    if i % nthreads == id then
      local token, dealership = line:match("^(%S+) (%S+)$")
      requests[#requests + 1] = wrk.format("POST", nil, {
        ["Content-Type"] = "application/json",
        ["Authorization"] = "Bearer " .. token,
      }, '{"dealership_id":"' .. dealership .. '"}')
    end
    i = i + 1
  end
  cursor = 0
end

function request()
  cursor = cursor % #requests + 1
  return requests[cursor]
end
