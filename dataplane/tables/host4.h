/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_DATAPLANE_HOST4_H
#define CUCO_DATAPLANE_HOST4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_hash_crc.h>

/*
 * An exact-match table of IPv4 host addresses to non-zero 32-bit values,
 * made for the fast path. Open addressing over buckets of one cache line
 * (8 addresses, then their 8 values), probing bucket after bucket; a lookup
 * stops at the first bucket with a free entry. The table is sized to stay
 * at most half full, so a lookup, hit or miss, nearly always reads the one
 * line host4_bucket() names, which the caller can prefetch a stage ahead.
 * The addresses sit in the bucket itself: no second read of a key store.
 *
 * No locks: a table is written only while no worker reads it (the standby
 * set of the subscriber tables), by the control thread.
 */

#define HOST4_WAYS 8

struct host4_bucket {
	uint32_t addr[HOST4_WAYS]; /* network order */
	uint32_t val[HOST4_WAYS];  /* 0: a free entry */
} __rte_cache_aligned;

struct host4 {
	struct host4_bucket *b;
	uint32_t mask; /* buckets - 1; a power of 2 */
	uint32_t n;    /* entries */
	uint32_t max;  /* entries at most */
};

/* Where the search for @addr (network order) starts. */
static inline uint32_t
host4_home(const struct host4 *h, uint32_t addr)
{
	return rte_hash_crc_4byte(addr, 0) & h->mask;
}

/* The value of @addr in bucket @i and on, or 0. */
static inline uint32_t
host4_lookup_from(const struct host4 *h, uint32_t i, uint32_t addr)
{
	for (;;) {
		const struct host4_bucket *b = &h->b[i];
		bool free = false;
		unsigned k;

		for (k = 0; k < HOST4_WAYS; k++) {
			if (b->addr[k] == addr && b->val[k] != 0)
				return b->val[k];
			free |= b->val[k] == 0;
		}
		if (likely(free))
			return 0;
		i = (i + 1) & h->mask;
	}
}

/* The value of @addr (network order), or 0 if it is not in the table. */
static inline uint32_t
host4_lookup(const struct host4 *h, uint32_t addr)
{
	return host4_lookup_from(h, host4_home(h, addr), addr);
}

/*
 * Control thread: a table for up to @max entries (0 < @max <= 2^30).
 * Returns 0 or -ENOMEM. host4_destroy() accepts an empty table.
 */
int host4_create(struct host4 *h, uint32_t max);
void host4_destroy(struct host4 *h);
/* Map @addr to @val (not 0), replacing. Returns 0, or -ENOSPC when full. */
int host4_add(struct host4 *h, uint32_t addr, uint32_t val);
/* Returns 0, or -ENOENT. */
int host4_del(struct host4 *h, uint32_t addr);

#endif
