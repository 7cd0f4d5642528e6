-- wrk: v1 email requestToken, each request a new session and a new mail
-- (a fresh client_secret and address), so every request sends.
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
	    '{"client_secret":"b%d_%d","email":"bench%d_%d@example.org","send_attempt":1}',
	    id, n, id, n)
	return wrk.format("POST",
	    "/_matrix/identity/api/v1/validate/email/requestToken",
	    { ["Content-Type"] = "application/json" }, body)
end
