-- Shared by every bench script: print wrk's summary as one JSON line the runner parses.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end

-- The seeded sessions' access tokens (BENCH_TOKENS, one a line) and how many there are.
function load_tokens()
  local tokens, n = {}, 0
  for line in io.lines(os.getenv("BENCH_TOKENS")) do
    n = n + 1
    tokens[n] = line
  end
  return tokens, n
end
