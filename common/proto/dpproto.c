/* SPDX-License-Identifier: BSD-3-Clause */
#include "common/proto/dpproto.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* Decoding context: the path of the value being read, for errors. */
struct dec {
	struct dpp_error *err;
	char path[128];
};

static int __attribute__((format(printf, 3, 4)))
fail(struct dec *d, const char *field, const char *fmt, ...)
{
	va_list ap;

	/* A path longer than the field is cut: the reason still says what is wrong. */
	if (d->path[0] != '\0' && field[0] != '\0')
		snprintf(d->err->field, sizeof(d->err->field), "%.80s.%.40s", d->path, field);
	else
		snprintf(d->err->field, sizeof(d->err->field), "%.120s", d->path[0] ? d->path : field);
	va_start(ap, fmt);
	vsnprintf(d->err->reason, sizeof(d->err->reason), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Refuse members other than the @allowed ones (NULL-terminated). */
static int
only_keys(struct dec *d, json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		const char *const *a;

		for (a = allowed; *a != NULL; a++)
			if (strcmp(*a, key) == 0)
				break;
		if (*a == NULL)
			return fail(d, key, "unknown member");
	}
	return 0;
}

static int
get_uint(struct dec *d, json_t *obj, const char *key, bool required, uint64_t max, uint64_t *ret)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL) {
		if (required)
			return fail(d, key, "missing");
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return fail(d, key, "must be a whole number from 0 to %llu",
			    (unsigned long long)max);
	*ret = (uint64_t)json_integer_value(v);
	return 0;
}

static int
get_str(struct dec *d, json_t *obj, const char *key, bool required, char *out, size_t outlen)
{
	json_t *v = json_object_get(obj, key);
	size_t n;

	if (v == NULL) {
		if (required)
			return fail(d, key, "missing");
		return 0;
	}
	if (!json_is_string(v))
		return fail(d, key, "must be a string");
	n = json_string_length(v);
	if (n == 0 || n >= outlen || strlen(json_string_value(v)) != n)
		return fail(d, key, "must be 1 to %zu bytes, without NUL", outlen - 1);
	memcpy(out, json_string_value(v), n + 1);
	return 0;
}

static int
parse_avail(struct dec *d, json_t *obj, const char *key, bool required, uint8_t *ret)
{
	char s[32];
	int r;

	s[0] = '\0';
	r = get_str(d, obj, key, required, s, sizeof(s));
	if (r < 0 || s[0] == '\0')
		return r;
	if (strcmp(s, "active") == 0)
		*ret = DPP_ACTIVE;
	else if (strcmp(s, "suspended") == 0)
		*ret = DPP_SUSPENDED;
	else if (strcmp(s, "walled-garden") == 0)
		*ret = DPP_WALLED;
	else
		return fail(d, key, "'%s' is not active, suspended or walled-garden", s);
	return 0;
}

static int
parse_action(struct dec *d, json_t *obj, const char *key, uint8_t def, uint8_t *act,
	     uint8_t *dscp)
{
	char s[32];
	unsigned long v;
	char *end;

	s[0] = '\0';
	if (get_str(d, obj, key, false, s, sizeof(s)) < 0)
		return -EINVAL;
	*act = def;
	*dscp = 0;
	if (s[0] == '\0')
		return 0;
	if (strcmp(s, "forward") == 0) {
		*act = DPP_FORWARD;
	} else if (strcmp(s, "drop") == 0) {
		*act = DPP_DROP;
	} else if (strncmp(s, "remark:", 7) == 0 && s[7] >= '0' && s[7] <= '9') {
		v = strtoul(s + 7, &end, 10);
		if (*end != '\0' || v > 63)
			return fail(d, key, "DSCP must be 0 to 63");
		*act = DPP_REMARK;
		*dscp = (uint8_t)v;
	} else {
		return fail(d, key, "'%s' is not forward, drop or remark:DSCP", s);
	}
	return 0;
}

