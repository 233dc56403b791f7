/* SPDX-License-Identifier: BSD-3-Clause */
/* The audit log's HMAC chain: the record's canonical form, its tag, the walk that checks it. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "bss/security/model.h"

static const char tag[] = "cuco-audit-v1";

static void
put_u64(crypto_auth_hmacsha256_state *st, uint64_t v)
{
	uint8_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (56 - 8 * i));
	crypto_auth_hmacsha256_update(st, b, sizeof(b));
}

static void
put_str(crypto_auth_hmacsha256_state *st, const char *s)
{
	size_t n = strlen(s);
	uint8_t b[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};

	crypto_auth_hmacsha256_update(st, b, sizeof(b));
	crypto_auth_hmacsha256_update(st, (const unsigned char *)s, n);
}

void
security_audit_hash(const uint8_t key[SECURITY_KEY_LEN], const struct security_audit_entry *e,
		    uint8_t ret[SECURITY_HASH_LEN])
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, SECURITY_KEY_LEN);
	crypto_auth_hmacsha256_update(&st, e->prev, SECURITY_HASH_LEN);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)tag, sizeof(tag));
	put_u64(&st, (uint64_t)e->seq);
	put_u64(&st, (uint64_t)e->at_us);
	put_str(&st, e->subject);
	put_str(&st, e->name);
	put_str(&st, e->remote);
	put_str(&st, e->action);
	put_str(&st, e->target);
	put_str(&st, e->outcome);
	put_str(&st, e->details);
	put_str(&st, e->traceparent);
	crypto_auth_hmacsha256_final(&st, ret);
}

void
security_audit_pending_mac(const uint8_t key[SECURITY_KEY_LEN],
			   const struct security_audit_entry *e, int64_t id,
			   uint8_t ret[SECURITY_HASH_LEN])
{
	struct security_audit_entry m = *e;

	m.seq = id;
	memset(m.prev, 0xa5, SECURITY_HASH_LEN);
	security_audit_hash(key, &m, ret);
}

void
security_audit_walk_init(struct security_audit_walk *w, const uint8_t key[SECURITY_KEY_LEN],
			 int64_t anchor_seq, const uint8_t anchor_hash[SECURITY_HASH_LEN])
{
	memset(w, 0, sizeof(*w));
	memcpy(w->key, key, SECURITY_KEY_LEN);
	w->next_seq = 1;
	w->anchor_seq = anchor_seq;
	if (anchor_seq > 0)
		memcpy(w->anchor_hash, anchor_hash, SECURITY_HASH_LEN);
	w->report.anchor_seq = anchor_seq;
	w->report.ok = true;
}

static int
bad(struct security_audit_walk *w, int64_t seq, const char *problem, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int
bad(struct security_audit_walk *w, int64_t seq, const char *problem, const char *fmt, ...)
{
	va_list ap;

	w->report.ok = false;
	w->report.bad_seq = seq;
	snprintf(w->report.problem, sizeof(w->report.problem), "%s", problem);
	va_start(ap, fmt);
	vsnprintf(w->report.message, sizeof(w->report.message), fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

int
security_audit_walk_step(struct security_audit_walk *w, const struct security_audit_entry *e)
{
	uint8_t h[SECURITY_HASH_LEN];

	if (!w->report.ok)
		return -EBADMSG;
	if (e->seq > w->next_seq)
		return bad(w, w->next_seq, "seq-gap",
			   "audit: records %" PRId64 "..%" PRId64 " are missing (removed)",
			   w->next_seq, e->seq - 1);
	if (e->seq < w->next_seq)
		return bad(w, e->seq, "link-broken",
			   "audit: record %" PRId64 " comes after %" PRId64 " (inserted or renumbered)",
			   e->seq, w->next_seq - 1);
	if (sodium_memcmp(e->prev, w->last, SECURITY_HASH_LEN) != 0)
		return bad(w, e->seq, "link-broken",
			   "audit: record %" PRId64 " does not link to record %" PRId64
			   " (a record was removed or inserted)",
			   e->seq, e->seq - 1);
	security_audit_hash(w->key, e, h);
	if (!security_hash_equal(h, e->hash))
		return bad(w, e->seq, "hash-mismatch",
			   "audit: record %" PRId64 " was changed (or written without the key)",
			   e->seq);
	if (e->seq == w->anchor_seq) {
		w->anchor_seen = true;
		if (!security_hash_equal(e->hash, w->anchor_hash))
			return bad(w, e->seq, "anchor-mismatch",
				   "audit: record %" PRId64 " is not the one anchored in the "
				   "state directory (the chain was rewritten)",
				   e->seq);
	}
	memcpy(w->last, e->hash, SECURITY_HASH_LEN);
	w->next_seq++;
	w->report.records++;
	w->report.head_seq = e->seq;
	return 0;
}

int
security_audit_walk_end(struct security_audit_walk *w)
{
	if (!w->report.ok)
		return -EBADMSG;
	if (w->anchor_seq > 0 && !w->anchor_seen)
		return bad(w, w->next_seq, "truncated",
			   "audit: the log ends at record %" PRId64 " but record %" PRId64
			   " was anchored (records at the end were removed)",
			   w->next_seq - 1, w->anchor_seq);
	return 0;
}
