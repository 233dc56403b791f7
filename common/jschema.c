/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The schema compiler and the registry: a schema is checked keyword by
 * keyword once, at start, into js_node trees whose $refs point straight at
 * their targets, so that validation (jschema_validate.c) never reads the raw
 * JSON of the schema again.
 */
#include "common/hex.h"
#include "common/jschema.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jschema_priv.h"

const char JSCHEMA_KEYWORDS[] =
	"type, enum, const, multipleOf, maximum, exclusiveMaximum, minimum, exclusiveMinimum, "
	"maxLength, minLength, pattern, format, items, maxItems, minItems, uniqueItems, contains, "
	"maxProperties, minProperties, required, properties, patternProperties, "
	"additionalProperties, propertyNames, allOf, anyOf, oneOf, not, if, then, else, $ref, "
	"$defs, definitions, $schema, $id, $comment, title, description, default, examples, "
	"readOnly, writeOnly, deprecated, x-*";

/* Compilation of one document. */
struct cctx {
	struct jschema_registry *reg;
	struct js_doc *doc;
	char path[512]; /* JSON pointer of the schema being compiled, for errors */
	unsigned depth;
	bool at_root;      /* the next schema compiled is the document's root */
	bool node_is_root; /* the keyword being compiled belongs to the root */
	/* $refs met, resolved once the whole document is compiled. */
	struct js_node **refs;
	size_t n_refs, cap_refs;
	char *err;
	size_t errlen;
};

static int __attribute__((format(printf, 2, 3)))
cfail(struct cctx *c, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "%s: %s: %s", c->doc->name, c->path[0] ? c->path : "(root)",
		 why);
	return -EINVAL;
}

/* Append "/" and @token escaped (RFC 6901 §3) to @path; returns the old length to pop to. */
static size_t
path_push(char *path, size_t size, const char *token)
{
	size_t old = strnlen(path, size), len = old;

	if (len + 1 < size)
		path[len++] = '/';
	for (; *token != '\0' && len + 2 < size; token++) {
		if (*token == '~' || *token == '/') {
			path[len++] = '~';
			path[len++] = *token == '~' ? '0' : '1';
		} else {
			path[len++] = *token;
		}
	}
	path[len < size ? len : size - 1] = '\0';
	return old;
}

/* ---- json_t location -> node map ---- */

static size_t
ptr_hash(const void *p, size_t size)
{
	uintptr_t x = (uintptr_t)p;

	x ^= x >> 17;
	x *= 0x9e3779b97f4a7c15ULL;
	return (size_t)(x >> 7) & (size - 1);
}

static struct js_node *
map_get(const struct js_doc *d, const json_t *key)
{
	size_t i;

	if (d->map_size == 0)
		return NULL;
	for (i = ptr_hash(key, d->map_size); d->map[i].key != NULL; i = (i + 1) & (d->map_size - 1))
		if (d->map[i].key == key)
			return d->map[i].node;
	return NULL;
}

static int
map_put(struct js_doc *d, const json_t *key, struct js_node *node)
{
	size_t i;

	if ((d->map_used + 1) * 2 > d->map_size) {
		size_t size = d->map_size ? d->map_size * 2 : 64, j;
		__typeof__(d->map) map = calloc(size, sizeof(*map));

		if (map == NULL)
			return -ENOMEM;
		for (j = 0; j < d->map_size; j++) {
			if (d->map[j].key == NULL)
				continue;
			for (i = ptr_hash(d->map[j].key, size); map[i].key != NULL; i = (i + 1) & (size - 1))
				;
			map[i] = d->map[j];
		}
		free(d->map);
		d->map = map;
		d->map_size = size;
	}
	for (i = ptr_hash(key, d->map_size); d->map[i].key != NULL; i = (i + 1) & (d->map_size - 1))
		;
	d->map[i].key = key;
	d->map[i].node = node;
	d->map_used++;
	return 0;
}

/* ---- nodes ---- */

