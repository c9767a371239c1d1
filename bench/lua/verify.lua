-- POST /auth/verify/ (introspection) of many seeded sessions' access tokens, round robin per
-- thread, as a service client with the `introspect` scope (HTTP Basic) calls it.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local tokens, n
local headers = {
  ["Authorization"] = "Basic " .. os.getenv("BENCH_BASIC"),
  ["Content-Type"] = "application/json",
}

function init(args)
  tokens, n = load_tokens()
  i = math.random(n)
end

function request()
  i = i % n + 1
  return wrk.format("POST", "/auth/verify/", headers, '{"token":"' .. tokens[i] .. '"}')
end
