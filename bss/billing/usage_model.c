/* SPDX-License-Identifier: BSD-3-Clause */
/* Usage: the decoder of the dataplane's usage messages and the delta rule. Pure. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bss/billing/usage.h"

#define USAGE_MSG_BYTES_MAX (16u << 20)

static int __attribute__((format(printf, 3, 4)))
bad(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A lowercase UUID, the form of the network domain's service ids. */
static bool
uuid_valid(const char *s)
{
	static const char dash[] = {8, 13, 18, 23};
	size_t i, k = 0;

	if (strlen(s) != 36)
		return false;
	for (i = 0; i < 36; i++) {
		if (k < sizeof(dash) && (size_t)dash[k] == i) {
			if (s[i] != '-')
				return false;
			k++;
		} else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
			return false;
		}
	}
	return true;
}

static bool
boot_id_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > USAGE_BOOT_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '-' || s[i] == '_'))
			return false;
	return true;
}

/* A non-negative integer member of @o; -EINVAL naming @path.@name. */
static int
get_count(json_t *o, const char *name, uint64_t *ret, const char *path, char *err,
	  size_t errlen)
{
	json_t *v = json_object_get(o, name);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return bad(err, errlen, "%s.%s: must be a non-negative integer", path, name);
	*ret = (uint64_t)json_integer_value(v);
	return 0;
}

static int
get_dir(json_t *sub, const char *dir, uint64_t *bytes, uint64_t *packets, const char *path,
	char *err, size_t errlen)
{
	json_t *d = json_object_get(sub, dir);
	char p[64];

	snprintf(p, sizeof(p), "%s.%s", path, dir);
	if (!json_is_object(d))
		return bad(err, errlen, "%s: must be an object", p);
	if (get_count(d, "bytes", bytes, p, err, errlen) < 0 ||
	    get_count(d, "packets", packets, p, err, errlen) < 0)
		return -EINVAL;
	return 0;
}

static int
decode_subs(json_t *arr, struct usage_msg *m, char *err, size_t errlen)
{
	size_t i, n = json_array_size(arr);
	json_t *s;

	if (!json_is_array(arr))
		return bad(err, errlen, "subscribers: must be an array");
	if (n > USAGE_MSG_SUBSCRIBERS_MAX)
		return bad(err, errlen, "subscribers: %zu entries, at most %d", n,
			   USAGE_MSG_SUBSCRIBERS_MAX);
	m->subs = calloc(n ? n : 1, sizeof(*m->subs));
	if (m->subs == NULL)
		return -ENOMEM;
	json_array_foreach(arr, i, s) {
		struct usage_sub *u = &m->subs[m->n_subs];
		const char *id = json_string_value(json_object_get(s, "id"));
		char path[48];

		snprintf(path, sizeof(path), "subscribers[%zu]", i);
		if (!json_is_object(s))
			return bad(err, errlen, "%s: must be an object", path);
		if (id == NULL)
			return bad(err, errlen, "%s.id: must be a string", path);
		if (get_dir(s, "up", &u->c.bytes_up, &u->c.packets_up, path, err, errlen) < 0 ||
		    get_dir(s, "down", &u->c.bytes_down, &u->c.packets_down, path, err, errlen) < 0)
			return -EINVAL;
		/* The unknown slot ("") and hand-provisioned subscribers are nobody's service. */
		if (!uuid_valid(id)) {
			m->n_other++;
			continue;
		}
		memcpy(u->id, id, 37);
		m->n_subs++;
	}
	return 0;
}

static int
cmp_id(const void *x, const void *y)
{
	return strcmp(((const struct usage_sub *)x)->id, ((const struct usage_sub *)y)->id);
}

/* A service twice in one message would make its delta ambiguous: refused. */
static int
check_unique(const struct usage_msg *m, char *err, size_t errlen)
{
	struct usage_sub *copy;
	int rc = 0;

	if (m->n_subs < 2)
		return 0;
	copy = malloc(m->n_subs * sizeof(*copy));
	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy, m->subs, m->n_subs * sizeof(*copy));
	qsort(copy, m->n_subs, sizeof(*copy), cmp_id);
	for (size_t i = 1; i < m->n_subs && rc == 0; i++)
		if (strcmp(copy[i - 1].id, copy[i].id) == 0)
			rc = bad(err, errlen, "subscribers: %s more than once", copy[i].id);
	free(copy);
	return rc;
}

