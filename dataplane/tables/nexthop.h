/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_DATAPLANE_NEXTHOP_H
#define CUCO_DATAPLANE_NEXTHOP_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_rcu_qsbr.h>

#include "common/inet.h"

/*
 * Next hops: what a route lookup resolves to.
 *
 * The fast path reads one 64-bit word per next hop, so that a worker never
 * sees a MAC of one neighbour with the port of another while the control
 * thread updates it:
 *   bits 0..3   kind (enum nh_kind)
 *   bit  4      resolved: the MAC is known
 *   bits 8..15  port index (dp_port)
 *   bits 16..63 destination MAC, first byte lowest
 * Ids below NH_FIRST_DYNAMIC are fixed: 0 is never used (an LPM miss), then
 * "local" (punt to the kernel), "blackhole", and one "connected, neighbour
 * unknown" next hop per port. The rest are gateways and neighbours, keyed by
 * (address, port) on the control side and reference counted, and groups.
 *
 * Each next hop also has a VLAN word (struct nh_entry.vlan, beside its word,
 * in the same cache line): the tags a packet sent to it carries, 0 for none.
 * The VLAN is part of a next hop's key (a neighbour learned on tap-cust0.100
 * is (address, cust0, VLAN 100)), so it never changes while the id lives:
 * it is written before the word is published and needs no atomic read.
 * Connected next hops of a port's VLANs are dynamic ids of kind
 * NH_KIND_CONNECTED keyed by (port, VLAN) without an address.
 *
 * A group (ECMP) is a next hop of kind NH_KIND_GROUP whose bits 16..31 name
 * a slot of the group table: 2 to NH_GROUP_MAX_MEMBERS member next hops
 * (never groups). A group is immutable while a word names it: a change of
 * members is a new group, which the route is switched to; the old one is
 * freed after a QSBR grace period. So a worker never sees a half-written
 * member list. The same set of members is the same group (shared, reference
 * counted like the rest).
 */

#define NH_MAX (1u << 16)
#define NH_GROUP_MAX 4096u
#define NH_GROUP_MAX_MEMBERS 16u

enum nh_kind {
	NH_KIND_INVALID = 0,
	NH_KIND_LOCAL,     /* for the appliance: punt */
	NH_KIND_CONNECTED, /* on a port's subnet, neighbour unknown: punt to resolve */
	NH_KIND_GATEWAY,   /* a neighbour: forward when resolved, else punt */
	NH_KIND_BLACKHOLE,
	NH_KIND_GROUP,     /* ECMP: one member per flow (nh_group_pick) */
};

#define NH_ID_LOCAL 1u
#define NH_ID_BLACKHOLE 2u
#define NH_ID_CONNECTED(port) (3u + (port))
#define NH_FIRST_DYNAMIC 32u

#define NH_RESOLVED (1u << 4)

/*
 * Members sorted by id, unused ones 0: also the key that finds a group
 * (36 bytes: rte_jhash reads whole 32-bit words).
 */
struct nh_group {
	uint32_t n;
	uint16_t member[NH_GROUP_MAX_MEMBERS];
};

/*
 * The VLAN word: 0 untagged; else the outer VLAN id in bits 0..11 and the
 * inner one in bits 16..27 (0: a single tag). One tag is 802.1Q (0x8100);
 * a pair is 802.1ad outside (0x88a8) and 802.1Q inside (QinQ).
 */
#define NH_VLAN(outer, inner) ((uint32_t)((outer) & 0xfff) | ((uint32_t)((inner) & 0xfff) << 16))

static inline uint16_t
nh_vlan_outer(uint32_t v)
{
	return (uint16_t)(v & 0xfff);
}

static inline uint16_t
nh_vlan_inner(uint32_t v)
{
	return (uint16_t)((v >> 16) & 0xfff);
}

