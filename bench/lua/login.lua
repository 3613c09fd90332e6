-- POST /api/v1/auth/login with correct passwords, a different user each time.
--   wrk ... -s login.lua URL -- PASSWORD DEALERSHIPS FIRST_USER USERS THREADS
-- The users are bench/run's loaded ones, u<n>@d<d>.bench.example: request k of thread i
-- signs in user FIRST_USER + (j // DEALERSHIPS) % USERS of dealership j % DEALERSHIPS, where
-- j = i + k * THREADS. Only failures count toward the lockout, and none fail.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  password = args[1]
  dealerships = tonumber(args[2])
  first_user = tonumber(args[3])
  users = tonumber(args[4])
  nthreads = tonumber(args[5])
  j = id
  headers = { ["Content-Type"] = "application/json" }
end

function request()
  local d = j % dealerships
  local n = first_user + math.floor(j / dealerships) % users
  j = j + nthreads
  local body = string.format('{"email":"u%d@d%d.bench.example","password":"%s"}', n, d, password)
  return wrk.format("POST", nil, headers, body)
end
