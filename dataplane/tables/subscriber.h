/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_DATAPLANE_SUBSCRIBER_H
#define CUCO_DATAPLANE_SUBSCRIBER_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_hash.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>
#include <rte_meter.h>
#include <rte_rcu_qsbr.h>
#include <rte_spinlock.h>

#include "common/inet.h"
#include "dataplane/tables/host4.h"

/*
 * Subscribers and their bandwidth profiles, as the fast path sees them.
 *
 * A subscriber occupies a slot (1..max; slot 0 is "unknown"). What maps
 * packets to slots, and what each slot and profile says, lives in a table
 * set; there are two sets. A batch of changes is written to the standby
 * set, which is then published, and once every worker is past a quiescent
 * state the same changes bring the other set level. So a worker sees a
 * whole batch or none of it, and never waits.
 *
 * What must survive a batch is outside the sets, indexed by slot: meter
 * state (tokens) and counters (per worker). A profile change therefore takes
 * effect on the next packet and resets no counter.
 */

#define SUB_SLOT_UNKNOWN 0u
#define SUB_MAX_PROFILES 1024u
#define SUB_WALLED_MAX 64u /* walled-garden allow-list prefixes */

enum sub_dir {
	SUB_UP,   /* from the subscriber: classified by source */
	SUB_DOWN, /* to the subscriber: classified by destination */
	SUB_DIRS,
};

enum sub_avail {
	SUB_ACTIVE,
	SUB_SUSPENDED,
	SUB_WALLED, /* DNS and the allow-list only */
};

enum sub_colour {
	SUB_GREEN,
	SUB_YELLOW,
	SUB_RED,
	SUB_COLOURS,
};

enum sub_action {
	SUB_ACT_FORWARD,
	SUB_ACT_REMARK, /* set DSCP, then forward */
	SUB_ACT_DROP,
};

enum sub_meter_mode {
	SUB_METER_NONE,    /* unlimited: every packet green */
	SUB_METER_RFC2698,
	SUB_METER_RFC4115,
};

#define SUB_DROP_REASONS(X)              \
	X(SUSPENDED, "suspended")         \
	X(WALLED_GARDEN, "walled_garden") \
	X(METER, "meter")                 \
	X(UNKNOWN, "unknown")             \
	X(SHAPER, "shaper")

#define SUB_REASON_ENUM(e, s) SUB_DROP_##e,
enum sub_drop_reason {
	SUB_DROP_REASONS(SUB_REASON_ENUM)
	SUB_DROP_MAX
};
#undef SUB_REASON_ENUM

extern const char *const sub_drop_names[SUB_DROP_MAX];
extern const char *const sub_colour_names[SUB_COLOURS];

/* One direction of a profile: the meter and what to do with each colour. */
struct sub_meter_profile {
	uint8_t mode; /* enum sub_meter_mode */
	uint8_t action[SUB_COLOURS];
	uint8_t dscp[SUB_COLOURS]; /* for SUB_ACT_REMARK */
	uint8_t shape;        /* downstream: queue and release at shape_rate, not police */
	uint32_t version;     /* changes with every upsert of the profile, never 0 */
	uint64_t shape_rate;  /* bytes/s (the CIR) */
	uint64_t shape_size;  /* bytes (the CBS) */
	union {
		struct rte_meter_trtcm_profile rfc2698;
		struct rte_meter_trtcm_rfc4115_profile rfc4115;
	};
};

struct sub_profile {
	struct sub_meter_profile dir[SUB_DIRS];
};

struct sub_slot {
	uint16_t profile;
	uint8_t avail; /* enum sub_avail */
	uint8_t in_use;
};

/* Key of the L2 classification hash. */
struct sub_l2_key {
	uint8_t kind; /* SUB_L2_VLAN or SUB_L2_MAC */
	uint8_t port;
	uint16_t outer;
	uint16_t inner; /* 0: single tag */
	uint8_t mac[6];
	uint8_t pad[4]; /* 16 bytes: rte_hash compares those with vector code */
};

#define SUB_L2_VLAN 1
#define SUB_L2_MAC 2

/* Key of the IPv6 host-address hash: a subscriber's /128. */
struct sub_host_key {
	uint8_t family;
	uint8_t pad[15]; /* 32 bytes: rte_hash compares those with vector code, not memcmp */
	uint8_t addr[16];
};

