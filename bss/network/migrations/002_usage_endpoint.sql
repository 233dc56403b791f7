-- SPDX-License-Identifier: BSD-3-Clause
-- Where a dataplane publishes its usage (its config's "usage" endpoint, a
-- ZeroMQ PUB), given at registration; the billing domain's collector
-- learns it from network.dataplane.registered (docs/usage.md).
ALTER TABLE dataplanes ADD COLUMN usage_endpoint text
	CHECK (usage_endpoint IS NULL OR octet_length(usage_endpoint) BETWEEN 7 AND 255);
