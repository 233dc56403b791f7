/* SPDX-License-Identifier: BSD-3-Clause */
/* The network domain's pure rules: pools, service -> dataplane changes, circuit breaker. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bss/network/model.h"
#include "common/proto/dpproto.h"

/* ---- pools -------------------------------------------------------------------- */

/* An address as a 128-bit number (IPv4: the low 32 bits). */
struct u128 {
	uint64_t hi, lo;
};

static struct u128
addr_num(const struct inet_addr *a)
{
	struct u128 n = {0, 0};

	if (a->family == AF_INET) {
		n.lo = ntohl(a->v4.s_addr);
		return n;
	}
	for (int i = 0; i < 8; i++)
		n.hi = n.hi << 8 | a->v6.s6_addr[i];
	for (int i = 8; i < 16; i++)
		n.lo = n.lo << 8 | a->v6.s6_addr[i];
	return n;
}

static void
num_addr(struct u128 n, uint8_t family, struct inet_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = family;
	if (family == AF_INET) {
		a->v4.s_addr = htonl((uint32_t)n.lo);
		return;
	}
	for (int i = 15; i >= 8; i--, n.lo >>= 8)
		a->v6.s6_addr[i] = (uint8_t)n.lo;
	for (int i = 7; i >= 0; i--, n.hi >>= 8)
		a->v6.s6_addr[i] = (uint8_t)n.hi;
}

static struct u128
shl(uint64_t v, unsigned bits)
{
	struct u128 r = {0, 0};

	if (bits >= 128)
		return r;
	if (bits >= 64) {
		r.hi = v << (bits - 64);
	} else if (bits == 0) {
		r.lo = v;
	} else {
		r.lo = v << bits;
		r.hi = v >> (64 - bits);
	}
	return r;
}

static struct u128
add(struct u128 a, struct u128 b)
{
	struct u128 r = {a.hi + b.hi, a.lo + b.lo};

	if (r.lo < a.lo)
		r.hi++;
	return r;
}

static struct u128
sub(struct u128 a, struct u128 b)
{
	struct u128 r = {a.hi - b.hi, a.lo - b.lo};

	if (a.lo < b.lo)
		r.hi--;
	return r;
}

int
net_pool_parse(const json_t *doc, struct net_pool *p, char field[64], char *err, size_t errlen)
{
	const char *s = json_string_value(json_object_get(doc, "prefix"));
	json_t *len = json_object_get(doc, "length"), *ex = json_object_get(doc, "exclude"), *v;
	unsigned bits;
	size_t i;

	memset(p, 0, sizeof(*p));
	snprintf(field, 64, "/prefix");
	if (s == NULL || inet_prefix_parse(s, &p->prefix) < 0) {
		snprintf(err, errlen, "prefix: '%s' is not a prefix such as 198.51.100.0/24",
			 s ? s : "");
		return -EINVAL;
	}
	if (inet_prefix_has_host_bits(&p->prefix)) {
		snprintf(err, errlen, "prefix: '%s' has host bits set", s);
		return -EINVAL;
	}
	bits = inet_family_bits(p->prefix.addr.family);
	p->length = p->prefix.addr.family == AF_INET ? 32 : 64;
	if (len != NULL) {
		snprintf(field, 64, "/length");
		if (!json_is_integer(len) || json_integer_value(len) < 1 ||
		    json_integer_value(len) > (json_int_t)bits) {
			snprintf(err, errlen, "length: must be 1 to %u for this family", bits);
			return -EINVAL;
		}
		p->length = (uint8_t)json_integer_value(len);
	}
	if (p->length < p->prefix.len) {
		snprintf(field, 64, "/length");
		snprintf(err, errlen, "length: /%u is shorter than the pool's /%u", p->length,
			 p->prefix.len);
		return -EINVAL;
	}
	if (ex != NULL && json_array_size(ex) > NET_POOL_EXCLUDE_MAX) {
		snprintf(field, 64, "/exclude");
		snprintf(err, errlen, "exclude: at most %u prefixes", NET_POOL_EXCLUDE_MAX);
		return -EINVAL;
	}
	json_array_foreach(ex, i, v) {
		struct inet_prefix *x = &p->exclude[p->n_exclude];
		const char *xs = json_string_value(v);

		snprintf(field, 64, "/exclude/%zu", i);
		if (xs == NULL || inet_prefix_parse(xs, x) < 0 ||
		    x->addr.family != p->prefix.addr.family ||
		    !inet_prefix_overlaps(x, &p->prefix)) {
			snprintf(err, errlen, "exclude[%zu]: '%s' is not a prefix inside %s", i,
				 xs ? xs : "", s);
			return -EINVAL;
		}
		inet_prefix_mask(x);
		p->n_exclude++;
	}
	field[0] = '\0';
	return 0;
}

