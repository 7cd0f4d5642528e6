-- wrk: v1 email requestToken, each request a new session and a new mail
-- (a fresh client_secret and address), so every request sends.  A run
-- after another names its addresses with BENCH_PREFIX (default "b").
local prefix = os.getenv("BENCH_PREFIX") or "b"
local thread_id = 0
local threads = 0

function setup(thread)
	thread:set("id", threads)
	threads = threads + 1
end

function init(args)
	n = 0
end

function request()
	n = n + 1
	local body = string.format(
	    '{"client_secret":"%s%d_%d","email":"%s%d_%d@example.org","send_attempt":1}',
	    prefix, id, n, prefix, id, n)
	return wrk.format("POST",
	    "/_matrix/identity/api/v1/validate/email/requestToken",
	    { ["Content-Type"] = "application/json" }, body)
end
