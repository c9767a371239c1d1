-- POST a refresh (the URL's path: /auth/refresh/, or the peer's /auth/token/refresh/): one
-- connection per thread, each following its own rotation chain
-- (the next request carries the refresh cookie the last response set).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local counter = 0
local csrf = os.getenv("BENCH_CSRF")

function setup(thread)
  thread:set("chain", counter)
  counter = counter + 1
end

function init(args)
  local wanted, k = chain, 0
  for line in io.lines(os.getenv("BENCH_REFRESH")) do
    if k == wanted then token = line break end
    k = k + 1
  end
end

function request()
  return wrk.format("POST", wrk.path, {
    ["Cookie"] = "csrftoken=" .. csrf .. "; refresh_token=" .. token,
    ["X-CSRFToken"] = csrf,
    ["Content-Type"] = "application/json",
  }, "{}")
end

function response(status, headers, body)
  local cookie = headers["Set-Cookie"] or ""
  local fresh = cookie:match("refresh_token=([^;]+)")
  if fresh and fresh ~= '""' then token = fresh end
end
