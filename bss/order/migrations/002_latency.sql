-- SPDX-License-Identifier: BSD-3-Clause
-- Order-to-enforcement latency, as a cumulative histogram /metrics serves:
-- from an order's acceptance (orders.created_at) to the moment the network
-- domain confirmed the last of its services applied by the dataplanes. Kept
-- here, in the transaction that records that step, so it survives restarts
-- and a scrape reads eleven rows, not every order.

CREATE TABLE enforcement_latency (
	-- a bucket's upper bound in seconds; 'Infinity' counts every order
	le double precision PRIMARY KEY,
	count bigint NOT NULL DEFAULT 0 CHECK (count >= 0)
);
INSERT INTO enforcement_latency (le) VALUES (0.05), (0.1), (0.25), (0.5), (1), (2.5), (5), (10),
	(30), (60), ('Infinity');

CREATE TABLE enforcement_latency_sum (
	one boolean PRIMARY KEY DEFAULT true CHECK (one),
	seconds double precision NOT NULL DEFAULT 0
);
INSERT INTO enforcement_latency_sum DEFAULT VALUES;
