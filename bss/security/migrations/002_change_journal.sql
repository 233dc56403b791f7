-- The change journal: every event of every domain, as the bus delivered it
-- to the security domain's consumer "journal" (exactly once per event id).
-- With the audit log (logins and security actions, HMAC-chained), it answers
-- "what changed, when, under which trace" for all of controld.
CREATE TABLE change_journal (
	source text NOT NULL,
	seq bigint NOT NULL,
	event_id uuid NOT NULL UNIQUE,
	type text NOT NULL,
	schema_version integer NOT NULL,
	aggregate_type text NOT NULL,
	aggregate_id text NOT NULL,
	aggregate_version bigint NOT NULL,
	traceparent text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL,
	applied_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (source, seq)
);

CREATE FUNCTION change_journal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'change_journal is append-only' USING ERRCODE = '42501';
END;
$$;
CREATE TRIGGER change_journal_append_only BEFORE UPDATE OR DELETE ON change_journal
	FOR EACH ROW EXECUTE FUNCTION change_journal_append_only();