uint64_t
net_pool_size(const struct net_pool *p)
{
	unsigned d = (unsigned)p->length - p->prefix.len;

	return d >= 63 ? (uint64_t)1 << 63 : (uint64_t)1 << d;
}

int
net_pool_nth(const struct net_pool *p, uint64_t i, struct inet_prefix *ret)
{
	unsigned bits = inet_family_bits(p->prefix.addr.family);

	if (i >= net_pool_size(p))
		return -ERANGE;
	num_addr(add(addr_num(&p->prefix.addr), shl(i, bits - p->length)), p->prefix.addr.family,
		 &ret->addr);
	ret->len = p->length;
	return 0;
}

int
net_pool_index(const struct net_pool *p, const struct inet_prefix *x, uint64_t *ret)
{
	unsigned bits = inet_family_bits(p->prefix.addr.family), sh;
	struct u128 d;

	if (x->addr.family != p->prefix.addr.family || x->len != p->length ||
	    inet_prefix_has_host_bits(x) || !inet_prefix_contains(&p->prefix, &x->addr))
		return -EINVAL;
	d = sub(addr_num(&x->addr), addr_num(&p->prefix.addr));
	sh = bits - p->length;
	if (sh >= 64)
		d.lo = d.hi >> (sh - 64), d.hi = 0;
	else if (sh > 0)
		d.lo = d.lo >> sh | d.hi << (64 - sh), d.hi >>= sh;
	if (d.hi != 0 || d.lo >= net_pool_size(p))
		return -EINVAL;
	*ret = d.lo;
	return 0;
}

static bool
excluded(const struct net_pool *p, const struct inet_prefix *x)
{
	for (unsigned i = 0; i < p->n_exclude; i++)
		if (inet_prefix_overlaps(&p->exclude[i], x))
			return true;
	return false;
}

int
net_pool_first_free(const struct net_pool *p, const uint64_t *used, size_t n_used,
		    struct inet_prefix *ret, uint64_t *ret_index)
{
	uint64_t size = net_pool_size(p);
	size_t u = 0;

	for (uint64_t i = 0; i < size; i++) {
		struct inet_prefix x;

		while (u < n_used && used[u] < i)
			u++;
		if (u < n_used && used[u] == i)
			continue;
		net_pool_nth(p, i, &x);
		if (excluded(p, &x)) {
			/* Big excluded ranges are not walked prefix by prefix forever. */
			if (i > n_used + (uint64_t)p->n_exclude * 65536)
				break;
			continue;
		}
		*ret = x;
		*ret_index = i;
		return 0;
	}
	return -ENOSPC;
}

/* ---- services -> provisioning changes ----------------------------------------- */

json_t *
net_profile_change(const json_t *profile)
{
	const char *name = json_string_value(json_object_get(profile, "name"));
	json_t *up = json_object_get(profile, "up"), *down = json_object_get(profile, "down");

	if (name == NULL || !json_is_object(up) || !json_is_object(down))
		return NULL;
	return json_pack("{s:s, s:s, s:O, s:O}", "op", "profile.upsert", "name", name, "up", up,
			 "down", down);
}

json_t *
net_subscriber_change(const struct net_service_view *s, const char *port)
{
	json_t *vlans = json_array(), *macs = json_array(), *prefixes;

	prefixes = s->prefixes ? json_deep_copy(s->prefixes) : json_array();
	if (s->vlan != 0)
		json_array_append_new(vlans, json_pack("{s:s, s:i}", "port", port ? port : "",
						       "outer", (int)s->vlan));
	if (s->mac != NULL && s->mac[0] != '\0')
		json_array_append_new(macs, json_string(s->mac));
	return json_pack("{s:s, s:s, s:s, s:s, s:{s:o, s:o, s:o}}", "op", "subscriber.upsert", "id",
			 s->id, "profile",
			 json_string_value(json_object_get(s->profile, "name")) ?: "",
			 "availability", s->availability, "match", "prefixes", prefixes, "vlans",
			 vlans, "macs", macs);
}

