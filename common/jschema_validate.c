/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Validation of an instance against a compiled schema (JSON Schema
 * validation, draft 2020-12 §6; applicators, core §10). Read-only on the
 * registry, so several threads may validate at once. The first failing
 * keyword ends the walk: properties are visited in the instance's order,
 * items by index, so the error is the first in document order.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jschema_priv.h"

/* Equality and hashing recurse into instances; json_loads() stops at 2048 levels. */
#define JS_EQUAL_MAX_DEPTH 4096

struct vctx {
	struct jschema_error *err; /* NULL inside anyOf, oneOf, not, if, contains: no message */
	char path[1024];           /* JSON pointer of the instance value being checked */
	size_t len;                /* strlen(path) */
	unsigned depth;
	unsigned long steps; /* schemas applied so far, against JSCHEMA_MAX_STEPS */
	/* Too deep or a dangling $ref: the verdict is "invalid" whatever not/oneOf say. */
	bool aborted;
	struct jschema_error abort_err;
};

static void __attribute__((format(printf, 4, 0)))
set_error(struct jschema_error *e, const char *path, const char *keyword, const char *fmt,
	  va_list ap)
{
	/* A pointer longer than the field is cut: its start still locates the value. */
	size_t n = strnlen(path, sizeof(e->pointer) - 1);

	memcpy(e->pointer, path, n);
	e->pointer[n] = '\0';
	snprintf(e->keyword, sizeof(e->keyword), "%s", keyword);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
}

