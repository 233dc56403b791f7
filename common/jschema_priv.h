/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_COMMON_JSCHEMA_PRIV_H
#define CUCO_COMMON_JSCHEMA_PRIV_H

/*
 * The compiled form of a schema, shared by the compiler (jschema.c), the
 * validator (jschema_validate.c) and the format and pattern helpers. Not an
 * API: only the jschema files include it.
 */

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/jschema.h"

/* Type bits for the "type" keyword. */
enum {
	JS_T_NULL = 1 << 0,
	JS_T_BOOLEAN = 1 << 1,
	JS_T_OBJECT = 1 << 2,
	JS_T_ARRAY = 1 << 3,
	JS_T_NUMBER = 1 << 4,
	JS_T_STRING = 1 << 5,
	JS_T_INTEGER = 1 << 6,
};

enum js_format {
	JS_F_NONE,
	JS_F_DATE_TIME,
	JS_F_DATE,
	JS_F_TIME,
	JS_F_EMAIL,
	JS_F_IPV4,
	JS_F_IPV6,
	JS_F_UUID,
	JS_F_URI,
};

/* A boolean schema compiles to a node too, so that $ref may point at it. */
enum js_kind { JS_TRUE, JS_FALSE, JS_SCHEMA };

struct js_node;

struct js_prop {
	const char *name; /* borrowed from the registry's copy of the schema */
	struct js_node *schema;
};

struct js_pprop {
	regex_t re;
	const char *src;
	struct js_node *schema;
};

struct js_node {
	struct js_node *next; /* the document's list of nodes, for freeing */
	char *path;           /* JSON pointer in the schema, for errors */
	enum js_kind kind;
	unsigned types; /* JS_T_* bits; 0 when "type" is absent */

	/* Borrowed from the registry's copy of the schema. */
	const json_t *enum_vals;
	const json_t *const_val;
	const json_t *multiple_of;
	const json_t *maximum, *exclusive_maximum, *minimum, *exclusive_minimum;

	long long max_length, min_length; /* -1 when absent */
	regex_t *pattern;
	const char *pattern_src;
	enum js_format format;

	struct js_node *items, *contains;
	long long max_items, min_items;
	bool unique_items;

	long long max_props, min_props;
	const char **required;
	size_t n_required;
	struct js_prop *props; /* sorted by name, for bsearch */
	size_t n_props;
	struct js_pprop *pprops;
	size_t n_pprops;
	struct js_node *additional, *property_names;

	struct js_node **all_of, **any_of, **one_of;
	size_t n_all_of, n_any_of, n_one_of;
	struct js_node *not_, *if_, *then_, *else_;

	/* $ref: ref_str is set, ref is NULL until resolved. */
	const char *ref_str;
	struct js_node *ref;
};

/* A compiled document: one named schema of the registry. */
struct js_doc {
	char *name;
	json_t *root; /* our deep copy: nodes borrow strings and values from it */
	struct js_node *root_node;
	struct js_node *nodes;
	/* json_t location -> compiled node, open addressing, for $ref targets. */
	struct {
		const json_t *key;
		struct js_node *node;
	} *map;
	size_t map_size, map_used;
};

struct jschema_registry {
	struct js_doc **docs;
	size_t n_docs;
	/* $refs to other documents not resolved yet (name not added yet). */
	struct js_pending {
		struct js_doc *doc;
		struct js_node *node;
	} *pending;
	size_t n_pending;
};

/* Schemas nest at most this deep inside one document (bounds the compiler's recursion). */
#define JS_MAX_NESTING 64

/* jschema_format.c */
enum js_format js_format_lookup(const char *name);
const char *js_format_describe(enum js_format f);
bool js_format_check(enum js_format f, const char *s, size_t len);

/* jschema_regex.c */
int js_regex_compile(regex_t *re, const char *ecma, char *err, size_t errlen);
bool js_regex_search(const regex_t *re, const char *s, size_t len);

/* jschema_validate.c */
size_t js_utf8_length(const char *s, size_t len);
bool js_json_equal(const json_t *a, const json_t *b, unsigned depth);

#endif
