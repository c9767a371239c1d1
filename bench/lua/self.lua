-- GET the profile (the URL's path: /auth/self/, or the peer's /auth/user/) with Bearer tokens
-- of many seeded sessions, round robin per thread.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local tokens, n

function init(args)
  tokens, n = load_tokens()
  i = math.random(n)
end

function request()
  i = i % n + 1
  return wrk.format("GET", wrk.path, {["Authorization"] = "Bearer " .. tokens[i]})
end
