-- POST /api/v1/auth/refresh, each request with a refresh token never used before.
--   wrk ... -s refresh.lua URL -- TOKEN_FILE THREADS
-- Refresh tokens rotate: a used one presented again (after the grace window) ends its session,
-- so every request takes the next unused token. bench/run writes TOKEN_FILE with one token of
-- a pre-loaded session per line; thread i of THREADS takes lines i+1, i+1+THREADS, ...
-- Running out wraps around: the replays then answer 401 and show up as non-2xx.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  local nthreads = tonumber(args[2])
  tokens = {}
  local i = 0
  for line in io.lines(args[1]) do
    if i % nthreads == id then
      tokens[#tokens + 1] = line
    end
    i = i + 1
  end
  cursor = 0
  headers = { ["Content-Type"] = "application/json" }
end

function request()
  cursor = cursor % #tokens + 1
  return wrk.format("POST", nil, headers, '{"refresh_token":"' .. tokens[cursor] .. '"}')
end