static struct js_node *
node_free(struct js_node *n)
{
	size_t i;

	if (n == NULL)
		return NULL;
	if (n->pattern != NULL) {
		regfree(n->pattern);
		free(n->pattern);
	}
	for (i = 0; i < n->n_pprops; i++)
		regfree(&n->pprops[i].re);
	free(n->pprops);
	free(n->props);
	free(n->required);
	free(n->all_of);
	free(n->any_of);
	free(n->one_of);
	free(n->path);
	free(n);
	return NULL;
}

static struct js_doc *
doc_free(struct js_doc *d)
{
	struct js_node *n, *next;

	if (d == NULL)
		return NULL;
	for (n = d->nodes; n != NULL; n = next) {
		next = n->next;
		node_free(n);
	}
	free(d->map);
	json_decref(d->root);
	free(d->name);
	free(d);
	return NULL;
}

static int compile(struct cctx *c, json_t *s, struct js_node **ret);

/* Compile the subschema @s found under @token (one or more pointer segments). */
static int
compile_at(struct cctx *c, json_t *s, const char *token, const char *token2, struct js_node **ret)
{
	size_t old = path_push(c->path, sizeof(c->path), token);
	int r;

	if (token2 != NULL)
		path_push(c->path, sizeof(c->path), token2);
	r = compile(c, s, ret);
	if (r == 0)
		c->path[old] = '\0';
	return r;
}

/* A non-negative integer keyword value (1.0 counts, as "integer" does). */
static int
get_count(struct cctx *c, const char *kw, const json_t *v, long long *ret)
{
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*ret = json_integer_value(v);
		return 0;
	}
	if (json_is_real(v) && json_real_value(v) >= 0 && json_real_value(v) < 9007199254740992.0 &&
	    floor(json_real_value(v)) == json_real_value(v)) {
		*ret = (long long)json_real_value(v);
		return 0;
	}
	return cfail(c, "'%s' must be a non-negative integer", kw);
}

static int
kw_type(struct cctx *c, struct js_node *n, const char *kw, json_t *v)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {
		{"null", JS_T_NULL},	 {"boolean", JS_T_BOOLEAN}, {"object", JS_T_OBJECT},
		{"array", JS_T_ARRAY},	 {"number", JS_T_NUMBER},   {"string", JS_T_STRING},
		{"integer", JS_T_INTEGER},
	};
	size_t i, j, count = json_is_array(v) ? json_array_size(v) : 1;

	if (json_is_array(v) && count == 0)
		return cfail(c, "'type' must not be an empty array");
	for (i = 0; i < count; i++) {
		const json_t *t = json_is_array(v) ? json_array_get(v, i) : v;
		unsigned bit = 0;

		for (j = 0; json_is_string(t) && j < sizeof(names) / sizeof(names[0]); j++)
			if (strcmp(json_string_value(t), names[j].name) == 0)
				bit = names[j].bit;
		if (bit == 0)
			return cfail(c, "'type' must be one of null, boolean, object, array, number, "
					"string, integer, or an array of them");
		if (n->types & bit)
			return cfail(c, "'type' lists '%s' twice", json_string_value(t));
		n->types |= bit;
	}
	return 0;
}

static int
kw_enum(struct cctx *c, struct js_node *n, const char *kw, json_t *v)
{
	if (!json_is_array(v))
		return cfail(c, "'enum' must be an array");
	n->enum_vals = v;
	return 0;
}

static int
kw_const(struct cctx *c, struct js_node *n, const char *kw, json_t *v)
{
	n->const_val = v;
	return 0;
}

static int
kw_number(struct cctx *c, struct js_node *n, const char *kw, json_t *v)
{
	if (!json_is_number(v))
		return cfail(c, "'%s' must be a number", kw);
	if (strcmp(kw, "multipleOf") == 0) {
		if (json_number_value(v) <= 0 || !isfinite(json_number_value(v)))
			return cfail(c, "'multipleOf' must be greater than 0");
		n->multiple_of = v;
	} else if (strcmp(kw, "maximum") == 0) {
		n->maximum = v;
	} else if (strcmp(kw, "exclusiveMaximum") == 0) {
		n->exclusive_maximum = v;
	} else if (strcmp(kw, "minimum") == 0) {
		n->minimum = v;
	} else {
		n->exclusive_minimum = v;
	}
	return 0;
}