json_t *
net_delete_change(const char *id)
{
	return json_pack("{s:s, s:s}", "op", "subscriber.delete", "id", id);
}

int
net_changes_check(const json_t *changes, char *err, size_t errlen)
{
	json_t *req = json_pack("{s:i, s:i, s:s, s:i, s:O}", "v", DPP_VERSION, "seq", 1, "op",
				"batch", "generation", 1, "changes", changes);
	struct dpp_request *r = NULL;
	char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	struct dpp_error e;
	int rc;

	memset(&e, 0, sizeof(e));
	json_decref(req);
	if (text == NULL)
		return -ENOMEM;
	rc = dpp_decode(text, strlen(text), &r, &e);
	free(text);
	dpp_request_free(r);
	if (rc < 0)
		snprintf(err, errlen, "%s: %s", e.field, e.reason);
	return rc;
}

bool
net_availability_valid(const char *s)
{
	return s != NULL && (strcmp(s, "active") == 0 || strcmp(s, "suspended") == 0 ||
			     strcmp(s, "walled-garden") == 0);
}

bool
net_service_state_valid(const char *s)
{
	static const char *const states[] = {"feasibilityChecked", "designed", "reserved",
					     "inactive", "active", "terminated"};

	for (size_t i = 0; s != NULL && i < sizeof(states) / sizeof(states[0]); i++)
		if (strcmp(s, states[i]) == 0)
			return true;
	return false;
}

/* ---- circuit breaker ------------------------------------------------------------ */

void
net_breaker_init(struct net_breaker *b, unsigned threshold, uint64_t base_ms, uint64_t max_ms)
{
	memset(b, 0, sizeof(*b));
	b->threshold = threshold ? threshold : 1;
	b->base_ms = base_ms;
	b->max_ms = max_ms < base_ms ? base_ms : max_ms;
	b->delay_ms = base_ms;
}

bool
net_breaker_allow(struct net_breaker *b, uint64_t now_ms)
{
	switch (b->state) {
	case NET_CIRCUIT_CLOSED:
		return true;
	case NET_CIRCUIT_OPEN:
		if (now_ms < b->retry_at_ms)
			return false;
		b->state = NET_CIRCUIT_HALF_OPEN;
		b->trial = true;
		return true;
	case NET_CIRCUIT_HALF_OPEN:
		if (b->trial)
			return false;
		b->trial = true;
		return true;
	}
	return false;
}

bool
net_breaker_success(struct net_breaker *b)
{
	bool changed = b->state != NET_CIRCUIT_CLOSED;

	b->state = NET_CIRCUIT_CLOSED;
	b->failures = 0;
	b->trial = false;
	b->delay_ms = b->base_ms;
	return changed;
}

bool
net_breaker_failure(struct net_breaker *b, uint64_t now_ms)
{
	switch (b->state) {
	case NET_CIRCUIT_CLOSED:
		if (++b->failures < b->threshold)
			return false;
		b->delay_ms = b->base_ms;
		break;
	case NET_CIRCUIT_HALF_OPEN:
		/* The trial failed: wait twice as long before the next (exponential backoff). */
		b->delay_ms = b->delay_ms * 2 > b->max_ms ? b->max_ms : b->delay_ms * 2;
		break;
	case NET_CIRCUIT_OPEN:
		return false;
	}
	b->state = NET_CIRCUIT_OPEN;
	b->trial = false;
	b->retry_at_ms = now_ms + b->delay_ms;
	return true;
}

const char *
net_circuit_name(enum net_circuit c)
{
	switch (c) {
	case NET_CIRCUIT_CLOSED: return "closed";
	case NET_CIRCUIT_OPEN: return "open";
	case NET_CIRCUIT_HALF_OPEN: return "half-open";
	}
	return "?";
}
