-- SPDX-License-Identifier: BSD-3-Clause
-- scripts/bench --api, write route: PATCH /api/v1/users/{id} with a JSON
-- merge patch of display_name, a new value every request, no If-Match.
-- Each request is one transaction of the security domain: the user row,
-- its outbox event (security.user.updated) and its audit record.
--
-- Run with as many threads as connections (wrk -t N -c N): each thread
-- then has one connection and patches a user of its own (the i-th of
-- CUCO_BENCH_IDS), so that requests do not race for the same version
-- (the handler checks the version it has just read: a race is a 412).

local report = dofile(os.getenv("CUCO_BENCH_LUA_DIR") .. "/wrk_report.lua")

local ids = {}
for id in string.gmatch(os.getenv("CUCO_BENCH_IDS") or "", "[^,]+") do
	ids[#ids + 1] = id
end
local token = os.getenv("CUCO_BENCH_TOKEN") or ""
-- New values in every run, so that no patch repeats the current name (an
-- unchanged name writes nothing).
local salt = os.getenv("CUCO_BENCH_SALT") or "0"
local n = 0

function setup(thread)
	n = n + 1
	thread:set("uid", ids[(n - 1) % #ids + 1])
	thread:set("tno", n)
end

local path, headers
local count = 0

function init(args)
	path = "/api/v1/users/" .. uid
	headers = {
		["Authorization"] = "Bearer " .. token,
		["Content-Type"] = "application/merge-patch+json",
		["Accept"] = "application/json",
	}
end

function request()
	count = count + 1
	local body = string.format('{"display_name":"bench %s %d %d"}', salt, tno, count)
	return wrk.format("PATCH", path, headers, body)
end

done = report.done