int
usage_msg_decode(const char *buf, size_t len, struct usage_msg **ret, char *err, size_t errlen)
{
	struct usage_msg *m;
	json_error_t je;
	json_t *root, *v;
	const char *s;
	int rc;

	if (len > USAGE_MSG_BYTES_MAX)
		return bad(err, errlen, "message: %zu bytes, at most %u", len, USAGE_MSG_BYTES_MAX);
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL)
		return bad(err, errlen, "message: not JSON: %s", je.text);
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		json_decref(root);
		return -ENOMEM;
	}
	rc = -EINVAL;
	if (!json_is_object(root)) {
		bad(err, errlen, "message: must be an object");
		goto out_free;
	}
	v = json_object_get(root, "v");
	if (!json_is_integer(v) || json_integer_value(v) != 1) {
		bad(err, errlen, "v: must be 1");
		goto out_free;
	}
	s = json_string_value(json_object_get(root, "type"));
	if (s == NULL || strcmp(s, "usage") != 0) {
		bad(err, errlen, "type: must be \"usage\"");
		goto out_free;
	}
	s = json_string_value(json_object_get(root, "boot_id"));
	if (s == NULL || !boot_id_valid(s)) {
		bad(err, errlen, "boot_id: 1 to %d of A-Z a-z 0-9 - _", USAGE_BOOT_ID_MAX);
		goto out_free;
	}
	snprintf(m->boot_id, sizeof(m->boot_id), "%s", s);
	v = json_object_get(root, "seq");
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		bad(err, errlen, "seq: must be a non-negative integer");
		goto out_free;
	}
	m->seq = json_integer_value(v);
	v = json_object_get(root, "generation");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 0)) {
		bad(err, errlen, "generation: must be a non-negative integer");
		goto out_free;
	}
	m->generation = v ? json_integer_value(v) : 0;
	v = json_object_get(root, "time_ms");
	/* Up to year 9999: a timestamptz holds it. */
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > 253402300799999LL) {
		bad(err, errlen, "time_ms: must be ms since 1970, before year 10000");
		goto out_free;
	}
	m->time_ms = json_integer_value(v);
	v = json_object_get(root, "final");
	if (v != NULL && !json_is_boolean(v)) {
		bad(err, errlen, "final: must be a boolean");
		goto out_free;
	}
	m->final = json_is_true(v);
	rc = decode_subs(json_object_get(root, "subscribers"), m, err, errlen);
	if (rc == 0)
		rc = check_unique(m, err, errlen);
	if (rc < 0) {
		if (rc == -ENOMEM)
			snprintf(err, errlen, "out of memory");
		goto out_free;
	}
	json_decref(root);
	*ret = m;
	return 0;

out_free:
	json_decref(root);
	usage_msg_free(m);
	return rc;
}

struct usage_msg *
usage_msg_free(struct usage_msg *m)
{
	if (m == NULL)
		return NULL;
	free(m->subs);
	free(m);
	return NULL;
}

bool
usage_counters_zero(const struct usage_counters *c)
{
	return (c->bytes_up | c->bytes_down | c->packets_up | c->packets_down) == 0;
}

static bool
backwards(const struct usage_counters *pos, const struct usage_counters *cur)
{
	return cur->bytes_up < pos->bytes_up || cur->bytes_down < pos->bytes_down ||
	       cur->packets_up < pos->packets_up || cur->packets_down < pos->packets_down;
}

enum usage_verdict
usage_delta(const struct usage_pos *pos, int64_t seq, const struct usage_counters *cur,
	    struct usage_counters *ret_delta)
{
	memset(ret_delta, 0, sizeof(*ret_delta));
	if (pos == NULL || !pos->known) {
		/* A boot's counters start at zero: the first value is all of it. */
		*ret_delta = *cur;
		return usage_counters_zero(cur) ? USAGE_SAME : USAGE_FIRST;
	}
	if (seq <= pos->seq)
		return USAGE_OLD;
	/*
	 * Cumulative counters never go down within a boot, unless the slot was
	 * zeroed: the subscriber was deleted and added again and we missed its
	 * final message. What it counted since is the new value; what it counted
	 * between our position and its deletion is lost either way.
	 */
	if (backwards(&pos->c, cur)) {
		*ret_delta = *cur;
		return USAGE_RESET;
	}
	ret_delta->bytes_up = cur->bytes_up - pos->c.bytes_up;
	ret_delta->bytes_down = cur->bytes_down - pos->c.bytes_down;
	ret_delta->packets_up = cur->packets_up - pos->c.packets_up;
	ret_delta->packets_down = cur->packets_down - pos->c.packets_down;
	return usage_counters_zero(ret_delta) ? USAGE_SAME : USAGE_DELTA;
}

const char *
usage_verdict_name(enum usage_verdict v)
{
	switch (v) {
	case USAGE_SAME: return "same";
	case USAGE_DELTA: return "delta";
	case USAGE_FIRST: return "first";
	case USAGE_RESET: return "reset";
	case USAGE_OLD: return "old";
	}
	return "?";
}
