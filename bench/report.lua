-- wrk script for bench.run: at the end of a run, write its figures as one JSON object to
-- the file named by BENCH_WRK_OUT (latencies in microseconds, duration in microseconds).
local out = os.getenv("BENCH_WRK_OUT")

done = function(summary, latency, requests)
  if not out then return end
  local e = summary.errors
  local f = assert(io.open(out, "w"))
  f:write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"min": %d, "mean": %.1f, "max": %d, ' ..
    '"p50": %d, "p90": %d, "p95": %d, "p99": %d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99)))
  f:close()
end
