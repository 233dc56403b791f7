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

/*
 * Supported, with draft 7 behaviour:
 *   any type:  type (a name or an array of names; "integer" is any number with
 *              no fractional part, 1.0 included), enum, const (JSON equality:
 *              1 equals 1.0, members in any order)
 *   numbers:   multipleOf, maximum, exclusiveMaximum, minimum, exclusiveMinimum
 *              (the draft 6+ numeric form)
 *   strings:   maxLength, minLength (Unicode code points), pattern (ECMA-262
 *              syntax for the common subset, matched unanchored with POSIX
 *              extended regular expressions; \d \s \w and their negations are
 *              translated, escapes POSIX cannot express are refused; "." and
 *              bracket expressions match bytes unless the process runs in a
 *              UTF-8 locale), format as an assertion: date-time, date, time
 *              (RFC 3339 §5.6), email (local@domain), ipv4, ipv6, uuid, uri
 *              (scheme ":" and RFC 3986 characters)
 *   arrays:    items (a schema; the array form is refused: 2020-12 calls it
 *              prefixItems, not supported), maxItems, minItems, uniqueItems,
 *              contains
 *   objects:   maxProperties, minProperties, required, properties,
 *              patternProperties, additionalProperties, propertyNames
 *   applying:  allOf, anyOf, oneOf, not, if/then/else, $ref (applies beside its
 *              siblings, as in 2020-12), $defs, definitions, true and false
 *   ignored:   $schema, $id (at a schema's root only), $comment, title,
 *              description, default, examples, readOnly, writeOnly, deprecated,
 *              and every key that starts with "x-" (OpenAPI extensions)
 * $ref takes "#", "#/<JSON pointer>" (RFC 6901, with ~0 ~1 and percent
 * encoding) and "#/components/schemas/<name>[/<pointer>]" for another schema
 * of the registry; remote references and $anchor fragments are refused.
 * Any other keyword, and any other format, is refused at jschema_add().
 */
extern const char JSCHEMA_KEYWORDS[];

/*
 * Validation gives up, with an error, past this many schemas applied along
 * one path (instance nesting, applicators and $ref hops all count), so that
 * a deep instance or a recursive schema cannot exhaust the stack.
 */
#define JSCHEMA_MAX_DEPTH 128

/*
 * ... and past this many schemas applied in all, so that alternatives over
 * recursive references (cost: branches to the power of the depth) stay
 * bounded. A 1 MB body of small values under a plain schema stays far below.
 */
#define JSCHEMA_MAX_STEPS (1UL << 22)

struct jschema_registry;

/*
 * A registry of named schemas that may refer to each other with
 * "$ref": "#/components/schemas/<name>" (the OpenAPI form) and, inside one
 * schema, "#/$defs/<name>", "#/definitions/<name>" or any local JSON pointer.
 */
struct jschema_registry *jschema_registry_new(void);

/* Free; accepts NULL, returns NULL. Not while another thread validates. */
struct jschema_registry *jschema_registry_free(struct jschema_registry *r);

/*
 * Add @schema (borrowed; the registry keeps its own copy) under @name and
 * compile it. At start, from one thread: not concurrently with validation. References to names not added yet are resolved by
 * jschema_registry_check(). Returns 0, -EEXIST for a name taken, or -EINVAL
 * with the schema name, the JSON pointer in the schema and the reason in
 * @err ("customer: /properties/age: unsupported keyword 'dependentSchemas'").
 */
int jschema_add(struct jschema_registry *r, const char *name, json_t *schema, char *err,
		size_t errlen);

/*
 * Check every $ref resolves. Returns 0 or -EINVAL with the first dangling one
 * in @err ("port: /properties/qos: dangling $ref '#/components/schemas/Qos': no
 * schema of that name"). A schema whose references do not all resolve fails
 * validation with keyword "$ref".
 */
int jschema_registry_check(struct jschema_registry *r, char *err, size_t errlen);

/* The schema as added (the registry's copy, equal to it), for the OpenAPI document (borrowed), or NULL. */
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
 * an unknown schema name. @ret_err may be NULL for the verdict alone. Reads
 * the registry only: any number of threads may validate at once.
 */
int jschema_validate(const struct jschema_registry *r, const char *name, const json_t *instance,
		     struct jschema_error *ret_err);

#endif
