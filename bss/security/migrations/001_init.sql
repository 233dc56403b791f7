-- SPDX-License-Identifier: BSD-3-Clause
-- The security domain: users, sessions (refresh-token families), API keys,
-- the audit log. Rules the C code checks are repeated here as constraints,
-- so that a bug or a hand-written statement cannot store what the code
-- would refuse.

CREATE TABLE users (
	id uuid PRIMARY KEY,
	name text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._@-]{0,62}$'),
	display_name text NOT NULL DEFAULT '' CHECK (octet_length(display_name) <= 128),
	roles text[] NOT NULL CHECK (cardinality(roles) >= 1 AND roles <@ ARRAY['admin',
		'operator', 'support', 'billing', 'read-only', 'self-care']::text[]),
	-- A self-care user is bound to one customer, and holds no other role.
	customer_id text CHECK ((customer_id IS NOT NULL) = (roles = ARRAY['self-care']::text[])),
	state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'disabled')),
	password_hash text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
	must_change_password boolean NOT NULL DEFAULT false,
	-- Access tokens carry the epoch they were issued in; moving it on
	-- (password changed or reset, roles changed, disabled) ends them.
	session_epoch bigint NOT NULL DEFAULT 0 CHECK (session_epoch >= 0),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	-- Optimistic concurrency; also the aggregate's version in the outbox.
	version bigint NOT NULL DEFAULT 1 CHECK (version >= 1)
);

-- A login and the refresh tokens that continue it (one family).
CREATE TABLE sessions (
	id uuid PRIMARY KEY,
	user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	remote text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL DEFAULT now(),
	revoked_at timestamptz,
	revoke_reason text,
	version bigint NOT NULL DEFAULT 1 CHECK (version >= 1)
);
CREATE INDEX sessions_user ON sessions (user_id) WHERE revoked_at IS NULL;

-- Only the SHA-256 of a refresh token is kept. used_at: rotated away; showing
-- it again is a reuse, which revokes the family.
CREATE TABLE refresh_tokens (
	token_hash bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
	session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	created_at timestamptz NOT NULL DEFAULT now(),
	expires_at timestamptz NOT NULL,
	used_at timestamptz
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Only BLAKE2b-256(id || ':' || secret) is kept.
CREATE TABLE api_keys (
	id uuid PRIMARY KEY,
	name text NOT NULL CHECK (name ~ '^[A-Za-z0-9 ._@-]{1,100}$'),
	owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	roles text[] NOT NULL CHECK (cardinality(roles) >= 1 AND roles <@ ARRAY['admin',
		'operator', 'support', 'billing', 'read-only', 'self-care']::text[]),
	secret_hash bytea NOT NULL CHECK (octet_length(secret_hash) = 32),
	created_at timestamptz NOT NULL DEFAULT now(),
	expires_at timestamptz,
	revoked_at timestamptz,
	rotated_from uuid,
	version bigint NOT NULL DEFAULT 1 CHECK (version >= 1)
);
CREATE INDEX api_keys_owner ON api_keys (owner_id);

-- The audit log: append-only, HMAC-chained (see bss/security/security.h).
-- details is the JSON text exactly as hashed (jsonb would reorder it).
CREATE TABLE audit_log (
	seq bigint PRIMARY KEY CHECK (seq >= 1),
	at timestamptz NOT NULL,
	subject text NOT NULL,
	name text NOT NULL,
	remote text NOT NULL,
	action text NOT NULL CHECK (action <> ''),
	target text NOT NULL,
	outcome text NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
	details text NOT NULL,
	traceparent text NOT NULL,
	prev_hash bytea NOT NULL CHECK (octet_length(prev_hash) = 32),
	hash bytea NOT NULL CHECK (octet_length(hash) = 32)
);
CREATE INDEX audit_log_at ON audit_log (at);

-- Catches mistakes, not attackers: whoever owns the table may disable the
-- trigger, and a superuser may do anything; verification catches those.
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
		USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
	FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
