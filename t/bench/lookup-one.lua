-- wrk: v2 lookup of one sha256 hash (the bench exports HASH, PEPPER and
-- TOKEN in the environment).
local body = string.format(
    '{"algorithm":"sha256","pepper":"%s","addresses":["%s"]}',
    os.getenv("PEPPER"), os.getenv("HASH"))
wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
-- Paced as t/bench/paced.lua when BENCH_PACE_MS is set.
local pace = tonumber(os.getenv("BENCH_PACE_MS") or "")
if pace then
	function delay()
		return pace
	end
end