static int
kw_count(struct cctx *c, struct js_node *n, const char *kw, json_t *v)
{
	long long *slot;

	if (strcmp(kw, "maxLength") == 0)
		slot = &n->max_length;
	else if (strcmp(kw, "minLength") == 0)
		slot = &n->min_length;
	else if (strcmp(kw, "maxItems") == 0)
		slot = &n->max_items;
	else if (strcmp(kw, "minItems") == 0)
		slot = &n->min_items;
	else if (strcmp(kw, "maxProperties") == 0)
		slot = &n->max_props;
	else
		slot = &n->min_props;
	return get_count(c, kw, v, slot);
}

/* A regular expression of the schema, compiled; @what names it in errors. */
static int
regex_of(struct cctx *c, regex_t *re, const char *src, size_t len, const char *what)
{
	char why[160];
	int r;

	if (strlen(src) != len)
		return cfail(c, "%s must not contain NUL", what);
	r = js_regex_compile(re, src, why, sizeof(why));
	if (r < 0)
		return r == -ENOMEM ? -ENOMEM : cfail(c, "%s '%s' is refused: %s", what, src, why);
	return 0;
}

static int
kw_pattern(struct cctx *c, struct js_node *n, const char *kw, json_t *v)
{
	int r;

	if (!json_is_string(v))
		return cfail(c, "'pattern' must be a string");
	n->pattern = calloc(1, sizeof(*n->pattern));
	if (n->pattern == NULL)
		return -ENOMEM;
	r = regex_of(c, n->pattern, json_string_value(v), json_string_length(v), "pattern");
	if (r < 0) {
		free(n->pattern);
		n->pattern = NULL;
		return r;
	}
	n->pattern_src = json_string_value(v);
	return 0;
}

static int
kw_format(struct cctx *c, struct js_node *n, const char *kw, json_t *v)
{
	if (!json_is_string(v))
		return cfail(c, "'format' must be a string");
	n->format = js_format_lookup(json_string_value(v));
	if (n->format == JS_F_NONE)
		return cfail(c, "unsupported format '%s' (supported: date-time, date, time, email, "
				"ipv4, ipv6, uuid, uri)",
			     json_string_value(v));
	return 0;
}

static int
kw_items(struct cctx *c, struct js_node *n, const char *kw, json_t *v)
{
	if (json_is_array(v))
		return cfail(c, "the array form of 'items' is not supported (draft 2020-12 names "
				"it prefixItems, which is not supported either)");
	return compile(c, v, &n->items);
}

static int
kw_unique(struct cctx *c, struct js_node *n, const char *kw, json_t *v)
{
	if (!json_is_boolean(v))
		return cfail(c, "'uniqueItems' must be a boolean");
	n->unique_items = json_is_true(v);
	return 0;
}

static int
kw_schema(struct cctx *c, struct js_node *n, const char *kw, json_t *v)
{
	struct js_node **slot;

	if (strcmp(kw, "contains") == 0)
		slot = &n->contains;
	else if (strcmp(kw, "additionalProperties") == 0)
		slot = &n->additional;
	else if (strcmp(kw, "propertyNames") == 0)
		slot = &n->property_names;
	else if (strcmp(kw, "not") == 0)
		slot = &n->not_;
	else if (strcmp(kw, "if") == 0)
		slot = &n->if_;
	else if (strcmp(kw, "then") == 0)
		slot = &n->then_;
	else
		slot = &n->else_;
	return compile(c, v, slot);
}

