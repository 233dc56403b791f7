-- SPDX-License-Identifier: BSD-3-Clause
-- Usage: what the fast path counted per service, as deltas of its cumulative
-- counters (docs/billing.md). One row per service per usage message that
-- moved its counters. The collector writes it; rating and invoices read it
-- (sums over a period); the export feeds read it in id order.
--
-- Partitioned by month of start_time; usage_partition(month) creates a
-- month's partition (idempotent); the collector calls it before it writes a
-- month, and billing runs before they read one.

CREATE TABLE usage (
	id bigint GENERATED ALWAYS AS IDENTITY,
	-- The network domain's service id: the dataplane's subscriber id.
	service_id uuid NOT NULL,
	dataplane text NOT NULL,
	-- The counters' origin: a new boot id is a new base (a restart).
	boot_id text NOT NULL,
	-- The usage message (its seq) that carried the new cumulative value.
	seq bigint NOT NULL CHECK (seq >= 0),
	-- The interval the delta covers: the previous message's time (or the
	-- boot, for the first) to this one's.
	start_time timestamptz NOT NULL,
	end_time timestamptz NOT NULL,
	bytes_up bigint NOT NULL DEFAULT 0 CHECK (bytes_up >= 0),
	bytes_down bigint NOT NULL DEFAULT 0 CHECK (bytes_down >= 0),
	packets_up bigint NOT NULL DEFAULT 0 CHECK (packets_up >= 0),
	packets_down bigint NOT NULL DEFAULT 0 CHECK (packets_down >= 0),
	recorded_at timestamptz NOT NULL DEFAULT now(),
	CHECK (end_time >= start_time),
	PRIMARY KEY (id, start_time),
	-- A message delivered twice never counts twice.
	UNIQUE (service_id, dataplane, boot_id, seq, start_time)
) PARTITION BY RANGE (start_time);
CREATE INDEX usage_service_time ON usage (service_id, start_time);

-- Create the partition of the month holding @month (any time in it).
CREATE FUNCTION usage_partition(month timestamptz) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	lo timestamptz := date_trunc('month', month AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
	hi timestamptz := lo + interval '1 month';
	name text := 'usage_' || to_char(lo AT TIME ZONE 'UTC', 'YYYY_MM');
BEGIN
	EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF usage FOR VALUES FROM (%L) TO (%L)',
		name, lo, hi);
	RETURN name;
END $$;
