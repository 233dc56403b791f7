/* SPDX-License-Identifier: BSD-3-Clause */
#include "dataplane/tables/host4.h"

#include <errno.h>
#include <string.h>

#include "dataplane/tables/bigmem.h"

static size_t
host4_size(const struct host4 *h)
{
	return ((size_t)h->mask + 1) * sizeof(struct host4_bucket);
}

int
host4_create(struct host4 *h, uint32_t max)
{
	/* Room for twice @max entries: at most half full. */
	uint64_t buckets = rte_align64pow2(((uint64_t)max * 2 + HOST4_WAYS - 1) / HOST4_WAYS);

	memset(h, 0, sizeof(*h));
	if (max == 0 || max > (1u << 30))
		return -EINVAL;
	if (buckets < 2)
		buckets = 2;
	h->mask = (uint32_t)(buckets - 1);
	h->max = max;
	h->b = bigmem_alloc(host4_size(h));
	if (h->b == NULL) {
		memset(h, 0, sizeof(*h));
		return -ENOMEM;
	}
	return 0;
}

void
host4_destroy(struct host4 *h)
{
	if (h->b != NULL)
		bigmem_free(h->b, host4_size(h));
	memset(h, 0, sizeof(*h));
}

static int
free_way(const struct host4_bucket *b)
{
	unsigned k;

	for (k = 0; k < HOST4_WAYS; k++)
		if (b->val[k] == 0)
			return (int)k;
	return -1;
}

int
host4_add(struct host4 *h, uint32_t addr, uint32_t val)
{
	uint32_t i = host4_home(h, addr);
	int k;

	/* The entry, if there, is before the first bucket with a free way. */
	for (;;) {
		struct host4_bucket *b = &h->b[i];

		for (k = 0; k < HOST4_WAYS; k++) {
			if (b->val[k] != 0 && b->addr[k] == addr) {
				b->val[k] = val;
				return 0;
			}
		}
		k = free_way(b);
		if (k >= 0)
			break;
		i = (i + 1) & h->mask;
	}
	if (h->n >= h->max)
		return -ENOSPC;
	h->b[i].addr[k] = addr;
	h->b[i].val[k] = val;
	h->n++;
	return 0;
}

/* Buckets from @from to @to, going forward. */
static uint32_t
dist(const struct host4 *h, uint32_t from, uint32_t to)
{
	return (to - from) & h->mask;
}

/*
 * Every entry lies in its home bucket or in a run of full buckets after it:
 * that is what lets a lookup stop at the first bucket with a free way. A
 * deletion frees a way in bucket @hole, so later entries whose run crossed
 * it move back into it, and so on with the way each leaves (backward shift),
 * up to a bucket that had a free way already.
 */
int
host4_del(struct host4 *h, uint32_t addr)
{
	uint32_t hole = host4_home(h, addr), j;
	struct host4_bucket *b;
	unsigned frees;
	int k;

	for (;;) {
		b = &h->b[hole];
		for (k = 0; k < HOST4_WAYS; k++)
			if (b->val[k] != 0 && b->addr[k] == addr)
				break;
		if (k < HOST4_WAYS)
			break;
		if (free_way(b) >= 0)
			return -ENOENT;
		hole = (hole + 1) & h->mask;
	}
	b->addr[k] = 0;
	b->val[k] = 0;
	h->n--;
	/* If the bucket had another free way, no run crossed it. */
	for (k = 0, frees = 0; k < HOST4_WAYS; k++)
		frees += b->val[k] == 0;
	if (frees > 1)
		return 0;
	for (j = (hole + 1) & h->mask;; j = (j + 1) & h->mask) {
		struct host4_bucket *c = &h->b[j];
		bool had_free = free_way(c) >= 0;

		for (k = 0; k < HOST4_WAYS; k++) {
			uint32_t home;
			int to;

			if (c->val[k] == 0)
				continue;
			home = host4_home(h, c->addr[k]);
			if (dist(h, home, j) < dist(h, hole, j))
				continue; /* its run starts after the hole */
			to = free_way(&h->b[hole]);
			h->b[hole].addr[to] = c->addr[k];
			h->b[hole].val[to] = c->val[k];
			c->addr[k] = 0;
			c->val[k] = 0;
			hole = j;
			break;
		}
		if (had_free)
			return 0;
	}
}