static int
kw_required(struct cctx *c, struct js_node *n, const char *kw, json_t *v)
{
	size_t i, j;

	if (!json_is_array(v))
		return cfail(c, "'required' must be an array of strings");
	n->required = calloc(json_array_size(v) + 1, sizeof(*n->required));
	if (n->required == NULL)
		return -ENOMEM;
	for (i = 0; i < json_array_size(v); i++) {
		const json_t *s = json_array_get(v, i);

		if (!json_is_string(s))
			return cfail(c, "'required' must be an array of strings");
		for (j = 0; j < i; j++)
			if (strcmp(n->required[j], json_string_value(s)) == 0)
				return cfail(c, "'required' lists '%s' twice", json_string_value(s));
		n->required[i] = json_string_value(s);
	}
	n->n_required = json_array_size(v);
	return 0;
}

static int
prop_cmp(const void *a, const void *b)
{
	return strcmp(((const struct js_prop *)a)->name, ((const struct js_prop *)b)->name);
}

static int
kw_properties(struct cctx *c, struct js_node *n, const char *kw, json_t *v)
{
	const char *key;
	json_t *s;
	int r;

	if (!json_is_object(v))
		return cfail(c, "'properties' must be an object of schemas");
	n->props = calloc(json_object_size(v) + 1, sizeof(*n->props));
	if (n->props == NULL)
		return -ENOMEM;
	json_object_foreach(v, key, s) {
		struct js_prop *p = &n->props[n->n_props];

		p->name = key;
		r = compile_at(c, s, key, NULL, &p->schema);
		if (r < 0)
			return r;
		n->n_props++;
	}
	qsort(n->props, n->n_props, sizeof(*n->props), prop_cmp);
	return 0;
}

static int
kw_pattern_properties(struct cctx *c, struct js_node *n, const char *kw, json_t *v)
{
	const char *key;
	json_t *s;
	int r;

	if (!json_is_object(v))
		return cfail(c, "'patternProperties' must be an object of schemas");
	n->pprops = calloc(json_object_size(v) + 1, sizeof(*n->pprops));
	if (n->pprops == NULL)
		return -ENOMEM;
	json_object_foreach(v, key, s) {
		struct js_pprop *p = &n->pprops[n->n_pprops];

		r = regex_of(c, &p->re, key, strlen(key), "patternProperties key");
		if (r < 0)
			return r;
		n->n_pprops++; /* from here node_free() frees the regex */
		p->src = key;
		r = compile_at(c, s, key, NULL, &p->schema);
		if (r < 0)
			return r;
	}
	return 0;
}

static int
kw_list(struct cctx *c, struct js_node *n, const char *kw, json_t *v)
{
	struct js_node ***slot;
	size_t *count, i;
	char idx[24];
	int r;

	if (strcmp(kw, "allOf") == 0) {
		slot = &n->all_of;
		count = &n->n_all_of;
	} else if (strcmp(kw, "anyOf") == 0) {
		slot = &n->any_of;
		count = &n->n_any_of;
	} else {
		slot = &n->one_of;
		count = &n->n_one_of;
	}
	if (!json_is_array(v) || json_array_size(v) == 0)
		return cfail(c, "'%s' must be a non-empty array of schemas", kw);
	*slot = calloc(json_array_size(v), sizeof(**slot));
	if (*slot == NULL)
		return -ENOMEM;
	for (i = 0; i < json_array_size(v); i++) {
		snprintf(idx, sizeof(idx), "%zu", i);
		r = compile_at(c, json_array_get(v, i), idx, NULL, &(*slot)[i]);
		if (r < 0)
			return r;
		(*count)++;
	}
	return 0;
}

static int
kw_defs(struct cctx *c, struct js_node *n, const char *kw, json_t *v)
{
	struct js_node *unused;
	const char *key;
	json_t *s;
	int r;

	if (!json_is_object(v))
		return cfail(c, "'%s' must be an object of schemas", kw);
	/* Compiled now, so that a bad definition is refused even if nothing refers to it. */
	json_object_foreach(v, key, s) {
		r = compile_at(c, s, key, NULL, &unused);
		if (r < 0)
			return r;
	}
	return 0;
}

