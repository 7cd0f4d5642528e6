-- wrk: v1 store-invite, each request a new address (so none is bound)
-- and a mail to the local SMTP sink.
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
	    '{"medium":"email","address":"inv%d_%d@example.org",' ..
	    '"room_id":"!bench:example.org","sender":"@bench%d_%d:example.org",' ..
	    '"room_name":"Bench","sender_display_name":"Bench"}',
	    id, n, id, n)
	return wrk.format("POST", "/_matrix/identity/api/v1/store-invite",
	    { ["Content-Type"] = "application/json" }, body)
end
