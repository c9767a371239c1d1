-- A plain GET of the URL's path (floors, JWKS).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