static int
kw_ref(struct cctx *c, struct js_node *n, const char *kw, json_t *v)
{
	const char *ref;

	if (!json_is_string(v))
		return cfail(c, "'$ref' must be a string");
	ref = json_string_value(v);
	if (ref[0] != '#')
		return cfail(c, "remote $ref '%s' is not supported (only '#/...' pointers and "
				"'#/components/schemas/<name>')",
			     ref);
	if (ref[1] != '\0' && ref[1] != '/')
		return cfail(c, "$ref '%s': plain-name fragments ($anchor) are not supported", ref);
	if (c->n_refs == c->cap_refs) {
		size_t cap = c->cap_refs ? c->cap_refs * 2 : 16;
		struct js_node **refs = reallocarray(c->refs, cap, sizeof(*refs));

		if (refs == NULL)
			return -ENOMEM;
		c->refs = refs;
		c->cap_refs = cap;
	}
	n->path = strdup(c->path);
	if (n->path == NULL)
		return -ENOMEM;
	n->ref_str = ref;
	c->refs[c->n_refs++] = n;
	return 0;
}

static int
kw_annotation(struct cctx *c, struct js_node *n, const char *kw, json_t *v)
{
	bool ok = true;

	if (strcmp(kw, "$id") == 0) {
		/* A nested $id would start a new base URI for $ref; we resolve against the document only. */
		if (!c->node_is_root)
			return cfail(c, "$id is only accepted at a schema's root");
		ok = json_is_string(v);
	} else if (strcmp(kw, "readOnly") == 0 || strcmp(kw, "writeOnly") == 0 ||
		   strcmp(kw, "deprecated") == 0) {
		ok = json_is_boolean(v);
	} else if (strcmp(kw, "examples") == 0) {
		ok = json_is_array(v);
	} else if (strcmp(kw, "default") != 0) {
		ok = json_is_string(v); /* $schema, $comment, title, description */
	}
	if (!ok)
		return cfail(c, "'%s' has the wrong type", kw);
	return 0;
}

typedef int kw_fn(struct cctx *c, struct js_node *n, const char *kw, json_t *v);

static const struct {
	const char *name;
	kw_fn *fn;
} keywords[] = {
	{"type", kw_type},
	{"enum", kw_enum},
	{"const", kw_const},
	{"multipleOf", kw_number},
	{"maximum", kw_number},
	{"exclusiveMaximum", kw_number},
	{"minimum", kw_number},
	{"exclusiveMinimum", kw_number},
	{"maxLength", kw_count},
	{"minLength", kw_count},
	{"pattern", kw_pattern},
	{"format", kw_format},
	{"items", kw_items},
	{"maxItems", kw_count},
	{"minItems", kw_count},
	{"uniqueItems", kw_unique},
	{"contains", kw_schema},
	{"maxProperties", kw_count},
	{"minProperties", kw_count},
	{"required", kw_required},
	{"properties", kw_properties},
	{"patternProperties", kw_pattern_properties},
	{"additionalProperties", kw_schema},
	{"propertyNames", kw_schema},
	{"allOf", kw_list},
	{"anyOf", kw_list},
	{"oneOf", kw_list},
	{"not", kw_schema},
	{"if", kw_schema},
	{"then", kw_schema},
	{"else", kw_schema},
	{"$ref", kw_ref},
	{"$defs", kw_defs},
	{"definitions", kw_defs},
	{"$schema", kw_annotation},
	{"$id", kw_annotation},
	{"$comment", kw_annotation},
	{"title", kw_annotation},
	{"description", kw_annotation},
	{"default", kw_annotation},
	{"examples", kw_annotation},
	{"readOnly", kw_annotation},
	{"writeOnly", kw_annotation},
	{"deprecated", kw_annotation},
};

static kw_fn *
keyword_lookup(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (strcmp(keywords[i].name, name) == 0)
			return keywords[i].fn;
	return NULL;
}

