/* SPDX-License-Identifier: BSD-3-Clause */
#include "dataplane/tables/route.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_malloc.h>

struct rib_key {
	uint8_t family;
	uint8_t len;
	uint8_t pad[2];
	uint8_t addr[16];
};

struct rib_entry {
	uint32_t nh[RT_SRC_MAX];
};

/* An IPv6 FIB change waiting in a batch: @nh 0 deletes. */
struct fib6_change {
	struct rib_key k;
	uint32_t nh;
};

struct rt_ctl {
	struct rt_tables tables; /* read by workers */
	struct rte_rcu_qsbr *qsv;
	struct rte_hash *rib;    /* rib_key -> index in entries */
	struct rib_entry *entries;
	uint32_t *free_idx;
	unsigned n_free;
	unsigned count[2];       /* in force: [0] IPv4, [1] IPv6 */
	unsigned count_src[2][RT_SRC_MAX]; /* held per source */
	bool batch;              /* IPv6 changes wait for rt_ctl_batch_commit() */
	struct fib6_change *log; /* applied to the standby copy only */
	unsigned n_log;
	uint64_t swaps6;
};

static void
make_key(struct rib_key *k, const struct inet_prefix *pfx)
{
	struct inet_prefix p = *pfx;

	inet_prefix_mask(&p);
	memset(k, 0, sizeof(*k));
	k->family = p.addr.family;
	k->len = p.len;
	memcpy(k->addr, p.addr.family == AF_INET ? (const void *)&p.addr.v4 : (const void *)&p.addr.v6,
	       p.addr.family == AF_INET ? 4 : 16);
}

int
rt_ctl_create(struct rte_rcu_qsbr *qsv, unsigned max4, unsigned max6, struct rt_ctl **ret_ctl)
{
	static unsigned instance;
	struct rte_lpm_config c4 = {
		.max_rules = max4,
		.number_tbl8s = max4 / 4 < 256 ? 256 : max4 / 4,
	};
	struct rte_lpm6_config c6 = {
		.max_rules = max6,
		.number_tbl8s = max6 / 2 < 1024 ? 1024 : max6 / 2,
	};
	/*
	 * Defer queue: a freed tbl8 group is reused once the workers have been
	 * quiescent, and the control thread never waits for them per change
	 * (RTE_LPM_QSBR_MODE_SYNC waits a grace period for every group freed).
	 */
	struct rte_lpm_rcu_config rcu = {
		.v = qsv,
		.mode = RTE_LPM_QSBR_MODE_DQ,
	};
	struct rte_hash_parameters hp = {
		.entries = max4 + max6,
		.key_len = sizeof(struct rib_key),
		.hash_func = rte_jhash,
		.socket_id = SOCKET_ID_ANY,
	};
	char name[RTE_HASH_NAMESIZE];
	struct rt_ctl *ctl;
	unsigned i, n = max4 + max6;

	ctl = calloc(1, sizeof(*ctl));
	if (ctl == NULL)
		return -ENOMEM;
	ctl->qsv = qsv;
	snprintf(name, sizeof(name), "cuco_rt4_%u", instance);
	ctl->tables.lpm4 = rte_lpm_create(name, SOCKET_ID_ANY, &c4);
	for (i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "cuco_rt6%c_%u", 'a' + i, instance);
		ctl->tables.lpm6[i] = rte_lpm6_create(name, SOCKET_ID_ANY, &c6);
	}
	snprintf(name, sizeof(name), "cuco_rib_%u", instance++);
	hp.name = name;
	ctl->rib = rte_hash_create(&hp);
	ctl->entries = calloc(n, sizeof(*ctl->entries));
	ctl->free_idx = calloc(n, sizeof(*ctl->free_idx));
	ctl->log = calloc(RT_BATCH_MAX, sizeof(*ctl->log));
	if (ctl->tables.lpm4 == NULL || ctl->tables.lpm6[0] == NULL ||
	    ctl->tables.lpm6[1] == NULL || ctl->rib == NULL || ctl->entries == NULL ||
	    ctl->free_idx == NULL || ctl->log == NULL)
		goto out_free;
	if (qsv != NULL && rte_lpm_rcu_qsbr_add(ctl->tables.lpm4, &rcu) != 0)
		goto out_free;
	for (i = n; i > 0; i--)
		ctl->free_idx[ctl->n_free++] = i - 1;
	*ret_ctl = ctl;
	return 0;

