-- wrk: v2 lookup of one sha256 hash (the bench exports HASH, PEPPER and
-- TOKEN in the environment).
local body = string.format(
    '{"algorithm":"sha256","pepper":"%s","addresses":["%s"]}',
    os.getenv("PEPPER"), os.getenv("HASH"))
wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
