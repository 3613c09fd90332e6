-- POST a form body never sent before on every request (bench/oidc: the token endpoint's
-- authorization codes and refresh tokens are single-use).
--   wrk ... -s form.lua URL -- BODY_FILE THREADS [AUTHORIZATION]
-- BODY_FILE holds one application/x-www-form-urlencoded body per line; thread i of THREADS
-- takes lines i+1, i+1+THREADS, ... AUTHORIZATION, if given, is sent as the Authorization
-- header (a client's `Basic …`). Running out wraps around: the replays are refused
-- (invalid_grant) and show up as non-2xx.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  local nthreads = tonumber(args[2])
  bodies = {}
  local i = 0
  for line in io.lines(args[1]) do
    if i % nthreads == id then
      bodies[#bodies + 1] = line
    end
    i = i + 1
  end
  cursor = 0
  headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  if args[3] and args[3] ~= "" then
    headers["Authorization"] = args[3]
  end
end

function request()
  cursor = cursor % #bodies + 1
  return wrk.format("POST", nil, headers, bodies[cursor])
end
