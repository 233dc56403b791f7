-- SPDX-License-Identifier: BSD-3-Clause
-- Audit records are chained after their commit, not inside it. Before, a
-- writer took the chain's lock and read its head, then inserted its record,
-- holding the lock through its COMMIT and WAL flush: every audited write of
-- the appliance ran one at a time.
--
-- Now a writer inserts its record here, with an HMAC of its own (the audit
-- key; see security.h), and holds no lock. One chainer per state directory
-- (bss/security/anchor.c), and every reader of the log before it reads,
-- moves pending records into audit_log in pos order under the chain's lock:
-- each MAC checked, then seq, prev_hash and hash as always, in one short
-- transaction that also deletes them here.

CREATE TABLE audit_pending (
	pos bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	-- random, chosen by the writer and covered by the MAC: a copied row fails
	id bigint NOT NULL UNIQUE,
	at_us bigint NOT NULL,
	subject text NOT NULL,
	name text NOT NULL,
	remote text NOT NULL,
	action text NOT NULL CHECK (action <> ''),
	target text NOT NULL,
	outcome text NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
	details text NOT NULL,
	traceparent text NOT NULL,
	mac bytea NOT NULL CHECK (octet_length(mac) = 32)
);

CREATE TRIGGER audit_pending_no_update BEFORE UPDATE ON audit_pending
	FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