/* One table set: read by workers, written only while not published. */
struct sub_set {
	/*
	 * Host addresses (/32, /128: most subscribers) go in exact-match
	 * tables: rte_lpm scans every rule of a depth to add one, which makes
	 * a million /32s quadratic. IPv4 ones in a table of one cache line per
	 * lookup that the burst prefetches (host4.h), IPv6 ones in a hash.
	 * Shorter prefixes go in the LPM tables.
	 */
	struct host4 host4;     /* IPv4 address -> slot */
	uint32_t n_host4;
	struct rte_hash *host;  /* struct sub_host_key (IPv6) -> slot */
	uint32_t n_host;
	uint32_t n_pfx4, n_pfx6; /* prefixes in lpm4, lpm6: skip lookups when 0 */
	struct rte_lpm *lpm4;  /* prefix -> slot */
	struct rte_lpm6 *lpm6;
	struct rte_hash *l2;   /* struct sub_l2_key -> slot */
	uint32_t n_vlan;       /* entries of each kind in l2: skip lookups when 0 */
	uint32_t n_mac;
	unsigned index;        /* 0 or 1: its copy of each slot's entry (sub_slot_of()) */
	struct sub_profile *profiles;
	struct inet_prefix walled[SUB_WALLED_MAX];
	uint32_t n_walled;
};

/*
 * Per slot and direction, shared by workers: the meter, and the slot's
 * entry (profile, availability) as each of the two table sets has it. The
 * entries belong to the sets: the control thread writes a set's copy only
 * while no worker reads that set, as it does the set's other tables.
 */
struct sub_meter_state {
	rte_spinlock_t lock;  /* taken only with more than one worker */
	uint16_t profile;     /* what the context was configured for */
	uint8_t mode;
	uint8_t configured;
	union {
		struct rte_meter_trtcm rfc2698;
		struct rte_meter_trtcm_rfc4115 rfc4115;
	};
	struct sub_slot slot[2]; /* [set->index] */
} __rte_cache_aligned;

/* Usage of a slot and direction as read: summed over workers. */
struct sub_counters {
	uint64_t fwd_packets;
	uint64_t fwd_bytes;
	uint64_t colour_packets[SUB_COLOURS];
	uint64_t colour_bytes[SUB_COLOURS];
	uint64_t drop_packets[SUB_DROP_MAX];
	uint64_t drop_bytes[SUB_DROP_MAX];
};

/* What every packet a worker passes adds: one line per worker, slot and direction. */
struct sub_count_hot {
	uint64_t fwd_packets;
	uint64_t fwd_bytes;
	uint64_t colour_packets[SUB_COLOURS];
	uint64_t colour_bytes[SUB_COLOURS];
} __rte_cache_aligned;

/* What only drops add, per worker, slot and direction: read rarely. */
struct sub_count_drops {
	uint64_t packets[SUB_DROP_MAX];
	uint64_t bytes[SUB_DROP_MAX];
};

/*
 * What workers hold: the published set and the per-slot state.
 *
 * The state a packet reads and writes at random is laid out so that one
 * packet touches one record of one page: per direction, then per slot, a
 * record of a line with the meter and the slot's entry, followed by one
 * counter line per worker (sub_meter_of(), sub_slot_of(), sub_hot_of()). Each cold line of a random subscriber
 * costs an address translation on top of the miss (on a virtual machine, a
 * nested page walk): adjacent lines share it. Drop counters, written only
 * when a packet is dropped, live apart (sub_drops_of()).
 */
struct sub_tables {
	struct sub_set *set[2];
	uint32_t active;       /* index in set[] workers read */
	uint32_t max_slots;    /* slots 0..max_slots-1 */
	unsigned n_workers;
	uint8_t *state;        /* [dir][slot] records of state_stride bytes */
	size_t state_stride;   /* (1 + n_workers) lines */
	struct sub_count_drops **drops; /* [worker][dir * max_slots + slot] */
};

static inline struct sub_meter_state *
sub_meter_of(const struct sub_tables *t, uint32_t slot, unsigned dir)
{
	return (struct sub_meter_state *)(t->state + ((size_t)dir * t->max_slots + slot) *
							     t->state_stride);
}

/* The entry of @slot as set @s has it. */
static inline const struct sub_slot *
sub_slot_of(const struct sub_tables *t, const struct sub_set *s, uint32_t slot, unsigned dir)
{
	return &sub_meter_of(t, slot, dir)->slot[s->index];
}

static inline struct sub_count_hot *
sub_hot_of(const struct sub_tables *t, unsigned worker, uint32_t slot, unsigned dir)
{
	return (struct sub_count_hot *)(sub_meter_of(t, slot, dir) + 1) + worker;
}

static inline struct sub_count_drops *
sub_drops_of(const struct sub_tables *t, unsigned worker, uint32_t slot, unsigned dir)
{
	return &t->drops[worker][(size_t)dir * t->max_slots + slot];
}

static inline const struct sub_set *
sub_active_set(const struct sub_tables *t)
{
	/* Acquire: pairs with the release that publishes a finished set. */
	return t->set[__atomic_load_n(&t->active, __ATOMIC_ACQUIRE)];
}

