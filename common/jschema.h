/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CUCO_COMMON_JSCHEMA_H
#define CUCO_COMMON_JSCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/*
 * JSON Schema validation (a documented subset of draft 2020-12, whose
 * keywords behave as in draft 7 for everything in the subset).
 *
 * Schemas are compiled once, at start: a schema that uses a keyword outside
 * the supported list (JSCHEMA_KEYWORDS) is refused, so that no schema silently
 * validates less than it says. Validation is then read-only and may run in
 * several threads at once.
 */

/* The supported keywords, comma-separated, for documentation and errors. */
extern const char JSCHEMA_KEYWORDS[];

struct jschema_registry;

/*
 * A registry of named schemas that may refer to each other with
 * "$ref": "#/components/schemas/<name>" (the OpenAPI form) and, inside one
 * schema, "#/$defs/<name>", "#/definitions/<name>" or any local JSON pointer.
 */
struct jschema_registry *jschema_registry_new(void);

/* Free; accepts NULL, returns NULL. */
struct jschema_registry *jschema_registry_free(struct jschema_registry *r);

/*
 * Add @schema (borrowed; the registry keeps its own reference) under @name
 * and compile it. References to names not added yet are resolved by
 * jschema_registry_check(). Returns 0, -EEXIST for a name taken, or -EINVAL
 * with the schema name, the JSON pointer in the schema and the reason in
 * @err ("customer: /properties/age: unsupported keyword 'dependentSchemas'").
 */
int jschema_add(struct jschema_registry *r, const char *name, json_t *schema, char *err,
		size_t errlen);

/* Check every $ref resolves. Returns 0 or -EINVAL with the first dangling one in @err. */
int jschema_registry_check(struct jschema_registry *r, char *err, size_t errlen);

/* The schema as added, for the OpenAPI document (borrowed), or NULL. */
json_t *jschema_get(const struct jschema_registry *r, const char *name);

/* Why an instance is invalid: where and what. */
struct jschema_error {
	char pointer[256]; /* JSON pointer into the instance: "/bandwidth/cir", "" for the root */
	char keyword[32];  /* the failing keyword: "type", "required", "additionalProperties" ... */
	char message[256]; /* for people: "must be an integer", "unknown field 'foo'" */
};

/*
 * Validate @instance against the schema named @name. Returns 0 when valid,
 * -EINVAL with the first error (in document order) in @ret_err, or -ENOENT for
 * an unknown schema name.
 */
int jschema_validate(const struct jschema_registry *r, const char *name, const json_t *instance,
		     struct jschema_error *ret_err);

#endif