static int __attribute__((format(printf, 3, 4)))
fail(struct vctx *v, const char *keyword, const char *fmt, ...)
{
	va_list ap;

	if (v->err != NULL) {
		va_start(ap, fmt);
		set_error(v->err, v->path, keyword, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int __attribute__((format(printf, 3, 4)))
abort_walk(struct vctx *v, const char *keyword, const char *fmt, ...)
{
	va_list ap;

	if (!v->aborted) {
		v->aborted = true;
		va_start(ap, fmt);
		set_error(&v->abort_err, v->path, keyword, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Append a pointer token (RFC 6901 §3 escaping); returns the length to pop back to. */
static size_t
push(struct vctx *v, const char *token)
{
	size_t old = v->len, len = old;

	if (len + 1 < sizeof(v->path))
		v->path[len++] = '/';
	for (; *token != '\0' && len + 2 < sizeof(v->path); token++) {
		if (*token == '~' || *token == '/') {
			v->path[len++] = '~';
			v->path[len++] = *token == '~' ? '0' : '1';
		} else {
			v->path[len++] = *token;
		}
	}
	v->path[len] = '\0';
	v->len = len;
	return old;
}

static size_t
push_index(struct vctx *v, size_t i)
{
	char idx[24];

	snprintf(idx, sizeof(idx), "%zu", i);
	return push(v, idx);
}

static void
pop(struct vctx *v, size_t old)
{
	v->len = old;
	v->path[old] = '\0';
}

/* ---- values ---- */

size_t
js_utf8_length(const char *s, size_t len)
{
	size_t i, n = 0;

	/* Count code points (draft 2020-12 validation §6.3.1): every byte but continuation bytes. */
	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

static bool
is_integral(const json_t *j)
{
	double d;

	if (json_is_integer(j))
		return true;
	if (!json_is_real(j))
		return false;
	d = json_real_value(j);
	return isfinite(d) && floor(d) == d;
}

/* -1, 0 or 1 as @a is below, equal to or above @b; exact when both are integers. */
static int
num_cmp(const json_t *a, const json_t *b)
{
	double x, y;

	if (json_is_integer(a) && json_is_integer(b)) {
		json_int_t i = json_integer_value(a), j = json_integer_value(b);

		return (i > j) - (i < j);
	}
	x = json_number_value(a);
	y = json_number_value(b);
	return (x > y) - (x < y);
}

/* JSON equality (draft 2020-12 core §4.2.2): 1 equals 1.0, object members in any order. */
bool
js_json_equal(const json_t *a, const json_t *b, unsigned depth)
{
	const char *key;
	json_t *va;
	size_t i;

	if (depth > JS_EQUAL_MAX_DEPTH)
		return false;
	if (json_is_number(a) && json_is_number(b))
		return num_cmp(a, b) == 0;
	if (json_typeof(a) != json_typeof(b))
		return false;
	switch (json_typeof(a)) {
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) &&
		       memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
	case JSON_ARRAY:
		if (json_array_size(a) != json_array_size(b))
			return false;
		for (i = 0; i < json_array_size(a); i++)
			if (!js_json_equal(json_array_get(a, i), json_array_get(b, i), depth + 1))
				return false;
		return true;
	case JSON_OBJECT:
		if (json_object_size(a) != json_object_size(b))
			return false;
		json_object_foreach((json_t *)a, key, va) {
			const json_t *vb = json_object_get(b, key);

			if (vb == NULL || !js_json_equal(va, vb, depth + 1))
				return false;
		}
		return true;
	default:
		return true; /* true, false, null: the type is the value */
	}
}

static uint64_t
mix(uint64_t h, uint64_t x)
{
	h ^= x + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	return h;
}

static uint64_t
bytes_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	return h;
}

/* A hash that agrees with js_json_equal(): equal values hash alike. */
static uint64_t
json_hash(const json_t *j, unsigned depth)
{
	uint64_t h = (uint64_t)json_typeof(j), sum = 0;
	const char *key;
	json_t *val;
	size_t i;
	double d;

	if (depth > JS_EQUAL_MAX_DEPTH)
		return 0;
	switch (json_typeof(j)) {
	case JSON_INTEGER:
	case JSON_REAL:
		d = json_number_value(j);
		/* Every number hashes as its double: 1 and 1.0 must collide. */
		if (d == 0)
			d = 0; /* -0.0 */
		memcpy(&h, &d, sizeof(h));
		return mix(JSON_REAL, h);
	case JSON_STRING:
		return mix(h, bytes_hash(json_string_value(j), json_string_length(j)));
	case JSON_ARRAY:
		for (i = 0; i < json_array_size(j); i++)
			h = mix(h, json_hash(json_array_get(j, i), depth + 1));
		return h;
	case JSON_OBJECT:
		/* A sum: members in any order hash alike. */
		json_object_foreach((json_t *)j, key, val)
			sum += mix(bytes_hash(key, strlen(key)), json_hash(val, depth + 1));
		return mix(h, sum);
	default:
		return h;
	}
}

struct hashed {
	uint64_t hash;
	size_t index;
};

static int
hashed_cmp(const void *a, const void *b)
{
	const struct hashed *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return (x->index > y->index) - (x->index < y->index);
}

/*
 * uniqueItems: hash and sort, then compare only items whose hashes collide,
 * so that a long array costs n log n rather than n². Sets @ret_i < @ret_j to
 * a duplicate pair, the one with the smallest second index.
 */
static int
find_duplicate(const json_t *a, size_t *ret_i, size_t *ret_j)
{
	size_t n = json_array_size(a), i, k, best_i = 0, best_j = SIZE_MAX;
	struct hashed *h = calloc(n ? n : 1, sizeof(*h));

	if (h == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		h[i].hash = json_hash(json_array_get(a, i), 0);
		h[i].index = i;
	}
	qsort(h, n, sizeof(*h), hashed_cmp);
	for (i = 0; i < n; i++)
		for (k = i + 1; k < n && h[k].hash == h[i].hash; k++)
			if (h[k].index < best_j &&
			    js_json_equal(json_array_get(a, h[i].index), json_array_get(a, h[k].index), 0)) {
				best_i = h[i].index;
				best_j = h[k].index;
			}
	free(h);
	if (best_j == SIZE_MAX)
		return 0;
	*ret_i = best_i;
	*ret_j = best_j;
	return 1;
}

/* A value for a message: strings as they are, others in compact JSON. */
static void
describe_value(const json_t *j, char *buf, size_t size)
{
	char *dump;

	if (json_is_string(j)) {
		snprintf(buf, size, "%s", json_string_value(j));
		return;
	}
	dump = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	snprintf(buf, size, "%s", dump != NULL ? dump : "?");
	free(dump);
}

static void
describe_number(const json_t *j, char *buf, size_t size)
{
	if (json_is_integer(j))
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
	else
		snprintf(buf, size, "%.15g", json_real_value(j));
}

/* ---- keywords ---- */

static const char *
type_noun(unsigned bit)
{
	switch (bit) {
	case JS_T_NULL:
		return "null";
	case JS_T_BOOLEAN:
		return "a boolean";
	case JS_T_OBJECT:
		return "an object";
	case JS_T_ARRAY:
		return "an array";
	case JS_T_NUMBER:
		return "a number";
	case JS_T_STRING:
		return "a string";
	default:
		return "an integer";
	}
}

static bool
type_matches(unsigned types, const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_NULL:
		return types & JS_T_NULL;
	case JSON_TRUE:
	case JSON_FALSE:
		return types & JS_T_BOOLEAN;
	case JSON_OBJECT:
		return types & JS_T_OBJECT;
	case JSON_ARRAY:
		return types & JS_T_ARRAY;
	case JSON_STRING:
		return types & JS_T_STRING;
	case JSON_INTEGER:
	case JSON_REAL:
		return (types & JS_T_NUMBER) || ((types & JS_T_INTEGER) && is_integral(j));
	}
	return false;
}

static int
check_type(struct vctx *v, unsigned types)
{
	char msg[160] = "must be ";
	unsigned bit, left = types;

	for (bit = 1; bit <= JS_T_INTEGER; bit <<= 1) {
		if (!(types & bit))
			continue;
		left &= ~bit;
		strncat(msg, type_noun(bit), sizeof(msg) - strlen(msg) - 1);
		if (left != 0)
			strncat(msg, (left & (left - 1)) ? ", " : " or ", sizeof(msg) - strlen(msg) - 1);
	}
	return fail(v, "type", "%s", msg);
}

static int
check_enum(struct vctx *v, const json_t *allowed, const json_t *inst)
{
	char msg[256] = "must be one of: ", one[128];
	size_t i;

	for (i = 0; i < json_array_size(allowed); i++)
		if (js_json_equal(json_array_get(allowed, i), inst, 0))
			return 0;
	if (v->err == NULL)
		return -EINVAL;
	for (i = 0; i < json_array_size(allowed); i++) {
		describe_value(json_array_get(allowed, i), one, sizeof(one));
		if (strlen(msg) + strlen(one) + 6 >= sizeof(msg)) {
			strncat(msg, "...", sizeof(msg) - strlen(msg) - 1);
			break;
		}
		if (i > 0)
			strncat(msg, ", ", sizeof(msg) - strlen(msg) - 1);
		strncat(msg, one, sizeof(msg) - strlen(msg) - 1);
	}
	return fail(v, "enum", "%s", msg);
}

static bool
is_multiple(const json_t *inst, const json_t *m)
{
	double q;

	if (json_is_integer(inst) && json_is_integer(m))
		return json_integer_value(inst) % json_integer_value(m) == 0; /* m > 0: compile */
	q = json_number_value(inst) / json_number_value(m);
	if (!isfinite(q))
		return false;
	/* Binary fractions: 0.0075 / 0.0001 is 75.00000000000001. */
	return fabs(q - nearbyint(q)) <= 1e-9 * fmax(1.0, fabs(q));
}

static int
check_number(struct vctx *v, const struct js_node *n, const json_t *inst)
{
	char lim[48];

	if (n->multiple_of != NULL && !is_multiple(inst, n->multiple_of)) {
		describe_number(n->multiple_of, lim, sizeof(lim));
		return fail(v, "multipleOf", "must be a multiple of %s", lim);
	}
	if (n->maximum != NULL && num_cmp(inst, n->maximum) > 0) {
		describe_number(n->maximum, lim, sizeof(lim));
		return fail(v, "maximum", "must be at most %s", lim);
	}
	if (n->exclusive_maximum != NULL && num_cmp(inst, n->exclusive_maximum) >= 0) {
		describe_number(n->exclusive_maximum, lim, sizeof(lim));
		return fail(v, "exclusiveMaximum", "must be less than %s", lim);
	}
	if (n->minimum != NULL && num_cmp(inst, n->minimum) < 0) {
		describe_number(n->minimum, lim, sizeof(lim));
		return fail(v, "minimum", "must be at least %s", lim);
	}
	if (n->exclusive_minimum != NULL && num_cmp(inst, n->exclusive_minimum) <= 0) {
		describe_number(n->exclusive_minimum, lim, sizeof(lim));
		return fail(v, "exclusiveMinimum", "must be greater than %s", lim);
	}
	return 0;
}

static int
check_string(struct vctx *v, const struct js_node *n, const json_t *inst)
{
	const char *s = json_string_value(inst);
	size_t len = json_string_length(inst), chars;

	if (n->max_length >= 0 || n->min_length >= 0) {
		chars = js_utf8_length(s, len);
		if (n->max_length >= 0 && chars > (unsigned long long)n->max_length)
			return fail(v, "maxLength", "must be at most %lld character%s long",
				    n->max_length, n->max_length == 1 ? "" : "s");
		if (n->min_length >= 0 && chars < (unsigned long long)n->min_length)
			return fail(v, "minLength", "must be at least %lld character%s long",
				    n->min_length, n->min_length == 1 ? "" : "s");
	}
	if (n->pattern != NULL && !js_regex_search(n->pattern, s, len))
		return fail(v, "pattern", "must match the pattern %s", n->pattern_src);
	if (n->format != JS_F_NONE && !js_format_check(n->format, s, len))
		return fail(v, "format", "must be %s", js_format_describe(n->format));
	return 0;
}

static int validate(struct vctx *v, const struct js_node *n, const json_t *inst, const char *via);

/* Run @n on @inst for its verdict only, without a message. */
static bool
matches(struct vctx *v, const struct js_node *n, const json_t *inst, const char *via)
{
	struct jschema_error *err = v->err;
	int r;

	v->err = NULL;
	r = validate(v, n, inst, via);
	v->err = err;
	return r == 0;
}

static int
prop_key_cmp(const void *key, const void *p)
{
	return strcmp(key, ((const struct js_prop *)p)->name);
}

static int
check_property_name(struct vctx *v, const struct js_node *n, const char *key)
{
	struct jschema_error sub, *err = v->err;
	json_t *name = json_string(key);
	int r;

	if (name == NULL)
		return abort_walk(v, "propertyNames", "out of memory");
	v->err = err != NULL ? &sub : NULL;
	r = validate(v, n->property_names, name, "propertyNames");
	v->err = err;
	json_decref(name);
	if (r < 0 && err != NULL)
		return fail(v, "propertyNames", "field name '%s': %s", key, sub.message);
	return r;
}

static int
check_member(struct vctx *v, const struct js_node *n, const char *key, const json_t *val)
{
	const struct js_prop *p = NULL;
	bool matched = false;
	size_t i;
	int r;

	if (n->n_props > 0)
		p = bsearch(key, n->props, n->n_props, sizeof(*n->props), prop_key_cmp);
	if (p != NULL) {
		matched = true;
		r = validate(v, p->schema, val, "properties");
		if (r < 0)
			return r;
	}
	for (i = 0; i < n->n_pprops; i++) {
		if (!js_regex_search(&n->pprops[i].re, key, strlen(key)))
			continue;
		matched = true;
		r = validate(v, n->pprops[i].schema, val, "patternProperties");
		if (r < 0)
			return r;
	}
	if (!matched && n->additional != NULL) {
		if (n->additional->kind == JS_FALSE)
			return fail(v, "additionalProperties", "unknown field '%s'", key);
		r = validate(v, n->additional, val, "additionalProperties");
		if (r < 0)
			return r;
	}
	if (n->property_names != NULL)
		return check_property_name(v, n, key);
	return 0;
}

static int
check_object(struct vctx *v, const struct js_node *n, const json_t *inst)
{
	size_t i, size = json_object_size(inst), old;
	const char *key;
	json_t *val;
	int r;

	json_object_foreach((json_t *)inst, key, val) {
		old = push(v, key);
		r = check_member(v, n, key, val);
		if (r < 0)
			return r;
		pop(v, old);
	}
	for (i = 0; i < n->n_required; i++) {
		if (json_object_get(inst, n->required[i]) != NULL)
			continue;
		push(v, n->required[i]);
		return fail(v, "required", "missing required field '%s'", n->required[i]);
	}
	if (n->max_props >= 0 && size > (unsigned long long)n->max_props)
		return fail(v, "maxProperties", "must have at most %lld field%s", n->max_props,
			    n->max_props == 1 ? "" : "s");
	if (n->min_props >= 0 && size < (unsigned long long)n->min_props)
		return fail(v, "minProperties", "must have at least %lld field%s", n->min_props,
			    n->min_props == 1 ? "" : "s");
	return 0;
}

static int
check_array(struct vctx *v, const struct js_node *n, const json_t *inst)
{
	size_t i, j, size = json_array_size(inst), old;
	bool found = false;
	int r;

	for (i = 0; n->items != NULL && i < size; i++) {
		old = push_index(v, i);
		r = validate(v, n->items, json_array_get(inst, i), "items");
		if (r < 0)
			return r;
		pop(v, old);
	}
	if (n->max_items >= 0 && size > (unsigned long long)n->max_items)
		return fail(v, "maxItems", "must have at most %lld item%s", n->max_items,
			    n->max_items == 1 ? "" : "s");
	if (n->min_items >= 0 && size < (unsigned long long)n->min_items)
		return fail(v, "minItems", "must have at least %lld item%s", n->min_items,
			    n->min_items == 1 ? "" : "s");
	if (n->unique_items) {
		r = find_duplicate(inst, &i, &j);
		if (r < 0)
			return abort_walk(v, "uniqueItems", "out of memory");
		if (r > 0)
			return fail(v, "uniqueItems", "must not contain duplicates (items %zu and %zu are equal)",
				    i, j);
	}
	for (i = 0; n->contains != NULL && !found && i < size; i++) {
		old = push_index(v, i);
		found = matches(v, n->contains, json_array_get(inst, i), "contains");
		pop(v, old);
		if (v->aborted)
			return -EINVAL;
	}
	if (n->contains != NULL && !found)
		return fail(v, "contains", "must contain at least one item of the required form");
	return 0;
}

/*
 * anyOf and oneOf found nothing. When exactly one alternative failed deeper
 * than here (its type matched, a member did not), its error is the one the
 * user needs; otherwise say what the keyword wants.
 */
static int
explain_alternatives(struct vctx *v, struct js_node *const *alts, size_t n, const json_t *inst,
		     const char *kw)
{
	struct jschema_error sub, best, *err = v->err;
	size_t i, deeper = 0;

	if (err == NULL)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		v->err = &sub;
		sub.pointer[0] = '\0';
		if (validate(v, alts[i], inst, kw) < 0 && strlen(sub.pointer) > v->len) {
			best = sub;
			deeper++;
		}
		v->err = err;
		if (v->aborted)
			return -EINVAL;
	}
	if (deeper == 1) {
		*err = best;
		return -EINVAL;
	}
	return fail(v, kw, "must match %s of the allowed forms",
		    strcmp(kw, "oneOf") == 0 ? "exactly one" : "at least one");
}

static int
check_applicators(struct vctx *v, const struct js_node *n, const json_t *inst)
{
	size_t i, n_match = 0, first = 0;
	int r;

	for (i = 0; i < n->n_all_of; i++) {
		r = validate(v, n->all_of[i], inst, "allOf");
		if (r < 0)
			return r;
	}
	for (i = 0; i < n->n_any_of && n_match == 0; i++) {
		n_match += matches(v, n->any_of[i], inst, "anyOf");
		if (v->aborted)
			return -EINVAL;
	}
	if (n->n_any_of > 0 && n_match == 0)
		return explain_alternatives(v, n->any_of, n->n_any_of, inst, "anyOf");
	for (i = 0, n_match = 0; i < n->n_one_of && n_match < 2; i++) {
		if (!matches(v, n->one_of[i], inst, "oneOf"))
			continue;
		if (n_match++ == 0)
			first = i;
	}
	if (v->aborted)
		return -EINVAL;
	if (n->n_one_of > 0 && n_match == 0)
		return explain_alternatives(v, n->one_of, n->n_one_of, inst, "oneOf");
	if (n_match > 1)
		return fail(v, "oneOf", "must match exactly one of the allowed forms, but matches "
					"more than one (forms %zu and %zu)",
			    first + 1, i);
	if (n->not_ != NULL && matches(v, n->not_, inst, "not"))
		return fail(v, "not", "must not match the form excluded by 'not'");
	if (v->aborted)
		return -EINVAL;
	if (n->if_ != NULL) {
		bool cond = matches(v, n->if_, inst, "if");

		if (v->aborted)
			return -EINVAL;
		if (cond && n->then_ != NULL)
			return validate(v, n->then_, inst, "then");
		if (!cond && n->else_ != NULL)
			return validate(v, n->else_, inst, "else");
	}
	return 0;
}

static int
validate_node(struct vctx *v, const struct js_node *n, const json_t *inst)
{
	char want[200] = "";
	int r;

	if (n->types != 0 && !type_matches(n->types, inst))
		return check_type(v, n->types);
	if (n->const_val != NULL && !js_json_equal(n->const_val, inst, 0)) {
		if (v->err != NULL)
			describe_value(n->const_val, want, sizeof(want));
		return fail(v, "const", "must be exactly: %s", want);
	}
	if (n->enum_vals != NULL) {
		r = check_enum(v, n->enum_vals, inst);
		if (r < 0)
			return r;
	}
	if (json_is_number(inst))
		r = check_number(v, n, inst);
	else if (json_is_string(inst))
		r = check_string(v, n, inst);
	else if (json_is_object(inst))
		r = check_object(v, n, inst);
	else if (json_is_array(inst))
		r = check_array(v, n, inst);
	else
		r = 0;
	if (r < 0)
		return r;
	/* Draft 2020-12 core §8.2.3.1: $ref applies beside its sibling keywords. */
	if (n->ref_str != NULL) {
		if (n->ref == NULL)
			return abort_walk(v, "$ref", "unresolved $ref '%s' (registry not checked)",
					  n->ref_str);
		r = validate(v, n->ref, inst, "$ref");
		if (r < 0)
			return r;
	}
	return check_applicators(v, n, inst);
}

static int
validate(struct vctx *v, const struct js_node *n, const json_t *inst, const char *via)
{
	size_t len = v->len;
	int r;

	if (v->aborted)
		return -EINVAL;
	if (v->depth >= JSCHEMA_MAX_DEPTH)
		return abort_walk(v, via != NULL ? via : "$ref",
				  "nested too deeply (more than %d levels of schemas)", JSCHEMA_MAX_DEPTH);
	/* anyOf over $refs to anyOf ... costs branches^depth: a budget bounds it. */
	if (++v->steps > JSCHEMA_MAX_STEPS)
		return abort_walk(v, via != NULL ? via : "$ref",
				  "too costly to validate (more than %lu schema applications)",
				  (unsigned long)JSCHEMA_MAX_STEPS);
	if (n->kind == JS_TRUE)
		return 0;
	if (n->kind == JS_FALSE)
		return fail(v, via != NULL ? via : "false", "is not allowed here");
	v->depth++;
	r = validate_node(v, n, inst);
	v->depth--;
	/* A failure returns without popping: restore the path for the next alternative. */
	v->len = len;
	v->path[len] = '\0';
	return r;
}

int
jschema_validate(const struct jschema_registry *r, const char *name, const json_t *instance,
		 struct jschema_error *ret_err)
{
	struct vctx v = {.err = ret_err};
	size_t i;
	int ret;

	for (i = 0; i < r->n_docs; i++)
		if (strcmp(r->docs[i]->name, name) == 0)
			break;
	if (i == r->n_docs) {
		if (ret_err != NULL) {
			memset(ret_err, 0, sizeof(*ret_err));
			snprintf(ret_err->message, sizeof(ret_err->message), "unknown schema '%s'", name);
		}
		return -ENOENT;
	}
	ret = validate(&v, r->docs[i]->root_node, instance, NULL);
	if (v.aborted && ret_err != NULL)
		*ret_err = v.abort_err;
	return ret;
}
