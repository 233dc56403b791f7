/* SPDX-License-Identifier: BSD-3-Clause */
#include "dataplane/tables/nexthop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_malloc.h>

/* (address, port, VLAN); a VLAN's connected next hop has family AF_UNSPEC. */
struct nh_key {
	uint8_t family;
	uint8_t port;
	uint8_t pad[2];
	uint32_t vlan;
	uint8_t addr[16];
};

struct nh_ctl {
	struct nh_table *table;        /* shared with workers */
	struct rte_hash *by_key;       /* nh_key -> id */
	struct rte_hash *groups;       /* struct nh_group (members) -> id */
	struct rte_rcu_qsbr *qsv;
	uint32_t refs[NH_MAX];
	bool learned[NH_MAX];          /* holds a reference for a neighbour */
	struct nh_key keys[NH_MAX];
	uint32_t free_ids[NH_MAX];     /* stack of free dynamic ids */
	unsigned n_free;
	unsigned n_used;
	uint16_t free_groups[NH_GROUP_MAX]; /* stack of free group slots */
	unsigned n_free_groups;
};

static void
make_key(struct nh_key *k, const struct inet_addr *addr, uint8_t port, uint32_t vlan)
{
	memset(k, 0, sizeof(*k));
	k->port = port;
	k->vlan = vlan;
	if (addr == NULL)
		return;
	k->family = addr->family;
	memcpy(k->addr, addr->family == AF_INET ? (const void *)&addr->v4 : (const void *)&addr->v6,
	       addr->family == AF_INET ? 4 : 16);
}

int
nh_ctl_create(unsigned n_ports, struct rte_rcu_qsbr *qsv, struct nh_ctl **ret_ctl)
{
	static unsigned instance;
	struct rte_hash_parameters hp = {
		.entries = NH_MAX,
		.key_len = sizeof(struct nh_key),
		.hash_func = rte_jhash,
		.socket_id = SOCKET_ID_ANY,
	};
	char name[RTE_HASH_NAMESIZE];
	struct nh_ctl *ctl;
	unsigned i;

	ctl = calloc(1, sizeof(*ctl));
	if (ctl == NULL)
		return -ENOMEM;
	ctl->qsv = qsv;
	ctl->table = rte_zmalloc("cuco_nh", sizeof(*ctl->table), RTE_CACHE_LINE_SIZE);
	snprintf(name, sizeof(name), "cuco_nh%u", instance++);
	hp.name = name;
	ctl->by_key = rte_hash_create(&hp);
	snprintf(name, sizeof(name), "cuco_nhg%u", instance - 1);
	hp.name = name;
	hp.entries = NH_GROUP_MAX;
	hp.key_len = sizeof(struct nh_group);
	ctl->groups = rte_hash_create(&hp);
	if (ctl->table == NULL || ctl->by_key == NULL || ctl->groups == NULL) {
		nh_ctl_free(ctl);
		return -ENOMEM;
	}
	ctl->table->e[NH_ID_LOCAL].word = nh_word_make(NH_KIND_LOCAL, false, 0, NULL);
	ctl->table->e[NH_ID_BLACKHOLE].word = nh_word_make(NH_KIND_BLACKHOLE, false, 0, NULL);
	for (i = 0; i < n_ports; i++)
		ctl->table->e[NH_ID_CONNECTED(i)].word =
			nh_word_make(NH_KIND_CONNECTED, false, (uint8_t)i, NULL);
	for (i = NH_MAX - 1; i >= NH_FIRST_DYNAMIC; i--)
		ctl->free_ids[ctl->n_free++] = i;
	for (i = NH_GROUP_MAX; i > 0; i--)
		ctl->free_groups[ctl->n_free_groups++] = (uint16_t)(i - 1);
	*ret_ctl = ctl;
	return 0;
}

struct nh_ctl *
nh_ctl_free(struct nh_ctl *ctl)
{
	if (ctl == NULL)
		return NULL;
	rte_hash_free(ctl->by_key);
	rte_hash_free(ctl->groups);
	rte_free(ctl->table);
	free(ctl);
	return NULL;
}

const struct nh_table *
nh_ctl_table(const struct nh_ctl *ctl)
{
	return ctl->table;
}

static int
find_key(const struct nh_ctl *ctl, const struct nh_key *k)
{
	void *data;

	if (rte_hash_lookup_data(ctl->by_key, k, &data) < 0)
		return -ENOENT;
	return (int)(uintptr_t)data;
}

