-- wrk: v1 email submitToken with the right token, over 1000 sessions the
-- bench made (sid bench<i>, client_secret cs, token tok<i>).
function request()
	local i = math.random(1, 1000)
	local body = string.format(
	    '{"sid":"bench%d","client_secret":"cs","token":"tok%d"}', i, i)
	return wrk.format("POST",
	    "/_matrix/identity/api/v1/validate/email/submitToken",
	    { ["Content-Type"] = "application/json" }, body)
end
