-- SPDX-License-Identifier: BSD-3-Clause
-- The export feeds' positions (docs/usage.md, "Feeds"): per feed, the last
-- record exported and the number of the last batch written. A batch's files
-- are written (atomically, manifest last) before its position is committed,
-- so after a crash the same batch is written again, identically.

CREATE TABLE feed_positions (
	feed text PRIMARY KEY CHECK (feed ~ '^[A-Za-z0-9_-]{1,63}$'),
	-- What the feed exports: 'usage' (rows of usage, by id); others to come.
	source text NOT NULL,
	last_id bigint NOT NULL DEFAULT 0,
	batch bigint NOT NULL DEFAULT 0,
	records bigint NOT NULL DEFAULT 0,
	updated_at timestamptz NOT NULL DEFAULT now()
);
