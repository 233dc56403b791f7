-- SPDX-License-Identifier: BSD-3-Clause
-- scripts/bench --api, read route: GET /api/v1/users/{id} of one existing
-- user with a bearer token. CUCO_BENCH_TOKEN holds the token,
-- CUCO_BENCH_IDS the user ids (comma separated; thread i reads the i-th,
-- round robin). The report is wrk_report.lua's line.

local report = dofile(os.getenv("CUCO_BENCH_LUA_DIR") .. "/wrk_report.lua")

local ids = {}
for id in string.gmatch(os.getenv("CUCO_BENCH_IDS") or "", "[^,]+") do
	ids[#ids + 1] = id
end
local token = os.getenv("CUCO_BENCH_TOKEN") or ""
local n = 0

function setup(thread)
	n = n + 1
	thread:set("uid", ids[(n - 1) % #ids + 1])
end

local req

function init(args)
	req = wrk.format("GET", "/api/v1/users/" .. uid, {
		["Authorization"] = "Bearer " .. token,
		["Accept"] = "application/json",
	})
end

function request()
	return req
end

done = report.done