static int
parse_meter(struct dec *d, json_t *m, const char *name, struct dpp_meter *out)
{
	static const char *const keys[] = {"mode", "cir", "pir", "eir", "cbs", "pbs", "ebs",
					   "green", "yellow", "red", NULL};
	size_t plen = strlen(d->path);
	char mode[16] = "rfc2698";
	int ret = -EINVAL;

	snprintf(d->path + plen, sizeof(d->path) - plen, "%s%s", plen ? "." : "", name);
	memset(out, 0, sizeof(*out));
	if (!json_is_object(m)) {
		ret = fail(d, "", "must be an object");
		goto out;
	}
	if (only_keys(d, m, keys) < 0 || get_str(d, m, "mode", false, mode, sizeof(mode)) < 0)
		goto out;
	if (strcmp(mode, "none") == 0) {
		out->mode = DPP_METER_NONE;
	} else if (strcmp(mode, "rfc2698") == 0) {
		out->mode = DPP_METER_RFC2698;
	} else if (strcmp(mode, "rfc4115") == 0) {
		out->mode = DPP_METER_RFC4115;
	} else {
		ret = fail(d, "mode", "'%s' is not none, rfc2698 or rfc4115", mode);
		goto out;
	}
	/* 1 Tbit/s and 1 GB bursts are beyond any access line. */
	if (get_uint(d, m, "cir", out->mode != DPP_METER_NONE, 1000000000000ull, &out->cir) < 0 ||
	    get_uint(d, m, out->mode == DPP_METER_RFC4115 ? "eir" : "pir",
		     out->mode == DPP_METER_RFC2698, 1000000000000ull, &out->pir) < 0 ||
	    get_uint(d, m, "cbs", out->mode != DPP_METER_NONE, 1ull << 30, &out->cbs) < 0 ||
	    get_uint(d, m, out->mode == DPP_METER_RFC4115 ? "ebs" : "pbs",
		     out->mode == DPP_METER_RFC2698, 1ull << 30, &out->pbs) < 0)
		goto out;
	if (out->mode == DPP_METER_RFC2698 && out->pir < out->cir) {
		ret = fail(d, "pir", "must be at least cir (RFC 2698)");
		goto out;
	}
	if (out->mode == DPP_METER_RFC2698 && (out->cbs == 0 || out->pbs == 0)) {
		ret = fail(d, out->cbs == 0 ? "cbs" : "pbs", "must not be 0");
		goto out;
	}
	if (out->mode == DPP_METER_RFC4115 &&
	    ((out->cir == 0 && out->pir == 0) || (out->cir && !out->cbs) || (out->pir && !out->pbs))) {
		ret = fail(d, "", "RFC 4115 needs cir or eir, with cbs for cir and ebs for eir");
		goto out;
	}
	if (parse_action(d, m, "green", DPP_FORWARD, &out->action[0], &out->dscp[0]) < 0 ||
	    parse_action(d, m, "yellow", DPP_FORWARD, &out->action[1], &out->dscp[1]) < 0 ||
	    parse_action(d, m, "red", DPP_DROP, &out->action[2], &out->dscp[2]) < 0)
		goto out;
	ret = 0;
out:
	d->path[plen] = '\0';
	return ret;
}

