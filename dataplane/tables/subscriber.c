/* SPDX-License-Identifier: BSD-3-Clause */
#include "dataplane/tables/subscriber.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "dataplane/tables/bigmem.h"

#define SUB_ID_LEN 64
#define SUB_NAME_LEN 64

#define SUB_REASON_NAME(e, s) [SUB_DROP_##e] = s,
const char *const sub_drop_names[SUB_DROP_MAX] = {SUB_DROP_REASONS(SUB_REASON_NAME)};
#undef SUB_REASON_NAME
const char *const sub_colour_names[SUB_COLOURS] = {"green", "yellow", "red"};

/* A subscriber as the control thread knows it; immutable once published. */
struct sub_entry {
	char id[SUB_ID_LEN];
	char profile_name[SUB_NAME_LEN];
	uint32_t slot;
	uint16_t profile;
	uint8_t avail;
	struct sub_match match;
	/* match.prefixes and match.l2 point into this allocation */
};

struct prof_entry {
	char name[SUB_NAME_LEN];
	bool in_use;
	struct sub_meter_params params[SUB_DIRS];
	struct sub_profile fp;
};

/* One change of a batch, kept to undo it or to publish it. */
enum change_kind {
	CH_SUB,     /* slot: old entry -> new entry (either may be NULL) */
	CH_PROFILE, /* profile index: old value saved */
	CH_WALLED,  /* the allow-list: old value saved */
};

struct change {
	uint8_t kind;
	uint32_t slot;
	struct sub_entry *old, *new;
	uint16_t profile;
	struct prof_entry old_profile;
	struct inet_prefix *old_walled;
	uint32_t old_n_walled;
};

struct pfx_key {
	uint8_t family;
	uint8_t len;
	uint8_t pad[2];
	uint8_t addr[16];
};

struct sub_ctl {
	struct sub_tables t;
	struct rte_rcu_qsbr *qsv;
	unsigned instance;
	bool sets_ready;
	struct rte_hash *by_id;      /* id -> slot */
	struct rte_hash *own_pfx;    /* pfx_key -> slot */
	struct rte_hash *own_l2;     /* sub_l2_key -> slot */
	struct sub_entry **entries;  /* [slot] */
	uint32_t *free_slots;
	uint32_t n_free;
	unsigned n_subs;
	struct prof_entry profiles[SUB_MAX_PROFILES];
	struct inet_prefix walled[SUB_WALLED_MAX];
	uint32_t n_walled;
	/* the batch in progress */
	bool in_batch;
	struct change *changes;
	size_t n_changes, cap_changes;
	uint32_t *pending_free; /* slots freed by the batch: reusable after commit */
	size_t n_pending, cap_pending;
	uint32_t profile_version; /* last version given to a profile */
	sub_release_cb release_cb;
	void *release_arg;
};

void
sub_ctl_on_release(struct sub_ctl *ctl, sub_release_cb cb, void *arg)
{
	ctl->release_cb = cb;
	ctl->release_arg = arg;
}

/* The entry a slot had before the batch deleted it: the first change of that slot. */
static const struct sub_entry *
deleted_entry(const struct sub_ctl *ctl, uint32_t slot)
{
	size_t i;

	for (i = 0; i < ctl->n_changes; i++)
		if (ctl->changes[i].kind == CH_SUB && ctl->changes[i].slot == slot &&
		    ctl->changes[i].old != NULL)
			return ctl->changes[i].old;
	return NULL;
}

static void
make_pfx_key(struct pfx_key *k, const struct inet_prefix *p)
{
	memset(k, 0, sizeof(*k));
	k->family = p->addr.family;
	k->len = p->len;
	memcpy(k->addr, p->addr.family == AF_INET ? (const void *)&p->addr.v4 : (const void *)&p->addr.v6,
	       p->addr.family == AF_INET ? 4 : 16);
}

static struct rte_hash *
make_hash(const char *what, unsigned instance, uint32_t entries, uint32_t key_len)
{
	struct rte_hash_parameters hp = {
		.entries = entries < 1024 ? 1024 : entries,
		.key_len = key_len,
		.hash_func = rte_hash_crc, /* SSE4.2 CRC32: cheaper than jhash per packet */
		.socket_id = SOCKET_ID_ANY,
	};
	char name[RTE_HASH_NAMESIZE];

	snprintf(name, sizeof(name), "cuco_%.8s%u", what, instance);
	hp.name = name;
	return rte_hash_create(&hp);
}

static struct sub_set *
set_create(struct sub_ctl *ctl, unsigned which)
{
	uint32_t max = ctl->t.max_slots;
	/* Host addresses are in host4 and the hash: the LPMs hold the shorter prefixes. */
	struct rte_lpm_config c4 = {
		.max_rules = max,
		.number_tbl8s = max / 16 < 256 ? 256 : max / 16,
	};
	struct rte_lpm6_config c6 = {
		.max_rules = max,
		.number_tbl8s = max / 4 < 1024 ? 1024 : max / 4,
	};
	char name[RTE_HASH_NAMESIZE];
	struct sub_set *s;

	s = rte_zmalloc("cuco_subset", sizeof(*s), RTE_CACHE_LINE_SIZE);
	if (s == NULL)
		return NULL;
	snprintf(name, sizeof(name), "cuco_s4%c%u", 'a' + which, ctl->instance);
	s->lpm4 = rte_lpm_create(name, SOCKET_ID_ANY, &c4);
	snprintf(name, sizeof(name), "cuco_s6%c%u", 'a' + which, ctl->instance);
	s->lpm6 = rte_lpm6_create(name, SOCKET_ID_ANY, &c6);
	snprintf(name, sizeof(name), "l2%c", 'a' + which);
	s->l2 = make_hash(name, ctl->instance, max * 2, sizeof(struct sub_l2_key));
	snprintf(name, sizeof(name), "ho%c", 'a' + which);
	s->host = make_hash(name, ctl->instance, max * 2, sizeof(struct sub_host_key));
	if (host4_create(&s->host4, max * 2) < 0)
		s->host4.b = NULL;
	s->index = which;
	s->profiles = rte_zmalloc("cuco_subprof", sizeof(*s->profiles) * SUB_MAX_PROFILES,
				  RTE_CACHE_LINE_SIZE);
	if (s->lpm4 == NULL || s->lpm6 == NULL || s->l2 == NULL || s->host == NULL ||
	    s->host4.b == NULL || s->profiles == NULL) {
		host4_destroy(&s->host4);
		rte_hash_free(s->host);
		rte_lpm_free(s->lpm4);
		rte_lpm6_free(s->lpm6);
		rte_hash_free(s->l2);
		rte_free(s->profiles);
		rte_free(s);
		return NULL;
	}
	return s;
}

