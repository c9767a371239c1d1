-- GET /auth/self/ with Bearer tokens of many seeded sessions, round robin per thread.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local tokens = {}
local n = 0

function init(args)
  for line in io.lines(os.getenv("BENCH_TOKENS")) do
    n = n + 1
    tokens[n] = line
  end
  i = math.random(n)
end

function request()
  i = i % n + 1
  return wrk.format("GET", "/auth/self/", {["Authorization"] = "Bearer " .. tokens[i]})
end