int
nh_ctl_find_vlan(const struct nh_ctl *ctl, const struct inet_addr *addr, uint8_t port,
		 uint32_t vlan)
{
	struct nh_key k;

	make_key(&k, addr, port, vlan);
	return find_key(ctl, &k);
}

int
nh_ctl_find(const struct nh_ctl *ctl, const struct inet_addr *addr, uint8_t port)
{
	return nh_ctl_find_vlan(ctl, addr, port, 0);
}

/* Take a reference on the next hop of key @k, creating it as @kind if needed. */
static int
get_key(struct nh_ctl *ctl, const struct nh_key *k, enum nh_kind kind)
{
	uint32_t id;
	int ret;

	ret = find_key(ctl, k);
	if (ret >= 0) {
		ctl->refs[ret]++;
		return ret;
	}
	if (ctl->n_free == 0)
		return -ENOSPC;
	id = ctl->free_ids[ctl->n_free - 1];
	ret = rte_hash_add_key_data(ctl->by_key, k, (void *)(uintptr_t)id);
	if (ret < 0)
		return -ENOSPC;
	ctl->n_free--;
	ctl->n_used++;
	ctl->keys[id] = *k;
	ctl->refs[id] = 1;
	/* Written before the word is published (release below): see nexthop.h. */
	ctl->table->e[id].vlan = k->vlan;
	__atomic_store_n(&ctl->table->e[id].word, nh_word_make(kind, false, k->port, NULL),
			 __ATOMIC_RELEASE);
	return (int)id;
}

int
nh_ctl_get_vlan(struct nh_ctl *ctl, const struct inet_addr *addr, uint8_t port, uint32_t vlan)
{
	struct nh_key k;

	make_key(&k, addr, port, vlan);
	return get_key(ctl, &k, NH_KIND_GATEWAY);
}

int
nh_ctl_get(struct nh_ctl *ctl, const struct inet_addr *addr, uint8_t port)
{
	return nh_ctl_get_vlan(ctl, addr, port, 0);
}

int
nh_ctl_connected_vlan(struct nh_ctl *ctl, uint8_t port, uint32_t vlan)
{
	struct nh_key k;

	if (vlan == 0)
		return -EINVAL;
	make_key(&k, NULL, port, vlan);
	return get_key(ctl, &k, NH_KIND_CONNECTED);
}

void
nh_ctl_ref(struct nh_ctl *ctl, uint32_t id)
{
	if (id >= NH_FIRST_DYNAMIC && id < NH_MAX && ctl->refs[id] > 0)
		ctl->refs[id]++;
}

void
nh_ctl_put(struct nh_ctl *ctl, uint32_t id)
{
	struct nh_group g;
	uint64_t w;
	unsigned i;

	if (id < NH_FIRST_DYNAMIC || id >= NH_MAX || ctl->refs[id] == 0)
		return;
	if (--ctl->refs[id] > 0)
		return;
	w = ctl->table->e[id].word;
	if (nh_word_kind(w) == NH_KIND_GROUP)
		rte_hash_del_key(ctl->groups, &ctl->table->group[nh_word_group(w)]);
	else
		rte_hash_del_key(ctl->by_key, &ctl->keys[id]);
	/*
	 * No route points here any more, but a worker may still hold the id it
	 * read from the LPM before the route went (or a group word and its
	 * slot): wait for every worker to pass a quiescent state before the id
	 * or the slot can name anything else.
	 */
	rte_rcu_qsbr_synchronize(ctl->qsv, RTE_QSBR_THRID_INVALID);
	__atomic_store_n(&ctl->table->e[id].word, 0, __ATOMIC_RELEASE);
	ctl->table->e[id].vlan = 0;
	ctl->free_ids[ctl->n_free++] = id;
	ctl->n_used--;
	if (nh_word_kind(w) != NH_KIND_GROUP)
		return;
	g = ctl->table->group[nh_word_group(w)];
	memset(&ctl->table->group[nh_word_group(w)], 0, sizeof(g));
	ctl->free_groups[ctl->n_free_groups++] = nh_word_group(w);
	for (i = 0; i < g.n; i++)
		nh_ctl_put(ctl, g.member[i]);
}