static void
set_free(struct sub_set *s)
{
	if (s == NULL)
		return;
	rte_lpm_free(s->lpm4);
	rte_lpm6_free(s->lpm6);
	rte_hash_free(s->l2);
	rte_hash_free(s->host);
	host4_destroy(&s->host4);
	rte_free(s->profiles);
	rte_free(s);
}

static bool
is_host(const struct inet_prefix *p)
{
	return p->len == inet_family_bits(p->addr.family);
}

static void
host_key(struct sub_host_key *k, const struct inet_prefix *p)
{
	memset(k, 0, sizeof(*k));
	k->family = p->addr.family;
	memcpy(k->addr, p->addr.family == AF_INET ? (const void *)&p->addr.v4 : (const void *)&p->addr.v6,
	       p->addr.family == AF_INET ? 4 : 16);
}

/* Remove prefix @p from @s. Host addresses leave the hash, others the LPM. */
static void
set_del_prefix(struct sub_set *s, const struct inet_prefix *p)
{
	if (is_host(p) && p->addr.family == AF_INET) {
		if (host4_del(&s->host4, p->addr.v4.s_addr) == 0)
			s->n_host4--;
	} else if (is_host(p)) {
		struct sub_host_key k;

		host_key(&k, p);
		if (rte_hash_del_key(s->host, &k) >= 0)
			s->n_host--;
	} else if (p->addr.family == AF_INET) {
		if (rte_lpm_delete(s->lpm4, rte_be_to_cpu_32(p->addr.v4.s_addr), p->len) == 0)
			s->n_pfx4--;
	} else if (rte_lpm6_delete(s->lpm6, p->addr.v6.s6_addr, p->len) == 0) {
		s->n_pfx6--;
	}
}

/* Map prefix @p to @slot in @s (replacing any mapping). Returns 0 or -ENOSPC. */
static int
set_add_prefix(struct sub_set *s, const struct inet_prefix *p, uint32_t slot)
{
	void *data;
	int ret;

	if (is_host(p) && p->addr.family == AF_INET) {
		bool existed = host4_lookup(&s->host4, p->addr.v4.s_addr) != 0;

		if (host4_add(&s->host4, p->addr.v4.s_addr, slot) < 0)
			return -ENOSPC;
		s->n_host4 += !existed;
		return 0;
	}
	if (is_host(p)) {
		struct sub_host_key k;
		bool existed;

		host_key(&k, p);
		existed = rte_hash_lookup_data(s->host, &k, &data) >= 0;
		if (rte_hash_add_key_data(s->host, &k, (void *)(uintptr_t)slot) < 0)
			return -ENOSPC;
		s->n_host += !existed;
		return 0;
	}
	if (p->addr.family == AF_INET) {
		uint32_t ip = rte_be_to_cpu_32(p->addr.v4.s_addr), old;
		bool existed = rte_lpm_is_rule_present(s->lpm4, ip, p->len, &old) == 1;

		ret = rte_lpm_add(s->lpm4, ip, p->len, slot);
		if (ret == 0)
			s->n_pfx4 += !existed;
	} else {
		uint32_t old;
		bool existed = rte_lpm6_is_rule_present(s->lpm6, p->addr.v6.s6_addr, p->len,
							 &old) == 1;

		ret = rte_lpm6_add(s->lpm6, p->addr.v6.s6_addr, p->len, slot);
		if (ret == 0)
			s->n_pfx6 += !existed;
	}
	return ret < 0 ? -ENOSPC : 0;
}

static size_t
state_size(const struct sub_ctl *ctl)
{
	return (size_t)ctl->t.max_slots * SUB_DIRS * ctl->t.state_stride;
}

static size_t
drops_size(const struct sub_ctl *ctl)
{
	return (size_t)ctl->t.max_slots * SUB_DIRS * sizeof(struct sub_count_drops);
}

int
sub_ctl_create(uint32_t max_slots, unsigned n_workers, struct rte_rcu_qsbr *qsv,
	       struct sub_ctl **ret_ctl)
{
	static unsigned instance;
	struct sub_ctl *ctl;
	uint32_t i, d;