static int
parse_mac(const char *s, uint8_t mac[6])
{
	unsigned b[6], i;
	char tail;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &tail) != 6)
		return -EINVAL;
	for (i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

static int
parse_prefix_list(struct dec *d, json_t *arr, const char *key, unsigned max,
		  struct inet_prefix **ret, unsigned *ret_n)
{
	struct inet_prefix *v;
	size_t i, n;

	if (arr == NULL)
		return 0;
	if (!json_is_array(arr))
		return fail(d, key, "must be an array of prefixes");
	n = json_array_size(arr);
	if (n > max)
		return fail(d, key, "more than %u entries", max);
	if (n == 0)
		return 0;
	v = calloc(n, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		json_t *e = json_array_get(arr, i);
		char field[32];

		snprintf(field, sizeof(field), "%s[%zu]", key, i);
		if (!json_is_string(e) || inet_prefix_parse(json_string_value(e), &v[i]) < 0) {
			free(v);
			return fail(d, field, "must be a prefix such as 198.51.100.7/32 or "
				    "2001:db8:1::/64");
		}
		if (v[i].len == 0 || inet_prefix_has_host_bits(&v[i])) {
			free(v);
			return fail(d, field, "'%s' has host bits set or is /0",
				    json_string_value(e));
		}
	}
	*ret = v;
	*ret_n = (unsigned)n;
	return 0;
}

static int
parse_match(struct dec *d, json_t *m, struct dpp_change *c)
{
	static const char *const keys[] = {"prefixes", "vlans", "macs", NULL};
	json_t *vlans, *macs;
	size_t nv = 0, nm = 0, i, k = 0;
	size_t plen = strlen(d->path);
	int ret = -EINVAL;

	snprintf(d->path + plen, sizeof(d->path) - plen, ".match");
	if (!json_is_object(m)) {
		ret = fail(d, "", "must be an object");
		goto out;
	}
	if (only_keys(d, m, keys) < 0)
		goto out;
	ret = parse_prefix_list(d, json_object_get(m, "prefixes"), "prefixes", DPP_MAX_MATCH,
				&c->prefixes, &c->n_prefixes);
	if (ret < 0)
		goto out;
	ret = -EINVAL;
	vlans = json_object_get(m, "vlans");
	macs = json_object_get(m, "macs");
	if ((vlans != NULL && !json_is_array(vlans)) || (macs != NULL && !json_is_array(macs))) {
		ret = fail(d, vlans != NULL && !json_is_array(vlans) ? "vlans" : "macs",
			   "must be an array");
		goto out;
	}
	nv = json_array_size(vlans);
	nm = json_array_size(macs);
	if (nv > DPP_MAX_MATCH || nm > DPP_MAX_MATCH) {
		ret = fail(d, nv > DPP_MAX_MATCH ? "vlans" : "macs", "more than %u entries",
			   DPP_MAX_MATCH);
		goto out;
	}
	if (c->n_prefixes + nv + nm == 0) {
		ret = fail(d, "", "needs at least one prefix, VLAN or MAC");
		goto out;
	}
	if (nv + nm > 0) {
		c->l2 = calloc(nv + nm, sizeof(*c->l2));
		if (c->l2 == NULL) {
			ret = -ENOMEM;
			goto out;
		}
	}
	for (i = 0; i < nv; i++, k++) {
		static const char *const vkeys[] = {"port", "outer", "inner", NULL};
		json_t *e = json_array_get(vlans, i);
		uint64_t outer = 0, inner = 0;
		size_t pl = strlen(d->path);

		snprintf(d->path + pl, sizeof(d->path) - pl, ".vlans[%zu]", i);
		if (!json_is_object(e) || only_keys(d, e, vkeys) < 0 ||
		    get_str(d, e, "port", true, c->l2[k].port, sizeof(c->l2[k].port)) < 0 ||
		    get_uint(d, e, "outer", true, 4094, &outer) < 0 ||
		    get_uint(d, e, "inner", false, 4094, &inner) < 0) {
			if (!json_is_object(e))
				fail(d, "", "must be an object {port, outer, inner}");
			d->path[pl] = '\0';
			goto out;
		}
		if (outer == 0) {
			fail(d, "outer", "must be 1 to 4094");
			d->path[pl] = '\0';
			goto out;
		}
		d->path[pl] = '\0';
		c->l2[k].kind = DPP_L2_VLAN;
		c->l2[k].outer = (uint16_t)outer;
		c->l2[k].inner = (uint16_t)inner;
	}
	for (i = 0; i < nm; i++, k++) {
		json_t *e = json_array_get(macs, i);
		char field[32];

		snprintf(field, sizeof(field), "macs[%zu]", i);
		if (!json_is_string(e) || parse_mac(json_string_value(e), c->l2[k].mac) < 0) {
			fail(d, field, "must be a MAC such as 02:00:5e:10:00:01");
			goto out;
		}
		if (c->l2[k].mac[0] & 1) {
			fail(d, field, "is a group address");
			goto out;
		}
		c->l2[k].kind = DPP_L2_MAC;
	}
	c->n_l2 = (unsigned)(nv + nm);
	ret = 0;
out:
	d->path[plen] = '\0';
	return ret;
}

static int
parse_change(struct dec *d, json_t *o, struct dpp_change *c)
{
	static const char *const k_prof[] = {"op", "name", "up", "down", NULL};
	static const char *const k_name[] = {"op", "name", NULL};
	static const char *const k_sub[] = {"op", "id", "profile", "availability", "match", NULL};
	static const char *const k_id[] = {"op", "id", NULL};
	static const char *const k_avail[] = {"op", "id", "availability", NULL};
	static const char *const k_walled[] = {"op", "allow", NULL};
	char op[32];

	if (!json_is_object(o))
		return fail(d, "", "must be an object");
	op[0] = '\0';
	if (get_str(d, o, "op", true, op, sizeof(op)) < 0)
		return -EINVAL;
	if (strcmp(op, "profile.upsert") == 0) {
		json_t *up = json_object_get(o, "up"), *down = json_object_get(o, "down");

		c->kind = DPP_PROFILE_UPSERT;
		if (only_keys(d, o, k_prof) < 0 || get_str(d, o, "name", true, c->id, sizeof(c->id)) < 0)
			return -EINVAL;
		if (up == NULL || down == NULL)
			return fail(d, up == NULL ? "up" : "down", "missing");
		return parse_meter(d, up, "up", &c->dir[0]) < 0 ? -EINVAL
			: parse_meter(d, down, "down", &c->dir[1]);
	}
	if (strcmp(op, "profile.delete") == 0) {
		c->kind = DPP_PROFILE_DELETE;
		return only_keys(d, o, k_name) < 0 ? -EINVAL
			: get_str(d, o, "name", true, c->id, sizeof(c->id));
	}
	if (strcmp(op, "subscriber.upsert") == 0) {
		json_t *m = json_object_get(o, "match");

		c->kind = DPP_SUB_UPSERT;
		c->avail = DPP_ACTIVE;
		if (only_keys(d, o, k_sub) < 0 || get_str(d, o, "id", true, c->id, sizeof(c->id)) < 0 ||
		    get_str(d, o, "profile", true, c->profile, sizeof(c->profile)) < 0 ||
		    parse_avail(d, o, "availability", false, &c->avail) < 0)
			return -EINVAL;
		if (m == NULL)
			return fail(d, "match", "missing");
		return parse_match(d, m, c);
	}
	if (strcmp(op, "subscriber.delete") == 0) {
		c->kind = DPP_SUB_DELETE;
		return only_keys(d, o, k_id) < 0 ? -EINVAL
			: get_str(d, o, "id", true, c->id, sizeof(c->id));
	}
	if (strcmp(op, "subscriber.availability") == 0) {
		c->kind = DPP_SUB_AVAIL;
		if (only_keys(d, o, k_avail) < 0 || get_str(d, o, "id", true, c->id, sizeof(c->id)) < 0)
			return -EINVAL;
		return parse_avail(d, o, "availability", true, &c->avail);
	}
	if (strcmp(op, "walled_garden.set") == 0) {
		json_t *allow = json_object_get(o, "allow");

		c->kind = DPP_WALLED_SET;
		if (only_keys(d, o, k_walled) < 0)
			return -EINVAL;
		if (allow == NULL)
			return fail(d, "allow", "missing");
		return parse_prefix_list(d, allow, "allow", DPP_MAX_WALLED, &c->prefixes,
					 &c->n_prefixes);
	}
	return fail(d, "op", "'%s' is not profile.upsert, profile.delete, subscriber.upsert, "
		    "subscriber.delete, subscriber.availability or walled_garden.set", op);
}

static int
parse_changes(struct dec *d, json_t *arr, struct dpp_request *r)
{
	size_t i, n;
	int ret;

	if (arr == NULL)
		return fail(d, "changes", "missing");
	if (!json_is_array(arr))
		return fail(d, "changes", "must be an array");
	n = json_array_size(arr);
	if (n > DPP_MAX_CHANGES)
		return fail(d, "changes", "more than %u changes", DPP_MAX_CHANGES);
	if (n == 0)
		return 0;
	r->changes = calloc(n, sizeof(*r->changes));
	if (r->changes == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		snprintf(d->path, sizeof(d->path), "changes[%zu]", i);
		r->n_changes = i + 1; /* so that a failure frees what this one took */
		ret = parse_change(d, json_array_get(arr, i), &r->changes[i]);
		if (ret < 0)
			return ret;
	}
	d->path[0] = '\0';
	return 0;
}

static int
decode_request(struct dec *d, json_t *root, struct dpp_request *r)
{
	static const char *const keys[] = {"v", "seq", "op", "generation", "expect", "changes",
					   "id", "offset", "limit", NULL};
	uint64_t v = 0;
	char op[16];

	if (!json_is_object(root))
		return fail(d, "", "a request must be a JSON object");
	if (only_keys(d, root, keys) < 0 || get_uint(d, root, "v", true, 1000, &v) < 0)
		return -EINVAL;
	if (v != DPP_VERSION)
		return fail(d, "v", "schema version %llu is not supported (this dataplane speaks %d)",
			    (unsigned long long)v, DPP_VERSION);
	if (get_uint(d, root, "seq", true, UINT64_MAX >> 1, &r->seq) < 0)
		return -EINVAL;
	op[0] = '\0';
	if (get_str(d, root, "op", true, op, sizeof(op)) < 0)
		return -EINVAL;
	r->limit = 1000;
	if (get_uint(d, root, "offset", false, UINT32_MAX, &r->offset) < 0 ||
	    get_uint(d, root, "limit", false, 100000, &r->limit) < 0)
		return -EINVAL;
	if (strcmp(op, "hello") == 0) {
		r->op = DPP_OP_HELLO;
	} else if (strcmp(op, "get") == 0) {
		r->op = DPP_OP_GET;
	} else if (strcmp(op, "counters") == 0) {
		r->op = DPP_OP_COUNTERS;
		if (get_str(d, root, "id", false, r->id, sizeof(r->id)) < 0)
			return -EINVAL;
	} else if (strcmp(op, "batch") == 0 || strcmp(op, "resync") == 0) {
		r->op = op[0] == 'b' ? DPP_OP_BATCH : DPP_OP_RESYNC;
		if (get_uint(d, root, "generation", true, UINT64_MAX >> 1, &r->generation) < 0)
			return -EINVAL;
		if (json_object_get(root, "expect") != NULL) {
			if (r->op == DPP_OP_RESYNC)
				return fail(d, "expect", "a resync replaces any generation");
			if (get_uint(d, root, "expect", true, UINT64_MAX >> 1, &r->expect) < 0)
				return -EINVAL;
			r->has_expect = true;
		}
		return parse_changes(d, json_object_get(root, "changes"), r);
	} else {
		return fail(d, "op", "'%s' is not hello, batch, resync, get or counters", op);
	}
	if (json_object_get(root, "changes") != NULL)
		return fail(d, "changes", "only batch and resync carry changes");
	return 0;
}

int
dpp_decode(const char *buf, size_t len, struct dpp_request **ret, struct dpp_error *err)
{
	struct dec d = {.err = err};
	struct dpp_request *r;
	json_error_t jerr;
	json_t *root;
	int rc;

	memset(err, 0, sizeof(*err));
	if (len > DPP_MAX_MESSAGE) {
		snprintf(err->reason, sizeof(err->reason), "request of %zu bytes is over the %u "
			 "byte limit", len, DPP_MAX_MESSAGE);
		return -EINVAL;
	}
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(err->reason, sizeof(err->reason), "not JSON: %s at byte %d", jerr.text,
			 jerr.position);
		return -EINVAL;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		json_decref(root);
		return -ENOMEM;
	}
	rc = decode_request(&d, root, r);
	json_decref(root);
	if (rc < 0) {
		if (rc == -ENOMEM)
			snprintf(err->reason, sizeof(err->reason), "out of memory");
		dpp_request_free(r);
		return rc;
	}
	*ret = r;
	return 0;
}

struct dpp_request *
dpp_request_free(struct dpp_request *req)
{
	size_t i;

	if (req == NULL)
		return NULL;
	for (i = 0; i < req->n_changes; i++) {
		free(req->changes[i].prefixes);
		free(req->changes[i].l2);
	}
	free(req->changes);
	free(req);
	return NULL;
}

const char *
dpp_avail_name(uint8_t avail)
{
	switch (avail) {
	case DPP_ACTIVE:
		return "active";
	case DPP_SUSPENDED:
		return "suspended";
	case DPP_WALLED:
		return "walled-garden";
	}
	return "?";
}

const char *
dpp_mode_name(uint8_t mode)
{
	switch (mode) {
	case DPP_METER_NONE:
		return "none";
	case DPP_METER_RFC2698:
		return "rfc2698";
	case DPP_METER_RFC4115:
		return "rfc4115";
	}
	return "?";
}

const char *
dpp_action_format(uint8_t action, uint8_t dscp, char *buf, size_t len)
{
	if (action == DPP_REMARK)
		snprintf(buf, len, "remark:%u", dscp);
	else
		snprintf(buf, len, "%s", action == DPP_DROP ? "drop" : "forward");
	return buf;
}
