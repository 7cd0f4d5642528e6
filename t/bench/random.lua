-- wrk: each request for bindings drawn at random from BENCH_SAMPLE (a
-- file of "medium<TAB>address<TAB>lookup hash" lines, existing bindings
-- drawn by the bench), the kind by BENCH_RANDOM:
--   v1    GET <url's path>?medium=M&address=A (v1 lookup, and baseline B)
--   hash  GET <url's path>?hash=H (baseline B by lookup hash)
--   bulk  POST v1 bulk_lookup of BENCH_N threepids
--   v2    POST v2 lookup of BENCH_N sha256 hashes (with PEPPER and TOKEN)
-- Each thread draws its own sequence.
local kind = os.getenv("BENCH_RANDOM") or "v1"
local n = tonumber(os.getenv("BENCH_N") or "1")
local media, addrs, hashes = {}, {}, {}
local counter = 0

function setup(thread)
	counter = counter + 1
	thread:set("tid", counter)
end

local function urlencode(s)
	return (s:gsub("[^%w%-%._~]", function(c)
		return string.format("%%%02X", string.byte(c))
	end))
end

function init(args)
	for line in io.lines(os.getenv("BENCH_SAMPLE")) do
		local m, a, h = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)$")
		if m then
			media[#media + 1] = m
			addrs[#addrs + 1] = a
			hashes[#hashes + 1] = h
		end
	end
	math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
end

local headers = { ["Content-Type"] = "application/json" }
if os.getenv("TOKEN") then
	headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
end

function request()
	local path = wrk.path
	if kind == "v1" then
		local i = math.random(#addrs)
		return wrk.format("GET", path .. "?medium=" .. media[i] ..
		    "&address=" .. urlencode(addrs[i]))
	elseif kind == "hash" then
		return wrk.format("GET", path .. "?hash=" ..
		    hashes[math.random(#hashes)])
	end
	local parts = {}
	for j = 1, n do
		local i = math.random(#addrs)
		if kind == "bulk" then
			parts[j] = '["' .. media[i] .. '","' .. addrs[i] .. '"]'
		else
			parts[j] = '"' .. hashes[i] .. '"'
		end
	end
	local body
	if kind == "bulk" then
		body = '{"threepids":[' .. table.concat(parts, ",") .. ']}'
	else
		body = string.format('{"algorithm":"sha256","pepper":"%s",' ..
		    '"addresses":[%s]}', os.getenv("PEPPER"),
		    table.concat(parts, ","))
	end
	return wrk.format("POST", path, headers, body)
end

-- Paced as t/bench/paced.lua when BENCH_PACE_MS is set.
local pace = tonumber(os.getenv("BENCH_PACE_MS") or "")
if pace then
	function delay()
		return pace
	end
end
