-- SPDX-License-Identifier: BSD-3-Clause
-- The usage collector's state (docs/usage.md): where it collects from, and
-- per (dataplane, boot id, service) the last cumulative counters it turned
-- into usage rows. A delta row and its new position are written in one
-- transaction, so a restart resumes exactly: nothing lost, nothing twice.

-- The dataplanes' usage endpoints, from the network domain's events
-- (consumer usage_sources): network.dataplane.registered with a
-- usage_endpoint, network.dataplane.removed.
CREATE TABLE usage_sources (
	dataplane text PRIMARY KEY CHECK (dataplane ~ '^[A-Za-z0-9._-]{1,63}$'),
	endpoint text NOT NULL CHECK (octet_length(endpoint) BETWEEN 7 AND 255),
	curve_dir text CHECK (octet_length(curve_dir) BETWEEN 1 AND 255),
	updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per boot of a dataplane seen by the collector.
CREATE TABLE usage_boots (
	dataplane text NOT NULL,
	boot_id text NOT NULL CHECK (boot_id ~ '^[A-Za-z0-9_-]{1,64}$'),
	-- When its counters started, as far as the collector can tell: the
	-- last message of the dataplane's previous boot, or this boot's first.
	started_at timestamptz NOT NULL,
	first_seq bigint NOT NULL,
	last_seq bigint NOT NULL,
	last_time timestamptz NOT NULL,
	messages bigint NOT NULL DEFAULT 0,
	-- Counters that went backwards within the boot (treated as resets).
	resets bigint NOT NULL DEFAULT 0,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (dataplane, boot_id)
);
CREATE INDEX usage_boots_last ON usage_boots (dataplane, last_time);

-- The last cumulative counters of a service turned into usage, per boot.
-- Written only when a delta is recorded (or a final message zeroes them):
-- idle services cost a read, not a write.
CREATE TABLE usage_positions (
	dataplane text NOT NULL,
	boot_id text NOT NULL,
	service_id uuid NOT NULL,
	seq bigint NOT NULL CHECK (seq >= 0),
	time timestamptz NOT NULL,
	bytes_up bigint NOT NULL CHECK (bytes_up >= 0),
	bytes_down bigint NOT NULL CHECK (bytes_down >= 0),
	packets_up bigint NOT NULL CHECK (packets_up >= 0),
	packets_down bigint NOT NULL CHECK (packets_down >= 0),
	-- The subscriber was deleted: its counters went out in a final message
	-- and its slot starts again from zero.
	final boolean NOT NULL DEFAULT false,
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (dataplane, boot_id, service_id),
	FOREIGN KEY (dataplane, boot_id) REFERENCES usage_boots ON DELETE CASCADE
-- Rewritten at every moving message and never on an indexed column: room on
-- each page keeps the updates HOT (no new index entry per update).
) WITH (fillfactor = 50);
