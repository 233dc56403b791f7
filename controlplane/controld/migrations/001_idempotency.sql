-- Answers to POST requests that carried an Idempotency-Key, per principal:
-- a replay of the key gets the first answer back instead of a second write.
CREATE TABLE idempotency (
	subject text NOT NULL,
	key text NOT NULL,
	request_hash text NOT NULL,
	completed boolean NOT NULL DEFAULT false,
	status integer,
	headers text,
	body bytea,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (subject, key)
);
CREATE INDEX idempotency_created ON idempotency (created_at);