out_free:
	rt_ctl_free(ctl);
	return -ENOMEM;
}

struct rt_ctl *
rt_ctl_free(struct rt_ctl *ctl)
{
	if (ctl == NULL)
		return NULL;
	rte_lpm_free(ctl->tables.lpm4);
	rte_lpm6_free(ctl->tables.lpm6[0]);
	rte_lpm6_free(ctl->tables.lpm6[1]);
	rte_hash_free(ctl->rib);
	free(ctl->entries);
	free(ctl->free_idx);
	free(ctl->log);
	free(ctl);
	return NULL;
}

const struct rt_tables *
rt_ctl_tables(const struct rt_ctl *ctl)
{
	return &ctl->tables;
}

static uint32_t
entry_best(const struct rib_entry *e)
{
	unsigned s;

	for (s = 0; s < RT_SRC_MAX; s++)
		if (e->nh[s] != 0)
			return e->nh[s];
	return 0;
}

/* Write one IPv6 change to one table: @nh 0 deletes. */
static int
lpm6_apply(struct rte_lpm6 *lpm, const struct rib_key *k, uint32_t nh)
{
	if (nh == 0) {
		int ret = rte_lpm6_delete(lpm, k->addr, k->len);

		return ret == -ENOENT ? 0 : ret;
	}
	return rte_lpm6_add(lpm, k->addr, k->len, nh);
}

static int
lpm4_apply(struct rt_ctl *ctl, const struct rib_key *k, uint32_t nh)
{
	struct rte_lpm *lpm = ctl->tables.lpm4;
	uint32_t ip;
	int ret;

	memcpy(&ip, k->addr, 4);
	if (nh == 0) {
		ret = rte_lpm_delete(lpm, ntohl(ip), k->len);
		return ret == -EINVAL ? 0 : ret;
	}
	ret = rte_lpm_add(lpm, ntohl(ip), k->len, nh);
	if (ret == -ENOSPC && ctl->qsv != NULL) {
		/*
		 * Freed tbl8 groups may still wait in the defer queue for the
		 * workers: once they have all been quiescent, rte_lpm reclaims
		 * them when it allocates. Rare (a full table), so wait here.
		 */
		rte_rcu_qsbr_synchronize(ctl->qsv, RTE_QSBR_THRID_INVALID);
		ret = rte_lpm_add(lpm, ntohl(ip), k->len, nh);
	}
	return ret;
}

void
rt_ctl_batch_commit(struct rt_ctl *ctl)
{
	struct rt_tables *t = &ctl->tables;
	uint32_t active = t->active6, standby = active ^ 1;
	unsigned i;

	if (ctl->n_log == 0)
		return;
	/* Release: workers that load the new index see the whole batch. */
	__atomic_store_n(&t->active6, standby, __ATOMIC_RELEASE);
	ctl->swaps6++;
	if (ctl->qsv != NULL)
		rte_rcu_qsbr_synchronize(ctl->qsv, RTE_QSBR_THRID_INVALID);
	/*
	 * No worker reads the old copy now: replay the batch on it. The same
	 * changes in the same order on an equal table give an equal table
	 * (rte_lpm6 allocates deterministically, and a change the standby
	 * copy refused never entered the log), so these cannot fail.
	 */
	for (i = 0; i < ctl->n_log; i++)
		lpm6_apply(t->lpm6[active], &ctl->log[i].k, ctl->log[i].nh);
	ctl->n_log = 0;
}

void
rt_ctl_batch_begin(struct rt_ctl *ctl)
{
	ctl->batch = true;
}

void
rt_ctl_batch_end(struct rt_ctl *ctl)
{
	rt_ctl_batch_commit(ctl);
	ctl->batch = false;
}

unsigned
rt_ctl_batch_size(const struct rt_ctl *ctl)
{
	return ctl->n_log;
}

