-- SPDX-License-Identifier: BSD-3-Clause
-- The rules of the two tables every audited write touches, users and
-- audit_pending, move from CHECK constraints into domain types, with the
-- same rules (as the core did for the outbox, core migration 4: PostgreSQL
-- parses and prepares a table's CHECKs again for every statement that
-- writes it, a domain's it keeps prepared). The one rule across two
-- columns, a self-care user's customer, stays a CHECK of the table.
CREATE DOMAIN user_name AS text CHECK (VALUE ~ '^[a-z0-9][a-z0-9._@-]{0,62}$');
CREATE DOMAIN user_display_name AS text CHECK (octet_length(VALUE) <= 128);
CREATE DOMAIN user_roles AS text[] CHECK (cardinality(VALUE) >= 1 AND VALUE <@ ARRAY['admin',
	'operator', 'support', 'billing', 'read-only', 'self-care']::text[]);
CREATE DOMAIN user_state AS text CHECK (VALUE IN ('active', 'disabled'));
CREATE DOMAIN argon2id_hash AS text CHECK (VALUE LIKE '$argon2id$%');
CREATE DOMAIN session_epoch AS bigint CHECK (VALUE >= 0);
CREATE DOMAIN row_version AS bigint CHECK (VALUE >= 1);
CREATE DOMAIN audit_action AS text CHECK (VALUE <> '');
CREATE DOMAIN audit_outcome AS text CHECK (VALUE IN ('success', 'failure', 'denied'));
CREATE DOMAIN hmac_sha256 AS bytea CHECK (octet_length(VALUE) = 32);

-- The cross-column CHECK reads roles: it goes while roles changes type.
ALTER TABLE users
	DROP CONSTRAINT users_check,
	DROP CONSTRAINT users_name_check,
	DROP CONSTRAINT users_display_name_check,
	DROP CONSTRAINT users_roles_check,
	DROP CONSTRAINT users_state_check,
	DROP CONSTRAINT users_password_hash_check,
	DROP CONSTRAINT users_session_epoch_check,
	DROP CONSTRAINT users_version_check,
	ALTER COLUMN name TYPE user_name,
	ALTER COLUMN display_name TYPE user_display_name,
	ALTER COLUMN roles TYPE user_roles,
	ALTER COLUMN state TYPE user_state,
	ALTER COLUMN password_hash TYPE argon2id_hash,
	ALTER COLUMN session_epoch TYPE session_epoch,
	ALTER COLUMN version TYPE row_version;
-- A self-care user is bound to one customer, and holds no other role.
ALTER TABLE users ADD CONSTRAINT users_self_care_customer
	CHECK ((customer_id IS NOT NULL) = (roles = ARRAY['self-care']::text[]));

ALTER TABLE audit_pending
	DROP CONSTRAINT audit_pending_action_check,
	DROP CONSTRAINT audit_pending_outcome_check,
	DROP CONSTRAINT audit_pending_mac_check,
	ALTER COLUMN action TYPE audit_action,
	ALTER COLUMN outcome TYPE audit_outcome,
	ALTER COLUMN mac TYPE hmac_sha256;
