-- SPDX-License-Identifier: BSD-3-Clause
-- scripts/bench --api, catalog read: GET
-- /tmf-api/productCatalogManagement/v4/productOffering/{id} of the seeded
-- offerings (tests/integration/cucoseed.py), served from the catalog's read
-- model, with a bearer token. CUCO_BENCH_IDS holds the offering ids (comma
-- separated; thread i reads the i-th, round robin). The report is
-- wrk_report.lua's line.

local report = dofile(os.getenv("CUCO_BENCH_LUA_DIR") .. "/wrk_report.lua")

local ids = {}
for id in string.gmatch(os.getenv("CUCO_BENCH_IDS") or "", "[^,]+") do
	ids[#ids + 1] = id
end
local token = os.getenv("CUCO_BENCH_TOKEN") or ""
local n = 0

function setup(thread)
	n = n + 1
	thread:set("oid", ids[(n - 1) % #ids + 1])
end

local req

function init(args)
	req = wrk.format("GET", "/tmf-api/productCatalogManagement/v4/productOffering/" .. oid, {
		["Authorization"] = "Bearer " .. token,
		["Accept"] = "application/json",
	})
end

function request()
	return req
end

done = report.done
