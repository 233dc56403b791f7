/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_BSS_NETWORK_MODEL_H
#define CUCO_BSS_NETWORK_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/inet.h"

/*
 * The network domain's pure rules, without a database: address pools and
 * the allocation of their prefixes, the mapping of a service to the
 * dataplane's provisioning changes (common/proto/dpproto.h), and the
 * circuit breaker that guards each dataplane. Unit-tested alone.
 */

#define NET_NAME_MAX 64
#define NET_POOL_EXCLUDE_MAX 64

/* ---- pools -------------------------------------------------------------------- */

/*
 * A pool: @prefix cut into prefixes of @length (IPv4 /32 for a host, IPv6
 * /64 or /56 for a customer), in order, skipping those that overlap one of
 * @exclude (the network's own addresses, its gateway, its broadcast).
 */
struct net_pool {
	struct inet_prefix prefix;
	uint8_t length;
	struct inet_prefix exclude[NET_POOL_EXCLUDE_MAX];
	unsigned n_exclude;
};

/*
 * Fill @p from its JSON form {"prefix", "length"?, "exclude"?: [...]}
 * (length defaults to 32 for IPv4, 64 for IPv6). Returns 0, or -EINVAL with
 * @field (a JSON pointer) and @err naming the value and what is allowed.
 */
int net_pool_parse(const json_t *doc, struct net_pool *p, char field[64], char *err,
		   size_t errlen);

/* How many prefixes of its length the pool is cut into (saturates at 2^63). */
uint64_t net_pool_size(const struct net_pool *p);

/* The @i-th prefix of the pool (0-based). Returns 0, or -ERANGE past the end. */
int net_pool_nth(const struct net_pool *p, uint64_t i, struct inet_prefix *ret);

/* Index of @x in the pool. Returns 0, or -EINVAL when @x is not one of its prefixes. */
int net_pool_index(const struct net_pool *p, const struct inet_prefix *x, uint64_t *ret);

/*
 * The first prefix of the pool that is neither excluded nor in @used
 * (indexes, sorted ascending, no duplicates). Returns 0 with the prefix and
 * its index, or -ENOSPC when the pool is exhausted.
 */
int net_pool_first_free(const struct net_pool *p, const uint64_t *used, size_t n_used,
			struct inet_prefix *ret, uint64_t *ret_index);

/* ---- services -> provisioning changes ----------------------------------------- */

/*
 * A service as the dataplane sees it. @profile is the catalog's bandwidth
 * profile document (name, up, down; other members ignored); @prefixes an
 * array of prefix strings; @vlan 0 for none.
 */
struct net_service_view {
	const char *id;
	const json_t *profile;
	const char *availability; /* "active", "suspended", "walled-garden" */
	unsigned vlan;
	const char *mac;          /* NULL for none */
	const json_t *prefixes;
};

/* {"op": "profile.upsert", "name", "up", "down"} of @profile; NULL when it has no name. */
json_t *net_profile_change(const json_t *profile);

/* {"op": "subscriber.upsert", ...} of @s, its VLAN on access port @port. */
json_t *net_subscriber_change(const struct net_service_view *s, const char *port);

/* {"op": "subscriber.delete", "id"}. */
json_t *net_delete_change(const char *id);

/*
 * Check @changes exactly as the dataplane will (dpp_decode of a batch).
 * Returns 0, or -EINVAL with the dataplane's field and reason in @err.
 */
int net_changes_check(const json_t *changes, char *err, size_t errlen);

/* Whether @s is a service availability ("active", "suspended", "walled-garden"). */
bool net_availability_valid(const char *s);

/* Whether @s is a TMF638 ServiceStateType. */
bool net_service_state_valid(const char *s);

/* ---- circuit breaker ------------------------------------------------------------ */

enum net_circuit { NET_CIRCUIT_CLOSED, NET_CIRCUIT_OPEN, NET_CIRCUIT_HALF_OPEN };

/*
 * closed: calls go through; @threshold failures in a row open it.
 * open: calls are refused until @retry_at_ms, then one trial call goes
 * (half-open). half-open: the trial's success closes it; its failure opens
 * it again for twice the previous delay (at most @max_ms).
 */
struct net_breaker {
	enum net_circuit state;
	unsigned failures;
	unsigned threshold;
	uint64_t base_ms, max_ms, delay_ms;
	uint64_t retry_at_ms;
	bool trial; /* half-open: the trial call is out */
};

void net_breaker_init(struct net_breaker *b, unsigned threshold, uint64_t base_ms,
		      uint64_t max_ms);

/* Whether a call may go now; moves open to half-open when the delay is over. */
bool net_breaker_allow(struct net_breaker *b, uint64_t now_ms);

/* Record the outcome of an allowed call. Returns true when the state changed. */
bool net_breaker_success(struct net_breaker *b);
bool net_breaker_failure(struct net_breaker *b, uint64_t now_ms);

/* "closed", "open", "half-open". */
const char *net_circuit_name(enum net_circuit c);

#endif