/* Number of tags a VLAN word asks for: 0, 1 or 2. */
static inline unsigned
nh_vlan_tags(uint32_t v)
{
	return v == 0 ? 0 : nh_vlan_inner(v) != 0 ? 2 : 1;
}

struct nh_entry {
	uint64_t word;
	uint32_t vlan; /* fixed for the id's life: see above */
	uint32_t rsvd;
};

struct nh_table {
	struct nh_entry e[NH_MAX];
	struct nh_group group[NH_GROUP_MAX];
};

static inline enum nh_kind
nh_word_kind(uint64_t w)
{
	return (enum nh_kind)(w & 0xf);
}

static inline bool
nh_word_resolved(uint64_t w)
{
	return (w & NH_RESOLVED) != 0;
}

static inline uint8_t
nh_word_port(uint64_t w)
{
	return (uint8_t)(w >> 8);
}

/* Group slot named by a word of kind NH_KIND_GROUP. */
static inline uint16_t
nh_word_group(uint64_t w)
{
	return (uint16_t)(w >> 16);
}

/* Write the MAC of @w to @dst (6 bytes). */
static inline void
nh_word_mac(uint64_t w, struct rte_ether_addr *dst)
{
	uint64_t le = rte_cpu_to_le_64(w >> 16);

	memcpy(dst->addr_bytes, &le, RTE_ETHER_ADDR_LEN);
}

static inline uint64_t
nh_word_make(enum nh_kind kind, bool resolved, uint8_t port, const struct rte_ether_addr *mac)
{
	uint64_t m = 0;

	if (mac != NULL) {
		memcpy(&m, mac->addr_bytes, RTE_ETHER_ADDR_LEN);
		m = rte_le_to_cpu_64(m);
	}
	return (uint64_t)kind | (resolved ? NH_RESOLVED : 0) | ((uint64_t)port << 8) | (m << 16);
}

/* Worker side: the word of next hop @id. */
static inline uint64_t
nh_read(const struct nh_table *t, uint32_t id)
{
	/* Relaxed: the word is self-contained; see the layout above. */
	return __atomic_load_n(&t->e[id].word, __ATOMIC_RELAXED);
}

/* Worker side: the VLAN word of next hop @id (fixed while @id is in use). */
static inline uint32_t
nh_read_vlan(const struct nh_table *t, uint32_t id)
{
	return t->e[id].vlan;
}

/*
 * Worker side: the id of the member of group word @w that a flow of hash
 * @hash takes. Members are picked by multiplying the hash into [0, n)
 * (Lemire's reduction: the high bits decide, no division); the same hash
 * always gives the same member while the group is in force.
 */
static inline uint32_t
nh_group_member(const struct nh_table *t, uint64_t w, uint32_t hash)
{
	const struct nh_group *g;

	/*
	 * Acquire: pairs with the release store that published @w, which the
	 * control thread made after writing the group; the group does not change
	 * while any word names it (it is freed only after a grace period).
	 */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	g = &t->group[nh_word_group(w)];
	return g->member[((uint64_t)hash * g->n) >> 32];
}

/* Worker side: the word of that member (see nh_group_member()). */
static inline uint64_t
nh_group_pick(const struct nh_table *t, uint64_t w, uint32_t hash)
{
	return nh_read(t, nh_group_member(t, w, hash));
}

/* Control side. All functions below run on the control thread only. */
struct nh_ctl;

/*
 * Allocate the table (in DPDK memory, shared with workers) for @n_ports
 * ports. @qsv is the workers' QSBR variable, waited on before an id is
 * reused. Returns 0 or -ENOMEM.
 */
int nh_ctl_create(unsigned n_ports, struct rte_rcu_qsbr *qsv, struct nh_ctl **ret_ctl);
struct nh_ctl *nh_ctl_free(struct nh_ctl *ctl);

/* The table the workers read. */
const struct nh_table *nh_ctl_table(const struct nh_ctl *ctl);

/*
 * Take a reference on the gateway next hop (@addr, @port), creating it
 * (unresolved) if needed. Returns its id, or -ENOSPC when the table is full.
 */
