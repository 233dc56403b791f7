-- SPDX-License-Identifier: BSD-3-Clause
-- scripts/bench --api, customer registration: on each connection, in turn,
-- POST /tmf-api/party/v4/individual (the person) and then
-- POST /tmf-api/customerManagement/v4/customer with that individual as the
-- engagedParty (a party is the customer of one customer account only, so
-- every registration needs a party of its own). One registration is the two
-- requests; each is one transaction of the customer domain (its row and its
-- outbox event). CUCO_BENCH_TOKEN holds the token; CUCO_BENCH_SALT makes
-- the names of each run new. The report is wrk_report.lua's line, with
-- "registrations": the customers created (201 to the second request).
--
-- Run with as many threads as connections (wrk -t N -c N): a thread's
-- requests then go one after the other on its one connection, so that the
-- customer request follows the answer that names its party.

local report = dofile(os.getenv("CUCO_BENCH_LUA_DIR") .. "/wrk_report.lua")

local token = os.getenv("CUCO_BENCH_TOKEN") or ""
local salt = os.getenv("CUCO_BENCH_SALT") or "0"
local threads = {}
local n = 0

function setup(thread)
	n = n + 1
	thread:set("tno", n)
	table.insert(threads, thread)
end

local headers
local count = 0
local party = nil   -- the individual created, waiting for its customer
local pending = nil -- what the request in flight was: "party" or "customer"
registrations = 0

function init(args)
	headers = {
		["Authorization"] = "Bearer " .. token,
		["Content-Type"] = "application/json",
		["Accept"] = "application/json",
	}
end

function request()
	if party then
		pending = "customer"
		local body = string.format(
			'{"engagedParty":{"id":"%s","@referredType":"Individual"},' ..
			'"contactMedium":[{"mediumType":"email","characteristic":' ..
			'{"emailAddress":"bench-%s-%d-%d@example.org","contactType":"primary"}}],' ..
			'"status":"active"}', party, salt, tno, count)
		party = nil
		return wrk.format("POST", "/tmf-api/customerManagement/v4/customer", headers, body)
	end
	count = count + 1
	pending = "party"
	local body = string.format('{"givenName":"Bench","familyName":"R%s T%d N%d"}', salt, tno,
				   count)
	return wrk.format("POST", "/tmf-api/party/v4/individual", headers, body)
end

function response(status, hdrs, body)
	if pending == "party" and status == 201 then
		party = string.match(body, '"id"%s*:%s*"([0-9a-f-]+)"')
	elseif pending == "customer" and status == 201 then
		registrations = registrations + 1
	end
	pending = nil
end

function done(summary, latency, requests)
	local total = 0
	for _, t in ipairs(threads) do
		total = total + (t:get("registrations") or 0)
	end
	report.done(summary, latency, requests, {registrations = total})
end
