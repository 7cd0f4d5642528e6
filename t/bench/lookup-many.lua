-- wrk: v2 lookup of 10,000 sha256 hashes in one request, read from the
-- file HASHES (one a line).
local parts = {}
for line in io.lines(os.getenv("HASHES")) do
	parts[#parts + 1] = '"' .. line .. '"'
end
wrk.method = "POST"
wrk.body = string.format('{"algorithm":"sha256","pepper":"%s","addresses":[%s]}',
    os.getenv("PEPPER"), table.concat(parts, ","))
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