int nh_ctl_get(struct nh_ctl *ctl, const struct inet_addr *addr, uint8_t port);

/* As nh_ctl_get(), for a gateway on VLAN @vlan (NH_VLAN()) of @port; 0 is untagged. */
int nh_ctl_get_vlan(struct nh_ctl *ctl, const struct inet_addr *addr, uint8_t port,
		    uint32_t vlan);

/*
 * Take a reference on the connected next hop of VLAN @vlan (non-zero) of
 * @port, creating it if needed: what a route to that VLAN's subnet names
 * (punt to resolve, classified and tagged as that VLAN's). Returns its id,
 * or -ENOSPC.
 */
int nh_ctl_connected_vlan(struct nh_ctl *ctl, uint8_t port, uint32_t vlan);

/*
 * Drop a reference taken by nh_ctl_get(), nh_ctl_ref() or nh_ctl_group_get();
 * the id is reused only after workers are quiescent. The last reference on a
 * group also drops the group's references on its members.
 */
void nh_ctl_put(struct nh_ctl *ctl, uint32_t id);

/* Take one more reference on dynamic next hop @id (fixed ids need none). */
void nh_ctl_ref(struct nh_ctl *ctl, uint32_t id);

/*
 * Take a reference on the group of the @n next hops @members (gateways
 * with a reference held, or connected next hops; duplicates count once; any
 * order),
 * creating it if needed: the group holds its own reference on each member,
 * the caller keeps its references. With a single distinct member, that
 * member is returned (with a reference) instead of a group. Returns the id,
 * -EINVAL (@n is 0 or over NH_GROUP_MAX_MEMBERS, or a member is neither),
 * or -ENOSPC when no id or group slot is left.
 */
int nh_ctl_group_get(struct nh_ctl *ctl, const uint32_t *members, unsigned n);

/* Number of groups in use. */
unsigned nh_ctl_group_count(const struct nh_ctl *ctl);

/* Find the id of (@addr, @port) without taking a reference; -ENOENT if none. */
int nh_ctl_find(const struct nh_ctl *ctl, const struct inet_addr *addr, uint8_t port);

/* As nh_ctl_find(), on VLAN @vlan of @port. */
int nh_ctl_find_vlan(const struct nh_ctl *ctl, const struct inet_addr *addr, uint8_t port,
		     uint32_t vlan);

/* Set (@mac != NULL) or clear the resolution of next hop @id. */
void nh_ctl_resolve(struct nh_ctl *ctl, uint32_t id, const struct rte_ether_addr *mac);

/*
 * A neighbour (@addr on @port) was learned with @mac: the next hop exists,
 * holds one reference for the neighbour, and is resolved. Returns its id,
 * or -ENOSPC.
 */
int nh_ctl_learn(struct nh_ctl *ctl, const struct inet_addr *addr, uint8_t port,
		 const struct rte_ether_addr *mac);

/* As nh_ctl_learn(), for a neighbour on VLAN @vlan of @port. */
int nh_ctl_learn_vlan(struct nh_ctl *ctl, const struct inet_addr *addr, uint8_t port,
		      uint32_t vlan, const struct rte_ether_addr *mac);

/*
 * The neighbour is gone: the next hop is unresolved and loses the
 * neighbour's reference. The caller removes routes naming it first.
 * Returns the id it had, or -ENOENT if the neighbour was not learned.
 */
int nh_ctl_forget(struct nh_ctl *ctl, const struct inet_addr *addr, uint8_t port);

/* As nh_ctl_forget(), for a neighbour on VLAN @vlan of @port. */
int nh_ctl_forget_vlan(struct nh_ctl *ctl, const struct inet_addr *addr, uint8_t port,
		       uint32_t vlan);

/* Number of dynamic next hops in use. */
unsigned nh_ctl_count(const struct nh_ctl *ctl);

#endif
