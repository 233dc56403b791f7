-- SPDX-License-Identifier: BSD-3-Clause
-- The report of scripts/bench --api's wrk scripts: one line
--   wrk-report {"requests": N, "seconds": S, "rps": R, "errors": {...},
--               "latency_ms": {"mean": .., "p50": .., ..., "max": ..}, ...}
-- after wrk's own summary, for tests/bench/api.py to read. @extra (a table
-- of integers, may be nil) adds its fields ("registrations": N).

local M = {}

function M.done(summary, latency, requests, extra)
	local s = summary.duration / 1e6
	local e = summary.errors
	local function ms(us)
		return string.format("%.3f", us / 1000)
	end
	local more = ""
	for k, v in pairs(extra or {}) do
		more = more .. string.format(', "%s": %d', k, v)
	end
	io.write(string.format(
		'wrk-report {"requests": %d, "seconds": %.3f, "rps": %.1f, ' ..
		'"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
		'"latency_ms": {"mean": %s, "p50": %s, "p90": %s, "p99": %s, "p99.9": %s, "max": %s}%s}\n',
		summary.requests, s, summary.requests / s,
		e.connect, e.read, e.write, e.status, e.timeout,
		ms(latency.mean), ms(latency:percentile(50)), ms(latency:percentile(90)),
		ms(latency:percentile(99)), ms(latency:percentile(99.9)), ms(latency.max), more))
end

return M
