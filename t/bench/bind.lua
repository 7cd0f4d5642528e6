-- wrk: v1 bind over 1000 validated sessions the bench made (sid
-- bindbench<i>, client_secret cs), each binding again and again.
function request()
	local i = math.random(1, 1000)
	local body = string.format(
	    '{"sid":"bindbench%d","client_secret":"cs","mxid":"@b%d:example.org"}',
	    i, i)
	return wrk.format("POST", "/_matrix/identity/api/v1/3pid/bind",
	    { ["Content-Type"] = "application/json" }, body)
end