static int
compile_keywords(struct cctx *c, struct js_node *n, json_t *s)
{
	bool root = c->at_root;
	const char *key;
	json_t *v;
	int r = 0;

	c->at_root = false;
	json_object_foreach(s, key, v) {
		size_t old;
		kw_fn *fn;

		if (strncmp(key, "x-", 2) == 0)
			continue; /* OpenAPI 3.1 §4.9 specification extensions */
		old = path_push(c->path, sizeof(c->path), key);
		fn = keyword_lookup(key);
		if (fn == NULL)
			return cfail(c, "unsupported keyword '%s' (supported: %s)", key, JSCHEMA_KEYWORDS);
		c->node_is_root = root;
		r = fn(c, n, key, v);
		if (r < 0)
			return r;
		c->path[old] = '\0';
	}
	return 0;
}

static int
compile(struct cctx *c, json_t *s, struct js_node **ret)
{
	struct js_node *n = map_get(c->doc, s);
	int r;

	/* Already compiled: a $ref target, or a shared true/false singleton. */
	if (n != NULL) {
		*ret = n;
		return 0;
	}
	if (!json_is_object(s) && !json_is_boolean(s))
		return cfail(c, "a schema must be an object or a boolean");
	if (c->depth >= JS_MAX_NESTING)
		return cfail(c, "schemas nested deeper than %d levels", JS_MAX_NESTING);
	n = calloc(1, sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	n->next = c->doc->nodes;
	c->doc->nodes = n;
	n->max_length = n->min_length = n->max_items = n->min_items = -1;
	n->max_props = n->min_props = -1;
	n->kind = json_is_true(s) ? JS_TRUE : json_is_false(s) ? JS_FALSE : JS_SCHEMA;
	r = map_put(c->doc, s, n);
	if (r < 0)
		return r;
	if (n->kind == JS_SCHEMA) {
		c->depth++;
		r = compile_keywords(c, n, s);
		c->depth--;
		if (r < 0)
			return r;
	}
	*ret = n;
	return 0;
}

/* ---- $ref resolution ---- */

/*
 * Split the fragment after "#" into JSON pointer tokens: percent-decode it
 * (RFC 6901 §6, the fragment is a URI fragment), then split at "/" and undo
 * "~1" and "~0" (§4). The tokens point into @buf (size strlen(frag) + 1).
 */
static int
pointer_tokens(const char *frag, char *buf, char **tokens, size_t max, size_t *ret_n)
{
	size_t n = 0, len = 0;
	char *w;

	for (; *frag != '\0'; frag++) {
		if (*frag == '%') {
			int hi = hex_digit(frag[1]), lo = hi < 0 ? -1 : hex_digit(frag[2]);

			if (lo < 0 || (hi == 0 && lo == 0))
				return -EINVAL;
			buf[len++] = (char)(hi * 16 + lo);
			frag += 2;
		} else {
			buf[len++] = *frag;
		}
	}
	buf[len] = '\0';
	if (len == 0) {
		*ret_n = 0;
		return 0;
	}
	if (buf[0] != '/')
		return -EINVAL;
	for (w = buf; w != NULL;) {
		char *r, *o;

		*w++ = '\0';
		if (n == max)
			return -E2BIG;
		tokens[n++] = w;
		for (r = o = w; *r != '\0' && *r != '/'; r++) {
			if (*r == '~') {
				if (r[1] != '0' && r[1] != '1')
					return -EINVAL;
				*o++ = r[1] == '0' ? '~' : '/';
				r++;
			} else {
				*o++ = *r;
			}
		}
		w = *r == '/' ? r : NULL;
		*o = '\0';
	}
	*ret_n = n;
	return 0;
}

static json_t *
pointer_walk(json_t *v, char **tokens, size_t n)
{
	size_t i;

	for (i = 0; i < n && v != NULL; i++) {
		if (json_is_object(v)) {
			v = json_object_get(v, tokens[i]);
		} else if (json_is_array(v)) {
			char *end;
			unsigned long idx = strtoul(tokens[i], &end, 10);

			/* RFC 6901 §4: decimal, no leading zeros. */
			if (tokens[i][0] < '0' || tokens[i][0] > '9' || *end != '\0' ||
			    (tokens[i][0] == '0' && tokens[i][1] != '\0'))
				return NULL;
			v = json_array_get(v, idx);
		} else {
			return NULL;
		}
	}
	return v;
}

static struct js_doc *
doc_find(const struct jschema_registry *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->n_docs; i++)
		if (strcmp(r->docs[i]->name, name) == 0)
			return r->docs[i];
	return NULL;
}