	if (max_slots < 2 || n_workers < 1)
		return -EINVAL;
	ctl = calloc(1, sizeof(*ctl));
	if (ctl == NULL)
		return -ENOMEM;
	ctl->instance = instance++;
	ctl->qsv = qsv;
	ctl->t.max_slots = max_slots;
	ctl->t.n_workers = n_workers;
	ctl->t.state_stride = sizeof(struct sub_meter_state) + n_workers * sizeof(struct sub_count_hot);
	ctl->by_id = make_hash("subid", ctl->instance, max_slots, SUB_ID_LEN);
	ctl->own_pfx = make_hash("subpfx", ctl->instance, max_slots * 2, sizeof(struct pfx_key));
	ctl->own_l2 = make_hash("subl2", ctl->instance, max_slots * 2, sizeof(struct sub_l2_key));
	ctl->entries = calloc(max_slots, sizeof(*ctl->entries));
	ctl->free_slots = calloc(max_slots, sizeof(*ctl->free_slots));
	/* Shared with workers, but plain memory: no need for DPDK's. */
	ctl->t.state = bigmem_alloc(state_size(ctl));
	ctl->t.drops = calloc(n_workers, sizeof(*ctl->t.drops));
	if (ctl->by_id == NULL || ctl->own_pfx == NULL || ctl->own_l2 == NULL ||
	    ctl->entries == NULL || ctl->free_slots == NULL || ctl->t.state == NULL ||
	    ctl->t.drops == NULL)
		goto out_free;
	for (i = 0; i < n_workers; i++) {
		ctl->t.drops[i] = bigmem_alloc(drops_size(ctl));
		if (ctl->t.drops[i] == NULL)
			goto out_free;
	}
	for (d = 0; d < SUB_DIRS; d++)
		for (i = 0; i < max_slots; i++)
			rte_spinlock_init(&sub_meter_of(&ctl->t, i, d)->lock);
	for (i = max_slots - 1; i > SUB_SLOT_UNKNOWN; i--)
		ctl->free_slots[ctl->n_free++] = i;
	/* The sets (two rte_lpm of 64 MiB and more) exist only once subscribers do. */
	*ret_ctl = ctl;
	return 0;

out_free:
	sub_ctl_free(ctl);
	return -ENOMEM;
}

struct sub_ctl *
sub_ctl_free(struct sub_ctl *ctl)
{
	uint32_t i;

	if (ctl == NULL)
		return NULL;
	if (ctl->in_batch)
		sub_ctl_abort(ctl);
	set_free(ctl->t.set[0]);
	set_free(ctl->t.set[1]);
	rte_hash_free(ctl->by_id);
	rte_hash_free(ctl->own_pfx);
	rte_hash_free(ctl->own_l2);
	if (ctl->entries != NULL)
		for (i = 0; i < ctl->t.max_slots; i++)
			free(ctl->entries[i]);
	free(ctl->entries);
	free(ctl->free_slots);
	bigmem_free(ctl->t.state, state_size(ctl));
	if (ctl->t.drops != NULL)
		for (i = 0; i < ctl->t.n_workers; i++)
			bigmem_free(ctl->t.drops[i], drops_size(ctl));
	free(ctl->t.drops);
	free(ctl->changes);
	free(ctl->pending_free);
	free(ctl);
	return NULL;
}

const struct sub_tables *
sub_ctl_tables(const struct sub_ctl *ctl)
{
	return &ctl->t;
}

