/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_BSS_BILLING_USAGE_H
#define CUCO_BSS_BILLING_USAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bss/core/principal.h"

/*
 * Usage: the fast path's cumulative counters become per-service deltas in
 * the billing schema (docs/usage.md).
 *
 * The dataplane publishes, every usage-interval, the cumulative counters of
 * each subscriber since it started, with its boot id and a message sequence
 * number (docs/ARCHITECTURE.md, "Usage"). The collector keeps per
 * (dataplane, boot id, subscriber) the last cumulative counters it turned
 * into usage (a position) and writes each delta row and the new position in
 * one transaction: a restart of controld resumes exactly, a missed message
 * is harmless (the next one carries the sum), a message seen again is
 * ignored (its seq is not beyond the position), a new boot id starts from
 * zero, and counters that go backwards within a boot (the subscriber was
 * deleted and added again while its final message was missed) are a reset:
 * the new value is the delta.
 *
 * This header has two parts: the pure rules (decoder, delta), which link
 * without a database, and the store (usage_store.c) over PostgreSQL.
 */

/* ---- pure rules (usage_model.c) ------------------------------------------------------ */

/* At most this many subscribers a message (the dataplane sends at most 1000). */
#define USAGE_MSG_SUBSCRIBERS_MAX 10000
#define USAGE_BOOT_ID_MAX 64

struct usage_counters {
	uint64_t bytes_up, bytes_down, packets_up, packets_down;
};

struct usage_sub {
	char id[37];  /* the network domain's service id; "" when not a service (skipped) */
	struct usage_counters c;
};

/* One decoded usage message of the dataplane. */
struct usage_msg {
	char boot_id[USAGE_BOOT_ID_MAX + 1];
	int64_t seq;
	int64_t generation;
	int64_t time_ms; /* the dataplane's wall clock, ms since the epoch */
	bool final;      /* deleted subscribers' last counters */
	size_t n_subs;   /* services only */
	size_t n_other;  /* entries that name no service: the unknown slot, other ids */
	struct usage_sub *subs;
};

/*
 * Decode @len bytes of a usage message (outside input: every member checked,
 * limits enforced). Members other than those the collector uses (colours,
 * drops, part, last) are accepted as they come. Returns 0 with a new
 * message in @ret (usage_msg_free()), or -EINVAL with the member at fault
 * and why in @err, or -ENOMEM.
 */
int usage_msg_decode(const char *buf, size_t len, struct usage_msg **ret, char *err,
		     size_t errlen);

/* Accepts NULL, returns NULL. */
struct usage_msg *usage_msg_free(struct usage_msg *m);

/* Where a subscriber's counters stood when last turned into usage. */
struct usage_pos {
	bool known; /* false: none yet in this boot */
	int64_t seq;
	int64_t time_ms;
	struct usage_counters c;
};

enum usage_verdict {
	USAGE_SAME,  /* nothing moved: no row, no new position needed */
	USAGE_DELTA, /* @ret_delta = cur - pos */
	USAGE_FIRST, /* first counters of this boot: they are the delta (started at 0) */
	USAGE_RESET, /* went backwards within the boot: counted from 0 again */
	USAGE_OLD,   /* seq not beyond the position: a duplicate or an old message */
};

/*
 * The delta of counters @cur carried by message @seq against position @pos.
 * @ret_delta is always written (zero for SAME and OLD). Pure.
 */
enum usage_verdict usage_delta(const struct usage_pos *pos, int64_t seq,
			       const struct usage_counters *cur, struct usage_counters *ret_delta);

/* Whether every counter of @c is zero. */
bool usage_counters_zero(const struct usage_counters *c);

/* "first", "delta", ... for logs. */
const char *usage_verdict_name(enum usage_verdict v);

/* ---- the store (usage_store.c) ------------------------------------------------------- */

struct db;
struct es_event;

/* What one usage_store_apply() did. */
struct usage_apply_stats {
	uint64_t messages, subscribers, rows, resets, old, same, bytes;
};

/*
 * Apply usage messages @msgs[@n] of dataplane @dataplane (in the order
 * received) on @db in ONE transaction: deltas into usage (partitions made as
 * needed), positions updated, the boot's row kept. Returns 0 (committed), or
 * -EIO / -EAGAIN (rolled back; apply them again) with @err. @ret_stats when
 * not NULL, added to.
 */
int usage_store_apply(struct db *db, const char *dataplane, struct usage_msg *const *msgs,
		      size_t n, struct usage_apply_stats *ret_stats, char *err, size_t errlen);

/*
 * Forget the boots whose last message is older than @days days, with their
 * positions, but never a dataplane's newest boot. A message of a forgotten
 * boot replayed afterwards would count again: @days is how long a replay is
 * guarded against. Returns how many boots went, or -EIO with @err.
 */
int usage_store_prune(struct db *db, unsigned days, char *err, size_t errlen);

/* A dataplane's usage endpoint as the billing side knows it. */
struct usage_source {
	char dataplane[64];
	char endpoint[256];
	char curve_dir[256];
};

/*
 * The dataplanes to collect from (billing.usage_sources, kept by the
 * consumer below), at most @max into @ret. Returns how many, or -EIO.
 */
int usage_sources_load(struct db *db, struct usage_source *ret, size_t max, char *err,
		       size_t errlen);

/*
 * The consumer "usage_sources" of the network domain's events (an
 * inbox_handler_fn): network.dataplane.registered with a usage_endpoint adds
 * or updates a source, network.dataplane.removed removes it.
 */
int usage_sources_consume(struct db *db, const char *source, const struct es_event *ev,
			  void *arg, char *err, size_t errlen);

/* ---- TMF635 reads (usage_store.c) ---------------------------------------------------- */

struct usage_filter {
	const char *service_id; /* NULL: any */
	const char *from;       /* usageDate >= (RFC 3339), NULL: any */
	const char *to;         /* usageDate < */
	unsigned limit, offset;
};

/*
 * TMF635 Usage documents (one a usage row), newest first, for staff
 * principals. Returns 0 with @ret (array) and @ret_total, -EPERM, -EINVAL
 * (a filter; @err names it) or -EIO.
 */
int usage_list(struct db *db, const struct cuco_principal *p, const struct usage_filter *f,
	       json_t **ret, int64_t *ret_total, char *err, size_t errlen);

/* One Usage by id: 0, -ENOENT, -EPERM or -EIO. */
int usage_get(struct db *db, const struct cuco_principal *p, const char *id, json_t **ret,
	      char *err, size_t errlen);

/* The UsageSpecifications (a fixed list): the array into @ret. */
json_t *usage_specifications(void);

#endif