enum { REF_DONE, REF_OTHER_DOC };

/*
 * Resolve @n's $ref, found in document @c->doc. A local target not compiled
 * yet (a pointer to a place that is not a subschema position) is compiled
 * now. A target in another document must already be compiled there (every
 * subschema position is). Returns REF_DONE, REF_OTHER_DOC when the named
 * document is not in the registry yet, or -EINVAL with the reason in @why.
 */
static int
resolve(struct cctx *c, const struct jschema_registry *reg, struct js_node *n, char *why,
	size_t whylen)
{
	size_t len = strlen(n->ref_str), n_tok;
	char *buf = malloc(len + 1), **tok = calloc(len + 1, sizeof(*tok));
	struct js_doc *target = c != NULL ? c->doc : NULL;
	json_t *at;
	int r;

	if (buf == NULL || tok == NULL) {
		r = -ENOMEM;
		goto out_free;
	}
	r = pointer_tokens(n->ref_str + 1, buf, tok, len + 1, &n_tok);
	if (r < 0) {
		snprintf(why, whylen, "$ref '%s' is not a valid JSON pointer", n->ref_str);
		r = -EINVAL;
		goto out_free;
	}
	if (n_tok >= 3 && strcmp(tok[0], "components") == 0 && strcmp(tok[1], "schemas") == 0) {
		target = doc_find(reg, tok[2]);
		if (target == NULL && c != NULL && strcmp(tok[2], c->doc->name) == 0)
			target = c->doc;
		if (target == NULL) {
			r = REF_OTHER_DOC;
			goto out_free;
		}
		at = pointer_walk(target->root, tok + 3, n_tok - 3);
	} else {
		at = target != NULL ? pointer_walk(target->root, tok, n_tok) : NULL;
	}
	n->ref = at != NULL ? map_get(target, at) : NULL;
	if (n->ref == NULL && at != NULL && c != NULL && target == c->doc) {
		/* Compile the target where it is, with errors naming the pointer. */
		snprintf(c->path, sizeof(c->path), "%s", n->ref_str + 1);
		r = compile(c, at, &n->ref);
		if (r < 0)
			goto out_free;
	}
	if (n->ref == NULL) {
		snprintf(why, whylen, "$ref '%s' does not point to a schema", n->ref_str);
		r = -EINVAL;
		goto out_free;
	}
	r = REF_DONE;
out_free:
	free(tok);
	free(buf);
	return r;
}

static int
pending_add(struct jschema_registry *r, struct js_doc *d, struct js_node *n)
{
	struct js_pending *p = reallocarray(r->pending, r->n_pending + 1, sizeof(*p));

	if (p == NULL)
		return -ENOMEM;
	r->pending = p;
	r->pending[r->n_pending].doc = d;
	r->pending[r->n_pending].node = n;
	r->n_pending++;
	return 0;
}

/*
 * Resolve the document's own $refs (compiling more of it when a ref points
 * at an uncompiled place, which may add refs: the loop runs to the end).
 * Refs to documents not added yet are collected in @ret_later.
 */
static int
resolve_doc(struct cctx *c, struct js_node ***ret_later, size_t *ret_n_later)
{
	struct js_node **later = NULL;
	size_t i, n_later = 0;
	char why[256];
	int r;

	for (i = 0; i < c->n_refs; i++) {
		struct js_node *n = c->refs[i];

		why[0] = '\0';
		r = resolve(c, c->reg, n, why, sizeof(why));
		if (r == -EINVAL && why[0] != '\0') {
			snprintf(c->path, sizeof(c->path), "%s", n->path);
			r = cfail(c, "%s", why);
		}
		if (r < 0)
			goto out_fail;
		if (r == REF_OTHER_DOC) {
			struct js_node **l = reallocarray(later, n_later + 1, sizeof(*l));

			if (l == NULL) {
				r = -ENOMEM;
				goto out_fail;
			}
			later = l;
			later[n_later++] = n;
		}
	}
	*ret_later = later;
	*ret_n_later = n_later;
	return 0;
out_fail:
	free(later);
	return r;
}