/* Control side: the control thread only. */
struct sub_ctl;

/*
 * Create the tables for @max_slots subscribers (slot 0 included) and
 * @n_workers workers waiting on @qsv. Returns 0 or -ENOMEM.
 */
int sub_ctl_create(uint32_t max_slots, unsigned n_workers, struct rte_rcu_qsbr *qsv,
		   struct sub_ctl **ret_ctl);
struct sub_ctl *sub_ctl_free(struct sub_ctl *ctl);

const struct sub_tables *sub_ctl_tables(const struct sub_ctl *ctl);

/* Parameters of one direction of a profile, as the protocol carries them. */
struct sub_meter_params {
	uint8_t mode;           /* enum sub_meter_mode */
	uint64_t cir, pir;      /* bits per second; pir is EIR for RFC 4115 */
	uint64_t cbs, pbs;      /* bytes; pbs is EBS for RFC 4115 */
	uint8_t action[SUB_COLOURS];
	uint8_t dscp[SUB_COLOURS];
	bool shape;             /* downstream only: shape at cir/cbs instead of policing */
};

struct sub_match {
	struct inet_prefix *prefixes;
	unsigned n_prefixes;
	struct sub_l2_key *l2; /* kind, port and vlan or mac set */
	unsigned n_l2;
};

/*
 * A batch: sub_ctl_begin(), any number of operations, then sub_ctl_commit()
 * or sub_ctl_abort(). An operation that fails returns a negative errno with
 * @err naming the reason, and the caller aborts the batch: nothing of it is
 * left anywhere. Commit makes the whole batch visible to workers at once.
 */
void sub_ctl_begin(struct sub_ctl *ctl);
int sub_ctl_profile_upsert(struct sub_ctl *ctl, const char *name,
			   const struct sub_meter_params params[SUB_DIRS], char *err, size_t errlen);
int sub_ctl_profile_delete(struct sub_ctl *ctl, const char *name, char *err, size_t errlen);
int sub_ctl_sub_upsert(struct sub_ctl *ctl, const char *id, const char *profile, uint8_t avail,
		       const struct sub_match *match, char *err, size_t errlen);
int sub_ctl_sub_delete(struct sub_ctl *ctl, const char *id, char *err, size_t errlen);
int sub_ctl_sub_avail(struct sub_ctl *ctl, const char *id, uint8_t avail, char *err,
		      size_t errlen);
int sub_ctl_walled_set(struct sub_ctl *ctl, const struct inet_prefix *allow, unsigned n,
		       char *err, size_t errlen);
/* Returns 0, or a negative errno with @err (a table is full); then nothing changed. */
int sub_ctl_commit(struct sub_ctl *ctl, char *err, size_t errlen);
void sub_ctl_abort(struct sub_ctl *ctl);

/*
 * Called by sub_ctl_commit() for each subscriber the batch deleted, once no
 * worker can count for it any more and before its counters are zeroed: the
 * last chance to report its final usage. @id is valid during the call.
 */
typedef void (*sub_release_cb)(void *arg, const char *id, uint32_t slot);
void sub_ctl_on_release(struct sub_ctl *ctl, sub_release_cb cb, void *arg);

/* Remove every subscriber and profile (a full resync starts with this). */
int sub_ctl_clear(struct sub_ctl *ctl, char *err, size_t errlen);

/* Read side for the agent and telemetry. */
struct sub_info {
	const char *id;
	const char *profile;
	uint32_t slot;
	uint8_t avail;
	const struct sub_match *match;
};

unsigned sub_ctl_count(const struct sub_ctl *ctl);
unsigned sub_ctl_profile_count(const struct sub_ctl *ctl);
/* Find by id; returns 0 with @ret filled (valid until the next change) or -ENOENT. */
int sub_ctl_find(const struct sub_ctl *ctl, const char *id, struct sub_info *ret);
/* Call @fn for each subscriber in slot order; stops when @fn returns non-zero. */
int sub_ctl_foreach(const struct sub_ctl *ctl, int (*fn)(const struct sub_info *, void *),
		    void *arg);
/* Profile by name: its parameters; -ENOENT if none. */
int sub_ctl_profile_find(const struct sub_ctl *ctl, const char *name,
			 struct sub_meter_params ret[SUB_DIRS]);
int sub_ctl_profile_foreach(const struct sub_ctl *ctl,
			    int (*fn)(const char *name, const struct sub_meter_params *p, void *),
			    void *arg);

/* Sum a slot's counters over workers; @ret has SUB_DIRS entries. */
void sub_counters_read(const struct sub_tables *t, uint32_t slot, struct sub_counters *ret);

#endif