static int
cmp_u16(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* A member: a port's connected next hop, or a gateway in use. */
static bool
member_ok(const struct nh_ctl *ctl, uint32_t id)
{
	enum nh_kind kind;

	if (id >= NH_MAX)
		return false;
	kind = nh_word_kind(ctl->table->e[id].word);
	return kind == NH_KIND_CONNECTED || (kind == NH_KIND_GATEWAY && ctl->refs[id] > 0);
}

int
nh_ctl_group_get(struct nh_ctl *ctl, const uint32_t *members, unsigned n)
{
	struct nh_group g;
	unsigned i, k;
	uint32_t id;
	uint16_t slot;
	void *data;

	if (n == 0 || n > NH_GROUP_MAX_MEMBERS)
		return -EINVAL;
	memset(&g, 0, sizeof(g));
	for (i = 0; i < n; i++) {
		if (!member_ok(ctl, members[i]))
			return -EINVAL;
		g.member[i] = (uint16_t)members[i];
	}
	/* Sorted and without duplicates: one key per set of members. */
	qsort(g.member, n, sizeof(g.member[0]), cmp_u16);
	for (i = 1, k = 1; i < n; i++)
		if (g.member[i] != g.member[k - 1])
			g.member[k++] = g.member[i];
	for (i = k; i < n; i++)
		g.member[i] = 0;
	g.n = k;
	if (k == 1) {
		nh_ctl_ref(ctl, g.member[0]);
		return g.member[0];
	}
	if (rte_hash_lookup_data(ctl->groups, &g, &data) >= 0) {
		id = (uint32_t)(uintptr_t)data;
		ctl->refs[id]++;
		return (int)id;
	}
	if (ctl->n_free == 0 || ctl->n_free_groups == 0)
		return -ENOSPC;
	id = ctl->free_ids[ctl->n_free - 1];
	if (rte_hash_add_key_data(ctl->groups, &g, (void *)(uintptr_t)id) < 0)
		return -ENOSPC;
	ctl->n_free--;
	ctl->n_used++;
	slot = ctl->free_groups[--ctl->n_free_groups];
	ctl->refs[id] = 1;
	for (i = 0; i < g.n; i++)
		nh_ctl_ref(ctl, g.member[i]);
	ctl->table->group[slot] = g;
	ctl->table->e[id].vlan = 0;
	/*
	 * Release: a worker that reads the word (and then fences with acquire in
	 * nh_group_member) sees the members written above.
	 */
	__atomic_store_n(&ctl->table->e[id].word,
			 nh_word_make(NH_KIND_GROUP, false, 0, NULL) | ((uint64_t)slot << 16),
			 __ATOMIC_RELEASE);
	return (int)id;
}

unsigned
nh_ctl_group_count(const struct nh_ctl *ctl)
{
	/* Relaxed: telemetry reads what the control thread writes. */
	return NH_GROUP_MAX - __atomic_load_n(&ctl->n_free_groups, __ATOMIC_RELAXED);
}

void
nh_ctl_resolve(struct nh_ctl *ctl, uint32_t id, const struct rte_ether_addr *mac)
{
	uint64_t w = ctl->table->e[id].word;

	/* Release: a worker that sees "resolved" sees the MAC written with it. */
	__atomic_store_n(&ctl->table->e[id].word,
			 nh_word_make(nh_word_kind(w), mac != NULL, nh_word_port(w), mac),
			 __ATOMIC_RELEASE);
}

int
nh_ctl_learn_vlan(struct nh_ctl *ctl, const struct inet_addr *addr, uint8_t port, uint32_t vlan,
		  const struct rte_ether_addr *mac)
{
	int id = nh_ctl_find_vlan(ctl, addr, port, vlan);

	if (id < 0 || !ctl->learned[id]) {
		id = nh_ctl_get_vlan(ctl, addr, port, vlan);
		if (id < 0)
			return id;
		ctl->learned[id] = true;
	}
	nh_ctl_resolve(ctl, (uint32_t)id, mac);
	return id;
}

int
nh_ctl_learn(struct nh_ctl *ctl, const struct inet_addr *addr, uint8_t port,
	     const struct rte_ether_addr *mac)
{
	return nh_ctl_learn_vlan(ctl, addr, port, 0, mac);
}

int
nh_ctl_forget_vlan(struct nh_ctl *ctl, const struct inet_addr *addr, uint8_t port, uint32_t vlan)
{
	int id = nh_ctl_find_vlan(ctl, addr, port, vlan);

	if (id < 0 || !ctl->learned[id])
		return -ENOENT;
	nh_ctl_resolve(ctl, (uint32_t)id, NULL);
	ctl->learned[id] = false;
	nh_ctl_put(ctl, (uint32_t)id);
	return id;
}

int
nh_ctl_forget(struct nh_ctl *ctl, const struct inet_addr *addr, uint8_t port)
{
	return nh_ctl_forget_vlan(ctl, addr, port, 0);
}

unsigned
nh_ctl_count(const struct nh_ctl *ctl)
{
	return ctl->n_used;
}