/* ---- the registry ---- */

struct jschema_registry *
jschema_registry_new(void)
{
	return calloc(1, sizeof(struct jschema_registry));
}

struct jschema_registry *
jschema_registry_free(struct jschema_registry *r)
{
	size_t i;

	if (r == NULL)
		return NULL;
	for (i = 0; i < r->n_docs; i++)
		doc_free(r->docs[i]);
	free(r->docs);
	free(r->pending);
	free(r);
	return NULL;
}

/* Resolve what waited for a document now added; what does not resolve stays for the check. */
static void
resolve_waiting(struct jschema_registry *r)
{
	size_t i, kept = 0;
	char why[256];

	for (i = 0; i < r->n_pending; i++) {
		struct js_pending p = r->pending[i];

		if (resolve(NULL, r, p.node, why, sizeof(why)) != REF_DONE)
			r->pending[kept++] = p;
	}
	r->n_pending = kept;
}

static int
doc_compile(struct jschema_registry *r, struct js_doc *d, char *err, size_t errlen)
{
	struct cctx c = {.reg = r, .doc = d, .at_root = true, .err = err, .errlen = errlen};
	struct js_node **later = NULL;
	size_t n_later = 0, i;
	int ret;

	ret = compile(&c, d->root, &d->root_node);
	c.at_root = false;
	if (ret == 0)
		ret = resolve_doc(&c, &later, &n_later);
	/* The caller drops what this added to the pending list if we fail. */
	for (i = 0; ret == 0 && i < n_later; i++)
		ret = pending_add(r, d, later[i]);
	free(later);
	free(c.refs);
	if (ret == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory", d->name);
	return ret;
}

int
jschema_add(struct jschema_registry *r, const char *name, json_t *schema, char *err, size_t errlen)
{
	struct js_doc **docs, *d;
	size_t pending_before = r->n_pending;
	int ret;

	if (doc_find(r, name) != NULL) {
		snprintf(err, errlen, "%s: a schema of this name is already registered", name);
		return -EEXIST;
	}
	docs = reallocarray(r->docs, r->n_docs + 1, sizeof(*docs));
	d = docs != NULL ? calloc(1, sizeof(*d)) : NULL;
	if (docs != NULL)
		r->docs = docs;
	if (d == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	d->name = strdup(name);
	/* Our own copy: nodes borrow from it, and the caller may change theirs. */
	d->root = json_deep_copy(schema);
	if (d->name == NULL || d->root == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		doc_free(d);
		return -ENOMEM;
	}
	ret = doc_compile(r, d, err, errlen);
	if (ret < 0) {
		r->n_pending = pending_before;
		doc_free(d);
		return ret;
	}
	r->docs[r->n_docs++] = d;
	resolve_waiting(r);
	return 0;
}

int
jschema_registry_check(struct jschema_registry *r, char *err, size_t errlen)
{
	char why[256];
	size_t i;
	int ret;

	resolve_waiting(r);
	for (i = 0; i < r->n_pending; i++) {
		struct js_pending *p = &r->pending[i];

		ret = resolve(NULL, r, p->node, why, sizeof(why));
		if (ret == REF_OTHER_DOC)
			snprintf(why, sizeof(why), "dangling $ref '%s': no schema of that name",
				 p->node->ref_str);
		snprintf(err, errlen, "%s: %s: %s", p->doc->name, p->node->path[0] ? p->node->path : "(root)",
			 why);
		return -EINVAL;
	}
	return 0;
}

json_t *
jschema_get(const struct jschema_registry *r, const char *name)
{
	struct js_doc *d = doc_find(r, name);

	return d != NULL ? d->root : NULL;
}
