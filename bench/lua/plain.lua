-- The same request over and over (method, path and headers from the wrk command line).
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