uint64_t
rt_ctl_swaps6(const struct rt_ctl *ctl)
{
	return ctl->swaps6;
}

static int
fib_apply(struct rt_ctl *ctl, const struct rib_key *k, uint32_t nh)
{
	struct rt_tables *t = &ctl->tables;
	int ret;

	if (k->family == AF_INET)
		return lpm4_apply(ctl, k, nh);
	if (ctl->n_log == RT_BATCH_MAX)
		rt_ctl_batch_commit(ctl);
	/* Workers do not read the standby copy: change it in place. */
	ret = lpm6_apply(t->lpm6[t->active6 ^ 1], k, nh);
	if (ret < 0)
		return ret;
	ctl->log[ctl->n_log++] = (struct fib6_change){.k = *k, .nh = nh};
	if (!ctl->batch)
		rt_ctl_batch_commit(ctl);
	return 0;
}

int
rt_ctl_set(struct rt_ctl *ctl, const struct inet_prefix *pfx, enum rt_source src,
	   uint32_t nh_id)
{
	struct rib_key k;
	struct rib_entry *e, old;
	uint32_t before, after;
	unsigned fam = pfx->addr.family == AF_INET ? 0 : 1;
	void *data;
	int idx, ret;

	if (src >= RT_SRC_MAX || nh_id >= NH_MAX ||
	    (pfx->addr.family != AF_INET && pfx->addr.family != AF_INET6))
		return -EINVAL;
	make_key(&k, pfx);
	if (rte_hash_lookup_data(ctl->rib, &k, &data) >= 0) {
		idx = (int)(uintptr_t)data;
	} else {
		if (nh_id == 0)
			return 0;
		if (ctl->n_free == 0)
			return -ENOSPC;
		idx = (int)ctl->free_idx[ctl->n_free - 1];
		if (rte_hash_add_key_data(ctl->rib, &k, (void *)(uintptr_t)idx) < 0)
			return -ENOSPC;
		ctl->n_free--;
		memset(&ctl->entries[idx], 0, sizeof(ctl->entries[idx]));
	}
	e = &ctl->entries[idx];
	old = *e;
	before = entry_best(e);
	e->nh[src] = nh_id;
	after = entry_best(e);
	ret = 0;
	if (after != before) {
		ret = fib_apply(ctl, &k, after);
		if (ret < 0) {
			/* Nothing changed in the FIB: leave the RIB as it was. */
			*e = old;
			after = before;
		} else if (before == 0) {
			ctl->count[fam]++;
		} else if (after == 0) {
			ctl->count[fam]--;
		}
	}
	if (ret == 0 && (old.nh[src] == 0) != (nh_id == 0))
		ctl->count_src[fam][src] += nh_id != 0 ? 1u : (unsigned)-1;
	if (after == 0) {
		rte_hash_del_key(ctl->rib, &k);
		ctl->free_idx[ctl->n_free++] = (uint32_t)idx;
	}
	return ret;
}

uint32_t
rt_ctl_get(const struct rt_ctl *ctl, const struct inet_prefix *pfx, enum rt_source src)
{
	struct rib_key k;
	void *data;

	make_key(&k, pfx);
	if (src >= RT_SRC_MAX || rte_hash_lookup_data(ctl->rib, &k, &data) < 0)
		return 0;
	return ctl->entries[(uintptr_t)data].nh[src];
}

unsigned
rt_ctl_count(const struct rt_ctl *ctl, uint8_t family)
{
	return ctl->count[family == AF_INET ? 0 : 1];
}

unsigned
rt_ctl_count_source(const struct rt_ctl *ctl, uint8_t family, enum rt_source src)
{
	return src < RT_SRC_MAX ? ctl->count_src[family == AF_INET ? 0 : 1][src] : 0;
}

const char *
rt_source_name(enum rt_source src)
{
	static const char *const names[RT_SRC_MAX] = {
		[RT_SRC_LOCAL] = "local",
		[RT_SRC_STATIC] = "static",
		[RT_SRC_FPM] = "fpm",
		[RT_SRC_NEIGH] = "neigh",
		[RT_SRC_CONNECTED] = "connected",
	};

	return src < RT_SRC_MAX ? names[src] : "?";
}
