-- wrk: each connection waits BENCH_PACE_MS (default 5) after each answer
-- before its next request: the latency of a server at ordinary load,
-- rather than of one kept saturated.
local pace = tonumber(os.getenv("BENCH_PACE_MS") or "5")
function delay()
	return pace
end
