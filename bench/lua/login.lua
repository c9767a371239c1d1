-- POST a login (the URL's path: authsvc's or the peer's /auth/login/) as the seeded users in turn,
-- with the CSRF cookie and header.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local csrf = os.getenv("BENCH_CSRF")
local users = tonumber(os.getenv("BENCH_LOGIN_USERS"))
local password = os.getenv("BENCH_PASSWORD")

function init(args)
  i = math.random(users)
end

function request()
  i = i % users + 1
  return wrk.format("POST", wrk.path, {
    ["Cookie"] = "csrftoken=" .. csrf,
    ["X-CSRFToken"] = csrf,
    ["Content-Type"] = "application/json",
  }, string.format('{"email":"bench%d@example.com","password":"%s"}', i - 1, password))
end
