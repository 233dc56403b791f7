-- SPDX-License-Identifier: BSD-3-Clause
-- The event store of a domain (bss/core), created in the domain's schema
-- before the domain's own migrations, owned by the domain's role.

-- Event numbers without gaps, in commit order: outbox_append() takes the
-- next one by updating this row, so a writer holds it until it commits or
-- rolls back (which gives the number back). A consumer that sees a jump in
-- seq has lost a message, never a number that was skipped.
CREATE TABLE outbox_seq (
	id boolean PRIMARY KEY DEFAULT true CHECK (id),
	last bigint NOT NULL CHECK (last >= 0)
);
INSERT INTO outbox_seq (id, last) VALUES (true, 0);

CREATE TABLE outbox (
	seq bigint PRIMARY KEY CHECK (seq >= 1),
	event_id uuid NOT NULL UNIQUE,
	type text NOT NULL CHECK (type <> ''),
	schema_version integer NOT NULL CHECK (schema_version >= 1),
	aggregate_type text NOT NULL CHECK (aggregate_type <> ''),
	aggregate_id text NOT NULL CHECK (aggregate_id <> ''),
	aggregate_version bigint NOT NULL CHECK (aggregate_version >= 1),
	payload jsonb NOT NULL,
	traceparent text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL DEFAULT now(),
	UNIQUE (aggregate_type, aggregate_id, aggregate_version)
);

-- Append-only: an event, once committed, is history.
CREATE FUNCTION outbox_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'outbox is append-only: % refused', TG_OP
		USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER outbox_append_only BEFORE UPDATE OR DELETE ON outbox
	FOR EACH ROW EXECUTE FUNCTION outbox_refuse_change();
CREATE TRIGGER outbox_no_truncate BEFORE TRUNCATE ON outbox
	FOR EACH STATEMENT EXECUTE FUNCTION outbox_refuse_change();

-- Wakes the relay at commit (LISTEN cuco_outbox_<schema>); it also polls.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('cuco_outbox_' || TG_TABLE_SCHEMA, '');
	RETURN NULL;
END
$$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
	FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- The latest snapshot of a long aggregate: its state at aggregate_version.
CREATE TABLE snapshots (
	aggregate_type text NOT NULL,
	aggregate_id text NOT NULL,
	aggregate_version bigint NOT NULL CHECK (aggregate_version >= 1),
	schema_version integer NOT NULL CHECK (schema_version >= 1),
	state jsonb NOT NULL,
	taken_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (aggregate_type, aggregate_id)
);

-- Where each consumer of this domain stands in each source's outbox.
CREATE TABLE inbox_position (
	consumer text NOT NULL,
	source text NOT NULL,
	seq bigint NOT NULL CHECK (seq >= 0),
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (consumer, source)
);

-- Events and commands already applied (dedupe), with a command's reply so
-- that a retried command gets the same answer.
CREATE TABLE inbox_seen (
	consumer text NOT NULL,
	id text NOT NULL,
	source text NOT NULL,
	reply jsonb,
	seen_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (consumer, id)
);

-- Failed attempts at an event not yet applied nor parked.
CREATE TABLE inbox_failures (
	consumer text NOT NULL,
	event_id uuid NOT NULL,
	attempts integer NOT NULL CHECK (attempts >= 1),
	error text NOT NULL,
	failed_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (consumer, event_id)
);

-- Events a consumer gave up on after its maximum of attempts.
CREATE TABLE dead_letters (
	id bigserial PRIMARY KEY,
	consumer text NOT NULL,
	source text NOT NULL,
	seq bigint NOT NULL,
	event_id uuid NOT NULL,
	type text NOT NULL,
	payload jsonb NOT NULL,
	envelope jsonb NOT NULL,
	error text NOT NULL,
	attempts integer NOT NULL,
	parked_at timestamptz NOT NULL DEFAULT now(),
	replayed_at timestamptz,
	state text NOT NULL DEFAULT 'parked' CHECK (state IN ('parked', 'replayed')),
	UNIQUE (consumer, event_id)
);
CREATE INDEX dead_letters_parked ON dead_letters (consumer) WHERE state = 'parked';