static int
push_change(struct sub_ctl *ctl, const struct change *c)
{
	if (ctl->n_changes == ctl->cap_changes) {
		size_t cap = ctl->cap_changes ? ctl->cap_changes * 2 : 64;
		struct change *v = reallocarray(ctl->changes, cap, sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		ctl->changes = v;
		ctl->cap_changes = cap;
	}
	ctl->changes[ctl->n_changes++] = *c;
	return 0;
}

void
sub_ctl_begin(struct sub_ctl *ctl)
{
	ctl->in_batch = true;
	ctl->n_changes = 0;
	ctl->n_pending = 0;
}

/* Journal profile @idx as it is before the batch changes it. */
static int
journal_profile(struct sub_ctl *ctl, uint16_t idx)
{
	struct change c;

	memset(&c, 0, sizeof(c));
	c.kind = CH_PROFILE;
	c.profile = idx;
	c.old_profile = ctl->profiles[idx];
	return push_change(ctl, &c);
}

static int
find_profile(const struct sub_ctl *ctl, const char *name)
{
	unsigned i;

	for (i = 0; i < SUB_MAX_PROFILES; i++)
		if (ctl->profiles[i].in_use && strcmp(ctl->profiles[i].name, name) == 0)
			return (int)i;
	return -ENOENT;
}

/* bits/s -> bytes/s for rte_meter, which also wants non-zero sizes. */
static int
meter_config(const struct sub_meter_params *p, struct sub_meter_profile *out, const char *dir,
	     char *err, size_t errlen)
{
	unsigned c;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	out->mode = p->mode;
	if (p->shape) {
		if (strcmp(dir, "down") != 0 || p->mode == SUB_METER_NONE || p->cir == 0) {
			snprintf(err, errlen, "%s.shape: only the downstream is shaped, at a cir > 0",
				 dir);
			return -EINVAL;
		}
		out->shape = 1;
		out->shape_rate = p->cir / 8;
		/*
		 * A shaper's bucket only smooths: the queue absorbs bursts. A
		 * policer-sized CBS would let TCP overrun the queue after every
		 * idle spell, so keep it within 10 ms of the rate, two frames at least.
		 */
		out->shape_size = p->cbs < out->shape_rate / 100 ? p->cbs : out->shape_rate / 100;
		if (out->shape_size < 3000)
			out->shape_size = 3000;
	}
	for (c = 0; c < SUB_COLOURS; c++) {
		if (p->action[c] > SUB_ACT_DROP || p->dscp[c] > 63) {
			snprintf(err, errlen, "%s.%s: bad action or DSCP", dir, sub_colour_names[c]);
			return -EINVAL;
		}
		out->action[c] = p->action[c];
		out->dscp[c] = p->dscp[c];
	}
	switch (p->mode) {
	case SUB_METER_NONE:
		return 0;
	case SUB_METER_RFC2698: {
		struct rte_meter_trtcm_params mp = {
			.cir = p->cir / 8, .pir = p->pir / 8, .cbs = p->cbs, .pbs = p->pbs,
		};

		if (p->cir == 0 || p->pir < p->cir || p->cbs == 0 || p->pbs == 0) {
			snprintf(err, errlen, "%s: RFC 2698 needs cir > 0, pir >= cir, cbs > 0 "
				 "and pbs > 0", dir);
			return -EINVAL;
		}
		ret = rte_meter_trtcm_profile_config(&out->rfc2698, &mp);
		break;
	}
	case SUB_METER_RFC4115: {
		struct rte_meter_trtcm_rfc4115_params mp = {
			.cir = p->cir / 8, .eir = p->pir / 8, .cbs = p->cbs, .ebs = p->pbs,
		};

		if ((p->cir == 0 && p->pir == 0) || (p->cir != 0 && p->cbs == 0) ||
		    (p->pir != 0 && p->pbs == 0)) {
			snprintf(err, errlen, "%s: RFC 4115 needs cir or eir > 0, with cbs > 0 "
				 "for cir and ebs > 0 for eir", dir);
			return -EINVAL;
		}
		ret = rte_meter_trtcm_rfc4115_profile_config(&out->rfc4115, &mp);
		break;
	}
	default:
		snprintf(err, errlen, "%s: unknown meter mode %u", dir, p->mode);
		return -EINVAL;
	}
	if (ret != 0) {
		snprintf(err, errlen, "%s: rates or sizes out of rte_meter's range", dir);
		return -EINVAL;
	}
	return 0;
}

int
sub_ctl_profile_upsert(struct sub_ctl *ctl, const char *name,
		       const struct sub_meter_params params[SUB_DIRS], char *err, size_t errlen)
{
	struct prof_entry pe;
	int idx, d;

	if (strlen(name) == 0 || strlen(name) >= SUB_NAME_LEN) {
		snprintf(err, errlen, "name: 1 to %d bytes", SUB_NAME_LEN - 1);
		return -EINVAL;
	}
	memset(&pe, 0, sizeof(pe));
	snprintf(pe.name, sizeof(pe.name), "%s", name);
	pe.in_use = true;
	for (d = 0; d < SUB_DIRS; d++) {
		int ret = meter_config(&params[d], &pe.fp.dir[d], d == SUB_UP ? "up" : "down", err,
				       errlen);

		if (ret < 0)
			return ret;
		pe.params[d] = params[d];
	}
	idx = find_profile(ctl, name);
	if (idx < 0) {
		for (idx = 0; idx < (int)SUB_MAX_PROFILES && ctl->profiles[idx].in_use; idx++)
			;
		if (idx == (int)SUB_MAX_PROFILES) {
			snprintf(err, errlen, "more than %u profiles", SUB_MAX_PROFILES);
			return -ENOSPC;
		}
	}
	if (journal_profile(ctl, (uint16_t)idx) < 0)
		return -ENOMEM;
	/* Shapers reconfigure a pipe when its profile's version moves. */
	if (++ctl->profile_version == 0)
		++ctl->profile_version;
	pe.fp.dir[SUB_UP].version = pe.fp.dir[SUB_DOWN].version = ctl->profile_version;
	ctl->profiles[idx] = pe;
	return 0;
}

int
sub_ctl_profile_delete(struct sub_ctl *ctl, const char *name, char *err, size_t errlen)
{
	int idx = find_profile(ctl, name);
	unsigned users = 0;
	uint32_t s;

	if (idx < 0) {
		snprintf(err, errlen, "no profile named '%s'", name);
		return -ENOENT;
	}
	for (s = 1; s < ctl->t.max_slots; s++)
		if (ctl->entries[s] != NULL && ctl->entries[s]->profile == idx)
			users++;
	if (users > 0) {
		snprintf(err, errlen, "profile '%s' is used by %u subscribers", name, users);
		return -EBUSY;
	}
	if (journal_profile(ctl, (uint16_t)idx) < 0)
		return -ENOMEM;
	memset(&ctl->profiles[idx], 0, sizeof(ctl->profiles[idx]));
	return 0;
}

static int
id_key(const char *id, char key[SUB_ID_LEN])
{
	size_t n = strlen(id);

	if (n == 0 || n >= SUB_ID_LEN)
		return -EINVAL;
	memset(key, 0, SUB_ID_LEN);
	memcpy(key, id, n);
	return 0;
}

static int
slot_of(const struct sub_ctl *ctl, const char *id)
{
	char key[SUB_ID_LEN];
	void *data;

	if (id_key(id, key) < 0 || rte_hash_lookup_data(ctl->by_id, key, &data) < 0)
		return -ENOENT;
	return (int)(uintptr_t)data;
}

/* Record the ownership change of one key; on failure nothing changed. */
static int
own_set(struct rte_hash *h, const void *key, uint32_t slot)
{
	if (slot == 0) {
		rte_hash_del_key(h, key);
		return 0;
	}
	return rte_hash_add_key_data(h, key, (void *)(uintptr_t)slot) < 0 ? -ENOSPC : 0;
}

/* Make ownership follow @from -> @to for @slot (either may be NULL). */
static int
own_move(struct sub_ctl *ctl, const struct sub_entry *from, const struct sub_entry *to,
	 uint32_t slot)
{
	struct pfx_key pk;
	unsigned i;

	if (from != NULL) {
		for (i = 0; i < from->match.n_prefixes; i++) {
			make_pfx_key(&pk, &from->match.prefixes[i]);
			own_set(ctl->own_pfx, &pk, 0);
		}
		for (i = 0; i < from->match.n_l2; i++)
			own_set(ctl->own_l2, &from->match.l2[i], 0);
	}
	if (to != NULL) {
		for (i = 0; i < to->match.n_prefixes; i++) {
			make_pfx_key(&pk, &to->match.prefixes[i]);
			if (own_set(ctl->own_pfx, &pk, slot) < 0)
				return -ENOSPC;
		}
		for (i = 0; i < to->match.n_l2; i++)
			if (own_set(ctl->own_l2, &to->match.l2[i], slot) < 0)
				return -ENOSPC;
	}
	return 0;
}

static struct sub_entry *
entry_new(const char *id, const char *profile, uint16_t pidx, uint8_t avail,
	  const struct sub_match *m)
{
	size_t sz = sizeof(struct sub_entry) + m->n_prefixes * sizeof(struct inet_prefix) +
		    m->n_l2 * sizeof(struct sub_l2_key);
	struct sub_entry *e = calloc(1, sz);

	if (e == NULL)
		return NULL;
	snprintf(e->id, sizeof(e->id), "%s", id);
	snprintf(e->profile_name, sizeof(e->profile_name), "%s", profile);
	e->profile = pidx;
	e->avail = avail;
	e->match.prefixes = (struct inet_prefix *)(e + 1);
	e->match.n_prefixes = m->n_prefixes;
	/* Empty lists may come as NULL: copy only what there is. */
	if (m->n_prefixes > 0)
		memcpy(e->match.prefixes, m->prefixes, m->n_prefixes * sizeof(struct inet_prefix));
	e->match.l2 = (struct sub_l2_key *)(e->match.prefixes + m->n_prefixes);
	e->match.n_l2 = m->n_l2;
	if (m->n_l2 > 0)
		memcpy(e->match.l2, m->l2, m->n_l2 * sizeof(struct sub_l2_key));
	return e;
}

/* Validate @m for the subscriber in @slot: no key another subscriber owns. */
static int
check_match(const struct sub_ctl *ctl, const struct sub_match *m, uint32_t slot, char *err,
	    size_t errlen)
{
	char buf[INET_PREFIX_STRLEN];
	struct pfx_key pk;
	unsigned i, j;
	void *data;

	for (i = 0; i < m->n_prefixes; i++) {
		const struct inet_prefix *p = &m->prefixes[i];

		if (inet_prefix_has_host_bits(p) || p->len == 0) {
			snprintf(err, errlen, "match.prefixes[%u]: %s is not a subnet (host bits "
				 "set or /0)", i, inet_prefix_format(p, buf, sizeof(buf)));
			return -EINVAL;
		}
		for (j = 0; j < i; j++)
			if (p->len == m->prefixes[j].len &&
			    inet_addr_equal(&p->addr, &m->prefixes[j].addr)) {
				snprintf(err, errlen, "match.prefixes[%u]: %s is listed twice", i,
					 inet_prefix_format(p, buf, sizeof(buf)));
				return -EINVAL;
			}
		make_pfx_key(&pk, p);
		if (rte_hash_lookup_data(ctl->own_pfx, &pk, &data) >= 0 &&
		    (uint32_t)(uintptr_t)data != slot) {
			snprintf(err, errlen, "match.prefixes[%u]: %s belongs to subscriber '%s'", i,
				 inet_prefix_format(p, buf, sizeof(buf)),
				 ctl->entries[(uintptr_t)data]->id);
			return -EEXIST;
		}
	}
	for (i = 0; i < m->n_l2; i++) {
		for (j = 0; j < i; j++)
			if (memcmp(&m->l2[i], &m->l2[j], sizeof(m->l2[i])) == 0) {
				snprintf(err, errlen, "match.l2[%u]: listed twice", i);
				return -EINVAL;
			}
		if (rte_hash_lookup_data(ctl->own_l2, &m->l2[i], &data) >= 0 &&
		    (uint32_t)(uintptr_t)data != slot) {
			snprintf(err, errlen, "match.%s[%u]: belongs to subscriber '%s'",
				 m->l2[i].kind == SUB_L2_MAC ? "mac" : "vlan", i,
				 ctl->entries[(uintptr_t)data]->id);
			return -EEXIST;
		}
	}
	return 0;
}

/* Swap the entry of @slot for @e (NULL deletes), recording the change. */
static int
replace_entry(struct sub_ctl *ctl, uint32_t slot, struct sub_entry *e)
{
	struct sub_entry *old = ctl->entries[slot];
	struct change c;
	int ret;

	memset(&c, 0, sizeof(c));
	c.kind = CH_SUB;
	c.slot = slot;
	c.old = old;
	c.new = e;
	ret = push_change(ctl, &c);
	if (ret < 0)
		return ret;
	ret = own_move(ctl, old, e, slot);
	if (ret < 0) {
		/* Give the keys back to the old entry; drop the change. */
		own_move(ctl, e, old, slot);
		ctl->n_changes--;
		return ret;
	}
	ctl->entries[slot] = e;
	return 0;
}

int
sub_ctl_sub_upsert(struct sub_ctl *ctl, const char *id, const char *profile, uint8_t avail,
		   const struct sub_match *match, char *err, size_t errlen)
{
	char key[SUB_ID_LEN];
	struct sub_entry *e;
	int pidx, slot, ret;
	bool fresh = false;

	if (id_key(id, key) < 0) {
		snprintf(err, errlen, "id: 1 to %d bytes", SUB_ID_LEN - 1);
		return -EINVAL;
	}
	if (avail > SUB_WALLED) {
		snprintf(err, errlen, "availability: unknown value %u", avail);
		return -EINVAL;
	}
	pidx = find_profile(ctl, profile);
	if (pidx < 0) {
		snprintf(err, errlen, "profile: no profile named '%s'", profile);
		return -ENOENT;
	}
	slot = slot_of(ctl, id);
	if (slot < 0) {
		if (ctl->n_free == 0) {
			snprintf(err, errlen, "no room for more than %u subscribers",
				 ctl->t.max_slots - 1);
			return -ENOSPC;
		}
		slot = (int)ctl->free_slots[ctl->n_free - 1];
		fresh = true;
	}
	ret = check_match(ctl, match, (uint32_t)slot, err, errlen);
	if (ret < 0)
		return ret;
	e = entry_new(id, profile, (uint16_t)pidx, avail, match);
	if (e == NULL)
		return -ENOMEM;
	e->slot = (uint32_t)slot;
	if (fresh && rte_hash_add_key_data(ctl->by_id, key, (void *)(uintptr_t)slot) < 0) {
		free(e);
		snprintf(err, errlen, "id table full");
		return -ENOSPC;
	}
	ret = replace_entry(ctl, (uint32_t)slot, e);
	if (ret < 0) {
		if (fresh)
			rte_hash_del_key(ctl->by_id, key);
		free(e);
		snprintf(err, errlen, "match tables full");
		return ret;
	}
	if (fresh) {
		ctl->n_free--;
		ctl->n_subs++;
	}
	return 0;
}

static int
pending_free_push(struct sub_ctl *ctl, uint32_t slot)
{
	if (ctl->n_pending == ctl->cap_pending) {
		size_t cap = ctl->cap_pending ? ctl->cap_pending * 2 : 64;
		uint32_t *v = reallocarray(ctl->pending_free, cap, sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		ctl->pending_free = v;
		ctl->cap_pending = cap;
	}
	ctl->pending_free[ctl->n_pending++] = slot;
	return 0;
}

int
sub_ctl_sub_delete(struct sub_ctl *ctl, const char *id, char *err, size_t errlen)
{
	char key[SUB_ID_LEN];
	int slot = slot_of(ctl, id);
	int ret;

	if (slot < 0) {
		snprintf(err, errlen, "id: no subscriber '%s'", id);
		return -ENOENT;
	}
	ret = pending_free_push(ctl, (uint32_t)slot);
	if (ret < 0)
		return ret;
	ret = replace_entry(ctl, (uint32_t)slot, NULL);
	if (ret < 0) {
		ctl->n_pending--;
		return ret;
	}
	id_key(id, key);
	rte_hash_del_key(ctl->by_id, key);
	ctl->n_subs--;
	return 0;
}

int
sub_ctl_sub_avail(struct sub_ctl *ctl, const char *id, uint8_t avail, char *err, size_t errlen)
{
	int slot = slot_of(ctl, id);
	struct sub_entry *old, *e;
	int ret;

	if (slot < 0) {
		snprintf(err, errlen, "id: no subscriber '%s'", id);
		return -ENOENT;
	}
	if (avail > SUB_WALLED) {
		snprintf(err, errlen, "availability: unknown value %u", avail);
		return -EINVAL;
	}
	old = ctl->entries[slot];
	e = entry_new(old->id, old->profile_name, old->profile, avail, &old->match);
	if (e == NULL)
		return -ENOMEM;
	e->slot = (uint32_t)slot;
	ret = replace_entry(ctl, (uint32_t)slot, e);
	if (ret < 0)
		free(e);
	return ret;
}

int
sub_ctl_walled_set(struct sub_ctl *ctl, const struct inet_prefix *allow, unsigned n, char *err,
		   size_t errlen)
{
	struct change c;
	unsigned i;

	if (n > SUB_WALLED_MAX) {
		snprintf(err, errlen, "allow: more than %u prefixes", SUB_WALLED_MAX);
		return -EINVAL;
	}
	for (i = 0; i < n; i++)
		if (inet_prefix_has_host_bits(&allow[i])) {
			snprintf(err, errlen, "allow[%u]: host bits set", i);
			return -EINVAL;
		}
	memset(&c, 0, sizeof(c));
	c.kind = CH_WALLED;
	c.old_walled = malloc(sizeof(ctl->walled));
	if (c.old_walled == NULL)
		return -ENOMEM;
	memcpy(c.old_walled, ctl->walled, sizeof(ctl->walled));
	c.old_n_walled = ctl->n_walled;
	if (push_change(ctl, &c) < 0) {
		free(c.old_walled);
		return -ENOMEM;
	}
	memset(ctl->walled, 0, sizeof(ctl->walled));
	if (n > 0) /* an empty list may come as NULL */
		memcpy(ctl->walled, allow, n * sizeof(*allow));
	ctl->n_walled = n;
	return 0;
}

void
sub_ctl_abort(struct sub_ctl *ctl)
{
	size_t i;

	/* Undo in reverse: each change restores exactly what it replaced. */
	for (i = ctl->n_changes; i > 0; i--) {
		struct change *c = &ctl->changes[i - 1];
		char key[SUB_ID_LEN];

		switch (c->kind) {
		case CH_SUB:
			own_move(ctl, c->new, c->old, c->slot);
			ctl->entries[c->slot] = c->old;
			if (c->old == NULL) { /* created by the batch */
				id_key(c->new->id, key);
				rte_hash_del_key(ctl->by_id, key);
				ctl->free_slots[ctl->n_free++] = c->slot;
				ctl->n_subs--;
			} else if (c->new == NULL) { /* deleted by the batch */
				id_key(c->old->id, key);
				rte_hash_add_key_data(ctl->by_id, key, (void *)(uintptr_t)c->slot);
				ctl->n_subs++;
			}
			free(c->new);
			break;
		case CH_PROFILE:
			ctl->profiles[c->profile] = c->old_profile;
			break;
		case CH_WALLED:
			memcpy(ctl->walled, c->old_walled, sizeof(ctl->walled));
			ctl->n_walled = c->old_n_walled;
			free(c->old_walled);
			break;
		}
	}
	ctl->n_changes = 0;
	ctl->n_pending = 0;
	ctl->in_batch = false;
}

/* Set @s's copy of @slot's entry, in the state record of each direction. */
static void
set_slot_entry(const struct sub_tables *t, const struct sub_set *s, uint32_t slot,
	       struct sub_slot e)
{
	for (unsigned d = 0; d < SUB_DIRS; d++)
		sub_meter_of(t, slot, d)->slot[s->index] = e;
}

/* Write one subscriber change to @s: remove keys of @from, add keys of @to. */
static int
set_apply_sub(const struct sub_tables *t, struct sub_set *s, const struct sub_entry *from,
	      const struct sub_entry *to, uint32_t slot)
{
	unsigned i;
	int ret;

	if (from != NULL) {
		for (i = 0; i < from->match.n_prefixes; i++)
			set_del_prefix(s, &from->match.prefixes[i]);
		for (i = 0; i < from->match.n_l2; i++) {
			if (rte_hash_del_key(s->l2, &from->match.l2[i]) >= 0) {
				if (from->match.l2[i].kind == SUB_L2_MAC)
					s->n_mac--;
				else
					s->n_vlan--;
			}
		}
	}
	if (to == NULL) {
		set_slot_entry(t, s, slot, (struct sub_slot){0});
		return 0;
	}
	for (i = 0; i < to->match.n_prefixes; i++) {
		ret = set_add_prefix(s, &to->match.prefixes[i], slot);
		if (ret < 0)
			return ret;
	}
	for (i = 0; i < to->match.n_l2; i++) {
		void *data;
		bool existed = rte_hash_lookup_data(s->l2, &to->match.l2[i], &data) >= 0;

		if (rte_hash_add_key_data(s->l2, &to->match.l2[i], (void *)(uintptr_t)slot) < 0)
			return -ENOSPC;
		if (!existed) {
			if (to->match.l2[i].kind == SUB_L2_MAC)
				s->n_mac++;
			else
				s->n_vlan++;
		}
	}
	set_slot_entry(t, s, slot,
		       (struct sub_slot){.profile = to->profile, .avail = to->avail, .in_use = 1});
	return 0;
}

/* Apply changes [0, n) of the batch to @s, forwards or (undo) backwards. */
static int
set_apply(struct sub_ctl *ctl, struct sub_set *s, size_t n, bool undo)
{
	size_t k;
	int ret = 0;

	for (k = 0; k < n; k++) {
		const struct change *c = &ctl->changes[undo ? n - 1 - k : k];

		switch (c->kind) {
		case CH_SUB:
			ret = undo ? set_apply_sub(&ctl->t, s, c->new, c->old, c->slot)
				   : set_apply_sub(&ctl->t, s, c->old, c->new, c->slot);
			break;
		case CH_PROFILE:
			/* Profiles are values: the final one of the batch, or the old one. */
			s->profiles[c->profile] = undo ? c->old_profile.fp
						       : ctl->profiles[c->profile].fp;
			break;
		case CH_WALLED:
			if (undo) {
				memcpy(s->walled, c->old_walled, sizeof(s->walled));
				s->n_walled = c->old_n_walled;
			} else {
				memcpy(s->walled, ctl->walled, sizeof(s->walled));
				s->n_walled = ctl->n_walled;
			}
			break;
		}
		if (ret < 0 && !undo)
			return -(int)(k + 1); /* how many were (partly) applied */
	}
	return 0;
}

static void
reset_slot(struct sub_ctl *ctl, uint32_t slot)
{
	unsigned w, d;

	for (d = 0; d < SUB_DIRS; d++) {
		sub_meter_of(&ctl->t, slot, d)->configured = 0;
		for (w = 0; w < ctl->t.n_workers; w++) {
			memset(sub_hot_of(&ctl->t, w, slot, d), 0, sizeof(struct sub_count_hot));
			memset(sub_drops_of(&ctl->t, w, slot, d), 0, sizeof(struct sub_count_drops));
		}
	}
}

int
sub_ctl_commit(struct sub_ctl *ctl, char *err, size_t errlen)
{
	uint32_t active, standby;
	size_t i;
	int ret;

	if (!ctl->sets_ready) {
		struct sub_set *s0 = set_create(ctl, 0), *s1 = set_create(ctl, 1);

		if (s0 == NULL || s1 == NULL) {
			set_free(s0);
			set_free(s1);
			sub_ctl_abort(ctl);
			snprintf(err, errlen, "no memory for the subscriber tables (raise -m)");
			return -ENOMEM;
		}
		ctl->t.set[1] = s1;
		/* Release: workers that see set[0] (their "tables exist" test) see both whole. */
		__atomic_store_n(&ctl->t.set[0], s0, __ATOMIC_RELEASE);
		ctl->sets_ready = true;
	}
	active = ctl->t.active;
	standby = active ^ 1;
	ret = set_apply(ctl, ctl->t.set[standby], ctl->n_changes, false);
	if (ret < 0) {
		/* Bring the standby set back to what the active one holds. */
		set_apply(ctl, ctl->t.set[standby], (size_t)-ret, true);
		sub_ctl_abort(ctl);
		snprintf(err, errlen, "subscriber tables full (raise subscribers-max)");
		return -ENOSPC;
	}
	/* Release: a worker that loads the new index sees the whole batch. */
	__atomic_store_n(&ctl->t.active, standby, __ATOMIC_RELEASE);
	rte_rcu_qsbr_synchronize(ctl->qsv, RTE_QSBR_THRID_INVALID);
	/* No worker reads the old set now: bring it level. */
	set_apply(ctl, ctl->t.set[active], ctl->n_changes, false);
	/* Deleted subscribers' slots: no set names them, no worker holds them. */
	for (i = 0; i < ctl->n_pending; i++) {
		const struct sub_entry *gone;

		if (ctl->entries[ctl->pending_free[i]] != NULL)
			continue; /* deleted, then created again in the same batch */
		gone = deleted_entry(ctl, ctl->pending_free[i]);
		if (ctl->release_cb != NULL && gone != NULL)
			ctl->release_cb(ctl->release_arg, gone->id, ctl->pending_free[i]);
		reset_slot(ctl, ctl->pending_free[i]);
		ctl->free_slots[ctl->n_free++] = ctl->pending_free[i];
	}
	for (i = 0; i < ctl->n_changes; i++) {
		if (ctl->changes[i].kind == CH_SUB)
			free(ctl->changes[i].old);
		else if (ctl->changes[i].kind == CH_WALLED)
			free(ctl->changes[i].old_walled);
	}
	ctl->n_changes = 0;
	ctl->n_pending = 0;
	ctl->in_batch = false;
	return 0;
}

int
sub_ctl_clear(struct sub_ctl *ctl, char *err, size_t errlen)
{
	uint32_t s;
	unsigned i;
	int ret;

	for (s = 1; s < ctl->t.max_slots; s++) {
		if (ctl->entries[s] == NULL)
			continue;
		ret = sub_ctl_sub_delete(ctl, ctl->entries[s]->id, err, errlen);
		if (ret < 0)
			return ret;
	}
	for (i = 0; i < SUB_MAX_PROFILES; i++) {
		if (!ctl->profiles[i].in_use)
			continue;
		ret = sub_ctl_profile_delete(ctl, ctl->profiles[i].name, err, errlen);
		if (ret < 0)
			return ret;
	}
	return sub_ctl_walled_set(ctl, NULL, 0, err, errlen);
}

unsigned
sub_ctl_count(const struct sub_ctl *ctl)
{
	return ctl->n_subs;
}

unsigned
sub_ctl_profile_count(const struct sub_ctl *ctl)
{
	unsigned i, n = 0;

	for (i = 0; i < SUB_MAX_PROFILES; i++)
		n += ctl->profiles[i].in_use;
	return n;
}

static void
fill_info(const struct sub_entry *e, struct sub_info *ret)
{
	ret->id = e->id;
	ret->profile = e->profile_name;
	ret->slot = e->slot;
	ret->avail = e->avail;
	ret->match = &e->match;
}

int
sub_ctl_find(const struct sub_ctl *ctl, const char *id, struct sub_info *ret)
{
	int slot = slot_of(ctl, id);

	if (slot < 0)
		return -ENOENT;
	fill_info(ctl->entries[slot], ret);
	return 0;
}

int
sub_ctl_foreach(const struct sub_ctl *ctl, int (*fn)(const struct sub_info *, void *), void *arg)
{
	struct sub_info info;
	uint32_t s;
	int ret;

	for (s = 1; s < ctl->t.max_slots; s++) {
		if (ctl->entries[s] == NULL)
			continue;
		fill_info(ctl->entries[s], &info);
		ret = fn(&info, arg);
		if (ret != 0)
			return ret;
	}
	return 0;
}

int
sub_ctl_profile_find(const struct sub_ctl *ctl, const char *name,
		     struct sub_meter_params ret[SUB_DIRS])
{
	int idx = find_profile(ctl, name);

	if (idx < 0)
		return idx;
	memcpy(ret, ctl->profiles[idx].params, sizeof(ctl->profiles[idx].params));
	return 0;
}

int
sub_ctl_profile_foreach(const struct sub_ctl *ctl,
			int (*fn)(const char *name, const struct sub_meter_params *p, void *),
			void *arg)
{
	unsigned i;
	int ret;

	for (i = 0; i < SUB_MAX_PROFILES; i++) {
		if (!ctl->profiles[i].in_use)
			continue;
		ret = fn(ctl->profiles[i].name, ctl->profiles[i].params, arg);
		if (ret != 0)
			return ret;
	}
	return 0;
}

void
sub_counters_read(const struct sub_tables *t, uint32_t slot, struct sub_counters *ret)
{
	unsigned w, d, i;

	memset(ret, 0, sizeof(*ret) * SUB_DIRS);
	for (w = 0; w < t->n_workers; w++) {
		for (d = 0; d < SUB_DIRS; d++) {
			/* One writer per counter; aligned 64-bit loads do not tear. */
			const struct sub_count_hot *c = sub_hot_of(t, w, slot, d);
			const struct sub_count_drops *x = sub_drops_of(t, w, slot, d);
			struct sub_counters *r = &ret[d];

			r->fwd_packets += __atomic_load_n(&c->fwd_packets, __ATOMIC_RELAXED);
			r->fwd_bytes += __atomic_load_n(&c->fwd_bytes, __ATOMIC_RELAXED);
			for (i = 0; i < SUB_COLOURS; i++) {
				r->colour_packets[i] +=
					__atomic_load_n(&c->colour_packets[i], __ATOMIC_RELAXED);
				r->colour_bytes[i] +=
					__atomic_load_n(&c->colour_bytes[i], __ATOMIC_RELAXED);
			}
			for (i = 0; i < SUB_DROP_MAX; i++) {
				r->drop_packets[i] += __atomic_load_n(&x->packets[i], __ATOMIC_RELAXED);
				r->drop_bytes[i] += __atomic_load_n(&x->bytes[i], __ATOMIC_RELAXED);
			}
		}
	}
}
